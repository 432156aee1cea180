"""A → B: decode the log-mel from EEG with model A (EEGPT), then render it as a waveform with model B (the DiffWave
vocoder trained on true mels), A frozen. This is stage 3 of the research plan; its score is what the two-model
pipeline delivers end to end, and it is evaluated exactly like every other model (amplitude and log-mel of the
generated audio against the true audio).

``python -m eeg2music.decode.chain --encoder-run results/train/eegpt_mel/cv-by-run/fold-0 --vocoder-run
results/train/diffwave_vocoder/cv-by-run/fold-0 --out predictions.npz``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from eeg2music.decode.predict import decode_item, decoding_arguments, gather, load_run
from eeg2music.decode.predictions import trial_key
from eeg2music.decode.prior_only import eeg_replacer
from eeg2music.errors import InputError, one_line_errors


def chain(encoder_run: Path, vocoder_run: Path, out: Path, part: str = "test", samples: int = 1,
          steps: str = "fast", eeg: str = "as-recorded") -> Path:
    """``eeg`` other than ``as-recorded`` decodes the chain's floor (:mod:`eeg2music.decode.prior_only`)."""
    a_cfg, encoder, a_data = load_run(encoder_run, part)
    replace = eeg_replacer(a_data, eeg)
    _b_cfg, vocoder, b_data = load_run(vocoder_run, part, Path(a_cfg.data.manifest))
    if encoder.target != "mel":
        raise InputError(encoder_run, f"model A predicts {encoder.target}, the vocoder needs a log-mel",
                         "train model A with target: mel")
    if getattr(vocoder, "conditioning", None) != "mel":
        raise InputError(vocoder_run, "model B is not a mel-conditioned vocoder", "use the diffwave_vocoder run")
    a_info, b_info = a_data.data_info(), b_data.data_info()
    if a_info["rates"]["mel"] != b_info["rates"]["mel"] or a_info["n_mels"] != b_info["n_mels"]:
        raise InputError(vocoder_run, "A's and B's log-mels differ in rate or size", "train both on the same stores")
    b_items = {trial_key(b_data[i]["meta"]): i for i in range(len(b_data))}

    def decoded():
        for i in tqdm(range(len(a_data)), desc="A → B", unit="trial", disable=None):
            a_item = replace(i, a_data[i])
            key = trial_key(a_item["meta"])
            if key not in b_items:
                raise InputError(vocoder_run, f"has no test trial {key}", "decode A and B on the same split")
            b_item = b_data[b_items[key]]
            mel = encoder.predict(a_item["eeg"][None])[0]
            frames = b_item["mel"].shape[-1]
            mel = torch.nn.functional.pad(mel, (0, max(frames - mel.shape[-1], 0)))[..., :frames]
            yield decode_item(vocoder, {**b_item, "mel": mel}, b_info, samples, steps), a_item["meta"]

    with torch.no_grad():
        return gather(decoded(), b_info).save(out)


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eeg2music.decode.chain", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--encoder-run", type=Path, required=True, help="model A's run directory (final.pt)")
    p.add_argument("--vocoder-run", type=Path, required=True, help="model B's run directory (final.pt)")
    p.add_argument("--out", type=Path, required=True)
    decoding_arguments(p)
    a = p.parse_args(argv)
    chain(a.encoder_run, a.vocoder_run, a.out, a.part, a.samples, a.steps, a.eeg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
