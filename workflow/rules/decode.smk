# Decoding: a trained run turned into predictions of its fold's test trials (and wav files to listen to); the
# linear baseline decodes in closed form; a chain decodes with model A and renders with model B (A → B).


rule predict:
    input:
        predicted_run,
    output:
        predictions=res("predictions/{exp}/{protocol}/fold-{fold}.npz"),
    params:
        run_dir=subpath(input[0], parent=True),
        flags=predict_flags,
    wildcard_constraints:
        exp="|".join(PREDICTED),
        protocol=NOT_PARTICIPANT,
    threads: 2
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("predict/{exp}/{protocol}/fold-{fold}.log"),
    benchmark:
        benchmarks("predict/{exp}/{protocol}/fold-{fold}.tsv")
    shell:
        f"{PREDICT_COMMAND} > {{log}} 2>&1"


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
        "eeg2music listen --run-dir {params.run_dir} --out-dir {output} "
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
        exp="|".join(CHAIN_DECODED),
    threads: 2
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("decode_chain/{exp}/{protocol}/fold-{fold}.log"),
    benchmark:
        benchmarks("decode_chain/{exp}/{protocol}/fold-{fold}.tsv")
    shell:
        "eeg2music decode-chain --encoder-run {params.encoder} --vocoder-run {params.vocoder} "
        "--out {output} {params.flags} > {log} 2>&1"


rule decode_linear:
    input:
        res("splits/{protocol}/fold-{fold}.json"),
    output:
        res("predictions/{exp}/{protocol}/fold-{fold}.npz"),
    params:
        flags=linear_flags,
    wildcard_constraints:
        exp="|".join(LINEAR),
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("decode_linear/{exp}/{protocol}/fold-{fold}.log"),
    benchmark:
        benchmarks("decode_linear/{exp}/{protocol}/fold-{fold}.tsv")
    shell:
        "eeg2music decode-linear --manifest {input} --out {output} {params.flags} > {log} 2>&1"
