# The study report: data summary, model comparison, compute budget and learning curves on one self-contained page.


rule study:
    input:
        summary=res("summary/summary.tsv"),
        rest=study_inputs,
    output:
        res("report/study.html"),
    params:
        metrics=experiment_metrics(),
        baseline=EVAL.get("baseline", ""),
        controls=control_flags(),
        budget=f"--budget {RESULTS}/budget" if BUDGET.get("configs") else "",
        curves=" ".join(f"{RESULTS}/learning/{e}/curve.json" for e in LEARNING.get("experiments", [])),
        rehearsal=(f"--rehearsal --size-for {config['rehearsal']['cluster_profile']}"
                   if config.get("rehearse") and config["rehearsal"].get("cluster_profile") else
                   "--rehearsal" if config.get("rehearse") else ""),
        results=lambda wildcards, output: Path(output[0]).parent.parent,  # results/<study>
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("report/study.log"),
    shell:
        "eeg2music study-report --summary {input.summary} --comparison {params.metrics} "
        "--baseline {params.baseline} {params.budget} --curves {params.curves} --cost {params.results} {params.rehearsal} "
        "{params.controls} --out {output} "
        "> {log} 2>&1"
