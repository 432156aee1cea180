"""What a workflow job pays before its work: importing the module its rule runs, in a fresh interpreter, as every
job does (the Quick start runs about 175 jobs on two cores).

For each step's module, the median of ``--repeats`` fresh imports. The comparison: the linear decoder's module as it
is (numpy windows) against the same import with torch first, which it paid while it read its trials through the
PyTorch Dataset. Last line: ``linear_decoder_startup_vs_with_torch: <time ratio>`` (below 1 is faster).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

MODULES = {  # rule → the module its command imports
    "split": "eeg2music.data.make_split",
    "decode_linear": "eeg2music.decode.linear",
    "train": "eeg2music.train.engine",
    "predict": "eeg2music.decode.predict",
    "evaluate": "eeg2music.evaluate.score",
    "report": "eeg2music.evaluate.report",
}


def startup_s(statement: str, repeats: int) -> float:
    """Median wall time of a fresh interpreter that runs ``statement``."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    startup_s("import torch, mne, sklearn, zarr, matplotlib", 1)  # warm the file cache first
    bare = startup_s("pass", a.repeats)
    print(f"bare interpreter: {bare:.2f} s")
    for rule, module in MODULES.items():
        print(f"{rule:14s} {module:28s} {startup_s(f'import {module}', a.repeats):.2f} s")
    linear = startup_s("import eeg2music.decode.linear", a.repeats)
    with_torch = startup_s("import torch, eeg2music.decode.linear", a.repeats)
    print(f"linear decoder: {linear:.2f} s; with torch, as before: {with_torch:.2f} s")
    print(f"linear_decoder_startup_vs_with_torch: {linear / with_torch:.3f}")


if __name__ == "__main__":
    main()
