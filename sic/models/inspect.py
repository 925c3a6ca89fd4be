"""What pose sequence does a trained task-unified prompt encode? (paper §5.5, Fig. 6).

The TUP fills the query's target half with ``(F, J, C)`` tokens. :func:`unified_prompt_pose` finds the
``(F, J, 3)`` pose sequence whose embedding (the network's joint embedding plus its joint and frame embeddings
for the target half, exactly how a static mean pose enters) best matches those tokens:

- ``"cosine"`` (the paper): start from a random tensor and maximise the mean cosine similarity per token with
  Adam. Cosine ignores each token's length, so the scale of the result is only loosely determined.
- ``"least_squares"``: the exact minimiser of the squared token error, in closed form (the joint embedding is
  linear). For a static TUP it returns the embedded mean pose itself.

A rank-1 dynamic TUP (``W1 ⊗ W2``) puts every token on one line in feature space, so its least-squares pose
has every joint on one line in 3D too (``a + W1[t, j] · d``); how close that is to the training mean pose is the
measurement the paper makes by eye. The reference code's zero-initialised dynamic TUP never leaves zero (see
``docs/methods/sic.md``), so there is nothing to recover: that case raises an error.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from sic.models.sic import SkeletonInContext

__all__ = ["unified_prompt_pose"]


def _tokens(net: SkeletonInContext, task: Tensor | None) -> Tensor:
    if net.tup == "none":
        raise ValueError("the network has no task-unified prompt (tup='none'): nothing to inspect")
    if net.tup == "dynamic" and not (net.tup_frames.any() and net.tup_channels.any()):
        raise ValueError("the dynamic TUP is all zeros (tup_init='zero', the reference code's setting): it never "
                         "learns, so it encodes no pose")  # fmt: skip
    return net._unified_prompt(task)[:1].detach()


def _embed(net: SkeletonInContext, pose: Tensor) -> Tensor:
    return net._embed(pose, frame_offset=net.num_frames)


def unified_prompt_pose(
    net: SkeletonInContext,
    objective: Literal["cosine", "least_squares"] = "cosine",
    steps: int = 500,
    lr: float = 0.05,
    seed: int = 0,
    task: Tensor | None = None,
) -> tuple[Tensor, float]:
    """The ``(F, J, 3)`` pose sequence the network's TUP encodes, and the mean cosine similarity reached.

    Args:
        net: a trained :class:`SkeletonInContext` with ``tup="dynamic"`` or ``"static"``.
        objective: ``"cosine"`` (Adam from a random start, as the paper) or ``"least_squares"`` (closed form).
        steps: Adam steps of the cosine objective.
        lr: Adam learning rate.
        seed: seed of the random start.
        task: ``(1,)`` task id, for a per-task static TUP.
    """
    if objective not in ("cosine", "least_squares"):
        raise ValueError(f"objective must be 'cosine' or 'least_squares', got {objective!r}")
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            target = _tokens(net, task)  # (1, F, J, C)
        weight = net.joints_embed.weight  # (C, 3)
        if objective == "least_squares":
            with torch.no_grad():
                shift = net.joints_embed.bias + net.pos_embed + net.temp_embed[net.num_frames :]  # _embed's rest
                rhs = (target - shift)[0].reshape(-1, weight.shape[0]).T  # (C, F*J)
                pose = torch.linalg.lstsq(weight, rhs).solution.T.reshape(1, *target.shape[1:3], -1)
        else:
            g = torch.Generator(device=target.device).manual_seed(seed)
            shape = (1, *target.shape[1:3], weight.shape[1])
            pose = torch.randn(shape, generator=g, device=target.device).mul_(0.1).requires_grad_(True)
            opt = torch.optim.Adam([pose], lr=lr)
            flags = [p.requires_grad for p in net.parameters()]
            net.requires_grad_(False)
            try:
                for _ in range(steps):
                    opt.zero_grad()
                    loss = 1 - torch.nn.functional.cosine_similarity(_embed(net, pose), target, dim=-1).mean()
                    loss.backward()
                    opt.step()
            finally:
                for p, flag in zip(net.parameters(), flags, strict=True):
                    p.requires_grad_(flag)
        with torch.no_grad():
            similarity = torch.nn.functional.cosine_similarity(_embed(net, pose), target, dim=-1).mean()
    finally:
        net.train(was_training)
    return pose.detach()[0], float(similarity)
