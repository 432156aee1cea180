"""``eeg2music make-split``: build one split manifest from a set of stores (the Snakemake ``split`` rule)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from eeg2music.data.audit import audit, format_report
from eeg2music.data.long_trials import LONG_TRIAL_PROTOCOLS
from eeg2music.data.splits import PROTOCOLS, make_split
from eeg2music.data.stores import StoreInfo
from eeg2music.errors import InputError, one_line_errors


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="eeg2music make-split", description=__doc__)
    p.add_argument("--stores", nargs="+", type=Path, required=True)
    p.add_argument("--protocol", choices=PROTOCOLS + LONG_TRIAL_PROTOCOLS, required=True)
    p.add_argument("--out", type=Path, required=True, help="manifest JSON")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fold", type=int, default=0)
    p.add_argument("--n-folds", type=int, default=None, help="cv-by-run: 3, leave-subject-out: 4 by default")
    p.add_argument("--val", type=float, default=0.15, help="fraction held out for validation")
    p.add_argument("--test", type=float, default=0.15, help="fraction held out for test (random-trial, clips)")
    p.add_argument("--window-s", type=float, default=10.0, help="long-trial protocols: the longest model window")
    p.add_argument("--lag-s", type=float, default=0.5, help="long-trial protocols: the longest response lag")
    p.add_argument("--guard-s", type=float, default=12.0, help="time-block: EEG left out at each block boundary")
    a = p.parse_args(argv)
    manifest = make_split([StoreInfo.read(s) for s in a.stores], a.protocol, a.seed, a.fold, a.n_folds, a.val,
                          a.test, {"window_s": a.window_s, "lag_s": a.lag_s, "guard_s": a.guard_s})
    report = audit(manifest)
    manifest.save(a.out)
    print(format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
