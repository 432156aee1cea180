"""Write generated music as wav files: ``python -m eeg2music.decode.listen --run-dir … --out-dir …``.

For the first ``--trials`` trials of a split part, each of ``--samples`` seeds gives one generated waveform
(``<trial>_sample-<k>.wav``) beside the true audio at the same rate (``<trial>_true.wav``), and ``mels.png`` shows
their log-mels. Generation covers the whole trial in one pass (the network is convolutional, so this equals
generating consecutive chunks with enough overlap for its receptive field).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import soundfile as sf
import torch

from eeg2music.decode.predict import decode_item, load_run
from eeg2music.errors import InputError, one_line_errors


def write_samples(run_dir: Path, out_dir: Path, trials: int = 2, samples: int = 1, steps: str = "fast",
                  part: str = "test") -> list[Path]:
    _, model, data = load_run(run_dir, part)
    if model.target != "audio":
        raise InputError(run_dir, f"this run's model outputs {model.target}, not audio",
                         "pass the run directory of a waveform model (model.name: diffwave)")
    info = data.data_info()
    rate = int(info["rates"]["audio"])
    tmp = out_dir.with_name(f"{out_dir.name}.tmp-{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    n = min(trials, len(data))
    fig, axes = plt.subplots(n, samples + 1, figsize=(3.5 * (samples + 1), 2.4 * n), squeeze=False)
    with torch.no_grad():
        for i in range(n):
            item = data[i]
            m = item["meta"]
            stem = f"{m['dataset']}_sub-{m['subject']}_{m['run']}_trial-{int(m['trial'])}"
            decoded = decode_item(model, item, info, samples, steps)
            sf.write(tmp / f"{stem}_true.wav", item["audio"].numpy(), rate)
            images = [("true", decoded["mel_true"])]
            for k, audio in enumerate(decoded["audio"]):
                sf.write(tmp / f"{stem}_sample-{k}.wav", audio, rate)
                images.append((f"sample {k}", decoded["mel_pred"][k]))
            for ax, (label, image) in zip(axes[i], images, strict=True):
                ax.imshow(image, aspect="auto", origin="lower", cmap="magma")
                ax.set_title(f"{stem}\n{label}", fontsize=7)
    fig.tight_layout()
    fig.savefig(tmp / "mels.png", dpi=80)
    plt.close(fig)
    if out_dir.exists():
        for old in out_dir.iterdir():
            old.unlink()
        out_dir.rmdir()
    tmp.replace(out_dir)  # the folder appears complete or not at all
    return sorted(out_dir.glob("*.wav"))


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eeg2music.decode.listen", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-dir", type=Path, required=True, help="a trained DiffWave run (holds final.pt)")
    p.add_argument("--out-dir", type=Path, required=True)
    p.add_argument("--trials", type=int, default=2, help="how many trials of the part to generate")
    p.add_argument("--samples", type=int, default=1, help="generated waveforms per trial (seeds 0…K-1)")
    p.add_argument("--steps", default="fast", choices=("fast", "full"), help="6-step or 50-step sampler")
    p.add_argument("--part", default="test", choices=("train", "val", "test"))
    a = p.parse_args(argv)
    if a.trials < 1 or a.samples < 1:
        p.error("--trials and --samples must be at least 1")
    for path in write_samples(a.run_dir, a.out_dir, a.trials, a.samples, a.steps, a.part):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
