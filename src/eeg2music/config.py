"""Validate the science configuration against its JSON schema, and a site profile for unfilled placeholders,
reporting the first problem as one line."""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from eeg2music.errors import InputError


def drop_switched_off(config: dict[str, Any]) -> dict[str, Any]:
    """Remove the experiments and datasets a study sets to null (``experiments: {unet_control: null}``) and the
    experiments it names under ``leave_out:``: Snakemake merges a study over the defaults key by key, so null is how
    a study leaves one out, and ``leave_out`` is how a study (the Quick start) leaves several out so that a later
    ``--configfile`` (an add-on setting ``leave_out: []``) brings them back as defined. A floor (kind prior_only)
    goes with the model it is the floor of."""
    for block in ("experiments", "datasets"):
        if isinstance(config.get(block), dict):
            config[block] = {name: value for name, value in config[block].items() if value is not None}
    experiments = config.get("experiments")
    if isinstance(experiments, dict):
        unknown = [name for name in config.get("leave_out") or [] if name not in experiments]
        if unknown:
            raise InputError(None, f"leave_out: {unknown[0]!r} is not an experiment of this study",
                             f"use one of {', '.join(experiments)}")
        experiments = {name: e for name, e in experiments.items() if name not in (config.get("leave_out") or [])}
        orphan = [name for name, e in experiments.items()
                  if isinstance(e, dict) and e.get("kind") == "prior_only" and e.get("of") not in experiments]
        config["experiments"] = {name: e for name, e in experiments.items() if name not in orphan}
    return config


def resolve_study(config: dict[str, Any], study_file: Path) -> dict[str, Any]:
    """The configuration the workflow runs, from the defaults merged with the study's file: the study's own blocks
    (``replace:``), experiments and datasets set to null or listed in ``leave_out`` left out, ``protocols:`` lists
    expanded, and
    ``rehearse=true`` applied."""
    return rehearse(expand_protocols(drop_switched_off(study_owns(config, study_file))))


def study_owns(config: dict[str, Any], study_file: Path) -> dict[str, Any]:
    """The blocks a study lists under ``replace:`` (dotted keys, e.g. ``experiments``, ``splits.folds``) are the
    study's own, taken as written in its file instead of merged over the defaults. Snakemake merges a study key by
    key, which suits a variant of the default data family (bcmi) but not another family (NMED-T), whose models and
    protocols are its own."""
    keys = config.get("replace") or []
    if not keys:
        return config
    own = yaml.safe_load(Path(study_file).read_text()) or {}
    for dotted in keys:
        *parents, last = dotted.split(".")
        source, target = own, config
        for k in parents:
            source, target = source.get(k, {}), target.setdefault(k, {})
        if last not in source:
            raise InputError(study_file, f"replace: {dotted} is not set in the study",
                             f"set {dotted} in {Path(study_file).name}, or remove it from replace")
        target[last] = source[last]
    return config


PROTOCOL_MARK = "@"  # linear_trf@time-block: one experiment of a `protocols:` list


def expand_protocols(config: dict[str, Any]) -> dict[str, Any]:
    """An experiment with ``protocols: [time-block, predann, …]`` becomes one experiment per protocol,
    ``<name>@<protocol>`` with that ``split``, so that every model is trained, decoded and scored under each
    protocol the same way, and the study page can set them side by side. The experiments it names (``of``,
    ``encoder``, ``vocoder``, ``init``) are taken on the same protocol."""
    experiments = config.get("experiments")
    if not isinstance(experiments, dict):
        return config
    from eeg2music.data.audit import HONESTY

    listed = {name: e["protocols"] for name, e in experiments.items() if isinstance(e, dict) and "protocols" in e}
    if not listed:
        return config
    for name, protocols in listed.items():
        if not any(p in HONESTY for p in protocols):
            raise InputError(None, f"experiments.{name}.protocols: {protocols} are all leaky (the audit calls them "
                             "honest for nothing)", "add an honest protocol (time-block, leave-song-out): a leaky "
                             "protocol's results are never shown without an honest one's beside them")

    def partner(other: str, protocol: str) -> str:
        return f"{other}{PROTOCOL_MARK}{protocol}" if other in listed else other

    out = {}
    for name, e in experiments.items():
        if name not in listed:
            out[name] = e
            continue
        for protocol in listed[name]:
            x = {k: v for k, v in e.items() if k != "protocols"} | {"split": protocol}
            for key in ("of", "encoder", "vocoder"):
                if key in x:
                    x[key] = partner(x[key], protocol)
            if "init" in x:
                x["init"] = {param: partner(other, protocol) for param, other in x["init"].items()}
            out[f"{name}{PROTOCOL_MARK}{protocol}"] = x
    config["experiments"] = out
    return config


def rehearse(config: dict[str, Any]) -> dict[str, Any]:
    """``--config rehearse=true``: the study as configured, with each dataset replaced by its replica (every
    subject, run, channel and trial marker of the real one; EEG from the forward model at the difficulty in
    ``rehearsal``) and the models at the rehearsal's size (the CPU size, a few models smaller still), under
    results/<study>-rehearsal/. Splits, protocols, permutations, learning curves and reports stay exactly as the
    study sets them."""
    config["rehearse"] = str(config.get("rehearse", False)).lower() in ("true", "1", "yes")  # --config gives text
    if not config["rehearse"]:
        return config
    from eeg2music.synth.replica import REPLICA_STYLES as REPLICA_KINDS

    r = config["rehearsal"]
    for name, d in config["datasets"].items():
        if d["kind"] not in REPLICA_KINDS:
            _fail("--config rehearse=true", f"datasets.{name}", f"there is no replica of {d['kind']}",
                  f"rehearse a study of {' and '.join(REPLICA_KINDS)} (config/studies/bcmi.yaml)")
    config["study"] = f"{config['study']}-rehearsal"
    config["size"] = "rehearsal"
    config["synth"] = {**{k: v for k, v in r.items() if k != "cluster_profile"}, "replica": True}
    config["datasets"] = {name: {**{k: v for k, v in d.items() if k not in ("root", "synthetic")},
                                 "root": f"{r['out']}/{name}", "synthetic": True}
                          for name, d in config["datasets"].items()}
    return config


def check_config(config: dict[str, Any], schema_path: Path, source: str = "config/config.yaml") -> None:
    """Raise :class:`InputError` naming the offending key, its value and the rule it breaks: first the schema
    (types, ranges, unknown keys at every level), then the checks that relate several fields (``cross_check``)."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        key = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        message = err.message
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            known = list(err.schema.get("properties", {}))
            unknown = [k for k in err.instance if k not in known]
            close = difflib.get_close_matches(unknown[0], known, n=1) if unknown and known else []
            message = f"unknown key {unknown[0]!r}" + (f" (did you mean {close[0]!r}?)" if close else "") \
                if unknown else message
        raise InputError(source, f"{key}: {message}{more}", f"fix it; {Path(schema_path).name} describes every field")
    cross_check(config, source)


def _fail(source: str, key: str, problem: str, fix: str) -> None:
    raise InputError(source, f"{key}: {problem}", fix)


def cross_check(config: dict[str, Any], source: str = "config/config.yaml") -> None:
    """Every rule that relates two fields, in one place (the schema checks fields one at a time)."""
    pre = config["preprocess"]
    nyquist = min(pre["rates"]) / 2
    if pre["h_freq"] >= nyquist:
        _fail(source, "preprocess.h_freq", f"{pre['h_freq']:g} Hz is not below the Nyquist frequency "
              f"({nyquist:g} Hz) of the lowest rate in preprocess.rates", "lower h_freq or raise the rates")
    if pre["l_freq"] >= pre["h_freq"]:
        _fail(source, "preprocess.l_freq", f"{pre['l_freq']:g} Hz is not below h_freq ({pre['h_freq']:g} Hz)",
              "make l_freq < h_freq")
    synth = config.get("synth", {})
    synthetic = [d for d in config["datasets"].values() if d.get("synthetic")]
    if synth and not synth.get("replica") and synthetic and len(synthetic) == len(config["datasets"]):
        # subject and run counts known
        n_subjects = synth["n_subjects"] * len(synthetic)
        folds = config["splits"]["folds"]
        if folds.get("leave-subject-out", 0) > n_subjects:
            _fail(source, "splits.folds.leave-subject-out", f"{folds['leave-subject-out']} folds for "
                  f"{n_subjects} subjects", "use at most one fold per subject")
        if folds.get("cv-by-run", 0) > synth["n_runs"]:
            _fail(source, "splits.folds.cv-by-run", f"{folds['cv-by-run']} folds for {synth['n_runs']} runs per "
                  "subject", "use at most one fold per run (synth.n_runs)")
    experiments = config.get("experiments", {})
    for name, exp in experiments.items():
        needs = {"train": ("config",), "chain": ("encoder", "vocoder"), "linear": (),
                 "prior_only": ("of", "eeg")}[exp["kind"]]
        for key in needs:
            if key not in exp:
                _fail(source, f"experiments.{name}", f"kind {exp['kind']} needs {key!r}",
                      f"add {key}: (see the other {exp['kind']} experiments)")
        if exp.get("per_participant") and exp["kind"] != "train":
            _fail(source, f"experiments.{name}.per_participant", f"kind {exp['kind']} is not trained",
                  "use it with kind: train (the linear model is already fitted per subject)")
        partners = [(k, exp[k]) for k in ("encoder", "vocoder") if exp["kind"] == "chain"]
        partners += [(f"init.{param}", other) for param, other in exp.get("init", {}).items()]
        for key, other in partners:
            partner = experiments.get(other, {})
            if other == name or partner.get("kind") != "train" or partner.get("split") != exp["split"]:
                _fail(source, f"experiments.{name}.{key}", f"{other!r} is not another trained experiment on the "
                      "same split", "name one of the kind: train experiments")
            if bool(partner.get("per_participant")) != bool(exp.get("per_participant")):
                _fail(source, f"experiments.{name}.{key}", f"{other!r} is trained per participant and {name!r} is "
                      "not, or the other way round", "give both the same per_participant")
        if exp["kind"] == "prior_only":
            model = experiments.get(exp["of"], {})
            if model.get("kind") not in ("train", "chain") or model.get("split") != exp["split"]:
                _fail(source, f"experiments.{name}.of", f"{exp['of']!r} is not a trained or chained experiment on "
                      "the same split", "name the generative experiment this is the floor of, with its split")
            if model.get("per_participant"):
                _fail(source, f"experiments.{name}.of", f"{exp['of']!r} is trained per participant",
                      "give prior-only floors to the pooled generative experiments")
    if not pre.get("sources"):
        for name in _reading_sources(experiments):
            _fail(source, f"experiments.{name}", "reads Daly's source features (data.eeg_array: sources) and "
                  "preprocess.sources is false", "set preprocess.sources: true, or leave the experiment out")
    if experiments:
        baseline = config.get("evaluate", {}).get("baseline")
        if baseline is not None and baseline not in experiments:
            _fail(source, "evaluate.baseline", f"{baseline!r} is not an experiment",
                  f"use one of {', '.join(sorted(experiments))}")
        for name in config.get("learning_curve", {}).get("experiments", []):
            if name not in experiments:
                _fail(source, "learning_curve.experiments", f"{name!r} is not an experiment",
                      f"use one of {', '.join(sorted(experiments))}")
            if experiments[name].get("per_participant"):
                _fail(source, "learning_curve.experiments", f"{name!r} is trained per participant",
                      "list a pooled experiment (learning curves subsample the pooled training part)")


def _reading_sources(experiments: dict[str, Any]) -> list[str]:
    """The trained experiments whose training config reads the source-space features instead of the EEG (a config
    file not there yet is the train rule's missing input, reported by Snakemake)."""
    from eeg2music.train.config import read_values

    return [name for name, exp in experiments.items() if exp["kind"] == "train" and Path(exp["config"]).exists()
            and read_values(Path(exp["config"])).get("data", {}).get("eeg_array") == "sources"]


def check_roots(config: dict[str, Any], source: str = "config/config.yaml") -> None:
    """Every dataset that is not generated by the workflow must be on disk (else finished results would stand
    unchecked against data that is gone)."""
    synth_out = Path(config.get("synth", {}).get("out", "data/synthetic"))
    for name, d in config["datasets"].items():
        if d.get("synthetic") and Path(d["root"]).parent != synth_out:
            raise InputError(source, f"datasets.{name}.root: {d['root']} is synthetic but not directly under "
                                     f"synth.out ({synth_out})", f"set its root to {synth_out / Path(d['root']).name}")
        if not d.get("synthetic") and not Path(d["root"]).is_dir():
            raise InputError(source, f"datasets.{name}.root: {d['root']} does not exist",
                             f"run `eeg2music fetch {d['kind']}` or fix the root")


PLACEHOLDER = re.compile(r"<fill in[^>]*>")


def profile_from_argv(argv: list[str]) -> Path | None:
    """The profile folder Snakemake was started with (``--profile X`` / ``--profile=X`` / $SNAKEMAKE_PROFILE)."""
    for i, arg in enumerate(argv):
        if arg == "--profile" and i + 1 < len(argv):
            return Path(argv[i + 1])
        if arg.startswith("--profile="):
            return Path(arg.split("=", 1)[1])
    env = os.environ.get("SNAKEMAKE_PROFILE")
    return Path(env) if env else None


def check_profile(profile: Path | None) -> None:
    """Refuse a site profile that still holds a ``<fill in: …>`` placeholder, naming the key."""
    if profile is None:
        return
    path = profile / "config.yaml" if profile.is_dir() else profile
    if not path.exists():
        return
    values = yaml.safe_load(path.read_text()) or {}

    def walk(node: Any, key: str) -> str | None:
        if isinstance(node, dict):
            for k, v in node.items():
                found = walk(v, f"{key}.{k}" if key else str(k))
                if found:
                    return found
        elif isinstance(node, str) and PLACEHOLDER.search(node):
            return f"{key} = {node!r}"
        return None

    found = walk(values, "")
    if found:
        raise InputError(path, f"unfilled placeholder {found}", "fill it in (see README, Running on WCSS)")
