"""Replicas: the shipped structure is the real metadata's, and a replica subject reads exactly like the real one."""

from __future__ import annotations

import json

import numpy as np
import pytest

from eeg2music.io.readers import make_reader
from eeg2music.synth.forward import Realism
from eeg2music.synth.replica import extract_structure, load_structure, write_replicas
from eeg2music.synth.study import SynthConfig

from ..conftest import FIXTURES
from .test_real_metadata import standin_dataset

pytestmark = pytest.mark.skipif(not FIXTURES.exists(), reason="../shared/fixtures not present")


@pytest.mark.parametrize("ds", ["ds002725", "ds002722"])
def test_shipped_structure_is_the_real_metadata(ds):
    """Every subject and music run with EEG in the real sidecars, at its real length, with its trial markers."""
    shipped = load_structure(ds)
    assert shipped == json.loads(json.dumps(extract_structure(FIXTURES / ds, ds)))
    runs_with_eeg = {p.name.removesuffix("_eeg.json") for p in (FIXTURES / ds).glob("sub-*/eeg/*_eeg.json")
                     if ("genMusic" in p.name if ds == "ds002725" else "task-run" in p.name)}
    assert {r["stem"].split("/")[-1] for runs in shipped["subjects"].values() for r in runs} == runs_with_eeg


@pytest.mark.parametrize("ds, subject", [("ds002725", "17"), ("ds002722", "06")])
def test_replica_subject_reads_like_the_real_one(ds, subject, tmp_path):
    """The readers find the same runs and the same trials at the same onsets in the replica as in the real
    metadata (its sidecars with stand-in EDFs), and every trial's clip exists with at least the real length."""
    real = make_reader(ds, ds, standin_dataset(ds, tmp_path / "real"))
    cfg = SynthConfig(out=tmp_path / "replica", styles=(ds,), snr=0.003, realism=Realism(noise_sources=64))
    root = write_replicas(cfg, [subject])[0]
    replica = make_reader(ds, ds, root)
    assert replica.subjects() == [subject]
    real_runs, replica_runs = real.run_files(subject), replica.run_files(subject)
    assert [r.run for r in replica_runs] == [r.run for r in real_runs]
    structure = load_structure(ds)
    for real_file, replica_file in zip(real_runs, replica_runs, strict=True):
        a, b = real.read_run(real_file), replica.read_run(replica_file)
        assert b.raw.n_times == pytest.approx(a.raw.n_times, abs=1)
        assert b.raw.ch_names[: len(b.raw.ch_names)] == a.raw.ch_names[: len(b.raw.ch_names)]
        assert [t.onset_s for t in b.trials] == [t.onset_s for t in a.trials]
        assert [d.reason for d in b.dropped] == [d.reason for d in a.dropped]
        for t in b.trials:
            if t.audio_path is not None:
                assert t.audio_path.exists()
                length = structure["stimuli"][t.audio_path.relative_to(root / "stimuli").as_posix()]
                assert t.audio_path.stat().st_size == pytest.approx(length * 44100 * 4 + 44, abs=4 * 44100 * 0.01)
        eeg = b.raw.get_data(picks="eeg")
        assert np.isfinite(eeg).all() and np.abs(eeg).max() < 5e-3  # volts: no blown-up segment
