"""Daly (2023)'s source-space front end: ICA, then eLORETA at four fixed MNI locations.

Daly decoded from 124 features: 31 independent components projected to 4 source locations (right and left
Heschl's gyrus, left hippocampus, right cerebellum). Here, per subject:

1. FastICA on the subject's clean 100 Hz trials (average reference; as many components as the data's rank allows,
   31 for a 32-channel montage). ICA is unsupervised, so fitting it on all trials of the subject uses no labels.
2. A forward model for the four locations: a spherical head model fitted to the montage when no MRI template is
   available (here), or fsaverage's BEM when ``subjects_dir`` holds it (on the cluster, after the fetch step).
   MNI millimetres are used as head coordinates for the sphere model (the template montage is MNI-aligned), and
   through fsaverage's own MNI transform otherwise.
3. eLORETA applied to each component's scalp map gives that component's (3-D) source vector at every location;
   its projection on the location's principal direction is the component's weight there.
4. Feature ``(component k, location l)`` = weight[l, k] × component time course k.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import mne
import numpy as np

from eeg2music.preprocess.channels import standard_montage

DALY_LOCATIONS_MNI_MM = {
    "RHeschl": (54.0, -12.0, 2.0),
    "LHeschl": (-50.0, -20.0, 2.0),
    "LHippocampus": (-22.0, -26.0, -16.0),
    "RCerebellum": (16.0, -38.0, -10.0),
}


def _forward(info: mne.Info, subjects_dir: Path | None) -> mne.Forward:
    rr = np.array(list(DALY_LOCATIONS_MNI_MM.values())) / 1000.0
    nn = np.tile([0.0, 0.0, 1.0], (len(rr), 1))
    if subjects_dir is not None and (Path(subjects_dir) / "fsaverage").exists():
        fs = Path(subjects_dir) / "fsaverage"
        bem = mne.read_bem_solution(fs / "bem" / "fsaverage-5120-5120-5120-bem-sol.fif", verbose="error")
        src = mne.setup_volume_source_space(pos={"rr": rr, "nn": nn}, bem=bem, verbose="error")
        return mne.make_forward_solution(info, trans="fsaverage", src=src, bem=bem, eeg=True, meg=False,
                                         verbose="error")
    sphere = mne.make_sphere_model("auto", "auto", info, verbose="error")
    src = mne.setup_volume_source_space(pos={"rr": rr, "nn": nn}, sphere=sphere, verbose="error")
    return mne.make_forward_solution(info, trans=None, src=src, bem=sphere, eeg=True, meg=False, verbose="error")


def source_features(trials: np.ndarray, ch_names: list[str], sfreq: float, n_components: int = 31,
                    subjects_dir: Path | None = None, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """(trial, channel, time) clean EEG in volts → (trial, component × location, time) features and their names."""
    info = mne.create_info(list(ch_names), sfreq, "eeg")
    info.set_montage(standard_montage(), on_missing="ignore", verbose="error")
    epochs = mne.EpochsArray(trials.astype(np.float64), info, verbose="error")
    epochs.set_eeg_reference("average", projection=True, verbose="error")
    rank = len(ch_names) - 1  # average reference removes one dimension
    ica = mne.preprocessing.ICA(n_components=min(n_components, rank), method="fastica", random_state=seed,
                                max_iter=1000, verbose="error")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FastICA convergence chatter on short recordings
        ica.fit(epochs, verbose="error")
    timecourses = ica.get_sources(epochs).get_data()  # (trial, component, time)
    maps = ica.get_components()  # (channel, component) scalp maps
    evoked = mne.EvokedArray(maps, info, tmin=0.0, verbose="error")
    evoked.set_eeg_reference("average", projection=True, verbose="error")
    fwd = _forward(info, subjects_dir)
    inv = mne.minimum_norm.make_inverse_operator(info, fwd, mne.make_ad_hoc_cov(info, verbose="error"), loose=1.0,
                                                 depth=None, verbose="error")
    stc = mne.minimum_norm.apply_inverse(evoked, inv, lambda2=1.0 / 9.0, method="eLORETA", pick_ori="vector",
                                         verbose="error")
    vectors = stc.data  # (location, 3, component)
    weights = np.empty((vectors.shape[0], vectors.shape[2]))
    for loc in range(vectors.shape[0]):
        u = np.linalg.svd(vectors[loc], full_matrices=False)[0][:, 0]  # principal direction at this location
        weights[loc] = u @ vectors[loc]
    feats = (weights.T[None, :, :, None] * timecourses[:, :, None, :])  # (trial, component, location, time)
    names = [f"IC{k + 1:02d}@{loc}" for k in range(weights.shape[1]) for loc in DALY_LOCATIONS_MNI_MM]
    n_tr, n_comp, n_loc, n_t = feats.shape
    return feats.reshape(n_tr, n_comp * n_loc, n_t).astype(np.float32), names
