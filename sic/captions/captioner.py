"""The posecode captioner: poses in, PoseScript-style descriptions out (a clean-room re-implementation).

:class:`PoseCaptioner` chains the canonical-frame adapter, the vectorised posecode evaluation, the
per-pose selection and aggregation, and the sentence writer. Every random choice of pose ``i``
comes from ``numpy.random.default_rng([seed, index[i]])``, so a caption depends only on the pose,
``seed``, ``index[i]`` and the options: a sharded or cached dataset regenerates identical text.

Example:
    >>> import numpy as np
    >>> from sic.captions.captioner import PoseCaptioner
    >>> cap = PoseCaptioner("smpl22")
    >>> len(cap.caption(np.zeros((2, 22, 3)) + np.arange(22)[None, :, None] * 0.01, seed=1))
    2
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sic.captions.aggregation import Phrase, aggregate, phrases_from_codes
from sic.captions.canonical import FootPolicy, FrameAdapter, YawSource, check_poses
from sic.captions.dice import Dice
from sic.captions.operators import Variant
from sic.captions.pairs import PairTable
from sic.captions.posecodes import CodeTable, PoseCodes
from sic.captions.selection import Code, compile_rules, select_codes
from sic.captions.text import Writer
from sic.utils.errors import ConfigError, DataError

__all__ = ["CaptionTrace", "PoseCaptioner"]


@dataclass
class CaptionTrace:
    """Everything that happened while captioning one pose (for tests and debugging).

    Args:
        text: the caption.
        candidates: names ``"code=class"`` of the describable codes (after support removal).
        skipped: codes removed by random skip.
        removed: rule name → codes removed by that rule (ripple effects).
        phrases: the aggregated phrases, in writing order; their ``ids`` cover every kept code.
        clauses: the text of each phrase, as it appears in ``text`` (up to capitalisation).
        kept: ids of the codes chosen for description.
    """

    text: str
    candidates: list[str]
    skipped: list[str]
    removed: dict[str, list[str]]
    phrases: list[Phrase]
    clauses: list[str]
    kept: list[int] = field(default_factory=list)


def _check_index(index: object, n: int) -> np.ndarray:
    if index is None:
        return np.arange(n)
    arr = np.asarray(index)
    if arr.shape != (n,) or (n and (arr.dtype.kind not in "iu" or arr.min() < 0)):
        got = f"shape {arr.shape} dtype {arr.dtype}"
        raise DataError(f"index must be {n} non-negative integers (one per pose), got {got}")
    return arr.astype(np.int64)


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"seed must be a non-negative int, got {seed!r}")
    return int(seed)


class PoseCaptioner:
    """Automatic pose captioner from 3D joint positions, after PoseScript (ECCV'22) and PoseFix (ICCV'23).

    Re-implemented from the papers' description; no PoseScript/PoseFix code, templates or resource
    files are used (they are CC BY-NC-SA). Only coordinate-based codes exist: rotation, contact
    and dataset-metadata codes are absent.

    Args:
        layout: input joint layout: ``"h36m17"``, ``"smpl22"`` or ``"smpl24"``.
        foot: for layouts without a toe joint: ``"synthesise"`` (ankle + 0.10 m forward, 0.05 m lower)
            or ``"disable"`` (every foot-dependent code is dropped).
        variant: ``"main"`` (5-class relativePos, bodyIncline) or ``"eccv"`` (3-class relativePos,
            no bodyIncline, the old "body bent" codes).
        simplified: switch off entity, symmetry and class-based aggregation, the flow omissions and the
            "the other ..." phrasing (focus-part aggregation stays).
        random_skip: probability of skipping each skippable code.
        ripple: apply the transitive and statistical ripple effects.
        scale_thresholds: divide metre-valued measurements by body size / 1.28 m (our addition, off by
            default; the reference thresholds are absolute).
        random_offsets: add the operators' uniform measurement noise (PoseScript's annotator
            subjectivity); ``False`` measures exactly.
        yaw_from: ``"hips"`` or ``"hips+shoulders"``: the line that defines the body's left.
    """

    def __init__(
        self,
        layout: str = "h36m17",
        foot: FootPolicy = "synthesise",
        variant: Variant = "main",
        simplified: bool = False,
        random_skip: float = 0.15,
        ripple: bool = True,
        scale_thresholds: bool = False,
        random_offsets: bool = True,
        yaw_from: YawSource = "hips",
    ) -> None:
        if variant not in ("main", "eccv"):
            raise ConfigError(f"variant must be 'main' or 'eccv', got {variant!r}")
        if isinstance(random_skip, bool) or not isinstance(random_skip, int | float) or not 0.0 <= random_skip <= 1.0:
            raise ConfigError(f"random_skip must be a probability in [0, 1], got {random_skip!r}")
        for name, value in (("simplified", simplified), ("ripple", ripple), ("scale_thresholds", scale_thresholds),
                            ("random_offsets", random_offsets)):  # fmt: skip
            if not isinstance(value, bool | np.bool_):
                raise ConfigError(f"{name} must be True or False, got {value!r}")
        self.adapter = FrameAdapter(layout, foot, yaw_from)
        self.layout, self.foot, self.variant = self.adapter.layout, foot, variant
        self.simplified, self.random_skip, self.ripple = bool(simplified), float(random_skip), bool(ripple)
        self.scale_thresholds, self.random_offsets = bool(scale_thresholds), bool(random_offsets)
        self.table = CodeTable(variant, self.adapter.feet)
        self.rules = compile_rules(self.table)
        self.pairs = PairTable(self.adapter.feet)

    def __repr__(self) -> str:
        return (f"PoseCaptioner(layout={self.layout!r}, foot={self.foot!r}, variant={self.variant!r}, "
                f"simplified={self.simplified}, random_skip={self.random_skip}, ripple={self.ripple}, "
                f"scale_thresholds={self.scale_thresholds}, random_offsets={self.random_offsets})")  # fmt: skip

    def _prepare(self, poses: object, seed: int, index: object, name: str = "poses") -> tuple:
        arr = check_poses(poses, self.adapter.num_joints, self.layout, name)
        return arr, _check_seed(seed), _check_index(index, arr.shape[0])

    def _rngs(self, seed: int, index: np.ndarray, stream: int = 0) -> list[np.random.Generator]:
        return [np.random.default_rng([seed, int(i), stream]) for i in index]

    def _evaluate(self, poses: np.ndarray, rngs: list[np.random.Generator], offsets: bool) -> PoseCodes:
        n_codes = len(self.table.specs)
        noise = np.stack([r.uniform(-1.0, 1.0, n_codes) for r in rngs]) if offsets and rngs else None
        return self.table.evaluate(self.adapter(poses), noise, self.scale_thresholds)

    def posecodes(
        self, poses: np.ndarray, seed: int = 0, index: np.ndarray | None = None, random_offsets: bool | None = None
    ) -> PoseCodes:
        """Measure and classify every posecode of every pose (vectorised over poses).

        Args:
            poses: ``(N, J, 3)`` or ``(J, 3)`` joints in metres, y up, any yaw and position.
            seed: seed of the per-pose measurement noise.
            index: ``(N,)`` per-pose stream ids (default ``arange(N)``).
            random_offsets: override the constructor's ``random_offsets``.

        Returns:
            :class:`~sic.captions.posecodes.PoseCodes` with the classes, values and fired super-posecodes,
            the same ones :meth:`caption` describes for the same ``seed`` and ``index``.
        """
        arr, seed, idx = self._prepare(poses, seed, index)
        offsets = self.random_offsets if random_offsets is None else bool(random_offsets)
        return self._evaluate(arr, self._rngs(seed, idx) if offsets else [], offsets)

    def explain(self, poses: np.ndarray, seed: int = 0, index: np.ndarray | None = None) -> list[CaptionTrace]:
        """Caption every pose and return the full trace of each (:class:`CaptionTrace`)."""
        arr, seed, idx = self._prepare(poses, seed, index)
        rngs = self._rngs(seed, idx)
        codes = self._evaluate(arr, rngs, self.random_offsets)
        return [self._caption_one(codes, n, Dice(rng)) for n, rng in enumerate(rngs)]

    def caption(self, poses: np.ndarray, seed: int = 0, index: np.ndarray | None = None) -> list[str]:
        """One caption per pose.

        Args:
            poses: ``(N, J, 3)`` or one ``(J, 3)`` pose, metres, y up, any yaw and position.
            seed: non-negative int seed.
            index: ``(N,)`` non-negative ints; pose ``i`` is captioned from ``default_rng([seed, index[i], 0])``.

        Returns:
            ``N`` captions.

        Raises:
            DataError: wrong shape, NaN/inf values, millimetre input or a bad ``index``.
            ConfigError: a bad ``seed``.
        """
        return [trace.text for trace in self.explain(poses, seed, index)]

    def _caption_one(self, codes: PoseCodes, n: int, dice: Dice) -> CaptionTrace:
        selection = select_codes(codes, n, dice, self.random_skip, self.ripple, self.rules)
        phrases = aggregate(phrases_from_codes(self.table, selection.kept, self.simplified), dice, self.simplified)
        text, clauses = Writer(dice, self.simplified).write(phrases)
        label = self._label
        removed = {rule: [label(c) for c in cs] for rule, cs in selection.removed.items()}
        removed_codes = [c for cs in selection.removed.values() for c in cs]
        candidates = [label(c) for c in selection.kept + selection.skipped + removed_codes]
        return CaptionTrace(text, sorted(set(candidates)), [label(c) for c in selection.skipped], removed, phrases,
                            clauses, [c for c, _ in selection.kept])  # fmt: skip

    def _label(self, code: Code) -> str:
        """``"name=class"`` of an elementary code, ``"super:name"`` of a super-posecode."""
        col, cls = code
        if col >= len(self.table.specs):
            return self.table.code_name(col)
        return f"{self.table.code_name(col)}={self.table.class_names[col][cls]}"

    def caption_pairs(
        self, poses_a: np.ndarray, poses_b: np.ndarray, seed: int = 0, index: np.ndarray | None = None
    ) -> list[str]:
        """PoseFix-style instructions to go from each pose A to its pose B.

        Args:
            poses_a: ``(N, J, 3)`` or ``(J, 3)`` start poses (metres, y up).
            poses_b: the target poses, same shape.
            seed: non-negative int seed.
            index: ``(N,)`` per-pair stream ids; pair ``i`` uses ``default_rng([seed, index[i], 1])``.

        Returns:
            ``N`` instructions ("Bend your left knee more and raise your right hand.").
        """
        a, seed, idx = self._prepare(poses_a, seed, index, "poses_a")
        b = check_poses(poses_b, self.adapter.num_joints, self.layout, "poses_b")
        if a.shape != b.shape:
            raise DataError(f"poses_a and poses_b must have the same shape, got {a.shape} and {b.shape}")
        rngs = self._rngs(seed, idx, stream=1)
        noise = None
        if self.random_offsets and rngs:
            noise = np.stack([r.uniform(-1.0, 1.0, len(self.pairs.specs)) for r in rngs])
        classes = self.pairs.evaluate(self.adapter(a), self.adapter(b), noise)
        return [self.pairs.describe(classes[n], Dice(rng), self.random_skip) for n, rng in enumerate(rngs)]
