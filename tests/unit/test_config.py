"""The science config: the schema refuses unknown keys at every level, and cross-field rules live in one place."""

from __future__ import annotations

import copy

import pytest
import yaml

from eeg2music.config import check_config, drop_switched_off, resolve_study
from eeg2music.errors import InputError
from eeg2music.train.config import merge

from ..conftest import REPO
from ..helpers import quick_start_config

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
CONFIG = quick_start_config(REPO)
DEFAULTS = yaml.safe_load((REPO / "config/config.yaml").read_text())
# The Quick start's study with its add-on (everything it leaves out brought back, floors included).
WITH_ADDON = merge(merge(DEFAULTS, yaml.safe_load((REPO / "config/studies/synthetic.yaml").read_text())),
                   yaml.safe_load((REPO / "config/addons/synthetic-controls.yaml").read_text()))


def changed(path: str, value) -> dict:
    cfg = copy.deepcopy(CONFIG)
    *parents, leaf = path.split(".")
    node = cfg
    for p in parents:
        node = node[p]
    node[leaf] = value
    return cfg


def renamed(path: str, new: str) -> dict:
    cfg = copy.deepcopy(CONFIG)
    *parents, leaf = path.split(".")
    node = cfg
    for p in parents:
        node = node[p]
    node[new] = node.pop(leaf)
    return cfg


@pytest.mark.parametrize("study", sorted((REPO / "config/studies").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_study_passes(study):
    cfg = resolve_study(merge(DEFAULTS, yaml.safe_load(study.read_text())), study)
    assert cfg["study"] == study.stem
    check_config(cfg, SCHEMA)


@pytest.mark.parametrize("addon", sorted((REPO / "config/addons").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_addon_passes_on_its_study(addon):
    """An add-on (config/addons/) names the study it extends and adds to it; together they pass the checks."""
    extra = yaml.safe_load(addon.read_text())
    study = REPO / "config/studies" / f"{extra['study']}.yaml"
    cfg = drop_switched_off(merge(merge(DEFAULTS, yaml.safe_load(study.read_text())), extra))
    assert set(extra["experiments"]) <= set(cfg["experiments"])
    left_out = yaml.safe_load(study.read_text()).get("leave_out", [])
    assert extra.get("leave_out") != [] or set(left_out) <= set(cfg["experiments"])  # brought back as defined
    assert all(cfg["experiments"][e] == DEFAULTS["experiments"][e] for e in left_out if e in cfg["experiments"])
    check_config(cfg, SCHEMA)


def test_the_quick_start_leaves_out_what_its_add_on_brings_back():
    synthetic = yaml.safe_load((REPO / "config/studies/synthetic.yaml").read_text())
    assert synthetic["leave_out"] and not set(synthetic["leave_out"]) & set(CONFIG["experiments"])
    assert {"linear_trf", "bilstm_daly", "eegpt_mel", "eegpt_diffwave", "diffwave_eeg"} <= set(CONFIG["experiments"])
    with pytest.raises(InputError, match="leave_out: 'unet_contrl' is not an experiment of this study"):
        drop_switched_off(merge(DEFAULTS, {"leave_out": ["unet_contrl"]}))


def test_source_features_are_computed_exactly_when_an_experiment_reads_them():
    """The Quick start skips Daly's ICA (nothing in it reads the sources); its add-on brings back the experiment that
    does, and the features with it; an experiment reading sources that preprocessing does not write is refused."""
    assert not CONFIG["preprocess"]["sources"] and "bilstm_daly_sources" not in CONFIG["experiments"]
    assert WITH_ADDON["preprocess"]["sources"] and "bilstm_daly_sources" in WITH_ADDON["experiments"]
    with pytest.raises(InputError, match=r"experiments\.bilstm_daly_sources: reads Daly's source features .* "
                       r"preprocess\.sources is false"):
        check_config(merge(WITH_ADDON, {"preprocess": {"sources": False}}), SCHEMA)


def test_a_study_leaves_an_experiment_out_with_null():
    cfg = drop_switched_off(merge(WITH_ADDON, {"experiments": {"unet_control": None}}))
    assert "unet_control" not in cfg["experiments"] and "bilstm_daly" in cfg["experiments"]
    check_config(cfg, SCHEMA)
    # a model's floors go with it; the other model's stay
    cfg = drop_switched_off(merge(WITH_ADDON, {"experiments": {"diffwave_eeg": None}}))
    floors = {e: x["of"] for e, x in cfg["experiments"].items() if x["kind"] == "prior_only"}
    assert floors and "diffwave_eeg" not in set(floors.values()) and "eegpt_diffwave" in set(floors.values())
    check_config(cfg, SCHEMA)


@pytest.mark.parametrize(("path", "new", "message"), [
    ("experiments", "experimentz", r"\(top level\): unknown key 'experimentz' \(did you mean 'experiments'\?\)"),
    ("preprocess.h_freq", "h_frq", r"preprocess: unknown key 'h_frq' \(did you mean 'h_freq'\?\)"),
    ("splits.folds.cv-by-run", "cv_by_run", r"splits\.folds: unknown key 'cv_by_run'"),
])
def test_a_misspelt_key_is_refused_at_every_level(path, new, message):
    with pytest.raises(InputError, match=message) as err:
        check_config(renamed(path, new), SCHEMA, "config/config.yaml")
    assert "config/config.yaml" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(("path", "value", "message"), [
    ("preprocess.h_freq", 60.0, r"preprocess\.h_freq: 60 Hz is not below the Nyquist frequency \(50 Hz\)"),
    ("splits.folds.leave-subject-out", 50, r"splits\.folds\.leave-subject-out: 50 folds for \d+ subjects"),
    ("splits.folds.cv-by-run", 10, r"splits\.folds\.cv-by-run: 10 folds for \d+ runs per subject"),
    ("evaluate.baseline", "nope", r"evaluate\.baseline: 'nope' is not an experiment"),
    ("learning_curve.experiments", ["nope"], r"learning_curve\.experiments: 'nope' is not an experiment"),
])
def test_cross_field_rules(path, value, message):
    with pytest.raises(InputError, match=message):
        check_config(changed(path, value), SCHEMA)


def test_experiment_kinds_need_their_keys_and_partners():
    cfg = copy.deepcopy(WITH_ADDON)
    name = next(e for e, x in cfg["experiments"].items() if x["kind"] == "train")
    del cfg["experiments"][name]["config"]
    with pytest.raises(InputError, match=rf"experiments\.{name}: kind train needs 'config'"):
        check_config(cfg, SCHEMA)
    cfg = copy.deepcopy(WITH_ADDON)
    chain = next(e for e, x in cfg["experiments"].items() if x["kind"] == "chain")
    cfg["experiments"][chain]["vocoder"] = "linear_trf"
    with pytest.raises(InputError, match=rf"experiments\.{chain}\.vocoder: 'linear_trf' is not another trained"):
        check_config(cfg, SCHEMA)


def test_a_floor_names_a_generative_model_on_its_split():
    """kind prior_only: `of` must be a trained or chained experiment on the same split, pooled; `eeg` a known input."""
    floor = next(e for e, x in WITH_ADDON["experiments"].items() if x["kind"] == "prior_only")
    for changes, message in (({"of": "linear_trf"}, rf"{floor}\.of: 'linear_trf' is not a trained or chained"),
                             ({"split": "leave-subject-out"}, rf"{floor}\.of: .* on the same split"),
                             ({"eeg": "noise"}, rf"experiments\.{floor}\.eeg: 'noise' is not one of")):
        with pytest.raises(InputError, match=message):
            check_config(merge(WITH_ADDON, {"experiments": {floor: changes}}), SCHEMA)
    cfg = copy.deepcopy(WITH_ADDON)
    del cfg["experiments"][floor]["of"]
    with pytest.raises(InputError, match=rf"experiments\.{floor}: kind prior_only needs 'of'"):
        check_config(cfg, SCHEMA)
    cfg = merge(WITH_ADDON, {"experiments": {floor: {"of": "bilstm_daly"}, "bilstm_daly": {"per_participant": True}}})
    with pytest.raises(InputError, match=rf"{floor}\.of: 'bilstm_daly' is trained per participant"):
        check_config(cfg, SCHEMA)


def test_per_participant_training_is_refused_where_it_cannot_work():
    for changes, key in (({"experiments": {"linear_trf": {"per_participant": True}}}, "linear_trf.per_participant"),
                         ({"experiments": {"diffwave_vocoder": {"per_participant": True}}}, "diffwave_eeg.init"),
                         ({"experiments": {"linear_trf": {"per_participant": False}, "bilstm_daly":
                                           {"per_participant": True}},
                           "learning_curve": {"experiments": ["bilstm_daly"]}}, "learning_curve.experiments")):
        with pytest.raises(InputError, match=key.replace(".", r"\.")):
            check_config(merge(CONFIG, changes), SCHEMA)


def test_the_schema_knows_exactly_the_library_protocols():
    from eeg2music.data.splits import PROTOCOLS

    schema = yaml.safe_load(SCHEMA.read_text())
    experiment = schema["properties"]["experiments"]["additionalProperties"]["properties"]
    from eeg2music.data.long_trials import LONG_TRIAL_PROTOCOLS

    every = PROTOCOLS + LONG_TRIAL_PROTOCOLS
    assert tuple(experiment["split"]["enum"]) == every
    assert set(experiment["protocols"]["items"]["enum"]) == set(every)
    assert tuple(schema["properties"]["splits"]["properties"]["folds"]["properties"]) == every


def test_an_nmed_study_owns_its_models_and_protocols_and_expands_them():
    """config/studies/nmed-t.yaml replaces the BCMI experiments and folds instead of merging over them, and each
    model listed with protocols becomes one experiment per protocol, with its partners on the same protocol."""
    study = REPO / "config/studies/synthetic-nmed-t.yaml"
    own = yaml.safe_load(study.read_text())
    cfg = resolve_study(merge(copy.deepcopy(DEFAULTS), own), study)
    check_config(cfg, SCHEMA)
    assert set(cfg["splits"]["folds"]) == set(own["splits"]["folds"])
    assert {name.split("@")[0] for name in cfg["experiments"]} == set(own["experiments"])
    for name, e in own["experiments"].items():
        for protocol in e["protocols"]:
            assert cfg["experiments"][f"{name}@{protocol}"]["split"] == protocol
            assert "protocols" not in cfg["experiments"][f"{name}@{protocol}"]
    expanded = resolve_study(merge(copy.deepcopy(CONFIG), {"experiments": {
        "vocoder": {"kind": "train", "config": "config/train/diffwave_vocoder.yaml", "protocols": ["cv-by-run",
                                                                                                   "predann"]},
        "floor": {"kind": "prior_only", "of": "vocoder", "eeg": "zeros", "protocols": ["cv-by-run", "predann"]}}}),
        study.with_name("synthetic.yaml"))["experiments"]
    assert expanded["floor@predann"]["of"] == "vocoder@predann"
    with pytest.raises(InputError, match="all leaky"):
        resolve_study(merge(copy.deepcopy(CONFIG), {"experiments": {"x": {"kind": "linear", "protocols": [
            "predann", "random-window"]}}}), study)
    with pytest.raises(InputError, match=r"replace: splits\.folds is not set"):
        resolve_study({**copy.deepcopy(CONFIG), "replace": ["splits.folds"]}, study.with_name("synthetic.yaml"))


def test_rehearsal_replaces_each_dataset_with_its_replica_and_keeps_the_rest():
    from eeg2music.config import rehearse

    bcmi = merge(copy.deepcopy(DEFAULTS), yaml.safe_load((REPO / "config/studies/bcmi.yaml").read_text()))
    drop_switched_off(bcmi)
    cfg = rehearse({**copy.deepcopy(bcmi), "rehearse": "true"})  # --config gives the value as text
    check_config(cfg, SCHEMA)
    out = DEFAULTS["rehearsal"]["out"]
    assert cfg["study"] == "bcmi-rehearsal" and cfg["size"] == "rehearsal"
    assert cfg["datasets"] == {name: {"kind": d["kind"], "root": f"{out}/{name}", "synthetic": True}
                               for name, d in bcmi["datasets"].items()}
    assert cfg["synth"]["replica"] is True and cfg["synth"]["snr"] == DEFAULTS["rehearsal"]["snr"]
    for key in ("splits", "experiments", "evaluate", "learning_curve", "preprocess"):
        assert cfg[key] == bcmi[key]
    assert rehearse(copy.deepcopy(bcmi)) == {**bcmi, "rehearse": False}
    with pytest.raises(InputError, match="no replica of ds002724"):
        rehearse({**copy.deepcopy(bcmi), "rehearse": True,
                  "datasets": {"x": {"kind": "ds002724", "root": "data/raw/ds002724"}}})
