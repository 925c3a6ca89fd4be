"""PoseTokenizerTask: part noise really applies, losses, metric keys, a training step helps."""

import pytest
import torch

from sic.data.batch import SkeletonBatch
from sic.data.skeleton import get_layout
from sic.models import PoseVQVAE
from sic.tasks import PoseTokenizerTask
from sic.utils.errors import ConfigError


def make_task(**kwargs):
    return PoseTokenizerTask(PoseVQVAE(num_joints=17, hidden=32, code_dim=16, codebook_size=64), layout="h36m17", **kwargs)


def batch_of(poses):
    return SkeletonBatch(inputs=poses, targets=poses, task=torch.full((poses.shape[0],), -1), meta={"index": torch.arange(poses.shape[0])})


def test_part_noise_changes_exactly_one_part_of_the_chosen_rows():
    task = make_task(noise_fraction=1.0)
    poses = torch.zeros(64, 1, 17, 3)
    noisy = task.add_part_noise(poses, step=0, generator=torch.Generator().manual_seed(0))
    changed = (noisy != poses).any(-1)[:, 0]  # (B, J)
    parts = [set(j) for j in get_layout("h36m17").body_parts.values()]
    assert changed.any(1).float().mean() > 0.9  # U(0, 1) > 0 almost surely: nearly every row changes
    for row in changed:
        joints = set(row.nonzero().flatten().tolist())
        assert not joints or joints in parts  # one whole part, nothing else
    offsets = (noisy - poses)[changed[:, None, :, None].expand_as(poses)]
    assert offsets.max() <= task.noise_scale(0) and offsets.min() > 0
    assert not torch.equal(task.add_part_noise(poses, step=10_000_000), poses)


def test_noise_schedule_steps_every_interval_and_holds_its_last_value():
    task = make_task(noise_schedule=(0.1, 0.2, 0.3), noise_interval=10)
    assert [task.noise_scale(s) for s in (0, 9, 10, 25, 10_000)] == [0.1, 0.1, 0.2, 0.3, 0.3]


def test_losses_include_bones_and_the_quantizer_term():
    task = make_task(loss_weights={"joints": 1.0, "bones": 0.0, "quantizer": 0.0})
    target = torch.zeros(2, 1, 17, 3)
    pred = target.clone()
    pred[..., 0, :] = 1.0  # move the root only: every bone from the root changes
    terms = task._losses(pred, target, torch.tensor(0.5))
    assert terms["joints"].item() == pytest.approx(1.0 / 17)
    assert terms["bones"].item() > 0 and terms["quantizer"].item() == 0.5
    assert task._total(terms).item() == pytest.approx(1.0 / 17)


def test_training_steps_lower_the_loss_and_evaluation_reports_named_joint_sets():
    torch.manual_seed(0)
    task = make_task(part_noise=False)
    opt = torch.optim.Adam(task.parameters(), lr=3e-3)
    batch = batch_of(torch.randn(8, 1, 17, 3) * 0.2)
    task.log = task.log_dict = lambda *a, **k: None  # no trainer attached
    losses = []
    for _ in range(40):
        loss = task.training_step(batch, 0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]
    task.eval()
    task._eval_step("test", batch)
    values = task._epoch_metrics("test")
    assert {"test/tokenizer/mpjpe_h36m17", "test/tokenizer/pa_mpjpe_h36m17", "test/tokenizer/codebook_usage",
            "test/tokenizer/perplexity"} <= set(values)
    assert values["test/tokenizer/pa_mpjpe_h36m17"] <= values["test/tokenizer/mpjpe_h36m17"]


def test_configuration_errors_name_the_key():
    with pytest.raises(ConfigError, match="loss_weights"):
        make_task(loss_weights={"vertices": 1.0})
    with pytest.raises(ConfigError, match="num_joints=17"):
        PoseTokenizerTask(PoseVQVAE(num_joints=17, hidden=8, code_dim=4, codebook_size=8), layout="smpl22")
