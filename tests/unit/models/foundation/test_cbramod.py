"""CBraMod as model A's encoder (``encoder: cbramod``): weights in both released forms, the same forward as
braindecode's, its input contract, and the same head and fine-tuning schemes as EEGPT."""

from __future__ import annotations

import warnings

import pytest
import torch
from safetensors.torch import save_file

from eeg2music.errors import InputError
from eeg2music.models.foundation.cbramod import CBraModEncoder
from eeg2music.models.foundation.model import EEGPTDecoder

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from braindecode.models import CBraMod

TINY = {"embed_dim": 40, "depth": 2, "num_heads": 4}
CHANNELS = ["Fp1", "Fz", "C3", "Cz", "C4", "Pz", "O1", "TP9"]  # any names: CBraMod has no channel vocabulary
RATES = {"eeg": 200, "mel": 100, "envelope": 100, "audio": 2000}


def pretrained(seed: int = 0, n_chans: int = 19, n_times: int = 6000) -> dict[str, torch.Tensor]:
    """A randomly initialised CBraMod state as the authors save it (pretrained on 19 channels × 30 s)."""
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CBraMod(n_outputs=1, n_chans=n_chans, n_times=n_times, sfreq=200, n_layer=TINY["depth"],
                        nhead=TINY["num_heads"], emb_dim=TINY["embed_dim"], dim_feedforward=4 * TINY["embed_dim"],
                        return_encoder_output=True)
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_both_weight_forms_load_and_match_braindecode(tmp_path):
    state = pretrained()
    pth = tmp_path / "pretrained_weights.pth"
    torch.save(state, pth)
    folder = tmp_path / "cbramod-pretrained"
    folder.mkdir()
    save_file(state, str(folder / "model.safetensors"))
    (folder / "config.json").write_text('{"emb_dim": 40}')
    x = torch.randn(2, len(CHANNELS), 800) * 20  # ~20 µV
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = CBraMod(n_outputs=1, n_chans=len(CHANNELS), n_times=800, sfreq=200, n_layer=2, nhead=4, emb_dim=40,
                      dim_feedforward=160, return_encoder_output=True)
    ref.load_state_dict(state)
    with torch.no_grad():
        expected = ref.eval()(x / 100).transpose(1, 2)  # the authors' 100 µV units
    for source in (pth, folder):
        ours = CBraModEncoder(CHANNELS, 800, **TINY).eval()
        report = ours.load_pretrained(source)
        assert f"{len(state)} encoder tensors loaded" in report
        with torch.no_grad():
            got = ours(x)
        assert got.shape == (2, 4, len(CHANNELS), 40)  # 1 s patches, one token per channel
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_checkpoints_that_are_not_this_cbramod_are_refused(tmp_path):
    eegpt = tmp_path / "eegpt.ckpt"
    torch.save({"state_dict": {"target_encoder.summary_token": torch.zeros(1, 4, 32)}}, eegpt)
    with pytest.raises(InputError, match=r"eegpt\.ckpt: has none of CBraMod's tensors .* not a CBraMod checkpoint"):
        CBraModEncoder(CHANNELS, 800, **TINY).load_pretrained(eegpt)
    wide = tmp_path / "wide.pth"
    torch.save(pretrained(), wide)
    with pytest.raises(InputError, match=r"wide\.pth: has other shapes .*released: 200/12/8"):
        CBraModEncoder(CHANNELS, 800, embed_dim=80, depth=2, num_heads=4).load_pretrained(wide)
    part = tmp_path / "part.pth"
    torch.save({k: v for k, v in pretrained().items() if not k.startswith("encoder.layers.1.")}, part)
    with pytest.raises(InputError, match=r"part\.pth: lacks \d+ CBraMod tensors \(encoder\.layers\.1\."):
        CBraModEncoder(CHANNELS, 800, **TINY).load_pretrained(part)


def decoder(**kw) -> EEGPTDecoder:
    args = {"rates": RATES, "eeg_unit": "uV", "window_s": 4.0, "head_dim": 32, "encoder": "cbramod", **TINY, **kw}
    return EEGPTDecoder(len(CHANNELS), n_mels=8, channels=CHANNELS, **args)


@pytest.mark.parametrize(("changes", "message"), [
    ({"rates": {**RATES, "eeg": 256}}, r"EEG at 256 Hz; CBraMod was pretrained at 200 Hz"),
    ({"eeg_unit": "mV"}, r"EEG in mV; CBraMod expects uV"),
    ({"window_s": 1.5}, r"a window of 300 samples is not a multiple of the 200-sample patch"),
    ({"encoder": "labram"}, r"unknown encoder 'labram'"),
])
def test_bad_input_is_one_clear_error(changes, message):
    with pytest.raises(InputError, match=message):
        decoder(**changes)


def test_head_and_finetune_schemes_work_as_with_eegpt():
    probe, last = decoder(finetune="probe"), decoder(finetune="last-k", last_k=1)
    trainable = lambda m: {n for n, p in m.named_parameters() if p.requires_grad}  # noqa: E731
    assert all(n.startswith("head_") for n in trainable(probe))
    tuned = {n.split(".")[4] for n in trainable(last) if ".layers." in n}
    assert tuned == {"1"} and any(".proj_out." in n for n in trainable(last))
    model = decoder(finetune="full")
    assert len({g["lr_scale"] for g in model.param_groups(1e-3)}) == 4  # head, 2 blocks, embeddings
    batch = {"eeg": torch.randn(2, len(CHANNELS), 800) * 20, "mel": torch.randn(2, 8, 400) - 5}
    model(batch).backward()
    assert all(p.grad is not None for p in model.encoder.blocks[0].parameters())
    with torch.no_grad():
        mel = model.eval().predict(torch.randn(1, len(CHANNELS), 2000) * 20)  # a 10 s trial: every frame decoded
        tokens = model.tokens(torch.randn(1, len(CHANNELS), 800))
    assert mel.shape == (1, 8, 1000) and torch.isfinite(mel).all()
    assert tokens.shape == (1, len(CHANNELS) * 40, 4)  # 1 Hz tokens for the vocoder
