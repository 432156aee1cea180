"""Run cost: per-rule wall time, slowest job, peak memory and elapsed time read back from benchmark files."""

from __future__ import annotations

import os

import pytest

from eeg2music.errors import InputError
from eeg2music.evaluate.run_cost import markdown, preprocess_advice, preprocess_cost, run_cost

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


def summary(results, subjects: dict[str, float]):
    path = results / "summary" / "summary.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("dataset\tsubject\thours_eeg\n" + "".join(
        f"{name.split('/')[0]}\t{name.split('sub-')[1]}\t{h}\n" for name, h in subjects.items()))


def test_preprocessing_sized_from_the_worst_subject(tmp_path):
    """The job needs the longest subject's time and the largest peak with margins, rounded up to 5 min / 1000 MB;
    s per EEG-hour is the slowest subject's; a profile granting less is told what to set."""
    summary(tmp_path, {"ds1/sub-01": 0.5, "ds1/sub-02": 2.0, "ds2/sub-01": 0.1})
    bench(tmp_path, "preprocess/ds1/sub-01.tsv", 60.0, 2400.0, 55.0, 1000.0)
    bench(tmp_path, "preprocess/ds1/sub-02.tsv", 190.0, 1500.0, 180.0, 1100.0)
    bench(tmp_path, "preprocess/ds2/sub-01.tsv", 30.0, 900.0, 25.0, 1200.0)   # 300 s per EEG-hour: the slowest rate
    bench(tmp_path, "preprocess/ds3/sub-09.tsv", 900.0, 9000.0, 25.0, 1200.0)  # not in the summary: not counted
    cost = preprocess_cost(tmp_path)
    assert cost.subjects == 3 and cost.s_per_eeg_hour == pytest.approx(300.0)
    assert cost.slowest == ("ds1/sub-02", 190.0, 2.0) and cost.peak_mb == ("ds1/sub-01", 2400.0)
    assert (cost.runtime_min, cost.mem_mb) == (10, 4000)  # 3 × 190 s = 9.5 min → 10; 1.5 × 2400 MB → 4000
    assert cost.cpu_hours == pytest.approx((55 + 180 + 25) / 3600)
    profile = tmp_path / "config.yaml"
    profile.write_text("default-resources:\n  runtime: 60\n  mem_mb: 2000\nset-resources:\n  train:\n"
                       "    mem_mb: 64000\n")
    runtime, mem = preprocess_advice(cost, profile)
    assert (runtime[3], runtime[4]) == ("60", "enough")
    assert (mem[3], mem[4]) == ("2000", "too little: set mem_mb: 4000")
    profile.write_text(profile.read_text() + "  preprocess:\n    mem_mb: 8000\n")
    assert preprocess_advice(cost, profile)[1][4] == "enough"


def test_preprocessing_cost_needs_a_summary(tmp_path):
    bench(tmp_path, "preprocess/ds1/sub-01.tsv", 60.0, 2400.0, 55.0, 1000.0)
    with pytest.raises(InputError, match="no preprocessing summary"):
        preprocess_cost(tmp_path)
