"""``eeg2music budget``: measure every experiment's training step here, project it onto the real datasets and the
named GPUs, and compare with a cloud budget ($) and a supercomputer grant (GPU-hours).

Writes ``budget.tsv`` (one row per experiment × target), ``budget.json`` (measurements and every assumption),
``budget.md`` and ``budget.png`` to ``--out-dir``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import yaml

from eeg2music.budget.hardware import GPUS, pick
from eeg2music.budget.measure import measure
from eeg2music.budget.project import Projection, project
from eeg2music.data.hours import TEMPLATES, recorded_hours, summary_hours
from eeg2music.errors import InputError, one_line_errors


def parse_prices(items: list[str]) -> dict[str, float]:
    prices = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            prices[name] = float(value)
        except ValueError as err:
            raise InputError(None, f"--price {item!r} is not NAME=DOLLARS_PER_HOUR", "e.g. --price H100=2.49") from err
    return prices


def plot(rows: list[Projection], budget_usd: float, grant_h: float, out: Path) -> None:
    exps = sorted({r.experiment for r in rows})
    targets = [t for t in dict.fromkeys(r.target for r in rows) if t in GPUS]
    fig, (ax_h, ax_c) = plt.subplots(1, 2, figsize=(13, 4.2))
    width = 0.8 / max(1, len(targets))
    for i, t in enumerate(targets):
        hours = [next(r.total_h for r in rows if r.experiment == e and r.target == t) for e in exps]
        cost = [next(r.cost_usd for r in rows if r.experiment == e and r.target == t) for e in exps]
        x = np.arange(len(exps)) + i * width
        ax_h.bar(x, hours, width, label=t)
        ax_c.bar(x, cost, width, label=t)
    for ax, line, label in ((ax_h, grant_h, f"grant {grant_h:g} GPU-h"), (ax_c, budget_usd, f"budget ${budget_usd:g}")):
        ax.axhline(line, color="k", ls="--", lw=1, label=label)
        ax.set_yscale("log")
        ax.set_xticks(np.arange(len(exps)) + width * (len(targets) - 1) / 2, exps, rotation=20, fontsize=8)
        ax.legend(fontsize=7)
    ax_h.set_ylabel("GPU-hours (projected)")
    ax_c.set_ylabel("cost, USD (projected)")
    fig.suptitle("Training cost on the real datasets")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def markdown(rows: list[Projection], budget_usd: float, grant_h: float, assumptions: dict) -> str:
    lines = ["| experiment | target | step (s) | steps/epoch | epoch (h) | total (h) | cost ($) | fits |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        fits = "" if r.cost_usd is None else ("budget + grant" if r.cost_usd <= budget_usd else
                                               "grant only" if r.total_h <= grant_h else "neither")
        cost = "–" if r.cost_usd is None else f"{r.cost_usd:,.2f}"
        lines.append(f"| {r.experiment} | {r.target} | {r.step_s:.4g} | {r.steps_per_epoch:,} | {r.epoch_h:.3g} | "
                     f"{r.total_h:.3g} | {cost} | {fits} |")
    notes = [f"- {k}: " + ("; ".join(f"{n} {x}" for n, x in v.items()) if isinstance(v, dict) else f"{v}")
             for k, v in assumptions.items()]
    return "\n".join([*lines, "", *notes]) + "\n"


def eeg_channel_names(dataset: str) -> list[str]:
    """The real dataset's EEG channel names (its packaged channels.tsv), spelled as preprocessing stores them."""
    from eeg2music.io.bids import read_tsv
    from eeg2music.preprocess.channels import normalise_channel_name

    return [normalise_channel_name(r["name"]) for r in read_tsv(TEMPLATES / dataset / "channels.tsv")
            if r["type"] == "EEG"]


def measured_utilisation(path: Path) -> dict[str, tuple[float, str]]:
    """Experiment → (achieved share of the card's peak, where it was measured) from ``benchmarks/gpu_check.py``'s
    file. The share is applied to every GPU of the projection (a measured ratio on one card, not on each)."""
    if not path.exists():
        raise InputError(path, "GPU check file does not exist", "run benchmarks/gpu_check.py on a GPU node first")
    try:
        check = json.loads(path.read_text())
        return {name: (float(m["utilisation"]), f"measured on {check['device']}")
                for name, m in check["models"].items() if m.get("utilisation")}
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(path, f"is not a GPU check file ({err})", "rerun benchmarks/gpu_check.py") from err


def run(configs: list[Path], pre: dict, datasets: list[str], summary: Path | None, gpus: list[str],
        prices: dict[str, float], utilisation: float, epochs: int, budget_usd: float, grant_h: float,
        out_dir: Path, repeats: int, cpu_batch: int = 2, gpu_check: Path | None = None) -> list[Projection]:
    if not 0 < utilisation <= 1:
        raise InputError(None, f"utilisation {utilisation:g} is outside (0, 1]", "give a fraction such as 0.3")
    if epochs < 1 or budget_usd <= 0 or grant_h <= 0:
        raise InputError(None, "epochs, budget and grant must be positive", "fix the budget options")
    targets = pick(gpus, prices)  # errors before any measuring
    for c in configs:
        if not c.exists():
            raise InputError(c, "experiment config does not exist", "see config/train/ for the experiments")
    hours = summary_hours(summary) if summary else sum(recorded_hours(d) for d in datasets)
    channels = eeg_channel_names(datasets[0]) if datasets else [f"EEG{i:03d}" for i in range(32)]
    measured = measured_utilisation(gpu_check) if gpu_check else {}
    rows, measurements, used = [], [], {}
    for c in configs:
        m = measure(c, pre, channels, repeats, cpu_batch)
        measurements.append(m.as_dict())
        share, source = measured.get(m.experiment, (utilisation, "assumed"))
        used[m.experiment] = f"{share:.3g} ({source})"
        rows += project(m, hours, epochs, targets, share)
        print(f"{m.experiment}: {m.parameters:,} parameters, {m.step_s * 1e3:.0f} ms/step here "
              f"(batch {m.batch_size}, timed on {m.measured_batch}), "
              f"{m.flops_per_step / 1e9:.2f} GFLOP/step", flush=True)
    assumptions = {
        "hours of data": f"{hours:.1f} h of " + (f"music trials (from {summary})" if summary else
                                                   f"EEG recorded in {', '.join(datasets)} (EDF sizes; an upper "
                                                   "bound on the music windows)"),
        "epochs": epochs, "utilisation of peak": used, "EEG channels": len(channels),
        "GPU peaks (TFLOP/s) and prices ($/h)": {g.name: [g.peak_tflops, g.price_per_hour] for g in targets},
        "budget": f"${budget_usd:g} cloud; WCSS grant {grant_h:g} GPU-h",
    }
    tmp = out_dir.with_name(f"{out_dir.name}.tmp-{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    with (tmp / "budget.tsv").open("w") as f:
        f.write("\t".join(Projection.__dataclass_fields__) + "\n")
        for r in rows:
            f.write("\t".join("" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v))
                              for v in asdict(r).values()) + "\n")
    (tmp / "budget.json").write_text(json.dumps({"measurements": measurements, "assumptions": assumptions}, indent=1))
    (tmp / "budget.md").write_text(markdown(rows, budget_usd, grant_h, assumptions))
    plot(rows, budget_usd, grant_h, tmp / "budget.png")
    out_dir.mkdir(parents=True, exist_ok=True)
    for f in tmp.iterdir():
        f.replace(out_dir / f.name)
    tmp.rmdir()
    return rows


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="eeg2music budget", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("configs", type=Path, nargs="+", help="experiment configs (config/train/*.yaml)")
    p.add_argument("--config", type=Path, default=Path("config/config.yaml"), help="for the preprocessing rates")
    p.add_argument("--datasets", nargs="+", default=["ds002725", "ds002722", "ds002724"],
                   help="real datasets whose recorded hours are projected")
    p.add_argument("--summary", type=Path, help="a real preprocessing summary.tsv: use its hours of music instead")
    p.add_argument("--gpus", nargs="+", default=list(GPUS), help=f"from {', '.join(GPUS)}")
    p.add_argument("--price", nargs="*", default=[], metavar="GPU=USD", help="override $/GPU-hour")
    p.add_argument("--utilisation", type=float, default=0.3, help="assumed fraction of peak FLOP/s")
    p.add_argument("--gpu-check", type=Path, help="benchmarks/gpu_check.py's file: measured utilisation per model")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--budget-usd", type=float, default=100.0)
    p.add_argument("--grant-gpu-hours", type=float, default=1000.0)
    p.add_argument("--repeats", type=int, default=2, help="timed steps per experiment (median)")
    p.add_argument("--cpu-batch", type=int, default=2, help="on a CPU, time this many windows and scale")
    p.add_argument("--out-dir", type=Path, default=Path("results/budget"))
    a = p.parse_args(argv)
    if not a.config.exists():
        raise InputError(a.config, "workflow config does not exist", "pass --config config/config.yaml")
    pre = yaml.safe_load(a.config.read_text())["preprocess"]
    rows = run(a.configs, pre, a.datasets, a.summary, a.gpus, parse_prices(a.price), a.utilisation, a.epochs,
               a.budget_usd, a.grant_gpu_hours, a.out_dir, a.repeats, a.cpu_batch, a.gpu_check)
    print((a.out_dir / "budget.md").read_text())
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
