"""Song identification from decoded output, window by window, as the NMED-T literature reports it.

Every decoded test span is cut into windows (3 s, hop 1 s by default); each decoded window is compared (Pearson r
of the decoded and true signal: Daly's amplitude, or the log-mel when the model decodes one) with every true test
window, and a song's score is its best-matching true window. The window's guess is the best-scoring song; a vote
takes the most frequent guess over the windows inside each ``vote_s`` stretch (PredANN reports 3-s windows and 7-s
votes). Accuracy has chance 1 / number of songs, a permutation null (the decoded windows' song labels shuffled by
span, so windows of one span move together) and a 95 % CI over subjects. Retrieval: the normalised rank of each
decoded window's own true window among all true test windows (1 best, 0.5 chance).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from eeg2music.errors import InputError
from eeg2music.evaluate.metrics import pearson_matrix, rank_accuracy
from eeg2music.evaluate.stats import bootstrap_ci


@dataclass(frozen=True)
class Windows:
    pred: list[np.ndarray]
    true: list[np.ndarray]
    span: np.ndarray  # index of the decoded span each window comes from
    start_s: np.ndarray  # the window's start within its span
    song: list[str]
    subject: list[str]


def cut(pred: list[np.ndarray], true: list[np.ndarray], meta: list[dict[str, Any]], rate: float,
        window_s: float = 3.0, hop_s: float = 1.0) -> Windows:
    """Windows of every span with a known song; the signal's last axis is time at ``rate``."""
    n, hop = round(window_s * rate), round(hop_s * rate)
    out: dict[str, list] = {"pred": [], "true": [], "span": [], "start": [], "song": [], "subject": []}
    for i, (p, t, m) in enumerate(zip(pred, true, meta, strict=True)):
        if not m.get("clip"):
            continue
        length = min(p.shape[-1], t.shape[-1])
        for a in range(0, length - n + 1, hop):
            out["pred"].append(p[..., a:a + n])
            out["true"].append(t[..., a:a + n])
            out["span"].append(i)
            out["start"].append(a / rate)
            out["song"].append(m["clip"])
            out["subject"].append(f"{m.get('dataset', '')}/{m.get('subject', '')}")
    if not out["pred"]:
        raise InputError(None, f"no decoded span holds a {window_s:g}-s window of a known song",
                         "decode longer test spans, or use shorter windows")
    return Windows(out["pred"], out["true"], np.array(out["span"]), np.array(out["start"]), out["song"],
                   out["subject"])


def song_scores(sim: np.ndarray, songs: list[str]) -> tuple[np.ndarray, list[str]]:
    """(decoded window, song) → the best similarity among that song's true windows."""
    names = sorted(set(songs))
    label = np.array([names.index(s) for s in songs])
    return np.stack([np.where(label == k, sim, -np.inf).max(1) for k in range(len(names))], axis=1), names


def vote(guess: np.ndarray, w: Windows, vote_s: float, window_s: float) -> np.ndarray:
    """The most frequent guess among the windows that lie wholly inside each ``vote_s`` stretch of a span
    (stretches back to back from the span's start; ties go to the earliest window's song); a window across two
    stretches keeps its own guess."""
    votes = guess.copy()
    stretch = np.floor(w.start_s / vote_s + 1e-9)
    inside = w.start_s + window_s <= (stretch + 1) * vote_s + 1e-9
    for span, k in {(a, b) for a, b, ok in zip(w.span.tolist(), stretch.tolist(), inside, strict=True) if ok}:
        members = np.flatnonzero((w.span == span) & (stretch == k) & inside)
        counts = np.bincount(guess[members])
        votes[members] = next(g for g in guess[members] if counts[g] == counts.max())
    return votes


def identify(w: Windows, scores: np.ndarray, names: list[str], window_s: float, hop_s: float, vote_s: float,
             n_perm: int, n_boot: int, seed: int) -> dict[str, Any]:
    """Accuracy of each window's best-scoring song and of the votes, with the span-shuffle null and the CI over
    subjects. ``scores``: (window, song) in the order of ``names``."""
    truth = np.array([names.index(s) for s in w.song])
    guess = scores.argmax(1)
    voted = vote(guess, w, vote_s, window_s)
    rng = np.random.default_rng(seed)
    _, first, window_span = np.unique(w.span, return_index=True, return_inverse=True)
    span_song = truth[first]

    def accuracy(labels: np.ndarray, predicted: np.ndarray) -> float:
        return float((predicted == labels).mean())

    null = {"window": [], "vote": []}
    for _ in range(n_perm):  # shuffle which song each decoded span is labelled with; its windows follow it
        labels = rng.permutation(span_song)[window_span]
        null["window"].append(accuracy(labels, guess))
        null["vote"].append(accuracy(labels, voted))
    masks = {s: np.array([x == s for x in w.subject]) for s in sorted(set(w.subject))}
    out: dict[str, Any] = {"n_windows": len(w.song), "n_songs": len(names), "chance": 1 / len(names),
                           "window_s": window_s, "hop_s": hop_s, "vote_s": vote_s}
    for name, predicted in (("window", guess), ("vote", voted)):
        observed = accuracy(truth, predicted)
        per_subject = {s: accuracy(truth[mask], predicted[mask]) for s, mask in masks.items()}
        values = np.array(null[name])
        out[name] = {"accuracy": observed, "p": float((1 + np.sum(values >= observed - 1e-12)) / (1 + n_perm)),
                     "null_mean": float(values.mean()), "per_subject": per_subject,
                     "ci95_subjects": list(bootstrap_ci(np.array(list(per_subject.values())), n_boot, seed=seed))}
    return out


def song_identification(pred: list[np.ndarray], true: list[np.ndarray], meta: list[dict[str, Any]], rate: float,
                        window_s: float = 3.0, hop_s: float = 1.0, vote_s: float = 7.0, n_perm: int = 1000,
                        n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Song ID from a reconstruction: each decoded window against every true test window."""
    w = cut(pred, true, meta, rate, window_s, hop_s)
    sim = pearson_matrix(w.pred, w.true)
    scores, names = song_scores(sim, w.song)
    out = identify(w, scores, names, window_s, hop_s, vote_s, n_perm, n_boot, seed)
    out["retrieval_rank"] = float(rank_accuracy(sim).mean())
    return out


def song_classification(logits: list[np.ndarray], true: list[np.ndarray], meta: list[dict[str, Any]], rate: float,
                        classes: list[str], window_s: float = 3.0, hop_s: float = 1.0, vote_s: float = 7.0,
                        n_perm: int = 1000, n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Song ID from a classifier's logits per frame, (songs, T): a window's song scores are its mean logits, over
    every song the classifier was trained on (chance 1 / that number). No retrieval: nothing is reconstructed."""
    w = cut(logits, true, meta, rate, window_s, hop_s)
    unknown = sorted(set(w.song) - set(classes))
    if unknown:
        raise InputError(None, f"test songs the classifier has no class for: {', '.join(unknown)}",
                         "decode with the classifier's own split")
    scores = np.stack([p.mean(-1) for p in w.pred])
    out = identify(w, scores, list(classes), window_s, hop_s, vote_s, n_perm, n_boot, seed)
    out["retrieval_rank"] = None
    return out
