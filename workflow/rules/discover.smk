# Which subjects each dataset has (a checkpoint: the preprocessing fan-out depends on it).


checkpoint discover:
    input:
        dataset_root,
    output:
        res("discover/{dataset}/subjects.tsv"),
    params:
        flags=dataset_flags,
        subjects=subjects_flag,
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("discover/{dataset}.log"),
    benchmark:
        benchmarks("discover/{dataset}.tsv")
    shell:
        "eeg2music discover {params.flags} {params.subjects} --out {output} > {log} 2>&1"
