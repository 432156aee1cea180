# Are the data and compute enough? Each experiment's training step measured here at its cluster size, projected
# onto the real datasets' hours and the named GPUs, against the cloud budget and the grant.
BUDGET = config.get("budget", {})
# Written by benchmarks/gpu_check.py on a GPU node: measured utilisation replaces the assumed one.
GPU_CHECK = [res("budget/gpu_check.json")] if Path(res("budget/gpu_check.json")).exists() else []


rule budget:
    input:
        configs=BUDGET.get("configs", []),
        gpu_check=GPU_CHECK,
    output:
        tsv=res("budget/budget.tsv"),
        md=res("budget/budget.md"),
        png=res("budget/budget.png"),
        json=res("budget/budget.json"),
    params:
        out_dir=subpath(output.tsv, parent=True),
        datasets=" ".join(BUDGET.get("datasets", [])),
        gpus=" ".join(BUDGET.get("gpus", [])),
        prices=" ".join(f"{k}={v}" for k, v in BUDGET.get("prices", {}).items()),
        utilisation=BUDGET.get("utilisation", 0.3),
        epochs=BUDGET.get("epochs", 20),
        budget_usd=BUDGET.get("budget_usd", 100),
        grant=BUDGET.get("grant_gpu_hours", 1000),
        gpu_check=lambda wildcards, input: f"--gpu-check {input.gpu_check}" if input.gpu_check else "",
    threads: 2
    conda:
        "../../envs/eeg2music.yaml"
    log:
        logs("budget/budget.log"),
    benchmark:
        benchmarks("budget/budget.tsv")
    shell:
        "eeg2music budget {input.configs} {params.gpu_check} --datasets {params.datasets} --gpus {params.gpus} "
        "--price {params.prices} --utilisation {params.utilisation} --epochs {params.epochs} "
        "--budget-usd {params.budget_usd} --grant-gpu-hours {params.grant} --out-dir {params.out_dir} > {log} 2>&1"
