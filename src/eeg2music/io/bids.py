"""Reading one BIDS EEG run through mne-bids, after checking the EDF against its sidecars.

mne-bids trusts the sidecars; real datasets sometimes disagree with their EDF (renamed or missing channels, another
sampling rate, a truncated transfer). Each of those is caught here first and reported as one line naming the file.
"""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import mne
import mne_bids

from eeg2music.errors import InputError

EDF_HEADER_BYTES = 256


def sidecar(edf: Path, suffix: str) -> Path:
    """``sub-01_task-run1_eeg.edf`` → ``sub-01_task-run1_<suffix>``."""
    return edf.with_name(edf.name.removesuffix("_eeg.edf") + "_" + suffix)


def read_tsv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise InputError(path, "sidecar is missing", "restore it from the dataset (eeg2music fetch) or the BIDS export")
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def find_runs(root: Path, subject: str, task_pattern: str | None = None) -> list[mne_bids.BIDSPath]:
    """The subject's EEG runs (EDF), sorted by session and task."""
    paths = mne_bids.find_matching_paths(root, subjects=subject, datatypes="eeg", suffixes="eeg",
                                         extensions=".edf")
    if task_pattern is not None:
        import re

        paths = [p for p in paths if p.task and re.fullmatch(task_pattern, p.task)]
    return sorted(paths, key=lambda p: (p.session or "", p.task or "", p.run or ""))


def check_edf_against_sidecars(edf: Path) -> None:
    """Truncation, channel names and sampling rate, before mne-bids reads the file."""
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
    names = [row["name"] for row in read_tsv(channels_tsv)]
    edf_labels = [lab for lab in labels if lab not in ("EDF Annotations", "BDF Annotations")]
    if edf_labels != names:
        only_edf = [n for n in edf_labels if n not in names]
        only_tsv = [n for n in names if n not in edf_labels]
        detail = f"only in EDF: {only_edf[:5]}, only in channels.tsv: {only_tsv[:5]}" if (only_edf or only_tsv) \
            else "same names in another order"
        raise InputError(channels_tsv, f"channels disagree with {edf.name} ({detail})",
                         "fix channels.tsv so it lists the EDF's channels in order")
    eeg_json = sidecar(edf, "eeg.json")
    if eeg_json.exists():
        declared = float(json.loads(eeg_json.read_text())["SamplingFrequency"])
        actual = samples[0] / record_s if record_s > 0 else float("nan")
        if abs(declared - actual) > 1e-6 * declared:
            raise InputError(eeg_json, f"SamplingFrequency {declared:g} Hz contradicts {edf.name} ({actual:g} Hz)",
                             "correct the sidecar or re-export the EDF")


def read_raw(bids_path: mne_bids.BIDSPath) -> mne.io.BaseRaw:
    """The run with sidecar channel types and events as annotations; EEG in volts, data loaded."""
    edf = Path(bids_path.fpath)
    check_edf_against_sidecars(edf)
    with warnings.catch_warnings():
        # The BCMI sidecars use non-BIDS channel types ("reponse", "stimuli", "UserReport"); mne-bids maps them to
        # misc and says so. That is expected for these datasets, not news to the user.
        warnings.filterwarnings("ignore", message=".*not.*(valid|supported|recognized).*", category=RuntimeWarning)
        warnings.filterwarnings("ignore", message=".*[Uu]nit.*", category=RuntimeWarning)
        warnings.filterwarnings("ignore", message=".*channel type.*", category=RuntimeWarning)
        raw = mne_bids.read_raw_bids(bids_path, verbose="error")
    raw.load_data(verbose="error")
    return raw


def events_from_tsv(edf: Path) -> list[tuple[float, float, str]]:
    """(onset, duration, trial_type) rows of the run's events.tsv."""
    path = sidecar(edf, "events.tsv")
    rows = read_tsv(path)
    try:
        return [(float(r["onset"]), float(r["duration"]) if r["duration"] not in ("n/a", "") else 0.0,
                 r["trial_type"].strip()) for r in rows]
    except (KeyError, ValueError) as err:
        raise InputError(path, f"cannot parse events ({err})", "it needs onset, duration and trial_type columns") \
            from err
