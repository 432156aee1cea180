"""What a workflow run cost, from Snakemake's per-job benchmark files and the sizes of what it wrote.

Every rule writes ``results/<study>/benchmarks/<rule>/….tsv`` (wall seconds, peak resident memory, CPU time), so
after a run the cost per rule, the slowest jobs and the elapsed time (first job start to last job end, from the
files' times) can be read back without a profiler. The rehearsal (README, "Rehearse the real study") reports these
in its study page; ``eeg2music run-cost`` prints them as Markdown for the docs.

A rehearsal's replicas hold every real subject's runs at their real lengths, so its preprocessing jobs are what the
real subjects cost: :func:`preprocess_cost` turns them into what one job needs (with margins for a slower core and
a shared file system), and :func:`preprocess_advice` says whether a cluster profile's ``preprocess`` grants it.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

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


def markdown_table(columns: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body]) + "\n"


def markdown(cost: RunCost) -> str:
    return (f"Elapsed: {cost.elapsed_s / 60:.1f} min (first job start to last job end); "
            + "; ".join(f"{k}: {v:,.0f} MB" for k, v in cost.disk_mb.items()) + ".\n\n"
            + markdown_table(COLUMNS, rows(cost)))


TIME_MARGIN = 3.0  # a cluster core may be slower than this machine's, and the stores go to a shared file system
MEMORY_MARGIN = 1.5


@dataclass
class PreprocessCost:
    subjects: int
    s_per_eeg_hour: float  # the slowest subject's wall time per hour of its EEG
    slowest: tuple[str, float, float]  # (dataset/sub-XX, wall s, EEG hours)
    peak_mb: tuple[str, float]  # (dataset/sub-XX, peak resident MB)
    runtime_min: int  # what the profile should grant one preprocessing job
    mem_mb: int
    cpu_hours: float  # the whole data layer's CPU time (for a rehearsal: what the real subjects will take)


def preprocess_cost(results: Path) -> PreprocessCost:
    """Each preprocessed subject's wall time and peak memory (benchmark files) against its hours of EEG (the
    summary), and the resources one job needs: the worst subject's, with margins, in whole 5 min / 1000 MB."""
    summary = results / "summary" / "summary.tsv"
    if not summary.exists():
        raise InputError(summary, "no preprocessing summary", "run the workflow's summary rule first")
    with summary.open(newline="") as f:
        hours = {f"{r['dataset']}/sub-{r['subject']}": float(r["hours_eeg"]) for r in csv.DictReader(f, delimiter="\t")}
    jobs = {j.name: j for j in read_jobs(results / "benchmarks") if j.rule == "preprocess" and j.name in hours}
    if not jobs:
        raise InputError(results / "benchmarks" / "preprocess", "no benchmark file of a summarised subject",
                         "run preprocessing through the workflow (each job writes one)")
    slow = max(jobs.values(), key=lambda j: j.wall_s / max(hours[j.name], 1e-9))
    longest = max(jobs.values(), key=lambda j: j.wall_s)
    biggest = max(jobs.values(), key=lambda j: j.peak_rss_mb)
    runtime = 5 * math.ceil(TIME_MARGIN * longest.wall_s / 60 / 5)
    mem = 1000 * math.ceil(MEMORY_MARGIN * biggest.peak_rss_mb / 1000)
    return PreprocessCost(len(jobs), slow.wall_s / max(hours[slow.name], 1e-9),
                          (longest.name, longest.wall_s, hours[longest.name]), (biggest.name, biggest.peak_rss_mb),
                          max(runtime, 5), max(mem, 1000), sum(j.cpu_s for j in jobs.values()) / 3600)


def profile_grants(profile: Path, rule: str = "preprocess") -> dict[str, float]:
    """``runtime`` (min) and ``mem_mb`` a Snakemake profile gives one job of ``rule`` (its set-resources over its
    default-resources)."""
    values = yaml.safe_load(profile.read_text()) or {}
    granted = dict(values.get("default-resources") or {}) | dict((values.get("set-resources") or {}).get(rule) or {})
    return {k: float(granted[k]) for k in ("runtime", "mem_mb") if k in granted}


def preprocess_advice(cost: PreprocessCost, profile: Path | None) -> list[list[str]]:
    """Rows: resource, measured (worst subject), needed (with margin), what ``profile`` grants and the verdict."""
    granted = profile_grants(profile) if profile is not None and profile.exists() else {}
    rows = []
    for key, measured, needed in (("runtime", f"{cost.slowest[1] / 60:.1f} min ({cost.slowest[0]}, "
                                   f"{cost.slowest[2]:.2f} h of EEG)", cost.runtime_min),
                                  ("mem_mb", f"{cost.peak_mb[1]:,.0f} MB ({cost.peak_mb[0]})", cost.mem_mb)):
        have = granted.get(key)
        verdict = ("—" if have is None else "enough" if have >= needed else f"too little: set {key}: {needed}")
        rows.append([key, measured, str(needed), "—" if have is None else f"{have:g}", verdict])
    return rows


ADVICE_COLUMNS = ["resource", "measured (worst subject)", "one job needs", "profile grants", "verdict"]


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="eeg2music run-cost", description=__doc__.split("\n\n")[0])
    p.add_argument("--results", type=Path, required=True, help="results/<study>")
    p.add_argument("--profile", type=Path, help="also size preprocessing for this cluster profile's config.yaml")
    a = p.parse_args(argv)
    sys.stdout.write(markdown(run_cost(a.results)))
    if a.profile is not None:
        cost = preprocess_cost(a.results)
        sys.stdout.write(f"\nPreprocessing: {cost.subjects} subjects, {cost.cpu_hours:.2f} CPU-hours, at most "
                         f"{cost.s_per_eeg_hour:.0f} s per hour of EEG. For {a.profile} (margins: time "
                         f"×{TIME_MARGIN:g}, memory ×{MEMORY_MARGIN:g}):\n\n"
                         + markdown_table(ADVICE_COLUMNS, preprocess_advice(cost, a.profile)))
    return 0
