"""Recovering the pose a task-unified prompt encodes (paper §5.5, Fig. 6)."""

import numpy as np
import pytest
import torch

from sic.models import SkeletonInContext
from sic.models.inspect import unified_prompt_pose

F, J = 8, 17
SMALL = {"num_frames": F, "dim": 16, "depth": 2, "num_heads": 2, "merge_layer": 1}


def _static(seed: int = 0) -> tuple[SkeletonInContext, torch.Tensor]:
    torch.manual_seed(seed)
    net = SkeletonInContext(tup="static", **SMALL)
    pose = torch.randn(1, F, J, 3) * 0.3
    net.set_static_pose(pose)
    return net, pose[0]


def test_least_squares_returns_a_static_tups_mean_pose():
    net, pose = _static()
    found, similarity = unified_prompt_pose(net, "least_squares")
    torch.testing.assert_close(found, pose, atol=1e-4, rtol=1e-4)
    assert similarity == pytest.approx(1.0, abs=1e-5)


def test_cosine_objective_approaches_the_tokens():
    net, _ = _static(1)
    found, similarity = unified_prompt_pose(net, "cosine", steps=400, lr=0.05)
    assert similarity > 0.99 and found.shape == (F, J, 3)
    assert all(p.requires_grad for p in net.parameters())  # the network is left as it was


def test_dynamic_tup_pose_is_the_numpy_least_squares_solution():
    torch.manual_seed(0)
    net = SkeletonInContext(tup="dynamic", **SMALL)
    found, _ = unified_prompt_pose(net, "least_squares")
    w, b = net.joints_embed.weight.detach().numpy(), net.joints_embed.bias.detach().numpy()
    tokens = (net.tup_frames * net.tup_channels + net.pos_embed + net.temp_embed[F:]).detach().numpy()
    rhs = tokens - b - net.pos_embed.detach().numpy() - net.temp_embed[F:].detach().numpy()
    expected = np.linalg.lstsq(w, rhs.reshape(-1, w.shape[0]).T, rcond=None)[0].T.reshape(F, J, 3)
    np.testing.assert_allclose(found.numpy(), expected, atol=1e-4)
    # rank-1 tokens: every recovered joint lies on one line a + s * d in 3D
    centred = found.reshape(-1, 3) - found.reshape(-1, 3).mean(0)
    assert torch.linalg.svdvals(centred)[1:].max() < 1e-4 * torch.linalg.svdvals(centred)[0]


def test_nothing_to_recover_errors():
    torch.manual_seed(0)
    with pytest.raises(ValueError, match=r"all zeros .* never learns"):
        unified_prompt_pose(SkeletonInContext(tup="dynamic", tup_init="zero", **SMALL))
    with pytest.raises(ValueError, match="no task-unified prompt"):
        unified_prompt_pose(SkeletonInContext(tup="none", **SMALL))
    with pytest.raises(ValueError, match="objective must be"):
        unified_prompt_pose(SkeletonInContext(**SMALL), objective="l1")
