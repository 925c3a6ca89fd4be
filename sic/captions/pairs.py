"""Pair codes (PoseFix): how a pose B differs from a pose A, and instructions to get from A to B.

Each pair code is the change of one coordinate measurement between the two canonical poses, binned
with PoseFix's change thresholds (re-typed from its description):

============  ====================================================  ==============================
kind          change                                                thresholds
============  ====================================================  ==============================
bend          knee/elbow angle(A) - angle(B): positive = more bent   ±18, ±45, ±80 °
spread        distance(A) - distance(B) of left/right parts:         ±0.10, ±0.40 m
              positive = closer
moveX/Y/Z     displacement B - A of a part; x and z from the pelvis, ±0.15, ±0.40 m
              y from the floor (x is the body's left, z forward)
inclineX/Y/Z  bodyIncline(B) - bodyIncline(A)                        X, Y: ±20, ±45 °; Z: ±15, ±30 °
============  ====================================================  ==============================

An instruction names at most :data:`MAX_ITEMS` changes: body incline first, then joint bends,
spreads and displacements (our rule). Head-rotation and global-rotation changes need rotations
and are absent. Each pose is brought
into the canonical frame on its own, so a pure change of heading is not described. The
instruction phrasings are our own.

Example:
    >>> from sic.captions.pairs import PairTable
    >>> table = PairTable(feet=True)
    >>> [s.name for s in table.specs][:2]
    ['bend:left_knee', 'bend:left_elbow']
    >>> any("foot" in s.name for s in PairTable(feet=False).specs)
    False
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sic.captions.aggregation import body_node
from sic.captions.canonical import JOINT_INDEX, CanonicalPoses
from sic.captions.dice import Dice
from sic.captions.operators import INCLINE_JOINTS, MEASURES
from sic.captions.posecodes import Part
from sic.captions.text import finish, noun

__all__ = ["PAIR_KINDS", "PairSpec", "PairTable"]

PAIR_KINDS: dict[str, tuple[tuple[str, ...], tuple[float, ...], float]] = {
    "bend": (("much less bent", "less bent", "slightly less bent", "ignored", "slightly more bent", "more bent",
              "much more bent"), (-80, -45, -18, 18, 45, 80), 5.0),
    "spread": (("much farther", "farther", "ignored", "closer", "much closer"), (-0.40, -0.10, 0.10, 0.40), 0.05),
    "moveX": (("much more right", "more right", "ignored", "more left", "much more left"),
              (-0.40, -0.15, 0.15, 0.40), 0.05),
    "moveY": (("much lower", "lower", "ignored", "higher", "much higher"), (-0.40, -0.15, 0.15, 0.40), 0.05),
    "moveZ": (("much further back", "further back", "ignored", "further forward", "much further forward"),
              (-0.40, -0.15, 0.15, 0.40), 0.05),
    "inclineX": (("much more backward", "more backward", "ignored", "more forward", "much more forward"),
                 (-45, -20, 20, 45), 5.0),
    "inclineY": (("much more twist left", "more twist left", "ignored", "more twist right", "much more twist right"),
                 (-45, -20, 20, 45), 5.0),
    "inclineZ": (("much more lean right", "more lean right", "ignored", "more lean left", "much more lean left"),
                 (-30, -15, 15, 30), 5.0),
}  # fmt: skip
"""Per kind: class names (low → high), thresholds and random offset."""

TEMPLATES: dict[str, list[str]] = {
    "bend/much more bent": ["bend {p} a lot more", "bend {p} much further"],
    "bend/more bent": ["bend {p} more", "bend {p} further"],
    "bend/slightly more bent": ["bend {p} slightly more", "bend {p} a little more"],
    "bend/slightly less bent": ["straighten {p} a little", "bend {p} slightly less"],
    "bend/less bent": ["straighten {p}", "bend {p} less"],
    "bend/much less bent": ["straighten {p} a lot", "extend {p} much more"],
    "spread/much closer": ["bring {p} much closer together", "move {p} a lot closer to each other"],
    "spread/closer": ["bring {p} closer together", "move {p} nearer to each other"],
    "spread/farther": ["move {p} further apart", "spread {p} a bit wider"],
    "spread/much farther": ["spread {p} much wider apart", "move {p} far apart"],
    "moveY/much higher": ["raise {p} a lot", "lift {p} much higher"],
    "moveY/higher": ["raise {p}", "move {p} higher", "lift {p} up"],
    "moveY/lower": ["lower {p}", "move {p} down", "bring {p} lower"],
    "moveY/much lower": ["lower {p} a lot", "bring {p} far down"],
    "moveX/more left": ["move {p} to the left", "shift {p} leftward"],
    "moveX/much more left": ["move {p} far to the left", "shift {p} well to the left"],
    "moveX/more right": ["move {p} to the right", "shift {p} rightward"],
    "moveX/much more right": ["move {p} far to the right", "shift {p} well to the right"],
    "moveZ/further forward": ["move {p} forward", "bring {p} forward"],
    "moveZ/much further forward": ["move {p} far forward", "bring {p} well forward"],
    "moveZ/further back": ["move {p} back", "pull {p} backward"],
    "moveZ/much further back": ["move {p} far back", "pull {p} well backward"],
    "inclineX/more forward": ["lean further forward", "bend forward more"],
    "inclineX/much more forward": ["lean much further forward", "bend well forward"],
    "inclineX/more backward": ["lean back more", "tilt {d} torso backward"],
    "inclineX/much more backward": ["lean much further back", "tilt {d} torso well backward"],
    "inclineY/more twist right": ["twist {d} torso to the right", "turn {d} shoulders to the right"],
    "inclineY/much more twist right": ["twist {d} torso far to the right", "turn {d} shoulders well to the right"],
    "inclineY/more twist left": ["twist {d} torso to the left", "turn {d} shoulders to the left"],
    "inclineY/much more twist left": ["twist {d} torso far to the left", "turn {d} shoulders well to the left"],
    "inclineZ/more lean left": ["lean to the left", "tilt {d} body to the left"],
    "inclineZ/much more lean left": ["lean far to the left", "tilt {d} body well to the left"],
    "inclineZ/more lean right": ["lean to the right", "tilt {d} body to the right"],
    "inclineZ/much more lean right": ["lean far to the right", "tilt {d} body well to the right"],
}
"""Imperative templates: ``{p}`` the part ("your left knee"), ``{d}`` the determiner."""
_NO_CHANGE = ["keep the same pose", "hold the pose as it is", "no change is needed"]
_JOIN = (", ", " and ", ". ", ", then ")
_PRIORITY = ("inclineX", "inclineY", "inclineZ", "bend", "spread", "moveY", "moveZ", "moveX")
MAX_ITEMS = 5
"""At most this many instructions per pair (our choice; the rest are implied or minor)."""


@dataclass(frozen=True)
class PairSpec:
    """One pair code: ``kind`` of change of ``part`` measured on ``joints``."""

    kind: str
    joints: tuple[str, ...]
    part: Part

    @property
    def name(self) -> str:
        """E.g. ``"bend:left_knee"``, ``"moveY:right_hand"``, ``"inclineX:body"``."""
        side, name = self.part
        return f"{self.kind}:{side + '_' if side in ('left', 'right') else ''}{name}"


def _pair_specs(feet: bool) -> list[PairSpec]:
    specs = []
    for side in ("left", "right"):
        specs.append(PairSpec("bend", (f"{side}_hip", f"{side}_knee", f"{side}_ankle"), (side, "knee")))
        specs.append(PairSpec("bend", (f"{side}_shoulder", f"{side}_elbow", f"{side}_wrist"), (side, "elbow")))
    for part in ("hand", "elbow", "knee", "foot"):
        if part != "foot" or feet:
            specs.append(PairSpec("spread", (f"left_{part}", f"right_{part}"), ("pair", part)))
    for axis in "XYZ":
        for side in ("left", "right"):
            for part in ("hand", "elbow", "knee", "foot"):
                if part != "foot" or feet:
                    specs.append(PairSpec(f"move{axis}", (f"{side}_{part}",), (side, part)))
    specs += [PairSpec(f"incline{axis}", INCLINE_JOINTS, (None, "body")) for axis in "XYZ"]
    return specs


class PairTable:
    """The pair codes of one captioner and their instructions.

    Args:
        feet: include the foot codes (``False`` when the toe joint is disabled).
    """

    def __init__(self, feet: bool) -> None:
        self.specs = tuple(_pair_specs(feet))
        self.offsets = np.array([PAIR_KINDS[s.kind][2] for s in self.specs])

    def values(self, a: CanonicalPoses, b: CanonicalPoses) -> np.ndarray:
        """``(N, P)`` raw changes from A to B (signs as in the module table)."""
        out = np.empty((a.joints.shape[0], len(self.specs)))
        for i, spec in enumerate(self.specs):
            idx = np.array([[JOINT_INDEX[j] for j in spec.joints]])
            out[:, i] = self._change(spec.kind, a, b, idx)
        return out

    @staticmethod
    def _change(kind: str, a: CanonicalPoses, b: CanonicalPoses, idx: np.ndarray) -> np.ndarray:
        if kind in ("bend", "spread"):
            measure = MEASURES["angle" if kind == "bend" else "distance"][1]
            return (measure(a.joints, a.floor, idx) - measure(b.joints, b.floor, idx))[:, 0]
        if kind.startswith("incline"):
            measure = MEASURES[f"bodyIncline{kind[-1]}"][1]
            return (measure(b.joints, b.floor, idx) - measure(a.joints, a.floor, idx))[:, 0]
        axis = "XYZ".index(kind[-1])
        ya, yb = (a.floor, b.floor) if axis == 1 else (0.0, 0.0)  # x, z are already pelvis-relative
        return (b.joints[:, idx[0, 0], axis] - yb) - (a.joints[:, idx[0, 0], axis] - ya)

    def evaluate(self, a: CanonicalPoses, b: CanonicalPoses, noise: np.ndarray | None = None) -> np.ndarray:
        """``(N, P)`` class index of every pair code; ``noise`` in ``[-1, 1]`` is scaled by the offsets."""
        values = self.values(a, b)
        if noise is not None:
            values += noise * self.offsets
        classes = np.empty(values.shape, dtype=np.int64)
        for i, spec in enumerate(self.specs):
            classes[:, i] = np.searchsorted(np.asarray(PAIR_KINDS[spec.kind][1]), values[:, i], side="left")
        return classes

    def active(self, row: np.ndarray) -> list[tuple[PairSpec, str]]:
        """The ``(spec, class)`` of every non-ignored pair code of one pair."""
        out = []
        for spec, k in zip(self.specs, row, strict=True):
            cls = PAIR_KINDS[spec.kind][0][k]
            if cls != "ignored":
                out.append((spec, cls))
        return out

    def describe(self, row: np.ndarray, dice: Dice, random_skip: float) -> str:
        """Instruction text for one pair of class row ``row``."""
        codes = self.active(row)
        kept = [c for c in codes if not dice.chance(random_skip)] or codes
        items = _symmetric(kept, dice)
        # our rule: keep the MAX_ITEMS most telling changes (posture before joints before displacements)
        items = sorted(dice.shuffle(items), key=lambda it: _PRIORITY.index(it[0].split("/")[0]))[:MAX_ITEMS]
        walk = ["body", "torso", *dice.shuffle(["arms", "left arm", "right arm", "legs", "left leg", "right leg"])]
        items = sorted(dice.shuffle(items), key=lambda it: walk.index(body_node(it[1])))
        det = "your" if dice.chance(0.6) else "the"
        if not items:
            return finish([dice.choice(_NO_CHANGE)])
        pieces = []
        for i, (key, part) in enumerate(items):
            if i:
                pieces.append(dice.choice(_JOIN))
            pieces.append(dice.choice(TEMPLATES[key]).format(p=_part_words(part, det, dice), d=det))
        return finish(pieces)


def _symmetric(codes: list[tuple[PairSpec, str]], dice: Dice) -> list[tuple[str, Part]]:
    """``(template key, part)`` items; the same change on both sides becomes one about both (p = 0.95)."""
    by_key: dict[tuple[str, str], list[str | None]] = {}
    for spec, cls in codes:
        by_key.setdefault((f"{spec.kind}/{cls}", spec.part[1]), []).append(spec.part[0])
    items = []
    for (key, name), sides in by_key.items():
        if {"left", "right"} <= set(sides) and dice.chance(0.95):
            items.append((key, ("both", name)))
            sides = [s for s in sides if s not in ("left", "right")]
        items += [(key, (s, name)) for s in sides]
    return items


def _part_words(part: Part, det: str, dice: Dice) -> str:
    side, name = part
    if side == "both":
        return f"both {noun(name, True)}" if dice.chance(0.5) else f"{det} {noun(name, True)}"
    if side == "pair":
        return f"{det} {noun(name, True)}"
    return f"{det} {side + ' ' if side else ''}{noun(name)}"
