"""The metadata summary: per dataset and subject, what is there, what is missing, and how preprocessing changed it.

Writes ``summary.tsv`` (machine-readable), ``summary.md`` and ``summary.html`` (readable tables), and two figures:
the channel-mean PSD before/after preprocessing per dataset, and one trial's EEG beside its audio envelope.
"""

from __future__ import annotations

import argparse
import csv
import html
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from eeg2music.errors import one_line_errors
from eeg2music.store_writer import open_store

COLUMNS = ["dataset", "subject", "runs", "trials", "trials_with_audio", "eeg_channels", "source_sfreq_hz",
           "eeg_rates_hz", "hours_eeg", "hours_music", "clips", "bad_channels", "missing"]
QC_COLUMNS = ["dataset", "subject", "session", "run", "status", "found", "kept", "dropped", "drop_reasons", "notes",
              "hours", "source_file"]


def qc_rows(store_path: Path) -> list[dict]:
    """The data QC table's rows for one subject: per run, the trials the reader found, kept and dropped (why)."""
    a = open_store(store_path).attrs
    rows = []
    for q in a.get("qc", []):
        reasons = defaultdict(int)
        for d in q["dropped"]:
            reasons[d["reason"]] += 1
        rows.append({"dataset": a["dataset"], "subject": a["subject"], "session": q["session"] or "",
                     "run": q["run"], "status": q["status"], "found": q["found"], "kept": q["kept"],
                     "dropped": len(q["dropped"]),
                     "drop_reasons": "; ".join(f"{n} × {why}" for why, n in reasons.items()) or "none",
                     "notes": "; ".join(q["notes"]) or "none", "hours": round(q["hours"], 4),
                     "source_file": q["source_file"]})
    return rows


def _html_table(table_id: str, columns: list[str], rows: list[dict]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r[c]))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table id='{table_id}'><tr>{head}</tr>{body}</table>"


def _write_tsv(path: Path, columns: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, columns, delimiter="\t", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def subject_row(store_path: Path) -> dict:
    g = open_store(store_path)
    a = g.attrs
    runs, trials = a["runs"], a["trials"]
    bads = sorted({f"{run}:{ch}" for run, chans in a["bads"].items() for ch in chans})
    return {
        "dataset": a["dataset"], "subject": a["subject"], "runs": len(runs), "trials": len(trials),
        "trials_with_audio": sum(t["audio_status"] == "ok" for t in trials),
        "eeg_channels": len(a["channels"]),
        "source_sfreq_hz": "/".join(f"{s:g}" for s in sorted({r["sfreq"] for r in runs})),
        "eeg_rates_hz": "/".join(str(r) for r in a["eeg_rates"]),
        "hours_eeg": round(sum(r["duration_s"] for r in runs) / 3600, 4),
        "hours_music": round(len(trials) * a["epoch_s"] / 3600, 4),
        "clips": len({t["clip_id"] for t in trials if t["clip_id"]}),
        "bad_channels": ", ".join(bads) or "none",
        "missing": "; ".join(a["notes"]) or "none",
    }


def plot_psd(stores: list[Path], out: Path) -> None:
    by_ds: dict[str, list] = defaultdict(list)
    for p in stores:
        g = open_store(p)
        by_ds[g.attrs["dataset"]].append((g["qc/psd_freqs"][:], g["qc/psd_before"][:].mean(0),
                                          g["qc/psd_after"][:].mean(0)))
    fig, axes = plt.subplots(1, len(by_ds), figsize=(5 * len(by_ds), 3.6), squeeze=False)
    for ax, (ds, items) in zip(axes[0], sorted(by_ds.items()), strict=True):
        f = items[0][0]
        for label, idx, color in (("before", 1, "tab:red"), ("after", 2, "tab:blue")):
            curves = np.array([10 * np.log10(it[idx] * 1e12 + 1e-30) for it in items])
            ax.plot(f, curves.mean(0), color=color, label=f"{label} (mean of {len(items)} subjects)")
            ax.fill_between(f, curves.min(0), curves.max(0), color=color, alpha=0.15)
        ax.set(title=ds, xlabel="frequency (Hz)", ylabel="PSD (dB re 1 µV²/Hz)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def plot_trial(store: Path, out: Path) -> None:
    g = open_store(store)
    a = g.attrs
    rate = max(a["eeg_rates"])
    idx = next((i for i, t in enumerate(a["trials"]) if t["audio_status"] == "ok"), 0)
    eeg = g[f"eeg/{rate}"][idx]
    env = g["envelope"][idx]
    t_eeg = np.arange(eeg.shape[1]) / rate
    t_env = np.arange(env.size) / a["envelope_rate"]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    picks = np.linspace(0, eeg.shape[0] - 1, min(8, eeg.shape[0])).astype(int)
    spread = 6 * np.median(eeg.std(axis=1))
    for k, ch in enumerate(picks):
        ax1.plot(t_eeg, eeg[ch] - k * spread, lw=0.5, color="black")
    ax1.set_yticks([-k * spread for k in range(len(picks))], [a["channels"][c] for c in picks])
    t = a["trials"][idx]
    ax1.set_title(f"{a['dataset']} sub-{a['subject']} {t['run']} trial {t['trial']} "
                  f"(clip {t['clip_id']}), preprocessed EEG at {rate} Hz")
    ax2.plot(t_env, env, color="tab:orange")
    ax2.set(xlabel="time from music onset (s)", ylabel=f"amplitude ({a['envelope_rate']} Hz)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def write_summary(stores: list[Path], out_dir: Path) -> list[dict]:
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = sorted((subject_row(p) for p in stores), key=lambda r: (r["dataset"], r["subject"]))
    _write_tsv(out_dir / "summary.tsv", COLUMNS, rows)
    qc = sorted((q for p in stores for q in qc_rows(p)), key=lambda q: (q["dataset"], q["subject"], q["session"],
                                                                        q["run"]))
    _write_tsv(out_dir / "qc.tsv", QC_COLUMNS, qc)
    totals = defaultdict(lambda: defaultdict(float))
    for r in rows:
        for k in ("runs", "trials", "trials_with_audio", "hours_eeg", "hours_music"):
            totals[r["dataset"]][k] += r[k]
        totals[r["dataset"]]["subjects"] += 1
    md = ["# Metadata summary", "", "## Per dataset", "",
          "| dataset | subjects | runs | trials | with audio | hours EEG | hours music |",
          "|---|---|---|---|---|---|---|"]
    for ds, t in sorted(totals.items()):
        md.append(f"| {ds} | {t['subjects']:.0f} | {t['runs']:.0f} | {t['trials']:.0f} | {t['trials_with_audio']:.0f} "
                  f"| {t['hours_eeg']:.3f} | {t['hours_music']:.3f} |")
    md += ["", "## Data QC: every run", "", "| " + " | ".join(QC_COLUMNS) + " |", "|" + "---|" * len(QC_COLUMNS)]
    md += ["| " + " | ".join(str(q[c]) for c in QC_COLUMNS) + " |" for q in qc]
    md += ["", "## Per subject", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    md += ["| " + " | ".join(str(r[c]) for c in COLUMNS) + " |" for r in rows]
    md += ["", "![PSD before and after preprocessing](psd.png)", "", "![One trial](trial.png)", ""]
    (out_dir / "summary.md").write_text("\n".join(md))
    plot_psd(stores, out_dir / "psd.png")
    plot_trial(stores[0], out_dir / "trial.png")
    (out_dir / "summary.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>eeg2music metadata summary</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:3px 6px;font-size:13px}</style></head><body><h1>Metadata summary</h1>"
        f"<h2>Data QC: every run</h2>{_html_table('qc', QC_COLUMNS, qc)}"
        f"<h2>Per subject</h2>{_html_table('subjects', COLUMNS, rows)}"
        "<h2>PSD before/after preprocessing</h2><img src='psd.png' alt='PSD before and after'>"
        "<h2>One trial</h2><img src='trial.png' alt='EEG beside the audio envelope'></body></html>")
    return rows


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="eeg2music summary", description=__doc__)
    p.add_argument("--stores", nargs="+", type=Path, required=True, help="per-subject Zarr stores")
    p.add_argument("--out-dir", type=Path, required=True)
    a = p.parse_args(argv)
    write_summary(a.stores, a.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
