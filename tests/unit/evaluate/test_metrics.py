"""Metrics against independent computations, and the statistics around them."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from eeg2music.decode.predictions import Predictions
from eeg2music.evaluate import metrics as M
from eeg2music.evaluate.score import evaluate
from eeg2music.evaluate.stats import bootstrap_ci, paired_test, permutation_test


def signals(n=12, length=2000, rate=100.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(length) / rate
    return [np.sin(2 * np.pi * rng.uniform(0.2, 3) * t + rng.uniform(0, 6)) + 0.5 * rng.normal(size=length)
            for _ in range(n)]


def test_ssim_equals_scikit_image():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(40, 60)), rng.normal(size=(40, 60))
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    assert M.ssim(a, b) == structural_similarity(a, b, data_range=hi - lo, win_size=7)
    x = signals(2)
    assert M.ssim(x[0], x[0]) == pytest.approx(1.0)


def test_rank_accuracy_perfect_anti_and_noise():
    true = signals(16)
    sim_perfect = M.metric_matrices(true, true, 100.0)["ssim_band"]
    assert M.rank_accuracy(sim_perfect).mean() == 1.0
    # anti-ordered: every decoded trial is least similar to its own true trial
    assert M.rank_accuracy(-sim_perfect).mean() == 0.0
    rng = np.random.default_rng(5)
    noise_scores = [M.rank_accuracy(M.metric_matrices([rng.normal(size=2000) for _ in true], true, 100.0)
                                    ["ssim_band"]).mean() for _ in range(20)]
    assert abs(np.mean(noise_scores) - 0.5) < 0.05


def test_rank_accuracy_by_hand():
    sim = np.array([[0.9, 0.1, 0.5], [0.2, 0.3, 0.4], [0.1, 0.1, 0.1]])
    # trial 0 beats both others (1.0); trial 1 beats one of two (0.5); trial 2 ties both (0.5)
    np.testing.assert_allclose(M.rank_accuracy(sim), [1.0, 0.5, 0.5])


def test_rank_and_identification_of_any_pairing_equal_their_definitions():
    """The sorted-row lookups give, for shuffled pairings and with ties, what the definitions give pair by pair."""
    rng = np.random.default_rng(4)
    sim = np.round(rng.normal(size=(30, 30)), 1)  # rounded: many ties
    clips = [f"c{i % 7}" for i in range(30)]
    rank, ident = M.rank_scorer(sim), M.identification_scorer(sim, clips)
    names = sorted(set(clips))
    for partner in [np.arange(30)] + [rng.permutation(30) for _ in range(5)]:
        expected_rank, expected_ident = [], []
        for i, j in enumerate(partner):
            others = [sim[i, k] for k in range(30) if k != j]
            expected_rank.append((sum(v < sim[i, j] for v in others) + 0.5 * sum(v == sim[i, j] for v in others))
                                 / 29)
            by_clip = [np.mean([sim[i, k] for k in range(30) if clips[k] == c]) for c in names]
            expected_ident.append(float(names[int(np.argmax(by_clip))] == clips[j]))
        np.testing.assert_allclose(rank(partner), expected_rank, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(ident(partner), expected_ident)


def test_identification_picks_the_most_similar_clip():
    sim = np.array([[0.9, 0.8, 0.1], [0.1, 0.2, 0.9], [0.5, 0.6, 0.1]])
    clips = ["a", "a", "b"]
    # trial 0 → clip a (0.85 vs 0.1), right; trial 1 → b, wrong; trial 2 → a (0.55 vs 0.1), wrong (it heard b)
    np.testing.assert_array_equal(M.identification(sim, clips), [1, 0, 0])


def test_permutation_p_and_bootstrap():
    obs, null, p = permutation_test(lambda partner: float(np.mean(partner == np.arange(20))), 20, n_perm=500)
    assert obs == 1.0 and p == pytest.approx(1 / 501) and null.mean() < 0.2
    lo, hi = bootstrap_ci(np.array([0.5, 0.6, 0.7, 0.8]))
    assert 0.5 <= lo < 0.65 < hi <= 0.8
    t = paired_test({"s1": 0.9, "s2": 0.8, "s3": 0.85, "s4": 0.7, "s5": 0.95, "s6": 0.9},
                    {"s1": 0.5, "s2": 0.5, "s3": 0.5, "s4": 0.5, "s5": 0.5, "s6": 0.5})
    assert t["n_subjects"] == 6 and t["mean_difference"] > 0.3 and t["p"] < 0.05


def test_evaluate_separates_a_decoder_from_noise():
    true = signals(12)
    rng = np.random.default_rng(3)
    meta = [{"dataset": "d", "subject": f"{i % 3:02d}", "run": "r", "trial": i, "clip": f"c{i % 6}", "start_s": 0.0}
            for i in range(12)]
    good = Predictions([t + 0.8 * rng.normal(size=t.size) for t in true], true, meta, 100.0, "envelope")
    bad = Predictions([rng.normal(size=t.size) for t in true], true, meta, 100.0, "envelope")
    g, _ = evaluate(good, n_perm=300)
    b, _ = evaluate(bad, n_perm=300)
    assert g["metrics"]["rank_accuracy"]["significant"] and g["metrics"]["r_time"]["p"] < 0.01
    assert not b["metrics"]["rank_accuracy"]["significant"]
    assert g["metrics"]["identification"]["chance"] == pytest.approx(1 / 6)
    assert set(g["metrics"]["r_time"]["per_subject"]) == {"d/sub-00", "d/sub-01", "d/sub-02"}


@pytest.mark.parametrize("shape", [(40, 300), (500,), (6, 5), (4, 3)])
def test_vectorised_ssim_matrix_equals_pairwise_scikit_image(shape):
    from eeg2music.evaluate.metrics import ssim, ssim_matrix

    rng = np.random.default_rng(1)
    pred = [rng.normal(size=shape) * rng.uniform(0.5, 2) for _ in range(4)]
    true = [rng.normal(size=shape) + 0.3 * pred[i % 4] for i in range(5)]
    expected = np.array([[ssim(p, t) for t in true] for p in pred])
    np.testing.assert_allclose(ssim_matrix(pred, true, dtype=np.float64), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ssim_matrix(pred, true, chunk=1, dtype=np.float64), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ssim_matrix(pred, true), expected, rtol=0, atol=1e-6)  # float32, the default
    np.testing.assert_array_equal(ssim_matrix(pred, true, threads=3), ssim_matrix(pred, true))  # rows split 2/1/1


@pytest.mark.parametrize("block", [2, 256])  # blocks that split both sides unevenly; one block for everything
def test_pearson_matrix_equals_pairwise_corrcoef(block, monkeypatch):
    from eeg2music.evaluate.metrics import pearson, pearson_matrix

    monkeypatch.setattr(M, "PEARSON_BLOCK", block)
    rng = np.random.default_rng(2)
    pred = [rng.normal(size=(3, 50)) for _ in range(5)]
    true = [rng.normal(size=(3, 50)) + pred[i % 5] for i in range(7)]
    expected = np.array([[pearson(p, t) for t in true] for p in pred])
    np.testing.assert_allclose(pearson_matrix(pred, true), expected, rtol=0, atol=1e-12)


def test_daly_rank_accuracy_is_within_each_participant():
    """A decoder that only tells participants apart scores high pooled but at chance within participants."""
    from eeg2music.evaluate.daly import within_participant

    subjects = [s for s in ("a", "b", "c") for _ in range(8)]
    same = np.array([[float(x == y) for y in subjects] for x in subjects])  # similar iff same participant
    rng = np.random.default_rng(0)
    sim = same + 1e-3 * rng.normal(size=same.shape)
    pooled = M.rank_accuracy(sim).mean()
    daly = within_participant(sim, subjects, n_perm=500, seed=0, alpha=0.05)
    assert pooled > 0.65 and abs(daly["mean"] - 0.5) < 0.15 and daly["k_significant"] <= 1
    assert daly["ci95"] is None and "too few" in daly["ci_note"]  # 3 participants: no "95 % CI" of 3 values
    perfect = within_participant(np.eye(24) + 1e-3 * rng.normal(size=(24, 24)), subjects, 500, 0, 0.05)
    assert perfect["k_significant"] == perfect["n_participants"] == 3 and perfect["mean"] > 0.99
    assert perfect["p_k_significant"] < 0.001


def test_null_plot_survives_a_metric_that_barely_moves(tmp_path):
    """A near-constant decoder gives nulls spanning a few float steps; the report still draws them."""
    from eeg2music.evaluate.report import plot_nulls

    summary = {"metrics": {"mel_r": {"observed": 0.1, "p": 0.5}}, "n_perm": 100}
    plot_nulls(summary, {"mel_r": 0.1 + np.arange(100) * 1e-18}, tmp_path / "nulls.png")
    assert (tmp_path / "nulls.png").stat().st_size > 1000


def mel_trials(subjects: list[str], decoded_weight: float, seed: int = 0) -> Predictions:
    """Decoded amplitudes with log-mel-shaped (8 × 60) images, decoded ones following the true ones with the given
    weight (0: noise), as a mel or waveform model's predict step writes them."""
    rng = np.random.default_rng(seed)
    true, mel_true = [rng.normal(size=600) for _ in subjects], [rng.normal(size=(8, 60)) for _ in subjects]
    meta = [{"dataset": "d", "subject": s, "run": "r", "trial": i, "clip": f"c{i % 4}", "start_s": 0.0}
            for i, s in enumerate(subjects)]
    return Predictions([decoded_weight * t + rng.normal(size=t.shape) for t in true], true, meta, 100.0,
                       "envelope", [decoded_weight * m + rng.normal(size=m.shape) for m in mel_true], mel_true, 100.0)


def test_mel_ssim_is_computed_only_within_each_participant():
    """Equal to the pairwise SSIM inside a participant's block, NaN across participants, and the SSIM work grows
    with the sum of the squared trial counts, not the square of the pooled count."""
    subjects = [s for s in ("01", "02", "03") for _ in range(5)]
    preds = mel_trials(subjects, 1.0)
    calls = []
    original = M.ssim_matrix

    def counting(pred, true, *args, **kwargs):
        calls.append(len(pred) * len(true))
        return original(pred, true, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(M, "ssim_matrix", counting)
        mats = M.metric_matrices(preds.mel_pred, preds.mel_true, 100.0, mel=True, groups=preds.subjects())
    assert sum(calls) == 3 * 5 * 5
    same = np.array([[a == b for b in subjects] for a in subjects])
    assert np.isnan(mats["mel_ssim"][~same]).all()
    expected = np.array([[M.ssim(p, t) for t in preds.mel_true] for p in preds.mel_pred])
    np.testing.assert_allclose(mats["mel_ssim"][same], expected[same], rtol=0, atol=1e-6)
    assert not np.isnan(mats["mel_r"]).any()  # Pearson r stays pooled: one matrix product


def test_a_within_participant_null_shuffles_partners_only_inside_each_group():
    groups = [g for g in "abc" for _ in range(4)]
    seen = []

    def score(partner):
        seen.append(partner.copy())
        return 0.0

    permutation_test(score, 12, n_perm=50, seed=1, groups=groups)
    assert all([groups[j] for j in p] == groups for p in seen)
    assert any((p != np.arange(12)).any() for p in seen[1:])


def test_evaluate_scores_log_mel_ssim_within_each_participant():
    subjects = [s for s in ("01", "02", "03", "04") for _ in range(6)]
    good, _ = evaluate(mel_trials(subjects, 1.5), n_perm=200)
    noise, _ = evaluate(mel_trials(subjects, 0.0, seed=1), n_perm=200)
    assert good["metrics"]["mel_ssim"]["candidates"] == "within participant"
    assert good["metrics"]["mel_r"]["candidates"] == good["metrics"]["rank_accuracy"]["candidates"] == "pooled"
    assert good["metrics"]["mel_ssim"]["significant"] and good["metrics"]["mel_r"]["significant"]
    assert not noise["metrics"]["mel_ssim"]["significant"]
    assert abs(noise["metrics"]["mel_ssim"]["null_mean"]) < 0.1  # finite: the null never reads a NaN pair
