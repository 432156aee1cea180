"""Reading one BIDS EEG run: the EDF checked against its sidecars, channel types and bads from channels.tsv,
events parsed row by row.

mne-bids finds the runs (``find_runs``); the EDF itself is read with MNE's EDF reader and the sidecars are applied
here, because the BCMI sidecars are not what mne-bids expects: non-BIDS channel types (``reponse``, ``stimuli``,
``UserReport``, ``MetaData``), an EDF with one signal more than channels.tsv lists (ds002725), and events.tsv rows
with wrapped negative onsets (≈ 4294964 s) that mne-bids would turn into annotations or tracebacks. Each
disagreement is either one line naming the file and what to do, or a note kept with the run.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import mne
import mne_bids

from eeg2music.errors import InputError

EDF_HEADER_BYTES = 256


def sidecar(edf: Path, suffix: str) -> Path:
    """``sub-01_task-run1_eeg.edf`` → ``sub-01_task-run1_<suffix>``."""
    return edf.with_name(edf.name.removesuffix("_eeg.edf") + "_" + suffix)


# BIDS channel types → MNE's; anything else in the BCMI sidecars (reponse, stimuli, UserReport, …) is misc.
BIDS_TYPES = {"EEG": "eeg", "ECG": "ecg", "EOG": "eog", "HEOG": "eog", "VEOG": "eog", "EMG": "emg", "MISC": "misc",
              "TRIG": "stim", "RESP": "resp", "GSR": "gsr", "TEMP": "temperature", "PPG": "bio"}
ANNOTATION_SIGNALS = ("EDF Annotations", "BDF Annotations")
WRAPPED_ONSET_S = 1e6  # a negative onset stored as unsigned milliseconds reads ≈ 4294964 s


SIDECAR_SUFFIXES = ("channels.tsv", "eeg.json", "events.tsv", "events.json")


def run_inputs(edf: Path) -> list[Path]:
    """The EDF and the sidecars it has (what reading it depends on)."""
    return [edf, *(p for p in (sidecar(edf, s) for s in SIDECAR_SUFFIXES) if p.exists())]


def read_tsv(path: Path, columns: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """Rows of a BIDS TSV (CRLF or LF) with stripped values; one line naming the file for a missing column or a
    row with the wrong number of fields."""
    if not path.exists():
        raise InputError(path, "sidecar is missing", "restore it from the dataset (eeg2music fetch) or the BIDS export")
    with open(path, newline="", encoding="utf-8-sig") as f:
        lines = [line for line in csv.reader(f, delimiter="\t") if any(cell.strip() for cell in line)]
    if not lines:
        raise InputError(path, "file is empty", "restore it from the dataset (eeg2music fetch)")
    header = [h.strip() for h in lines[0]]
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(path, f"no column {missing[0]!r} (columns: {', '.join(header)})",
                         "restore it from the dataset (eeg2music fetch)")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if len(line) != len(header):
            raise InputError(path, f"row {number} has {len(line)} fields, the header {len(header)}",
                             "fix that row (tab-separated, one value per column)")
        rows.append({h: v.strip() for h, v in zip(header, line, strict=True)})
    return rows


def find_runs(root: Path, subject: str, task_pattern: str | None = None) -> list[mne_bids.BIDSPath]:
    """The subject's EEG runs (EDF), sorted by session and task."""
    paths = mne_bids.find_matching_paths(root, subjects=subject, datatypes="eeg", suffixes="eeg",
                                         extensions=".edf")
    if task_pattern is not None:
        paths = [p for p in paths if p.task and re.fullmatch(task_pattern, p.task)]
    return sorted(paths, key=lambda p: (p.session or "", p.task or "", p.run or ""))


def check_edf_against_sidecars(edf: Path) -> tuple[list[str], list[str]]:
    """Truncation, channel names and sampling rate, before the EDF is read. Returns the EDF's signals that
    channels.tsv does not list: data signals (the reader leaves them out) and EDF+ annotation signals."""
    size = edf.stat().st_size
    with open(edf, "rb") as f:
        header = f.read(EDF_HEADER_BYTES)
    try:
        n_header = int(header[184:192].decode("ascii").strip())
        n_records = int(header[236:244].decode("ascii").strip())
        record_s = float(header[244:252].decode("ascii").strip())
        n_signals = int(header[252:256].decode("ascii").strip())
    except (ValueError, UnicodeDecodeError) as err:
        raise InputError(edf, f"EDF header is unreadable ({err})", "re-download the file (eeg2music fetch)") from err
    if size < n_header:
        raise InputError(edf, f"EDF is truncated inside its header ({size} of {n_header} header bytes)",
                         "re-download it (eeg2music fetch resumes and checks MD5)")
    try:
        with open(edf, "rb") as f:
            f.seek(EDF_HEADER_BYTES)
            sig = f.read(n_signals * 256)
        samples = [int(sig[n_signals * 216 + i * 8: n_signals * 216 + (i + 1) * 8].decode("ascii").strip())
                   for i in range(n_signals)]
        labels = [sig[i * 16:(i + 1) * 16].decode("latin-1").strip() for i in range(n_signals)]
    except (ValueError, UnicodeDecodeError) as err:
        raise InputError(edf, f"EDF header is unreadable ({err})", "re-download the file (eeg2music fetch)") from err
    expected = n_header + n_records * sum(samples) * 2
    if n_records < 0 or size < expected:
        raise InputError(edf, f"EDF is truncated ({size} of {expected} bytes)",
                         "re-download it (eeg2music fetch resumes and checks MD5)")
    channels_tsv = sidecar(edf, "channels.tsv")
    names = [row["name"] for row in read_tsv(channels_tsv, ("name", "type"))]
    edf_labels = [lab for lab in labels if lab not in ANNOTATION_SIGNALS]
    extra = [lab for lab in edf_labels if lab not in names]
    if [lab for lab in edf_labels if lab in names] != names:
        only_tsv = [n for n in names if n not in edf_labels]
        detail = f"only in EDF: {extra[:5]}, only in channels.tsv: {only_tsv[:5]}" if only_tsv \
            else "same names in another order"
        raise InputError(channels_tsv, f"channels disagree with {edf.name} ({detail})",
                         "fix channels.tsv so it lists the EDF's channels in order")
    eeg_json = sidecar(edf, "eeg.json")
    if eeg_json.exists():
        declared = float(json.loads(eeg_json.read_text())["SamplingFrequency"])
        eeg_index = labels.index(names[0]) if names else 0
        actual = samples[eeg_index] / record_s if record_s > 0 else float("nan")
        if abs(declared - actual) > 1e-6 * declared:
            raise InputError(eeg_json, f"SamplingFrequency {declared:g} Hz contradicts {edf.name} ({actual:g} Hz)",
                             "correct the sidecar or re-export the EDF")
    return extra, [lab for lab in labels if lab in ANNOTATION_SIGNALS]


def read_raw(edf: Path, preload: bool = False) -> tuple[mne.io.BaseRaw, list[str]]:
    """The run with the channel types and bad channels of channels.tsv (EEG in volts), and notes on what was left
    out. ``preload=False`` reads samples only when asked (finding trials needs the header and one channel)."""
    extra, annotations = check_edf_against_sidecars(edf)
    notes = [f"{edf.name}: {len(extra)} signal(s) not in channels.tsv left out: {', '.join(extra)}"] if extra else []
    if annotations:
        notes.append(f"{edf.name}: EDF+ annotation signal ({annotations[0]}), not a channel")
    raw = mne.io.read_raw_edf(edf, preload=preload, exclude=extra, infer_types=False, verbose="error")
    rows = read_tsv(sidecar(edf, "channels.tsv"), ("name", "type"))
    raw.set_channel_types({r["name"]: BIDS_TYPES.get(r["type"].upper(), "misc") for r in rows},
                          on_unit_change="ignore", verbose="error")
    raw.info["bads"] = [r["name"] for r in rows if r.get("status", "").lower() == "bad"]
    return raw, notes


def events_from_tsv(edf: Path, duration_s: float) -> tuple[list[tuple[float, str]], list[str]]:
    """(onset, trial_type) rows of the run's events.tsv inside the recording, sorted; and notes on the rows left out
    or repeated. A row that cannot be parsed is one line naming the file and the row. Repeated rows are kept: in
    ds002722 they are distinct trials stacked at one onset, and the readers decide what a repeat means."""
    path = sidecar(edf, "events.tsv")
    rows = read_tsv(path, ("onset", "trial_type"))
    events: list[tuple[float, str]] = []
    wrapped = outside = 0
    for number, row in enumerate(rows, start=2):
        try:
            onset = float(row["onset"])
        except ValueError:
            raise InputError(path, f"row {number}: onset {row['onset']!r} is not a number",
                             "fix or delete that row") from None
        if onset >= WRAPPED_ONSET_S:
            wrapped += 1
        elif 0 <= onset <= duration_s:
            events.append((onset, row["trial_type"]))
        else:
            outside += 1
    notes = []
    if wrapped:
        notes.append(f"{path.name}: {wrapped} event(s) with a wrapped negative onset (≈ 4294964 s) ignored")
    if outside:
        notes.append(f"{path.name}: {outside} event(s) outside the recording (0–{duration_s:.1f} s) ignored")
    repeats = len(events) - len(set(events))
    if repeats:
        notes.append(f"{path.name}: {repeats} row(s) repeat an earlier row exactly")
    return sorted(events), notes
