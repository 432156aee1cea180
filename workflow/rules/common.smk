# Validation, input functions and targets shared by every stage.
from pathlib import Path

import sys

from eeg2music.config import PROTOCOL_MARK, check_config, check_profile, check_roots, profile_from_argv, resolve_study
from eeg2music.data.audit import HONESTY
from eeg2music.data.long_trials import LONG_TRIAL_PROTOCOLS, PREDANN
from eeg2music.data.splits import PROTOCOLS

# The study's own blocks (replace:), experiments and datasets set to null left out, `protocols: [a, b]` expanded
# into <name>@a and <name>@b, and --config rehearse=true (README, "Rehearse the real study").
resolve_study(config, Path(workflow.basedir) / f"config/studies/{config['study']}.yaml")
# One-line error naming the bad key before anything is scheduled (Snakemake's own validate prints a page).
check_config(config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml",
             " + ".join(str(f) for f in workflow.configfiles) or "config")
check_roots(config, " + ".join(str(f) for f in workflow.configfiles) or "config")
# A site profile with an unfilled "<fill in: …>" value stops here, before any job is submitted.
check_profile(profile_from_argv(sys.argv))

DATASETS = config["datasets"]
STUDY, SIZE = config["study"], config["size"]
PROTOCOL_PATTERN = "|".join(PROTOCOLS + LONG_TRIAL_PROTOCOLS)  # the split protocols, as a wildcard constraint
# Every output of a study lives under its own folder, so that two studies never mix (results, logs).
RESULTS = f"results/{STUDY}"


def res(path):
    """A path under this study's results folder (Snakemake wildcards stay as they are)."""
    return f"{RESULTS}/{path}"


def logs(path):
    return f"logs/{STUDY}/{path}"


def benchmarks(path):
    """Snakemake's per-job timing files, with the study's results (benchmarks/ holds the benchmark scripts)."""
    return f"{RESULTS}/benchmarks/{path}"

SUBJECT_SHEET = Path("config/subjects.tsv")  # optional user sheet: dataset, subject, include


def dataset_root(wildcards):
    """The dataset's root; for synthetic sets it is the synth rule's output, so Snakemake builds it first."""
    return DATASETS[wildcards.dataset]["root"]


def subject_inputs(wildcards):
    """What one subject's preprocessing reads: its recordings, sidecars and the audio its trials play (so replacing
    one reruns exactly the subjects that read it). A synthetic dataset is one folder the synth rule writes."""
    from eeg2music.preprocess.subject import get_input_files

    d = DATASETS[wildcards.dataset]
    if d.get("synthetic"):
        return [d["root"]]
    return [str(p) for p in get_input_files(
        kind=d["kind"], dataset=wildcards.dataset, root=Path(d["root"]), subject=wildcards.subject,
        trial_s=d.get("trial_s"), audio_dir=Path(d["audio_dir"]) if "audio_dir" in d else None)]


def dataset_flags(wildcards):
    """CLI flags common to discover and preprocess, drawn from the validated config."""
    d = DATASETS[wildcards.dataset]
    flags = f"--kind {d['kind']} --dataset {wildcards.dataset} --root {d['root']}"
    if "trial_s" in d:
        flags += f" --trial-s {d['trial_s']}"
    if "audio_dir" in d:
        flags += f" --audio-dir {d['audio_dir']}"
    return flags


def subjects_of(dataset):
    """Subjects to preprocess: the user's sheet where it lists this dataset, else the discover checkpoint's output."""
    from eeg2music.discover import read_subjects, sheet_lists

    if SUBJECT_SHEET.exists() and sheet_lists(SUBJECT_SHEET, dataset):
        return read_subjects(SUBJECT_SHEET, dataset)
    sheet = checkpoints.discover.get(dataset=dataset).output[0]
    return read_subjects(Path(sheet), dataset)


def all_stores(wildcards):
    return [f"{RESULTS}/preprocess/{ds}/sub-{sub}.zarr" for ds in sorted(DATASETS) for sub in subjects_of(ds)]


def subjects_flag(wildcards):
    """`--subjects …` when the config restricts a dataset to some subjects."""
    subs = DATASETS[wildcards.dataset].get("subjects", [])
    return ("--subjects " + " ".join(subs)) if subs else ""


SYNTH_OUT = config.get("synth", {}).get("out", "data/synthetic")
# A synthetic dataset is the folder {synth.out}/<name> (checked with the config); name → its config entry.
SYNTHETIC = {Path(d["root"]).name: d for d in DATASETS.values() if d.get("synthetic")}


def synth_flags(wildcards):
    """`eeg2music synth` flags from config['synth'] with the dataset's own settings on top (a dataset may set
    `synthetic: {snr: …}`): n_subjects → --subjects, trial_s → --trial-s, …"""
    d = SYNTHETIC[wildcards.name]
    settings = {**config.get("synth", {}), **(d["synthetic"] if isinstance(d["synthetic"], dict) else {})}
    return f"--styles {d['kind']} " + " ".join(
        (f"--{key}" if value is True else f"--{key.removeprefix('n_').replace('_', '-')} {value}")
        for key, value in settings.items() if key != "out" and value is not False
    )


def split_folds(wildcards):
    return config["splits"]["folds"][wildcards.protocol]


def split_seed(wildcards):
    """The study's split seed; predann's is the published one (42) unless the study sets another."""
    long = config["splits"].get("long_trials", {})
    return long.get("predann_seed", PREDANN["seed"]) if wildcards.protocol == "predann" else config["splits"]["seed"]


def long_trial_flags(wildcards):
    """Window, lag and guard of the long-trial protocols (what the audit calls adjacent EEG)."""
    if wildcards.protocol not in LONG_TRIAL_PROTOCOLS:
        return ""
    long = config["splits"].get("long_trials", {})
    return " ".join(f"--{k.replace('_', '-')} {long[k]}" for k in ("window_s", "lag_s", "guard_s") if k in long)


def is_leaky(protocol):
    """A protocol the audit calls honest for nothing (predann, random-window): trained with allow_leak, reported
    only beside an honest protocol's results (study page)."""
    return protocol.split("~")[0] not in HONESTY


def split_manifests():
    """Every manifest the config asks for."""
    return [
        f"{RESULTS}/splits/{protocol}/fold-{fold}.json"
        for protocol, n in config["splits"]["folds"].items()
        for fold in range(n)
    ]


EXPERIMENTS = config.get("experiments", {})
TRAINED = [e for e, c in EXPERIMENTS.items() if c["kind"] == "train"] or ["none"]
LINEAR = [e for e, c in EXPERIMENTS.items() if c["kind"] == "linear"] or ["none"]
CHAINED = [e for e, c in EXPERIMENTS.items() if c["kind"] == "chain"] or ["none"]


def decoded_by(exp):
    """The experiment whose trained model(s) decode ``exp``: itself, or the model a prior-only floor is the floor
    of (kind prior_only: the same weights and sampler, EEG replaced; eeg2music.decode.prior_only)."""
    return EXPERIMENTS[exp].get("of", exp)


PREDICTED = [e for e in EXPERIMENTS if EXPERIMENTS[decoded_by(e)]["kind"] == "train"] or ["none"]
CHAIN_DECODED = [e for e in EXPERIMENTS if EXPERIMENTS[decoded_by(e)]["kind"] == "chain"] or ["none"]


def model_of(exp):
    """The model section of a trained experiment's config (None for other kinds)."""
    from eeg2music.train.config import read_values

    e = EXPERIMENTS[exp]
    return read_values(Path(e["config"]))["model"] if e["kind"] == "train" else None


# Rows of the comparison that are not decoders (report: their own table; each model's row says which it beats):
# prior-only floors of their own model, artefact controls of every model, and ceilings (vocoders fed the true mel).
CONTROLS = ({e: c["of"] for e, c in EXPERIMENTS.items() if c["kind"] == "prior_only"}
            | {e: "every-model" for e, c in EXPERIMENTS.items() if c.get("control") == "artefact"}
            | {e: "no-eeg" for e in EXPERIMENTS if (model_of(e) or {}).get("conditioning") == "mel"})


def experiment_protocols(exp):
    """The split protocols an experiment trains on: its split, or with ``per_participant: true`` one per-subject
    split of it for every subject ("cv-by-run~ds002725~sub-01"), so one model is trained per participant and fold."""
    e = EXPERIMENTS[exp]
    if not e.get("per_participant"):
        return [e["split"]]
    return [f"{e['split']}~{ds}~sub-{sub}" for ds in sorted(DATASETS) for sub in subjects_of(ds)]


# A per-participant split ("cv-by-run~ds002725~sub-01"; rules train_participant and subject_split) and any other.
PARTICIPANT = r"[^~/]+~[^~/]+~sub-[^~/]+"
NOT_PARTICIPANT = r"(?![^/]*~sub-)[^/]+"


def experiment_folds(exp):
    return range(config["splits"]["folds"][EXPERIMENTS[exp]["split"]])


def experiment_predictions(wildcards):
    """Every fold's decoded test trials of one experiment (of every participant's model when it is trained per
    participant), pooled by the evaluation."""
    return [f"{RESULTS}/predictions/{wildcards.exp}/{protocol}/fold-{k}.npz"
            for protocol in experiment_protocols(wildcards.exp) for k in experiment_folds(wildcards.exp)]


def train_config(wildcards):
    return EXPERIMENTS[wildcards.exp]["config"]


def train_config_files(wildcards):
    """The experiment's file, the file it builds on and its size overlay: editing any of them retrains."""
    from eeg2music.train.config import config_files

    return [str(p) for p in config_files(Path(train_config(wildcards)), SIZE)]


def _fold_run(name, wildcards):
    """The run directory of experiment ``name`` on this job's protocol and fold."""
    return f"{RESULTS}/train/{name}/{wildcards.protocol}/fold-{wildcards.fold}"


def _init_runs(wildcards):
    """Model parameter → the same fold's run directory of the experiment it starts from (``init:``)."""
    return {param: _fold_run(name, wildcards) for param, name in EXPERIMENTS[wildcards.exp].get("init", {}).items()}


def train_init(wildcards):
    """Input function: the final weights of the runs this experiment starts from (none for most)."""
    return [f"{run}/final.pt" for run in _init_runs(wildcards).values()]


def init_flags(wildcards):
    """`--set` values of a training run: the runs it starts from, and allow_leak on a leaky protocol."""
    runs = _init_runs(wildcards)
    leak = ["data.allow_leak=true"] if is_leaky(wildcards.protocol) else []
    return " ".join([f"model.{param}={run}" for param, run in runs.items()] + leak)


def experiment_metrics():
    return [f"{e}={RESULTS}/evaluate/{e}/metrics.json" for e in sorted(EXPERIMENTS)]


def report_targets():
    if not EXPERIMENTS:
        return []
    return [f"{RESULTS}/report/{e}/index.html" for e in sorted(EXPERIMENTS)] + [res("report/comparison.html")]


def predict_flags(wildcards):
    """Samples per trial and sampler for generative experiments (ignored by deterministic models); a prior-only
    floor decodes with its model's, and says which EEG replaces the recorded one."""
    e = EXPERIMENTS[decoded_by(wildcards.exp)]
    eeg = EXPERIMENTS[wildcards.exp].get("eeg", "as-recorded")
    return f"--samples {e.get('samples', 1)} --steps {e.get('steps', 'fast')} --eeg {eeg}"


# Decoding a trained run's test trials: rule predict, and rule train_participant after training.
PREDICT_COMMAND = "eeg2music predict --run-dir {params.run_dir} --out {output.predictions} {params.flags}"


def predicted_run(wildcards):
    """Input function: the final weights that decode this experiment's fold (a floor's are its model's)."""
    return f"{_fold_run(decoded_by(wildcards.exp), wildcards)}/final.pt"


def control_flags():
    return "--controls " + " ".join(f"{c}={of}" for c, of in CONTROLS.items()) if CONTROLS else ""


def is_waveform(exp):
    """Experiments whose model generates audio (DiffWave): they get a listening step."""
    return (model_of(exp) or {}).get("name") == "diffwave"


def listening_dir(exp):
    return f"{RESULTS}/audio/{exp}/{experiment_protocols(exp)[0]}/fold-0"


def experiment_runs(wildcards):
    """The final weights of every fold's training run (their loss curves go on the report page); none for linear
    and chain experiments."""
    if EXPERIMENTS[wildcards.exp]["kind"] != "train":
        return []
    return [f"{RESULTS}/train/{wildcards.exp}/{protocol}/fold-{k}/final.pt"
            for protocol in experiment_protocols(wildcards.exp) for k in experiment_folds(wildcards.exp)]


def honest_siblings(wildcards):
    """For an experiment on a leaky protocol (<model>@predann), the same model's metrics under the honest protocols:
    its report page shows them beside its own."""
    model, _, protocol = wildcards.exp.partition(PROTOCOL_MARK)
    if not protocol or not is_leaky(protocol):
        return []
    return [f"{RESULTS}/evaluate/{e}/metrics.json" for e in sorted(EXPERIMENTS)
            if e.partition(PROTOCOL_MARK)[0] == model and e.partition(PROTOCOL_MARK)[2]
            and not is_leaky(e.partition(PROTOCOL_MARK)[2])]


def experiment_audio(wildcards):
    """The wav files a report page embeds: the listening step's folder for waveform models (unless ``listen: 0``),
    else nothing."""
    listens = is_waveform(wildcards.exp) and EXPERIMENTS[wildcards.exp].get("listen", 2) > 0
    return [listening_dir(wildcards.exp)] if listens else []


def chain_run(part):
    """Input function: the final weights of a chain experiment's model A (encoder) or B (vocoder) on this fold."""

    def run(wildcards):
        return f"{_fold_run(EXPERIMENTS[decoded_by(wildcards.exp)][part], wildcards)}/final.pt"

    return run


def linear_flags(wildcards):
    e = EXPERIMENTS[wildcards.exp]
    return " ".join(([f"--lowpass-hz {e['lowpass_hz']}"] if e.get("lowpass_hz") else [])
                    + ([f"--channels {e['channels']}"] if e.get("channels") else []))


def torch_launcher(wildcards, resources):
    """One process, or torchrun with one process per GPU when the profile gives the rule several GPUs."""
    gpus = int(resources.get("gpu", 0) or 0)
    from eeg2music.train.slurm import TORCHRUN_SIGNALS

    return (f"torchrun --standalone --nproc_per_node {gpus} --signals-to-handle {TORCHRUN_SIGNALS} -m"
            if gpus > 1 else "python -m")


# -- learning curves (rules/learning.smk) and the study report (rules/study.smk) -----------------------------------
# With no experiments configured (a data-only run) there is nothing to retrain, so the block is ignored.
LEARNING = config.get("learning_curve", {}) if EXPERIMENTS else {}


def learning_split(exp, fraction):
    return f"{EXPERIMENTS[exp]['split']}~train{fraction:g}"


def learning_folds(exp):
    return range(config["splits"]["folds"][EXPERIMENTS[exp]["split"]])


def fraction_predictions(wildcards):
    protocol = learning_split(wildcards.exp, float(wildcards.fraction))
    return [f"{RESULTS}/predictions/{wildcards.exp}/{protocol}/fold-{k}.npz" for k in learning_folds(wildcards.exp)]


def curve_files(exp):
    """Per point of an experiment's learning curve: (fraction, its metrics.json, its fold manifests); the
    experiment's own evaluation on the full split is the 100 % point."""
    folds = learning_folds(exp)

    def manifests(split):
        return [f"{RESULTS}/splits/{split}/fold-{k}.json" for k in folds]

    points = [(f"{f:g}", f"{RESULTS}/learning/{exp}/train{f:g}/metrics.json", manifests(learning_split(exp, f)))
              for f in LEARNING["fractions"]]
    return points + [("1", f"{RESULTS}/evaluate/{exp}/metrics.json", manifests(EXPERIMENTS[exp]["split"]))]


def curve_points(wildcards):
    """`--point FRACTION METRICS MANIFEST…` for every point."""
    return " ".join(f"--point {f} {m} {' '.join(ms)}" for f, m, ms in curve_files(wildcards.exp))


def curve_inputs(wildcards):
    return [path for _, m, ms in curve_files(wildcards.exp) for path in (m, *ms)]


def learning_target():
    if "target_hours" in LEARNING:
        return f"--target-hours {LEARNING['target_hours']}"
    return "--target-datasets " + " ".join(LEARNING.get("target_datasets", ["ds002725"]))


def learning_targets():
    return [f"{RESULTS}/learning/{e}/curve.png" for e in LEARNING.get("experiments", [])]


def study_inputs(wildcards):
    inputs = [res("summary/summary.tsv"), res("summary/qc.tsv"), res("summary/psd.png"),
              res("summary/trial.png")]
    inputs += [f"{RESULTS}/evaluate/{e}/metrics.json" for e in sorted(EXPERIMENTS)]
    inputs += report_targets()  # the per-experiment pages the study links to
    if config.get("budget", {}).get("configs"):
        inputs += [res("budget/budget.tsv"), res("budget/budget.json"), res("budget/budget.png")]
    return inputs + [f"{RESULTS}/learning/{e}/curve.json" for e in LEARNING.get("experiments", [])]
