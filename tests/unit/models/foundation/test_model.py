"""Model A's encoder: pretrained weights in both released layouts, the forward against braindecode's reference, the
input contract, fine-tuning schemes, and the errors a user meets first."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from eeg2music.errors import InputError
from eeg2music.models.foundation.encoder import Encoder
from eeg2music.models.foundation.model import EEGPTDecoder

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from braindecode.models import EEGPT
    from braindecode.models.eegpt import _EEGTransformer

TINY = {"embed_dim": 32, "depth": 2, "num_heads": 4, "embed_num": 2, "patch_size": 64}
LARGE = {"embed_dim": 512, "depth": 8, "num_heads": 8, "embed_num": 4, "patch_size": 64}
CHANNELS = ["FP1", "FZ", "C3", "CZ", "C4", "TP9", "PZ", "O1", "O2"]  # TP9: not in EEGPT's vocabulary
RATES = {"eeg": 256, "mel": 100, "envelope": 100, "audio": 16000}


def write_lightning_checkpoint(path, size: dict, seed: int = 0) -> dict[str, torch.Tensor]:
    """A randomly initialised checkpoint in the authors' Lightning layout: online encoder, momentum target
    encoder, predictor and reconstructor, as their pretraining saves it (58 channels, 4 s at 256 Hz)."""
    torch.manual_seed(seed)
    encoder = _EEGTransformer(n_chans=58, n_times=1024, patch_size=size["patch_size"], patch_stride=size["patch_size"],
                              embed_dim=size["embed_dim"], embed_num=size["embed_num"], depth=size["depth"],
                              num_heads=size["num_heads"], norm_layer=torch.nn.LayerNorm)
    target = {f"target_encoder.{k}": v.clone() for k, v in encoder.state_dict().items()}
    state = {**{f"encoder.{k}": torch.randn_like(v) for k, v in encoder.state_dict().items()}, **target,
             "predictor.mask_token": torch.zeros(1, 1, size["embed_num"], 16),
             "predictor.predictor_embed.weight": torch.randn(16, size["embed_dim"]),
             "reconstructor.mask_token": torch.zeros(1, 1, 16),
             "reconstructor.reconstructor_proj.weight": torch.randn(size["patch_size"], 16)}
    torch.save({"epoch": 199, "global_step": 1000, "pytorch-lightning_version": "1.9.5", "state_dict": state}, path)
    return target


def reference(size: dict, channels: list[str], state: dict[str, torch.Tensor]) -> EEGPT:
    """braindecode's EEGPT built directly, loaded the way the authors' linear-probe scripts do (k[15:])."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = EEGPT(n_chans=len(channels), n_times=1024, sfreq=256, chs_info=[{"ch_name": c} for c in channels],
                      patch_size=size["patch_size"], patch_stride=size["patch_size"], embed_dim=size["embed_dim"],
                      depth=size["depth"], num_heads=size["num_heads"], embed_num=size["embed_num"],
                      chan_proj_type="none", return_encoder_output=True)
    model.target_encoder.load_state_dict({k[15:]: v for k, v in state.items()})
    return model.eval()


@pytest.mark.parametrize("size", [TINY, LARGE], ids=["tiny", "large"])
def test_original_checkpoint_loads_every_encoder_key_and_matches_braindecode(tmp_path, size):
    ckpt = tmp_path / "eegpt_mcae_58chs_4s_large4E.ckpt"
    state = write_lightning_checkpoint(ckpt, size)
    ours = Encoder(CHANNELS, 1024, **size).eval()
    report = ours.load_pretrained(ckpt)
    n_encoder = len(ours.net.target_encoder.state_dict())
    assert f"{n_encoder} encoder tensors loaded" in report and "0 unexpected" in report
    assert ours.unknown == ["TP9"]
    for k, v in ours.net.target_encoder.state_dict().items():
        assert torch.equal(v, state[f"target_encoder.{k}"]), k
    known = [c for c in CHANNELS if c != "TP9"]
    ref = reference(size, known, state)
    x = torch.randn(2, len(CHANNELS), 1024) * 0.02  # ~20 µV in mV
    with torch.no_grad():
        expected = ref(x[:, [CHANNELS.index(c) for c in known]])
        got = ours(x)
    assert got.shape == (2, 16, size["embed_num"], size["embed_dim"])
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_braindecode_directory_loads_the_same_encoder(tmp_path):
    # braindecode's converted form: config.json + model.safetensors with target_encoder.* keys
    ckpt = tmp_path / "orig.ckpt"
    state = write_lightning_checkpoint(ckpt, TINY, seed=3)
    folder = tmp_path / "eegpt-pretrained"
    folder.mkdir()
    save_file({**state, "final_layer.probe1.bias": torch.zeros(16), "chans_id": torch.zeros(1, 19)},
              str(folder / "model.safetensors"))
    (folder / "config.json").write_text('{"patch_size": 64, "embed_dim": 32}')
    from_dir = Encoder(CHANNELS, 1024, **TINY).eval()
    report = from_dir.load_pretrained(folder)
    assert "2 pretraining/head tensors ignored" in report and "0 unexpected" in report
    from_ckpt = Encoder(CHANNELS, 1024, **TINY).eval()
    from_ckpt.load_pretrained(ckpt)
    x = torch.randn(1, len(CHANNELS), 1024) * 0.02
    with torch.no_grad():
        torch.testing.assert_close(from_dir(x), from_ckpt(x))


def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    other = tmp_path / "labram.ckpt"
    torch.save({"state_dict": {"student.blocks.0.attn.qkv.weight": torch.zeros(3, 3),
                               "student.patch_embed.proj.weight": torch.zeros(3, 1)}}, other)
    with pytest.raises(InputError, match="not an EEGPT checkpoint") as err:
        Encoder(CHANNELS, 1024, **TINY).load_pretrained(other)
    assert "labram.ckpt" in str(err.value)
    large = tmp_path / "large.ckpt"
    write_lightning_checkpoint(large, LARGE)
    with pytest.raises(InputError, match=re.escape("other shapes than the configured encoder")):
        Encoder(CHANNELS, 1024, **TINY).load_pretrained(large)
    with pytest.raises(InputError, match="does not exist"):
        Encoder(CHANNELS, 1024, **TINY).load_pretrained(tmp_path / "missing.ckpt")
    with pytest.raises(InputError, match="allow_download"):
        Encoder(CHANNELS, 1024, **TINY).load_pretrained("braindecode/eegpt-pretrained")


def decoder(**changes) -> EEGPTDecoder:
    args = dict(n_inputs=len(CHANNELS), rates=RATES, n_mels=8, channels=CHANNELS, eeg_unit="mV", head_dim=16,
                **{k: v for k, v in TINY.items()})
    return EEGPTDecoder(**(args | changes))


@pytest.mark.parametrize(("changes", "message"), [
    ({"channels": ["TP9", "TP10", "X1"], "n_inputs": 3}, "none of the channels"),
    ({"window_s": 3.9}, "not a multiple of the 64-sample patch"),
    ({"eeg_unit": "uV"}, "EEG in uV; EEGPT expects mV; set data.eeg_unit: mV (µV inputs are 1000× too large"),
    ({"rates": RATES | {"eeg": 100}}, "pretrained at 256 Hz"),
    ({"finetune": "lora"}, "unknown finetune scheme"),
])
def test_bad_input_is_one_clear_error(changes, message):
    with pytest.raises(InputError, match=re.escape(message)):
        decoder(**changes)


def test_projection_adapter_takes_channels_it_does_not_know():
    model = decoder(channels=["TP9", "TP10", "X1"], n_inputs=3, adapter="projection")
    batch = {"eeg": torch.randn(2, 3, 1024) * 0.02, "mel": torch.randn(2, 8, 400) - 5}
    assert torch.isfinite(model(batch))


def test_finetune_schemes_train_what_they_say():
    probe, last, full = decoder(finetune="probe"), decoder(finetune="last-k", last_k=1), decoder(finetune="full")
    trainable = lambda m: {n for n, p in m.named_parameters() if p.requires_grad}  # noqa: E731
    assert all(n.startswith("head_") for n in trainable(probe))
    assert {n.split(".")[4] for n in trainable(last) if ".blocks." in n} == {"1"}
    assert trainable(full) == {n for n, _ in full.named_parameters()}
    groups = full.param_groups(1e-3)
    lrs = sorted(g["lr"] for g in groups)
    assert lrs[-1] == pytest.approx(1e-3) and lrs[0] == pytest.approx(1e-3 * 0.75 ** 3)  # embeddings: decay^(d+1)
    assert sum(len(g["params"]) for g in groups) == len(list(full.parameters()))
    before = {n: p.detach().clone() for n, p in probe.named_parameters()}
    opt = torch.optim.AdamW(probe.param_groups(1e-2))
    batch = {"eeg": torch.randn(2, len(CHANNELS), 1024) * 0.02, "mel": torch.randn(2, 8, 400) - 5}
    probe.train()
    probe(batch).backward()
    opt.step()
    changed = {n for n, p in probe.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all(n.startswith("head_") for n in changed)


def test_whole_trial_decoding_covers_every_frame_and_tokens_run_at_4_hz():
    model = decoder().eval()
    eeg = torch.randn(1, len(CHANNELS), 256 * 10) * 0.02  # 10 s: windows at 0, 2, 4 and 6 s
    mel = model.predict(eeg)
    assert mel.shape == (1, 8, 1000) and torch.isfinite(mel).all()
    assert mel[..., -25:].std() > 0  # the tail is decoded, not left at the padding value
    tokens = model.tokens(eeg[..., :1024])
    assert tokens.shape == (1, TINY["embed_num"] * TINY["embed_dim"], 16)  # 16 patches in 4 s = 4 Hz
    env = decoder(target="envelope").eval().predict(eeg)
    assert env.shape == (1, 1000)



def joint_model(init_from=None, **eegpt_changes):
    """Stage 4: a tiny DiffWave whose conditioner is model A itself (tokens computed from the batch's EEG), started
    from model A's run as training starts it."""
    from eeg2music.models.diffwave.decoder import DiffWaveDecoder
    from eeg2music.train.init import apply_init

    model = DiffWaveDecoder(len(CHANNELS), RATES | {"audio": 4000}, 8, conditioning="eegpt", layers=2, channels=8,
                            cycle=2, cond_dim=8, channel_names=CHANNELS, eeg_unit="mV",
                            eegpt={"head_dim": 16, **TINY, **eegpt_changes})
    return apply_init(model, {"init_from": init_from} if init_from else {}, "c.yaml")


def test_joint_fine_tuning_trains_model_a_through_the_diffusion_loss(tmp_path):
    a = decoder()
    torch.save({"model": a.state_dict()}, tmp_path / "final.pt")
    joint = joint_model(init_from=str(tmp_path))
    for k, v in a.state_dict().items():
        assert torch.equal(joint.conditioner.a.state_dict()[k], v), k
    assert joint.conditioner.rate == 4 and joint.conditioner.features == TINY["embed_num"] * TINY["embed_dim"]
    batch = {"eeg": torch.randn(2, len(CHANNELS), 1024) * 0.02, "audio": torch.rand(2, 16000) - 0.5}
    opt = torch.optim.SGD(joint.parameters(), lr=0.1)
    for _ in range(2):  # DiffWave's output layer starts at zero: gradients reach A from the second step on
        opt.zero_grad()
        torch.manual_seed(0)
        joint(batch).backward()
        opt.step()
    grads = [p.grad for p in joint.conditioner.a.encoder.parameters() if p.requires_grad]
    assert grads and all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)
    with torch.no_grad():
        audio = joint.eval().generate({"eeg": torch.randn(1, len(CHANNELS), 2560) * 0.02}, steps="fast")
    assert audio.shape == (1, 40000) and torch.isfinite(audio).all()  # 10 s at 4 kHz from 40 tokens


def test_joint_model_refuses_a_model_a_of_other_sizes(tmp_path):
    torch.save({"model": decoder(embed_dim=16).state_dict()}, tmp_path / "final.pt")
    with pytest.raises(InputError, match="is not a model A with this configuration"):
        joint_model(init_from=str(tmp_path))
    with pytest.raises(InputError, match="model A's weights do not exist"):
        joint_model(init_from=str(tmp_path / "missing"))


def test_trial_tokens_stitch_windows_without_seams():
    model = decoder().eval()
    eeg = torch.randn(1, len(CHANNELS), 2560 + 30) * 0.02  # 10 s and a partial patch
    with torch.no_grad():
        tokens = model.trial_tokens(eeg)
        assert tokens.shape[-1] == 40
        torch.testing.assert_close(tokens[..., :16], model.tokens(eeg[..., :1024]))
        torch.testing.assert_close(tokens[..., 16:32], model.tokens(eeg[..., 1024:2048]))
        torch.testing.assert_close(tokens[..., 32:], model.tokens(eeg[..., 1536:2560])[..., 8:])


def test_stage_4_full_config_builds_model_a_inside_the_vocoder(tmp_path):
    """The joint stage at full size builds (A at the released size inside DiffWave BASE) from a stage-1 run of
    model A, whose architecture it reads from that run's saved config, with the last two blocks trainable."""
    import yaml

    from eeg2music.models import registry
    from eeg2music.train.config import load_config
    from eeg2music.train.init import apply_init

    repo = Path(__file__).resolve().parents[4]
    a_cfg = load_config(repo / "config/train/eegpt_mel.yaml")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(a_cfg.to_dict()))
    a_model = {k: v for k, v in a_cfg.model.items() if k not in ("name", "weights")}
    a = EEGPTDecoder(len(CHANNELS), RATES, 80, CHANNELS, "mV", **a_model)
    torch.save({"model": a.state_dict()}, tmp_path / "final.pt")
    cfg = load_config(repo / "config/train/eegpt_diffwave_joint.yaml", {"model.init_from": str(tmp_path)})
    assert cfg.model["eegpt"]["embed_dim"] == 512 and cfg.data.rate == 256 and cfg.data.eeg_unit == "mV"
    info = {"rates": RATES | {"audio": cfg.data.audio_rate}, "n_mels": 80, "channels": CHANNELS,
            "eeg_unit": cfg.data.eeg_unit, "audio_rms": 0.1}
    joint = apply_init(registry.build(cfg.model, len(CHANNELS), info), cfg.model, "c.yaml")
    assert joint.conditioner.features == 2048 and joint.conditioner.rate == 4
    tuned = {n.split(".")[4] for n, p in joint.conditioner.a.named_parameters()
             if p.requires_grad and ".blocks." in n}
    assert tuned == {"6", "7"}


def test_interpolation_adapter_maps_egi_electrodes_onto_eegpt_channels():
    """NMED-T's 125 EGI electrodes share no name with EEGPT; the spline map carries a smooth scalp field onto
    EEGPT's channels (front-to-back gradient in, the same gradient out), and named channels pass through."""
    from eeg2music.models.foundation.encoder import channel_positions, interpolation_layer

    egi = [f"E{i}" for i in range(1, 126)]
    layer, targets = interpolation_layer(egi)
    assert layer.matrix.shape == (len(targets), 125) and len(targets) >= 58
    src = np.array([c["loc"] for c in channel_positions(egi)])
    tgt = np.array([c["loc"] for c in channel_positions(targets)])
    field = torch.tensor(src[:, 1], dtype=torch.float32)[None, :, None]  # (1, C, 1): the y coordinate
    out = layer(field)[0, :, 0].numpy()
    assert np.corrcoef(out, tgt[:, 1])[0, 1] > 0.95
    named, named_targets = interpolation_layer(CHANNELS)
    x = torch.randn(1, len(CHANNELS), 5)
    y = named(x)
    assert torch.equal(y[0, named_targets.index("Cz")], x[0, CHANNELS.index("CZ")])


def test_interpolation_adapter_trains_on_egi_channels():
    model = decoder(channels=[f"E{i}" for i in range(1, 126)], n_inputs=125, adapter="interpolation")
    batch = {"eeg": torch.randn(2, 125, 1024) * 0.02, "mel": torch.randn(2, 8, 400) - 5}
    loss = model(batch)
    loss.backward()
    assert torch.isfinite(loss) and model.encoder.interpolate.matrix.grad is None  # the map itself is fixed
