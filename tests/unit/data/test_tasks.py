import numpy as np
import pytest

from sic.data.skeleton import get_layout
from sic.data.tasks import TASK_IDS, ClipWindow, JointCompletion, get_task, task_index
from sic.data.transforms import camera_up, canonical_heading, hash_uniform, hip_indices, normalize_screen
from sic.utils.errors import ConfigError

F, J = 16, 17
H36M = get_layout("h36m17")


def _clips(n=6, frames=2 * F, seed=0):
    rng = np.random.default_rng(seed)
    poses = rng.normal(size=(n, frames, J, 3)).astype(np.float32)
    poses[..., 1] += 1.0
    rot = np.stack([np.eye(3, dtype=np.float32)] * n)
    trans = np.tile(np.array([0, 0, 5.0], np.float32), (n, 1))
    size = np.tile(np.array([1000.0, 1000.0], np.float32), (n, 1))
    uv = rng.uniform(0, 1000, size=(n, frames, J, 3)).astype(np.float32)
    return ClipWindow(poses, hip_indices(H36M), uv, rot, trans, size)


def _cut(clips, frames):
    return ClipWindow(clips.poses3d[:, :frames], clips.hips, clips.poses2d[:, :frames], clips.cam_R, clips.cam_t, clips.cam_size)


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_shapes_and_root_relative_targets(task_id):
    task = get_task(task_id)
    clips = _cut(_clips(), task.window(F))
    params = task.draw(0, np.arange(6), F, J)
    x, y, m = task.apply(clips, F, params)
    assert x.shape == y.shape == (6, F, J, 3) and m.shape == (6, F, J) and m.dtype == bool
    assert x.dtype == y.dtype == np.float32
    assert np.abs(y[:, :, 0]).max() < 1e-6  # root at the origin in every frame


def test_prediction_tasks_do_not_leak_the_future():
    clips = _clips()
    x, y, _ = get_task("motion_prediction").apply(clips, F, {})
    changed = _clips()
    changed.poses3d[:, F:] += 5.0 * np.random.default_rng(1).normal(size=changed.poses3d[:, F:].shape)
    x2, y2, _ = get_task("motion_prediction").apply(changed, F, {})
    assert np.array_equal(x, x2) and not np.allclose(y, y2)
    changed.poses2d[:, F:] += 50.0
    x3, _, _ = get_task("future_pose_estimation").apply(clips, F, {})
    x4, _, _ = get_task("future_pose_estimation").apply(changed, F, {})
    assert np.array_equal(x3, x4)


def test_pose_estimation_input_is_2d_with_zero_depth_and_no_3d_leak():
    task = get_task("pose_estimation")
    clips = _cut(_clips(), F)
    x, _, _ = task.apply(clips, F, {})
    assert np.all(x[..., 2] == 0)
    clips.poses3d[:] += 1.0  # 3D changes, 2D detections do not
    x2, _, _ = task.apply(clips, F, {})
    assert np.array_equal(x, x2)


@pytest.mark.parametrize("per_frame", [True, False])
def test_joint_completion_masks(per_frame):
    task = JointCompletion(ratios=(0.4, 0.6), per_frame=per_frame)
    keys = np.arange(400)
    params = task.draw(3, keys, F, J)
    mask, ratio = params["mask"], params["ratio"]
    counts = mask.sum(-1)
    assert set(np.unique(ratio)) == {np.float32(0.4), np.float32(0.6)}
    assert np.all(counts[ratio == np.float32(0.4)] == 7) and np.all(counts[ratio == np.float32(0.6)] == 10)
    assert not mask[..., 0].any()  # the root is never hidden
    assert mask[..., 16].any()  # the reference's off-by-one never hid joint 16
    same_every_frame = np.all(mask == mask[:, :1], axis=(1, 2))
    assert same_every_frame.all() == (not per_frame)
    clips = _cut(_clips(n=400), F)
    x, y, m = task.apply(clips, F, params)
    assert np.all(x[m] == 0) and np.array_equal(x[~m], y[~m])  # hidden joints carry no target value


def test_draws_depend_only_on_seed_and_key():
    task = get_task("joint_completion")
    a = task.draw(5, np.array([10, 11, 12]), F, J)["mask"]
    b = task.draw(5, np.array([12, 99, 10]), F, J)["mask"]
    assert np.array_equal(a[0], b[2]) and np.array_equal(a[2], b[0])
    c = task.draw(6, np.array([10]), F, J)["mask"]
    assert not np.array_equal(a[0], c[0])


def test_motion_inbetween_hides_middle_frames():
    x, y, m = get_task("motion_inbetween").apply(_cut(_clips(), F), F, {})
    assert m[:, 4:12].all() and not m[:, :4].any() and not m[:, 12:].any()
    assert np.all(x[:, 4:12] == 0) and np.array_equal(x[:, :4], y[:, :4])


def test_unknown_task_id_names_the_valid_ones():
    with pytest.raises(ConfigError, match="unknown task id 'dance'.*motion_prediction"):
        task_index("dance")
    with pytest.raises(ConfigError, match="ratios"):
        JointCompletion(ratios=(1.5,))


def test_canonical_heading_faces_plus_z():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 4, J, 3)).astype(np.float32)
    out = canonical_heading(x, hip_indices(H36M))
    left = out[:, 0, 4] - out[:, 0, 1]
    assert np.allclose(left[:, 2], 0, atol=1e-5) and np.all(left[:, 0] > 0)
    assert np.allclose(out[..., 1], x[..., 1], atol=1e-6)  # rotation about the vertical axis only
    assert np.allclose(np.linalg.norm(out, axis=-1), np.linalg.norm(x, axis=-1), atol=1e-5)


def test_camera_up_and_screen_normalisation_by_hand():
    point = np.array([[[[1.0, 2.0, 3.0]]]], np.float32)
    rot = np.eye(3, dtype=np.float32)[None]
    out = camera_up(point, rot, np.array([[0, 0, 5.0]], np.float32))
    assert np.allclose(out[0, 0, 0], [1.0, -2.0, -8.0])
    uv = np.array([[[[750.0, 250.0]]]], np.float32)
    xy = normalize_screen(uv, np.array([[1000.0, 1000.0]], np.float32))
    assert np.allclose(xy[0, 0, 0], [0.5, 0.5])  # right of centre, above centre (y up)


def test_hash_uniform_range_and_independence():
    u = hash_uniform(1, np.arange(10000), (3,))
    assert u.shape == (10000, 3) and u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.01
    assert not np.array_equal(hash_uniform(1, np.arange(5), stream=1), hash_uniform(1, np.arange(5), stream=2))
