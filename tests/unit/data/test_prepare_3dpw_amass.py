import io
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sic.data.motion import read_motion_archive
from sic.data.prepare.amass import BodyModel, prepare_amass, read_amass_motion
from sic.data.prepare.pw3d import prepare_3dpw, read_3dpw_sequence
from sic.data.skeleton import get_layout
from sic.utils.errors import DataError
from sic.utils.safe_pickle import load_pickle, loads

TOOLS = Path(__file__).resolve().parents[3] / "tools"
SMPL_PARENTS = list(get_layout("smpl24").parents)


class _Py2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 ``str`` (BINSTRING), like the pickles 3DPW ships."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes(self, obj):
        self.write(pickle.BINSTRING + struct.pack("<I", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes


def _py2_pickle(obj) -> bytes:
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def _template() -> np.ndarray:
    """A standing SMPL-24 skeleton (y up, facing +z, left at +x), metres."""
    j = np.zeros((24, 3))
    off = {1: (0.07, -0.09, 0), 2: (-0.07, -0.09, 0), 3: (0, 0.11, 0), 4: (0.02, -0.38, 0), 5: (-0.02, -0.38, 0),
           6: (0, 0.13, 0), 7: (0, -0.40, 0), 8: (0, -0.40, 0), 9: (0, 0.05, 0), 10: (0, -0.05, 0.12),
           11: (0, -0.05, 0.12), 12: (0, 0.22, 0), 13: (0.08, 0.11, 0), 14: (-0.08, 0.11, 0), 15: (0, 0.09, 0.05),
           16: (0.12, 0.03, 0), 17: (-0.12, 0.03, 0), 18: (0.26, 0, 0), 19: (-0.26, 0, 0), 20: (0.25, 0, 0),
           21: (-0.25, 0, 0), 22: (0.08, 0, 0), 23: (-0.08, 0, 0)}  # fmt: skip
    for i in range(1, 24):
        j[i] = j[SMPL_PARENTS[i]] + off[i]
    return j


def _pw3d_sequence(name: str, frames: int, actors: int = 1, invalid=()) -> dict:
    rng = np.random.default_rng(len(name))
    world = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], float)  # 3DPW worlds are not y-up: make this one z-up
    seq = {"sequence": name, "genders": ["m"] * actors, "betas": [np.zeros(10)] * actors, "jointPositions": [],
           "campose_valid": [], "poses2d": [], "cam_intrinsics": np.eye(3), "cam_poses": np.tile(np.eye(4), (frames, 1, 1))}  # fmt: skip
    for _ in range(actors):
        walk = _template()[None] + np.stack([np.zeros(frames), np.full(frames, 0.95), np.linspace(0, 2, frames)], -1)[:, None]
        walk = walk + rng.normal(0, 0.02, 3)  # a per-actor offset
        seq["jointPositions"].append((walk @ world.T).reshape(frames, 72))
        valid = np.ones(frames, bool)
        valid[list(invalid)] = False
        seq["campose_valid"].append(valid)
        seq["poses2d"].append(np.zeros((frames, 3, 18)))
    return seq


@pytest.fixture
def pw3d_root(tmp_path):
    root = tmp_path / "3DPW"
    for split, name, kw in (("train", "courtyard_walk_00", {"actors": 2}), ("validation", "downtown_stairs_00", {}),
                            ("test", "outdoors_run_01", {"invalid": range(40, 45)})):  # fmt: skip
        d = root / "sequenceFiles" / split
        d.mkdir(parents=True)
        (d / f"{name}.pkl").write_bytes(_py2_pickle(_pw3d_sequence(name, 90, **kw)))
    return root


def test_3dpw_round_trip(pw3d_root, tmp_path):
    summary = prepare_3dpw(pw3d_root, tmp_path / "out", progress=False)
    recs = read_motion_archive(tmp_path / "out")
    assert sorted(recs) == ["courtyard_walk_00_actor0", "courtyard_walk_00_actor1", "downtown_stairs_00",
                            "outdoors_run_01#0", "outdoors_run_01#1"]  # fmt: skip
    assert [len(recs[f"outdoors_run_01#{k}"].joints) for k in (0, 1)] == [40, 45]  # invalid frames cut out
    r = recs["downtown_stairs_00"]
    assert (r.layout, r.fps, r.split, r.label) == ("smpl24", 30.0, "val", "stairs")
    head, ankle = r.joints[:, 15, 1].mean(), r.joints[:, 7, 1].mean()
    assert head - ankle > 1.2  # turned y-up from a z-up world
    assert abs(np.percentile(r.joints[..., 1].min(-1), 25)) < 0.01
    lengths = np.linalg.norm(r.joints[:, 1:] - r.joints[:, SMPL_PARENTS[1:]], axis=-1)
    assert np.ptp(lengths, axis=0).max() < 1e-5  # a rigid turn keeps every bone length
    assert summary["splits"]["train"]["sequences"] == 2


def test_3dpw_errors(pw3d_root, tmp_path):
    f = next((pw3d_root / "sequenceFiles" / "train").glob("*.pkl"))
    with pytest.raises(DataError, match="truncated or malformed pickle"):
        loads(f.read_bytes())  # a Python 2 pickle needs latin-1
    assert isinstance(load_pickle(f, encoding="latin1"), dict)
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(_py2_pickle({"sequence": "x", "jointPositions": [np.zeros((5, 72))]}))
    with pytest.raises(DataError, match=r"bad\.pkl: missing key 'campose_valid'"):
        read_3dpw_sequence(bad)
    bad.write_bytes(f.read_bytes()[:200])
    with pytest.raises(DataError, match=r"bad\.pkl: truncated or malformed pickle"):
        read_3dpw_sequence(bad)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    bad.write_bytes(pickle.dumps({"sequence": Evil()}))
    with pytest.raises(DataError, match=r"refusing to unpickle builtins\.print"):
        read_3dpw_sequence(bad)
    tool = subprocess.run([sys.executable, str(TOOLS / "prepare_3dpw.py"), str(tmp_path / "none"), "-o", str(tmp_path / "o")],
                          capture_output=True, text=True)  # fmt: skip
    assert tool.returncode == 2 and tool.stderr.startswith("error: 3DPW root") and "Traceback" not in tool.stderr


def _body_model(path: Path) -> Path:
    """A tiny SMPL+H-like model.npz: one vertex per joint, so J_regressor is the identity."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.concatenate([_template()[:22], np.zeros((30, 3))])  # 52 joints (hands unused)
    shapedirs = np.zeros((52, 3, 16))
    shapedirs[:, 1, 0] = t[:, 1]  # beta 0 scales heights
    parents = np.concatenate([SMPL_PARENTS[:22], np.full(30, 20)])
    parents[0] = 4294967295  # as in the released files
    np.savez(path, v_template=t, shapedirs=shapedirs, J_regressor=np.eye(52), kintree_table=np.stack([parents, np.arange(52)]))
    return path


def _amass_motion(path: Path, frames=60, release="G", gender=b"female", rate=120.00004577636719):
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 156 if release == "G" else 165
    poses = np.zeros((frames, n))
    poses[:, 0] = np.pi / 2  # AMASS is z-up: the template's y-up body stands after +90 deg about x
    poses[:, 3 * 4] = np.linspace(0, 0.5, frames)  # bend the left knee
    trans = np.stack([np.zeros(frames), np.linspace(0, 1, frames), np.full(frames, 0.95)], -1)
    keys = {"poses": poses, "trans": trans, "betas": np.zeros(16), "dmpls": np.zeros((frames, 8)), "gender": np.array(gender)}
    keys["mocap_framerate" if release == "G" else "mocap_frame_rate"] = np.array(rate)
    np.savez(path, **keys)
    return path


def test_body_model_forward_kinematics_by_hand(tmp_path):
    model = BodyModel.load(_body_model(tmp_path / "model.npz"))
    rest = _template()[:22]
    np.testing.assert_allclose(model.rest_joints(np.zeros(16)), rest)
    np.testing.assert_allclose(model.rest_joints(np.r_[0.1, np.zeros(15)])[:, 1], rest[:, 1] * 1.1)
    poses = np.zeros((1, 66))
    poses[0, 3 * 4 : 3 * 4 + 3] = [np.pi / 2, 0, 0]  # left knee: +90 deg about x
    out = model.joints(poses, np.zeros((1, 3)), np.zeros(16))[0]
    np.testing.assert_allclose(out[4], rest[4])
    shin = rest[7] - rest[4]  # (0, -0.40, 0) turns to (0, 0, -0.40) about x
    np.testing.assert_allclose(out[7] - out[4], [shin[0], -shin[2], shin[1]], atol=1e-12)
    np.testing.assert_allclose(out[10] - out[7], [0, -0.12, -0.05], atol=1e-12)  # foot (0, -0.05, 0.12) turned too


def test_amass_round_trip_both_releases(tmp_path):
    root = tmp_path / "amass"
    _amass_motion(root / "CMU" / "01" / "01_01_poses.npz")
    _amass_motion(root / "BMLrub" / "rub001" / "0001_treadmill_norm_poses.npz", release="N", gender="male", rate=100.0)
    _amass_motion(root / "HumanEva" / "S1" / "walk_poses.npz", gender=np.bytes_(b"male"))
    np.savez(root / "CMU" / "01" / "shape.npz", betas=np.zeros(16), gender=np.array("female"))
    _amass_motion(root / "DanceDB" / "x" / "dance_poses.npz")
    models = tmp_path / "smplh"
    for g in ("male", "female"):
        _body_model(models / g / "model.npz")
    summary = prepare_amass(root, tmp_path / "out", body_model=models, progress=False)
    recs = read_motion_archive(tmp_path / "out")
    assert sorted(recs) == ["BMLrub/rub001/0001_treadmill_norm", "CMU/01/01_01", "HumanEva/S1/walk"]
    assert [recs[k].split for k in sorted(recs)] == ["test", "train", "val"]
    assert recs["CMU/01/01_01"].fps == 120.0 and recs["BMLrub/rub001/0001_treadmill_norm"].fps == 100.0
    j = recs["CMU/01/01_01"].joints
    assert j.shape == (60, 22, 3) and j[:, 15, 1].mean() - j[:, 7, 1].mean() > 1.0  # stands up in y
    assert list(summary["skipped"]) == ["DanceDB/x/dance_poses.npz"]
    # Pre-computed joints give the same archive.
    jdir = tmp_path / "joints"
    for k in recs:
        m = BodyModel.load(models / "female" / "model.npz")
        z = np.load(root / f"{k}_poses.npz")
        (jdir / k).parent.mkdir(parents=True, exist_ok=True)
        np.save(jdir / f"{k}_poses.npy", m.joints(z["poses"], z["trans"], z["betas"]))
    prepare_amass(root, tmp_path / "out2", joints_dir=jdir, progress=False)
    np.testing.assert_allclose(read_motion_archive(tmp_path / "out2")["CMU/01/01_01"].joints, j, atol=1e-5)


def test_amass_errors(tmp_path):
    models = _body_model(tmp_path / "model.npz")
    m = {"neutral": BodyModel.load(models)}
    f = tmp_path / "CMU" / "a" / "x_poses.npz"
    f.parent.mkdir(parents=True)
    np.savez(f, trans=np.zeros((5, 3)), mocap_framerate=np.array(120.0))
    with pytest.raises(DataError, match=r"x_poses\.npz: missing key 'poses'"):
        read_amass_motion(f, m)
    np.savez(f, poses=np.zeros((5, 156)), trans=np.zeros((5, 3)))
    with pytest.raises(DataError, match="missing key 'mocap_framerate' .* or 'mocap_frame_rate'"):
        read_amass_motion(f, m)
    np.savez(f, poses=np.zeros((5, 156)), trans=np.zeros((5, 3)), mocap_framerate=np.array(120.0), gender=np.array(["x", 1], dtype=object))
    with pytest.raises(DataError, match="object arrays"):
        read_amass_motion(f, m)
    with pytest.raises(DataError, match="exactly one of --body-model"):
        prepare_amass(tmp_path, tmp_path / "o")
    np.savez(tmp_path / "bad_model.npz", v_template=np.zeros((3, 3)))
    with pytest.raises(DataError, match=r"bad_model\.npz: missing key 'shapedirs'"):
        BodyModel.load(tmp_path / "bad_model.npz")
