# One job per subject: raw recordings → cleaned, epoched EEG and aligned audio targets in a Zarr store.
PRE = config["preprocess"]


rule preprocess:
    input:
        subject_inputs,
    output:
        directory(res("preprocess/{dataset}/sub-{subject}.zarr")),
    params:
        flags=dataset_flags,
        pre=(
            f"--l-freq {PRE['l_freq']} --h-freq {PRE['h_freq']} --line-freq {PRE['line_freq']} "
            f"--rates {' '.join(map(str, PRE['rates']))} --bad-z {PRE['bad_z']} --flat-uv {PRE['flat_uv']} "
            f"--max-bad-fraction {PRE['max_bad_fraction']} --audio-rate {PRE['audio_rate']} "
            f"--envelope-rate {PRE['envelope_rate']} --mel-rate {PRE['mel_rate']} --n-mels {PRE['n_mels']} "
            f"--audio-tolerance-s {PRE['audio_tolerance_s']}"
            + (" --sources" if PRE.get("sources") else "")
            + (f" --subjects-dir {PRE['subjects_dir']}" if PRE.get("subjects_dir") else "")
        ),
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("preprocess/{dataset}/sub-{subject}.log"),
    benchmark:
        benchmarks("preprocess/{dataset}/sub-{subject}.tsv")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        # Pin BLAS/OpenMP pools to the job's threads: parallel jobs must not oversubscribe the node's cores.
        "OMP_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads} MKL_NUM_THREADS={threads} "
        "python -m eeg2music.preprocess {params.flags} --subject {wildcards.subject} --out {output} "
        "{params.pre} > {log} 2>&1"
