# The metadata summary over every preprocessed subject, and the data QC table (every run: trials found, kept,
# dropped and why).


rule summary:
    input:
        all_stores,
    output:
        tsv=res("summary/summary.tsv"),
        qc=res("summary/qc.tsv"),
        md=res("summary/summary.md"),
        html=res("summary/summary.html"),
        psd=res("summary/psd.png"),
        trial=res("summary/trial.png"),
    params:
        out_dir=subpath(output.tsv, parent=True),
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("summary/summary.log"),
    shell:
        "eeg2music summary --stores {input} --out-dir {params.out_dir} > {log} 2>&1"
