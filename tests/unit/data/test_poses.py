"""PoseDataModule: canonical frame, selection, captions, caching, augmentation, batches."""

import numpy as np
import pytest
import torch

from sic.data.poses import PoseDataModule, PoseSet, face_forward, farthest_point_sample, flip_text, rotate_y
from sic.data.skeleton import get_layout
from sic.data.sources import ProceduralSource
from sic.utils.errors import ConfigError, DataError

LAYOUT = get_layout("h36m17")


class TaggedCaptioner:
    """Stand-in captioner: a caption naming the pose's left-wrist height and the caption seed."""

    def caption(self, poses, seed=0, index=None):
        return [f"left hand at {p[13, 1]:.3f} seed {seed}" for p in poses]

    def caption_pairs(self, a, b, seed=0, index=None):
        return [f"move the left hand by {y[13, 1] - x[13, 1]:.3f}" for x, y in zip(a, b)]

    def __repr__(self):
        return "TaggedCaptioner()"


def small_source():
    return ProceduralSource(name="tiny", clips_per_split={"train": 12, "val": 6, "test": 6})


def make_dm(tmp_path, **kwargs):
    options = dict(sources=[small_source()], num_poses={"train": 40, "val": 10, "test": 10}, batch_size=8,
                   cache_dir=str(tmp_path))
    options.update(kwargs)
    return PoseDataModule(**options)


def test_face_forward_removes_yaw_and_translation():
    rng = np.random.default_rng(0)
    pose = rng.normal(size=(17, 3)) * 0.3
    turned = rotate_y(pose, np.array(1.1)) + np.array([2.0, 0.5, -1.0])
    np.testing.assert_allclose(face_forward(turned, "h36m17"), face_forward(pose, "h36m17"), atol=1e-9)
    canon = face_forward(pose, "h36m17")
    axis = canon[LAYOUT.index("LHip")] - canon[LAYOUT.index("RHip")]
    assert axis[0] > 0 and abs(axis[2]) < 1e-9  # body-left is +x
    np.testing.assert_allclose(canon[LAYOUT.root], 0.0, atol=1e-12)
    np.testing.assert_allclose(canon[:, 1] - canon[0, 1], pose[:, 1] - pose[0, 1])  # height kept: no pitch/roll change


def test_farthest_point_sample_matches_a_brute_force_greedy():
    rng = np.random.default_rng(3)
    points = rng.normal(size=(30, 1, 5, 3))
    picked = farthest_point_sample(points, 6, np.random.default_rng(7))
    first = np.random.default_rng(7).integers(30)
    chosen = [first]
    dist = lambda a, b: np.linalg.norm(points[a] - points[b], axis=-1).mean()  # noqa: E731
    while len(chosen) < 6:
        chosen.append(max(range(30), key=lambda i: min(dist(i, c) for c in chosen)))
    assert picked.tolist() == sorted(chosen)


def test_flip_text_swaps_sides_but_not_right_angles():
    assert flip_text("Left arm up, right knee at a right angle.") == "Right arm up, left knee at a right angle."
    assert flip_text("the rightmost") == "the rightmost"


def test_batches_hold_poses_and_all_captions_at_evaluation(tmp_path):
    dm = make_dm(tmp_path, captions=2, captioner=TaggedCaptioner())
    dm.setup("fit")
    batch = next(iter(dm.val_dataloader()))
    assert batch.inputs.shape == (8, 1, 17, 3) and torch.equal(batch.inputs, batch.targets)
    assert len(batch.texts) == 16
    first = dm.pose_set("val").captions[int(batch.meta["index"][0])]
    assert list(batch.texts[:2]) == first and first[0] != first[1]  # two seeds: two captions per pose
    wrist = batch.inputs[0, 0, 13, 1].item()
    assert batch.texts[0].startswith(f"left hand at {wrist:.3f}")  # captions belong to their pose
    assert batch.select(torch.tensor([False, True] + [False] * 6)).texts == batch.texts[2:4]


def test_pose_sets_are_cached_and_keyed_by_options(tmp_path):
    dm = make_dm(tmp_path)
    dm.setup("fit")
    again = make_dm(tmp_path)
    again.setup("fit")
    np.testing.assert_array_equal(dm.pose_set("train").poses, again.pose_set("train").poses)
    other = make_dm(tmp_path, frame_stride=7)
    other.setup("fit")
    assert len(list((tmp_path / "poses").iterdir())) == 2
    assert not np.array_equal(other.pose_set("train").poses, dm.pose_set("train").poses)


def test_training_draws_are_deterministic_and_augmentation_is_rigid(tmp_path):
    dm = make_dm(tmp_path, captions=3, captioner=TaggedCaptioner(), orientation_jitter=(45.0, 20.0))
    dm.setup("fit")
    data = dm.dataset("train")
    keys = [(i, 100 + i) for i in range(8)]
    a, b = data.__getitems__(keys), data.__getitems__(keys)
    assert torch.equal(a.inputs, b.inputs) and a.texts == b.texts
    assert len(a.texts) == 8
    raw = torch.from_numpy(dm.pose_set("train").poses[:8])
    assert not torch.allclose(a.inputs, raw, atol=1e-3)  # rotated
    torch.testing.assert_close(a.inputs.norm(dim=-1), raw.norm(dim=-1), rtol=1e-5, atol=1e-5)  # about the root
    other = data.__getitems__([(i, 900 + i) for i in range(8)])
    assert other.texts != a.texts or not torch.equal(other.inputs, a.inputs)


def test_flip_mirrors_the_pose_and_its_caption_together(tmp_path):
    dm = make_dm(tmp_path, captions=1, captioner=TaggedCaptioner(), flip=1.0)
    dm.setup("fit")
    batch = dm.dataset("train").__getitems__([(0, 0)])
    raw = dm.pose_set("train").poses[0, 0]
    expected = raw[LAYOUT.flip_permutation] * np.array([-1, 1, 1])
    np.testing.assert_allclose(batch.inputs[0, 0].numpy(), expected, atol=1e-6)
    assert batch.texts[0].startswith("right hand at")


def test_pairs_share_the_first_pose_frame(tmp_path):
    dm = make_dm(tmp_path, pairs=True, captions=1, captioner=TaggedCaptioner())
    dm.setup("fit")
    data = dm.pose_set("train")
    assert data.poses.shape == (40, 2, 17, 3)
    gaps = data.frames[:, 1] - data.frames[:, 0]
    assert gaps.min() >= round(0.2 * 50) and gaps.max() <= round(1.0 * 50)
    np.testing.assert_allclose(data.poses[:, 0, LAYOUT.root], 0.0, atol=1e-6)
    assert data.captions[0][0].startswith("move the left hand by")


def test_bad_options_and_files_give_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown split"):
        make_dm(tmp_path, num_poses={"training": 3})
    with pytest.raises(ConfigError, match="data.flip"):
        make_dm(tmp_path, flip=2.0)
    dm = make_dm(tmp_path)
    dm.setup("validate")
    path = next((tmp_path / "poses").iterdir()) / "val"
    (path / "poses.npy").write_bytes((path / "poses.npy").read_bytes()[:100])
    with pytest.raises(DataError, match="poses.npy"):
        PoseSet.load(path)
    with pytest.raises(DataError, match="does not exist"):
        PoseSet.load(tmp_path / "nowhere")
