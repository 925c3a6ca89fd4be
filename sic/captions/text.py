"""Sentence generation from aggregated phrases: determiners, subjects, templates, transitions.

All phrasings here are written for ``sic``; only their meaning follows PoseScript's classes. The
rules (PoseScript §sentence generation, our wording):

- one determiner per caption: "the" 0.5, "their" 0.3, "his" 0.1, "her" 0.1; "his"/"her" also
  switch whole-body subjects and pronouns ("he", "the man"; "she", "the woman");
- whole-body codes take a subject phrase: at a sentence start "someone", "the person", "they", ...;
  mid-sentence "the body" or "the figure";
- clauses are joined by " while ", ", ", ". ", " and " or " with " (uniformly). After " with " the
  verb is dropped ("with the left knee bent") and the sentence continues with ", " / " and " / ". ";
  our additions: one " while " or " with " per sentence, and at most four clauses per sentence;
  a new sentence about the same subject opens with a pronoun ("It is ...", "They are ...");
- each class has several predicate templates, with or without a second part; a counterpart on the
  other side may be called "the other ..." (not in simplified mode);
- whitespace is collapsed, sentences are capitalised and the caption ends with a full stop.

Example:
    >>> import numpy as np
    >>> from sic.captions.aggregation import Phrase, Predicate
    >>> from sic.captions.dice import Dice
    >>> from sic.captions.text import Writer
    >>> phrase = Phrase(((("left", "elbow"),)), (Predicate("angle/right angle"),), frozenset({2}))
    >>> text, clauses = Writer(Dice(np.random.default_rng(0))).write([phrase])
    >>> "left elbow" in text and text.endswith(".")
    True
"""

from __future__ import annotations

import re

from sic.captions.aggregation import Phrase, Predicate
from sic.captions.dice import Dice
from sic.captions.posecodes import Part

__all__ = ["ALONE", "ONE", "TWO", "Writer", "finish", "noun"]

_BENT = {
    "completely bent": ["{is} completely bent", "{is} folded as far as it goes", "{is} fully flexed"],
    "almost completely bent": ["{is} almost completely bent", "{is} sharply bent", "{is} nearly fully flexed"],
    "right angle": ["{is} bent at a right angle", "{is} bent at roughly ninety degrees", "{is} forming a right angle"],
    "partially bent": ["{is} partly bent", "{is} half bent", "{is} bent about halfway"],
    "slightly bent": ["{is} slightly bent", "{is} bent a little", "{is} a bit flexed"],
    "straight": ["{is} straight", "{is} fully extended", "{is} held straight"],
}
_INCLINE = {
    "bodyInclineX/forward": ["{is} bent forward", "{is} leaning forward", "{is} bowing forward"],
    "bodyInclineX/slightly forward": ["{is} leaning slightly forward", "{is} tilted a little forward"],
    "bodyInclineX/backward": ["{is} leaning backward", "{is} bent backward", "{is} arching back"],
    "bodyInclineX/slightly backward": ["{is} leaning back a little", "{is} tilted slightly backward"],
    "bodyInclineY/twist right": ["{is} twisted to the right", "{is} turning the upper body to the right"],
    "bodyInclineY/slightly twist right": ["{is} twisted slightly to the right", "{is} turned a little to the right"],
    "bodyInclineY/twist left": ["{is} twisted to the left", "{is} turning the upper body to the left"],
    "bodyInclineY/slightly twist left": ["{is} twisted slightly to the left", "{is} turned a little to the left"],
    "bodyInclineZ/lean right": ["{is} leaning to the right", "{is} tilted over to the right side"],
    "bodyInclineZ/slightly lean right": ["{is} leaning slightly to the right", "{is} tilted a little to the right"],
    "bodyInclineZ/lean left": ["{is} leaning to the left", "{is} tilted over to the left side"],
    "bodyInclineZ/slightly lean left": ["{is} leaning slightly to the left", "{is} tilted a little to the left"],
}
ONE: dict[str, list[str]] = {
    **{f"angle/{c}": t for c, t in _BENT.items()},
    **_INCLINE,
    "distance/close": ["{is} close together", "{is} near each other", "{is} held close together"],
    "distance/shoulder width": ["{is} shoulder-width apart", "{is} about as far apart as the shoulders"],
    "distance/spread": ["{is} spread apart", "{is} held apart"],
    "distance/wide": ["{is} wide apart", "{is} spread wide", "{is} far apart"],
    "relativeVAxis/vertical": ["{is} vertical", "{is} held vertically", "{is} in a vertical position"],
    "relativeVAxis/horizontal": ["{is} horizontal", "{is} level with the ground", "{is} parallel to the floor"],
    "onGround/on ground": ["{is} on the ground", "{is} resting on the floor", "{is} touching the ground"],
    "super/torso horizontal": ["{is} horizontal", "{is} parallel to the ground", "{is} held level with the floor"],
    "super/kneeling": ["{is} kneeling", "{is} on both knees", "{is} kneeling on the floor"],
    "super/shoulder width": ["{is} shoulder-width apart", "{is} about as far apart as the shoulders"],
    "super/bent left": ["{is} bent to the left", "{is} leaning over to the left"],
    "super/bent right": ["{is} bent to the right", "{is} leaning over to the right"],
    "super/bent forward": ["{is} bent forward", "{is} bending over"],
    "super/bent backward": ["{is} bent backward", "{is} arching backward"],
}
"""One-component predicate templates (no second part)."""
TWO: dict[str, list[str]] = {
    "distance/close": ["{is} close to {o}", "{is} near {o}", "{is} right next to {o}"],
    "distance/shoulder width": ["{is} about a shoulder width away from {o}"],
    "distance/spread": ["{is} some distance away from {o}", "{is} fairly far from {o}"],
    "distance/wide": ["{is} far from {o}", "{is} a long way from {o}"],
    "relativePosX/at right": [
        "{is} to the right of {o}",
        "{is} on the right side of {o}",
        "{is} more to the right than {o}",
    ],
    "relativePosX/at left": [
        "{is} to the left of {o}",
        "{is} on the left side of {o}",
        "{is} more to the left than {o}",
    ],
    "relativePosY/below": ["{is} below {o}", "{is} lower than {o}", "{is} beneath {o}"],
    "relativePosY/above": ["{is} above {o}", "{is} higher than {o}", "{is} raised above {o}"],
    "relativePosZ/behind": ["{is} behind {o}", "{is} further back than {o}"],
    "relativePosZ/in front": ["{is} in front of {o}", "{is} ahead of {o}", "{is} further forward than {o}"],
    "super/kneel on": ["{is} kneeling on {o}", "{is} down on {o}", "{is} resting on {o}"],
}
"""Two-component predicate templates (``{o}`` is the second part)."""
ALONE: dict[str, list[str]] = {
    "relativePosX/at right": ["{is} crossing over to the right", "{is} reaching across to the right side"],
    "relativePosX/at left": ["{is} crossing over to the left", "{is} reaching across to the left side"],
    "relativePosY/above": ["{is} raised high", "{is} lifted up high", "{is} up in the air"],
    "relativePosZ/behind": ["{is} held behind", "{is} drawn back", "{is} further back"],
    "relativePosZ/in front": ["{is} out in front", "{is} brought forward", "{is} placed forward"],
}
"""Templates for flow omissions: the second part is implied ("the left hand is raised high")."""

DETERMINERS = (("the", 0.5), ("their", 0.3), ("his", 0.1), ("her", 0.1))
_START = {
    "the": ["someone", "the person", "the figure", "the body", "they"],
    "their": ["someone", "the person", "the figure", "they"],
    "his": ["he", "the man", "the person"],
    "her": ["she", "the woman", "the person"],
}
_MID = {"the": ["the body", "the figure"], "their": ["their body", "the figure"], "his": ["his body", "the man"],
        "her": ["her body", "the woman"]}  # fmt: skip
_BODY_PRONOUN = {"the": "they", "their": "they", "his": "he", "her": "she"}
TRANSITIONS = (" while ", ", ", ". ", " and ", " with ")
_AFTER_WITH = (", ", " and ", ". ")
MAX_CLAUSES = 4  # our rule: longer sentences are split
_NOUNS = {"upperarm": "upper arm"}
_PLURALS = {"foot": "feet", "upperarm": "upper arms"}


def noun(name: str, plural: bool = False) -> str:
    """Display form of a part name ("upperarm" → "upper arm", plural "feet")."""
    if plural:
        return _PLURALS.get(name, _NOUNS.get(name, name) + "s")
    return _NOUNS.get(name, name)


def finish(pieces: list[str]) -> str:
    """Post-process joined clauses: collapse whitespace, capitalise sentences, end with a full stop."""
    text = re.sub(r"\s+", " ", "".join(pieces)).strip()
    text = re.sub(r"\s+([,.])", r"\1", text)
    sentences = [s.strip() for s in text.split(". ") if s.strip()]
    return ". ".join(s[0].upper() + s[1:] for s in sentences).rstrip(".") + "."


class Writer:
    """Write one caption from ordered phrases, drawing every choice from ``dice``.

    Args:
        dice: the pose's random stream.
        simplified: no counterpart ("the other ...") phrasing.
    """

    def __init__(self, dice: Dice, simplified: bool = False) -> None:
        self.dice, self.simplified = dice, simplified
        self.det = dice.weighted([d for d, _ in DETERMINERS], [w for _, w in DETERMINERS])

    def part(self, part: Part, counterpart_of: Part | None = None) -> tuple[str, bool]:
        """Noun phrase of ``part`` and whether it is plural."""
        side, name = part
        if counterpart_of is not None and not self.simplified and counterpart_of[1] == name and self.dice.chance(0.5):
            return f"{self.det} other {noun(name)}", False
        if side == "both":
            return (f"both {noun(name, True)}" if self.dice.chance(0.5) else f"{self.det} {noun(name, True)}"), True
        if side == "pair":
            return f"{self.det} {noun(name, True)}", True
        return f"{self.det} {side + ' ' if side else ''}{noun(name)}", False

    def subject(self, phrase: Phrase, start: bool, pronoun: bool) -> tuple[str, bool]:
        """Subject phrase of ``phrase`` and whether it takes a plural verb."""
        parts = phrase.subjects
        if parts[0][1] == "body":
            if pronoun or (start and self.dice.chance(0.15)):
                word = _BODY_PRONOUN[self.det]
            else:
                word = self.dice.choice(_START[self.det] if start else _MID[self.det])
            return word, word == "they"
        rendered = [self.part(p) for p in parts]
        plural = len(parts) > 1 or rendered[0][1]
        if pronoun:
            return ("they" if plural else "it"), plural
        words = [w for w, _ in rendered]
        return (" and ".join(words) if len(words) < 3 else ", ".join(words[:-1]) + " and " + words[-1]), plural

    def predicate(self, pred: Predicate, subject: Part, verb: str) -> str:
        """One predicate, with ``verb`` ("is", "are" or "") in place of ``{is}``."""
        if pred.alone:
            template = self.dice.choice(ALONE[pred.key])
        elif pred.obj:
            template = self.dice.choice(TWO[pred.key])
        else:
            template = self.dice.choice(ONE[pred.key])
        obj = ""
        if pred.obj:
            words = [self.part(o, subject if len(pred.obj) == 1 and o[0] != subject[0] else None)[0] for o in pred.obj]
            obj = " and ".join(words)
        return template.format(**{"is": verb, "o": obj})

    def clause(self, phrase: Phrase, start: bool, with_verb: bool, pronoun: bool) -> str:
        """The text of one phrase."""
        subject, plural = self.subject(phrase, start, pronoun)
        verb = ("are" if plural else "is") if with_verb else ""
        preds = [self.predicate(p, phrase.subjects[0], verb if i == 0 else "") for i, p in enumerate(phrase.predicates)]
        return re.sub(r"\s+", " ", f"{subject} {' and '.join(preds)}").strip()

    def _transition(self, with_mode: bool, used: list[int]) -> str:
        """Next joint; a sentence holds at most ``MAX_CLAUSES`` clauses and one "while"/"with"."""
        if len(used) >= MAX_CLAUSES:
            return ". "
        return self.dice.choice(_AFTER_WITH if with_mode or any(used[1:]) else TRANSITIONS)

    def write(self, phrases: list[Phrase]) -> tuple[str, list[str]]:
        """The caption and the text of each clause (in order)."""
        if not phrases:
            return finish(["no distinctive posture stands out"]), []
        pieces, clauses, with_mode, start, used = [], [], False, True, [0]
        for i, phrase in enumerate(phrases):
            if i:
                transition = self._transition(with_mode, used)
                start = transition == ". "
                with_mode = transition == " with " or (with_mode and not start)
                used = [0] if start else [*used, transition in (" while ", " with ")]
                pieces.append(transition)
            pronoun = start and i > 0 and phrase.subjects == phrases[i - 1].subjects
            clauses.append(self.clause(phrase, start, not with_mode, pronoun))
            pieces.append(clauses[-1])
        return finish(pieces), clauses
