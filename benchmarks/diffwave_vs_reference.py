"""Our DiffWave vs the reference implementation (the ``diffwave`` package on PyPI, lmnt-com) at identical size.

Both networks at the BASE configuration (30 residual layers, 64 channels, dilation cycle 10, 80 mels, hop 256,
22.05 kHz). Measured in one run, on the same inputs:
* training step (forward, ε loss, backward, Adam) on ``--batch`` crops of ``--frames`` mel frames, median of
  ``--repeats`` after a warm-up;
* sampling real-time factor (seconds of compute per second of audio) with the 6-step fast schedule and the full
  50 steps: ours through ``DiffWaveDecoder.generate``, the reference through its own ``diffwave.inference.predict``;
* a table of quality against sampling steps: a small vocoder overfitted to synthetic piano clips
  (``eeg2music.evaluate.vocoder_check``), its generated log-mel scored against the true one.

The reference is installed into this environment with ``pip install --no-deps diffwave`` (its model needs only
torch) when missing; this file is not named diffwave.py so that it does not shadow that package.
Last line: ``diffwave_step_vs_reference: <ours / reference step time>`` (target ≤ 1.0).
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from eeg2music.evaluate import vocoder_check
from eeg2music.models.diffwave.decoder import DiffWaveDecoder

RATE, HOP, N_MELS = 22050, 256, 80


def reference_modules():
    try:
        return importlib.import_module("diffwave.model"), importlib.import_module("diffwave.params")
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "diffwave==0.1.7"], check=True)
        return importlib.import_module("diffwave.model"), importlib.import_module("diffwave.params")


def ours() -> DiffWaveDecoder:
    return DiffWaveDecoder(n_inputs=1, rates={"audio": RATE, "mel": RATE / HOP, "eeg": RATE / HOP}, n_mels=N_MELS,
                           conditioning="mel", layers=30, channels=64, cycle=10)


def step_time(loss_fn, params, repeats: int) -> float:
    opt = torch.optim.Adam(params, lr=2e-4)
    times = []
    for i in range(repeats + 2):
        t = time.perf_counter()
        loss = loss_fn()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= 2:  # two warm-up steps
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--frames", type=int, default=62, help="mel frames per training crop (the reference's 62)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--sample-s", type=float, default=0.5, help="seconds of audio generated for the RTF")
    p.add_argument("--quality-steps", type=int, default=600, help="training steps of the small quality vocoder")
    a = p.parse_args(argv)
    ref_model, ref_params = reference_modules()
    torch.manual_seed(0)
    mine, params = ours(), ref_params.AttrDict(ref_params.params)
    ref = ref_model.DiffWave(params)
    n_ours = sum(q.numel() for q in mine.parameters())
    n_ref = sum(q.numel() for q in ref.parameters())
    print(f"parameters: ours {n_ours:,}, reference {n_ref:,} (paper 2.64 M)")

    audio = torch.rand(a.batch, a.frames * HOP) * 2 - 1
    mel = torch.randn(a.batch, N_MELS, a.frames)
    alpha_bars = torch.tensor(mine.schedule.alpha_bars, dtype=torch.float32)

    def reference_loss():  # the reference learner's loss, written out (its Learner needs a dataset and a dir)
        t = torch.randint(0, len(params.noise_schedule), (a.batch,))
        noise = torch.randn_like(audio)
        ab = alpha_bars[t].unsqueeze(1)
        return torch.nn.functional.mse_loss(ref(ab.sqrt() * audio + (1 - ab).sqrt() * noise, mel, t).squeeze(1),
                                            noise)

    step_ref = step_time(reference_loss, ref.parameters(), a.repeats)
    step_ours = step_time(lambda: mine({"audio": audio, "mel": mel}), mine.parameters(), a.repeats)
    print(f"training step (batch {a.batch} × {a.frames} frames): ours {step_ours * 1e3:.0f} ms, reference "
          f"{step_ref * 1e3:.0f} ms")

    frames = round(a.sample_s * RATE / HOP)
    cond = torch.randn(1, N_MELS, frames)
    from diffwave import inference as ref_inference

    print("| sampler | ours RTF | reference RTF |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        torch.save({"model": ref.state_dict()}, Path(tmp) / "weights.pt")
        for name, fast in (("fast (6)", True), ("full (50)", False)):
            mine.eval()
            t = time.perf_counter()
            mine.generate({"mel": cond}, steps="fast" if fast else "full")
            rtf_ours = (time.perf_counter() - t) / (frames * HOP / RATE)
            t = time.perf_counter()
            ref_inference.predict(cond, model_dir=tmp, device=torch.device("cpu"), fast_sampling=fast)
            rtf_ref = (time.perf_counter() - t) / (frames * HOP / RATE)
            print(f"| {name} | {rtf_ours:.1f} | {rtf_ref:.1f} |")

    clips = vocoder_check.clip_set()
    small = vocoder_check.vocoder(clips)
    vocoder_check.fit(small, clips, steps=a.quality_steps)
    print(f"\nquality vs sampling steps (small vocoder, {a.quality_steps} steps on {len(clips.audio)} piano clips):")
    print("| sampler | log-mel SSIM | log-mel r |")
    print("|---|---|---|")
    for steps in ("fast", "full"):
        q = vocoder_check.mel_quality(small, clips, steps)
        print(f"| {steps} | {q['mel_ssim']:.3f} | {q['mel_r']:.3f} |")
    print(f"diffwave_step_vs_reference: {step_ours / step_ref:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
