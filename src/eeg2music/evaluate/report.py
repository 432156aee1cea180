"""Report pages: one per experiment (per-subject table, null distributions, best/median/worst decoded trials) and
one comparison of all experiments on the same splits with a paired test across subjects against the baseline."""

from __future__ import annotations

import argparse
import html
import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import soundfile as sf

from eeg2music.errors import InputError, one_line_errors
from eeg2music.evaluate import metrics as M
from eeg2music.evaluate.score import load, pool
from eeg2music.evaluate.stats import paired_test
from eeg2music.provenance import stamp_html

STYLE = ("<style>body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}"
         "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:right}th{background:#f4f4f4}"
         ".sig{color:#070;font-weight:bold}.ns{color:#a00}</style>")


def _table(header: list[str], rows: list[list[Any]], table_id: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table id='{table_id}'><tr>{head}</tr>{body}</table>"


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def plot_nulls(summary: dict, nulls: dict, out: Path) -> None:
    names = list(summary["metrics"])
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 2.8), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        r = summary["metrics"][name]
        null = np.asarray(nulls[name], dtype=float)
        # a metric that barely moves under shuffling (a near-constant decoder) spans less than 40 float steps
        ax.hist(null, bins=40 if np.ptp(null) > 1e-9 * max(1.0, float(np.abs(null).max())) else 1, color="0.7")
        ax.axvline(r["observed"], color="tab:red", lw=2, label=f"observed {r['observed']:.3f}")
        ax.set_title(f"{name}\np = {r['p']:.4f}", fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle(f"trial-shuffle nulls ({summary['n_perm']} permutations)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def plot_trials(preds, summary: dict, out: Path) -> list[int]:
    r = np.array(summary["metrics"]["r_time"]["per_trial"]) if "r_time" in summary["metrics"] else \
        np.array(summary["metrics"]["mel_r"]["per_trial"])
    order = np.argsort(r)
    picks = [int(order[-1]), int(order[len(order) // 2]), int(order[0])]
    fig, axes = plt.subplots(len(picks), 2, figsize=(12, 2.6 * len(picks)), squeeze=False)
    for row, (label, i) in zip(axes, zip(("best", "median", "worst"), picks, strict=True), strict=True):
        p, t, rate = preds.pred[i], preds.true[i], preds.rate
        m = preds.meta[i]
        title = f"{label}: {m['dataset']} sub-{m['subject']} {m['run']} trial {m['trial']} (r = {r[i]:.2f})"
        if p.ndim == 1:
            time = np.arange(p.size) / rate
            row[0].plot(time, M.zscore(t), color="k", lw=0.8, label="true")
            row[0].plot(time, M.zscore(p), color="tab:red", lw=0.8, label="decoded")
            row[0].set(title=title, xlabel="s")
            row[0].legend(fontsize=7)
            row[1].imshow(np.vstack([M.spec(t, rate), M.spec(p, rate)]), aspect="auto", origin="lower",
                          cmap="magma")
            row[1].set_title("spectrogram: true (bottom) / decoded (top)", fontsize=9)
        else:
            row[0].imshow(t, aspect="auto", origin="lower", cmap="magma")
            row[0].set_title(f"{title}: true mel", fontsize=9)
            row[1].imshow(p, aspect="auto", origin="lower", cmap="magma")
            row[1].set_title("decoded mel", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return picks


def _observed(r: dict) -> str:
    """Observed value, with the spread over samples for generative models (mean of K samples ± sd)."""
    if len(r.get("per_sample", [])) > 1:
        return f"{_fmt(r['observed'])} ± {_fmt(r['sample_sd'])}"
    return _fmt(r["observed"])


def audio_players(audio_dir: Path | None, out_dir: Path, limit: int = 6) -> str:
    """Players for the generated (and true) wav files the sampling step wrote, copied beside the page."""
    if audio_dir is None or not audio_dir.is_dir():
        return ""
    rows = []
    for wav in sorted(audio_dir.glob("*.wav"))[: 2 * limit]:
        (out_dir / wav.name).write_bytes(wav.read_bytes())
        rows.append(f"<p>{html.escape(wav.stem)}: <audio controls src='{html.escape(wav.name)}'></audio></p>")
    return "<h2>Listen: generated and true audio</h2>" + "".join(rows)


MAX_CURVES = 6


def run_label(run: Path) -> str:
    """A run directory's protocol and fold ("cv-by-run~ds002725~sub-01/fold-0"), or its name outside the layout."""
    return f"{run.parent.name}/{run.name}" if run.name.startswith("fold-") else run.name


def plot_curves(runs: list[Path], out: Path) -> str:
    """Training and validation loss of each fold's run (``curves.tsv``), the selected (lowest validation) step
    marked; the page section, or "" when no run logged a curve."""
    from eeg2music.train.curves import read_curves

    found = [(run, read_curves(run / "curves.tsv")) for run in runs if (run / "curves.tsv").exists()]
    if not found:
        return ""
    shown = found[:MAX_CURVES]  # one model per participant and fold can make dozens of runs
    fig, axes = plt.subplots(1, len(shown), figsize=(3.6 * len(shown), 2.8), squeeze=False)
    notes = []
    for ax, (run, curves) in zip(axes[0], shown, strict=True):
        for part, colour in (("train", "0.5"), ("val", "tab:blue")):
            if part in curves:
                ax.plot(*curves[part], color=colour, lw=1, label=part, marker="o" if part == "val" else None, ms=3)
        if "val" in curves:
            steps, losses = curves["val"]
            best = int(np.argmin(losses))
            ax.axvline(steps[best], color="tab:red", lw=1, ls="--", label=f"selected: step {steps[best]}")
            notes.append(f"{run_label(run)}: step {steps[best]} of {max(curves.get('train', curves['val'])[0])}")
        ax.set_title(run_label(run), fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    selected = (" Decoded with the weights of the lowest validation loss: " + "; ".join(notes) + ".") if notes else \
        " No validation during training: decoded with the last step's weights."
    more = f" The first {len(shown)} of {len(found)} runs are plotted." if len(found) > len(shown) else ""
    return (f"<h2>Training and validation loss</h2><p>Loss on the training batches and on the split's validation part"
            f" (fixed windows), per run.{selected}{more}</p><img src='{out.name}' alt='loss curves'>")


def beside_section(summary: dict, beside: list[Path]) -> str:
    """A leaky protocol's page opens with the same model's results under the honest protocols."""
    if not beside:
        return ""
    rows = []
    for path in [None, *beside]:
        r = summary if path is None else load(path)
        m = r["metrics"].get("rank_accuracy")
        rows.append([html.escape(r["experiment"]), f"{m['observed']:.3f} (p {m['p']:.3f})" if m else "–",
                     song_votes(r)])
    return ("<p class='ns'>This protocol is leaky: its held-out windows come from the same recordings as training "
            "windows (the split's audit). Its numbers reproduce the published protocol; what the model decodes is "
            "in the honest protocols' rows.</p>"
            + _table(["experiment", "rank accuracy", "song ID (votes)"], rows, "beside"))


def song_votes(summary: dict[str, Any]) -> str:
    """Song ID from the 7-s votes with its p, or "–" where the study does not identify songs."""
    song = summary.get("song_id", {}).get("vote")
    return f"{song['accuracy']:.3f} (p {song['p']:.3f})" if song else "–"


def song_units(song: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, label) of song identification's two units: single windows and the votes over them."""
    return [("window", f"{song['window_s']:g}-s windows"), ("vote", f"{song['vote_s']:g}-s votes")]


def song_id_section(summary: dict[str, Any]) -> str:
    """Window-level song identification (evaluate.song_id): accuracy of windows and votes against chance."""
    song = summary.get("song_id")
    if not song:
        return ""
    rows = [[label, _fmt(song[key]["accuracy"]), _fmt(song[key]["null_mean"]), f"{song[key]['p']:.4f}",
             f"{_fmt(song[key]['ci95_subjects'][0])} … {_fmt(song[key]['ci95_subjects'][1])}"]
            for key, label in song_units(song)]
    subjects = sorted(song["window"]["per_subject"])
    subject_rows = [[html.escape(s), _fmt(song["window"]["per_subject"][s]), _fmt(song["vote"]["per_subject"][s])]
                    for s in subjects]
    retrieval = (f" Retrieval: each decoded window's own true window ranks at {_fmt(song['retrieval_rank'])} among "
                 "all true test windows (0.5 chance)." if song.get("retrieval_rank") is not None else "")
    return (f"<h2>Song identification</h2><p>{song['n_windows']} test windows, {song['n_songs']} songs (chance "
            f"{_fmt(song['chance'])}); the null shuffles which song each test span is labelled with; CIs bootstrap "
            f"subjects.{retrieval}</p>"
            + _table(["unit", "accuracy", "null mean", "p", "95% CI (subjects)"], rows, "song-id")
            + _table(["subject", "windows", "votes"], subject_rows, "song-id-subjects"))


def reconstruction_sections(summary: dict[str, Any], metrics_path: Path, out_dir: Path) -> str:
    """The metrics table, Daly's protocol, per-subject scores, the nulls and the best/median/worst decoded trials
    (with their audio for waveform targets); "" for a song classifier, which reconstructs nothing."""
    if not summary["metrics"]:
        return ""
    nulls = dict(np.load(metrics_path.with_name("nulls.npz")))
    preds = pool([Path(p) for p in summary["predictions"]]).sample(0)  # generative models: plot sample 0
    plot_nulls(summary, nulls, out_dir / "nulls.png")
    picks = plot_trials(preds, summary, out_dir / "trials.png")
    audio = ""
    if preds.rate >= 8000:  # audio-rate targets: listen to the decoded best/median/worst trials
        for label, i in zip(("best", "median", "worst"), picks, strict=True):
            sf.write(out_dir / f"{label}.wav", np.clip(preds.pred[i], -1, 1), int(preds.rate))
            audio += f"<p>{label}: <audio controls src='{label}.wav'></audio></p>"
    names = list(summary["metrics"])
    rows = [[html.escape(metric_label(n, r)), _observed(r), _fmt(r["null_mean"]), f"{r['p']:.4f}",
             f"{_fmt(r['ci95_subjects'][0])} … {_fmt(r['ci95_subjects'][1])}",
             "<span class='sig'>yes</span>" if r["significant"] else "<span class='ns'>no</span>"]
            for n, r in summary["metrics"].items()]
    subjects = sorted(summary["metrics"][names[0]]["per_subject"])
    subject_rows = [[html.escape(s)] + [_fmt(summary["metrics"][n]["per_subject"][s]) for n in names]
                    for s in subjects]
    return ("<h2>Metrics</h2>"
            + _table(["metric", "observed", "null mean", "p", "95% CI (subjects)", f"p < {summary['alpha']}"], rows,
                     "metrics")
            + daly_section(summary)
            + "<h2>Per subject (pooled protocol)</h2>" + _table(["subject", *names], subject_rows, "subjects")
            + "<h2>Null distributions</h2><img src='nulls.png' alt='null distributions'>"
            + "<h2>Decoded vs true: best, median and worst trials</h2><img src='trials.png' alt='trials'>" + audio)


def experiment_page(metrics_path: Path, out_dir: Path, audio_dir: Path | None = None,
                    runs: list[Path] | None = None, beside: list[Path] | None = None) -> Path:
    summary = load(metrics_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    reconstruction = reconstruction_sections(summary, metrics_path, out_dir)
    curves = plot_curves(runs or [], out_dir / "curves.png")
    what = (f"target {summary['target']} at {summary['rate']:g} Hz; {summary['n_perm']} trial-shuffle permutations"
            if summary["metrics"] else f"a song classifier (logits per frame at {summary['rate']:g} Hz), scored on "
            f"song identification only; {summary['n_perm']} span-shuffle permutations")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{summary['experiment']}</title>{STYLE}"
            f"</head><body><h1>{html.escape(summary['experiment'])}</h1>"
            f"<p>{summary['n_trials']} test trials, {summary['n_subjects']} subjects, {summary['n_clips']} clips; "
            f"{what}; CIs bootstrap subjects."
            + (f" Generative model: {summary.get('n_samples', 1)} samples per trial (seeds 0…"
               f"{summary.get('n_samples', 1) - 1}); observed = mean over samples ± sd across samples."
               if summary.get("n_samples", 1) > 1 else "") + "</p>" + beside_section(summary, beside or [])
            + reconstruction + song_id_section(summary) + curves
            + audio_players(audio_dir, out_dir) + stamp_html(summary.get("provenance")) + "</body></html>")
    (out_dir / "index.html").write_text(page)
    return out_dir / "index.html"


PUBLISHED = ("Published (Daly 2023, bi-LSTM, his own splits): rank accuracy 0.718 on the joint EEG-fMRI set "
             "(n = 18, fMRI-informed sources) and 0.592 on the EEG-only set (n = 19); see his per-participant "
             "tables. Not computed here.")


def daly_summary(summary: dict[str, Any]) -> str:
    """"mean (k of N significant)" for Daly's within-participant protocol."""
    d = summary.get("daly_protocol")
    if not d or not d["n_participants"]:
        return "–"
    return f"{d['mean']:.3f} ({d['k_significant']} of {d['n_participants']} significant)"


def metric_label(name: str, result: dict[str, Any]) -> str:
    """A metric's name, marked when its candidates and null are only the participant's own trials."""
    return f"{name} (within participant)" if result.get("candidates") == "within participant" else name


def daly_section(summary: dict[str, Any]) -> str:
    """Rank accuracy within each participant, as Daly (2023) computed it, with his published values beside."""
    d = summary.get("daly_protocol")
    if not d:
        return ""
    ci = (f"95% CI {_fmt(d['ci95'][0])} … {_fmt(d['ci95'][1])}" if d.get("ci95") else d.get("ci_note", ""))
    wil = f"{d['p_wilcoxon']:.4f}" if d.get("p_wilcoxon") is not None else "–"
    rows = [[html.escape(s), _fmt(v["observed"]), f"{v['p']:.4f}", str(v["n_trials"]),
             "<span class='sig'>yes</span>" if v["significant"] else "<span class='ns'>no</span>"]
            for s, v in d["per_participant"].items()]
    return ("<h2>Daly's protocol: rank accuracy within each participant</h2>"
            f"<p>{html.escape(d['protocol'])}. Mean over participants {_fmt(d['mean'])} (chance 0.5; {ci}); "
            f"<b>{d['k_significant']} of {d['n_participants']}</b> participants significant at p < {d['alpha']} "
            f"(binomial p of that many by chance {d['p_k_significant']:.4f}); Wilcoxon across participants "
            f"against 0.5, p {wil}.</p><p>{html.escape(PUBLISHED)}</p>"
            + _table(["participant", "rank accuracy", "p", "test trials", "significant"], rows, "daly"))


EVERY_MODEL = "every-model"  # a control every decoder must beat (artefact controls)
NO_EEG = "no-eeg"  # a ceiling: a vocoder fed the true mel reads no EEG, so it is neither a decoder nor beaten by one


def pairs(items: list[str]) -> dict[str, str]:
    """``NAME=VALUE`` arguments → a dict."""
    bad = [i for i in items if "=" not in i]
    if bad:
        raise InputError(None, f"{bad[0]!r} is not NAME=VALUE", "write each as name=value")
    return dict(i.split("=", 1) for i in items)


def _versus(model: dict, other: dict, key: str) -> tuple[str, dict[str, float]]:
    """The paired test across subjects of ``model`` against ``other`` on ``key``, as a table cell, and the test."""
    if key not in model["metrics"] or key not in other["metrics"]:  # a song classifier reconstructs nothing
        return "–", {"mean_difference": float("nan"), "p": float("nan")}
    t = paired_test(model["metrics"][key]["per_subject"], other["metrics"][key]["per_subject"])
    return f"Δ {t['mean_difference']:+.3f}, p {t['p']:.3f} (n={t['n_subjects']})", t


def _beats(model: dict, floor: dict, key: str) -> str:
    cell, t = _versus(model, floor, key)
    verdict = "beats it" if t["mean_difference"] > 0 and t["p"] < 0.05 else "<span class='ns'>does not beat it</span>"
    return f"{cell}: {verdict}"


def comparison_table(metrics: dict[str, Path], baseline: str, key: str = "rank_accuracy",
                     controls: dict[str, str] | None = None) -> tuple[str, dict]:
    """The comparison table (every metric with its p, and a paired test across subjects against the baseline) and
    the loaded metrics; shared by the comparison page and the study report. ``controls`` (control → the model it is
    the floor of) go in their own table, never among the decoders, and each model's row says which it beats."""
    controls = controls or {}
    runs = {name: load(p) for name, p in metrics.items()}
    if baseline not in runs:
        raise InputError(None, f"baseline {baseline!r} is not among the experiments {sorted(runs)}",
                         "set evaluate.baseline to one of them")
    unknown = sorted(f"{c} (of {of})" for c, of in controls.items()
                     if c not in runs or (of not in runs and of not in (EVERY_MODEL, NO_EEG)))
    if unknown:
        raise InputError(None, f"controls without metrics: {', '.join(unknown)}", "evaluate them and their models")
    names = sorted({m for r in runs.values() for m in r["metrics"]})

    songs = any("song_id" in r for r in runs.values())

    def metric_cells(r: dict) -> list[str]:
        cells = ["–" if (m := r["metrics"].get(n)) is None else f"{_observed(m)} (p {m['p']:.3f})" for n in names]
        return [*cells, song_votes(r)] if songs else cells

    rows = []
    for exp, r in runs.items():
        if exp in controls:
            continue
        row = [html.escape(exp), *metric_cells(r), daly_summary(r)]
        if exp == baseline:
            row.append("baseline")
        else:
            row.append(_versus(r, runs[baseline], key)[0])
        if controls:
            floors = [f"{html.escape(c)}: {_beats(r, runs[c], key)}" for c, of in controls.items()
                      if of in (exp, EVERY_MODEL)]
            row.append("<br>".join(floors) or "–")
        rows.append(row)
    caption = (f"<p>Same splits and metrics for every model. The metric columns pool every subject's test trials "
               f"as candidates; 'Daly protocol' ranks each trial among its own participant's trials, as Daly (2023) "
               f"did (mean over participants, k of N significant). The last column is a Wilcoxon signed-rank test "
               f"across subjects of pooled {key} against {html.escape(baseline)}. {html.escape(PUBLISHED)}</p>")
    names_shown = [*names, "song ID (7-s votes)"] if songs else names
    columns = ["experiment", *names_shown, "Daly protocol", f"vs {baseline}"]
    columns += ["vs its controls"] if controls else []
    table = caption + _table(columns, rows, "comparison")
    if controls:
        role = {EVERY_MODEL: "artefact control of every model", NO_EEG: "ceiling (true mel in, no EEG)"}
        floor_rows = [[html.escape(c), role.get(of, f"floor of {html.escape(of)}"),
                       *metric_cells(runs[c]), daly_summary(runs[c])] for c, of in controls.items()]
        table += ("<h3>Controls, floors and ceilings (not decoders)</h3><p>Artefact controls decode from the frontal "
                  "and periocular channels and the ECG/EOG channels only, where blinks, eye movements and the heart "
                  "dominate: every model must beat them, or it may be decoding the eyes. Floors are a generative "
                  "model's own weights and sampler with the EEG replaced by zeros or by another test trial's EEG of "
                  "the same participant: a generator makes music-like audio from any input, so it decodes the EEG "
                  "only where it beats its floors. Ceilings are vocoders fed the true music's log-mel: what a "
                  "decoder that recovered the mel exactly would reach. 'vs its controls' above: Wilcoxon signed-rank "
                  f"across subjects of pooled {key}, p < 0.05.</p>"
                  + _table(["control", "role", *names_shown, "Daly protocol"], floor_rows, "floors"))
    return table, runs


def comparison_page(metrics: dict[str, Path], baseline: str, out: Path, key: str = "rank_accuracy",
                    controls: dict[str, str] | None = None) -> Path:
    table, runs = comparison_table(metrics, baseline, key, controls)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>comparison</title>{STYLE}</head><body>"
                   f"<h1>Model comparison</h1>" + table
                   + "".join(f"<p><a href='{e}/index.html'>{html.escape(e)}</a></p>" for e in runs)
                   + stamp_html() + "</body></html>")
    (out.parent / "comparison.json").write_text(json.dumps({e: {n: r["metrics"][n]["observed"] for n in
                                                               r["metrics"]} for e, r in runs.items()}, indent=1))
    return out


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eeg2music.evaluate.report", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("experiment", help="one experiment's page")
    e.add_argument("--metrics", type=Path, required=True)
    e.add_argument("--out-dir", type=Path, required=True)
    e.add_argument("--audio-dir", type=Path, help="generated wav files to embed (the sample step's output)")
    e.add_argument("--runs", type=Path, nargs="*", default=[], help="training run directories (their curves.tsv)")
    e.add_argument("--beside", type=Path, nargs="*", default=[],
                   help="a leaky protocol's page: the same model's metrics.json under the honest protocols")
    c = sub.add_parser("compare", help="the comparison page")
    c.add_argument("--metrics", nargs="+", required=True, metavar="NAME=PATH")
    c.add_argument("--baseline", required=True)
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--controls", nargs="*", default=[], metavar="CONTROL=MODEL",
                   help="rows that are not decoders (their own table): a prior-only floor =the model it is the "
                   f"floor of, an artefact control ={EVERY_MODEL}, a ceiling ={NO_EEG}")
    a = p.parse_args(argv)
    if a.cmd == "experiment":
        experiment_page(a.metrics, a.out_dir, a.audio_dir, a.runs, a.beside)
    else:
        comparison_page({k: Path(v) for k, v in pairs(a.metrics).items()}, a.baseline, a.out,
                        controls=pairs(a.controls))
    return 0


if __name__ == "__main__":
    sys.exit(main())
