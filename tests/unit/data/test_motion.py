import json

import numpy as np
import pytest

from sic.data import InContextDataModule
from sic.data.mapping import get_joint_map
from sic.data.motion import MotionRecord, normalize_ground, read_motion_archive, write_motion_archive
from sic.data.skeleton import get_layout
from sic.data.sources import MotionArchiveSource
from sic.utils.errors import ConfigError, DataError


def _records(n_frames=(240, 200, 160), layout="h36m17", fps=120.0):
    rng = np.random.default_rng(0)
    j = get_layout(layout).num_joints
    return {f"seq{i}": MotionRecord(rng.normal(size=(t, j, 3)).astype(np.float32), fps, layout, f"act{i % 2}", f"s{i}", split)
            for i, (t, split) in enumerate(zip(n_frames, ("train", "val", "test")))}  # fmt: skip


def test_motion_archive_round_trip(tmp_path):
    recs = _records()
    path = write_motion_archive(tmp_path / "a", recs, name="demo", notes={"licence": "test"})
    back = read_motion_archive(path)
    assert list(back) == list(recs)
    for k, r in recs.items():
        b = back[k]
        np.testing.assert_array_equal(b.joints, r.joints)
        assert (b.fps, b.layout, b.label, b.subject, b.split) == (r.fps, r.layout, r.label, r.subject, r.split)
    assert json.loads((path / "meta.json").read_text())["notes"] == {"licence": "test"}


def test_motion_archive_errors_name_the_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_motion_archive(tmp_path / "none")
    path = write_motion_archive(tmp_path / "a", _records(), name="demo")
    data = (path / "joints.npy").read_bytes()
    (path / "joints.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"joints\.npy: unreadable or truncated"):
        read_motion_archive(path, mmap=False)
    meta = json.loads((path / "meta.json").read_text())
    meta["layout"] = "h99"
    (path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match="unknown joint layout 'h99'"):
        read_motion_archive(path)
    (path / "meta.json").write_text("{broken")
    with pytest.raises(DataError, match="malformed JSON"):
        read_motion_archive(path)
    bad = _records()
    bad["seq0"].joints[3, 2, 1] = np.nan
    with pytest.raises(DataError, match="'seq0': joints hold NaN"):
        write_motion_archive(tmp_path / "b", bad, name="bad")
    assert not (tmp_path / "b").exists()


def test_rewriting_an_archive_replaces_it_and_a_failed_write_keeps_the_old_one(tmp_path):
    path = write_motion_archive(tmp_path / "a", _records(), name="one")
    write_motion_archive(tmp_path / "a", _records((100, 90, 80)), name="two")
    assert read_motion_archive(path)["seq0"].joints.shape[0] == 100
    bad = _records()
    bad["seq1"].split = "holdout"
    with pytest.raises(DataError, match="split must be one of"):
        write_motion_archive(tmp_path / "a", bad, name="three")
    assert read_motion_archive(path)["seq0"].joints.shape[0] == 100
    assert [p.name for p in tmp_path.iterdir()] == ["a"]


def test_normalize_ground_levels_a_tilted_floor_rigidly():
    # A rigid "walker" whose lowest point follows a floor tilted 3 degrees along z.
    t = np.linspace(0, 4, 200)
    tilt = np.tan(np.radians(3.0))
    body = np.array([[0, 0.9, 0], [0.1, 0.0, 0.05], [-0.1, 0.0, -0.05], [0, 1.6, 0]], dtype=np.float64)
    bounce = 0.05 * np.abs(np.sin(np.pi * t))[:, None, None] * np.array([0, 1, 0])  # contact whenever sin = 0
    path = np.stack([np.full_like(t, 2.0), 0.3 + t * tilt, t], -1)[:, None]
    joints = (body[None] + path + bounce).astype(np.float32)
    out = normalize_ground(joints)
    lengths = lambda x: np.linalg.norm(x[:, 1:] - x[:, :1], axis=-1)  # noqa: E731
    np.testing.assert_allclose(lengths(out), lengths(joints), atol=1e-5)
    lowest = out[..., 1].min(-1)
    contact = lowest[np.abs(np.sin(np.pi * t)) < 0.05]
    assert np.ptp(contact) < 0.003 and np.abs(contact).max() < 0.025  # level, and near y = 0
    assert out[0, 0, [0, 2]] == pytest.approx([0.0, 0.0], abs=1e-6)


def test_joint_maps():
    legacy = get_joint_map("smpl24", "h36m17", "legacy")
    # The reference's table: every limb shifted one joint distally, left and right swapped.
    assert legacy.sources[:7] == ((6,), (4,), (7,), (10,), (5,), (8,), (11,))
    assert legacy.sources[11:] == ((14,), (17,), (19,), (13,), (16,), (18,))
    anat = get_joint_map("smpl22", "h36m17")
    smpl, h36m = get_layout("smpl22").names, get_layout("h36m17").names
    for target, source in [("Pelvis", "pelvis"), ("RHip", "R_hip"), ("RKnee", "R_knee"), ("RAnkle", "R_ankle"),
                           ("LHip", "L_hip"), ("LKnee", "L_knee"), ("LAnkle", "L_ankle"), ("LShoulder", "L_shoulder"),
                           ("LElbow", "L_elbow"), ("LWrist", "L_wrist"), ("RShoulder", "R_shoulder"),
                           ("RElbow", "R_elbow"), ("RWrist", "R_wrist")]:  # fmt: skip
        assert anat.sources[h36m.index(target)] == (smpl.index(source),), target
    x = np.random.default_rng(0).normal(size=(2, 22, 3))
    np.testing.assert_allclose(anat(x)[:, 9], (x[:, 12] + x[:, 15]) / 2, atol=1e-6)
    np.testing.assert_array_equal(get_joint_map("h36m17", "h36m17")(x[:, :17]), x[:, :17].astype(np.float32))
    with pytest.raises(ConfigError, match="no joint map ntu25->h36m17.*registered: cmu31->h36m17"):
        get_joint_map("ntu25")
    with pytest.raises(ValueError, match=r"expects \(\.\.\., 22, 3\)"):
        anat(np.zeros((3, 17, 3)))


def test_motion_source_resamples_exactly_and_cuts_windows(tmp_path):
    # A joint moving at constant velocity: resampled positions must sit exactly on the line.
    t = np.arange(241) / 120.0
    joints = np.zeros((241, 17, 3), np.float32)
    joints[..., 2] = t[:, None]
    recs = {s: MotionRecord(joints, 120.0, "h36m17", "walk", "s1", s) for s in ("train", "val", "test")}
    src = MotionArchiveSource(str(write_motion_archive(tmp_path / "m", recs, name="lin")), fps=25.0, stride=8,
                              virtual_cameras=False)  # fmt: skip
    clips = src.load("train", 32, tmp_path / "cache")
    assert clips.fps == 25.0 and clips.poses3d.shape == (3, 32, 17, 3)  # 51 frames at 25 fps: starts 0, 8, 16
    np.testing.assert_allclose(clips.poses3d[1, :, 0, 2], (8 + np.arange(32)) / 25.0, atol=1e-6)
    assert clips.class_names == ["walk"] and set(clips.labels.tolist()) == {0} and not clips.has_2d
    assert src.load("train", 32, tmp_path / "cache").path == clips.path  # cached
    with pytest.raises(DataError, match=r"no 'train' sequence is long enough for 64-frame clips at 25 fps .*2\.00 s"):
        src.load("train", 64, tmp_path / "cache")


def test_motion_source_feeds_every_task_of_the_datamodule(tmp_path):
    recs = _records((400, 300, 300), layout="smpl22")
    for r in recs.values():
        r.joints[..., 1] += 1.0  # above the floor
    root = write_motion_archive(tmp_path / "m", recs, name="smpl")
    src = MotionArchiveSource(str(root), fps=25.0, joint_map="legacy")
    assert src.has_2d and src.serves("pose_estimation")
    dm = InContextDataModule(sources=[src], batch_size=4, cache_dir=str(tmp_path / "cache"), num_frames=8)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch.inputs.shape == (4, 8, 17, 3) and batch.prompt_targets.shape == (4, 8, 17, 3)
    for task, loader in zip(dm.tasks, dm.val_dataloader()):
        assert next(iter(loader)).inputs.shape[1:] == (8, 17, 3), task
    with pytest.raises(DataError, match="no 'holdout'|splits present"):
        src._clips("holdout", 16, 8)
