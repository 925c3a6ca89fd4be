"""Prepare a motion archive from 3DPW (``sequenceFiles/{train,validation,test}/*.pkl``).

Run as ``python tools/prepare_3dpw.py ROOT -o OUT``. Each sequence file is a Python-2 pickle, read
through the restricted unpickler (numpy arrays and containers only). Per actor, the official
``jointPositions`` (24 SMPL joints, metres, 30 fps, aligned with the video frames) are kept on
the frames with a valid camera pose (``campose_valid``), split into contiguous runs. 3DPW's world
frame is not gravity-aligned, so each actor's sequence is turned so that its mean ankle-to-head
direction points up (+y), then put on the floor (:func:`sic.data.motion.normalize_ground`).

Departure from the SiC reference, which runs forward kinematics of ``poses_60Hz`` on one template
skeleton, decimated to 30 fps: the official joints keep each actor's body shape at the same rate.
The archive layout is ``smpl24``; sources map it to H3.6M-17 (``anatomical`` or ``legacy``).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
from tqdm import tqdm

from sic.data.motion import MotionRecord, normalize_ground, write_motion_archive
from sic.data.prepare.common import run_cli, summarize
from sic.data.rotation import rotation_to_y
from sic.utils.errors import DataError
from sic.utils.safe_pickle import load_pickle

__all__ = ["main", "prepare_3dpw", "read_3dpw_sequence"]

_SPLITS = {"train": "train", "validation": "val", "test": "test"}
_HEAD, _NECK, _ANKLES = 15, 12, (7, 8)
FPS = 30.0


def _up_rotation(joints: np.ndarray) -> np.ndarray:
    """Rotation taking the mean ankle-to-head direction of ``(T, 24, 3)`` joints to +y."""
    up = (joints[:, [_HEAD, _NECK]].mean(1) - joints[:, list(_ANKLES)].mean(1)).mean(0)
    return rotation_to_y(up / np.linalg.norm(up))


def read_3dpw_sequence(path: Path) -> dict[str, np.ndarray]:
    """Actor name → ``(T, 24, 3)`` world joints (metres, y up, on the floor) of one 3DPW file.

    Raises:
        DataError: the pickle is unsafe, truncated or not a 3DPW sequence dict; names the key.
    """
    data = load_pickle(path, encoding="latin1")
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a 3DPW sequence dict, got {type(data).__name__}")
    for key in ("sequence", "jointPositions", "campose_valid"):
        if key not in data:
            raise DataError(f"{path}: missing key {key!r} (expected a 3DPW sequence file with {key!r})")
    joints, valid = data["jointPositions"], data["campose_valid"]
    if not isinstance(joints, (list, tuple)) or len(joints) != len(valid):
        raise DataError(f"{path}: 'jointPositions' and 'campose_valid' must be lists with one entry per actor")
    name = str(data["sequence"])
    out = {}
    for a, (j, v) in enumerate(zip(joints, valid)):
        j, v = np.asarray(j, dtype=np.float64), np.asarray(v, dtype=bool)
        if j.ndim != 2 or j.shape[1] != 72 or v.shape != (len(j),):
            raise DataError(f"{path}: actor {a}: 'jointPositions' must be (N, 72) with N 'campose_valid' flags, got {j.shape} and {v.shape}")
        j = j.reshape(-1, 24, 3)
        if not np.isfinite(j[v]).all():
            raise DataError(f"{path}: actor {a}: 'jointPositions' holds NaN or inf on valid frames")
        actor = name if len(joints) == 1 else f"{name}_actor{a}"
        edges = np.flatnonzero(np.diff(np.concatenate([[0], v.astype(np.int8), [0]])))
        runs = [(lo, hi) for lo, hi in zip(edges[::2], edges[1::2]) if hi - lo >= 2]
        if not runs:
            continue
        rot = _up_rotation(j[v])
        for k, (lo, hi) in enumerate(runs):
            out[actor if len(runs) == 1 else f"{actor}#{k}"] = normalize_ground((j[lo:hi] @ rot.T).astype(np.float32))
    return out


def prepare_3dpw(root: Path, output: Path, skip_bad: bool = False, progress: bool = True) -> dict:
    """Convert ``root/sequenceFiles/*/*.pkl`` (or ``root/*/*.pkl``) into the motion archive ``output``."""
    base = root / "sequenceFiles" if (root / "sequenceFiles").is_dir() else root
    if not base.is_dir():
        raise DataError(f"3DPW root {str(root)!r} does not exist (expected sequenceFiles/train, validation, test)")
    files = sorted(f for d in _SPLITS for f in (base / d).glob("*.pkl"))
    if not files:
        raise DataError(f"no 3DPW sequence pickles under {base}/{{train,validation,test}}/")
    records, skipped = {}, {}
    for f in tqdm(files, desc="3DPW sequences", unit="file", disable=not progress):
        try:
            actors = read_3dpw_sequence(f)
        except DataError as e:
            if not skip_bad:
                raise
            skipped[str(f)] = str(e)
            continue
        activity = re.match(r"^[a-z]+_(.+?)_\d+$", f.stem)
        for name, joints in actors.items():
            records[name] = MotionRecord(joints, FPS, "smpl24", activity.group(1) if activity else None, f.stem, _SPLITS[f.parent.name])
    if not records:
        raise DataError(f"no usable 3DPW sequences under {base}: {skipped}")
    write_motion_archive(output, records, name=output.name, notes={"source": "3DPW sequenceFiles, jointPositions at 30 fps",
                                                                   "licence": "3DPW: non-commercial research; do not redistribute"})  # fmt: skip
    return summarize(output, records, skipped)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (exit 2 with a one-line error for bad input)."""
    p = argparse.ArgumentParser(prog="prepare_3dpw.py", description=__doc__.split("\n\n")[0])
    p.add_argument("root", type=Path, help="3DPW folder holding sequenceFiles/")
    p.add_argument("-o", "--output", type=Path, required=True, help="motion archive directory to write")
    p.add_argument("--skip-bad", action="store_true", help="skip malformed files instead of failing")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    return run_cli(lambda: prepare_3dpw(args.root, args.output, args.skip_bad, not args.no_progress))
