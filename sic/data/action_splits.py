"""Action class lists and the zero-shot class splits of the skeleton recognition benchmarks.

Class ids are **0-indexed** (NTU action number ``A`` is id ``A - 1``). A :class:`ZeroShotSplit` names the
unseen classes of a dataset; the seen classes are the complement. Each split also carries *validation*
classes: seen classes that act as pseudo-unseen when a run holds them out to choose the GZSL calibration
factor (SynSE's ``rv`` re-splits for NTU; a seeded draw elsewhere). The lists are the SynSE definitions that
every later method (Neuron, STAR, SA-DVAE, PURLS, SkeletonContext, ...) reuses, plus the three random splits
per dataset of the SMIE/SA-DVAE "random split" setting (for PKU-MMD two are published; ``-r3`` is Neuron's).

PKU-MMD ids follow the official alphabetical class order. The published 46/5 list ``[1, 9, 20, 34, 50]`` is kept
as published for comparability, although its papers name id 20 "make a phone call" (id 19 in that order; id 20
is "pat on back of other person").

Example:
    >>> from sic.data.action_splits import get_split
    >>> s = get_split("ntu60-55-5")
    >>> [s.class_names[i] for i in s.unseen]
    ['reading', 'writing', 'put on a hat/cap', 'jump up', "touch other person's pocket"]
    >>> len(s.seen), s.validation
    (55, (16, 21, 25, 31, 48))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sic.data.sources.procedural import ACTION_NAMES
from sic.utils.errors import ConfigError

__all__ = ["CLASS_NAMES", "DATASETS", "SPLITS", "ZeroShotSplit", "get_split", "random_split"]

NTU120_CLASSES: tuple[str, ...] = (
    "drink water", "eat meal/snack", "brushing teeth", "brushing hair", "drop", "pickup", "throw", "sitting down",
    "standing up (from sitting position)", "clapping", "reading", "writing", "tear up paper", "wear jacket",
    "take off jacket", "wear a shoe", "take off a shoe", "wear on glasses", "take off glasses", "put on a hat/cap",
    "take off a hat/cap", "cheer up", "hand waving", "kicking something",
    "put something inside pocket / take out something from pocket",
    "hopping (one foot jumping)", "jump up", "make a phone call/answer phone", "playing with phone/tablet",
    "typing on a keyboard", "pointing to something with finger", "taking a selfie", "check time (from watch)",
    "rub two hands together", "nod head/bow", "shake head", "wipe face", "salute", "put the palms together",
    "cross hands in front (say stop)", "sneeze/cough", "staggering", "falling", "touch head (headache)",
    "touch chest (stomachache/heart pain)", "touch back (backache)", "touch neck (neckache)",
    "nausea or vomiting condition", "use a fan (with hand or paper)/feeling warm", "punching/slapping other person",
    "kicking other person", "pushing other person", "pat on back of other person",
    "point finger at the other person", "hugging other person", "giving something to other person",
    "touch other person's pocket", "handshaking", "walking towards each other", "walking apart from each other",
    "put on headphone", "take off headphone", "shoot at the basket", "bounce ball", "tennis bat swing",
    "juggling table tennis balls", "hush (quite)", "flick hair", "thumb up", "thumb down", "make ok sign",
    "make victory sign", "staple book", "counting money", "cutting nails", "cutting paper (using scissors)",
    "snapping fingers", "open bottle", "sniff (smell)", "squat down", "toss a coin", "fold paper", "ball up paper",
    "play magic cube", "apply cream on face", "apply cream on hand back", "put on bag", "take off bag",
    "put something into a bag", "take something out of a bag", "open a box", "move heavy objects", "shake fist",
    "throw up cap/hat", "hands up (both hands)", "cross arms", "arm circles", "arm swings", "running on the spot",
    "butt kicks (kick backward)", "cross toe touch", "side kick", "yawn", "stretch oneself", "blow nose",
    "hit other person with something", "wield knife towards other person",
    "knock over other person (hit with body)", "grab other person's stuff", "shoot at other person with a gun",
    "step on foot", "high-five", "cheers and drink", "carry something with other person",
    "take a photo of other person", "follow other person", "whisper in other person's ear",
    "exchange things with other person",
    "support somebody with one's hand (someone is sick, help him to walk)",
    "finger-guessing game (playing rock-paper-scissors)",
)  # fmt: skip
"""The 120 NTU RGB+D 120 action names in id order (the first 60 are NTU RGB+D 60)."""

PKU51_CLASSES: tuple[str, ...] = (
    "bow", "brushing hair", "brushing teeth", "check time (from watch)", "cheer up", "clapping",
    "cross hands in front (say stop)", "drink water", "drop", "eat meal/snack", "falling",
    "giving something to other person", "hand waving", "handshaking", "hopping (one foot jumping)",
    "hugging other person", "jump up", "kicking other person", "kicking something",
    "make a phone call/answer phone", "pat on back of other person", "pickup", "playing with phone/tablet",
    "point finger at the other person", "pointing to something with finger", "punching/slapping other person",
    "pushing other person", "put on a hat/cap", "put something inside pocket", "reading", "rub two hands together",
    "salute", "sitting down", "standing up", "take off a hat/cap", "take off glasses", "take off jacket",
    "take out something from pocket", "taking a selfie", "tear up paper", "throw", "touch back (backache)",
    "touch chest (stomachache/heart pain)", "touch head (headache)", "touch neck (neckache)",
    "typing on a keyboard", "use a fan (with hand or paper)/feeling warm", "wear jacket", "wear on glasses",
    "wipe face", "writing",
)  # fmt: skip
"""The 51 PKU-MMD (phase I) action names in id order."""

CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "ntu60": NTU120_CLASSES[:60],
    "ntu120": NTU120_CLASSES,
    "pku51": PKU51_CLASSES,
    "procedural": ACTION_NAMES,
}
"""Class names per dataset key."""

DATASETS: tuple[str, ...] = tuple(CLASS_NAMES)
"""The dataset keys (``dataset:`` in configs; never inferred from a class count)."""


@dataclass(frozen=True)
class ZeroShotSplit:
    """Unseen classes of one dataset; the seen classes are the rest.

    Args:
        name: registry key, e.g. ``"ntu60-55-5"``.
        dataset: a key of :data:`CLASS_NAMES`.
        unseen: unseen class ids (sorted).
        validation: seen class ids that serve as pseudo-unseen classes on validation when a run holds them
            out of training (GZSL calibration); empty when the split defines none.
    """

    name: str
    dataset: str
    unseen: tuple[int, ...]
    validation: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        n = len(CLASS_NAMES[self.dataset])
        for field, ids in (("unseen", self.unseen), ("validation", self.validation)):
            if len(set(ids)) != len(ids) or any(not 0 <= i < n for i in ids):
                raise ConfigError(f"split {self.name!r}: {field} ids must be distinct and in [0, {n}), got {ids}")
        if not self.unseen or len(self.unseen) >= n:
            raise ConfigError(f"split {self.name!r}: needs between 1 and {n - 1} unseen classes")
        if set(self.unseen) & set(self.validation):
            raise ConfigError(f"split {self.name!r}: validation classes must be seen classes")

    @property
    def class_names(self) -> tuple[str, ...]:
        """All class names of the dataset, in id order."""
        return CLASS_NAMES[self.dataset]

    @property
    def num_classes(self) -> int:
        """Number of classes of the dataset."""
        return len(self.class_names)

    @property
    def seen(self) -> tuple[int, ...]:
        """Seen class ids (the complement of :attr:`unseen`), sorted."""
        hidden = set(self.unseen)
        return tuple(i for i in range(self.num_classes) if i not in hidden)


def random_split(dataset: str, num_unseen: int, seed: int, num_validation: int | None = None) -> ZeroShotSplit:
    """A seeded random split: ``num_unseen`` unseen classes and ``num_validation`` (default the same) validation ones.

    Args:
        dataset: a key of :data:`CLASS_NAMES`.
        num_unseen: number of unseen classes.
        seed: seed of the draw (the same seed always gives the same split).
        num_validation: pseudo-unseen validation classes drawn from the seen ones.
    """
    if dataset not in CLASS_NAMES:
        raise ConfigError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
    n = len(CLASS_NAMES[dataset])
    if not 0 < num_unseen < n:
        raise ConfigError(f"num_unseen must be in [1, {n - 1}] for {dataset}, got {num_unseen}")
    order = np.random.default_rng(seed).permutation(n)
    k = num_unseen if num_validation is None else num_validation
    unseen, validation = order[:num_unseen], order[num_unseen : num_unseen + min(k, n - num_unseen - 1)]
    return ZeroShotSplit(f"{dataset}-{n - num_unseen}-{num_unseen}-seed{seed}", dataset,
                         tuple(sorted(int(i) for i in unseen)), tuple(sorted(int(i) for i in validation)))  # fmt: skip


def _drawn_validation(dataset: str, unseen: tuple[int, ...], seed: int = 0) -> tuple[int, ...]:
    """Pseudo-unseen validation classes for splits that publish none: as many seen classes as unseen, seeded."""
    seen = [i for i in range(len(CLASS_NAMES[dataset])) if i not in set(unseen)]
    pick = np.random.default_rng(seed).choice(len(seen), size=min(len(unseen), len(seen) - 1), replace=False)
    return tuple(sorted(seen[i] for i in pick))


def _named(dataset: str, names: list[str]) -> tuple[int, ...]:
    return tuple(sorted(CLASS_NAMES[dataset].index(n) for n in names))


_RV = {  # SynSE's validation re-splits of the seen classes (original ids)
    "ntu60-55-5": (16, 21, 25, 31, 48),
    "ntu60-48-12": (4, 8, 10, 13, 17, 22, 30, 33, 39, 46, 50, 54),
    "ntu120-110-10": (5, 10, 32, 61, 72, 74, 76, 77, 83, 96),
    "ntu120-96-24": (1, 3, 4, 10, 17, 19, 27, 47, 48, 53, 58, 63, 66, 79, 83, 86, 89, 92, 97, 98, 100, 103, 105, 108),
}
_UNSEEN = {
    "ntu60-55-5": (10, 11, 19, 26, 56),
    "ntu60-48-12": (3, 5, 9, 12, 15, 40, 42, 47, 51, 56, 58, 59),
    "ntu120-110-10": (4, 13, 37, 43, 49, 65, 88, 95, 99, 106),
    "ntu120-96-24": (5, 9, 11, 16, 18, 20, 22, 29, 35, 39, 45, 49, 59, 68, 70, 81, 84, 87, 93, 94, 104, 113, 114, 119),
    "pku51-46-5": (1, 9, 20, 34, 50),
    "pku51-39-12": (3, 7, 11, 15, 19, 21, 25, 31, 33, 36, 43, 48),
    "ntu60-55-5-r1": (4, 19, 31, 47, 51),
    "ntu60-55-5-r2": (12, 29, 32, 44, 59),
    "ntu60-55-5-r3": (7, 20, 28, 39, 58),
    "ntu120-110-10-r1": (3, 18, 26, 38, 41, 60, 87, 99, 102, 110),
    "ntu120-110-10-r2": (5, 12, 14, 15, 17, 42, 67, 82, 100, 119),
    "ntu120-110-10-r3": (6, 20, 27, 33, 42, 55, 71, 97, 104, 118),
    "pku51-46-5-r1": (3, 14, 29, 31, 49),
    "pku51-46-5-r2": (2, 15, 39, 41, 43),
    "pku51-46-5-r3": (4, 12, 16, 22, 36),
}


def _build() -> dict[str, ZeroShotSplit]:
    splits = {}
    for name, unseen in _UNSEEN.items():
        dataset = name.split("-")[0]
        validation = _RV.get(name) or _drawn_validation(dataset, unseen)
        splits[name] = ZeroShotSplit(name, dataset, unseen, validation)
    # The embedded source: each unseen class has a related seen one (walk/run, sit down/stand up, the two
    # waves, jump/jumping jacks), which is what zero-shot transfer through text can exploit.
    splits["procedural-13-4"] = ZeroShotSplit(
        "procedural-13-4", "procedural", _named("procedural", ["run", "stand_up", "wave_right_hand", "jumping_jacks"]),
        _named("procedural", ["squat", "kick", "bow"]))  # fmt: skip
    return splits


SPLITS: dict[str, ZeroShotSplit] = _build()
"""Every named split."""


def get_split(name: str) -> ZeroShotSplit:
    """The split called ``name``; an unknown name raises :class:`ConfigError` listing the known ones."""
    try:
        return SPLITS[name]
    except KeyError:
        raise ConfigError(f"unknown zero-shot split {name!r}; known splits: {', '.join(SPLITS)}") from None
