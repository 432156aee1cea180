"""The budget's FLOP counting, data hours, projection arithmetic and its bad-input errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from eeg2music.budget.cli import main as budget_main
from eeg2music.budget.flops import lstm_forward_flops, training_step_flops
from eeg2music.budget.hardware import GPUS, pick
from eeg2music.budget.measure import Measurement
from eeg2music.budget.project import project
from eeg2music.data.hours import edf_hours, recorded_hours

REPO = Path(__file__).resolve().parents[3]


def unrolled_lstm(lstm: nn.LSTM, x: torch.Tensor) -> torch.Tensor:
    """One-layer LSTM written out with matrix multiplies, which the flop counter does see."""
    b, t, _ = x.shape
    h = c = torch.zeros(b, lstm.hidden_size)
    out = []
    for s in range(t):
        gates = x[:, s] @ lstm.weight_ih_l0.T + h @ lstm.weight_hh_l0.T + lstm.bias_ih_l0 + lstm.bias_hh_l0
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        out.append(h)
    return torch.stack(out, dim=1)


def test_lstm_count_matches_the_flop_counter_on_an_unrolled_lstm():
    torch.manual_seed(0)
    lstm = nn.LSTM(7, 5, batch_first=True)
    x = torch.randn(3, 11, 7)
    with torch.no_grad():
        torch.testing.assert_close(unrolled_lstm(lstm, x), lstm(x)[0])  # it is the same network
        with FlopCounterMode(display=False) as counter:
            unrolled_lstm(lstm, x)
    assert counter.get_total_flops() == lstm_forward_flops(lstm, batch=3, steps=11)


def test_bidirectional_stack_and_training_step_count():
    lstm = nn.LSTM(124, 250, num_layers=4, bidirectional=True, batch_first=True)
    per_step = 2 * 2 * 4 * 250 * ((124 + 250) + 3 * (500 + 250))  # 2 directions; layer 0 sees 124, others 500
    assert lstm_forward_flops(lstm, batch=1, steps=1) == per_step
    model = nn.Sequential()
    model.lstm = lstm
    x = torch.randn(2, 9, 124)
    flops = training_step_flops(lambda: model.lstm(x)[0].sum(), model)
    assert flops["recurrent"] == 3 * lstm_forward_flops(lstm, 2, 9)
    assert flops["counted"] < 0.1 * flops["recurrent"]  # the counter alone misses the LSTM (why we add it)


def test_recorded_hours_of_the_real_listings():
    assert edf_hours(256 * 3 + 2 * 2 * 1000 * 3600, n_signals=2, rate=1000) == pytest.approx(1.0)
    hours = recorded_hours("ds002725")  # 105 EDF files of the real listing, 46 signals at 1 kHz
    assert 15 < hours < 40


def test_projection_arithmetic():
    m = Measurement("x", "c.yaml", 10, batch_size=16, measured_batch=16, window_s=4.0, hop_s=2.0, step_s=0.5,
                    peak_mem_mib=1.0, flops_per_step=int(1e12), flops_recurrent=0, device="cpu")
    rows = project(m, hours=8.0, epochs=10, gpus=pick(["H100"], {"H100": 2.0}), utilisation=0.5)
    here, h100 = rows
    assert here.steps_per_epoch == 900 and here.total_h == pytest.approx(10 * 900 * 0.5 / 3600)
    assert h100.step_s == pytest.approx(1e12 / (989e12 * 0.5))
    assert h100.cost_usd == pytest.approx(h100.total_h * 2.0)
    assert set(GPUS) == {"H100", "A100", "L4", "T4"}


@pytest.mark.parametrize(("args", "message"), [
    (["--gpus", "V100"], "unknown GPU 'V100'"),
    (["--price", "H100=0"], "price for H100 is 0"),
    (["--price", "A100=-3"], "price for A100 is -3"),
    (["config/train/nope.yaml"], "config/train/nope.yaml: experiment config does not exist"),
])
def test_bad_input_is_one_line(args, message, capsys, tmp_path):
    configs = [] if args[0].endswith(".yaml") else [str(REPO / "config/train/unet_control.yaml")]
    code = budget_main([*configs, *args, "--config", str(REPO / "config/config.yaml"),
                        "--out-dir", str(tmp_path / "b")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "b").exists()  # nothing measured or written


def test_eegpt_budget_counts_every_transformer_matmul():
    """Model A at the released size, measured like every experiment: the counted FLOPs cover at least the
    transformer's dense layers (12·D² multiply-adds per token and block, ×3 for training) on the real montage."""
    import yaml

    from eeg2music.budget.cli import eeg_channel_names
    from eeg2music.budget.measure import measure

    pre = yaml.safe_load((REPO / "config/config.yaml").read_text())["preprocess"]
    channels = eeg_channel_names("ds002725")
    m = measure(REPO / "config/train/eegpt_mel.yaml", pre, channels, repeats=1, cpu_batch=1)
    kept = [c for c in channels if c not in ("TP9", "TP10")]  # EEGPT has no embedding for the mastoids
    tokens = 16 * (len(kept) + 4)  # 16 patches × (channels + 4 summary tokens) per 4 s window
    dense = 3 * 2 * 12 * 512**2 * 8 * tokens * m.batch_size
    assert dense <= m.flops_per_step <= 1.5 * dense
    assert m.parameters > 25e6 and m.step_s > 0
