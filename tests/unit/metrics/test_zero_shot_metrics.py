# ruff: noqa: RUF002, RUF003
"""Zero-shot metrics against hand-computed values and brute-force numpy γ sweeps."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sic.metrics.zero_shot import (
    GZSLResult,
    ZeroShotScores,
    ausuc,
    best_fusion_weight,
    best_gamma,
    cluster_accuracy,
    cluster_difficulty,
    confusion_matrix,
    either_branch_accuracy,
    gzsl_accuracy,
    seen_unseen_curve,
    similar_class_clusters,
    zsl_accuracy,
)

# Six rows over four classes; seen = {0, 1}, unseen = {2, 3}. Integer scores, so every margin is exact.
# row: label, scores             best seen (margin = best seen − best unseen)   best unseen
#  0:  0  [5, 1, 3, 0]           0 ✓ (5 − 3 = 2)                                 2
#  1:  1  [4, 1, 0, 2]           0 ✗ (4 − 2 = 2)                                 3
#  2:  1  [0, 3, 4, 1]           1 ✓ (3 − 4 = −1)                                2
#  3:  2  [1, 2, 3, 0]           1   (2 − 3 = −1)                                2 ✓
#  4:  3  [6, 0, 2, 5]           0   (6 − 5 = 1)                                 3 ✓
#  5:  3  [0, 1, 4, 2]           1   (1 − 4 = −3)                                2 ✗
SCORES = torch.tensor(
    [[5, 1, 3, 0], [4, 1, 0, 2], [0, 3, 4, 1], [1, 2, 3, 0], [6, 0, 2, 5], [0, 1, 4, 2]], dtype=torch.float32
)
LABELS = torch.tensor([0, 1, 1, 2, 3, 3])
UNSEEN = [2, 3]


def approx(x, **kw):
    return pytest.approx(x, abs=1e-12, **kw)


# ----------------------------------------------------------------------------------------------
# ZSL
# ----------------------------------------------------------------------------------------------
class TestZSL:
    def test_sample_and_class_average(self):
        # unseen rows 3, 4, 5 -> argmax over {2, 3}: 2 ✓, 3 ✓, 2 ✗
        assert zsl_accuracy(SCORES, LABELS, UNSEEN) == approx(2 / 3)
        # class 2: 1/1, class 3: 1/2
        assert zsl_accuracy(SCORES, LABELS, UNSEEN, average="class") == approx(0.75)

    def test_unseen_forms_agree(self):
        mask = torch.tensor([False, False, True, True])
        assert zsl_accuracy(SCORES, LABELS, mask) == zsl_accuracy(SCORES, LABELS, torch.tensor(UNSEEN))
        assert zsl_accuracy(SCORES, LABELS, (3, 2)) == approx(2 / 3)

    def test_argmax_ignores_seen_columns(self):
        # row 4 has its overall maximum on seen class 0; restricted to unseen it is correct
        assert zsl_accuracy(SCORES[4:5], LABELS[4:5], UNSEEN) == 1.0

    def test_no_unseen_rows_is_nan(self):
        assert math.isnan(zsl_accuracy(SCORES[:3], LABELS[:3], UNSEEN))


# ----------------------------------------------------------------------------------------------
# GZSL
# ----------------------------------------------------------------------------------------------
class TestGZSL:
    def test_gamma_zero(self):
        # margins <= 0 predict unseen: row 0 -> 0 ✓, 1 -> 0 ✗, 2 -> 2 ✗ | 3 -> 2 ✓, 4 -> 0 ✗, 5 -> 2 ✗
        r = gzsl_accuracy(SCORES, LABELS, UNSEEN)
        assert isinstance(r, GZSLResult)
        assert (r.seen, r.unseen, r.harmonic) == (approx(1 / 3), approx(1 / 3), approx(1 / 3))

    def test_class_average_differs_on_imbalanced_classes(self):
        r = gzsl_accuracy(SCORES, LABELS, UNSEEN, average="class")
        # seen: class 0 1/1, class 1 0/2 -> 0.5; unseen: class 2 1/1, class 3 0/2 -> 0.5
        assert (r.seen, r.unseen, r.harmonic) == (approx(0.5), approx(0.5), approx(0.5))
        assert r.seen != gzsl_accuracy(SCORES, LABELS, UNSEEN).seen

    def test_calibration_moves_rows_to_unseen(self):
        # γ = 1.5: row 4 (margin 1) now predicts unseen class 3 ✓; rows 0, 1 (margin 2) stay seen
        r = gzsl_accuracy(SCORES, LABELS, UNSEEN, gamma=1.5)
        assert (r.seen, r.unseen) == (approx(1 / 3), approx(2 / 3))
        assert r.harmonic == approx(4 / 9)

    def test_huge_gamma_predicts_only_unseen(self):
        r = gzsl_accuracy(SCORES, LABELS, UNSEEN, gamma=1e9)
        assert r.seen == 0.0
        assert r.unseen == approx(zsl_accuracy(SCORES, LABELS, UNSEEN))
        assert r.harmonic == 0.0
        r = gzsl_accuracy(SCORES, LABELS, UNSEEN, gamma=-1e9)
        assert (r.seen, r.unseen, r.harmonic) == (approx(2 / 3), 0.0, 0.0)  # rows 0 and 2 among seen classes

    def test_gamma_zero_matches_plain_argmax(self):
        g = torch.Generator().manual_seed(0)
        scores, labels = torch.randn(300, 9, generator=g), torch.randint(0, 9, (300,), generator=g)
        unseen = [1, 4, 7]
        pred = scores.argmax(1)
        is_unseen = torch.isin(labels, torch.tensor(unseen))
        r = gzsl_accuracy(scores, labels, unseen)
        assert r.seen == pytest.approx(float((pred == labels)[~is_unseen].float().mean()))
        assert r.unseen == pytest.approx(float((pred == labels)[is_unseen].float().mean()))

    def test_explicit_seen_ignores_other_columns(self):
        # a fifth class (id 4) in neither set with the largest scores must never be predicted
        extra = torch.cat([SCORES, torch.full((6, 1), 100.0)], 1)
        assert gzsl_accuracy(extra, LABELS, UNSEEN, seen=[0, 1]) == gzsl_accuracy(SCORES, LABELS, UNSEEN)
        assert gzsl_accuracy(extra, LABELS, UNSEEN).seen == 0.0  # by default class 4 counts as seen

    def test_missing_part_is_nan(self):
        r = gzsl_accuracy(SCORES[3:], LABELS[3:], UNSEEN)
        assert math.isnan(r.seen) and math.isnan(r.harmonic)
        assert r.unseen == approx(1 / 3)


# ----------------------------------------------------------------------------------------------
# seen-unseen curve, AUSUC, best γ
# ----------------------------------------------------------------------------------------------
def _brute_force_curve(scores: np.ndarray, labels: np.ndarray, unseen: list[int], gammas: np.ndarray, average: str):
    """(S, U) at every γ by the literal argmax of calibrated scores, in numpy."""
    seen_vec = np.ones(scores.shape[1])
    seen_vec[unseen] = 0.0
    is_unseen = np.isin(labels, unseen)
    out_s, out_u = [], []
    for chunk in np.array_split(gammas, max(1, len(gammas) // 500)):
        pred = (scores[None] - chunk[:, None, None] * seen_vec).argmax(-1)  # (G, N)
        hit = pred == labels
        for rows, out in ((~is_unseen, out_s), (is_unseen, out_u)):
            if average == "sample":
                out.extend(hit[:, rows].mean(1))
            else:
                classes = np.unique(labels[rows])
                out.extend(np.mean([hit[:, labels == c].mean(1) for c in classes], 0))
    return np.array(out_s), np.array(out_u)


def _trapezoid(s: np.ndarray, u: np.ndarray) -> float:
    return float(((u[1:] - u[:-1]) * (s[1:] + s[:-1]) / 2).sum())


def _harmonic(s: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.where(s + u > 0, 2 * s * u / np.maximum(s + u, 1e-300), 0.0)


class TestCurve:
    def test_breakpoints_and_values(self):
        gammas, s, u = seen_unseen_curve(SCORES, LABELS, UNSEEN)
        assert gammas.tolist() == [-math.inf, -3.0, -1.0, 1.0, 2.0, math.inf]
        # S counts rows 0 (margin 2) and 2 (margin −1) while γ < margin; U rows 3 (−1) and 4 (1) once γ ≥ margin
        assert s.tolist() == approx([2 / 3, 2 / 3, 1 / 3, 1 / 3, 0.0, 0.0])
        assert u.tolist() == approx([0.0, 0.0, 1 / 3, 2 / 3, 2 / 3, 2 / 3])

    def test_curve_values_equal_gzsl_at_each_breakpoint(self):
        for g, s, u in zip(*seen_unseen_curve(SCORES, LABELS, UNSEEN), strict=True):
            r = gzsl_accuracy(SCORES, LABELS, UNSEEN, gamma=float(g))
            assert (r.seen, r.unseen) == (approx(float(s)), approx(float(u)))

    def test_ausuc_by_hand(self):
        # (U, S): (0, 2/3) -> (1/3, 1/3) [rows 2 and 3 flip together: a diagonal] -> (2/3, 1/3) -> (2/3, 0)
        assert ausuc(SCORES, LABELS, UNSEEN) == approx(1 / 6 + 1 / 9)

    @pytest.mark.parametrize("average", ["sample", "class"])
    def test_matches_exact_brute_force_sweep(self, average):
        # dyadic scores: margins are multiples of 1/64, so a grid at odd multiples of 1/128 visits every plateau
        # once and never ties a seen against an unseen score
        rng = np.random.default_rng(1)
        scores = rng.integers(0, 128, size=(120, 7)) / 64.0
        labels = rng.integers(0, 7, size=120)
        unseen = [0, 3, 5]
        grid = (np.arange(-260, 260) + 0.5) / 64.0
        s_ref, u_ref = _brute_force_curve(scores, labels, unseen, grid, average)
        t_scores, t_labels = torch.from_numpy(scores), torch.from_numpy(labels)
        assert ausuc(t_scores, t_labels, unseen, average=average) == pytest.approx(_trapezoid(s_ref, u_ref), abs=1e-12)
        _, r = best_gamma(t_scores, t_labels, unseen, average=average)
        assert r.harmonic == pytest.approx(float(_harmonic(s_ref, u_ref).max()), abs=1e-12)
        assert r.harmonic >= gzsl_accuracy(t_scores, t_labels, unseen, average=average).harmonic

    def test_close_to_dense_sweep_on_continuous_scores(self):
        g = torch.Generator().manual_seed(3)
        scores = torch.randn(150, 8, generator=g).double()
        scores[:, :5] += 0.7  # seen classes 0-4 are favoured, as in real GZSL
        labels = torch.randint(0, 8, (150,), generator=g)
        unseen = [5, 6, 7]
        grid = np.linspace(-8.0, 8.0, 40001)
        s_ref, u_ref = _brute_force_curve(scores.numpy(), labels.numpy(), unseen, grid, "sample")
        assert ausuc(scores, labels, unseen) == pytest.approx(_trapezoid(s_ref, u_ref), abs=2e-3)
        _, r = best_gamma(scores, labels, unseen)
        assert r.harmonic == pytest.approx(float(_harmonic(s_ref, u_ref).max()), abs=1e-9)
        assert r.harmonic >= gzsl_accuracy(scores, labels, unseen).harmonic
        assert 0.0 <= ausuc(scores, labels, unseen) <= 1.0

    def test_monotone_and_bounded(self):
        g = torch.Generator().manual_seed(5)
        scores, labels = torch.randn(80, 6, generator=g), torch.randint(0, 6, (80,), generator=g)
        gammas, s, u = seen_unseen_curve(scores, labels, [2, 5])
        assert bool((gammas[1:] > gammas[:-1]).all())
        assert bool((s[1:] <= s[:-1] + 1e-12).all()) and bool((u[1:] >= u[:-1] - 1e-12).all())
        assert float(s[-1]) == 0.0 and float(u[0]) == 0.0
        assert float(u[-1]) == pytest.approx(zsl_accuracy(scores, labels, [2, 5]))

    def test_best_gamma_by_hand(self):
        # plateaus: [−1, 1): S = U = 1/3, H = 1/3; [1, 2): S = 1/3, U = 2/3, H = 4/9 (the best, midpoint 1.5)
        gamma, r = best_gamma(SCORES, LABELS, UNSEEN)
        assert gamma == 1.5
        assert (r.seen, r.unseen, r.harmonic) == (approx(1 / 3), approx(2 / 3), approx(4 / 9))
        assert r.harmonic > gzsl_accuracy(SCORES, LABELS, UNSEEN).harmonic

    def test_best_gamma_ties_prefer_the_plateau_around_zero(self):
        # two classes, seen {0}, unseen {1}; scores [m, 0] give margin m. Seen rows margins 0.5, 2; unseen −10, 1.
        # plateaus: [−10, 0.5) S=1, U=1/2, H=2/3 (holds γ=0, midpoint −4.75); [1, 2) S=1/2, U=1, H=2/3 (mid 1.5)
        m = torch.tensor([0.5, 2.0, -10.0, 1.0], dtype=torch.float64)
        scores = torch.stack([m, torch.zeros(4, dtype=torch.float64)], 1)
        labels = torch.tensor([0, 0, 1, 1])
        gamma, r = best_gamma(scores, labels, [1])
        assert gamma == -4.75
        assert r.harmonic == approx(2 / 3)
        assert gzsl_accuracy(scores, labels, [1]).harmonic == approx(2 / 3)

    def test_best_gamma_outer_plateau_is_finite(self):
        # the seen row is always wrong, so H = 0 everywhere; margins 1 and 2 leave γ = 0 in the outer plateau
        # (−inf, 1), represented by the finite 1 − 1 = 0
        scores = torch.tensor([[0.0, 2.0, 1.0], [0.0, 3.0, 1.0]])  # labels 0 (seen) and 2 (unseen)
        gamma, r = best_gamma(scores, torch.tensor([0, 2]), [2])
        assert gamma == 0.0
        assert r == (0.0, 0.0, 0.0)

    def test_curve_needs_both_parts(self):
        with pytest.raises(ValueError, match="seen labels and rows with unseen labels"):
            seen_unseen_curve(SCORES[:3], LABELS[:3], UNSEEN)
        with pytest.raises(ValueError, match="seen labels and rows with unseen labels"):
            best_gamma(SCORES[3:], LABELS[3:], UNSEEN)


def test_best_fusion_weight_by_hand():
    # classes 0, 1 seen, 2, 3 pseudo-unseen, 4 outside both (ignored). The context branch scores the true class
    # 1, the part branch scores its partner (0↔1, 2↔3) 1: the fused score favours the truth iff w > 0.5, so H = 1
    # from w = 0.6 on and 0.6 is the tied weight nearest 0.5.
    labels = torch.tensor([0, 1, 2, 3, 2, 4])
    partner = torch.tensor([1, 0, 3, 2, 3, 0])
    context = torch.nn.functional.one_hot(labels, 5).double()
    part = torch.nn.functional.one_hot(partner, 5).double()
    assert best_fusion_weight(context, part, labels, [2, 3], [0, 1]) == 0.6
    # with the roles swapped only w < 0.5 is right; 0.4 is nearest 0.5
    assert best_fusion_weight(part, context, labels, [2, 3], [0, 1]) == 0.4
    # an ignored class cannot move the choice: its row is wrong in every fusion
    context[5] = torch.nn.functional.one_hot(torch.tensor(1), 5)
    assert best_fusion_weight(context, part, labels, [2, 3], [0, 1]) == 0.6


# ----------------------------------------------------------------------------------------------
# either branch, confusion, clusters
# ----------------------------------------------------------------------------------------------
def test_either_branch_accuracy():
    # on unseen rows 3, 4, 5 branch A is ✓ ✓ ✗; branch B predicts 3 ✗, 2 ✗, 3 ✓
    scores_b = SCORES.clone()
    scores_b[3:, 2:] = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    assert zsl_accuracy(scores_b, LABELS, UNSEEN) == approx(1 / 3)
    assert either_branch_accuracy(SCORES, scores_b, LABELS, UNSEEN) == 1.0
    assert either_branch_accuracy(SCORES, SCORES, LABELS, UNSEEN) == approx(2 / 3)
    with pytest.raises(ValueError, match="same shape"):
        either_branch_accuracy(SCORES, SCORES[:, :3], LABELS, [2])


def test_confusion_matrix():
    cm = confusion_matrix(torch.tensor([0, 1, 1, 2, 0]), torch.tensor([0, 0, 1, 2, 2]), 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    assert cm.dtype == torch.long
    with pytest.raises(ValueError, match=r"pred must be class ids in \[0, 3\)"):
        confusion_matrix(torch.tensor([3]), torch.tensor([0]), 3)
    with pytest.raises(ValueError, match=r"labels must have shape \(2,\)"):
        confusion_matrix(torch.tensor([0, 1]), torch.tensor([0]), 3)


# rows (true) sum to 8, so every rate is an exact multiple of 1/8; class 0 is outside the candidate set
CONFUSION = torch.tensor(
    [
        [4, 4, 0, 0, 0],
        [0, 5, 2, 1, 0],
        [0, 0, 6, 0, 2],
        [0, 1, 0, 5, 2],
        [0, 0, 1, 0, 7],
    ]
)


def test_similar_class_clusters():
    # symmetric affinity R[i, j] + R[j, i] over {1..4}: (1,2) 2/8, (1,3) 1/8+1/8, (1,4) 0, (2,3) 0,
    # (2,4) 2/8+1/8, (3,4) 2/8; ties go to the lower id
    expected = [(1, 2, 3), (2, 4, 1), (3, 1, 4), (4, 2, 3)]
    assert similar_class_clusters(CONFUSION, [1, 2, 3, 4], size=3) == expected
    assert similar_class_clusters(CONFUSION.float(), torch.tensor([False, True, True, True, True]), size=3) == expected
    assert similar_class_clusters(CONFUSION, [4, 3, 2, 1], size=2) == [(1, 2), (2, 4), (3, 1), (4, 2)]
    # with class 0 among the candidates, class 1's strongest confuser is 0 (R[0, 1] = 1/2)
    assert similar_class_clusters(CONFUSION, range(5), size=2)[1] == (1, 0)
    with pytest.raises(ValueError, match=r"size must be an int in \[1, 4\]"):
        similar_class_clusters(CONFUSION, [1, 2, 3, 4], size=5)
    with pytest.raises(ValueError, match="square"):
        similar_class_clusters(CONFUSION[:3], [1, 2])


def test_cluster_difficulty():
    per_class = torch.tensor([0.9, 0.1, 0.5, 0.3, 0.7, 0.2])
    clusters = [(0, 1), (2, 3), (4,), (1, 5), (0, 4)]  # means 0.5, 0.4, 0.7, 0.15, 0.8
    levels = cluster_difficulty(clusters, per_class)
    assert list(levels) == ["easy", "medium", "hard"]
    assert levels == {"hard": [(1, 5), (2, 3)], "medium": [(0, 1), (4,)], "easy": [(0, 4)]}
    six = cluster_difficulty([*clusters, (2,)], {i: float(v) for i, v in enumerate(per_class)})
    assert [len(six[k]) for k in ("hard", "medium", "easy")] == [2, 2, 2]
    assert six["medium"] == [(0, 1), (2,)]  # 0.5 (first by stable order), 0.5
    assert cluster_difficulty([], per_class) == {"easy": [], "medium": [], "hard": []}
    with pytest.raises(ValueError, match="nan for class 1"):
        cluster_difficulty([(0, 1)], torch.tensor([0.5, math.nan]))
    with pytest.raises(ValueError, match="no value for class 7"):
        cluster_difficulty([(0, 7)], per_class)


def test_cluster_accuracy():
    assert cluster_accuracy(SCORES, LABELS, (2, 3)) == approx(2 / 3)
    # rows 0, 1, 2 over {0, 1}: 0 ✓, 0 ✗ (label 1), 1 ✓
    assert cluster_accuracy(SCORES, LABELS, (0, 1)) == approx(2 / 3)
    assert cluster_accuracy(SCORES, LABELS, (0, 1), average="class") == approx(0.75)
    # rows 0 and 3 over {0, 2}: [5, 3] -> 0 ✓, [1, 3] -> 2 ✓
    assert cluster_accuracy(SCORES, LABELS, (0, 2)) == 1.0


# ----------------------------------------------------------------------------------------------
# collection metric
# ----------------------------------------------------------------------------------------------
class TestZeroShotScores:
    def test_concatenates_updates(self):
        m = ZeroShotScores()
        m.update(SCORES[:4], LABELS[:4])
        m.update(SCORES[4:], LABELS[4:].int())
        scores, labels = m.compute()
        assert torch.equal(scores, SCORES) and torch.equal(labels, LABELS)
        assert labels.dtype == torch.long
        m.reset()
        with pytest.warns(UserWarning, match="called before the ``update``"):
            scores, labels = m.compute()
        assert scores.numel() == 0 and labels.numel() == 0

    def test_trailing_dims_per_branch(self):
        m = ZeroShotScores()
        m.update(torch.zeros(2, 3, 5, dtype=torch.float16), torch.tensor([0, 1]))
        m.update(torch.ones(1, 3, 5), torch.tensor([4]))
        scores, labels = m.compute()
        assert scores.shape == (3, 3, 5) and scores.dtype == torch.float32
        assert labels.tolist() == [0, 1, 4]
        with pytest.raises(ValueError, match=r"trailing shape \(3, 5\)"):
            m.update(torch.ones(1, 5), torch.tensor([0]))

    def test_bad_inputs(self):
        m = ZeroShotScores()
        with pytest.raises(ValueError, match=r"labels must be \(2,\)"):
            m.update(torch.zeros(2, 4), torch.tensor([0, 1, 2]))
        with pytest.raises(ValueError, match=r"scores must be \(B, C\)"):
            m.update(torch.zeros(4), torch.tensor([0, 1, 2, 3]))
        with pytest.raises(ValueError, match="integer class ids"):
            m.update(torch.zeros(2, 4), torch.tensor([0.0, 1.0]))


# ----------------------------------------------------------------------------------------------
# bad inputs
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: zsl_accuracy(SCORES[0], LABELS, UNSEEN), r"scores must be \(N, C\) class scores, got shape \(4,\)"),
        (lambda: zsl_accuracy(SCORES, LABELS[:5], UNSEEN), r"labels must have shape \(6,\), got \(5,\)"),
        (lambda: zsl_accuracy(SCORES, LABELS.float(), UNSEEN), "integer class ids"),
        (
            lambda: zsl_accuracy(SCORES, LABELS + 1, UNSEEN),
            r"labels must be class ids in \[0, 4\), got values in \[1, 4\]",
        ),
        (lambda: zsl_accuracy(SCORES, LABELS, [2, 9]), r"unseen must be class ids in \[0, 4\)"),
        (lambda: zsl_accuracy(SCORES, LABELS, torch.tensor([True, False])), r"bool mask must have shape \(4,\)"),
        (lambda: zsl_accuracy(SCORES, LABELS, []), "at least one class"),
        (lambda: zsl_accuracy(SCORES, LABELS, [2.5]), "integer class ids or a bool mask"),
        (lambda: zsl_accuracy(SCORES, LABELS, UNSEEN, average="macro"), "average must be 'sample' or 'class'"),
        (lambda: gzsl_accuracy(SCORES, LABELS, UNSEEN, seen=[1, 2]), r"disjoint, both contain \[2\]"),
        (lambda: gzsl_accuracy(SCORES, LABELS, [0, 1, 2, 3]), "no seen classes"),
        (lambda: gzsl_accuracy(SCORES, LABELS, UNSEEN, gamma=math.nan), "gamma must be a number"),
        (lambda: ausuc(torch.full((6, 4), math.nan), LABELS, UNSEEN), "scores contain NaN"),
    ],
)
def test_bad_inputs_raise_clear_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
