# The metadata summary over every preprocessed subject, and the data QC table (every run: trials found, kept,
# dropped and why).


rule summary:
    input:
        all_stores,
    output:
        tsv="results/summary/summary.tsv",
        qc="results/summary/qc.tsv",
        md="results/summary/summary.md",
        html="results/summary/summary.html",
        psd="results/summary/psd.png",
        trial="results/summary/trial.png",
    params:
        out_dir=subpath(output.tsv, parent=True),
    conda:
        "../../envs/eeg2music.yaml"
    log:
        "logs/summary/summary.log",
    shell:
        "python -m eeg2music.summary --stores {input} --out-dir {params.out_dir} > {log} 2>&1"
