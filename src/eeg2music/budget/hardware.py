"""The GPUs a projection can name: peak dense throughput at the precision the engine uses there, and a price.

Peaks are the vendors' dense (no sparsity) tensor-core figures: bf16 for H100/A100/L4, fp16 for T4 (no bf16; the
engine would fall back to fp32 autocast-off there, so T4 figures are optimistic). Prices are on-demand cloud list
prices per GPU-hour (late 2026 ballpark) and are meant to be edited (``--price H100=2.49``). The projection assumes
a model-FLOPs utilisation (``--utilisation``, default 0.3): small convolutional and recurrent models rarely exceed
it, and recurrent layers usually reach much less.
"""

from __future__ import annotations

from dataclasses import dataclass

from eeg2music.errors import InputError


@dataclass(frozen=True)
class GPU:
    name: str
    peak_tflops: float  # dense bf16 (T4: fp16)
    memory_gib: float
    price_per_hour: float  # USD, on-demand, editable


GPUS = {
    "H100": GPU("H100", 989.0, 80, 2.99),  # SXM, bf16 dense
    "A100": GPU("A100", 312.0, 80, 1.79),  # SXM 80 GB, bf16 dense
    "L4": GPU("L4", 121.0, 24, 0.80),  # bf16 dense
    "T4": GPU("T4", 65.0, 16, 0.35),  # fp16 dense
}


def pick(names: list[str], prices: dict[str, float]) -> list[GPU]:
    """The named GPUs with price overrides; unknown names and non-positive prices are one-line errors."""
    out = []
    for name in names:
        if name not in GPUS:
            raise InputError(None, f"unknown GPU {name!r}", f"use one of {', '.join(GPUS)}")
        out.append(GPUS[name])
    for name, price in prices.items():
        if name not in GPUS:
            raise InputError(None, f"price given for unknown GPU {name!r}", f"use one of {', '.join(GPUS)}")
        if not price > 0:
            raise InputError(None, f"price for {name} is {price:g} $/h", "give a positive price per GPU-hour")
    return [GPU(g.name, g.peak_tflops, g.memory_gib, prices.get(g.name, g.price_per_hour)) for g in out]
