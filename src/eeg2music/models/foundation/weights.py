"""Pretrained EEGPT encoder weights, from a local file in either released form.

* The original Lightning checkpoint (``eegpt_mcae_58chs_4s_large4E.ckpt``): a ``state_dict`` holding the online
  ``encoder.``, the momentum ``target_encoder.``, and the pretraining-only ``predictor.`` / ``reconstructor.``. The
  authors fine-tune from ``target_encoder.``, and so do we; the rest is ignored.
* braindecode's converted directory (``config.json`` + ``model.safetensors``), whose encoder keys carry the same
  ``target_encoder.`` prefix next to braindecode's head and channel projection.

A hub id (``braindecode/eegpt-pretrained``) is downloaded only when the caller allows it: compute nodes have no
internet, and a silent download there would hang a job until its time limit.

Missing or shape-mismatched encoder keys are errors naming the first few; keys the encoder does not use are
counted in the returned report, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from eeg2music.errors import InputError

PREFIX = "target_encoder."
IGNORED = ("encoder.", "predictor.", "reconstructor.", "chan_proj.", "final_layer.", "chans_id")
HUB_HINT = "pass a local .ckpt or a braindecode directory (config.json + model.safetensors)"


@dataclass
class LoadReport:
    source: str
    loaded: int
    ignored: list[str] = field(default_factory=list)  # known pretraining/head keys, not used by the encoder
    unexpected: list[str] = field(default_factory=list)  # other keys (reported, not used)

    def summary(self) -> str:
        return (f"{self.source}: {self.loaded} encoder tensors loaded, {len(self.ignored)} pretraining/head tensors "
                f"ignored, {len(self.unexpected)} unexpected" + (f" (e.g. {self.unexpected[:3]})"
                                                                  if self.unexpected else ""))


def _lightning(path: Path) -> dict[str, torch.Tensor]:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise InputError(path, f"cannot be read as a torch checkpoint ({type(err).__name__})",
                         "download the file again") from err
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise InputError(path, "holds no state_dict", "pass EEGPT's Lightning checkpoint")
    return state


def _braindecode_dir(path: Path) -> dict[str, torch.Tensor]:
    weights = path / "model.safetensors"
    if not weights.exists() or not (path / "config.json").exists():
        raise InputError(path, "is not a braindecode model directory (config.json + model.safetensors)", HUB_HINT)
    from safetensors.torch import load_file

    return load_file(str(weights))


def _hub(model_id: str) -> dict[str, torch.Tensor]:
    from huggingface_hub import snapshot_download

    return _braindecode_dir(Path(snapshot_download(model_id, allow_patterns=["config.json", "model.safetensors"])))


def read_state(source: str | Path, allow_download: bool = False) -> dict[str, torch.Tensor]:
    """Every tensor of a checkpoint in either form (or of a hub id, only with ``allow_download``)."""
    path = Path(source)
    if path.is_dir():
        return _braindecode_dir(path)
    if path.is_file():
        return _lightning(path)
    if allow_download and "/" in str(source) and not str(source).startswith((".", "/")):
        return _hub(str(source))
    raise InputError(path, "does not exist", HUB_HINT + ("; a hub id needs allow_download: true and internet"
                                                         if "/" in str(source) else ""))


def encoder_state(state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], source: str
                  ) -> tuple[dict[str, torch.Tensor], LoadReport]:
    """The ``target_encoder.`` tensors of ``state`` keyed as in ``expected`` (an encoder's state_dict).

    The channel embedding may be larger in the checkpoint than in the encoder (braindecode sizes it to the larger
    of the 62-name vocabulary and the input channels), and it is indexed by vocabulary position, so it is loaded
    row for row."""
    encoder = {k[len(PREFIX):]: v for k, v in state.items() if k.startswith(PREFIX)}
    if not encoder:
        sample = ", ".join(sorted(state)[:3])
        raise InputError(source, f"has no {PREFIX}* tensors (starts with {sample}): not an EEGPT checkpoint",
                         "pass EEGPT's pretrained checkpoint, or set model.weights to null to train from scratch")
    missing = sorted(set(expected) - set(encoder))
    if missing:
        raise InputError(source, f"lacks {len(missing)} encoder tensors ({', '.join(missing[:3])}…)",
                         "is it an EEGPT checkpoint of another version? re-download the released file")
    bad = [f"{k} {tuple(encoder[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items()
           if encoder[k].shape != v.shape and k != "chan_embed.weight"]
    if bad:
        raise InputError(source, f"has other shapes than the configured encoder ({'; '.join(bad[:2])})",
                         "set model embed_dim/depth/num_heads/embed_num/patch_size to the checkpoint's (large: "
                         "512/8/8/4/64)")
    out = {k: encoder[k] for k in expected}
    emb, want = encoder["chan_embed.weight"], expected["chan_embed.weight"]
    if emb.shape[1] != want.shape[1] or emb.shape[0] < min(want.shape[0], 62):
        raise InputError(source, f"channel embedding {tuple(emb.shape)} does not fit {tuple(want.shape)}",
                         "set model embed_dim to the checkpoint's")
    merged = want.clone()
    rows = min(emb.shape[0], want.shape[0])
    merged[:rows] = emb[:rows]
    out["chan_embed.weight"] = merged
    others = [k for k in state if not k.startswith(PREFIX)]
    ignored = [k for k in others if k.startswith(IGNORED)]
    unexpected = [k for k in others if not k.startswith(IGNORED)] + [PREFIX + k for k in encoder if k not in expected]
    return out, LoadReport(source, len(out), ignored, unexpected)
