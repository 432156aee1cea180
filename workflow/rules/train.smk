# Training: one run per experiment, protocol and fold, through the training engine (decoding: decode.smk).


rule train:
    input:
        manifest=res("splits/{protocol}/fold-{fold}.json"),
        config=train_config,
        config_files=train_config_files,
        init=train_init,
    output:
        res("train/{exp}/{protocol}/fold-{fold}/final.pt"),
    params:
        run_dir=subpath(output[0], parent=True),
        launcher=torch_launcher,
        init=init_flags,
        size=SIZE,
    wildcard_constraints:
        exp="|".join(TRAINED),
    threads: 2
    resources:
        mem_mb=8000,
        runtime=240,
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("train/{exp}/{protocol}/fold-{fold}.log"),
    benchmark:
        benchmarks("train/{exp}/{protocol}/fold-{fold}.tsv")
    shell:
        "{params.launcher} eeg2music.train {input.config} --size {params.size} --run-dir {params.run_dir} "
        "--manifest {input.manifest} --set experiment={wildcards.exp} {params.init} > {log} 2>&1"
