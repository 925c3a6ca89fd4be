import json

import numpy as np
import pytest
import torch

from sic.data import TASK_IDS, ClipArchive, InContextDataModule, SkeletonBatch
from sic.data.sources import ArchiveSource
from sic.utils.errors import ConfigError, DataError


@pytest.fixture
def dm(tiny_sources, cache_dir):
    dm = InContextDataModule(sources=tiny_sources, batch_size=8, cache_dir=str(cache_dir))
    dm.setup("fit")
    dm.setup("test")
    return dm


def test_train_batches_follow_the_contract(dm):
    batch = next(iter(dm.train_dataloader()))
    assert isinstance(batch, SkeletonBatch)
    assert batch.inputs.shape == batch.targets.shape == batch.prompt_inputs.shape == (8, 16, 17, 3)
    assert batch.inputs.dtype == torch.float32 and batch.mask.shape == (8, 16, 17)
    trained = {TASK_IDS.index(t) for t in TASK_IDS if t != "motion_inbetween"}
    assert set(batch.task.tolist()) <= trained  # the unseen task is held out of training
    assert torch.isfinite(batch.targets).all()


def test_prompts_share_the_query_task_and_come_from_training(dm):
    bank = dm.banks["test/joint_completion"]
    batch = bank.__getitems__(list(range(6)))
    # joint completion prompts are hidden at the query's joints (the prompt demonstrates the same completion)
    hidden = batch.prompt_inputs.abs().sum(-1) == 0
    assert torch.equal(hidden[..., 1:], batch.mask[..., 1:])
    train_clips = dm._split("train")["joint_completion"][0]
    assert bank.prompts[0].archives[0] is train_clips


def test_evaluation_is_deterministic_and_batch_independent(dm):
    bank = dm.banks["test/pose_estimation"]
    a = bank.__getitems__([0, 1, 2, 3])
    b = bank.__getitems__([3, 2])
    assert torch.equal(a.prompt_targets[3], b.prompt_targets[0])
    assert torch.equal(a.inputs[2], b.inputs[1])
    again = InContextDataModule(sources=dm.sources, batch_size=8, cache_dir=str(dm.cache_dir))
    again.setup("test")
    c = again.banks["test/pose_estimation"].__getitems__([0, 1, 2, 3])
    assert torch.equal(a.prompt_inputs, c.prompt_inputs)


def test_shared_prompt_batches(tiny_sources, cache_dir):
    dm = InContextDataModule(sources=tiny_sources, batch_size=4, eval_prompts="shared", cache_dir=str(cache_dir))
    dm.setup("test")
    batch = next(iter(dm.test_dataloader()[0]))
    assert batch.prompt_inputs.shape[0] == 1 and batch.shared_prompt


def test_metadata_carries_real_frame_rates(dm):
    fps = {t: dm.banks[f"test/{t}"].__getitems__([0]).meta["fps"].item() for t in dm.tasks}
    assert fps["motion_prediction"] == 25.0 and fps["pose_estimation"] == 50.0
    assert dm.task_fps == fps


@pytest.mark.parametrize("mixing", ["balanced", {"pose_estimation": 3.0, "motion_prediction": 1.0}])
def test_task_mixing(tiny_sources, cache_dir, mixing):
    dm = InContextDataModule(sources=tiny_sources, batch_size=512, mixing=mixing, epoch_size=4000, cache_dir=str(cache_dir))
    dm.setup("fit")
    counts = np.zeros(len(TASK_IDS))
    for batch in dm.train_dataloader():
        counts += np.bincount(batch.task.numpy(), minlength=len(TASK_IDS))
    share = counts / counts.sum()
    if mixing == "balanced":
        assert np.allclose(share[:4], 0.25, atol=0.04) and share[4] == 0
    else:
        assert abs(share[1] - 0.75) < 0.04 and abs(share[0] - 0.25) < 0.04 and share[2] == share[3] == 0


def test_mean_target_pose(dm):
    overall, per_task = dm.mean_target_pose(), dm.mean_target_pose(per_task=True)
    assert overall.shape == (1, 16, 17, 3) and per_task.shape == (5, 16, 17, 3)
    assert torch.allclose(overall[0, :, 0], torch.zeros(16, 3), atol=1e-6)  # root-relative
    head_height = overall[0, :, 10, 1].mean()
    assert 0.4 < head_height < 0.9  # the head is above the pelvis: y is up in every task


def test_bad_configuration_errors(tiny_sources, cache_dir, tmp_path):
    with pytest.raises(ConfigError, match="unknown task id 'flying'"):
        InContextDataModule(tasks=["flying"], sources=tiny_sources)
    with pytest.raises(ConfigError, match="mixing"):
        InContextDataModule(sources=tiny_sources, mixing={"motion_inbetween": 1.0})
    with pytest.raises(DataError, match="does not exist"):
        ArchiveSource(str(tmp_path / "nowhere"))


def _write_archive(root, frames=32, nan=False):
    poses = np.random.default_rng(0).normal(size=(4, frames, 17, 3)).astype(np.float32)
    if nan:
        poses[2, 3, 4, 1] = np.nan
    for split in ("train", "val", "test"):
        ClipArchive(poses3d=poses, fps=30.0, layout="h36m17", name="mine").save(root / split)


def test_archive_source_roundtrip_and_errors(tmp_path, cache_dir):
    _write_archive(tmp_path / "ok")
    src = ArchiveSource(str(tmp_path / "ok"))
    assert src.fps == 30.0 and not src.has_2d
    dm = InContextDataModule(tasks=["motion_prediction", "joint_completion"], sources=[src], batch_size=2, cache_dir=str(cache_dir))
    dm.setup("fit")
    assert next(iter(dm.train_dataloader())).inputs.shape == (2, 16, 17, 3)
    with pytest.raises(ConfigError, match="no data source serves task 'pose_estimation'"):
        InContextDataModule(tasks=["pose_estimation"], sources=[src])
    with pytest.raises(DataError, match="inconsistent frame counts"):
        InContextDataModule(tasks=["motion_prediction"], sources=[src], num_frames=20, cache_dir=str(cache_dir)).setup("fit")
    _write_archive(tmp_path / "nan", nan=True)
    with pytest.raises(DataError, match=r"poses3d holds NaN.*clip 2"):
        ClipArchive.load(tmp_path / "nan" / "train")


def test_archive_rejects_malformed_files(tmp_path):
    _write_archive(tmp_path / "a")
    train = tmp_path / "a" / "train"
    data = (train / "poses3d.npy").read_bytes()
    (train / "poses3d.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"poses3d.npy: unreadable or truncated"):
        ClipArchive.load(train)
    (train / "meta.json").write_text("{not json")
    with pytest.raises(DataError, match="meta.json: malformed JSON"):
        ClipArchive.load(train)
    (train / "meta.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(DataError, match="not a sic-clip-archive"):
        ClipArchive.load(train)
    with pytest.raises(DataError, match="layout"):
        ClipArchive(poses3d=np.zeros((1, 4, 17, 3), np.float32), fps=30, layout="h37m", name="x")
    with pytest.raises(DataError, match=r"poses3d must be \(N, L, 25, 3\)"):
        ClipArchive(poses3d=np.zeros((1, 4, 17, 3), np.float32), fps=30, layout="ntu25", name="x")
