"""LiftingDataModule: the lifting batch contract, deterministic training draws and flips, the robustness loaders,
DDP sharding and clear errors."""

import numpy as np
import pytest
import torch

from sic.data import LiftingDataModule
from sic.data.archive import ClipArchive
from sic.data.lifting import LiftingDataset, flip_poses
from sic.data.skeleton import get_layout
from sic.data.sources import ArchiveSource, ProceduralSource
from sic.data.transforms import camera_up, normalize_screen
from sic.utils.errors import ConfigError

LAYOUT = get_layout("h36m17")


@pytest.fixture(scope="module")
def source():
    return ProceduralSource(name="lift", clips_per_split={"train": 12, "val": 6, "test": 6})


def module(source, cache_dir, **kwargs):
    dm = LiftingDataModule(sources=[source], num_frames=8, batch_size=4, cache_dir=str(cache_dir), **kwargs)
    return dm


def test_batch_is_screen_xy_with_confidence_and_root_relative_camera_3d(source, cache_dir):
    dm = module(source, cache_dir)
    dm.setup("test")
    batch = next(iter(dm.test_dataloader()[0]))
    archive = source.load("test", 8, cache_dir)
    n = batch.batch_size
    xy = normalize_screen(archive.poses2d[:n, :8, :, :2], archive.cam_size[:n])
    np.testing.assert_allclose(batch.inputs[..., :2].numpy(), xy, atol=1e-6)
    np.testing.assert_allclose(batch.inputs[..., 2].numpy(), archive.poses2d[:n, :8, :, 2], atol=1e-7)
    cam = camera_up(archive.poses3d[:n, :8], archive.cam_R[:n], archive.cam_t[:n])
    np.testing.assert_allclose(batch.targets.numpy(), cam - cam[:, :, :1], atol=1e-5)
    assert (batch.targets[:, :, 0] == 0).all()
    assert batch.mask is None and batch.meta["label"].tolist() == archive.labels[:n].tolist()
    assert batch.meta["index"].tolist() == list(range(n))


def test_training_draws_are_a_function_of_item_and_draw(source, cache_dir):
    dm = module(source, cache_dir, flip=0.5)
    dm.setup("fit")
    data = dm.datasets["train"]
    a = data.__getitems__([(3, 10), (5, 11)])
    b = data.__getitems__([(7, 0), (3, 10)])  # same (item, draw) in another batch
    torch.testing.assert_close(a.inputs[0], b.inputs[1])
    torch.testing.assert_close(a.targets[0], b.targets[1])
    draws = data.__getitems__([(3, d) for d in range(40)])
    flipped = torch.tensor([not torch.allclose(draws.targets[i], draws.targets[0]) for i in range(40)])
    assert 0 < flipped.sum() < 40  # some draws mirror or move the window, not all


def test_a_mirrored_training_window_is_the_flip_of_the_plain_one(source, cache_dir):
    plain = LiftingDataset([source.load("train", 8, cache_dir)], 8, LAYOUT, train=True, seed=1, flip=0.0)
    always = LiftingDataset([source.load("train", 8, cache_dir)], 8, LAYOUT, train=True, seed=1, flip=1.0)
    keys = [(2, 5), (4, 9)]
    p, f = plain.__getitems__(keys), always.__getitems__(keys)
    torch.testing.assert_close(f.inputs, flip_poses(p.inputs, LAYOUT.flip_permutation))
    torch.testing.assert_close(f.targets, flip_poses(p.targets, LAYOUT.flip_permutation))
    torch.testing.assert_close(flip_poses(f.targets, LAYOUT.flip_permutation), p.targets)  # an involution


def test_flip_poses_negates_x_and_swaps_sides():
    x = torch.randn(2, 3, 17, 3)
    y = flip_poses(x, LAYOUT.flip_permutation)
    torch.testing.assert_close(y[..., 4, 0], -x[..., 1, 0])  # left hip <- right hip, x negated
    torch.testing.assert_close(y[..., 4, 1:], x[..., 1, 1:])
    torch.testing.assert_close(y[..., 0, :], x[..., 0, :] * torch.tensor([-1.0, 1.0, 1.0]))


def test_robustness_loaders_follow_the_suite_and_mark_hidden_joints(source, cache_dir):
    dm = module(source, cache_dir, robustness={"joint_occlusion": [0.25], "speed": [2.0]})
    assert dm.test_names == ["clean", "joint_occlusion@0.25", "speed@2"]
    dm.setup("test")
    clean, occluded, fast = (next(iter(loader)) for loader in dm.test_dataloader())
    assert occluded.mask.shape == (4, 8, 17) and occluded.mask.sum(-1).eq(4).all()
    assert (occluded.inputs[..., 2][occluded.mask] == 0).all()  # confidence 0 where hidden
    torch.testing.assert_close(occluded.targets, clean.targets)  # occlusion leaves the 3D alone
    assert not torch.allclose(fast.targets, clean.targets)  # speed resamples 2D and 3D together
    again = next(iter(module(source, cache_dir, robustness={"joint_occlusion": [0.25]}).test_dataloader()[1]))
    torch.testing.assert_close(again.inputs, occluded.inputs)  # seeded per sample: identical for every model


def test_evaluation_batches_are_dealt_whole_to_ranks(source, cache_dir):
    dm = module(source, cache_dir, eval_batch_size=4)
    dm.setup("test")
    seen = []
    for rank in range(2):
        dm.trainer = type("T", (), {"world_size": 2, "global_rank": rank})()
        seen += [i for b in dm.test_dataloader()[0] for i in b.meta["index"].tolist()]
    assert sorted(seen) == list(range(6))


def test_bad_configurations_name_the_key(source, cache_dir, tmp_path):
    with pytest.raises(ConfigError, match=r"data\.flip"):
        module(source, cache_dir, flip=1.5)
    with pytest.raises(ConfigError, match=r"fog"):
        module(source, cache_dir, robustness={"fog": [1.0]})
    short = ClipArchive(poses3d=np.zeros((2, 4, 17, 3), np.float32), fps=50.0, layout="h36m17", name="short")
    with pytest.raises(ConfigError, match="no 2D detections"):
        LiftingDataset([short], 4, LAYOUT)
    with pytest.raises(ConfigError, match="stores 8-frame clips but 16"):
        LiftingDataset([source.load("test", 8, cache_dir)], 16, LAYOUT)
    for split in ("train", "val", "test"):
        short.save(tmp_path / "no2d" / split)
    with pytest.raises(ConfigError, match="no 2D detections"):
        LiftingDataModule(sources=[ArchiveSource(str(tmp_path / "no2d"))])
