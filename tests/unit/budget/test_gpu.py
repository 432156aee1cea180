"""The GPU check in its CPU mode: it trains each model for a few steps, writes what it measured, and the budget
projects with the measured utilisation instead of the assumed one."""

from __future__ import annotations

import json
import subprocess
import sys

from ...conftest import REPO


def test_gpu_check_tiny_mode_feeds_the_budget(tmp_path):
    out = tmp_path / "gpu_check.json"
    configs = [str(REPO / "config/train/bilstm_daly.yaml"), str(REPO / "config/train/diffwave_vocoder.yaml")]
    # a CPU has no known peak: give one, so a utilisation is computed as on a named card
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks/gpu_check.py"), "--configs", *configs,
                           "--size", "cpu", "--steps", "2", "--warmup", "1", "--peak-tflops", "0.5", "--out",
                           str(out)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1].startswith("gpu_check: ")
    check = json.loads(out.read_text())
    assert set(check["models"]) == {"bilstm_daly", "diffwave_vocoder"}
    for m in check["models"].values():
        assert m["size"] == "cpu" and m["steps_timed"] == 2 and m["step_s"] > 0 and m["flops_per_step"] > 0
        assert m["utilisation"] == m["achieved_tflops"] / 0.5
        assert m["samples_per_s"] == m["batch_size"] / m["step_s"]
    proc = subprocess.run([sys.executable, "-m", "eeg2music.budget.cli", configs[0], "--config",
                           str(REPO / "config/config.yaml"), "--datasets", "ds002725", "--gpus", "H100",
                           "--gpu-check", str(out), "--out-dir", str(tmp_path / "budget"), "--repeats", "1",
                           "--cpu-batch", "1"], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    budget = json.loads((tmp_path / "budget/budget.json").read_text())
    share = check["models"]["bilstm_daly"]["utilisation"]
    assert budget["assumptions"]["utilisation of peak"] == {
        "bilstm_daly": f"{share:.3g} (measured on {check['device']})"}
    flops = budget["measurements"][0]["flops_per_step"]
    rows = [r.split("\t") for r in (tmp_path / "budget/budget.tsv").read_text().splitlines()]
    h100 = next(r for r in rows if r[1] == "H100")
    assert abs(float(h100[2]) - flops / (989e12 * share)) / float(h100[2]) < 1e-4
