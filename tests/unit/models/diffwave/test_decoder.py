"""DiffWave (model B), its schedules and conditioning modes, and the UNet control."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from eeg2music.errors import InputError
from eeg2music.models import registry
from eeg2music.models.diffwave import decoder as decoder_module
from eeg2music.models.diffwave.conditioners import EEGEncoder
from eeg2music.models.diffwave.decoder import DiffWaveDecoder
from eeg2music.models.diffwave.model import DiffWaveNet, gated, upsample_stages
from eeg2music.models.diffwave.schedule import FAST_BETAS, TRAIN_BETAS, Schedule, aligned_steps
from eeg2music.models.mel import mel_loss
from eeg2music.models.unet1d import UNetControl
from eeg2music.train.init import apply_init

RATES = {"audio": 4000, "mel": 100, "eeg": 100, "envelope": 100}


def test_base_configuration_has_the_papers_parameter_count():
    """Kong et al. (2021), table 1: DiffWave BASE (30 layers, 64 channels) has 2.64 M parameters."""
    net = DiffWaveNet(n_cond=80, layers=30, channels=64, cycle=10, kernel=3, stages=upsample_stages(22050 / 256, 22050))
    n = sum(p.numel() for p in net.parameters())
    assert abs(n - 2.64e6) / 2.64e6 < 0.05, n


def test_upsampling_stages_and_the_rate_error():
    assert upsample_stages(22050 / 256, 22050) == [16, 16]
    assert np.prod(upsample_stages(4, 16000)) == 4000
    with pytest.raises(InputError, match=r"frame rate 256 Hz does not divide the audio rate 16000 Hz"):
        upsample_stages(256, 16000)
    with pytest.raises(InputError, match=r"256 Hz .* 16000 Hz"):  # through the model: EEG at 256 Hz
        DiffWaveDecoder(n_inputs=4, rates={**RATES, "eeg": 256, "audio": 16000}, n_mels=8, conditioning="eeg")


def test_fast_schedule_is_aligned_to_training_noise_levels():
    train, fast = Schedule(TRAIN_BETAS), Schedule(FAST_BETAS)
    assert np.array_equal(aligned_steps(train, train), np.arange(50))
    t = aligned_steps(fast, train)
    assert np.all(np.diff(t) > 0) and 0 <= t[0] < 1 and t[-1] <= 49
    # the interpolated training noise level equals the fast step's level
    root = np.sqrt(train.alpha_bars)
    for s, ts in enumerate(t[:-1]):
        lo = int(ts)
        assert np.interp(ts, [lo, lo + 1], root[lo:lo + 2]) == pytest.approx(np.sqrt(fast.alpha_bars[s]), rel=1e-9)


@pytest.mark.parametrize("samples_per_call", [4096, 500])  # every chunk in one pass; two chunks a pass
def test_chunked_noise_estimate_equals_one_pass(monkeypatch, samples_per_call):
    monkeypatch.setattr(decoder_module, "CPU_SAMPLES_PER_CALL", samples_per_call)
    torch.manual_seed(0)
    m = DiffWaveDecoder(n_inputs=1, rates=RATES, n_mels=8, conditioning="mel", layers=6, channels=8, cycle=3,
                        chunk_s=0.05).eval()
    x, mel = torch.randn(2, 1000), torch.randn(2, 8, 25)
    with torch.no_grad():
        cond = m.net.upsample(m.condition({"mel": mel}), 1000)
        whole = m.net(x, torch.full((2,), 7.0), cond, upsampled=True)
        chunked = m.noise_estimate(x, torch.tensor(7.0), cond)
    assert chunked.shape == whole.shape and m.chunk + 2 * m.net.context < 1000
    torch.testing.assert_close(chunked, whole, rtol=1e-5, atol=1e-6)


def test_gate_equals_sigmoid_times_tanh():
    gate, filt = torch.randn(2, 3, 4000) * 4, torch.linspace(-30, 30, 24000).reshape(2, 3, 4000)
    torch.testing.assert_close(gated(gate, filt), torch.sigmoid(gate) * torch.tanh(filt), rtol=0, atol=2e-7)


@pytest.mark.parametrize(("mode", "cond_dim"), [("mel", None), ("mel", 4), ("eeg", None), ("eeg", 4),
                                              ("tensor", None), ("none", None)])
def test_every_conditioning_mode_trains_and_samples(mode, cond_dim):
    torch.manual_seed(0)
    rates = {**RATES, "audio": 1000}
    m = DiffWaveDecoder(n_inputs=5, rates=rates, n_mels=8, conditioning=mode, layers=3, channels=8, cycle=3,
                        tensor_features=16, tensor_rate=4.0, cond_dim=cond_dim)
    batch = {"audio": torch.rand(2, 500) - 0.5, "mel": torch.randn(2, 8, 50), "eeg": torch.randn(2, 5, 50),
             "features": torch.randn(2, 16, 2)}  # model A's slot: 4 Hz tokens
    loss = m(batch)
    loss.backward()
    assert torch.isfinite(loss) and all(p.grad is not None for p in m.net.dilated.parameters())
    a = m.generate(batch, steps="fast", seed=1)
    b = m.generate(batch, steps="fast", seed=1)
    c = m.generate(batch, steps="full", seed=2)
    assert a.shape == (2, 500) and torch.equal(a, b) and not torch.equal(a[:, :100], c[:, :100])
    assert a.abs().max() <= 1.0


def test_audio_gain_scales_the_diffused_waveform_and_is_undone_by_sampling():
    """The ε target is the noise mixed into gain · audio, and generated audio comes back in [-1, 1]."""
    torch.manual_seed(0)
    kw = {"n_inputs": 1, "rates": RATES, "n_mels": 8, "conditioning": "mel", "layers": 2, "channels": 8, "cycle": 2}
    plain, gained = DiffWaveDecoder(**kw), DiffWaveDecoder(**kw, audio_gain=8.0)
    gained.load_state_dict(plain.state_dict() | {"audio_gain": gained.audio_gain})  # same weights, its own gain
    assert gained.state_dict()["audio_gain"].item() == 8.0  # saved with the weights (audio_gain: auto)
    seen = {}
    for name, m in (("plain", plain), ("gained", gained)):
        m.net.register_forward_hook(lambda mod, args, out, name=name: seen.__setitem__(name, args[0].detach()))
    audio, mel = 0.05 * torch.randn(2, 1000), torch.randn(2, 8, 25)
    for m in (plain, gained):
        torch.manual_seed(1)  # same step and noise draw
        m({"audio": audio, "mel": mel})
    ab = plain.alpha_bars.sqrt()
    # x_t = √ᾱ·g·x0 + √(1-ᾱ)·ε, so the difference of the two noisy inputs is √ᾱ·(g - 1)·x0 for the same t and ε
    diff = seen["gained"] - seen["plain"]
    ratio = (diff / audio).median(dim=1).values / 7.0
    assert torch.isin(ratio.round(decimals=4), ab.round(decimals=4)).all()
    # sampling returns audio in the original scale: the clamp is at ±gain inside, ±1 outside
    gained.net.final.weight.data.normal_(0, 1.0)  # an untrained net that drifts: the clamp must still hold
    out = gained.generate({"mel": mel}, steps="fast", seed=0)
    assert out.abs().max() <= 1.0 and out.abs().max() > 1 / 8.0


def test_mel_loss_adds_the_weighted_loudness_error():
    """A shift common to every band (a loudness error) costs (1 + w)·d², a zero-mean spectral-shape error only d²."""
    true = torch.randn(2, 8, 30)
    shift = true + 0.5
    shape = true + 0.5 * torch.tensor([1.0, -1.0] * 4)[None, :, None]
    assert mel_loss(shift, true).item() == pytest.approx(0.25) and mel_loss(shape, true).item() == pytest.approx(0.25)
    assert mel_loss(shift, true, 4.0).item() == pytest.approx(0.25 * 5)
    assert mel_loss(shape, true, 4.0).item() == pytest.approx(0.25, abs=1e-6)


def _run(tmp_path: Path, model: torch.nn.Module, name: str) -> Path:
    run = tmp_path / name
    run.mkdir()
    torch.save({"model": model.state_dict()}, run / "final.pt")
    return run


def test_eeg_model_starts_from_the_mel_vocoder(tmp_path):
    """vocoder_from copies the diffusion network and bottleneck of a mode-1 run; the EEG encoder stays fresh."""
    torch.manual_seed(0)
    kw = {"rates": RATES, "n_mels": 8, "layers": 3, "channels": 8, "cycle": 3, "cond_dim": 4}
    vocoder = DiffWaveDecoder(n_inputs=1, conditioning="mel", **kw)
    run = _run(tmp_path, vocoder, "vocoder")
    fresh = DiffWaveDecoder(n_inputs=5, conditioning="eeg", **kw)
    started = apply_init(DiffWaveDecoder(n_inputs=5, conditioning="eeg", **kw), {"vocoder_from": str(run)}, "c.yaml")
    for key, value in vocoder.state_dict().items():
        assert torch.equal(started.state_dict()[key], value), key
    assert not torch.equal(fresh.net.cond_proj.weight, vocoder.net.cond_proj.weight)
    other = _run(tmp_path, DiffWaveDecoder(n_inputs=1, conditioning="mel", **{**kw, "channels": 16}), "wide")
    with pytest.raises(InputError, match=r"wide/final.pt.*is not a vocoder of this size"):
        apply_init(DiffWaveDecoder(n_inputs=5, conditioning="eeg", **kw), {"vocoder_from": str(other)}, "c.yaml")
    with pytest.raises(InputError, match=r"missing/final.pt.*the vocoder's weights do not exist"):
        apply_init(DiffWaveDecoder(n_inputs=5, conditioning="eeg", **kw), {"vocoder_from": str(tmp_path / "missing")},
                   "c.yaml")
    # building a model never reads the runs it starts from: that is training's step (so decoding needs none)
    cfg = {"name": "diffwave", "conditioning": "eeg", **{k: v for k, v in kw.items() if k not in ("rates", "n_mels")},
           "vocoder_from": str(tmp_path / "moved")}
    assert isinstance(registry.build(cfg, 5, {"rates": RATES, "n_mels": 8}), DiffWaveDecoder)


def test_frozen_vocoder_trains_only_the_eeg_encoder(tmp_path):
    """freeze_vocoder keeps the loaded diffusion network and bottleneck fixed through training; it needs a vocoder."""
    torch.manual_seed(0)
    kw = {"rates": RATES, "n_mels": 8, "layers": 3, "channels": 8, "cycle": 3, "cond_dim": 4}
    run = _run(tmp_path, DiffWaveDecoder(n_inputs=1, conditioning="mel", **kw), "vocoder")
    model = apply_init(DiffWaveDecoder(n_inputs=5, conditioning="eeg", **kw),
                       {"vocoder_from": str(run), "freeze_vocoder": True}, "c.yaml")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.AdamW(registry.trainable_groups(model, 1e-2), lr=1e-2)
    for _ in range(3):
        batch = {"eeg": torch.randn(2, 5, 50), "audio": 0.1 * torch.randn(2, 2000), "mel": torch.randn(2, 8, 50)}
        opt.zero_grad()
        model(batch).backward()
        opt.step()
    after = model.state_dict()
    assert all(torch.equal(after[k], before[k]) for k in before if k.startswith(("net.", "bottleneck.")))
    assert not torch.equal(after["conditioner.out.weight"], before["conditioner.out.weight"])
    with pytest.raises(InputError, match=r"c\.yaml: freeze_vocoder is set but vocoder_from is not"):
        apply_init(DiffWaveDecoder(n_inputs=5, conditioning="eeg", **kw), {"freeze_vocoder": True}, "c.yaml")


@pytest.mark.parametrize("model", ["encoder", "unet"])
def test_eeg_scaling_is_fixed_for_decoding(model):
    """Trained on short windows, decoded on whole trials: after training, a window decodes the same alone as inside
    its trial (away from the edges), and a window's level reaches the output (a per-window z-score removes it)."""
    torch.manual_seed(0)
    net = (EEGEncoder(n_inputs=4, n_mels=6, rate=100, channels=8, kernel=3) if model == "encoder"
           else UNetControl(n_inputs=4, rates=RATES, n_mels=6, channels=8, depth=2, kernel=3))

    def run(eeg: torch.Tensor) -> torch.Tensor:
        return net({"eeg": eeg}) if model == "encoder" else net.predict_normalised(eeg, eeg.shape[-1])

    scale = torch.tensor([1.0, 5.0, 20.0, 0.5])[None, :, None]  # channels on different scales, as in µV
    net.train()
    for _ in range(20):  # the training windows' statistics
        run(3.0 + scale * torch.randn(8, 4, 50))
    net.eval()
    with torch.no_grad():
        trial = 3.0 + scale * torch.randn(1, 4, 800)
        whole, alone = run(trial), run(trial[..., 400:528])
        torch.testing.assert_close(alone[..., 32:96], whole[..., 432:496], atol=1e-5, rtol=1e-5)
        louder = run(trial[..., 400:528] + scale)
        assert (louder - alone)[..., 32:96].abs().mean() > 0.01


def test_tensor_conditioner_with_wrong_width_is_named():
    m = DiffWaveDecoder(n_inputs=1, rates=RATES, n_mels=8, conditioning="tensor", layers=2, channels=8, cycle=2,
                        tensor_features=16, tensor_rate=4.0)
    with pytest.raises(InputError, match="has 12 features, the model expects 16"):
        m({"audio": torch.zeros(1, 1000), "features": torch.zeros(1, 12, 1)})


def test_unet_control_maps_eeg_windows_to_mel_frames():
    m = UNetControl(n_inputs=6, rates={**RATES, "eeg": 256, "mel": 100}, n_mels=10, channels=8, depth=2)
    out = m.predict(torch.randn(3, 6, 512))  # 2 s at 256 Hz → 200 mel frames
    assert out.shape == (3, 10, 200)
    loss = m({"eeg": torch.randn(3, 6, 512), "mel": torch.randn(3, 10, 200)})
    loss.backward()
    assert torch.isfinite(loss)


def test_priorgrad_scales_the_noise_by_the_conditioning_loudness():
    """PriorGrad: the noise's SD per sample follows the frame loudness of the log-mel (the loudest frame 1, silence
    at the floor); training and sampling draw from that prior, and the standard prior is untouched."""
    torch.manual_seed(0)
    kw = {"n_inputs": 1, "rates": RATES, "n_mels": 8, "conditioning": "mel", "layers": 3, "channels": 8, "cycle": 3}
    m = DiffWaveDecoder(**kw, prior="priorgrad", prior_floor=0.1).eval()
    mel = torch.full((1, 8, 20), -11.5)  # 0.2 s of silence (log 1e-5)…
    mel[..., 10:] = 0.0  # …then 0.1 s at unit power
    scale = m.noise_scale({"mel": mel}, None, 800)
    assert scale.shape == (1, 800)
    assert scale[0, :300].max() == pytest.approx(0.1) and scale[0, -300:].min() == pytest.approx(1.0)
    loss = m.train()({"mel": mel, "audio": torch.zeros(1, 800)})
    loss.backward()
    assert torch.isfinite(loss) and m.net.final.weight.grad.abs().sum() > 0
    with torch.no_grad():  # silence conditions quiet audio: the quiet half is generated from tenfold smaller noise
        audio = m.eval().generate({"mel": mel}, steps="fast", seed=0)
    assert audio[0, :300].abs().mean() < audio[0, -300:].abs().mean()
    assert DiffWaveDecoder(**kw).noise_scale({"mel": mel}, None, 800) is None


def test_priorgrad_needs_a_log_mel_and_a_sane_floor():
    kw = {"n_inputs": 4, "rates": RATES, "n_mels": 8, "layers": 3, "channels": 8, "cycle": 3}
    with pytest.raises(InputError, match="unknown prior 'gaussian'"):
        DiffWaveDecoder(**kw, conditioning="mel", prior="gaussian")
    with pytest.raises(InputError, match="prior_floor 0 is outside"):
        DiffWaveDecoder(**kw, conditioning="mel", prior="priorgrad", prior_floor=0)
    m = DiffWaveDecoder(**kw, conditioning="eeg", prior="priorgrad")  # EEG: the encoder's decoded log-mel
    features = torch.zeros(2, 8, 10, requires_grad=True)
    scale = m.noise_scale({}, features, 400)
    assert scale.shape == (2, 400) and not scale.requires_grad
