"""Turn selected posecodes into phrases and aggregate them (PoseScript's rules, our implementation).

A :class:`Phrase` is "subjects + predicates", each predicate a template key with an optional
object. Every phrase carries the ids of the posecodes it expresses, and every step below maps
phrases to phrases so that the union of ids is preserved: an aggregation that is *not* applied
leaves its phrases in the pool (the PoseScript issue #5 bug lost them).

Steps, in order (``simplified`` switches off 1, 3, the class-based half of 4 and the flow omissions):

1. entity aggregation (p = 0.95): "left forearm horizontal" + "left upper arm horizontal" →
   "left arm horizontal"; identical phrases are then merged;
2. random side reversal (p = 0.5) of codes relating the same part on both sides, with the class
   replaced by its opposite; left-right distances may become one-component ("the hands are close");
3. symmetry aggregation (p = 0.95): the same statement on both sides → "both hands ...";
4. class-based (same predicate, several subjects) and focus-part (same subject, several predicates)
   aggregation, in random order, without overlap, each with p = 0.95;
5. ordering along a random depth-first walk over body → torso → arms/legs → sides.

Example:
    >>> from sic.captions.aggregation import Phrase, Predicate, aggregate
    >>> from sic.captions.dice import Dice
    >>> import numpy as np
    >>> a = Phrase(((("left", "knee"),)), (Predicate("angle/straight"),), frozenset({0}))
    >>> b = Phrase(((("right", "knee"),)), (Predicate("angle/straight"),), frozenset({1}))
    >>> out = aggregate([a, b], Dice(np.random.default_rng(3)), simplified=False)
    >>> sorted(set().union(*(p.ids for p in out)))
    [0, 1]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sic.captions.dice import Dice
from sic.captions.posecodes import CodeTable, Part
from sic.captions.selection import Code

__all__ = ["Phrase", "Predicate", "aggregate", "body_node", "order_phrases", "phrases_from_codes"]

P_ENTITY = P_SYMMETRY = P_CLASS = P_FOCUS = 0.95
P_REVERSE = P_ONE_COMPONENT = 0.5
MAX_MERGE = 3  # at most this many subjects or predicates in one phrase

ENTITIES = {
    frozenset({"wrist", "elbow"}): "arm", frozenset({"hand", "elbow"}): "arm",
    frozenset({"forearm", "upperarm"}): "arm", frozenset({"ankle", "knee"}): "leg",
    frozenset({"foot", "knee"}): "leg", frozenset({"shin", "thigh"}): "leg",
}  # fmt: skip
OPPOSITE = {"below": "above", "above": "below", "at right": "at left", "at left": "at right",
            "behind": "in front", "in front": "behind"}  # fmt: skip
_SIDES = {"left": "right", "right": "left"}


@dataclass(frozen=True)
class Predicate:
    """What is said about the subjects.

    Args:
        key: template key ``"<operator>/<class>"`` or ``"super/<name>"``.
        obj: the second part(s), empty for one-component statements.
        alone: a flow omission: the second part is left out of the sentence.
    """

    key: str
    obj: tuple[Part, ...] = ()
    alone: bool = False


@dataclass(frozen=True)
class Phrase:
    """One clause to write.

    Args:
        subjects: the parts the clause is about (several after class-based aggregation).
        predicates: the statements (several after focus-part aggregation).
        ids: posecode ids expressed by this clause.
    """

    subjects: tuple[Part, ...]
    predicates: tuple[Predicate, ...]
    ids: frozenset[int]

    @property
    def single(self) -> bool:
        """One subject and one predicate."""
        return len(self.subjects) == 1 and len(self.predicates) == 1


def phrases_from_codes(table: CodeTable, codes: Iterable[Code], simplified: bool) -> list[Phrase]:
    """One phrase per selected code (flow omissions applied unless ``simplified``)."""
    out, n = [], len(table.specs)
    for code, cls in codes:
        if code >= n:
            sup = table.supers[code - n]
            out.append(Phrase((sup.subject,), (Predicate(sup.key, (sup.obj,) if sup.obj else ()),), frozenset({code})))
            continue
        spec, name = table.specs[code], table.class_names[code][cls]
        alone = name in spec.omit and not simplified
        obj = (spec.obj,) if spec.obj is not None and not alone else ()
        out.append(Phrase((spec.subject,), (Predicate(f"{spec.op}/{name}", obj, alone),), frozenset({code})))
    return out


def _merge_duplicates(phrases: list[Phrase]) -> list[Phrase]:
    merged: dict[tuple, Phrase] = {}
    for p in phrases:
        key = (p.subjects, p.predicates)
        merged[key] = Phrase(p.subjects, p.predicates, merged[key].ids | p.ids) if key in merged else p
    return list(merged.values())


def entity_aggregation(phrases: list[Phrase], dice: Dice) -> list[Phrase]:
    """Merge two statements about parts of one limb into one about the limb."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, p in enumerate(phrases):
        if p.single and p.subjects[0][0] in _SIDES:
            groups[(p.subjects[0][0], p.predicates[0])].append(i)
    out, used = [], set()
    for (side, pred), members in groups.items():
        for i in members:
            for j in members:
                pair = frozenset({phrases[i].subjects[0][1], phrases[j].subjects[0][1]})
                if i < j and not {i, j} & used and pair in ENTITIES and dice.chance(P_ENTITY):
                    used |= {i, j}
                    out.append(Phrase(((side, ENTITIES[pair]),), (pred,), phrases[i].ids | phrases[j].ids))
    return _merge_duplicates(out + [p for i, p in enumerate(phrases) if i not in used])


def _symmetry_key(p: Phrase) -> tuple | None:
    if not p.single or p.subjects[0][0] not in _SIDES:
        return None
    side, pred = p.subjects[0][0], p.predicates[0]
    if any(o[0] not in (None, side) for o in pred.obj):
        return None  # only unsided or same-side second parts mirror cleanly
    obj = tuple((o[0] and "same", o[1]) for o in pred.obj)
    return p.subjects[0][1], pred.key, pred.alone, obj


def symmetry_aggregation(phrases: list[Phrase], dice: Dice) -> list[Phrase]:
    """Merge the same statement made for the left and the right part into one about both."""
    by_key: dict[tuple, dict[str, int]] = defaultdict(dict)
    for i, p in enumerate(phrases):
        if (key := _symmetry_key(p)) is not None:
            by_key[key].setdefault(p.subjects[0][0], i)
    out, used = [], set()
    for (part, key, alone, obj), sides in by_key.items():
        if len(sides) == 2 and dice.chance(P_SYMMETRY):
            i, j = sides["left"], sides["right"]
            used |= {i, j}
            both_obj = tuple(("both" if s else None, name) for s, name in obj)
            out.append(Phrase((("both", part),), (Predicate(key, both_obj, alone),), phrases[i].ids | phrases[j].ids))
    return out + [p for i, p in enumerate(phrases) if i not in used]


def _opposite_key(key: str) -> str:
    op, _, cls = key.partition("/")
    return f"{op}/{OPPOSITE.get(cls, cls)}"


def side_reversal(phrases: list[Phrase], dice: Dice) -> list[Phrase]:
    """Randomly swap left and right in left-vs-right statements; one-component distances."""
    out = []
    for p in phrases:
        pred = p.predicates[0]
        if p.single and len(pred.obj) == 1 and p.subjects[0][0] in _SIDES:
            (side, part), (oside, opart) = p.subjects[0], pred.obj[0]
            if oside == _SIDES[side] and opart == part:
                if pred.key.startswith("distance/") and dice.chance(P_ONE_COMPONENT):
                    p = Phrase((("pair", part),), (Predicate(pred.key),), p.ids)
                elif dice.chance(P_REVERSE):
                    p = Phrase(((oside, part),), (Predicate(_opposite_key(pred.key), ((side, part),)),), p.ids)
        out.append(p)
    return out


def _groupable_subject(part: Part) -> bool:
    return part[1] != "body" and part[0] != "pair"


def class_and_focus_aggregation(
    phrases: list[Phrase], dice: Dice, kinds: tuple[str, ...] = ("class", "focus")
) -> list[Phrase]:
    """Merge phrases with one predicate ("class": subjects joined) or one subject ("focus": predicates joined)."""
    by_pred: dict[tuple, list[int]] = defaultdict(list)
    by_subject: dict[tuple, list[int]] = defaultdict(list)
    for i, p in enumerate(phrases):
        if len(p.predicates) == 1 and all(_groupable_subject(s) for s in p.subjects):
            by_pred[p.predicates].append(i)
        by_subject[p.subjects].append(i)
    groups = [("class", g) for g in by_pred.values() if len(g) > 1 and "class" in kinds]
    groups += [("focus", g) for g in by_subject.values() if len(g) > 1 and "focus" in kinds]
    out, used = [], set()
    for kind, members in dice.shuffle(groups):
        free = [i for i in members if i not in used][:MAX_MERGE]
        if len(free) < 2 or not dice.chance(P_CLASS if kind == "class" else P_FOCUS):
            continue  # not applied: the phrases stay in the pool
        used |= set(free)
        ids = frozenset().union(*(phrases[i].ids for i in free))
        if kind == "class":
            subjects = tuple(s for i in free for s in phrases[i].subjects)
            out.append(Phrase(subjects, phrases[free[0]].predicates, ids))
        else:
            preds = tuple(pr for i in free for pr in phrases[i].predicates)
            out.append(Phrase(phrases[free[0]].subjects, preds, ids))
    return out + [p for i, p in enumerate(phrases) if i not in used]


def aggregate(phrases: list[Phrase], dice: Dice, simplified: bool) -> list[Phrase]:
    """All aggregation steps of the module docstring; ids are never lost."""
    phrases = dice.shuffle(list(phrases))
    if not simplified:
        phrases = entity_aggregation(phrases, dice)
    phrases = side_reversal(phrases, dice)
    if not simplified:
        phrases = symmetry_aggregation(phrases, dice)
    phrases = class_and_focus_aggregation(phrases, dice, ("focus",) if simplified else ("class", "focus"))
    return order_phrases(phrases, dice)


_GROUP = {"hand": "arm", "wrist": "arm", "elbow": "arm", "forearm": "arm", "upperarm": "arm", "shoulder": "arm",
          "arm": "arm", "knee": "leg", "ankle": "leg", "foot": "leg", "thigh": "leg", "shin": "leg", "hip": "leg",
          "leg": "leg", "body": "body"}  # fmt: skip


def body_node(part: Part) -> str:
    """Node of the body-part walk that ``part`` belongs to (e.g. "left arm", "legs", "torso")."""
    group = _GROUP.get(part[1], "torso")
    if group in ("body", "torso"):
        return group
    return f"{part[0]} {group}" if part[0] in _SIDES else f"{group}s"


def order_phrases(phrases: list[Phrase], dice: Dice) -> list[Phrase]:
    """Group phrases by body part along a random depth-first walk (body, torso, then arms and legs)."""
    walk = ["body", "torso"]
    for limb in dice.shuffle(["arm", "leg"]):
        walk += [f"{limb}s", *dice.shuffle([f"left {limb}", f"right {limb}"])]
    rank = {node: i for i, node in enumerate(walk)}
    return sorted(phrases, key=lambda p: rank[body_node(p.subjects[0])])  # stable: keeps the shuffled order
