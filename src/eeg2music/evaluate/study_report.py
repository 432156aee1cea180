"""The study report: one self-contained HTML page answering "are my data and compute enough?".

It puts side by side what the workflow measured: the metadata summary (how much data there is), the model
comparison (how far each model is from the baseline, on the same splits and metrics), the compute budget (what
training costs on named GPUs against the cloud credit and the grant) and the learning curves (what more data would
buy). Figures are embedded as data URIs, so the single file can be copied off the cluster and opened anywhere.

``python -m eeg2music.evaluate.study_report --summary … --comparison NAME=metrics.json … --baseline bilstm_daly
--budget results/budget --curves results/learning/*/curve.json --out results/report/study.html``
"""

from __future__ import annotations

import argparse
import base64
import csv
import html
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from eeg2music.errors import InputError, one_line_errors
from eeg2music.evaluate.protocols import protocol_table
from eeg2music.evaluate.report import STYLE, _table, comparison_table, pairs
from eeg2music.evaluate.run_cost import (
    ADVICE_COLUMNS,
    MEMORY_MARGIN,
    TIME_MARGIN,
    preprocess_advice,
    preprocess_cost,
    run_cost,
)
from eeg2music.evaluate.run_cost import COLUMNS as COST_COLUMNS
from eeg2music.evaluate.run_cost import rows as cost_rows
from eeg2music.provenance import stamp_html


def _need(path: Path, step: str) -> Path:
    if not path.exists():
        raise InputError(path, "does not exist", f"run the {step} step first (snakemake builds it)")
    return path


def image(path: Path, alt: str) -> str:
    """An <img> carrying the PNG itself, so the page has no loose files."""
    data = base64.b64encode(_need(path, "figure's").read_bytes()).decode()
    return f"<img src='data:image/png;base64,{data}' alt='{html.escape(alt)}' style='max-width:100%'>"


def _read_tsv(path: Path) -> list[dict[str, str]]:
    with _need(path, "summary or budget").open() as f:
        return list(csv.DictReader(f, delimiter="\t"))


def data_section(summary: Path) -> str:
    rows = _read_tsv(summary)
    cols = ["dataset", "subject", "runs", "trials", "trials_with_audio", "eeg_channels", "hours_eeg", "hours_music",
            "bad_channels"]
    total = {"eeg": sum(float(r["hours_eeg"]) for r in rows), "music": sum(float(r["hours_music"]) for r in rows)}
    figures = "".join(image(summary.parent / name, name) for name in ("psd.png", "trial.png")
                      if (summary.parent / name).exists())
    qc = _read_tsv(summary.with_name("qc.tsv"))
    qc_cols = ["dataset", "subject", "session", "run", "status", "found", "kept", "dropped", "drop_reasons", "notes",
               "hours"]
    odd = sum(r["status"] != "read" or r["dropped"] != "0" or r["notes"] != "none" for r in qc)
    return ("<h2 id='data'>1. Data</h2>"
            f"<p>{len(rows)} subjects in {len({r['dataset'] for r in rows})} datasets: "
            f"{total['eeg']:.2f} h of EEG, {total['music']:.2f} h of it during music.</p>"
            "<h3>Data QC: every run</h3>"
            f"<p>{len(qc)} runs; {sum(int(r['kept']) for r in qc)} of {sum(int(r['found']) for r in qc)} trials "
            f"found were kept; {odd} runs have a dropped trial, a note or were left out (read these first).</p>"
            + _table(qc_cols, [[html.escape(r.get(c, "")) for c in qc_cols] for r in qc], "qc")
            + "<h3>Per subject</h3>"
            + _table(cols, [[html.escape(r.get(c, "")) for c in cols] for r in rows], "summary") + figures)


def comparison_section(metrics: dict[str, Path], baseline: str, controls: dict[str, str] | None = None,
                       splits_dir: Path | None = None) -> str:
    """The comparison table; with the study's split manifests, each model under each protocol beside it."""
    table, runs = comparison_table(metrics, baseline, controls=controls)
    side_by_side = protocol_table(runs, splits_dir) if splits_dir is not None else ""
    links = " · ".join(f"<a href='{html.escape(e)}/index.html'>{html.escape(e)}</a>" for e in runs)
    return (f"<h2 id='comparison'>2. Models on the same splits</h2>{side_by_side}{table}"
            f"<p>Per-experiment pages: {links}</p>")


def _number(cell: str) -> str:
    """Three significant figures for a float cell, thousands separators for an integer one, text as it is."""
    try:
        value = float(cell)
    except ValueError:
        return cell
    return f"{int(value):,}" if value.is_integer() and abs(value) >= 1000 else f"{value:.3g}"


def budget_section(budget_dir: Path) -> str:
    rows = _read_tsv(budget_dir / "budget.tsv")
    assumptions = json.loads(_need(budget_dir / "budget.json", "budget").read_text())["assumptions"]
    cols = list(rows[0]) if rows else []
    items = "".join(f"<li>{html.escape(k)}: {html.escape(json.dumps(v) if not isinstance(v, str) else v)}</li>"
                    for k, v in assumptions.items())
    return ("<h2 id='budget'>3. Compute budget</h2>"
            "<p>Each experiment's training step at its cluster size, measured on this machine; GPU rows project it "
            "from counted FLOPs at the stated utilisation.</p>"
            + _table(cols, [[html.escape(_number(r[c])) for c in cols] for r in rows], "budget")
            + f"<ul>{items}</ul>" + image(budget_dir / "budget.png", "budget"))


def curve_section(curves: list[Path]) -> str:
    parts = ["<h2 id='learning'>4. Learning curves</h2>"
             "<p>Each point: the experiment retrained on that share of every fold's training data and scored on "
             "the same test trials (95 % bootstrap CI over trials). The line is the power law ceiling − a·h<sup>−b"
             "</sup> and the red square its extrapolation to the target, with the paired-bootstrap band of the fit. "
             "On the synthetic study the extrapolation is a check of the machinery, not a forecast for real data.</p>"]
    for path in curves:
        c = json.loads(_need(path, "learning curve").read_text())
        rows = []
        for name, m in c["metrics"].items():
            points = "; ".join(f"{f:g}: {o:.3f} [{lo:.3f}, {hi:.3f}]" for f, o, (lo, hi) in
                               zip(c["fractions"], m["observed"], m["ci95"], strict=True))
            lo, hi = m["at_target_ci95"]
            rows.append([html.escape(name), points, f"{m['b']:.2f} [{m['b_ci95'][0]:.2f}, {m['b_ci95'][1]:.2f}]",
                         f"{m['at_target']:.3f} [{lo:.3f}, {hi:.3f}]",
                         "yes" if m["improves"] else "<span class='ns'>no</span>"])
        parts.append(f"<h3>{html.escape(c['experiment'])}</h3>"
                     f"<p>Training hours per point: {', '.join(f'{h:.3f}' for h in c['hours'])}; target "
                     f"{html.escape(c['target_label'])}; {c['n_test_trials']} test trials.</p>"
                     + _table(["metric", "share: observed [CI]", "exponent b [CI]",
                               f"at {html.escape(c['target_label'])}", "improves with data"], rows,
                              f"curve-{c['experiment']}")
                     + image(path.with_name("curve.png"), f"learning curve {c['experiment']}"))
    return "".join(parts)


def cost_section(results: Path, size_for: Path | None = None) -> str:
    """What this run cost here: for a rehearsal, the measurement the cluster's resources are sized from (with
    ``size_for``, the profile whose preprocessing resources are checked against it)."""
    cost = run_cost(results)
    disk = "; ".join(f"{html.escape(k)}: {v:,.0f} MB" for k, v in cost.disk_mb.items())
    page = ("<h2 id='cost'>5. What this run cost</h2>"
            f"<p>Elapsed {cost.elapsed_s / 60:.1f} min from the first job's start to the last job's end (before "
            f"this page); disk: {disk}. Per rule, from Snakemake's benchmark files (wall time summed over jobs, "
            "the slowest job, peak resident memory of any job):</p>"
            + _table(COST_COLUMNS, [[html.escape(c) for c in r] for r in cost_rows(cost)], "cost"))
    if size_for is None:
        return page
    pre = preprocess_cost(results)
    return (page + f"<h3>Preprocessing on the cluster ({html.escape(str(size_for))})</h3><p>{pre.subjects} "
            f"subjects preprocessed in {pre.cpu_hours:.2f} CPU-hours, at most {pre.s_per_eeg_hour:.0f} s per hour of "
            "EEG on this machine. One "
            f"preprocessing job needs the worst subject's time ×{TIME_MARGIN:g} (a cluster core may be slower, the "
            f"stores go to a shared file system) and its peak memory ×{MEMORY_MARGIN:g}:</p>"
            + _table(ADVICE_COLUMNS, [[html.escape(c) for c in r] for r in preprocess_advice(pre, size_for)],
                     "preprocess-resources"))


REHEARSAL_NOTE = (
    "<h2 id='rehearsal'>A rehearsal, not a result</h2><p>This study ran on replicas of the real datasets: every real "
    "subject, music run, channel, trial marker and stimulus name and length, with EEG simulated by the forward model "
    "at a difficulty calibrated so that the linear decoder and Daly's bi-LSTM score as they do on published real "
    "data (docs/calibration.md), and every model at its CPU size. What it can say: that the whole study runs end to "
    "end at the real data's size, what each step costs (section 5), and whether a model can learn anything at this "
    "difficulty from this much data (the learning curves). What it cannot say: how any model does on real EEG, "
    "whose artefacts, background and responses to music the forward model does not reproduce, nor how the "
    "full-size models do.</p>")


def study_page(summary: Path, metrics: dict[str, Path], baseline: str, budget_dir: Path | None,
               curves: list[Path], out: Path, results: Path | None = None, rehearsal: bool = False,
               size_for: Path | None = None, controls: dict[str, str] | None = None) -> Path:
    sections = ([REHEARSAL_NOTE] if rehearsal else []) + [data_section(summary),
                                                         comparison_section(metrics, baseline, controls,
                                                                            results / "splits" if results else None)]
    if budget_dir is not None:
        sections.append(budget_section(budget_dir))
    if curves:
        sections.append(curve_section(curves))
    if results is not None:
        sections.append(cost_section(results, size_for))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>eeg2music study report</title>{STYLE}"
            "</head><body><h1>eeg2music: are the data and compute enough?</h1>"
            f"<p>Generated {stamp}. Sections: <a href='#data'>data</a> · <a href='#comparison'>models</a> · "
            "<a href='#budget'>budget</a> · <a href='#learning'>learning curves</a> · <a href='#cost'>cost</a>.</p>"
            + "".join(sections) + stamp_html() + "</body></html>")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    tmp.write_text(page)
    tmp.rename(out)
    return out


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eeg2music.evaluate.study_report", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--summary", type=Path, required=True, help="results/summary/summary.tsv (figures beside it)")
    p.add_argument("--comparison", nargs="+", required=True, metavar="NAME=METRICS")
    p.add_argument("--baseline", required=True)
    p.add_argument("--budget", type=Path, help="the budget step's folder (budget.tsv, budget.json, budget.png)")
    p.add_argument("--curves", type=Path, nargs="*", default=[], help="learning curves' curve.json")
    p.add_argument("--cost", type=Path, help="results/<study>: add what the run cost (benchmark files, disk)")
    p.add_argument("--rehearsal", action="store_true", help="the study ran on replicas (rehearse=true)")
    p.add_argument("--size-for", type=Path, help="a cluster profile's config.yaml: check its preprocessing resources "
                   "against this run's (with --cost)")
    p.add_argument("--controls", nargs="*", default=[], metavar="CONTROL=MODEL",
                   help="rows that are not decoders, as for eeg2music report compare --controls")
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    metrics = {k: Path(v) for k, v in pairs(a.comparison).items()}
    study_page(a.summary, metrics, a.baseline, a.budget, a.curves, a.out, a.cost, a.rehearsal, a.size_for,
               pairs(a.controls))
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
