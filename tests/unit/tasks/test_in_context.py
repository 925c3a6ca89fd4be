import lightning as L
import pytest
import torch

from sic.data import InContextDataModule
from sic.data.batch import SkeletonBatch
from sic.models import CopyPrompt, SkeletonInContext
from sic.tasks import InContextTask
from sic.tasks.in_context import TaskMetrics, format_table, horizon_frames
from sic.utils.errors import ConfigError


def test_horizon_frames_from_real_fps():
    # future frame k lies k / fps ahead: 80 ms is frame 2 at 25 fps (index 1), frame 4 at 50 fps
    assert horizon_frames((80, 160, 200, 320, 400), 25.0, 16) == {80: 1, 160: 3, 200: 4, 320: 7, 400: 9}
    assert horizon_frames((200, 300), 50.0, 16) == {200: 9, 300: 14}
    assert horizon_frames((80, 400), 30.0, 16) == {400: 11}  # 2.4 frames is not on a frame; 12 is
    assert horizon_frames((400,), 50.0, 16) == {}  # beyond the 16 target frames


def test_a_single_horizon_is_reported():
    metrics = TaskMetrics("future_pose_estimation", fps=25.0, num_frames=8)  # only 200 ms fits in 8 frames
    assert list(metrics.horizons) == [200]
    target = torch.zeros(2, 8, 17, 3)
    pred = target.clone()
    pred[:, 4, :, 0] = 0.01  # 10 mm off at frame 5 (200 ms at 25 fps)
    batch = SkeletonBatch(inputs=target, targets=target, task=torch.zeros(2, dtype=torch.long), prompt_inputs=target,
                          prompt_targets=target, mask=torch.zeros(2, 8, 17, dtype=torch.bool), meta={})  # fmt: skip
    metrics.update(pred, batch)
    out = metrics.compute()
    assert out["mpjpe_200ms"].item() == pytest.approx(10.0) and out["mpjpe"].item() == pytest.approx(10.0 / 8)


def test_per_action_errors_by_hand():
    metrics = TaskMetrics("pose_estimation", fps=50.0, num_frames=4, class_names=["walk", "sit", "wave"])
    target = torch.zeros(3, 4, 17, 3)
    pred = target.clone()
    pred[..., 0] = torch.tensor([0.01, 0.03, 0.05]).view(3, 1, 1)  # 10, 30 and 50 mm
    batch = SkeletonBatch(inputs=target, targets=target, task=torch.ones(3, dtype=torch.long), prompt_inputs=target,
                          prompt_targets=target, mask=torch.zeros(3, 4, 17, dtype=torch.bool),
                          meta={"label": torch.tensor([0, 0, 2])})  # fmt: skip
    metrics.update(pred, batch)
    out = {k: round(float(v), 3) for k, v in metrics.compute().items()}
    assert out["mpjpe_action/walk"] == 20.0 and out["mpjpe_action/wave"] == 50.0 and "mpjpe_action/sit" not in out
    assert out["mpjpe_action_mean"] == 35.0 and out["mpjpe"] == 30.0  # per action, then over actions
    table = format_table({f"test/pose_estimation/{k}": v for k, v in out.items()}, "test")
    assert "test MPJPE per action (mm)" in table and "walk 20.0, wave 50.0" in table


@pytest.fixture
def dm(tiny_sources, cache_dir):
    return InContextDataModule(sources=tiny_sources, batch_size=8, eval_batch_size=8, cache_dir=str(cache_dir))


def _trainer(tmp_path, **kw):
    args = dict(accelerator="cpu", max_steps=3, limit_val_batches=1, limit_test_batches=1, logger=False,
                enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                default_root_dir=tmp_path)  # fmt: skip
    return L.Trainer(**{**args, **kw})


def test_fit_logs_per_task_keys_and_monitor(dm, tmp_path):
    task = InContextTask(SkeletonInContext(dim=16, depth=2, num_heads=2, merge_layer=1))
    trainer = _trainer(tmp_path, val_check_interval=3)
    trainer.fit(task, dm)
    keys = set(trainer.callback_metrics)
    assert task.monitor in keys and torch.isfinite(trainer.callback_metrics["train/loss"])
    assert {"val/pose_estimation/pa_mpjpe", "val/motion_prediction/mpjpe_400ms", "val/joint_completion/mpjpe_masked_40",
            "val/motion_inbetween/mpjpe_masked"} <= keys  # fmt: skip
    # the monitored mean covers trained tasks only (motion_inbetween is held out)
    trained = [trainer.callback_metrics[f"val/{t}/mpjpe"] for t in dm.train_tasks]
    assert torch.isclose(trainer.callback_metrics["val/mpjpe"], torch.stack(trained).mean())


def test_training_reduces_the_loss(dm, tmp_path):
    torch.manual_seed(0)
    task = InContextTask(SkeletonInContext(dim=16, depth=2, num_heads=2, merge_layer=1),
                         optimizer=lambda p: torch.optim.AdamW(p, lr=3e-3))  # fmt: skip
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    opt = task.configure_optimizers()
    first = task._loss(task(batch), batch.targets).item()
    for _ in range(30):
        loss = task._loss(task(batch), batch.targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.7 * first


def test_copy_baseline_metrics_equal_prompt_target_error(dm, tmp_path):
    trainer = _trainer(tmp_path)
    trainer.test(InContextTask(CopyPrompt()), dm)
    dm.setup("test")
    batch = dm.banks["test/pose_estimation"].__getitems__(list(range(8)))
    expected = (batch.prompt_targets - batch.targets).norm(dim=-1).mean() * 1000
    assert torch.isclose(trainer.callback_metrics["test/pose_estimation/mpjpe"], expected, rtol=1e-4)


def test_static_tup_is_set_from_training_data(dm, tmp_path):
    net = SkeletonInContext(dim=16, depth=2, num_heads=2, merge_layer=1, tup="static", num_static_poses=5)
    _trainer(tmp_path, max_steps=1, limit_val_batches=0).fit(InContextTask(net), dm)
    assert bool(net.static_pose_set) and net.static_pose.abs().sum() > 0


def test_bad_loss_term_and_weight_decay_groups():
    with pytest.raises(ConfigError, match="loss_weights"):
        InContextTask(CopyPrompt(), loss_weights={"mse": 1.0})
    task = InContextTask(SkeletonInContext(dim=16, depth=1, num_heads=2, merge_layer=0))
    opt = task.configure_optimizers()
    decayed, exempt = opt.param_groups
    assert exempt["weight_decay"] == 0.0 and all(p.ndim == 2 for p in decayed["params"])
    assert InContextTask(CopyPrompt()).configure_optimizers() is None


def test_table_lists_tasks():
    text = format_table({"test/pose_estimation/mpjpe": 50.0, "test/mpjpe": 50.0, "val/x/mpjpe": 1.0}, "test")
    assert "pose_estimation" in text and "50.00" in text and "val" not in text
