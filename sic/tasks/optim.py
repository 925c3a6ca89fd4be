"""Optimiser and scheduler assembly shared by the tasks, with an optional linear warm-up.

The warm-up is :class:`torch.optim.lr_scheduler.LinearLR` stepped every optimiser step. It is a
*chainable* scheduler, as are the usual main schedulers (MultiStepLR, ExponentialLR, StepLR), so
the two multiply instead of overwriting each other. (The UniPose tokenizer config instead scales the
lr by (step + 1) / 500 only while step < 200, so its lr jumps from 0.4x to 1x at step 200.)

Example:
    >>> import torch
    >>> p = [torch.nn.Parameter(torch.zeros(1))]
    >>> cfg = configure(lambda g: torch.optim.SGD(g, lr=1.0), None, "epoch", 4, [{"params": p}])
    >>> (opt,), (warm,) = cfg
    >>> warm = warm["scheduler"]
    >>> lrs = []
    >>> for _ in range(5):
    ...     lrs.append(round(opt.param_groups[0]["lr"], 2)); opt.step(); warm.step()
    >>> lrs
    [0.25, 0.5, 0.75, 1.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

__all__ = ["configure"]


def configure(
    optimizer: Callable[..., torch.optim.Optimizer],
    scheduler: Callable[[torch.optim.Optimizer], Any] | None,
    interval: str,
    warmup_steps: int,
    groups: list[dict[str, Any]],
) -> Any:
    """Lightning's ``configure_optimizers`` value: the optimiser over ``groups``, warm-up and main scheduler.

    Returns the optimiser alone, or ``([optimizer], [scheduler configs])`` (Lightning's form for
    several schedulers of one optimiser).
    """
    if interval not in ("epoch", "step"):
        raise ValueError(f"scheduler_interval must be 'epoch' or 'step', got {interval!r}")
    opt = optimizer(groups)
    schedulers = []
    if warmup_steps > 0:
        warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0 / warmup_steps, total_iters=warmup_steps - 1)
        schedulers.append({"scheduler": warm, "interval": "step"})
    if scheduler is not None:
        schedulers.append({"scheduler": scheduler(opt), "interval": interval})
    return ([opt], schedulers) if schedulers else opt
