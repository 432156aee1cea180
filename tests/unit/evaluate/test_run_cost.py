"""Run cost: per-rule wall time, slowest job, peak memory and elapsed time read back from benchmark files."""

from __future__ import annotations

import os

import pytest

from eeg2music.errors import InputError
from eeg2music.evaluate.run_cost import markdown, run_cost

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def bench(results, rel, wall, rss, cpu, ended):
    path = results / "benchmarks" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{wall}\t0:00:00\t{rss}\t1\t1\t1\t0\t0\t50\t{cpu}\n")
    os.utime(path, (ended, ended))


def test_cost_per_rule_and_elapsed(tmp_path):
    bench(tmp_path, "train/a/cv-by-run/fold-0.tsv", 30.0, 900.0, 25.0, 1000.0)
    bench(tmp_path, "train/b/cv-by-run/fold-0.tsv", 50.0, 700.0, 45.0, 1100.0)
    bench(tmp_path, "preprocess/ds/sub-01.tsv", 20.0, 3000.0, 19.0, 960.0)  # started at 940
    store = tmp_path / "preprocess" / "ds" / "sub-01.zarr"
    store.mkdir(parents=True)
    (store / "chunk").write_bytes(b"x" * 2**20)
    cost = run_cost(tmp_path)
    assert cost.elapsed_s == pytest.approx(1100 - 940)
    train, pre = cost.rules
    assert (train["rule"], train["jobs"], train["wall_s"], train["slowest_job"], train["peak_rss_mb"]) == \
        ("train", 2, 80.0, "b/cv-by-run/fold-0", 900.0)
    assert (pre["rule"], pre["peak_rss_mb"]) == ("preprocess", 3000.0)
    assert cost.disk_mb["preprocess/ds"] == pytest.approx(1.0) and cost.disk_mb["results"] > 1.0
    assert [j.wall_s for j in cost.slowest] == [50.0, 30.0, 20.0]
    assert "| train | 2 | 80 | 50 | b/cv-by-run/fold-0 | 900 | 70 |" in markdown(cost)


def test_no_benchmarks_is_one_line(tmp_path):
    with pytest.raises(InputError, match="run the workflow first"):
        run_cost(tmp_path)
