"""Shared fixtures: a small synthetic study generated from the real OpenNeuro sidecars in ../shared/fixtures."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from eeg2music.synth.study import TEMPLATES, SynthConfig, write_study

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EEG2MUSIC_SHARED", REPO.parent / "shared"))
FIXTURES = SHARED / "fixtures" / "openneuro"
# One real run per style: where its sidecars sit in the fixtures.
FIXTURE_RUNS = {
    "ds002725": "sub-01/eeg/sub-01_task-genMusic01_",
    "ds002722": "sub-01/eeg/sub-01_task-run2_",
    "ds002724": "sub-08/ses-3/eeg/sub-08_ses-3_task-run1_",
}
SMALL = {"n_subjects": 2, "n_runs": 2, "n_trials": 2, "trial_s": 8.0, "n_clips": 4}


def fixture_templates(dest: Path) -> Path:
    """Template folder built straight from the real fixture sidecars (falls back to the packaged copies)."""
    for style, prefix in FIXTURE_RUNS.items():
        out = dest / style
        out.mkdir(parents=True, exist_ok=True)
        for name in ("channels.tsv", "eeg.json", "events.json"):
            src = FIXTURES / style / (prefix + name)
            shutil.copy(src if src.exists() else TEMPLATES / style / name, out / name)
        src = FIXTURES / style / "dataset_description.json"
        shutil.copy(src if src.exists() else TEMPLATES / style / "dataset_description.json",
                    out / "dataset_description.json")
    return dest


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (the CI runs two workers on its two cores) each worker and every process it starts
    (Snakemake's jobs, SLURM's, torchrun's) compute on one thread: two workers' torch thread pools of two threads
    each spin against each other on two cores (a 400-step tiny training under SLURM took minutes instead of
    seconds)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch
        from threadpoolctl import threadpool_limits

        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = "1"
        torch.set_num_threads(1)
        threadpool_limits(1)


# The CI runs two pytest-xdist workers (pyproject.toml), a file at a time, in this order (--no-loadscope-reorder:
# xdist would send the files with the most tests first). The longest files (minutes each) start first, so that the
# two workers end together instead of one of them running the full workflow alone at the end.
LONG_FILES = ("tests/workflow/test_full_workflow.py", "tests/slurm/test_slurm.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def first(item: pytest.Item) -> int:
        path = item.path.relative_to(REPO).as_posix()
        return LONG_FILES.index(path) if path in LONG_FILES else len(LONG_FILES)

    items.sort(key=first)  # stable: the rest keep their order


@pytest.fixture(scope="session")
def templates(tmp_path_factory) -> Path:
    return fixture_templates(tmp_path_factory.mktemp("templates"))


@pytest.fixture(scope="session")
def study(tmp_path_factory, templates) -> Path:
    """Read-only small study of all three styles (tests that modify files copy a dataset first)."""
    out = tmp_path_factory.mktemp("study")
    write_study(SynthConfig(out=out, styles=("ds002725", "ds002722", "ds002724"), template_dir=templates, **SMALL))
    return out


@pytest.fixture
def study_copy(study, tmp_path) -> Path:
    """A writable copy of the study, for tests that damage files."""
    dest = tmp_path / "study"
    shutil.copytree(study, dest)
    return dest


PRE = {"l_freq": 0.5, "h_freq": 40.0, "line_freq": 50.0, "rates": [256, 100], "bad_z": 5.0, "flat_uv": 0.1,
       "max_bad_fraction": 0.25, "audio_rate": 16000, "envelope_rate": 100, "mel_rate": 100, "n_mels": 40,
       "audio_tolerance_s": 0.5}
PRE_ARGS = ["--preprocess", json.dumps(PRE)]


def _pre_cfg():
    from eeg2music.preprocess.subject import build_parser, config_from_args

    args = build_parser().parse_args(["--kind", "x", "--dataset", "x", "--root", ".", "--subject", "01", "--out",
                                      "x", *PRE_ARGS])
    return config_from_args(args)


@pytest.fixture
def pre_cfg():
    return _pre_cfg()


@pytest.fixture(scope="session")
def pre_cfg_module():
    """The preprocessing settings, for module- and session-scoped fixtures that build studies."""
    return _pre_cfg()
