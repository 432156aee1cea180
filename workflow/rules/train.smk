# Training: one run per experiment, protocol and fold, through the training engine (decoding: decode.smk).
# A model trained per participant (``per_participant: true``, Daly's bi-LSTM) decodes its test trials in the same
# job (rule train_participant): the bcmi study trains 240 of them, and a SLURM job each for training and for
# decoding cost more than the work (README, "Rehearse the real study").

TRAIN_SHELL = ("{params.launcher} eeg2music.train {input.config} --size {params.size} --run-dir {params.run_dir} "
               "--manifest {input.manifest} --set experiment={wildcards.exp} {params.init} > {log} 2>&1")


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
        protocol=NOT_PARTICIPANT,
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
        TRAIN_SHELL


rule train_participant:
    input:
        manifest=res("splits/{protocol}/fold-{fold}.json"),
        config=train_config,
        config_files=train_config_files,
        init=train_init,
    output:
        res("train/{exp}/{protocol}/fold-{fold}/final.pt"),
        predictions=res("predictions/{exp}/{protocol}/fold-{fold}.npz"),
    params:
        run_dir=subpath(output[0], parent=True),
        launcher=torch_launcher,
        init=init_flags,
        size=SIZE,
        flags=predict_flags,
    wildcard_constraints:
        exp="|".join(TRAINED),
        protocol=PARTICIPANT,
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("train/{exp}/{protocol}/fold-{fold}.log"),
    benchmark:
        benchmarks("train_participant/{exp}/{protocol}/fold-{fold}.tsv")
    shell:
        f"{TRAIN_SHELL} && {PREDICT_COMMAND} >> {{log}} 2>&1"
