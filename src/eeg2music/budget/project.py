"""From a measured step to epochs, GPU-hours and cost on the real datasets (hours of data: ``data.hours``).

A GPU's step time is the step's FLOPs / (peak × utilisation); this machine's own step time is measured.
"""

from __future__ import annotations

from dataclasses import dataclass

from eeg2music.budget.hardware import GPU
from eeg2music.budget.measure import Measurement


@dataclass
class Projection:
    experiment: str
    target: str  # a GPU name, or "this machine"
    step_s: float
    steps_per_epoch: int
    epoch_h: float
    total_h: float
    cost_usd: float | None


def project(m: Measurement, hours: float, epochs: int, gpus: list[GPU], utilisation: float) -> list[Projection]:
    windows = hours * 3600 / m.hop_s
    steps = max(1, round(windows / m.batch_size))
    rows = [Projection(m.experiment, "this machine (measured)", m.step_s, steps, steps * m.step_s / 3600,
                       epochs * steps * m.step_s / 3600, None)]
    for g in gpus:
        step_s = m.flops_per_step / (g.peak_tflops * 1e12 * utilisation)
        total = epochs * steps * step_s / 3600
        rows.append(Projection(m.experiment, g.name, step_s, steps, steps * step_s / 3600, total,
                               total * g.price_per_hour))
    return rows
