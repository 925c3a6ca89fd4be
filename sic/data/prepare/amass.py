"""Prepare a motion archive from AMASS (SMPL+H "G" and SMPL-X "N" releases).

Run as ``python tools/prepare_amass.py ROOT -o OUT --body-model DIR`` (or ``--joints-dir DIR``).
Motion files are ``ROOT/<dataset>/<subject>/<name>.npz`` with ``poses``, ``trans``, ``betas``,
``gender`` and ``mocap_framerate`` (G) or ``mocap_frame_rate`` (N); ``shape.npz`` files are skipped.
All are read with ``allow_pickle=False``.

Joints come from one of:

* ``--body-model DIR``: forward kinematics with a body model **you** supply (the SMPL family is
  licensed; ``sic`` never ships one): ``DIR/{male,female,neutral}/model.npz`` or one ``model.npz``,
  with ``v_template``, ``shapedirs``, ``J_regressor`` and ``kintree_table``. Rest joints follow
  each subject's ``betas``; the 22 body joints are posed by the first 66 pose values.
* ``--joints-dir DIR``: pre-computed joints, ``DIR/<same relative path>.npy`` (or ``.npz`` with a
  ``joints`` array), ``(T, >=22, 3)`` in the AMASS world frame.

AMASS is z-up; archives are y-up (``(x, y, z) -> (x, z, -y)``), on the floor, layout ``smpl22``.
The real root motion is kept (the siMLPe/SiC loaders zero the global orientation and drop the
translation; world-frame tasks canonicalise the heading per window instead). Frame rates such as
``120.00004577636719`` are rounded. Splits follow siMLPe: train ACCAD, CMU, EKUT, Eyes_Japan_Dataset,
KIT, MPI_Limits, TCD_handMocap, TotalCapture; val HumanEva, MPI_HDM05, MPI_mosh, SFU; test
BioMotionLab_NTroje; the N release's names (BMLrub, PosePrior, HDM05, MoSh, TCDHands,
EyesJapanDataset) map to the same splits. Other datasets are skipped and listed.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from sic.data.motion import MotionRecord, normalize_ground, write_motion_archive
from sic.data.prepare.common import run_cli, summarize
from sic.data.rotation import axis_angle_matrix, z_up_to_y_up
from sic.utils.errors import DataError

__all__ = ["AMASS_SPLITS", "BodyModel", "main", "prepare_amass", "read_amass_motion"]

AMASS_SPLITS = {
    **dict.fromkeys(["ACCAD", "CMU", "EKUT", "Eyes_Japan_Dataset", "EyesJapanDataset", "KIT", "MPI_Limits", "PosePrior",
                     "TCD_handMocap", "TCDHands", "TotalCapture"], "train"),
    **dict.fromkeys(["HumanEva", "MPI_HDM05", "HDM05", "MPI_mosh", "MoSh", "SFU"], "val"),
    **dict.fromkeys(["BioMotionLab_NTroje", "BMLrub"], "test"),
}  # fmt: skip
BODY_JOINTS = 22


def _npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except ValueError as e:
        raise DataError(f"{path}: holds object arrays, which are not read (pickles): {e}") from None
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: not a readable .npz file ({e})") from None


@dataclass
class BodyModel:
    """The parts of an SMPL-family model that place the body joints."""

    v_template: np.ndarray
    shapedirs: np.ndarray
    j_regressor: np.ndarray
    parents: np.ndarray

    @classmethod
    def load(cls, path: Path) -> BodyModel:
        """Read a ``model.npz``; raises :class:`DataError` naming a missing or misshapen key."""
        z = _npz(path)
        for key in ("v_template", "shapedirs", "J_regressor", "kintree_table"):
            if key not in z:
                raise DataError(f"{path}: missing key {key!r} (expected an SMPL-family model.npz)")
        v, s, j, k = z["v_template"], z["shapedirs"], z["J_regressor"], z["kintree_table"]
        if v.ndim != 2 or s.shape[:2] != v.shape or j.shape[1:] != (len(v),) or len(j) < BODY_JOINTS or k.shape[0] != 2:
            raise DataError(f"{path}: inconsistent shapes v_template {v.shape}, shapedirs {s.shape}, J_regressor {j.shape}, kintree_table {k.shape}")
        parents = k[0, :BODY_JOINTS].astype(np.int64)
        parents[0] = -1
        return cls(v.astype(np.float64), s.astype(np.float64), j[:BODY_JOINTS].astype(np.float64), parents)

    def rest_joints(self, betas: np.ndarray) -> np.ndarray:
        """``(22, 3)`` rest joints for shape ``betas``."""
        n = min(len(betas), self.shapedirs.shape[-1])
        return self.j_regressor @ (self.v_template + self.shapedirs[..., :n] @ betas[:n])

    def joints(self, poses: np.ndarray, trans: np.ndarray, betas: np.ndarray) -> np.ndarray:
        """``(T, 22, 3)`` posed joints from axis-angle ``poses (T, >=66)`` and ``trans (T, 3)``."""
        rest = self.rest_joints(betas)
        rot = axis_angle_matrix(poses[:, : 3 * BODY_JOINTS].reshape(len(poses), BODY_JOINTS, 3))
        glob = np.empty_like(rot)
        out = np.empty((len(poses), BODY_JOINTS, 3))
        for j, p in enumerate(self.parents):
            if p < 0:
                glob[:, j], out[:, j] = rot[:, j], rest[j] + trans
            else:
                glob[:, j] = glob[:, p] @ rot[:, j]
                out[:, j] = out[:, p] + glob[:, p] @ (rest[j] - rest[p])
        return out


def _frame_rate(z: dict[str, np.ndarray], path: Path) -> float:
    for key in ("mocap_framerate", "mocap_frame_rate"):
        if key in z:
            fps = round(float(z[key]), 3)
            return float(round(fps)) if abs(fps - round(fps)) < 1e-3 else fps
    raise DataError(f"{path}: missing key 'mocap_framerate' (G release) or 'mocap_frame_rate' (N release)")


def _gender(z: dict[str, np.ndarray]) -> str:
    g = z.get("gender", np.array("neutral")).item()
    return (g.decode("latin-1") if isinstance(g, bytes) else str(g)).strip().lower()


def read_amass_motion(path: Path, models: dict[str, BodyModel] | None = None, joints_file: Path | None = None) -> tuple[np.ndarray, float]:
    """``(joints (T, 22, 3) float32 metres y-up on the floor, fps)`` of one AMASS motion file."""
    z = _npz(path)
    for key in ("poses", "trans"):
        if key not in z:
            raise DataError(f"{path}: missing key {key!r} (expected an AMASS motion .npz)")
    poses, trans, fps = z["poses"], z["trans"], _frame_rate(z, path)
    if poses.ndim != 2 or poses.shape[1] < 3 * BODY_JOINTS or trans.shape != (len(poses), 3) or len(poses) < 2:
        raise DataError(f"{path}: 'poses' must be (T >= 2, >= 66) and 'trans' (T, 3), got {poses.shape} and {trans.shape}")
    if joints_file is not None:
        data = _npz(joints_file)["joints"] if joints_file.suffix == ".npz" else np.load(joints_file, allow_pickle=False)
        if data.ndim != 3 or data.shape[1] < BODY_JOINTS or data.shape[2] != 3 or len(data) != len(poses):
            raise DataError(f"{joints_file}: joints must be ({len(poses)}, >= {BODY_JOINTS}, 3) like its motion file, got {data.shape}")
        joints = data[:, :BODY_JOINTS].astype(np.float64)
    else:
        gender = _gender(z)
        model = models.get(gender) or models.get("neutral") or next(iter(models.values()))
        joints = model.joints(poses.astype(np.float64), trans.astype(np.float64), z.get("betas", np.zeros(10)).astype(np.float64))
    if not np.isfinite(joints).all():
        raise DataError(f"{path}: joints hold NaN or inf values")
    return normalize_ground(z_up_to_y_up(joints).astype(np.float32)), fps


def _models(body_model: Path) -> dict[str, BodyModel]:
    if body_model.is_file():
        return {"neutral": BodyModel.load(body_model)}
    models = {g: BodyModel.load(body_model / g / "model.npz") for g in ("male", "female", "neutral") if (body_model / g / "model.npz").is_file()}
    if not models:
        raise DataError(f"body model {str(body_model)!r}: expected model.npz or {{male,female,neutral}}/model.npz")
    return models


def prepare_amass(root: Path, output: Path, body_model: Path | None = None, joints_dir: Path | None = None,
                  skip_bad: bool = False, progress: bool = True) -> dict:  # fmt: skip
    """Convert the AMASS tree under ``root`` into the motion archive ``output``; returns a summary."""
    if (body_model is None) == (joints_dir is None):
        raise DataError("give exactly one of --body-model (forward kinematics) or --joints-dir (pre-computed joints)")
    if not root.is_dir():
        raise DataError(f"AMASS root {str(root)!r} does not exist (expected <dataset>/<subject>/*.npz)")
    models = _models(body_model) if body_model else None
    files = sorted(f for f in root.rglob("*.npz") if f.name != "shape.npz")
    records, skipped = {}, {}
    for f in tqdm(files, desc="AMASS motions", unit="file", disable=not progress):
        rel = f.relative_to(root)
        split = AMASS_SPLITS.get(rel.parts[0])
        if split is None or len(rel.parts) < 2:
            skipped[str(rel)] = f"dataset {rel.parts[0]!r} is in no split"
            continue
        joints_file = None
        if joints_dir is not None:
            joints_file = next((joints_dir / rel.with_suffix(s) for s in (".npy", ".npz") if (joints_dir / rel.with_suffix(s)).is_file()), None)
            if joints_file is None:
                skipped[str(rel)] = f"no joints file {joints_dir / rel.with_suffix('.npy')}"
                continue
        try:
            joints, fps = read_amass_motion(f, models, joints_file)
        except DataError as e:
            if not skip_bad:
                raise
            skipped[str(rel)] = str(e)
            continue
        name = str(rel.with_suffix("")).removesuffix("_poses")
        records[name] = MotionRecord(joints, fps, "smpl22", None, f"{rel.parts[0]}/{rel.parts[1]}", split)
    if not records:
        raise DataError(f"no usable AMASS motions under {root}: {dict(list(skipped.items())[:5])}")
    write_motion_archive(output, records, name=output.name, notes={"source": "AMASS motions, body joints 0-21",
                                                                   "licence": "AMASS: non-commercial research; do not redistribute"})  # fmt: skip
    return summarize(output, records, skipped)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (exit 2 with a one-line error for bad input)."""
    p = argparse.ArgumentParser(prog="prepare_amass.py", description=__doc__.split("\n\n")[0])
    p.add_argument("root", type=Path, help="AMASS folder holding <dataset>/<subject>/*.npz")
    p.add_argument("-o", "--output", type=Path, required=True, help="motion archive directory to write")
    p.add_argument("--body-model", type=Path, help="model.npz, or a folder with {male,female,neutral}/model.npz")
    p.add_argument("--joints-dir", type=Path, help="pre-computed joints mirroring the AMASS tree (.npy or .npz 'joints')")
    p.add_argument("--skip-bad", action="store_true", help="skip malformed files instead of failing")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    return run_cli(lambda: prepare_amass(args.root, args.output, args.body_model, args.joints_dir, args.skip_bad, not args.no_progress))
