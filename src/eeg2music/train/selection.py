"""Model selection on the split's validation part: the validation loss every ``val_every`` steps, the best step
kept as ``best.pt``, and early stopping after ``patience`` evaluations without improvement.

On real EEG a 5 M-parameter bi-LSTM or a 25 M-parameter EEGPT overfits within an epoch, so the weights that are
decoded are the ones that did best on held-out training subjects' or runs' windows, never on the test part.
The evaluation draws its random numbers (diffusion noise, DiffWave's step) from a forked generator with a fixed
seed: the loss is comparable across evaluations, and the training stream is untouched, so resume stays
bit-identical.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn


@dataclass
class Selection:
    """The best validation loss so far, its step, and how many evaluations have passed since."""

    patience: int = 0  # evaluations without improvement before stopping; 0 = never stop early
    best_loss: float = math.inf
    best_step: int = -1
    since_best: int = 0
    stopped: bool = False

    def update(self, loss: float, step: int) -> bool:
        """Record an evaluation; True when it is the best so far (then save the weights)."""
        improved = loss < self.best_loss
        if improved:
            self.best_loss, self.best_step, self.since_best = loss, step, 0
        else:
            self.since_best += 1
        self.stopped = self.patience > 0 and self.since_best >= self.patience
        return improved

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)


def window_r(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """Pearson r of each window's prediction with its target, over time (and bands), cropped to the shorter."""
    n = min(pred.shape[-1], true.shape[-1])
    a = pred[..., :n].reshape(len(pred), -1).double()
    b = true[..., :n].reshape(len(true), -1).double()
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-12)


def validate(model: nn.Module, batches: Iterable[dict[str, Any]], prepare: Callable[[dict], dict],
             seed: int) -> dict[str, float]:
    """Mean loss over the validation windows, in eval mode, with the model's random draws from a forked stream; and,
    for models that predict their target directly (amplitude or log-mel, not generated audio), the mean Pearson r of
    each window's prediction with the truth (``r``; NaN otherwise). Selection uses the loss."""
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    total, count, rs = 0.0, 0, []
    target = getattr(model, "target", None)
    direct = hasattr(model, "predict") and target in ("envelope", "mel")
    was_training = model.training
    model.eval()
    with torch.random.fork_rng(devices=devices), torch.no_grad():
        torch.manual_seed(seed)
        for batch in batches:
            batch = prepare(batch)
            n = len(batch["meta"]["trial"])
            total += float(model(batch)) * n
            count += n
            if direct:
                rs.append(window_r(model.predict(batch["eeg"].float()).float(), batch[target].float()))
    model.train(was_training)
    r = float(torch.cat(rs).mean()) if rs else math.nan
    return {"loss": total / max(count, 1), "r": r}
