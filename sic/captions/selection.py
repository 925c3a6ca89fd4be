"""Per-pose choice of the posecodes to describe: random skip and ripple effects.

After support removal (done for all poses at once in :class:`~sic.captions.posecodes.CodeTable`)
each pose keeps its eligible codes, and then:

1. **random skip**: every skippable code (eligibility 1) is dropped with probability ``random_skip``;
   rare codes (2) stay. If nothing is left, the skipped codes come back;
2. **transitive ripple**: among order codes of one axis (below/above, at right/at left,
   behind/in front) over three distinct parts chaining as a < b < c, the implied a < c is dropped;
3. **statistical ripple**: rules "A (and B) ⇒ drop C", declared for the left side and mirrored.
   The PoseScript rules were mined from annotation statistics; :data:`RIPPLE_RULES` is **our own,
   smaller, geometric set** of the same form (each C follows from A and B up to the thresholds).

Every removed code is recorded with the rule that removed it, so nothing disappears silently.

Example:
    >>> from sic.captions.selection import RIPPLE_RULES
    >>> RIPPLE_RULES[0]
    ((('relativePosY:left_wrist-neck', 'above'),), ('relativePosY:left_hand-left_shoulder', 'above'))
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sic.captions.dice import Dice
from sic.captions.posecodes import CodeTable, Part, PoseCodes, _mirror_joint

__all__ = ["RIPPLE_RULES", "Code", "Selection", "compile_rules", "select_codes"]

Code = tuple[int, int]
"""``(code id, class index)``: elementary column ``c`` or super-posecode ``len(specs) + s`` (class 0)."""

_UP = "relativeVAxis:left_{}-left_{}"
RIPPLE_RULES: tuple[tuple[tuple[tuple[str, str], ...], tuple[str, str]], ...] = (
    # a wrist above the neck is above its shoulder too
    ((("relativePosY:left_wrist-neck", "above"),), ("relativePosY:left_hand-left_shoulder", "above")),
    # a vertical thigh and shin make a straight knee (the captions say so through the segments)
    (((_UP.format("hip", "knee"), "vertical"), (_UP.format("knee", "ankle"), "vertical")),
     ("angle:left_hip-left_knee-left_ankle", "straight")),
    (((_UP.format("shoulder", "elbow"), "vertical"), (_UP.format("elbow", "wrist"), "vertical")),
     ("angle:left_shoulder-left_elbow-left_wrist", "straight")),
    # one segment horizontal and the next vertical: the joint between them is at a right angle
    (((_UP.format("hip", "knee"), "horizontal"), (_UP.format("knee", "ankle"), "vertical")),
     ("angle:left_hip-left_knee-left_ankle", "right angle")),
    (((_UP.format("hip", "knee"), "vertical"), (_UP.format("knee", "ankle"), "horizontal")),
     ("angle:left_hip-left_knee-left_ankle", "right angle")),
    (((_UP.format("shoulder", "elbow"), "horizontal"), (_UP.format("elbow", "wrist"), "vertical")),
     ("angle:left_shoulder-left_elbow-left_wrist", "right angle")),
    (((_UP.format("shoulder", "elbow"), "vertical"), (_UP.format("elbow", "wrist"), "horizontal")),
     ("angle:left_shoulder-left_elbow-left_wrist", "right angle")),
    # a hand close to its own shoulder needs a fully folded elbow
    ((("distance:left_hand-left_shoulder", "close"),),
     ("angle:left_shoulder-left_elbow-left_wrist", "completely bent")),
    # a horizontal torso already says the body is bent over
    ((("super:torso horizontal", "fired"),), ("bodyInclineX:" + "-".join(
        ("left_shoulder", "right_shoulder", "pelvis", "left_ankle", "right_ankle")), "forward")),
)  # fmt: skip
"""Statistical-ripple rules ``(conditions, dropped)`` for the left side; our own list (see module docstring)."""

_ORDER = {  # class -> (axis, subject is the higher end)
    "below": ("y", False), "above": ("y", True), "at right": ("x", False), "at left": ("x", True),
    "behind": ("z", False), "in front": ("z", True),
}  # fmt: skip


@dataclass
class Selection:
    """What happened to one pose's eligible codes.

    Args:
        kept: codes to describe, in table order.
        skipped: codes dropped by random skip.
        removed: rule name → codes that rule removed.
    """

    kept: list[Code]
    skipped: list[Code] = field(default_factory=list)
    removed: dict[str, list[Code]] = field(default_factory=dict)


def _rule_code(table: CodeTable, name: str, cls: str) -> Code | None:
    if name.startswith("super:"):
        return (table.super_column[name[6:]], 0) if name[6:] in table.super_column else None
    if name not in table.column:
        return None
    col = table.column[name]
    return col, table.class_names[col].index(cls)


def _mirror_rule_name(name: str, cls: str) -> tuple[str, str]:
    if ":" not in name or name.startswith("super:"):
        return name, cls
    op, joints = name.split(":")
    swapped = {"at right": "at left", "at left": "at right"}.get(cls, cls) if op == "relativePosX" else cls
    return f"{op}:{'-'.join(_mirror_joint(j) for j in joints.split('-'))}", swapped


def compile_rules(table: CodeTable) -> list[tuple[tuple[Code, ...], Code]]:
    """:data:`RIPPLE_RULES` and their mirrors as code ids; rules that need an absent code are dropped."""
    compiled = set()
    for conditions, dropped in RIPPLE_RULES:
        for mirror in (False, True):
            terms = [*conditions, dropped]
            if mirror:
                terms = [_mirror_rule_name(n, c) for n, c in terms]
            codes = [_rule_code(table, n, c) for n, c in terms]
            if all(c is not None for c in codes):
                compiled.add((tuple(codes[:-1]), codes[-1]))  # type: ignore[arg-type]
    return sorted(compiled)


def _pose_codes(codes: PoseCodes, n: int) -> list[tuple[Code, int]]:
    """``((id, class), eligibility)`` of every describable code of pose ``n``."""
    cols = np.flatnonzero(codes.eligibility[n])
    out = [((int(c), int(codes.classes[n, c])), int(codes.eligibility[n, c])) for c in cols]
    base = len(codes.table.specs)
    for s in np.flatnonzero(codes.fired[n]):
        out.append(((base + int(s), 0), 2 if codes.table.supers[s].rare else 1))
    return out


def _order_edge(table: CodeTable, code: Code) -> tuple[str, Part, Part] | None:
    col, cls = code
    if col >= len(table.specs):
        return None
    spec = table.specs[col]
    order = _ORDER.get(table.class_names[col][cls]) if spec.op.startswith("relativePos") else None
    if order is None or spec.obj is None:
        return None
    axis, subject_high = order
    return (axis, spec.obj, spec.subject) if subject_high else (axis, spec.subject, spec.obj)


def transitive_ripple(table: CodeTable, kept: list[Code]) -> list[Code]:
    """Codes a < c implied by two other kept codes a < b and b < c of the same axis."""
    edges = {c: e for c in kept if (e := _order_edge(table, c)) is not None}
    pairs = {(axis, lo, hi) for axis, lo, hi in edges.values()}
    dropped = []
    for code, (axis, lo, hi) in edges.items():
        if any((axis, lo, mid) in pairs and (axis, mid, hi) in pairs for _, _, mid in pairs if mid not in (lo, hi)):
            dropped.append(code)
    return dropped


def select_codes(
    codes: PoseCodes, n: int, dice: Dice, random_skip: float, ripple: bool, rules: list[tuple[tuple[Code, ...], Code]]
) -> Selection:
    """Apply random skip and the ripple effects to pose ``n``."""
    candidates = _pose_codes(codes, n)
    kept = [c for c, e in candidates if e == 2 or not dice.chance(random_skip)]
    skipped = [c for c, _ in candidates if c not in kept]
    if not kept:  # restore rather than describe nothing
        kept, skipped = [c for c, _ in candidates], []
    selection = Selection(kept, skipped)
    if ripple:
        for name, dropped in (("transitive ripple", transitive_ripple(codes.table, kept)),
                              ("statistical ripple", _statistical(kept, rules))):  # fmt: skip
            if dropped:
                selection.removed[name] = dropped
                selection.kept = [c for c in selection.kept if c not in dropped]
    return selection


def _statistical(kept: list[Code], rules: list[tuple[tuple[Code, ...], Code]]) -> list[Code]:
    present = set(kept)
    return sorted({dropped for conditions, dropped in rules if dropped in present and present.issuperset(conditions)})
