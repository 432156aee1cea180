"""Split protocols and the leakage audit on store descriptions (no files needed)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from eeg2music.data.audit import LeakError, audit, check_split
from eeg2music.data.splits import Entry, Manifest, make_split
from eeg2music.data.stores import StoreInfo
from eeg2music.errors import InputError


def fake_stores(n_subjects=6, n_runs=3, n_trials=4, n_clips=10, datasets=("a", "b")) -> list[StoreInfo]:
    stores, k = [], 0
    for ds in datasets:
        for s in range(n_subjects):
            trials = []
            for r in range(n_runs):
                for _t in range(n_trials):
                    trials.append({"run": f"run{r + 1}", "clip_id": f"clip{k % n_clips}.wav", "audio_status": "ok"})
                    k += 1
            stores.append(StoreInfo(f"/x/{ds}/sub-{s:02d}.zarr", ds, f"{s:02d}", ("Cz",), (256,), 16000, 100, 100,
                                    20.0, tuple(trials), (), ("eeg/256",)))
    return stores


def keyset(entries, part, *fields):
    return {tuple(getattr(e, f) for f in fields) for e in entries if e.part == part}


@pytest.mark.parametrize(("protocol", "kwargs"), [("random-trial", {}), ("cv-by-run", {"fold": 1}),
                                                  ("leave-clip-out", {}), ("leave-subject-out", {"fold": 2})])
def test_deterministic_for_a_seed_and_honest_for_its_protocol(protocol, kwargs):
    stores = fake_stores()
    a = make_split(stores, protocol, seed=7, **kwargs)
    b = make_split(stores, protocol, seed=7, **kwargs)
    c = make_split(stores, protocol, seed=8, **kwargs)
    assert a.entries == b.entries
    if protocol != "cv-by-run":  # fold 1 of cv-by-run is fixed by run index; only its val carve-out varies
        assert a.entries != c.entries
    parts = {e.part for e in a.entries}
    assert parts == {"train", "val", "test"}
    assert len(a.entries) == sum(len(s.trials) for s in stores)  # every trial exactly once
    assert len({(e.store, e.trial) for e in a.entries}) == len(a.entries)
    report = audit(a)
    assert protocol in report["honest_for"] and not report["leaks_trials"]


def test_each_protocol_keeps_its_promise():
    stores = fake_stores()
    cv = make_split(stores, "cv-by-run", fold=0).entries
    assert not keyset(cv, "train", "dataset", "subject", "run") & keyset(cv, "test", "dataset", "subject", "run")
    assert keyset(cv, "test", "run") == {("run1",)}  # fold 0 = first run of every subject
    clips = make_split(stores, "leave-clip-out").entries
    assert not keyset(clips, "train", "clip") & keyset(clips, "test", "clip")
    assert not keyset(clips, "train", "clip") & keyset(clips, "val", "clip")
    subs = make_split(stores, "leave-subject-out", fold=0).entries
    assert not keyset(subs, "train", "dataset", "subject") & keyset(subs, "test", "dataset", "subject")
    assert len(keyset(subs, "test", "dataset", "subject")) == 3  # 12 subjects in 4 folds
    rnd = make_split(stores, "random-trial").entries
    for s in stores:  # every subject contributes to every part
        assert {e.part for e in rnd if e.store == s.path} == {"train", "val", "test"}


def test_audit_catches_windows_drawn_from_the_same_trials(tmp_path):
    """The classic leak: random windows of every trial scattered over train and test."""
    stores = fake_stores(n_subjects=2)
    honest = make_split(stores, "random-trial")
    leaky = []
    for e in honest.entries:
        for k, part in enumerate(("train", "train", "test", "train", "val")):
            leaky.append(Entry(part, e.store, e.dataset, e.subject, e.run, e.trial, e.clip, e.audio_status,
                               k * 4.0, k * 4.0 + 6.0))  # 6 s windows, 4 s hop: neighbours overlap
    report = audit(Manifest("random-trial", {}, leaky))
    assert report["leaks_trials"] and report["honest_for"] == []
    assert report["shared"]["train/test"]["trials"] == len(honest.entries)
    assert report["shared"]["train/test"]["overlapping_windows"] > 0
    assert not report["declared_protocol_honest"]


def test_training_refuses_a_leaky_manifest_unless_allowed(tmp_path):
    stores = [replace(s, path=str(tmp_path / s.dataset / f"sub-{s.subject}.zarr")) for s in fake_stores(2)]
    for s in stores:
        Path(s.path).mkdir(parents=True)  # Manifest.load checks that the stores exist
    e = make_split(stores, "random-trial").entries
    leaky = Manifest("random-trial", {}, [*e, *[replace(x, part="test") for x in e if x.part == "train"][:3]])
    path = leaky.save(tmp_path / "leaky.json")
    with pytest.raises(LeakError) as err:
        check_split(path)
    assert "leaky.json" in str(err.value) and "allow_leak" in str(err.value) and "\n" not in str(err.value)
    assert check_split(path, allow_leak=True)["leaks_trials"]
    honest = make_split(stores, "random-trial").save(tmp_path / "honest.json")
    assert check_split(honest)["honest_for"][0] == "random-trial"


def test_cv_by_run_needs_enough_runs():
    with pytest.raises(InputError, match="needs 3"):
        make_split(fake_stores(n_runs=2), "cv-by-run")


def test_manifest_naming_a_missing_store_is_refused(tmp_path):
    path = make_split(fake_stores(n_subjects=1), "random-trial").save(tmp_path / "m.json")
    with pytest.raises(InputError, match="does not exist") as err:
        Manifest.load(path)
    assert "/x/a/sub-00.zarr" in str(err.value) and "m.json" in str(err.value)


def test_too_many_folds_name_the_config_key_to_change():
    with pytest.raises(InputError, match=r"2 subjects cannot make 4 folds; lower splits\.folds\.leave-subject-out"):
        make_split(fake_stores(n_subjects=1), "leave-subject-out", fold=0, n_folds=4)
    with pytest.raises(InputError, match=r"has 2 runs, 3-fold CV by run needs 3; lower splits\.folds\.cv-by-run"):
        make_split(fake_stores(n_runs=2), "cv-by-run", fold=0, n_folds=3)


def test_a_subject_split_keeps_that_subjects_train_val_and_test():
    """Per-participant decoders: one subject's part of a fold, with the fold's test trials unchanged."""
    from eeg2music.data.subject_split import for_subject

    full = make_split(fake_stores(), "cv-by-run", fold=1)
    mine = for_subject(full, "b", "03")
    assert mine.entries == [e for e in full.entries if (e.dataset, e.subject) == ("b", "03")]
    assert {e.part for e in mine.entries} == {"train", "val", "test"}
    assert mine.params["subject"] == {"dataset": "b", "subject": "03"}
    with pytest.raises(InputError, match="b/sub-99 has no train trials"):
        for_subject(full, "b", "99")
