"""Decode every trial of a split part with a trained model: ``final.pt`` → ``predictions.npz``.

Every model is scored on Daly's 100 Hz amplitude, so all of them sit in one comparison table:
* envelope models (bi-LSTM) predict it directly;
* mel models (the UNet control) predict the log-mel; the amplitude is derived from the mel power;
* waveform models (DiffWave) generate ``samples`` waveforms per trial with fixed seeds 0…K-1; the amplitude
  (|Hilbert|) and log-mel of each are computed from the generated audio, and the log-mel is compared with the
  log-mel of the true audio at the same rate;
* song classifiers give their song logits per frame, at the amplitude's rate, for song identification only.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from eeg2music.data.dataset import WindowDataset
from eeg2music.data.splits import Manifest
from eeg2music.decode.predictions import Predictions
from eeg2music.decode.prior_only import EEG_INPUTS, eeg_replacer
from eeg2music.errors import InputError, one_line_errors
from eeg2music.models import registry
from eeg2music.preprocess.audio import amplitude_envelope, envelope_from_mel, log_mel
from eeg2music.train.config import TrainConfig, from_dict
from eeg2music.train.engine import window_config

TARGETS_FOR = {"envelope": ("envelope",), "mel": ("envelope", "mel"), "audio": ("audio", "envelope", "mel"),
               "song": ("envelope", "song")}


def load_run(run_dir: Path, part: str = "test", manifest: Path | None = None
             ) -> tuple[TrainConfig, torch.nn.Module, WindowDataset]:
    """A trained run's config, model (eval mode, CPU) and the whole-trial dataset of one split part."""
    final = run_dir / "final.pt"
    if not final.exists():
        raise InputError(final, "no final weights", "train the model first (or resume its run)")
    state = torch.load(final, map_location="cpu", weights_only=False)
    cfg = from_dict(state["config"], str(final))
    target = registry.target_of(cfg.model)
    wcfg = dataclasses.replace(window_config(cfg, whole_trial=True), targets=TARGETS_FOR[target])
    data = WindowDataset(Manifest.load(manifest or Path(cfg.data.manifest)), part, wcfg)
    if target == "song":
        unheard = sorted({e.clip for e in data.entries} - {e.clip for e in data.manifest.part("train")})
        if unheard:
            raise InputError(final, f"{cfg.experiment} classifies songs, and the {part} part holds songs it never "
                             f"heard in training ({', '.join(unheard)})",
                             "run song classifiers under protocols that keep every song in training (time-block, "
                             "predann), not leave-song-out")
    info = data.data_info()
    model = registry.build(cfg.model, len(info["channels"]), info, str(final), trained=True)
    model.load_state_dict(state["model"])
    return cfg, model.eval(), data


def decode_item(model: torch.nn.Module, item: dict, info: dict, samples: int = 1, steps: str = "fast"
                ) -> dict[str, np.ndarray]:
    """One trial → predicted and true amplitude (and log-mel for mel/waveform models); (K, …) for K samples."""
    rates, target = info["rates"], model.target
    out = {"true": item["envelope"].numpy()}
    if target in ("envelope", "song"):
        out["pred"] = model.predict(item["eeg"][None])[0].numpy()
    elif target == "mel":
        mel = model.predict(item["eeg"][None])[0].numpy()
        out |= {"pred": envelope_from_mel(mel, rates["mel"], rates["envelope"]), "mel_pred": mel,
                "mel_true": item["mel"].numpy()}
    else:
        batch = {k: v[None] for k, v in item.items() if torch.is_tensor(v)}
        audio = [model.generate(batch, steps=steps, seed=k)[0].numpy() for k in range(samples)]
        ar = rates["audio"]
        out |= {"audio": np.stack(audio),
                "pred": np.stack([amplitude_envelope(a, ar, rates["envelope"]) for a in audio]),
                "mel_pred": np.stack([log_mel(a, ar, rates["mel"], info["n_mels"]) for a in audio]),
                "mel_true": log_mel(item["audio"].numpy(), ar, rates["mel"], info["n_mels"])}
    return out


def gather(decoded: Iterable[tuple[dict[str, np.ndarray], dict]], info: dict,
           classes: list[str] | None = None) -> Predictions:
    """Decoded trials (``decode_item``'s output with each trial's meta) → one set of predictions, scored on Daly's
    amplitude, with log-mels when the model produced them; a classifier's logits with its ``classes``."""
    fields: dict[str, list] = {"pred": [], "true": [], "mel_pred": [], "mel_true": []}
    meta = []
    for out, trial_meta in decoded:
        for key in fields:
            if key in out:
                fields[key].append(out[key])
        meta.append(dict(trial_meta))
    target = "song" if classes else "envelope"
    return Predictions(fields["pred"], fields["true"], meta, info["rates"]["envelope"], target,
                       fields["mel_pred"] or None, fields["mel_true"] or None, info["rates"]["mel"], classes)


def predict(run_dir: Path, out: Path, part: str = "test", manifest: Path | None = None, samples: int = 1,
            steps: str = "fast", eeg: str = "as-recorded") -> Path:
    """``eeg`` other than ``as-recorded`` decodes the generative floor (:mod:`eeg2music.decode.prior_only`)."""
    cfg, model, data = load_run(run_dir, part, manifest)
    if eeg != "as-recorded" and getattr(model, "conditioning", None) == "mel":
        raise InputError(run_dir / "final.pt", f"{cfg.experiment} renders the true log-mel and reads no EEG: "
                         f"eeg {eeg} would change nothing", "give floors to models that read EEG")
    info = data.data_info()
    replace = eeg_replacer(data, eeg)

    def decoded():
        for i in tqdm(range(len(data)), desc=f"decode {cfg.experiment}", unit="trial", disable=None):
            item = replace(i, data[i])
            yield decode_item(model, item, info, samples, steps), item["meta"]

    with torch.no_grad():
        return gather(decoded(), info, info["songs"] if model.target == "song" else None).save(out)


def _samples(value: str) -> int:
    if int(value) < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return int(value)


def decoding_arguments(p: argparse.ArgumentParser) -> None:
    """``--part``, ``--samples``, ``--steps`` and ``--eeg``: shared by every command that decodes a split part."""
    p.add_argument("--part", default="test", choices=("train", "val", "test"))
    p.add_argument("--samples", type=_samples, default=1, help="waveform models: samples per trial (seeds 0…K-1)")
    p.add_argument("--steps", default="fast", choices=("fast", "full"), help="waveform models: sampler schedule")
    p.add_argument("--eeg", default="as-recorded", choices=EEG_INPUTS,
                   help="the model's EEG input: as recorded, or the prior-only floor (zeros, another trial's EEG)")


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eeg2music.decode.predict", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-dir", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--manifest", type=Path, help="default: the one the model was trained on")
    decoding_arguments(p)
    a = p.parse_args(argv)
    predict(a.run_dir, a.out, a.part, a.manifest, a.samples, a.steps, a.eeg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
