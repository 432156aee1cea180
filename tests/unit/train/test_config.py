"""One definition per experiment: CPU overlays change only sizes, variants only what differs, and a model started
from another run takes that run's architecture from the config saved in it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from eeg2music.errors import InputError
from eeg2music.train.config import SIZE_KEYS, SIZES, config_files, leaves, load_config, read_overlay, read_values

from ...conftest import REPO
from ...helpers import quick_start_config

TRAIN = REPO / "config/train"
OVERLAYS = sorted([*(TRAIN / "cpu").glob("*.yaml"), *(TRAIN / "rehearsal").glob("*.yaml")])


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_each_size_overlay_changes_only_sizes(overlay):
    """Every key an overlay sets is a size, and the config at its size equals the full one everywhere else (a
    variant's CPU size is its base's overlay and then its own: bilstm_daly_nmed, eegpt_mel_nmed; the rehearsal's is
    the CPU overlays and then the rehearsal's)."""
    size = overlay.parent.name
    changed = leaves(read_overlay(overlay))
    assert changed and set(changed) <= SIZE_KEYS
    overlays = [f for f in config_files(TRAIN / overlay.name, size) if f.parent.name in SIZES[size]]
    assert overlays[-1] == overlay
    shrunk = {k for f in overlays for k in leaves(read_overlay(f))}
    full = leaves(load_config(TRAIN / overlay.name).to_dict())
    small = leaves(load_config(TRAIN / overlay.name, size=size).to_dict())
    differs = {k for k in full.keys() | small.keys() if full.get(k) != small.get(k)}
    assert differs - {"size"} <= shrunk, differs - shrunk


def test_the_rehearsal_size_is_the_cpu_size_then_its_own_overlay(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "rehearsal").mkdir()
    (tmp_path / "exp.yaml").write_text((TRAIN / "bilstm_daly.yaml").read_text())
    (tmp_path / "cpu/exp.yaml").write_text("shrinks: ../exp.yaml\nmodel: {hidden: 32, layers: 2}\nmax_steps: 300\n")
    (tmp_path / "rehearsal/exp.yaml").write_text("shrinks: ../exp.yaml\nmodel: {hidden: 8}\n")
    cfg = load_config(tmp_path / "exp.yaml", size="rehearsal")
    assert (cfg.model["hidden"], cfg.model["layers"], cfg.max_steps, cfg.size) == (8, 2, 300, "rehearsal")
    assert load_config(tmp_path / "exp.yaml", size="cpu").model["hidden"] == 32
    assert load_config(tmp_path / "rehearsal/exp.yaml").model["hidden"] == 8  # named directly: read at its size
    assert [f.relative_to(tmp_path).as_posix() for f in config_files(tmp_path / "exp.yaml", "rehearsal")] == [
        "exp.yaml", "cpu/exp.yaml", "rehearsal/exp.yaml"]
    with pytest.raises(InputError, match="unknown size 'gpu'"):
        load_config(tmp_path / "exp.yaml", size="gpu")


def test_an_overlay_that_changes_anything_else_is_refused(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "exp.yaml").write_text((TRAIN / "bilstm_daly.yaml").read_text())
    (tmp_path / "cpu/exp.yaml").write_text("shrinks: ../exp.yaml\nmodel: {hidden: 8, dropout: 0.5}\n")
    with pytest.raises(InputError) as err:
        load_config(tmp_path / "exp.yaml", size="cpu")
    line = err.value.one_line()
    assert "cpu/exp.yaml" in line and "changes model.dropout, which is not a size" in line


def test_every_trained_experiment_of_the_quick_start_has_a_cpu_size():
    cfg = quick_start_config(REPO)
    for name, exp in cfg["experiments"].items():
        if exp["kind"] == "train":
            files = config_files(REPO / exp["config"], "cpu")
            assert any(f.parent.name == "cpu" for f in files), name


def test_a_variant_sets_only_what_differs_from_its_base():
    for path in TRAIN.glob("*.yaml"):
        own = yaml.safe_load(path.read_text())
        if "base" not in own:
            continue
        base = leaves(read_values(path.parent / own["base"]))
        mine = leaves({k: v for k, v in own.items() if k != "base"})
        assert all(base.get(k) != v for k, v in mine.items()), path.name


def test_experiments_started_from_a_run_do_not_repeat_its_architecture():
    """diffwave_eeg's network is its vocoder's; the joint model's encoder is model A's."""
    cfg = quick_start_config(REPO)
    started = {**cfg["experiments"], "eegpt_diffwave_joint": {"config": "config/train/eegpt_diffwave_joint.yaml",
                                                               "init": {"init_from": "eegpt_mel"}}}
    for name, exp in started.items():
        for param in exp.get("init", {}):
            model = read_values(REPO / exp["config"], "cpu")["model"]
            if param == "vocoder_from":
                assert not {"layers", "channels", "cycle", "cond_dim", "audio_gain"} & set(model), name
            else:
                assert set(model["eegpt"]) <= {"finetune", "last_k"}, name


def saved_run(tmp_path: Path, config: Path, size: str) -> Path:
    run = tmp_path / "vocoder"
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump(load_config(config, size=size).to_dict()))
    return run


@pytest.mark.parametrize("size", ["cpu", "full"])
def test_diffwave_on_eeg_takes_the_vocoder_runs_network(tmp_path, size):
    run = saved_run(tmp_path, TRAIN / "diffwave_vocoder.yaml", size)
    vocoder = load_config(TRAIN / "diffwave_vocoder.yaml", size=size)
    eeg = load_config(TRAIN / "diffwave_eeg.yaml", {"model.vocoder_from": str(run)}, size=size)
    for key in ("layers", "channels", "cycle", "audio_gain"):
        assert eeg.model[key] == vocoder.model[key]
    assert eeg.model.get("cond_dim") == vocoder.model.get("cond_dim")
    assert eeg.data.audio_rate == vocoder.data.audio_rate


def test_a_conflicting_architecture_is_refused_naming_the_run(tmp_path):
    run = saved_run(tmp_path, TRAIN / "diffwave_vocoder.yaml", "cpu")
    with pytest.raises(InputError) as err:
        load_config(TRAIN / "diffwave_eeg.yaml", {"model.vocoder_from": str(run), "model.layers": 30}, size="cpu")
    assert "model.layers = 30, but the run it starts from" in err.value.one_line() and "has 6" in err.value.one_line()
