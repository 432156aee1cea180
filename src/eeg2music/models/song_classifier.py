"""A direct song classifier (EEG window → which song): the baseline that puts reconstruction models beside the
NMED-T classification literature (PredANN's 10-way song ID on 3-s windows) on the same split.

The compact CNN's layers (``small_cnn``) with a song head: logits per frame at the amplitude's rate, averaged over
the window for the cross-entropy in training. Decoding a whole test span gives the logits of every frame, so song
identification scores any window of it by its mean logits (``evaluate.song_id``), the same windows and votes as for
reconstruction models. The classes are the split's songs; a song never heard in training cannot be named, so it
runs under protocols that keep every song in training, not leave-song-out. In NMED-T each recording is one subject
hearing one song, so a split inside recordings (time-block, predann) lets a classifier name the song from what marks
the recording (its noise, drifts, impedances) rather than the music; leave-subject-out is its honest protocol.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from eeg2music.errors import InputError
from eeg2music.models.small_cnn import SmallCNN


class SongCNN(SmallCNN):
    target = "song"
    targets = ("song",)
    needs_songs = True

    def __init__(self, n_inputs: int, rates: dict[str, float], n_mels: int, songs: list[str],
                 target: str = "song", **layers) -> None:
        if len(songs) < 2:
            raise InputError(None, f"a song classifier needs at least 2 songs; the split has {len(songs)}",
                             "use a study with several songs")
        super().__init__(n_inputs, {**rates, "song": rates["envelope"]}, n_mels, target=target, **layers)
        self.songs = list(songs)
        self.head = nn.Conv1d(self.head.in_channels, len(self.songs), 1)

    def predict(self, eeg: torch.Tensor) -> torch.Tensor:
        """(B, C, T) EEG → (B, n_songs, T') song logits per frame, at the amplitude's rate."""
        return self._decode(eeg, self._frames(eeg))

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = self.head(self._features(batch["eeg"])).mean(-1)
        return F.cross_entropy(logits.float(), batch["song"].long())
