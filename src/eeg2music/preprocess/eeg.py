"""EEG cleaning of one continuous run, then trial epochs at each target rate.

Order matters and follows common practice: EEG channels only → 10-05 names and montage → notch (mains and its
harmonics) → band-pass → bad-channel detection on the filtered data → spherical-spline interpolation → average
reference → cut trials. Filtering the continuous run, not trials, keeps filter edges away from the music.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import mne
import numpy as np
from scipy.signal import welch

from eeg2music.errors import InputError
from eeg2music.preprocess.audio import resample
from eeg2music.preprocess.channels import normalise_channel_names, standard_montage

EPOCH_PAD_S = 1.0  # context kept around a trial while resampling, so every rate starts exactly at the onset


@dataclass(frozen=True)
class EegConfig:
    l_freq: float
    h_freq: float
    line_freq: float
    rates: tuple[int, ...]
    bad_z: float  # robust z-score of log channel power above which a channel is bad
    flat_uv: float  # a channel with less standard deviation than this (µV) is flat
    max_bad_fraction: float
    reference: str = "average"  # "average" re-references to the channel mean; "none" keeps the recorded reference


def montage_for(names: list[str]) -> mne.channels.DigMontage:
    if all(re.fullmatch(r"E\d+", n) for n in names):
        return mne.channels.make_standard_montage("GSN-HydroCel-128")
    return standard_montage()


def eeg_only(raw: mne.io.BaseRaw, copy: bool = True) -> mne.io.BaseRaw:
    """EEG channels with normalised names and template positions (in place with ``copy=False``)."""
    if not raw.preload:  # readers return runs whose samples are read on demand
        raw.load_data(verbose="error")
    raw = (raw.copy() if copy else raw).pick("eeg", exclude=[])
    raw.rename_channels(normalise_channel_names(raw.ch_names))
    raw.set_montage(montage_for(raw.ch_names), on_missing="warn", verbose="error")
    return raw


def aux_only(raw: mne.io.BaseRaw, cfg: EegConfig) -> tuple[mne.io.BaseRaw | None, list[str]]:
    """The run's ECG/EOG channels, band-passed like the EEG (no reference, no interpolation), for the artefact
    control; channels that are flat or hold NaN are left out and named in the second value. None when the run has
    none usable."""
    names = [raw.ch_names[i] for i in mne.pick_types(raw.info, ecg=True, eog=True, exclude=[])]
    if not names:
        return None, []
    data = raw.get_data(picks=names)  # only these rows: a copy of the whole run would double its memory
    unusable = [n for n, row in zip(names, data, strict=True)
                if np.isnan(row).any() or np.std(row) < cfg.flat_uv * 1e-6]
    keep = [i for i, n in enumerate(names) if n not in unusable]
    if not keep:
        return None, unusable
    types = raw.get_channel_types(names)
    info = mne.create_info([names[i] for i in keep], raw.info["sfreq"], [types[i] for i in keep])
    aux = mne.io.RawArray(data[keep], info, verbose="error")
    aux.filter(cfg.l_freq, min(cfg.h_freq, aux.info["sfreq"] / 2 - 1), picks="all", verbose="error")
    return aux, unusable


def find_bad_channels(raw: mne.io.BaseRaw, cfg: EegConfig) -> dict[str, str]:
    """Channel → reason: NaN, flat, or an outlier in log power (robust z across channels)."""
    data = raw.get_data()
    reasons: dict[str, str] = {}
    std = np.nanstd(data, axis=1)
    for i, name in enumerate(raw.ch_names):
        if np.isnan(data[i]).any():
            reasons[name] = "contains NaN"
        elif std[i] < cfg.flat_uv * 1e-6:
            reasons[name] = "flat"
    ok = [i for i, n in enumerate(raw.ch_names) if n not in reasons]
    logp = np.log(std[ok])
    med = np.median(logp)
    # Floor the spread at 0.2 (in log power): with very similar channels a raw MAD would call a 20 % louder
    # channel an outlier. With bad_z = 5 a channel must be ~2.7× off the median amplitude to be flagged.
    mad = max(np.median(np.abs(logp - med)) * 1.4826, 0.2)
    for i, z in zip(ok, (logp - med) / mad, strict=True):
        if abs(z) > cfg.bad_z:
            reasons[raw.ch_names[i]] = f"power outlier (robust z {z:+.1f})"
    return reasons


def clean_run(raw: mne.io.BaseRaw, cfg: EegConfig, source: str) -> tuple[mne.io.BaseRaw, dict[str, str]]:
    """Notch, band-pass, bad channels interpolated, average reference (``cfg.reference``), in place on an
    :func:`eeg_only` run.

    Returns the clean run and the bad channels with their reasons.
    """
    data = raw._data
    nan_rows = np.isnan(data).any(axis=1)
    data[nan_rows] = 0.0  # filters cannot take NaN; the channel is interpolated below
    sfreq = raw.info["sfreq"]
    nyq_needed = min(sfreq / 2, max(cfg.rates) / 2 + cfg.line_freq)
    notches = np.arange(cfg.line_freq, nyq_needed, cfg.line_freq)
    if notches.size:
        raw.notch_filter(notches, verbose="error")
    raw.filter(cfg.l_freq, min(cfg.h_freq, sfreq / 2 - 1), verbose="error")
    bads = find_bad_channels(raw, cfg)
    for i in np.flatnonzero(nan_rows):
        bads[raw.ch_names[i]] = "contains NaN"
    if len(bads) > cfg.max_bad_fraction * len(raw.ch_names):
        raise InputError(source, f"{len(bads)} of {len(raw.ch_names)} EEG channels are bad ({sorted(bads)[:6]}…)",
                         "inspect the recording; raise preprocess.max_bad_fraction only if it is usable")
    if bads:
        raw.info["bads"] = sorted(bads)
        raw.interpolate_bads(reset_bads=True, verbose="error")
    if cfg.reference == "average":
        raw.set_eeg_reference("average", projection=False, verbose="error")
    return raw, bads


def cut_trial(raw: mne.io.BaseRaw, onset_s: float, duration_s: float, rate: int) -> np.ndarray:
    """(channel, duration·rate) float32 at ``rate``; sample 0 is exactly the trial onset."""
    sfreq = raw.info["sfreq"]
    pad = min(EPOCH_PAD_S, onset_s)
    start = round((onset_s - pad) * sfreq)
    stop = min(raw.n_times, round((onset_s + duration_s + EPOCH_PAD_S) * sfreq))
    seg = raw.get_data(picks="all", start=start, stop=stop)
    seg = resample(seg, sfreq, rate, axis=1)
    first = round((onset_s - start / sfreq) * rate)
    n = round(duration_s * rate)
    out = seg[:, first:first + n]
    if out.shape[1] < n:
        out = np.pad(out, ((0, 0), (0, n - out.shape[1])), mode="edge")
    return out.astype(np.float32)


def mean_psd(raw: mne.io.BaseRaw, fmax: float = 120.0, max_segments: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Channel-averaged PSD (V²/Hz) up to ``fmax``, for the before/after figure: Hann periodograms of at most
    ``max_segments`` 2-s segments spread evenly over the run (Welch without overlap on a sample of the run; a
    figure needs no more, and on a 15-minute run at 1000 Hz every segment cost as much as the cleaning itself)."""
    sfreq = raw.info["sfreq"]
    nper = min(int(2 * sfreq), raw.n_times)
    starts = np.linspace(0, raw.n_times - nper, max(1, min(max_segments, raw.n_times // nper))).astype(int)
    segments = np.stack([np.nan_to_num(raw.get_data(picks="eeg", start=s, stop=s + nper)) for s in starts])
    freqs, psd = welch(segments, fs=sfreq, nperseg=nper, axis=-1)
    keep = freqs <= min(fmax, sfreq / 2)
    return freqs[keep], psd[..., keep].mean(axis=(0, 1))
