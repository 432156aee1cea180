"""DiffWave sampling on CPU: the current sampler against its earlier form (tanh gate, 32 chunks a pass, the
diffusion step embedded once per chunk).

What the rehearsal and the Quick start spend their decoding time on: every test trial is generated whole, a few
hundred ms at a time, by the fast (6-step) sampler. Three changes, timed here in one run on the same inputs and seeds:
* the gate's tanh computed as 2σ(2x) − 1 (``models.diffwave.model.gated``): torch's CPU tanh is several times
  slower than its sigmoid;
* on CPU, chunks go through the network about 4096 samples at a time, not 32 chunks at a time;
* the step's embedding (two 512-wide layers) computed once per pass and broadcast, not once per chunk.
The earlier form is rebuilt by swapping all three back in. Sizes: the CPU vocoder (6 layers × 24 channels at
2 kHz, a ``--seconds`` trial), the rehearsal's (4 × 16) and DiffWave BASE (30 × 64 at 16 kHz, 0.5 s). One torch
thread, median of ``--repeats``.
Last line: ``diffwave_generate_vs_previous: <current / previous time, CPU size>`` (lower is faster).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from eeg2music.models.diffwave import decoder as decoder_module
from eeg2music.models.diffwave import model as model_module
from eeg2music.models.diffwave.decoder import DiffWaveDecoder

SIZES = {"cpu": dict(audio=2000.0, layers=6, channels=24, cycle=3, cond_dim=16),
         "rehearsal": dict(audio=2000.0, layers=4, channels=16, cycle=4, cond_dim=16),
         "base": dict(audio=16000.0, layers=30, channels=64, cycle=10, cond_dim=None)}


def build(size: str) -> DiffWaveDecoder:
    s = SIZES[size]
    torch.manual_seed(0)
    model = DiffWaveDecoder(1, {"audio": s["audio"], "mel": 100.0}, 80, conditioning="mel", layers=s["layers"],
                            channels=s["channels"], cycle=s["cycle"], cond_dim=s["cond_dim"])
    torch.nn.init.normal_(model.net.final.weight, std=0.3)  # a trained network's output is not zero
    return model.eval()


def previous_gate(gate: torch.Tensor, filt: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(gate) * torch.tanh(filt)


def timed(model: DiffWaveDecoder, mel: torch.Tensor, repeats: int, previous: bool) -> tuple[float, torch.Tensor]:
    gate, per_call = model_module.gated, decoder_module.CPU_SAMPLES_PER_CALL
    if previous:
        model_module.gated = previous_gate
        decoder_module.CPU_SAMPLES_PER_CALL = model.chunk_batch * (model.chunk + 2 * model.net.context)
        net_forward = type(model.net).forward.__get__(model.net)
        model.net.forward = lambda audio, step, *args, **kwargs: net_forward(  # the step embedded per chunk
            audio, step.expand(audio.shape[0]), *args, **kwargs)
    try:
        times = []
        with torch.no_grad():
            for _ in range(repeats + 1):
                t = time.perf_counter()
                out = model.generate({"mel": mel}, steps="fast", seed=0)
                times.append(time.perf_counter() - t)
    finally:
        model_module.gated, decoder_module.CPU_SAMPLES_PER_CALL = gate, per_call
        vars(model.net).pop("forward", None)
    return statistics.median(times[1:]), out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=30.0, help="trial length at CPU size (a ds002725 trial: 30 s)")
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    ratio = {}
    for size, seconds in (("cpu", a.seconds), ("rehearsal", a.seconds), ("base", 0.5)):
        model = build(size)
        mel = torch.randn(1, 80, round(seconds * 100), generator=torch.Generator().manual_seed(1))
        before, out_before = timed(model, mel, a.repeats, previous=True)
        after, out_after = timed(model, mel, a.repeats, previous=False)
        ratio[size] = after / before
        diff = float((out_after - out_before).abs().max())
        print(f"{size}: {seconds:g} s of audio in {before:.3f} s before, {after:.3f} s now "
              f"({before / seconds * 3600:.0f} → {after / seconds * 3600:.0f} s of one core per generated hour; "
              f"largest sample difference {diff:.1e})")
    print(f"rehearsal size: current / previous {ratio['rehearsal']:.3f}; base size: {ratio['base']:.3f}")
    print(f"diffwave_generate_vs_previous: {ratio['cpu']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
