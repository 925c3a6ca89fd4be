import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sic.data.camera import Cameras
from sic.data.motion import read_motion_archive
from sic.data.prepare.h36m import (
    CAMERAS,
    EXTRINSICS,
    KEEP_32,
    prepare_h36m_motionbert,
    prepare_h36m_videopose3d,
    quaternion_matrix,
)
from sic.data.sources import MotionArchiveSource
from sic.data.transforms import camera_up
from sic.utils.errors import DataError

TOOL = Path(__file__).resolve().parents[3] / "tools" / "prepare_h36m.py"


def _vp3d_project(world_zup: np.ndarray, subject: str, cam: int) -> np.ndarray:
    """VideoPose3D's convention, written independently: X_cam = rot(q^-1)(X - t), pinhole without distortion."""
    q, t = EXTRINSICS[subject][cam]
    x = (world_zup - np.asarray(t) / 1000) @ quaternion_matrix(q)  # = M(q)^T (X - t)
    _, c, f, _ = CAMERAS[cam]
    return x[..., :2] / x[..., 2:] * f + c


def _walker(frames: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    body = rng.normal(0, 0.25, (32, 3)) + [0, 0, 0.9]
    body[:, 2] = np.abs(body[:, 2])
    return (body[None] + np.stack([np.linspace(0, 1, frames), np.zeros(frames), np.zeros(frames)], -1)[:, None]).astype(np.float32)


@pytest.fixture
def vp3d(tmp_path):
    pos = {"S1": {"Walking 1": _walker(60, 0), "Photo": _walker(40, 1)}, "S9": {"Directions": _walker(50, 2)},
           "S11": {"Greeting": _walker(50, 3)}}  # S11 without Directions, as in the real file  # fmt: skip
    det = {s: {a: [np.concatenate([_vp3d_project(x[:, KEEP_32], s, k), np.zeros((7, 17, 2))]).astype(np.float32)  # longer than the mocap
                   for k in range(4)] for a, x in acts.items()} for s, acts in pos.items()}  # fmt: skip
    np.savez_compressed(tmp_path / "data_3d_h36m.npz", positions_3d=pos)
    np.savez_compressed(tmp_path / "data_2d_h36m_gt.npz", positions_2d=det, metadata={"num_joints": 17})
    return tmp_path / "data_3d_h36m.npz", tmp_path / "data_2d_h36m_gt.npz"


def test_videopose3d_round_trip_keeps_cameras_consistent(vp3d, tmp_path):
    summary = prepare_h36m_videopose3d(*vp3d, tmp_path / "h36m", progress=False)
    recs = read_motion_archive(tmp_path / "h36m")
    assert len(recs) == 16 and summary["splits"]["test"]["sequences"] == 8
    r = recs["S1/Walking 1/55011271"]
    assert (r.label, r.split, r.fps, r.joints.shape, r.poses2d.shape) == ("Walking", "train", 50.0, (60, 17, 3), (60, 17, 3))
    assert recs["S1/Photo/54138969"].label == "Photo" and recs["S9/Directions/60457274"].split == "test"
    cam = Cameras(R=r.camera["R"][None], t=r.camera["t"][None], f=r.camera["f"][None], c=r.camera["c"][None],
                  size=r.camera["size"][None])  # fmt: skip
    np.testing.assert_allclose(cam.project(r.joints[None])[0], r.poses2d[..., :2], atol=1e-2)  # y-up world + camera = the 2D
    assert np.all(r.poses2d[..., 2] == 1) and abs(np.percentile(r.joints[..., 1].min(-1), 25)) < 0.05


def test_videopose3d_errors(vp3d, tmp_path):
    np.savez_compressed(tmp_path / "bad.npz", positions_2d={"S1": {"Walking 1": [np.zeros((60, 17, 2))] * 3}})
    with pytest.raises(DataError, match=r"bad\.npz: S1/Photo: expected 4 camera views|bad\.npz: S1/Walking 1: expected 4"):
        prepare_h36m_videopose3d(vp3d[0], tmp_path / "bad.npz", tmp_path / "o", progress=False)
    np.savez(tmp_path / "nokey.npz", other=np.zeros(3))
    with pytest.raises(DataError, match=r"nokey\.npz: no array 'positions_3d'"):
        prepare_h36m_videopose3d(tmp_path / "nokey.npz", vp3d[1], tmp_path / "o", progress=False)
    assert not (tmp_path / "o").exists()


def _motionbert_split(sources: list[str], frames: int = 20) -> dict:
    rng = np.random.default_rng(len(sources))
    n = frames * len(sources)
    img = rng.uniform(300, 700, (n, 17, 3))
    img[..., 2] = rng.normal(0, 20, (n, 17))
    img[:, 0, 2] = 0  # root-relative depth
    return {"joint_2d": img[..., :2] + rng.normal(0, 2, (n, 17, 2)), "confidence": rng.uniform(0.5, 1, (n, 17, 1)),
            "joint3d_image": img, "joints_2.5d_image": img * 4.0, "2.5d_factor": np.full(n, 4.0),
            "camera_name": np.repeat(["54138969" if s.endswith("01") else "55011271" for s in sources], frames),
            "action": np.repeat(["Walking" if "14" in s else "Greeting" for s in sources], frames),
            "source": np.repeat(sources, frames)}  # fmt: skip


def test_motionbert_targets_are_the_25d_ground_truth(tmp_path):
    data = {"train": _motionbert_split(["s_01_act_14_subact_01_ca_01", "s_01_act_14_subact_01_ca_02"]),
            "test": _motionbert_split(["s_09_act_05_subact_02_ca_01", "s_11_act_05_subact_01_ca_02"])}  # fmt: skip
    (tmp_path / "h36m.pkl").write_bytes(pickle.dumps(data))
    summary = prepare_h36m_motionbert(tmp_path / "h36m.pkl", tmp_path / "mb", progress=False)
    assert list(summary["skipped"]) == ["s_09_act_05_subact_02_ca_01"]  # broken S9 sequence left out
    recs = read_motion_archive(tmp_path / "mb")
    r = recs["s_11_act_05_subact_01_ca_02"]
    assert (r.subject, r.split, r.label) == ("S11", "test", "Greeting")
    target = camera_up(np.asarray(r.joints)[None], r.camera["R"][None], r.camera["t"][None])[0]
    part = data["test"]
    gt_mm = part["joints_2.5d_image"][20:] - part["joints_2.5d_image"][20:, :1]  # MotionBERT's evaluation ground truth
    np.testing.assert_allclose(target * 1000 * [1, -1, -1], gt_mm, rtol=1e-5, atol=1e-3)  # camera_up turns y up
    np.testing.assert_allclose(r.poses2d[..., 2], part["confidence"][20:, :, 0], rtol=1e-6)
    src = MotionArchiveSource(str(tmp_path / "mb"), fps=50.0, val_split="test")
    assert src.has_2d and src.load("val", 16, tmp_path / "cache").num_clips == 1  # validation reads the test subjects


def test_motionbert_errors_and_tool(tmp_path):
    (tmp_path / "x.pkl").write_bytes(pickle.dumps({"train": {"joint_2d": np.zeros((3, 17, 2))}, "test": {}}))
    with pytest.raises(DataError, match=r"x\.pkl: split 'train' is missing key\(s\) \['joint3d_image'"):
        prepare_h36m_motionbert(tmp_path / "x.pkl", tmp_path / "o", progress=False)
    run = subprocess.run([sys.executable, str(TOOL), "--motionbert", str(tmp_path / "none.pkl"), "-o", str(tmp_path / "o")],
                         capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 2 and run.stderr.strip() == f"error: {tmp_path / 'none.pkl'}: file not found"
