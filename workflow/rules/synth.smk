# The embedded synthetic study: one BIDS dataset per style, shaped like the real OpenNeuro sets.
SYNTH_OUT = config.get("synth", {}).get("out", "data/synthetic")


rule synth:
    output:
        directory(f"{SYNTH_OUT}/{{style}}"),
    params:
        out=subpath(output[0], parent=True),
        flags=synth_flags(),
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("synth/{style}.log"),
    benchmark:
        benchmarks("synth/{style}.tsv")
    shell:
        "eeg2music synth --out {params.out} --styles {wildcards.style} {params.flags} > {log} 2>&1"
