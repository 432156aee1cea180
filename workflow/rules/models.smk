# Models: train (engine) → decode the test part of every fold; the linear baseline decodes in closed form; a chain
# decodes with model A and renders with model B (A → B).


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


rule predict:
    input:
        res("train/{exp}/{protocol}/fold-{fold}/final.pt"),
    output:
        res("predictions/{exp}/{protocol}/fold-{fold}.npz"),
    params:
        run_dir=subpath(input[0], parent=True),
        flags=predict_flags,
    wildcard_constraints:
        exp="|".join(TRAINED),
    threads: 2
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("predict/{exp}/{protocol}/fold-{fold}.log"),
    benchmark:
        benchmarks("predict/{exp}/{protocol}/fold-{fold}.tsv")
    shell:
        "python -m eeg2music.train.predict --run-dir {params.run_dir} --out {output} {params.flags} > {log} 2>&1"


rule listen:
    input:
        res("train/{exp}/{protocol}/fold-{fold}/final.pt"),
    output:
        directory(res("audio/{exp}/{protocol}/fold-{fold}")),
    params:
        run_dir=subpath(input[0], parent=True),
        trials=lambda wildcards: EXPERIMENTS[wildcards.exp].get("listen", 2),
        steps=lambda wildcards: EXPERIMENTS[wildcards.exp].get("steps", "fast"),
    wildcard_constraints:
        exp="|".join(TRAINED),
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("listen/{exp}/{protocol}/fold-{fold}.log"),
    shell:
        "python -m eeg2music.models.diffwave.inference --run-dir {params.run_dir} --out-dir {output} "
        "--trials {params.trials} --steps {params.steps} > {log} 2>&1"


rule decode_chain:
    input:
        encoder=chain_run("encoder"),
        vocoder=chain_run("vocoder"),
    output:
        res("predictions/{exp}/{protocol}/fold-{fold}.npz"),
    params:
        encoder=lambda wildcards, input: Path(input.encoder).parent,
        vocoder=lambda wildcards, input: Path(input.vocoder).parent,
        flags=predict_flags,
    wildcard_constraints:
        exp="|".join(CHAINED),
    threads: 2
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("decode_chain/{exp}/{protocol}/fold-{fold}.log"),
    benchmark:
        benchmarks("decode_chain/{exp}/{protocol}/fold-{fold}.tsv")
    shell:
        "python -m eeg2music.train.chain --encoder-run {params.encoder} --vocoder-run {params.vocoder} "
        "--out {output} {params.flags} > {log} 2>&1"


rule decode_linear:
    input:
        res("splits/{protocol}/fold-{fold}.json"),
    output:
        res("predictions/{exp}/{protocol}/fold-{fold}.npz"),
    params:
        lowpass=linear_flags,
    wildcard_constraints:
        exp="|".join(LINEAR),
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("decode_linear/{exp}/{protocol}/fold-{fold}.log"),
    benchmark:
        benchmarks("decode_linear/{exp}/{protocol}/fold-{fold}.tsv")
    shell:
        "python -m eeg2music.models.linear_trf --manifest {input} --out {output} {params.lowpass} > {log} 2>&1"
