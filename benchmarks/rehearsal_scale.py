"""How the data layer scales on the replica of ds002722 (real run lengths, channels and trial markers), against a
bare MNE script doing the same operations on the same files (benchmarks/preprocess.py: ``bare_mne``), in one run.

The replica's subjects 01…04 are written once (the time is printed, not compared); then 1, 2 and 4 subjects are
preprocessed by ``run_subject`` (reader, sidecar checks, cleaning, trials at 256 and 100 Hz, audio targets, Zarr,
atomic rename) and by the bare script, interleaved, and each is reported as seconds per hour of EEG. Daly's source
features (ICA → eLORETA, ``preprocess.sources``) have no bare equivalent and are timed on their own line.
Last line: ``rehearsal_data_layer_vs_bare_mne: <ours / bare over all subjects>`` (target ≤ 1.2).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import yaml
from preprocess import bare_mne  # benchmarks/preprocess.py

from eeg2music.preprocess.subject import config_from_section, run_subject
from eeg2music.synth.forward import Realism
from eeg2music.synth.replica import load_structure, structure_hours, write_replicas
from eeg2music.synth.study import SynthConfig

REPO = Path(__file__).resolve().parents[1]
SUBJECTS = ("01", "02", "03", "04")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--counts", type=int, nargs="+", default=[1, 2, 4])
    a = p.parse_args()
    defaults = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg = config_from_section(defaults["preprocess"])
    plain = replace(cfg, sources=False)
    r = defaults["rehearsal"]
    realism = Realism(**{k: r[k] for k in ("subject_snr_sd", "trial_gain_sd", "latency_jitter_s", "noise_modulation",
                                           "noise_sources", "sensor_noise")})
    structure = load_structure("ds002722")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subjects = list(SUBJECTS[: max(a.counts)])
        t = time.perf_counter()
        root = write_replicas(SynthConfig(out=tmp, styles=("ds002722",), snr=r["snr"], seed=r["seed"],
                                          realism=realism), subjects)[0]
        hours = {s: structure_hours({"subjects": {s: structure["subjects"][s]}}) for s in subjects}
        print(f"replica of ds002722, subjects {', '.join(subjects)}: {sum(hours.values()):.2f} h of EEG "
              f"(37 channels at 1000 Hz) written in {time.perf_counter() - t:.0f} s")
        run_subject(kind="ds002722", dataset="w", root=root, subject=subjects[0], out=tmp / "warm.zarr", cfg=plain)
        total_ours = total_bare = 0.0
        for count in a.counts:
            ours = bare = 0.0
            for s in subjects[:count]:  # interleaved, so drift in machine load hits both
                t = time.perf_counter()
                run_subject(kind="ds002722", dataset="r", root=root, subject=s, out=tmp / f"o{count}-{s}.zarr",
                            cfg=plain)
                ours += time.perf_counter() - t
                t = time.perf_counter()
                bare_mne(root, s, tmp / f"b{count}-{s}.zarr", 20.0)
                bare += time.perf_counter() - t
            h = sum(hours[s] for s in subjects[:count])
            print(f"{count} subject(s), {h:.2f} h: ours {ours / h:.0f} s per EEG-hour, bare MNE {bare / h:.0f} s "
                  f"per EEG-hour, ratio {ours / bare:.3f}")
            total_ours, total_bare = total_ours + ours, total_bare + bare
        t = time.perf_counter()
        run_subject(kind="ds002722", dataset="s", root=root, subject=subjects[0], out=tmp / "sources.zarr", cfg=cfg)
        with_sources = time.perf_counter() - t
        print(f"with Daly's source features (preprocess.sources): {with_sources / hours[subjects[0]]:.0f} s per "
              f"EEG-hour (subject {subjects[0]})")
    print(f"rehearsal_data_layer_vs_bare_mne: {total_ours / total_bare:.3f}")


if __name__ == "__main__":
    main()
