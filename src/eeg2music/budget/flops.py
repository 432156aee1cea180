"""FLOPs of one training step (forward + backward) with ``torch.utils.flop_counter``, plus the recurrent layers.

The flop counter sees matrix multiplies and convolutions but not ``nn.LSTM``'s fused kernels (0.01 GFLOP for a
40 s trial through Daly's 4 × 250 bi-LSTM), so LSTMs are counted analytically from the shapes they receive: per
time step, layer and direction the four gates cost 2 · 4H · (I + H) FLOPs (multiply-adds of the input and recurrent
projections), and training costs three times the forward pass (backward ≈ 2 × forward, the usual estimate).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

TRAIN_OVER_FORWARD = 3


def lstm_forward_flops(lstm: nn.LSTM, batch: int, steps: int) -> int:
    """Analytic forward FLOPs of ``lstm`` over (batch, steps): gate matrix multiplies of every layer/direction."""
    h, directions = lstm.hidden_size, 2 if lstm.bidirectional else 1
    total = 0
    for layer in range(lstm.num_layers):
        inputs = lstm.input_size if layer == 0 else h * directions
        total += directions * batch * steps * 2 * 4 * h * (inputs + h)
    return total


def training_step_flops(step: Callable[[], torch.Tensor], model: nn.Module) -> dict[str, int]:
    """Run ``step`` (returns the loss) once under the counter, backward included; LSTMs added analytically."""
    recurrent = []

    def hook(module: nn.LSTM, args, _output) -> None:
        x = args[0]
        b, t = (x.shape[0], x.shape[1]) if module.batch_first else (x.shape[1], x.shape[0])
        recurrent.append(lstm_forward_flops(module, b, t))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.LSTM)]
    try:
        with FlopCounterMode(display=False) as counter:
            step().backward()
    finally:
        for h in handles:
            h.remove()
    counted = int(counter.get_total_flops())
    lstm = TRAIN_OVER_FORWARD * sum(recurrent)
    return {"counted": counted, "recurrent": lstm, "total": counted + lstm}
