"""Posecode operators: what each one measures (vectorised over poses), its classes, thresholds and noise.

Every operator maps a joint tuple to one number per pose; the number plus uniform noise of ± the
operator's random offset is binned into classes. Binning rule: class ``i`` when
``thresholds[i-1] < v <= thresholds[i]``, the last class when ``v > thresholds[-1]``. Classes named
``"ignored"`` are never described. Values are the PoseScript ``main`` tables (PoseScript/PoseFix
papers, typed in from their description); ``variant="eccv"`` uses the ECCV'22 three-class
``relativePos`` and has no ``bodyIncline``.

Example:
    >>> import numpy as np
    >>> from sic.captions.operators import operators
    >>> ops = operators("main")
    >>> [ops["angle"].classes[i] for i in ops["angle"].bin(np.array([45.0, 45.01, 170.0]))]
    ['completely bent', 'almost completely bent', 'straight']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["INCLINE_JOINTS", "MEASURES", "Operator", "Variant", "operators"]

Variant = Literal["main", "eccv"]
INCLINE_JOINTS = ("left_shoulder", "right_shoulder", "pelvis", "left_ankle", "right_ankle")
"""The joint tuple read by the three ``bodyIncline`` operators."""
_INCLINE_MIN_DROP = 0.2  # bodyInclineX is 0 unless the lower ankle is this far below mid-shoulder height


@dataclass(frozen=True)
class Operator:
    """One posecode operator.

    Args:
        name: operator name, e.g. ``"relativePosY"``.
        classes: class names from low to high values.
        thresholds: ``len(classes) - 1`` increasing bin edges.
        offset: half-width of the uniform measurement noise.
        metric: whether values are in metres (scaled by ``scale_thresholds``), else degrees.
    """

    name: str
    classes: tuple[str, ...]
    thresholds: tuple[float, ...]
    offset: float
    metric: bool

    def __post_init__(self) -> None:
        if len(self.classes) != len(self.thresholds) + 1 or list(self.thresholds) != sorted(self.thresholds):
            raise ValueError(f"operator {self.name}: needs increasing thresholds, one fewer than classes")

    def bin(self, values: np.ndarray) -> np.ndarray:
        """Class indices of ``values`` (any shape), by the binning rule of the module docstring."""
        return np.searchsorted(np.asarray(self.thresholds), values, side="left")


def _pos_classes(axis: str, low: str, high: str, five: bool) -> tuple[tuple[str, ...], tuple[float, ...]]:
    if five:
        return (low, "ignored", f"{axis}-aligned", "ignored", high), (-0.15, -0.05, 0.05, 0.15)
    return (low, "ignored", high), (-0.15, 0.15)


def operators(variant: Variant = "main") -> dict[str, Operator]:
    """The operator table of ``variant`` (``"main"`` or ``"eccv"``), keyed by operator name."""
    five = variant == "main"
    table = [
        Operator("angle", ("completely bent", "almost completely bent", "right angle", "partially bent",
                           "slightly bent", "straight"), (45, 75, 105, 135, 160), 5.0, False),
        Operator("distance", ("close", "shoulder width", "spread", "wide"), (0.20, 0.40, 0.80), 0.05, True),
        Operator("relativePosX", *_pos_classes("x", "at right", "at left", five), 0.05, True),
        Operator("relativePosY", *_pos_classes("y", "below", "above", five), 0.05, True),
        Operator("relativePosZ", *_pos_classes("z", "behind", "in front", five), 0.05, True),
        Operator("relativeVAxis", ("vertical", "ignored", "horizontal"), (10, 80), 5.0, False),
        Operator("onGround", ("on ground", "ignored"), (0.10,), 0.05, True),
    ]  # fmt: skip
    if five:
        table += [
            Operator("bodyInclineX", ("backward", "slightly backward", "ignored", "slightly forward", "forward"),
                     (-50, -20, 20, 50), 5.0, False),
            Operator("bodyInclineY", ("twist left", "slightly twist left", "ignored", "slightly twist right",
                                      "twist right"), (-50, -20, 20, 50), 5.0, False),
            Operator("bodyInclineZ", ("lean right", "slightly lean right", "ignored", "slightly lean left",
                                      "lean left"), (-30, -15, 15, 30), 5.0, False),
        ]  # fmt: skip
    return {op.name: op for op in table}


# Every measure takes canonical joints (N, K, 3), the floor (N,) and a (n_codes, arity) index array,
# and returns (N, n_codes).
Measure = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _norm(v: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("...c,...c->...", v, v))


def _angle(p: np.ndarray, floor: np.ndarray, idx: np.ndarray) -> np.ndarray:
    u, v = p[:, idx[:, 0]] - p[:, idx[:, 1]], p[:, idx[:, 2]] - p[:, idx[:, 1]]
    cos = np.einsum("nkc,nkc->nk", u, v) / np.maximum(_norm(u) * _norm(v), 1e-12)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _distance(p: np.ndarray, floor: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return _norm(p[:, idx[:, 0]] - p[:, idx[:, 1]])


def _relative(axis: int) -> Measure:
    def measure(p: np.ndarray, floor: np.ndarray, idx: np.ndarray) -> np.ndarray:
        return p[:, idx[:, 0], axis] - p[:, idx[:, 1], axis]

    return measure


def _vaxis(p: np.ndarray, floor: np.ndarray, idx: np.ndarray) -> np.ndarray:
    d = p[:, idx[:, 1]] - p[:, idx[:, 0]]
    return np.degrees(np.arccos(np.clip(np.abs(d[..., 1]) / np.maximum(_norm(d), 1e-12), 0.0, 1.0)))


def _on_ground(p: np.ndarray, floor: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return p[:, idx[:, 0], 1] - floor[:, None]


def _incline_parts(p: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, ...]:
    lsh, rsh, pelvis, lank, rank = (p[:, idx[:, i]] for i in range(5))
    return lsh, rsh, (lsh + rsh) / 2 - pelvis, np.minimum(lank[..., 1], rank[..., 1]), (lsh[..., 1] + rsh[..., 1]) / 2


def _incline_x(p: np.ndarray, floor: np.ndarray, idx: np.ndarray) -> np.ndarray:
    # signed angle of pelvis → mid-shoulder from +y in the YZ plane, positive toward +z (forward);
    # forced to 0 when the body is not upright enough (lying, handstand)
    _, _, spine, low_ankle, mid_y = _incline_parts(p, idx)
    angle = np.degrees(np.arctan2(spine[..., 2], spine[..., 1]))
    return np.where(mid_y - low_ankle >= _INCLINE_MIN_DROP, angle, 0.0)


def _incline_y(p: np.ndarray, floor: np.ndarray, idx: np.ndarray) -> np.ndarray:
    # shoulder line (left - right) in the XZ plane against +x, positive when the left shoulder is forward
    lsh, rsh, *_ = _incline_parts(p, idx)
    line = lsh - rsh
    return np.degrees(np.arctan2(line[..., 2], line[..., 0]))


def _incline_z(p: np.ndarray, floor: np.ndarray, idx: np.ndarray) -> np.ndarray:
    # 90° minus the angle between pelvis → mid-shoulder and +x: positive when leaning to the body's left
    _, _, spine, *_ = _incline_parts(p, idx)
    return 90.0 - np.degrees(np.arccos(np.clip(spine[..., 0] / np.maximum(_norm(spine), 1e-12), -1.0, 1.0)))


MEASURES: dict[str, tuple[int, Measure]] = {
    "angle": (3, _angle),
    "distance": (2, _distance),
    "relativePosX": (2, _relative(0)),
    "relativePosY": (2, _relative(1)),
    "relativePosZ": (2, _relative(2)),
    "relativeVAxis": (2, _vaxis),
    "onGround": (1, _on_ground),
    "bodyInclineX": (5, _incline_x),
    "bodyInclineY": (5, _incline_y),
    "bodyInclineZ": (5, _incline_z),
}
"""Per operator: the joint-tuple arity and the vectorised measurement."""
