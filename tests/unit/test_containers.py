"""The Apptainer recipe and the site profiles, validated here (Apptainer cannot run on these machines)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from eeg2music.config import check_profile
from eeg2music.errors import InputError

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "containers/eeg2music.def"


def sections(text: str) -> dict[str, str]:
    parts = re.split(r"^%(\w+)\s*$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def test_recipe_has_a_cuda_base_and_every_section():
    text = RECIPE.read_text()
    header = text.split("%", 1)[0]
    assert re.search(r"^Bootstrap: docker$", header, re.M)
    assert re.search(r"^From: nvidia/cuda:13\.\d+\.\d+-cudnn-runtime-ubuntu\d+\.\d+$", header, re.M)
    assert {"labels", "files", "post", "environment", "runscript", "test"} <= set(sections(text))


def test_recipe_installs_every_pinned_dependency_and_the_project():
    s = sections(RECIPE.read_text())
    assert "requirements.lock.txt /opt/eeg2music/requirements.lock.txt" in s["files"]
    assert "pip install --no-cache-dir -r /opt/eeg2music/requirements.lock.txt" in s["post"]
    assert "src /opt/eeg2music/src" in s["files"] and "--no-deps /opt/eeg2music" in s["post"]
    lock = {ln.split("==")[0].lower() for ln in (REPO / "requirements.lock.txt").read_text().splitlines() if "==" in ln}
    pyproject = (REPO / "pyproject.toml").read_text()
    declared = re.findall(r'^\s+"([A-Za-z0-9_.-]+)[=<>!~]', pyproject.split("dependencies = [", 1)[1].split("]", 1)[0],
                          re.M)
    assert {d.lower() for d in declared} <= lock  # every dependency is pinned in what the image installs


def test_recipe_parses_with_spython():
    from spython.main.parse.parsers import SingularityParser

    recipe = next(iter(SingularityParser(str(RECIPE)).recipe.values()))
    assert recipe.fromHeader.startswith("nvidia/cuda:13")
    assert "requirements.lock.txt /opt/eeg2music/requirements.lock.txt" in recipe.files
    assert any("pip install" in line for line in recipe.install)


def test_profile_entry_points_exist():
    """Every `python -m eeg2music.X` a rule runs is a module with a main."""
    import importlib

    for smk in (REPO / "workflow/rules").glob("*.smk"):
        for module in re.findall(r"python -m (eeg2music[\w.]*)", smk.read_text()):
            spec = importlib.util.find_spec(module)
            assert spec is not None, module
    for cmd in ("synth", "make-split"):
        assert subprocess.run([sys.executable, "-m", "eeg2music.cli", cmd, "--help"],
                              capture_output=True).returncode == 0


def test_wcss_profile_uses_apptainer_with_nv_and_placeholders_are_refused(tmp_path):
    profile = yaml.safe_load((REPO / "cluster/wcss/config.yaml").read_text())
    assert profile["executor"] == "slurm" and profile["software-deployment-method"] == "apptainer"
    assert "--nv" in profile["apptainer-args"] and profile["slurm-logdir"] == "logs/slurm"
    assert profile["set-resources"]["train"]["gpu"] >= 1 and "cpus_per_gpu" in profile["set-resources"]["train"]
    with pytest.raises(InputError, match=r"default-resources\.slurm_account") as err:
        check_profile(REPO / "cluster/wcss")
    assert "cluster/wcss/config.yaml" in str(err.value)
    filled = tmp_path / "wcss"
    shutil.copytree(REPO / "cluster/wcss", filled)
    cfg = filled / "config.yaml"
    cfg.write_text(re.sub(r'"<fill in[^>]*>"', '"test-value"', cfg.read_text()))
    check_profile(filled)  # no placeholder left: accepted
