"""Posecode tables (elementary and super-posecodes) and their vectorised evaluation.

An elementary posecode is an operator applied to a joint tuple, with a per-class *eligibility*
(0 never described, 1 described and skippable, 2 rare: described and never skipped) and optional
*support* roles: support-I classes only feed super-posecodes and are always removed; support-II
classes are removed when a super-posecode that used them fired. The tables follow the joint sets
and roles of PoseScript (``main``; ECCV'22 with ``variant="eccv"``), re-typed from their
description. Codes that need joint rotations (head turn and tilt), a body mesh (contact) or dataset
metadata are absent. Codes are declared for the left side and mirrored.

:meth:`CodeTable.evaluate` measures every code of every pose at once with ``numpy``.

Example:
    >>> from sic.captions.posecodes import CodeTable
    >>> table = CodeTable("main", feet=True)
    >>> "angle:left_shoulder-left_elbow-left_wrist" in table.column, len(table.supers)
    (True, 6)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from sic.captions.canonical import JOINT_INDEX, CanonicalPoses
from sic.captions.operators import INCLINE_JOINTS, MEASURES, Operator, Variant, operators

__all__ = ["CodeSpec", "CodeTable", "Part", "PoseCodes", "SuperSpec", "elementary_specs", "super_specs"]

Part = tuple[str | None, str]
"""A described body part: ``(side, name)`` with side ``"left"``, ``"right"``, ``None`` (unsided),
``"both"`` (the two sides together) or ``"pair"`` (the two sides as one unit: "the hands")."""

L, R = "left", "right"
_SIDE_SWAP = {L: R, R: L}
_X_SWAP = {"at right": "at left", "at left": "at right"}


def _mirror_joint(name: str) -> str:
    for a, b in ((f"{L}_", f"{R}_"), (f"{R}_", f"{L}_")):
        if name.startswith(a):
            return b + name[len(a) :]
    return name


def _mirror_part(part: Part | None) -> Part | None:
    return None if part is None else (_SIDE_SWAP.get(part[0], part[0]), part[1])  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class CodeSpec:
    """One elementary posecode.

    Args:
        op: operator name (a key of :func:`~sic.captions.operators.operators`).
        joints: canonical joint names the operator reads.
        subject: the part described first ("the left hand").
        obj: the part it is compared with, or ``None`` for one-component codes.
        eligible: class name → 1 (skippable) or 2 (rare); missing classes are never described.
        support: class name → 1 (support-I) or 2 (support-II).
        omit: classes whose sentence drops the second part (flow omission).
    """

    op: str
    joints: tuple[str, ...]
    subject: Part
    obj: Part | None = None
    eligible: dict[str, int] = field(default_factory=dict)
    support: dict[str, int] = field(default_factory=dict)
    omit: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """Unique code name, e.g. ``"angle:left_hip-left_knee-left_ankle"``."""
        return f"{self.op}:{'-'.join(self.joints)}"

    @property
    def uses_feet(self) -> bool:
        """Whether the code reads a toe-base joint."""
        return any(j.endswith("_foot") for j in self.joints)

    def mirrored(self) -> CodeSpec:
        """The same code on the other side (relativePosX classes swap meaning)."""

        def cls(c: str) -> str:
            return _X_SWAP.get(c, c) if self.op == "relativePosX" else c

        return replace(
            self,
            joints=tuple(_mirror_joint(j) for j in self.joints),
            subject=_mirror_part(self.subject),
            obj=_mirror_part(self.obj),
            eligible={cls(c): e for c, e in self.eligible.items()},
            support={cls(c): s for c, s in self.support.items()},
            omit=tuple(cls(c) for c in self.omit),
        )


@dataclass(frozen=True, eq=False)
class SuperSpec:
    """A super-posecode: fires when, for any alternative, all its ``(code name, class)`` terms hold.

    Args:
        name: e.g. ``"kneeling"``.
        rare: eligibility 2 when ``True``, else 1.
        alternatives: OR over AND-lists of ``(code name, class name)``.
        subject: described part (``(None, "body")`` for whole-body codes).
        key: sentence template key.
        obj: optional second part ("kneeling on the left knee").
    """

    name: str
    rare: bool
    alternatives: tuple[tuple[tuple[str, str], ...], ...]
    subject: Part
    key: str
    obj: Part | None = None


def _with_mirror(spec: CodeSpec) -> list[CodeSpec]:
    return [spec, spec.mirrored()]


def _angle_specs() -> list[CodeSpec]:
    every = {c: 1 for c in operators()["angle"].classes} | {"completely bent": 2}
    knee = CodeSpec("angle", ("left_hip", "left_knee", "left_ankle"), (L, "knee"), None, every,
                    {"completely bent": 2})  # fmt: skip
    elbow = CodeSpec("angle", ("left_shoulder", "left_elbow", "left_wrist"), (L, "elbow"), None, every)
    return [*_with_mirror(knee), *_with_mirror(elbow)]


def _distance_specs() -> list[CodeSpec]:
    specs = []
    pairs = {
        "elbow": {"close": 2, "shoulder width": 1, "wide": 1},
        "hand": {"close": 1, "shoulder width": 1, "spread": 1, "wide": 1},
        "knee": {"close": 1, "shoulder width": 1, "wide": 2},
        "foot": {"close": 2, "shoulder width": 1, "wide": 1},
    }
    for part, eligible in pairs.items():
        specs.append(CodeSpec("distance", (f"left_{part}", f"right_{part}"), (L, part), (R, part), eligible,
                              {"shoulder width": 1}))  # fmt: skip
    targets = ("left_shoulder", "right_shoulder", "right_elbow", "left_knee", "right_knee", "left_ankle",
               "right_ankle", "left_foot", "right_foot")  # fmt: skip
    for target in targets:
        side, part = target.split("_")
        specs += _with_mirror(CodeSpec("distance", ("left_hand", target), (L, "hand"), (side, part), {"close": 2}))
    return specs


def _position_specs() -> list[CodeSpec]:
    specs: list[CodeSpec] = []
    height, depth = {"below": 1, "above": 1}, {"behind": 1, "in front": 1}
    for part in ("shoulder", "elbow", "hand", "knee", "foot"):
        pair, subject, obj = (f"left_{part}", f"right_{part}"), (L, part), (R, part)
        if part in ("hand", "foot"):  # the left one to the right of the right one: crossed
            specs.append(CodeSpec("relativePosX", pair, subject, obj, {"at right": 2}))
        knee_support = {"below": 2, "above": 2} if part == "knee" else {}  # kneeling on one knee
        specs.append(CodeSpec("relativePosY", pair, subject, obj, height, knee_support))
        specs.append(CodeSpec("relativePosZ", pair, subject, obj, depth))
    hand, foot = (L, "hand"), (L, "foot")
    sided = [
        CodeSpec("relativePosY", ("left_hip", "left_knee"), (L, "hip"), (L, "knee"), {"above": 1}, {"above": 1}),
        CodeSpec("relativePosX", ("left_hand", "left_shoulder"), hand, (L, "shoulder"), {"at right": 1},
                 omit=("at right",)),
        CodeSpec("relativePosY", ("left_hand", "left_shoulder"), hand, (L, "shoulder"), {"above": 1}),
        CodeSpec("relativePosX", ("left_foot", "left_hip"), foot, (L, "hip"), {"at right": 2}, omit=("at right",)),
        CodeSpec("relativePosY", ("left_foot", "left_hip"), foot, (L, "hip"), {"above": 2}),
        CodeSpec("relativePosY", ("left_wrist", "neck"), hand, (None, "neck"), {"above": 1}, omit=("above",)),
        CodeSpec("relativePosY", ("left_hand", "left_hip"), hand, (L, "hip"), {"below": 1}),
        CodeSpec("relativePosZ", ("left_hand", "torso"), hand, (None, "torso"), {"behind": 1}, omit=("behind",)),
        CodeSpec("relativePosZ", ("left_foot", "torso"), foot, (None, "torso"), depth, omit=("behind", "in front")),
    ]  # fmt: skip
    for spec in sided:
        specs += _with_mirror(spec)
    return specs


def _vertical_specs() -> list[CodeSpec]:
    legs, arms = {"vertical": 1, "horizontal": 2}, {"vertical": 2, "horizontal": 1}
    limbs = (("thigh", "hip", "knee", legs), ("shin", "knee", "ankle", legs),
             ("upperarm", "shoulder", "elbow", arms), ("forearm", "elbow", "wrist", arms))  # fmt: skip
    specs = []
    for part, a, b, eligible in limbs:
        specs += _with_mirror(CodeSpec("relativeVAxis", (f"left_{a}", f"left_{b}"), (L, part), None, eligible))
    for side in (L, R):  # both halves horizontal: the torso is horizontal
        specs.append(CodeSpec("relativeVAxis", ("pelvis", f"{side}_shoulder"), (None, "torso"), None,
                              {"horizontal": 1}, {"horizontal": 1}))  # fmt: skip
    specs.append(CodeSpec("relativeVAxis", ("pelvis", "neck"), (None, "torso"), None, {"vertical": 1}))
    for part in ("hand", "foot"):
        specs.append(CodeSpec("relativeVAxis", (f"left_{part}", f"right_{part}"), ("pair", part), None,
                              {"horizontal": 1}, {"horizontal": 1}))  # fmt: skip
    return specs


def _ground_specs() -> list[CodeSpec]:
    specs = []
    for part in ("knee", "foot", "hand"):
        support = {} if part == "hand" else {"on ground": 1}
        specs += _with_mirror(CodeSpec("onGround", (f"left_{part}",), (L, part), None, {"on ground": 1}, support))
    return specs


def _body_specs(variant: Variant) -> list[CodeSpec]:
    body: Part = (None, "body")
    if variant == "main":
        ops = operators("main")
        return [
            CodeSpec(name, INCLINE_JOINTS, body, None, {c: 1 for c in ops[name].classes if c != "ignored"})
            for name in ("bodyInclineX", "bodyInclineY", "bodyInclineZ")
        ]
    # ECCV'22: neck vs pelvis and ankles vs neck only support the "body bent" super-posecodes
    return [
        CodeSpec("relativePosX", ("neck", "pelvis"), (None, "neck"), (None, "pelvis"),
                 {"at right": 1, "at left": 1}, {"at right": 1, "at left": 1}),
        CodeSpec("relativePosZ", ("neck", "pelvis"), (None, "neck"), (None, "pelvis"),
                 {"behind": 1, "in front": 1}, {"behind": 1, "in front": 1}),
        *_with_mirror(CodeSpec("relativePosY", ("left_ankle", "neck"), (L, "ankle"), (None, "neck"),
                               {"below": 1}, {"below": 1})),
    ]  # fmt: skip


def elementary_specs(variant: Variant = "main") -> tuple[CodeSpec, ...]:
    """Every elementary posecode of ``variant``, in a fixed order (the columns of :class:`PoseCodes`)."""
    return tuple(
        _angle_specs() + _distance_specs() + _position_specs() + _vertical_specs() + _ground_specs()
        + _body_specs(variant)
    )  # fmt: skip


def super_specs(variant: Variant = "main") -> tuple[SuperSpec, ...]:
    """Every super-posecode of ``variant``."""
    body: Part = (None, "body")
    knee_l, knee_r = "angle:left_hip-left_knee-left_ankle", "angle:right_hip-right_knee-right_ankle"
    on = "on ground"
    kneeling = (
        (("relativePosY:left_hip-left_knee", "above"), ("relativePosY:right_hip-right_knee", "above"),
         ("onGround:left_knee", on), ("onGround:right_knee", on)),
        ((knee_l, "completely bent"), (knee_r, "completely bent"), ("onGround:left_knee", on),
         ("onGround:right_knee", on)),
    )  # fmt: skip
    specs = [
        SuperSpec("torso horizontal", True, ((("relativeVAxis:pelvis-left_shoulder", "horizontal"),
                                              ("relativeVAxis:pelvis-right_shoulder", "horizontal")),),
                  (None, "torso"), "super/torso horizontal"),
        SuperSpec("kneel on left", True, ((("relativePosY:left_knee-right_knee", "below"),
                                           ("onGround:left_knee", on), ("onGround:right_foot", on)),),
                  body, "super/kneel on", (L, "knee")),
        SuperSpec("kneel on right", True, ((("relativePosY:left_knee-right_knee", "above"),
                                            ("onGround:right_knee", on), ("onGround:left_foot", on)),),
                  body, "super/kneel on", (R, "knee")),
        SuperSpec("kneeling", True, kneeling, body, "super/kneeling"),
        SuperSpec("hands shoulder width", True, ((("distance:left_hand-right_hand", "shoulder width"),
                                                  ("relativeVAxis:left_hand-right_hand", "horizontal")),),
                  ("pair", "hand"), "super/shoulder width"),
        SuperSpec("feet shoulder width", False, ((("distance:left_foot-right_foot", "shoulder width"),
                                                  ("relativeVAxis:left_foot-right_foot", "horizontal")),),
                  ("pair", "foot"), "super/shoulder width"),
    ]  # fmt: skip
    if variant == "eccv":
        bends = (("left", "relativePosX", "at left"), ("right", "relativePosX", "at right"),
                 ("forward", "relativePosZ", "in front"), ("backward", "relativePosZ", "behind"))  # fmt: skip
        for direction, code, cls in bends:
            alts = tuple(((f"relativePosY:{s}_ankle-neck", "below"), (f"{code}:neck-pelvis", cls)) for s in (L, R))
            specs.append(SuperSpec(f"body bent {direction}", False, alts, body, f"super/bent {direction}"))
    return tuple(specs)


class CodeTable:
    """The compiled posecode table of one captioner configuration.

    Args:
        variant: ``"main"`` or ``"eccv"``.
        feet: keep the codes that read a toe joint (``False`` drops them and the super-posecodes
            that need them).
    """

    def __init__(self, variant: Variant, feet: bool) -> None:
        self.variant, self.feet = variant, feet
        self.ops = operators(variant)
        self.specs = tuple(s for s in elementary_specs(variant) if feet or not s.uses_feet)
        self.column = {s.name: i for i, s in enumerate(self.specs)}
        self.class_names = tuple(self.ops[s.op].classes for s in self.specs)
        self._compile_roles()
        self._compile_groups()
        self._compile_supers(super_specs(variant))

    def _class_index(self, col: int, name: str) -> int:
        try:
            return self.class_names[col].index(name)
        except ValueError:
            raise ValueError(f"posecode {self.specs[col].name}: no class {name!r}") from None

    def _compile_roles(self) -> None:
        width = max(len(c) for c in self.class_names)
        self.eligibility = np.zeros((len(self.specs), width), dtype=np.int8)
        self.support = np.zeros((len(self.specs), width), dtype=np.int8)
        for col, spec in enumerate(self.specs):
            for name, e in spec.eligible.items():
                self.eligibility[col, self._class_index(col, name)] = e
            for name, s in spec.support.items():
                self.support[col, self._class_index(col, name)] = s
            for name in spec.omit:
                self._class_index(col, name)
        self.offsets = np.array([self.ops[s.op].offset for s in self.specs])
        self.metric = np.array([self.ops[s.op].metric for s in self.specs])

    def _compile_groups(self) -> None:
        self.groups: list[tuple[Operator, np.ndarray, np.ndarray]] = []
        for op in self.ops.values():
            cols = np.array([i for i, s in enumerate(self.specs) if s.op == op.name], dtype=np.int64)
            if cols.size:
                idx = np.array([[JOINT_INDEX[j] for j in self.specs[c].joints] for c in cols], dtype=np.int64)
                self.groups.append((op, cols, idx))

    def _compile_supers(self, supers: tuple[SuperSpec, ...]) -> None:
        self.supers: list[SuperSpec] = []
        self.super_terms: list[list[tuple[np.ndarray, np.ndarray]]] = []
        for sup in supers:
            alts = [alt for alt in sup.alternatives if all(name in self.column for name, _ in alt)]
            if not alts:
                continue  # every alternative needs a dropped (foot) code
            self.supers.append(sup)
            self.super_terms.append([
                (np.array([self.column[n] for n, _ in alt]),
                 np.array([self._class_index(self.column[n], c) for n, c in alt])) for alt in alts
            ])  # fmt: skip
        self.super_column = {s.name: len(self.specs) + i for i, s in enumerate(self.supers)}

    def code_name(self, code: int) -> str:
        """Name of elementary column ``code`` or of super-posecode ``len(specs) + s``."""
        n = len(self.specs)
        return self.specs[code].name if code < n else f"super:{self.supers[code - n].name}"

    def measure(self, canon: CanonicalPoses, scale: bool = False) -> np.ndarray:
        """``(N, C)`` raw measurements; metre-valued codes are divided by body size / 1.28 m when ``scale``."""
        values = np.empty((canon.joints.shape[0], len(self.specs)))
        for op, cols, idx in self.groups:
            values[:, cols] = MEASURES[op.name][1](canon.joints, canon.floor, idx)
        if scale:
            values[:, self.metric] /= (canon.size / REFERENCE_SIZE)[:, None]
        return values

    def evaluate(self, canon: CanonicalPoses, noise: np.ndarray | None = None, scale: bool = False) -> PoseCodes:
        """Measure, add ``noise`` (``(N, C)`` in ``[-1, 1]``, times each operator's offset), bin and select.

        Returns:
            the :class:`PoseCodes` of all poses, with support codes already removed from ``eligibility``.
        """
        values = self.measure(canon, scale)
        if noise is not None:
            values += noise * self.offsets
        classes = np.empty(values.shape, dtype=np.int64)
        for op, cols, _ in self.groups:
            classes[:, cols] = op.bin(values[:, cols])
        fired = self._fire(classes)
        return PoseCodes(self, values, classes, fired, self._eligible(classes, fired))

    def _fire(self, classes: np.ndarray) -> np.ndarray:
        fired = np.zeros((classes.shape[0], len(self.supers)), dtype=bool)
        for s, alts in enumerate(self.super_terms):
            for cols, cls in alts:
                fired[:, s] |= (classes[:, cols] == cls).all(axis=1)
        return fired

    def _eligible(self, classes: np.ndarray, fired: np.ndarray) -> np.ndarray:
        cols = np.arange(len(self.specs))[None, :]
        eligible = self.eligibility[cols, classes].copy()
        support = self.support[cols, classes]
        eligible[support == 1] = 0
        for s, alts in enumerate(self.super_terms):  # support-II: removed where its super-posecode fired
            for code_cols, cls in alts:
                for col, k in zip(code_cols, cls, strict=True):
                    if self.support[col, k] == 2:
                        eligible[fired[:, s] & (classes[:, col] == k), col] = 0
        return eligible


REFERENCE_SIZE = 1.28
"""Body size (pelvis-neck + thigh + shin, metres) of a mean-shape SMPL body, our estimate for ``scale_thresholds``."""


@dataclass(frozen=True, eq=False)
class PoseCodes:
    """Posecodes of ``N`` poses.

    Args:
        table: the :class:`CodeTable` that produced them (code names, classes, specs).
        values: ``(N, C)`` measurements including noise (degrees or metres).
        classes: ``(N, C)`` class index per elementary code.
        fired: ``(N, S)`` whether each super-posecode fired.
        eligibility: ``(N, C)`` 0/1/2 per code after support removal (what may be described).
    """

    table: CodeTable
    values: np.ndarray
    classes: np.ndarray
    fired: np.ndarray
    eligibility: np.ndarray

    def __len__(self) -> int:
        return self.classes.shape[0]

    @property
    def names(self) -> tuple[str, ...]:
        """Elementary code names, one per column."""
        return tuple(s.name for s in self.table.specs)

    def class_of(self, name: str) -> list[str]:
        """Class name of code ``name`` for every pose."""
        col = self._col(name)
        return [self.table.class_names[col][k] for k in self.classes[:, col]]

    def value_of(self, name: str) -> np.ndarray:
        """``(N,)`` measured value of code ``name``."""
        return self.values[:, self._col(name)]

    def is_fired(self, name: str) -> np.ndarray:
        """``(N,)`` whether super-posecode ``name`` (e.g. ``"kneeling"``) fired."""
        names = [s.name for s in self.table.supers]
        if name not in names:
            raise KeyError(f"no super-posecode {name!r} in this table; known: {', '.join(names)}")
        return self.fired[:, names.index(name)]

    def _col(self, name: str) -> int:
        if name not in self.table.column:
            where = f"variant {self.table.variant!r}, feet={self.table.feet}"
            raise KeyError(f"no posecode {name!r} in this table ({where})")
        return self.table.column[name]
