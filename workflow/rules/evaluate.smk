# Evaluation on identical metrics with permutation nulls, then one page per experiment and the comparison.
EVAL = config.get("evaluate", {})


rule evaluate:
    input:
        experiment_predictions,
    output:
        metrics=res("evaluate/{exp}/metrics.json"),
        nulls=res("evaluate/{exp}/nulls.npz"),
    params:
        n_perm=EVAL.get("n_perm", 1000),
        n_boot=EVAL.get("n_boot", 2000),
        song_id="--song-id" if EVAL.get("song_id") else "",
    threads: 4
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("evaluate/{exp}.log"),
    benchmark:
        benchmarks("evaluate/{exp}.tsv")
    shell:
        "eeg2music evaluate --predictions {input} --out {output.metrics} "
        "--experiment {wildcards.exp} --n-perm {params.n_perm} --n-boot {params.n_boot} --threads {threads} "
        "{params.song_id} > {log} 2>&1"


rule report:
    input:
        metrics=res("evaluate/{exp}/metrics.json"),
        audio=experiment_audio,
        runs=experiment_runs,
        beside=honest_siblings,
    output:
        res("report/{exp}/index.html"),
    params:
        out_dir=subpath(output[0], parent=True),
        audio=lambda wildcards, input: f"--audio-dir {input.audio}" if input.audio else "",
        runs=lambda wildcards, input: "--runs " + " ".join(str(Path(f).parent) for f in input.runs)
        if input.runs else "",
        beside=lambda wildcards, input: f"--beside {' '.join(input.beside)}" if input.beside else "",
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("report/{exp}.log"),
    shell:
        "eeg2music report experiment --metrics {input.metrics} --out-dir {params.out_dir} "
        "{params.audio} {params.runs} {params.beside} > {log} 2>&1"


rule compare:
    input:
        expand(res("evaluate/{exp}/metrics.json"), exp=sorted(EXPERIMENTS)),
    output:
        res("report/comparison.html"),
    params:
        metrics=experiment_metrics(),
        baseline=EVAL.get("baseline", ""),
        controls=control_flags(),
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("report/comparison.log"),
    shell:
        "eeg2music report compare --metrics {params.metrics} --baseline {params.baseline} "
        "{params.controls} --out {output} > {log} 2>&1"
