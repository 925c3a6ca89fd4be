"""The SiC baselines: prompt-free, multi-head and TUP/TGP variants of SkeletonInContext, the MIM-style models."""

import pytest
import torch

from sic.data.batch import SkeletonBatch
from sic.metrics import PoseScale
from sic.models import MaskedFrameInContext, SkeletonInContext
from sic.tasks import InContextTask

F, J = 8, 17
SMALL = {"num_frames": F, "dim": 16, "depth": 2, "num_heads": 2, "merge_layer": 1}


def _motion(b: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(b, F, J, 3, generator=g) * 0.2 for _ in range(4))


def _batch(b: int = 6) -> SkeletonBatch:
    pi, _, qi, _ = _motion(b)
    pt, qt = 0.5 * pi + 0.1, 0.5 * qi + 0.1  # a task every network can start to learn in a few steps
    return SkeletonBatch(inputs=qi, targets=qt, task=torch.arange(b) % 4, prompt_inputs=pi, prompt_targets=pt,
                         mask=torch.zeros(b, F, J, dtype=torch.bool))  # fmt: skip


def test_without_tgp_the_prompt_is_ignored():
    pi, pt, qi, _ = _motion(3)
    torch.manual_seed(0)
    free = SkeletonInContext(tgp=False, tup="none", **SMALL).eval()
    assert not hasattr(free, "merge_weight")  # nothing is aggregated: no parameter left without a gradient
    with torch.no_grad():
        assert torch.equal(free(pi, pt, qi), free(pi + 1.0, -pt, qi))
        assert not torch.equal(free(pi, pt, qi), free(pi, pt, qi + 0.1))
    torch.manual_seed(0)
    prompted = SkeletonInContext(**SMALL).eval()
    with torch.no_grad():
        assert not torch.allclose(prompted(pi, pt, qi), prompted(pi + 1.0, -pt, qi))


def test_task_heads_pick_each_samples_head():
    pi, pt, qi, _ = _motion(4)
    torch.manual_seed(0)
    multi = SkeletonInContext(tgp=False, tup="none", task_heads=3, **SMALL).eval()
    task = torch.tensor([2, 0, 1, 2])
    with torch.no_grad():
        out = multi(pi, pt, qi, task)
        for k in range(3):  # a one-head network with head k's weights gives the rows of task k
            single = SkeletonInContext(tgp=False, tup="none", **SMALL).eval()
            state = multi.state_dict()
            state["head.weight"] = state["head.weight"].unflatten(0, (3, 3))[k]
            state["head.bias"] = state["head.bias"].unflatten(0, (3, 3))[k]
            single.load_state_dict(state)
            rows = task == k
            torch.testing.assert_close(out[rows], single(pi, pt, qi)[rows])
    with pytest.raises(ValueError, match="task ids"):
        multi(pi, pt, qi)
    with pytest.raises(ValueError, match=r"in \[0, 3\)"):
        multi(pi, pt, qi, torch.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="analogy_residual"):
        SkeletonInContext(tgp=False, analogy_residual=True, **SMALL)


@pytest.mark.parametrize("decoder_depth", [0, 1])
@pytest.mark.parametrize("mask_token", ["zero", "learned"])
def test_masked_frame_model_never_sees_hidden_frames(decoder_depth, mask_token):
    torch.manual_seed(0)
    net = MaskedFrameInContext(num_frames=F, dim=16, depth=2, num_heads=2, decoder_depth=decoder_depth,
                               mask_ratio=0.25, mask_token=mask_token).eval()  # fmt: skip
    pi, pt, qi, qt = _motion(3)
    with torch.no_grad():
        torch.manual_seed(1)
        pred, frames, hidden = net.reconstruct(pi, pt, qi, qt)
        assert pred.shape == frames.shape == (3, 4 * F, J, 3)
        assert hidden.sum(1).tolist() == [F] * 3  # 25 % of 4F frames in every row
        torch.testing.assert_close(frames, torch.cat([pi, pt, qi, qt], 1))
        changed = [x + 5.0 * hidden[:, s * F : (s + 1) * F, None, None] for s, x in enumerate((pi, pt, qi, qt))]
        torch.manual_seed(1)  # the same mask
        again, _, _ = net.reconstruct(*changed)
        torch.testing.assert_close(again, pred)  # hidden frames' values cannot reach any prediction
        out = net(pi, pt, qi)
        assert out.shape == (3, F, J, 3)
        torch.testing.assert_close(out, net(pi, pt, qi, torch.zeros(3, dtype=torch.long)))
    with pytest.raises(ValueError, match="query_input must have shape"):
        net(pi, pt, qi[:, :-1])


@pytest.mark.parametrize(
    "net",
    [
        lambda: SkeletonInContext(tgp=False, tup="none", **SMALL),
        lambda: SkeletonInContext(tgp=False, tup="none", task_heads=4, **SMALL),
        lambda: SkeletonInContext(tup="none", **SMALL),
        lambda: SkeletonInContext(tgp=False, **SMALL),
        lambda: MaskedFrameInContext(num_frames=F, dim=16, depth=2, num_heads=2),
        lambda: MaskedFrameInContext(num_frames=F, dim=16, depth=2, num_heads=2, decoder_depth=1, mask_token="learned"),
    ],
    ids=["prompt-free", "multi-head", "tgp-only", "tup-only", "mim-pic", "mim-pointmae"],
)
def test_a_training_step_lowers_the_loss_on_a_fixed_batch(net):
    torch.manual_seed(0)
    task = InContextTask(net(), optimizer=lambda p: torch.optim.AdamW(p, lr=3e-3))
    batch = _batch()
    masked = getattr(task.net, "masked_modeling", False)
    loss_of = task._masked_frame_loss if masked else (lambda b: task._loss(task(b), b.targets))
    opt = task.configure_optimizers()
    torch.manual_seed(0)
    first = loss_of(batch).item()
    for _ in range(15):
        loss = loss_of(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.manual_seed(0)  # the MIM loss is measured on the first step's mask again
    assert loss_of(batch).item() < 0.8 * first


def test_pose_scale_by_hand():
    target = torch.zeros(1, 2, 2, 3)
    target[0, :, 1, 0] = 2.0  # two joints 2 m apart: 1 m from their centroid, each frame
    pred = target.clone()
    pred[0, 1, 1, 0] = 0.5  # the last frame shrinks to a quarter
    metric, last = PoseScale(), PoseScale(last=True)
    metric.update(pred, target)
    last.update(pred, target)
    assert metric.compute().item() == pytest.approx((1.0 + 0.25) / 2)
    assert last.compute().item() == pytest.approx(0.25)
    with pytest.raises(ValueError, match="share"):
        metric.update(pred[:, :1], target)
