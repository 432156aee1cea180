"""What a workflow run cost, from Snakemake's per-job benchmark files and the sizes of what it wrote.

Every rule writes ``results/<study>/benchmarks/<rule>/….tsv`` (wall seconds, peak resident memory, CPU time), so
after a run the cost per rule, the slowest jobs and the elapsed time (first job start to last job end, from the
files' times) can be read back without a profiler. The rehearsal (README, "Rehearse the real study") reports these
in its study page; ``eeg2music run-cost`` prints them as Markdown for the docs.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

from eeg2music.errors import InputError, one_line_errors


@dataclass
class Job:
    rule: str
    name: str  # the benchmark file under the rule's folder, without .tsv (wildcards)
    wall_s: float
    peak_rss_mb: float
    cpu_s: float
    ended: float  # the file's modification time


def read_jobs(benchmarks: Path) -> list[Job]:
    jobs = []
    for path in sorted(benchmarks.glob("*/**/*.tsv")):
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        if not rows:
            continue
        row = rows[-1]  # a rerun appends a line per repeat; the last is this run's
        rule = path.relative_to(benchmarks).parts[0]

        def number(key: str, row: dict = row) -> float:
            try:
                return float(row.get(key) or 0)
            except ValueError:  # "NA" where the OS gave no value
                return 0.0

        jobs.append(Job(rule, str(path.relative_to(benchmarks / rule).with_suffix("")), number("s"),
                        number("max_rss"), number("cpu_time"), path.stat().st_mtime))
    return jobs


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


@dataclass
class RunCost:
    elapsed_s: float
    rules: list[dict]  # rule, jobs, wall_s (sum), slowest_s, slowest_job, peak_rss_mb, cpu_s
    slowest: list[Job]
    disk_mb: dict[str, float]  # "preprocess/<dataset>" → MB of its stores, "results" → everything


def run_cost(results: Path, n_slowest: int = 5) -> RunCost:
    jobs = read_jobs(results / "benchmarks")
    if not jobs:
        raise InputError(results / "benchmarks", "no benchmark files", "run the workflow first (every rule writes one)")
    rules: dict[str, list[Job]] = {}
    for job in jobs:
        rules.setdefault(job.rule, []).append(job)
    table = []
    for rule, js in rules.items():
        slowest = max(js, key=lambda j: j.wall_s)
        table.append({"rule": rule, "jobs": len(js), "wall_s": sum(j.wall_s for j in js), "slowest_s": slowest.wall_s,
                      "slowest_job": slowest.name, "peak_rss_mb": max(j.peak_rss_mb for j in js),
                      "cpu_s": sum(j.cpu_s for j in js)})
    table.sort(key=lambda r: -r["wall_s"])
    disk = {f"preprocess/{d.name}": folder_mb(d) for d in sorted((results / "preprocess").glob("*")) if d.is_dir()}
    disk["results"] = folder_mb(results)
    elapsed = max(j.ended for j in jobs) - min(j.ended - j.wall_s for j in jobs)
    return RunCost(elapsed, table, sorted(jobs, key=lambda j: -j.wall_s)[:n_slowest], disk)


COLUMNS = ["rule", "jobs", "wall s (sum)", "slowest job s", "slowest job", "peak memory MB", "CPU s"]


def rows(cost: RunCost) -> list[list[str]]:
    return [[r["rule"], str(r["jobs"]), f"{r['wall_s']:.0f}", f"{r['slowest_s']:.0f}", r["slowest_job"],
             f"{r['peak_rss_mb']:.0f}", f"{r['cpu_s']:.0f}"] for r in cost.rules]


def markdown(cost: RunCost) -> str:
    lines = [f"Elapsed: {cost.elapsed_s / 60:.1f} min (first job start to last job end); "
             + "; ".join(f"{k}: {v:,.0f} MB" for k, v in cost.disk_mb.items()) + ".", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(r) + " |" for r in rows(cost)]
    return "\n".join(lines) + "\n"


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="eeg2music run-cost", description=__doc__.split("\n\n")[0])
    p.add_argument("--results", type=Path, required=True, help="results/<study>")
    a = p.parse_args(argv)
    sys.stdout.write(markdown(run_cost(a.results)))
    return 0
