"""Training and validation loss by step, as a TSV beside the checkpoints (``curves.tsv``): what the report pages
plot (TensorBoard holds the same numbers for browsing during a run)."""

from __future__ import annotations

import csv
from pathlib import Path

HEADER = "step\tpart\tloss\n"


class CurveLog:
    """Appends ``step, part ("train" or "val"), loss`` rows. A resumed run first drops the rows logged after its
    checkpoint (they are logged again as training repeats those steps), so the file matches one uninterrupted run."""

    def __init__(self, path: Path, resumed_step: int = 0) -> None:
        self.path = path
        kept = [r for r in read_rows(path) if int(r["step"]) <= resumed_step] if path.exists() else []
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(HEADER + "".join(f"{r['step']}\t{r['part']}\t{r['loss']}\n" for r in kept))
        tmp.replace(path)

    def add(self, step: int, part: str, loss: float) -> None:
        with self.path.open("a") as f:
            f.write(f"{step}\t{part}\t{loss:.6g}\n")


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def read_curves(path: Path) -> dict[str, tuple[list[int], list[float]]]:
    """part → (steps, losses)."""
    out: dict[str, tuple[list[int], list[float]]] = {}
    for r in read_rows(path):
        steps, losses = out.setdefault(r["part"], ([], []))
        steps.append(int(r["step"]))
        losses.append(float(r["loss"]))
    return out
