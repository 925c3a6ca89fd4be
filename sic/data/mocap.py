"""Free motion capture (CMU, HDM05, studio BVH exports) to joint sequences in the archive convention.

* ASF/AMC (CMU, HDM05): bone end points by Acclaim forward kinematics → layout ``cmu31``.
* CMU BVH (Hahne's MotionBuilder- and 3dsMax-friendly releases): recognised by joint names and
  converted to the same ``cmu31`` points (a BVH joint sits at the *start* of its ASF bone, so bone
  ``i`` ends where the BVH joint's first child, or its End Site, sits). The MotionBuilder release's
  synthetic T-pose frame 0 is dropped.
* Any other BVH: a joint map (H3.6M-17 joint name → BVH joint name(s), averaged) gives ``h36m17``.

Units become metres (ASF/CMU: × 0.0254 / 0.45; other BVH: ``scale`` or a unit inferred from the
standing height), and sequences are normalised to the archive convention
(:func:`sic.data.motion.normalize_ground`).

Example:
    >>> from sic.data.mocap import parse_trial_name
    >>> parse_trial_name("07_05"), parse_trial_name("HDM_bd_kickLFront1Reps_001_120")
    ({'subject': '07', 'trial': '05'}, {'subject': 'bd', 'label': 'kickLFront1Reps', 'take': '001', 'fps': '120'})
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sic.data.formats import Bvh, amc_joints, read_amc, read_asf, read_bvh
from sic.data.formats.asf_amc import INCH
from sic.data.motion import normalize_ground
from sic.data.rotation import z_up_to_y_up
from sic.data.skeleton import get_layout
from sic.utils.errors import DataError

__all__ = [
    "CMU_BVH_RELEASES",
    "CMU_SCALE",
    "CmuIndex",
    "MocapSequence",
    "bvh_to_cmu31",
    "cmu_bvh_release",
    "find_asf",
    "load_mocap",
    "parse_trial_name",
]

CMU_SCALE = INCH / 0.45  # metres per CMU/HDM05 length unit
_CMU = get_layout("cmu31").names

# BVH joint names of the ASF bones (cmu31 order) in the two CMU BVH releases; "|" separates the
# 2008 and 2010 spellings of the finger joint.
CMU_BVH_RELEASES: dict[str, tuple[str, ...]] = {
    "motionbuilder": (
        "Hips", "LHipJoint", "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToeBase", "RHipJoint", "RightUpLeg",
        "RightLeg", "RightFoot", "RightToeBase", "LowerBack", "Spine", "Spine1", "Neck", "Neck1", "Head",
        "LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand", "LeftFingerBase", "LFingers|LeftHandIndex1", "LThumb",
        "RightShoulder", "RightArm", "RightForeArm", "RightHand", "RightFingerBase", "RFingers|RightHandIndex1", "RThumb",
    ),
    "3dsmax": (
        "Hips", "LHipJoint", "LeftHip", "LeftKnee", "LeftAnkle", "LeftToe", "RHipJoint", "RightHip", "RightKnee",
        "RightAnkle", "RightToe", "lowerback", "Chest", "Chest2", "lowerneck", "Neck", "Head", "LeftCollar",
        "LeftShoulder", "LeftElbow", "LeftWrist", "lhand", "LFingers", "LThumb", "RightCollar", "RightShoulder",
        "RightElbow", "RightWrist", "rhand", "RFingers", "RThumb",
    ),
}  # fmt: skip

_NAME_PATTERNS = (
    re.compile(r"^(?P<subject>\d+)_(?P<trial>\d+)$"),  # CMU: 07_05
    re.compile(r"^HDM_(?P<subject>[A-Za-z]+)_(?P<label>.+)_(?P<take>\d+)_(?P<fps>\d+)$"),  # HDM05 cuts
)
_UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": INCH, "cmu": CMU_SCALE}


def parse_trial_name(stem: str, pattern: str | None = None) -> dict[str, str]:
    """Fields (``subject``, ``label``, ``fps`` ...) from a file name stem, by ``pattern`` or the CMU/HDM05 conventions."""
    patterns = [re.compile(pattern)] if pattern else _NAME_PATTERNS
    for p in patterns:
        m = p.match(stem)
        if m:
            return {k: v for k, v in m.groupdict().items() if v is not None}
    return {}


@dataclass
class CmuIndex:
    """The CMU trial index (``cmu_mocap_index.csv``: subject, trial, description, fps, ...)."""

    entries: dict[tuple[int, int], tuple[str, float]]

    @classmethod
    def read(cls, path: str | os.PathLike) -> CmuIndex:
        """Read the index CSV; raises :class:`DataError` naming the file and row when malformed."""
        path = Path(path)
        try:
            with path.open(newline="", encoding="utf-8", errors="replace") as f:
                rows = list(csv.DictReader(f))
        except FileNotFoundError:
            raise DataError(f"{path}: index file not found") from None
        entries = {}
        for n, row in enumerate(rows, 2):
            try:
                entries[int(row["subject"]), int(row["trial"])] = (row["description"].strip(), float(row["fps"]))
            except (KeyError, TypeError, ValueError):
                raise DataError(f"{path}:{n}: expected columns subject, trial, description, fps with numbers, got {row}") from None
        return cls(entries)

    def lookup(self, subject: str, trial: str) -> tuple[str, float] | None:
        """``(description, fps)`` of a trial, or ``None``."""
        try:
            return self.entries.get((int(subject), int(trial)))
        except ValueError:
            return None


def cmu_bvh_release(bvh: Bvh) -> str | None:
    """``"motionbuilder"`` or ``"3dsmax"`` when every CMU joint name of that release is present, else ``None``."""
    names = set(bvh.names)
    for release, joints in CMU_BVH_RELEASES.items():
        if all(any(alt in names for alt in j.split("|")) for j in joints):
            return release
    return None


def _bone_end_points(bvh: Bvh, joints: list[str]) -> np.ndarray:
    """Index into ``bvh.names`` of the point where each listed joint's bone ends."""
    out = []
    for j in joints:
        i = bvh.names.index(j)
        children = [c for c, p in enumerate(bvh.parents) if p == i]
        out.append(i if i == 0 else children[0] if children else i)
    return np.asarray(out)


def bvh_to_cmu31(bvh: Bvh, release: str) -> np.ndarray:
    """``(T, 31, 3)`` cmu31 bone end points (file units) of a CMU BVH of ``release``."""
    names = set(bvh.names)
    joints = [next(a for a in j.split("|") if a in names) for j in CMU_BVH_RELEASES[release]]
    return bvh.positions()[:, _bone_end_points(bvh, joints)]


def _is_synthetic_tpose(bvh: Bvh) -> bool:
    """Frame 0 of the MotionBuilder release: zero root rotation, same root position as frame 1."""
    if bvh.num_frames < 2:
        return False
    root = bvh.channel_values(0)
    rot = [k for k, c in enumerate(bvh.channels[0]) if c.endswith("rotation")]
    pos = [k for k, c in enumerate(bvh.channels[0]) if c.endswith("position")]
    return bool(np.all(root[0, rot] == 0) and np.allclose(root[0, pos], root[1, pos], atol=1e-3))


def _infer_scale(points: np.ndarray, path: Path) -> float:
    """Metres per file unit from the median standing height (lowest to highest joint)."""
    height = float(np.median(points[..., 1].max(-1) - points[..., 1].min(-1)))
    fits = [(u, s) for u, s in _UNITS.items() if 1.0 <= height * s <= 2.3]
    if len(fits) != 1:
        raise DataError(
            f"{path}: cannot infer the length unit from a height of {height:.4g} file units "
            f"(candidates {[u for u, _ in fits] or 'none'}); pass the scale in metres per unit"
        )
    return fits[0][1]


@dataclass
class MocapSequence:
    """One loaded trial: ``joints (T, J, 3)`` float32 metres y up, its layout and the header frame rate."""

    joints: np.ndarray
    layout: str
    header_fps: float | None


def find_asf(amc: Path, subject: str | None) -> Path:
    """The skeleton of an AMC: ``<stem>.asf``, ``<subject>.asf``, ``HDM_<subject>.asf`` or the folder's only ASF."""
    candidates = [amc.with_suffix(".asf")]
    if subject:
        candidates += [amc.parent / f"{subject}.asf", amc.parent / f"HDM_{subject}.asf"]
    for c in candidates:
        for variant in (c, c.with_suffix(".ASF")):
            if variant.is_file():
                return variant
    others = sorted(p for p in amc.parent.iterdir() if p.suffix.lower() == ".asf")
    if len(others) == 1:
        return others[0]
    raise DataError(f"{amc}: no skeleton found; tried {[str(c) for c in candidates]} and the folder holds {len(others)} .asf files")


def load_mocap(
    path: str | os.PathLike,
    *,
    subject: str | None = None,
    joint_map: dict[str, str | list[str]] | None = None,
    scale: float | None = None,
    up: str = "y",
) -> MocapSequence:
    """Load one ``.amc`` or ``.bvh`` trial in the archive frame convention.

    Args:
        path: the trial file.
        subject: subject id, used to find an AMC's skeleton.
        joint_map: for non-CMU BVH: H3.6M-17 joint name → BVH joint name or names (averaged).
        scale: metres per file unit (default: CMU units for ASF/AMC and CMU BVH, else inferred).
        up: the file's up axis, ``"y"`` or ``"z"``.

    Raises:
        DataError: unreadable or malformed files, an unknown BVH skeleton without a joint map, or a
            map naming joints the file lacks.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".amc":
        skeleton = read_asf(find_asf(path, subject))
        if tuple(skeleton.names) != _CMU:
            raise DataError(f"{skeleton.path}: bones {skeleton.names} are not the CMU/HDM05 31-bone skeleton")
        points = amc_joints(skeleton, read_amc(path, skeleton), scale=1.0).astype(np.float64)
        layout, unit, header_fps = "cmu31", skeleton.scale if scale is None else scale, None
    elif suffix == ".bvh":
        bvh = read_bvh(path)
        release = cmu_bvh_release(bvh)
        header_fps = bvh.fps
        if release is not None and joint_map is None:
            if release == "motionbuilder" and _is_synthetic_tpose(bvh):
                bvh.motion = bvh.motion[1:]
            points, layout, unit = bvh_to_cmu31(bvh, release), "cmu31", CMU_SCALE if scale is None else scale
        else:
            points, layout = _mapped_bvh(bvh, joint_map, path), "h36m17"
            unit = scale
    else:
        raise DataError(f"{path}: unsupported motion file type {path.suffix!r}; expected .bvh or .amc")
    if up not in ("y", "z"):
        raise DataError(f"up axis must be 'y' or 'z', got {up!r}")
    points = z_up_to_y_up(points) if up == "z" else points
    unit = _infer_scale(points, path) if unit is None else unit
    joints = normalize_ground((points * unit).astype(np.float32))
    return MocapSequence(joints, layout, header_fps)


def _mapped_bvh(bvh: Bvh, joint_map: dict[str, str | list[str]] | None, path: Path) -> np.ndarray:
    """H3.6M-17 points of a non-CMU BVH through ``joint_map``."""
    target = get_layout("h36m17").names
    if joint_map is None:
        raise DataError(
            f"{path}: BVH skeleton is not a CMU release; give a joint map from H3.6M-17 names {list(target)} "
            f"to this file's joints {[n for n in bvh.names if not n.endswith('/end')]}"
        )
    missing = [n for n in target if n not in joint_map]
    unknown = [k for k in joint_map if k not in target]
    if missing or unknown:
        raise DataError(f"joint map: missing H3.6M-17 joints {missing}, unknown keys {unknown}")
    index = {n: i for i, n in enumerate(bvh.names)}
    columns = []
    for name in target:
        sources = [joint_map[name]] if isinstance(joint_map[name], str) else list(joint_map[name])
        absent = [s for s in sources if s not in index]
        if absent or not sources:
            raise DataError(f"{path}: joint map entry {name!r} names joints {absent or sources} that the file lacks")
        columns.append([index[s] for s in sources])
    points = bvh.positions()
    return np.stack([points[:, c].mean(axis=1) for c in columns], axis=1)
