# The embedded synthetic studies: one BIDS dataset per synthetic entry of `datasets`, shaped like the real OpenNeuro
# set its `kind` names, written at {synth.out}/<name> with the study's synth settings and the dataset's own.


rule synth:
    output:
        directory(f"{SYNTH_OUT}/{{name}}"),
    wildcard_constraints:
        name="|".join(SYNTHETIC) or "^$",
    params:
        out=subpath(output[0], parent=True),
        flags=synth_flags,
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("synth/{name}.log"),
    benchmark:
        benchmarks("synth/{name}.tsv")
    shell:
        "eeg2music synth --out {params.out} --name {wildcards.name} {params.flags} > {log} 2>&1"
