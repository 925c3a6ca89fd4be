# ruff: noqa: E501
"""Class knowledge for zero-shot recognition: descriptions, structured contexts and body parts per class.

A knowledge file (JSON) holds, for every class of a dataset, several motion descriptions (the text the
part-level branch aligns with), several structured context tuples "In <environment>, <body part> uses
<used object> to <sub-action> on <target object>" (the context branch's text and the slots that
SkeletonContext's masked-language objective reconstructs), and the body parts that carry the action (the
joint-importance prior of Key-Part Decoupling). The files shipped in ``sic/data/knowledge/`` were written for
this project; ``docs/methods/zero-shot.md`` shows how to regenerate them with an LLM.

Unseen classes must not reach training: :meth:`KnowledgeBase.restrict` returns a view that raises on any
other class, and the datamodule hands the task such a view for every stage.

Example:
    >>> from sic.data.knowledge import KnowledgeBase
    >>> kb = KnowledgeBase.load("procedural")
    >>> c = kb[kb.ids[0]]
    >>> c.name, len(c.descriptions) >= 3, c.contexts[0].slot("used_object") is not None
    ('walk', True, True)
    >>> kb.restrict([0, 1])[5]
    Traceback (most recent call last):
      ...
    KeyError: 'class 5 of procedural is not visible here (only classes [0, 1]); unseen-class text is kept out of training'
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from sic.data.action_splits import CLASS_NAMES
from sic.data.skeleton import SkeletonLayout, get_layout
from sic.utils.errors import ConfigError, DataError

__all__ = ["PARTS", "PART_JOINTS", "SLOTS", "ClassKnowledge", "ContextTuple", "KnowledgeBase", "part_joints"]

PARTS: tuple[str, ...] = ("head", "hand", "arm", "hip", "leg", "foot")
"""The body-part vocabulary of the ``parts`` field."""

SLOTS: tuple[str, ...] = ("environment", "used_object", "target_object")
"""The context slots of the SkeletonContext prompt, in template order."""

_FIELDS = ("environment", "body_part", "used_object", "sub_action", "target_object")

PART_JOINTS: dict[str, dict[str, tuple[str, ...]]] = {
    # The reference code's part -> joint map for Kinect v2 (spine-shoulder belongs to no part).
    "ntu25": {
        "head": ("Neck", "Head"),
        "hand": ("HandLeft", "HandRight", "HandTipLeft", "ThumbLeft", "HandTipRight", "ThumbRight"),
        "arm": ("ShoulderLeft", "ElbowLeft", "WristLeft", "ShoulderRight", "ElbowRight", "WristRight"),
        "hip": ("SpineBase", "SpineMid", "HipLeft", "HipRight"),
        "leg": ("HipLeft", "KneeLeft", "AnkleLeft", "HipRight", "KneeRight", "AnkleRight"),
        "foot": ("AnkleLeft", "FootLeft", "AnkleRight", "FootRight"),
    },
    # The same parts on Human3.6M-17, which has no hand or foot joints: wrists and ankles stand in.
    "h36m17": {
        "head": ("Neck", "Head"),
        "hand": ("LWrist", "RWrist"),
        "arm": ("LShoulder", "LElbow", "RShoulder", "RElbow"),
        "hip": ("Pelvis", "Spine", "LHip", "RHip"),
        "leg": ("LHip", "LKnee", "LAnkle", "RHip", "RKnee", "RAnkle"),
        "foot": ("LAnkle", "RAnkle"),
    },
}
"""Body part → joint names, per joint layout."""


def part_joints(layout: str | SkeletonLayout) -> dict[str, tuple[int, ...]]:
    """Body part → joint indices of ``layout``; a layout without a map raises :class:`ConfigError`."""
    layout = get_layout(layout)
    if layout.name not in PART_JOINTS:
        raise ConfigError(f"no body-part map for joint layout {layout.name!r}; known: {', '.join(PART_JOINTS)}")
    return {p: tuple(layout.index(j) for j in names) for p, names in PART_JOINTS[layout.name].items()}


@dataclass(frozen=True)
class ContextTuple:
    """One structured context: where, with which body part and object, doing what, to what."""

    environment: str
    body_part: str
    used_object: str
    sub_action: str
    target_object: str

    def slot(self, name: str) -> str:
        """The value of a slot of :data:`SLOTS`."""
        if name not in SLOTS:
            raise ConfigError(f"unknown context slot {name!r}; expected one of {SLOTS}")
        return getattr(self, name)

    def sentence(self) -> str:
        """The description sentence of the paper's template."""
        return (f"in {self.environment}, {self.body_part} uses {self.used_object} to {self.sub_action} "
                f"on {self.target_object}")  # fmt: skip


@dataclass(frozen=True)
class ClassKnowledge:
    """Everything known about one class."""

    id: int
    name: str
    parts: tuple[str, ...]
    descriptions: tuple[str, ...]
    contexts: tuple[ContextTuple, ...]


def _packaged(dataset: str) -> Path:
    name = "ntu120" if dataset == "ntu60" else dataset
    return Path(str(resources.files("sic.data") / "knowledge" / f"{name}.json"))


def _parse_class(entry: object, where: str) -> ClassKnowledge:
    if not isinstance(entry, dict):
        raise DataError(f"{where}: expected an object per class")
    missing = {"id", "name", "parts", "descriptions", "contexts"} - set(entry)
    if missing:
        raise DataError(f"{where}: missing key(s) {sorted(missing)}")
    parts = tuple(entry["parts"])
    if not parts or not set(parts) <= set(PARTS):
        raise DataError(f"{where}: parts must be a non-empty subset of {PARTS}, got {list(parts)}")
    texts = entry["descriptions"]
    if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
        raise DataError(f"{where}: descriptions must be a non-empty list of strings")
    contexts = []
    for k, c in enumerate(entry["contexts"] or ()):
        if (
            not isinstance(c, dict)
            or set(c) != set(_FIELDS)
            or not all(isinstance(v, str) and v.strip() for v in c.values())
        ):
            raise DataError(f"{where}: context {k} must have exactly the non-empty string keys {list(_FIELDS)}")
        contexts.append(ContextTuple(**{f: c[f].strip() for f in _FIELDS}))
    if not contexts:
        raise DataError(f"{where}: needs at least one context")
    return ClassKnowledge(int(entry["id"]), str(entry["name"]), parts, tuple(t.strip() for t in texts), tuple(contexts))


class KnowledgeBase:
    """The classes of one dataset with their knowledge; possibly a view restricted to some classes.

    Args:
        dataset: dataset key (``ntu60``, ``ntu120``, ``pku51``, ``procedural`` or another name).
        classes: class id → knowledge.
        path: the file it came from (for messages).
    """

    def __init__(self, dataset: str, classes: Mapping[int, ClassKnowledge], path: str = "") -> None:
        self.dataset, self.path = dataset, path
        self._classes = dict(sorted(classes.items()))

    @classmethod
    def load(cls, source: str | Path, dataset: str | None = None) -> KnowledgeBase:
        """Read a knowledge file, or the packaged one of a dataset key (``"ntu60"`` keeps NTU-120's first 60).

        Args:
            source: a dataset key or the path of a JSON file.
            dataset: the dataset the file must describe; its class names are checked against
                :data:`~sic.data.action_splits.CLASS_NAMES` when known.
        """
        key = str(source)
        packaged = key in CLASS_NAMES
        path = _packaged(key) if packaged else Path(key).expanduser()
        dataset = dataset or (key if packaged else None)
        if not path.is_file():
            raise DataError(f"knowledge file '{path}' does not exist")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise DataError(f"knowledge file '{path}' is not valid JSON: {err}") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("classes"), list):
            raise DataError(f"knowledge file '{path}': expected an object with a 'classes' list")
        classes = {}
        for i, entry in enumerate(raw["classes"]):
            c = _parse_class(entry, f"knowledge file '{path}', class entry {i}")
            if c.id in classes:
                raise DataError(f"knowledge file '{path}': class id {c.id} appears twice")
            classes[c.id] = c
        names = CLASS_NAMES.get(dataset or "")
        if names is not None:
            classes = {i: c for i, c in classes.items() if i < len(names)}
            absent = [i for i in range(len(names)) if i not in classes]
            if absent:
                raise DataError(f"knowledge file '{path}' lacks class id(s) {absent[:10]} of {dataset}")
            wrong = [(i, classes[i].name) for i in range(len(names)) if classes[i].name != names[i]]
            if wrong:
                i, got = wrong[0]
                raise DataError(f"knowledge file '{path}': class {i} is named {got!r}, but {dataset} calls it "
                                f"{names[i]!r}")  # fmt: skip
        return cls(dataset or str(raw.get("dataset", path.stem)), classes, str(path))

    @property
    def ids(self) -> tuple[int, ...]:
        """Visible class ids, sorted."""
        return tuple(self._classes)

    def __len__(self) -> int:
        return len(self._classes)

    def __contains__(self, class_id: object) -> bool:
        return class_id in self._classes

    def __getitem__(self, class_id: int) -> ClassKnowledge:
        try:
            return self._classes[int(class_id)]
        except KeyError:
            raise KeyError(f"class {class_id} of {self.dataset} is not visible here (only classes {list(self.ids)}); "
                           "unseen-class text is kept out of training") from None  # fmt: skip

    def restrict(self, ids: Iterable[int]) -> KnowledgeBase:
        """A view holding only ``ids`` (each must be visible here)."""
        return KnowledgeBase(self.dataset, {int(i): self[int(i)] for i in ids}, self.path)

    def part_mask(self, ids: Iterable[int], layout: str | SkeletonLayout) -> np.ndarray:
        """``(len(ids), J)`` float32 0/1 mask of the joints of each class's body parts."""
        joints = part_joints(layout)
        ids = list(ids)
        mask = np.zeros((len(ids), get_layout(layout).num_joints), dtype=np.float32)
        for row, i in enumerate(ids):
            for part in self[i].parts:
                mask[row, list(joints[part])] = 1.0
        return mask
