"""LiftingTask: losses and metrics against numpy, flip test-time augmentation, the no-label rule, robustness keys."""

import json

import lightning as L
import numpy as np
import pytest
import torch
from torch import nn

from sic.data import LiftingDataModule
from sic.data.batch import SkeletonBatch
from sic.data.lifting import flip_poses
from sic.data.skeleton import get_layout
from sic.data.sources import ProceduralSource
from sic.models import GAtFuN, PoseAdaptiveLifter, PoseAdaptivePrompt
from sic.tasks import LiftingTask
from sic.text import TinyTextEncoder
from sic.utils.errors import ConfigError

LAYOUT = get_layout("h36m17")


class Constant(nn.Module):
    """A 'lifter' that predicts a fixed pose for every frame (for metric checks by hand)."""

    num_joints = 17

    def __init__(self, pose: torch.Tensor) -> None:
        super().__init__()
        self.pose = nn.Parameter(pose.clone())

    def forward(self, x):
        return self.pose.expand(*x.shape[:2], 17, 3)


def test_eval_metrics_match_numpy():
    torch.manual_seed(0)
    pose = torch.randn(17, 3) * 0.2
    task = LiftingTask(Constant(pose), flip_test=False)
    task.setup("test")
    target = torch.randn(4, 5, 17, 3) * 0.3
    target[:, :, 0] = 0
    batch = SkeletonBatch(inputs=torch.zeros(4, 5, 17, 3), targets=target, task=torch.full((4,), -1))
    task._eval_step("test", batch, 0)
    m = task.metrics["test0"]
    pred = pose.clone()
    pred[0] = 0  # the root is set to 0 before scoring
    err = np.linalg.norm(pred.numpy() - target.numpy(), axis=-1)
    assert m["mpjpe"].compute().item() == pytest.approx(1000 * err.mean(), rel=1e-5)
    pck = m["pck"].compute()
    assert pck["pck"].item() == pytest.approx(100 * (err < 0.15).mean(), rel=1e-5)
    grid = np.linspace(0, 0.15, 31)
    assert pck["auc"].item() == pytest.approx(100 * np.mean([(err < t).mean() for t in grid]), rel=1e-4)
    vel = np.linalg.norm(np.diff(target.numpy(), axis=1), axis=-1)  # a constant prediction has zero velocity
    assert m["mpjve"].compute().item() == pytest.approx(1000 * vel.mean(), rel=1e-5)


def test_losses_follow_their_weights():
    task = LiftingTask(Constant(torch.zeros(17, 3)), loss_weights={"n_mpjpe": 0.0, "velocity": 0.0})
    pred, target = torch.zeros(1, 3, 17, 3), torch.ones(1, 3, 17, 3)
    terms = task._losses(pred, target)
    assert set(terms) == {"mpjpe"} and terms["mpjpe"].item() == pytest.approx(3**0.5)
    with pytest.raises(ConfigError, match="unknown term"):
        LiftingTask(Constant(torch.zeros(17, 3)), loss_weights={"bones": 1.0})


def test_flip_test_averages_with_the_mirrored_prediction():
    class Lopsided(nn.Module):  # not mirror-symmetric: the flip TTA must change its output
        num_joints = 17

        def forward(self, x):
            return x * torch.tensor([1.0, 2.0, 3.0]) + torch.arange(17.0)[:, None] * 0.01

    task = LiftingTask(Lopsided(), flip_test=True)
    x = torch.randn(2, 4, 17, 3)
    perm = LAYOUT.flip_permutation
    expected = 0.5 * (Lopsided()(x) + flip_poses(Lopsided()(flip_poses(x, perm)), perm))
    expected[..., 0, :] = 0
    torch.testing.assert_close(task.predict_3d(x), expected)


def tiny_prompted_lifter():
    torch.manual_seed(0)
    return PoseAdaptiveLifter(
        GAtFuN(num_frames=6, dim=16, depth=1, num_heads=2, drop_path=0.0, text_dim=16),
        PoseAdaptivePrompt(TinyTextEncoder(hidden_size=12, num_layers=1), dim=16, context_dim=8, slot_dim=8),
    )


def test_no_ground_truth_label_reaches_the_model():
    """The public prompt code filled the action slot with the GT label at test time; here labels never reach the net."""
    task = LiftingTask(tiny_prompted_lifter()).eval()
    seen = []
    task.net.register_forward_pre_hook(lambda module, args: seen.append(args))
    x = torch.randn(2, 6, 17, 3)
    batch = SkeletonBatch(
        inputs=x,
        targets=torch.zeros_like(x),
        task=torch.full((2,), -1),
        meta={"label": torch.tensor([0, 1]), "index": torch.arange(2)},
    )
    relabelled = SkeletonBatch(
        inputs=x,
        targets=torch.zeros_like(x),
        task=torch.full((2,), -1),
        meta={"label": torch.tensor([7, 3]), "index": torch.arange(2)},
    )
    out = task.predict_step(batch, 0)["poses3d"]
    torch.testing.assert_close(task.predict_step(relabelled, 0)["poses3d"], out)
    mirrored = flip_poses(x, LAYOUT.flip_permutation)
    assert seen and all(len(args) == 1 and (torch.equal(args[0], x) or torch.equal(args[0], mirrored)) for args in seen)


def test_test_run_reports_every_loader_and_the_robustness_table(tmp_path, cache_dir, capsys):
    dm = LiftingDataModule(
        sources=[ProceduralSource(name="lift-task", clips_per_split={"train": 8, "val": 4, "test": 4})],
        num_frames=6,
        batch_size=4,
        robustness={"jitter": [5.0], "joint_occlusion": [0.3]},
        cache_dir=str(cache_dir),
    )
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=2,
        limit_val_batches=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    task = LiftingTask(tiny_prompted_lifter())
    trainer.fit(task, dm)
    trainer.test(task, dm, verbose=False)
    values = json.loads((tmp_path / "test_metrics.json").read_text())
    for name in ("clean", "jitter@5", "joint_occlusion@0.3"):
        assert {f"test/{name}/{k}" for k in ("mpjpe", "pa_mpjpe", "pck", "auc", "mpjve", "accel")} <= set(values)
    assert "test/joint_occlusion@0.3/mpjpe_occluded" in values and "test/clean/mpjpe_occluded" not in values
    assert any(k.startswith("test/clean/mpjpe_action/") for k in values)
    out = capsys.readouterr().out
    assert "robustness, test mpjpe (mm)" in out and "jitter" in out and "@0.3" in out


def test_the_task_refuses_other_datamodules(tmp_path, cache_dir):
    from sic.data import InContextDataModule

    dm = InContextDataModule(
        tasks=["pose_estimation"],
        batch_size=2,
        cache_dir=str(cache_dir),
        sources=[ProceduralSource(clips_per_split={"train": 4, "val": 2, "test": 2})],
    )
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        default_root_dir=tmp_path,
    )
    with pytest.raises(ConfigError, match="LiftingDataModule"):
        trainer.fit(LiftingTask(tiny_prompted_lifter()), dm)
