# ruff: noqa: RUF002, RUF003
"""Zero-shot action-recognition metrics: ZSL top-1, GZSL S/U/H with calibrated stacking, the seen-unseen curve.

Every function takes class ``scores`` ``(N, C)`` over *all* ``C`` classes of the dataset (higher is better),
``labels`` ``(N,)`` holding original class ids, and the set of ``unseen`` class ids (a sequence of ids, an
integer tensor of ids, or a bool mask ``(C,)``). The seen classes are the complement, unless a ``seen`` set is
given (then columns in neither set are ignored, e.g. the real unseen classes during a validation re-split).

* **ZSL** (:func:`zsl_accuracy`): rows whose label is unseen, argmax over the unseen columns only.
* **GZSL** (:func:`gzsl_accuracy`): calibrated stacking (Chao et al., 2016),
  ``ŷ = argmax_c [s_c − γ·𝟙(c ∈ seen)]`` over seen ∪ unseen; ``S`` is the accuracy on seen-label rows,
  ``U`` on unseen-label rows and ``H = 2SU / (S + U)``.
* **Seen-unseen curve** (:func:`seen_unseen_curve`, :func:`ausuc`): for each row the prediction flips from its
  best seen to its best unseen class at ``γ = max_seen s − max_unseen s``, so the curve is piecewise constant
  and computed exactly from those breakpoints; AUSUC is its trapezoid area in the (U, S) plane.
* **γ selection** (:func:`best_gamma`): the γ maximising ``H``; call it on validation scores only.
* **Similar classes** (:func:`similar_class_clusters`, :func:`cluster_difficulty`, :func:`cluster_accuracy`):
  SkeletonContext's Table 4 protocol (clusters of mutually confused unseen classes, split into difficulty levels).
* :class:`ZeroShotScores` collects scores and labels over an epoch (and across DDP ranks).

Accuracies are fractions in ``[0, 1]``; an empty set of evaluated rows gives ``nan``. ``average="sample"`` (the
default, as in every public codebase) averages over rows; ``average="class"`` averages the per-class accuracies
of the classes present among the evaluated rows.

Example:
    >>> import torch
    >>> scores = torch.tensor([[0.9, 0.1, 0.5, 0.0],   # label 0 (seen)
    ...                        [0.2, 0.8, 0.7, 0.1],   # label 2 (unseen): seen class 1 wins by 0.1
    ...                        [0.1, 0.3, 0.2, 0.6]])  # label 3 (unseen)
    >>> labels, unseen = torch.tensor([0, 2, 3]), [2, 3]
    >>> zsl_accuracy(scores, labels, unseen)
    1.0
    >>> gzsl_accuracy(scores, labels, unseen)             # γ = 0: row 1 goes to seen class 1
    GZSLResult(seen=1.0, unseen=0.5, harmonic=0.6666666666666666)
    >>> [round(v, 3) for v in gzsl_accuracy(scores, labels, unseen, gamma=0.15)]
    [1.0, 1.0, 1.0]
    >>> round(ausuc(scores, labels, unseen), 3)
    1.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, NamedTuple

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

__all__ = [
    "GZSLResult",
    "ZeroShotScores",
    "ausuc",
    "best_fusion_weight",
    "best_gamma",
    "cluster_accuracy",
    "cluster_difficulty",
    "confusion_matrix",
    "either_branch_accuracy",
    "fuse_scores",
    "gzsl_accuracy",
    "seen_unseen_curve",
    "similar_class_clusters",
    "zsl_accuracy",
]

Average = Literal["sample", "class"]
LEVELS = ("easy", "medium", "hard")


class GZSLResult(NamedTuple):
    """Generalised zero-shot accuracies: ``seen`` (S), ``unseen`` (U) and their harmonic mean (H), fractions."""

    seen: float
    unseen: float
    harmonic: float


# ----------------------------------------------------------------------------------------------
# input handling
# ----------------------------------------------------------------------------------------------
def _check_average(average: str) -> None:
    if average not in ("sample", "class"):
        raise ValueError(f"average must be 'sample' or 'class', got {average!r}")


def _check_labels(labels: Tensor, n: int, num_classes: int, name: str = "labels") -> Tensor:
    """Validate integer class ids ``(n,)`` in ``[0, num_classes)`` and return them as ``long``."""
    if not isinstance(labels, Tensor):
        raise TypeError(f"{name} must be a tensor, got {type(labels).__name__}")
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},), got {tuple(labels.shape)}")
    if labels.dtype == torch.bool or labels.is_floating_point() or labels.is_complex():
        raise ValueError(f"{name} must hold integer class ids, got dtype {labels.dtype}")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise ValueError(
            f"{name} must be class ids in [0, {num_classes}), got values in [{int(labels.min())}, {int(labels.max())}]"
        )
    return labels.long()


def _check_scores(scores: Tensor, labels: Tensor, name: str = "scores") -> tuple[Tensor, Tensor]:
    """Validate ``scores`` ``(N, C)`` and ``labels`` ``(N,)``; labels are moved to the scores' device."""
    if not isinstance(scores, Tensor):
        raise TypeError(f"{name} must be a tensor, got {type(scores).__name__}")
    if scores.ndim != 2 or scores.shape[1] == 0:
        raise ValueError(f"{name} must be (N, C) class scores, got shape {tuple(scores.shape)}")
    if scores.is_complex() or scores.dtype == torch.bool:
        raise ValueError(f"{name} must be real-valued, got dtype {scores.dtype}")
    if scores.is_floating_point() and bool(torch.isnan(scores).any()):
        raise ValueError(f"{name} contain NaN")
    if isinstance(labels, Tensor):
        labels = labels.to(scores.device)
    labels = _check_labels(labels, scores.shape[0], scores.shape[1])
    return scores, labels


def _class_mask(classes: Sequence[int] | Tensor, num_classes: int, device: torch.device, name: str) -> Tensor:
    """A bool mask ``(C,)`` from class ids (a sequence or integer tensor) or from a bool mask ``(C,)``."""
    t = classes.detach() if isinstance(classes, Tensor) else torch.as_tensor(list(classes))
    if t.dtype == torch.bool:
        if t.shape != (num_classes,):
            raise ValueError(f"{name} as a bool mask must have shape ({num_classes},), got {tuple(t.shape)}")
        return t.to(device)
    mask = torch.zeros(num_classes, dtype=torch.bool, device=device)
    if t.numel() == 0:
        return mask
    if t.is_floating_point() or t.is_complex() or t.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D list of integer class ids or a bool mask, got {t.dtype} {tuple(t.shape)}"
        )
    if int(t.min()) < 0 or int(t.max()) >= num_classes:
        raise ValueError(
            f"{name} must be class ids in [0, {num_classes}), got values in [{int(t.min())}, {int(t.max())}]"
        )
    mask[t.to(device).long()] = True
    return mask


def _split_masks(
    unseen: Sequence[int] | Tensor, seen: Sequence[int] | Tensor | None, num_classes: int, device: torch.device
) -> tuple[Tensor, Tensor]:
    """Non-empty, disjoint ``(unseen, seen)`` bool masks; ``seen`` defaults to the complement of ``unseen``."""
    unseen_mask = _class_mask(unseen, num_classes, device, "unseen")
    seen_mask = ~unseen_mask if seen is None else _class_mask(seen, num_classes, device, "seen")
    if not unseen_mask.any():
        raise ValueError("unseen must name at least one class")
    if not seen_mask.any():
        raise ValueError(f"no seen classes: unseen covers all {num_classes} classes")
    if (unseen_mask & seen_mask).any():
        both = torch.nonzero(unseen_mask & seen_mask).flatten().tolist()
        raise ValueError(f"seen and unseen classes must be disjoint, both contain {both}")
    return unseen_mask, seen_mask


def _restricted_argmax(scores: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Best class id among the columns of ``mask`` and its score, ``(N,)`` each; ties go to the lowest id."""
    ids = torch.nonzero(mask).flatten()
    sub = scores[:, ids]
    idx = sub.argmax(1) if sub.shape[0] else torch.zeros(0, dtype=torch.long, device=scores.device)
    return ids[idx], sub.gather(1, idx[:, None]).squeeze(1)


def _accuracy(correct: Tensor, labels: Tensor, num_classes: int, average: str) -> float:
    """Sample- or class-averaged accuracy of the ``correct`` flags ``(n,)`` of rows with ``labels`` ``(n,)``."""
    if correct.numel() == 0:
        return math.nan
    if average == "sample":
        return float(correct.double().mean())
    counts = torch.bincount(labels, minlength=num_classes)
    hits = torch.bincount(labels, weights=correct.double(), minlength=num_classes)
    present = counts > 0
    return float((hits[present] / counts[present]).mean())


def _harmonic(seen: float, unseen: float) -> float:
    if math.isnan(seen) or math.isnan(unseen):
        return math.nan
    return 0.0 if seen + unseen == 0 else 2.0 * seen * unseen / (seen + unseen)


class _Stacking(NamedTuple):
    """Per-row quantities that determine the calibrated-stacking prediction for every γ."""

    margin: Tensor  # (N,) float64: best seen score − best unseen score; the row predicts unseen iff margin <= γ
    seen_hit: Tensor  # (N,) bool: the best seen class is the label (so the row is correct while γ < margin)
    unseen_hit: Tensor  # (N,) bool: the best unseen class is the label (so the row is correct once γ >= margin)
    seen_rows: Tensor  # (N,) bool: the label is a seen class
    unseen_rows: Tensor  # (N,) bool: the label is an unseen class


def _stacking(
    scores: Tensor, labels: Tensor, unseen: Sequence[int] | Tensor, seen: Sequence[int] | Tensor | None
) -> _Stacking:
    scores, labels = _check_scores(scores, labels)
    unseen_mask, seen_mask = _split_masks(unseen, seen, scores.shape[1], scores.device)
    best_seen, seen_score = _restricted_argmax(scores, seen_mask)
    best_unseen, unseen_score = _restricted_argmax(scores, unseen_mask)
    return _Stacking(
        margin=seen_score.double() - unseen_score.double(),
        seen_hit=best_seen == labels,
        unseen_hit=best_unseen == labels,
        seen_rows=seen_mask[labels],
        unseen_rows=unseen_mask[labels],
    )


def _row_weights(labels: Tensor, rows: Tensor, num_classes: int, average: str) -> tuple[Tensor, Tensor]:
    """Per-row weights ``(N,)`` (zero outside ``rows``) and the divisor that turns their sum into an accuracy.

    Sample averaging weighs every row 1 and divides by the row count, so partial sums are exact integers.
    """
    if average == "sample":
        return rows.double(), rows.sum().double().clamp_min(1)
    counts = torch.bincount(labels[rows], minlength=num_classes).double()
    return torch.where(rows, 1.0 / counts[labels].clamp_min(1), 0.0), (counts > 0).sum().double().clamp_min(1)


def _accuracies_at(
    st: _Stacking, labels: Tensor, num_classes: int, average: str, gammas: Tensor
) -> tuple[Tensor, Tensor]:
    """Seen and unseen accuracy ``(G,)`` at every γ of ``gammas`` ``(G,)``, without a loop over γ."""

    def mass_at_or_below(hit: Tensor, weights: Tensor) -> tuple[Tensor, Tensor]:
        # cumulative weight of the hit rows whose margin is <= gamma, for every gamma; and the total weight
        margins, order = torch.sort(st.margin[hit])
        cum = torch.cat([weights.new_zeros(1), torch.cumsum(weights[hit][order], 0)])
        return cum[torch.searchsorted(margins, gammas, right=True)], cum[-1]

    w_seen, n_seen = _row_weights(labels, st.seen_rows, num_classes, average)
    w_unseen, n_unseen = _row_weights(labels, st.unseen_rows, num_classes, average)
    below, total = mass_at_or_below(st.seen_hit & st.seen_rows, w_seen)
    seen_acc = (total - below) / n_seen  # seen rows are right while gamma < margin
    unseen_acc = mass_at_or_below(st.unseen_hit & st.unseen_rows, w_unseen)[0] / n_unseen
    return seen_acc, unseen_acc


# ----------------------------------------------------------------------------------------------
# ZSL and GZSL
# ----------------------------------------------------------------------------------------------
def zsl_accuracy(scores: Tensor, labels: Tensor, unseen: Sequence[int] | Tensor, average: Average = "sample") -> float:
    """Zero-shot top-1 accuracy: rows whose label is unseen, argmax restricted to the unseen classes.

    Args:
        scores: class scores ``(N, C)`` over all classes, higher is better.
        labels: original class ids ``(N,)``.
        unseen: unseen class ids, or a bool mask ``(C,)``.
        average: ``"sample"`` (mean over rows, the standard number) or ``"class"`` (mean of per-class accuracies).

    Returns:
        The accuracy in ``[0, 1]``; ``nan`` when no row has an unseen label.

    Raises:
        ValueError: on bad shapes, out-of-range ids, an empty unseen set or an unknown ``average``.
    """
    _check_average(average)
    scores, labels = _check_scores(scores, labels)
    mask = _class_mask(unseen, scores.shape[1], scores.device, "unseen")
    if not mask.any():
        raise ValueError("unseen must name at least one class")
    rows = mask[labels]
    pred, _ = _restricted_argmax(scores[rows], mask)
    return _accuracy(pred == labels[rows], labels[rows], scores.shape[1], average)


def gzsl_accuracy(
    scores: Tensor,
    labels: Tensor,
    unseen: Sequence[int] | Tensor,
    gamma: float = 0.0,
    average: Average = "sample",
    seen: Sequence[int] | Tensor | None = None,
) -> GZSLResult:
    """Generalised zero-shot S / U / H with calibrated stacking ``argmax_c [s_c − γ·𝟙(c ∈ seen)]``.

    The prediction is the best seen class when ``max_seen s − max_unseen s > γ`` and the best unseen class
    otherwise, so an exact tie between the two calibrated scores goes to the unseen class (this is the rule of
    :func:`seen_unseen_curve`, which makes the curve's values equal to this function's at every breakpoint).

    Args:
        scores: class scores ``(N, C)`` over all classes, higher is better.
        labels: original class ids ``(N,)``.
        unseen: unseen class ids, or a bool mask ``(C,)``.
        gamma: the calibration γ subtracted from the seen classes' scores (``0`` is plain GZSL; ``±inf`` allowed).
        average: ``"sample"`` (the standard, sample-averaged S and U) or ``"class"`` (per-class mean).
        seen: seen class ids or mask; default all classes not in ``unseen``. Columns and rows of classes in
            neither set are ignored.

    Returns:
        ``GZSLResult(seen, unseen, harmonic)``; ``harmonic`` is ``0`` when S and U are both ``0``, and a part
        with no rows is ``nan`` (and so is H).

    Raises:
        ValueError: on bad shapes, out-of-range or overlapping class sets, a NaN γ or an unknown ``average``.
    """
    _check_average(average)
    gamma = float(gamma)
    if math.isnan(gamma):
        raise ValueError("gamma must be a number, got nan")
    st = _stacking(scores, labels, unseen, seen)
    labels = labels.to(st.margin.device).long()
    correct = torch.where(st.margin <= gamma, st.unseen_hit, st.seen_hit)
    num_classes = scores.shape[1]
    s = _accuracy(correct[st.seen_rows], labels[st.seen_rows], num_classes, average)
    u = _accuracy(correct[st.unseen_rows], labels[st.unseen_rows], num_classes, average)
    return GZSLResult(s, u, _harmonic(s, u))


def seen_unseen_curve(
    scores: Tensor,
    labels: Tensor,
    unseen: Sequence[int] | Tensor,
    average: Average = "sample",
    seen: Sequence[int] | Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """The exact seen-unseen accuracy curve of calibrated stacking, over every γ where a prediction flips.

    Row ``i`` predicts its best seen class for ``γ < m_i`` and its best unseen class for ``γ ≥ m_i``, where
    ``m_i = max_seen s_i − max_unseen s_i``. The accuracies are therefore constant between consecutive sorted
    margins; the curve lists ``γ = −inf``, every distinct margin, and ``γ = +inf``, with the accuracies
    :func:`gzsl_accuracy` gives at exactly that γ (at a margin: the value just above it).

    Args:
        scores: class scores ``(N, C)`` over all classes, higher is better.
        labels: original class ids ``(N,)``; both seen and unseen labels must occur.
        unseen: unseen class ids, or a bool mask ``(C,)``.
        average: ``"sample"`` or ``"class"``, as in :func:`gzsl_accuracy`.
        seen: seen class ids or mask; default all classes not in ``unseen``.

    Returns:
        ``(gammas, seen_acc, unseen_acc)``, float64 tensors of shape ``(K + 2,)`` for ``K`` distinct margins:
        ``gammas`` ascending; ``seen_acc`` non-increasing from the seen-only accuracy to ``0``; ``unseen_acc``
        non-decreasing from ``0`` (unless some margin is ``−inf``) to the ZSL accuracy.

    Raises:
        ValueError: on bad inputs, or when no row has a seen label or none an unseen label.
    """
    _check_average(average)
    st = _stacking(scores, labels, unseen, seen)
    if not st.seen_rows.any() or not st.unseen_rows.any():
        raise ValueError("the seen-unseen curve needs rows with seen labels and rows with unseen labels")
    labels = labels.to(st.margin.device).long()
    inf = st.margin.new_full((1,), math.inf)
    gammas = torch.cat([-inf, torch.unique(st.margin), inf])
    seen_acc, unseen_acc = _accuracies_at(st, labels, scores.shape[1], average, gammas)
    return gammas, seen_acc, unseen_acc


def ausuc(
    scores: Tensor,
    labels: Tensor,
    unseen: Sequence[int] | Tensor,
    average: Average = "sample",
    seen: Sequence[int] | Tensor | None = None,
) -> float:
    """Area under the seen-unseen accuracy curve (AUSUC, Chao et al., 2016), by the trapezoid rule, in ``[0, 1]``.

    The area is taken in the (unseen accuracy, seen accuracy) plane over the exact curve of
    :func:`seen_unseen_curve`, so it equals the limit of a dense γ sweep; where several rows flip at the same γ
    and both accuracies change, the trapezoid joins the two plateaus by a straight segment.

    Args:
        scores: class scores ``(N, C)`` over all classes, higher is better.
        labels: original class ids ``(N,)``; both seen and unseen labels must occur.
        unseen: unseen class ids, or a bool mask ``(C,)``.
        average: ``"sample"`` or ``"class"``, as in :func:`gzsl_accuracy`.
        seen: seen class ids or mask; default all classes not in ``unseen``.

    Returns:
        The area, a float in ``[0, 1]``.
    """
    _, s, u = seen_unseen_curve(scores, labels, unseen, average, seen)
    return float(((u[1:] - u[:-1]) * (s[1:] + s[:-1]) / 2).sum())


def best_gamma(
    scores: Tensor,
    labels: Tensor,
    unseen: Sequence[int] | Tensor,
    average: Average = "sample",
    seen: Sequence[int] | Tensor | None = None,
) -> tuple[float, GZSLResult]:
    """The calibration γ that maximises the harmonic mean H, searched exactly over the seen-unseen curve.

    Call it on **validation** scores only (a seen-class re-split whose held-out classes play the unseen role,
    passed as ``unseen``, with ``seen`` the remaining training classes), then apply the γ to the test set.
    Choosing γ on the test scores is an oracle and may only be reported as such.

    H is constant between consecutive breakpoints of :func:`seen_unseen_curve`; each interval is represented by
    its midpoint, the two unbounded ones by the extreme breakpoints ``∓ 1``. Ties in H go to the interval nearest
    ``γ = 0`` (then to the smaller ``|γ|``), i.e. to the least calibration.

    Args:
        scores: class scores ``(N, C)`` over all classes, higher is better.
        labels: original class ids ``(N,)``; both seen and unseen labels must occur.
        unseen: unseen (or pseudo-unseen) class ids, or a bool mask ``(C,)``.
        average: ``"sample"`` or ``"class"``, as in :func:`gzsl_accuracy`.
        seen: seen class ids or mask; default all classes not in ``unseen``.

    Returns:
        ``(gamma, result)``: the chosen γ and :func:`gzsl_accuracy` at that γ.
    """
    _check_average(average)
    st = _stacking(scores, labels, unseen, seen)
    if not st.seen_rows.any() or not st.unseen_rows.any():
        raise ValueError("best_gamma needs rows with seen labels and rows with unseen labels")
    labels_long = labels.to(st.margin.device).long()
    b = torch.unique(st.margin)
    candidates = torch.cat([b[:1] - 1.0, (b[:-1] + b[1:]) / 2, b[-1:] + 1.0])
    inf = b.new_full((1,), math.inf)
    lo, hi = torch.cat([-inf, b]), torch.cat([b, inf])  # candidate k stands for gamma in [lo_k, hi_k)
    s, u = _accuracies_at(st, labels_long, scores.shape[1], average, candidates)
    h = torch.where(s + u > 0, 2 * s * u / (s + u).clamp_min(1e-300), 0.0)
    tied = h >= h.max() - 1e-12
    distance = torch.where((lo <= 0) & (hi > 0), 0.0, torch.minimum(lo.abs(), hi.abs()))  # of [lo, hi) to 0
    key = torch.where(tied, distance, math.inf)
    near = key == key.min()
    idx = int(torch.where(near, candidates.abs(), math.inf).argmin())
    gamma = float(candidates[idx])
    return gamma, gzsl_accuracy(scores, labels, unseen, gamma=gamma, average=average, seen=seen)


def fuse_scores(context: Tensor, part: Tensor, weight: float | Tensor) -> Tensor:
    """``w·context + (1 − w)·part``; a weight of exactly 0 or 1 returns one branch (no ``0 · -inf`` NaN)."""
    w = float(weight)
    if w == 0.0:
        return part
    if w == 1.0:
        return context
    return w * context + (1 - w) * part


def best_fusion_weight(
    context: Tensor,
    part: Tensor,
    labels: Tensor,
    unseen: Sequence[int],
    seen: Sequence[int],
    grid: Sequence[float] = tuple(k / 10 for k in range(11)),
) -> float:
    """The weight ``w`` of ``w·context + (1 − w)·part`` with the best validation scores, searched over ``grid``.

    Call it on **validation** scores (``unseen`` the pseudo-unseen classes, ``seen`` the training classes); rows
    of other classes are ignored. The key is the harmonic mean at the best calibration (:func:`best_gamma`), then
    the ZSL top-1 accuracy, then nearness to ``w = 0.5`` (the equal-weight default).
    """
    keep = torch.isin(labels, torch.as_tensor([*seen, *unseen], device=labels.device))
    c, p, y = context[keep], part[keep], labels[keep]
    best, best_key = 0.5, None
    for w in grid:
        fused = fuse_scores(c, p, w)
        h = best_gamma(fused, y, unseen, seen=seen)[1].harmonic
        key = (round(h, 9), round(zsl_accuracy(fused, y, unseen), 9), -abs(w - 0.5))
        if best_key is None or key > best_key:
            best, best_key = float(w), key
    return best


def either_branch_accuracy(
    scores_a: Tensor,
    scores_b: Tensor,
    labels: Tensor,
    unseen: Sequence[int] | Tensor,
    average: Average = "sample",
) -> float:
    """Neuron-protocol "either branch correct" ZSL accuracy: a row counts if branch A *or* branch B is right.

    This is the OR of two classifiers, an optimistic oracle-style upper bound, not the accuracy of any single
    prediction. Report it only as a labelled extra ("Neuron-protocol (either branch)"), never as the primary
    metric, which is :func:`zsl_accuracy` on one prediction from fused scores.

    Args:
        scores_a: class scores ``(N, C)`` of the first branch.
        scores_b: class scores ``(N, C)`` of the second branch.
        labels: original class ids ``(N,)``.
        unseen: unseen class ids, or a bool mask ``(C,)``.
        average: ``"sample"`` or ``"class"``.

    Returns:
        The accuracy in ``[0, 1]``; ``nan`` when no row has an unseen label.
    """
    _check_average(average)
    scores_a, labels = _check_scores(scores_a, labels, "scores_a")
    if not isinstance(scores_b, Tensor) or scores_a.shape != scores_b.shape:
        got = tuple(scores_b.shape) if isinstance(scores_b, Tensor) else type(scores_b).__name__
        raise ValueError(f"scores_a and scores_b must have the same shape, got {tuple(scores_a.shape)} and {got}")
    scores_b, _ = _check_scores(scores_b.to(scores_a.device), labels, "scores_b")
    mask = _class_mask(unseen, scores_a.shape[1], scores_a.device, "unseen")
    if not mask.any():
        raise ValueError("unseen must name at least one class")
    rows = mask[labels]
    pred_a, _ = _restricted_argmax(scores_a[rows], mask)
    pred_b, _ = _restricted_argmax(scores_b[rows], mask)
    y = labels[rows]
    return _accuracy((pred_a == y) | (pred_b == y), y, scores_a.shape[1], average)


# ----------------------------------------------------------------------------------------------
# confusion and similar-class clusters (SkeletonContext Table 4)
# ----------------------------------------------------------------------------------------------
def confusion_matrix(pred: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    """Confusion counts ``(C, C)``: entry ``[i, j]`` is the number of rows of true class ``i`` predicted ``j``.

    Args:
        pred: predicted class ids ``(N,)``.
        labels: true class ids ``(N,)``.
        num_classes: ``C``.

    Returns:
        A ``long`` tensor ``(C, C)`` whose rows sum to the per-class sample counts.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    if not isinstance(pred, Tensor):
        raise TypeError(f"pred must be a tensor, got {type(pred).__name__}")
    if pred.ndim != 1:
        raise ValueError(f"pred must have shape (N,), got {tuple(pred.shape)}")
    pred = _check_labels(pred, pred.shape[0], num_classes, "pred")
    labels = _check_labels(labels.to(pred.device) if isinstance(labels, Tensor) else labels, pred.shape[0], num_classes)
    flat = torch.bincount(labels * num_classes + pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def similar_class_clusters(confusion: Tensor, classes: Sequence[int] | Tensor, size: int = 4) -> list[tuple[int, ...]]:
    """Clusters of mutually confused classes: each class of ``classes`` with its ``size − 1`` worst confusers.

    SkeletonContext (§4.4, Table 4) takes every unseen class as an anchor and groups it with the three classes a
    baseline (FS-VAE) confuses it with most, from the baseline's confusion matrix. The paper does not say in which
    direction confusion is read, so both are counted: with ``R`` the row-normalised confusion (``R[i, j]`` = the
    fraction of class ``i``'s samples predicted as ``j``), the affinity is ``R[i, j] + R[j, i]``. Candidates are
    restricted to ``classes``; ties go to the lower class id. Clusters may overlap and are not deduplicated (one
    per anchor, as in the paper).

    Args:
        confusion: confusion counts or rates ``(C, C)``, rows = true class (:func:`confusion_matrix`).
        classes: the anchor and candidate class ids (the unseen classes), or a bool mask ``(C,)``.
        size: classes per cluster, the anchor included (the paper: 4).

    Returns:
        One tuple ``(anchor, most confused, …)`` per anchor, anchors in ascending id order.
    """
    if not isinstance(confusion, Tensor):
        raise TypeError(f"confusion must be a tensor, got {type(confusion).__name__}")
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"confusion must be a square (C, C) matrix, got shape {tuple(confusion.shape)}")
    conf = confusion.double()
    if not bool(torch.isfinite(conf).all()) or bool((conf < 0).any()):
        raise ValueError("confusion must hold finite, non-negative counts")
    ids = torch.nonzero(_class_mask(classes, conf.shape[0], conf.device, "classes")).flatten()
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= len(ids):
        raise ValueError(f"size must be an int in [1, {len(ids)}] (the number of classes), got {size!r}")
    rates = conf / conf.sum(1, keepdim=True).clamp_min(1e-300)
    sub = rates[ids][:, ids]
    affinity = (sub + sub.t()).fill_diagonal_(-math.inf)
    order = torch.sort(affinity, dim=1, descending=True, stable=True).indices[:, : size - 1]
    members = ids[order].tolist()
    return [(int(a), *(int(c) for c in m)) for a, m in zip(ids.tolist(), members, strict=True)]


def cluster_difficulty(
    clusters: Sequence[tuple[int, ...]], per_class_accuracy: Tensor | Sequence[float] | Mapping[int, float]
) -> dict[str, list[tuple[int, ...]]]:
    """Group clusters into ``"easy"`` / ``"medium"`` / ``"hard"`` levels by a baseline's accuracy on them.

    SkeletonContext sorts its clusters into Hard, Medium and Easy "in ascending order of recognition difficulty"
    by the baseline's results, without giving the cut points. We follow the brief: each cluster's difficulty is
    the mean of the baseline's per-class accuracies over its classes, clusters are sorted by it (ascending,
    stable), and the sorted list is cut into three contiguous terciles: ``hard`` the lowest, ``easy`` the
    highest. When the count is not a multiple of three the extra clusters go to ``hard``, then ``medium``.

    Args:
        clusters: from :func:`similar_class_clusters`.
        per_class_accuracy: the baseline's accuracy per class id: a tensor or sequence ``(C,)``, or a mapping.

    Returns:
        ``{"easy": [...], "medium": [...], "hard": [...]}``, each list in ascending order of mean accuracy.
    """

    def accuracy(c: int) -> float:
        try:
            value = float(per_class_accuracy[c])
        except (IndexError, KeyError, TypeError):
            raise ValueError(f"per_class_accuracy has no value for class {c}") from None
        if math.isnan(value):
            raise ValueError(f"per_class_accuracy is nan for class {c} (no baseline samples?)")
        return value

    if isinstance(per_class_accuracy, Tensor) and per_class_accuracy.ndim != 1:
        raise ValueError(f"per_class_accuracy must be (C,), got shape {tuple(per_class_accuracy.shape)}")
    means = []
    for cluster in clusters:
        if len(cluster) == 0:
            raise ValueError("clusters must not be empty")
        means.append(sum(accuracy(int(c)) for c in cluster) / len(cluster))
    order = sorted(range(len(clusters)), key=lambda i: means[i])
    n, out = len(order), {}
    bounds = [0]
    for k in range(3):
        bounds.append(bounds[-1] + n // 3 + (1 if k < n % 3 else 0))
    for k, level in enumerate(("hard", "medium", "easy")):
        out[level] = [tuple(int(c) for c in clusters[i]) for i in order[bounds[k] : bounds[k + 1]]]
    return {level: out[level] for level in LEVELS}


def cluster_accuracy(
    scores: Tensor, labels: Tensor, cluster: Sequence[int] | Tensor, average: Average = "sample"
) -> float:
    """Accuracy on the rows of the cluster's classes with the argmax restricted to them (a small ZSL problem).

    Args:
        scores: class scores ``(N, C)`` over all classes.
        labels: original class ids ``(N,)``.
        cluster: the class ids of one cluster (:func:`similar_class_clusters`).
        average: ``"sample"`` or ``"class"``.

    Returns:
        The accuracy in ``[0, 1]``; ``nan`` when no row belongs to the cluster.
    """
    return zsl_accuracy(scores, labels, cluster, average)


# ----------------------------------------------------------------------------------------------
# epoch-level collection
# ----------------------------------------------------------------------------------------------
class ZeroShotScores(Metric):
    """Collect class scores and labels over an evaluation epoch (and across DDP ranks) for the zero-shot metrics.

    The zero-shot metrics need all rows at once (the γ curve, class averages), so the scores are kept as ``"cat"``
    list states and :meth:`compute` returns them concatenated, gathered from every rank under DDP (a
    ``DistributedSampler`` may repeat a few samples to even out the ranks).

    Args:
        kwargs: forwarded to :class:`torchmetrics.Metric`.

    Example:
        >>> import torch
        >>> m = ZeroShotScores()
        >>> m.update(torch.rand(2, 5), torch.tensor([0, 3]))
        >>> m.update(torch.rand(1, 5), torch.tensor([4]))
        >>> scores, labels = m.compute()
        >>> tuple(scores.shape), labels.tolist()
        ((3, 5), [0, 3, 4])
    """

    is_differentiable: ClassVar[bool] = False
    higher_is_better: ClassVar[bool | None] = None
    full_state_update: ClassVar[bool] = False

    scores: list[Tensor]
    labels: list[Tensor]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("scores", default=[], dist_reduce_fx="cat")
        self.add_state("labels", default=[], dist_reduce_fx="cat")

    def update(self, scores: Tensor, labels: Tensor) -> None:
        """Add ``scores`` ``(B, C)`` (or ``(B, ..., C)``, e.g. one row per branch) and class ids ``labels`` ``(B,)``."""
        if not isinstance(scores, Tensor) or scores.ndim < 2:
            shape = tuple(scores.shape) if isinstance(scores, Tensor) else type(scores).__name__
            raise ValueError(f"scores must be (B, C) or (B, ..., C), got {shape}")
        if not isinstance(labels, Tensor) or labels.ndim != 1 or labels.shape[0] != scores.shape[0]:
            shape = tuple(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__
            raise ValueError(f"labels must be ({scores.shape[0]},) for scores {tuple(scores.shape)}, got {shape}")
        if labels.is_floating_point() or labels.dtype == torch.bool:
            raise ValueError(f"labels must hold integer class ids, got dtype {labels.dtype}")
        if self.scores and self.scores[0].shape[1:] != scores.shape[1:]:
            raise ValueError(
                f"scores must keep their trailing shape {tuple(self.scores[0].shape[1:])} across updates, "
                f"got {tuple(scores.shape[1:])}"
            )
        scores = scores.detach()
        self.scores.append(scores if scores.dtype == torch.float64 else scores.float())
        self.labels.append(labels.detach().long().to(scores.device))

    def compute(self) -> tuple[Tensor, Tensor]:
        """``(scores, labels)`` concatenated over all updates; empty tensors when nothing was added."""
        if isinstance(self.scores, list) and not self.scores:  # after a DDP sync the state is one tensor
            return torch.empty(0, device=self.device), torch.empty(0, dtype=torch.long, device=self.device)
        return dim_zero_cat(self.scores), dim_zero_cat(self.labels)
