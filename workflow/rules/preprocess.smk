# One job per subject: raw recordings → cleaned, epoched EEG and aligned audio targets in a Zarr store.
import json

PRE = config["preprocess"]


rule preprocess:
    input:
        subject_inputs,
    output:
        directory(res("preprocess/{dataset}/sub-{subject}.zarr")),
    params:
        flags=dataset_flags,
        pre=json.dumps(PRE, separators=(",", ":")),  # the whole validated section: one config object
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
        "eeg2music preprocess {params.flags} --subject {wildcards.subject} --out {output} "
        "--preprocess {params.pre:q} > {log} 2>&1"
