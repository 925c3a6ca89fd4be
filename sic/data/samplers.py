"""Samplers of the skeleton bank: deterministic, sharded across ranks, resumable mid-epoch.

Training and evaluation streams are pure functions of ``(seed, epoch)``, so a run gives the same
batches on 1 or N processes, and a run killed mid-epoch resumes with exactly the batches it had
not yet seen:

* :class:`TrainStreamSampler` draws one *global* stream of items per epoch (task mixing by
  weights, or uniform permutations), identical on every rank; rank ``r`` takes every ``W``-th item.
  It yields ``(item, draw)`` pairs: ``draw`` is the item's position in the run's stream, so the
  bank's random window offsets, prompts and masks differ each time an item comes back, without
  reading any global RNG (which a checkpoint does not restore).
* :class:`EvalShardSampler` deals whole evaluation *batches* round-robin to ranks, without
  padding: every rank sees exactly the batches the single-process run builds, so shared prompts and
  torchmetrics sums are identical, and no sample is counted twice.
* :class:`ResumableDataLoader` counts the batches it has yielded in the current epoch; Lightning
  stores that in checkpoints (its ``state_dict`` / ``load_state_dict`` protocol) and the sampler
  skips them after a resume.

Both samplers subclass :class:`~torch.utils.data.DistributedSampler` only so that Lightning
recognises them as already sharded and does not inject its own sampler (which pads evaluation
sets with repeated samples).

Example:
    >>> from sic.data.samplers import EvalShardSampler, TrainStreamSampler
    >>> list(EvalShardSampler(7, batch_size=2, num_replicas=2, rank=1))  # batches 1 and 3
    [2, 3, 6]
    >>> s = TrainStreamSampler(5, num_samples=4, seed=0, num_replicas=2, rank=0)
    >>> [draw for _, draw in s]
    [0, 2]
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler

__all__ = ["EvalShardSampler", "ResumableDataLoader", "TrainStreamSampler"]


def _check_rank(num_replicas: int, rank: int) -> None:
    if num_replicas < 1 or not 0 <= rank < num_replicas:
        raise ValueError(f"rank must lie in [0, num_replicas={num_replicas}), got {rank}")


class TrainStreamSampler(DistributedSampler):
    """An epoch's training items as ``(item, draw)`` pairs, the same global stream on every rank.

    Lightning selects the epoch with ``set_epoch`` (inherited) before every epoch.

    Args:
        size: number of items in the bank.
        num_samples: items per epoch over all ranks (default ``size``).
        weights: per-item sampling weights (drawn with replacement); ``None`` draws uniform
            permutations (without replacement, concatenated when ``num_samples > size``).
        seed: seed of the stream; epoch ``e`` uses ``(seed, e)``.
        num_replicas: number of ranks ``W``.
        rank: this rank.
    """

    def __init__(self, size: int, num_samples: int | None = None, weights: np.ndarray | None = None, seed: int = 0,
                 num_replicas: int = 1, rank: int = 0) -> None:  # fmt: skip
        # DistributedSampler.__init__ is not called: it needs a dataset and may query the process group.
        _check_rank(num_replicas, rank)
        if size < 1:
            raise ValueError("cannot sample from an empty bank")
        self.size, self.total = size, num_samples or size
        self.weights = None if weights is None else torch.as_tensor(np.asarray(weights, dtype=np.float64))
        if self.weights is not None and (self.weights.numel() != size or (self.weights < 0).any() or self.weights.sum() <= 0):
            raise ValueError(f"weights must be {size} non-negative values with a positive sum")
        self.seed, self.num_replicas, self.rank = seed, num_replicas, rank
        self.num_samples = math.ceil(self.total / num_replicas)  # per rank: every rank runs the same number of steps
        self.epoch, self.skip = 0, 0

    def global_stream(self, epoch: int) -> np.ndarray:
        """All items of epoch ``epoch`` in order, ``(num_samples,)`` before sharding."""
        g = torch.Generator().manual_seed((self.seed * 1_000_003 + epoch) & 0x7FFF_FFFF_FFFF_FFFF)
        if self.weights is not None:
            return torch.multinomial(self.weights, self.total, replacement=True, generator=g).numpy()
        perms = [torch.randperm(self.size, generator=g) for _ in range(math.ceil(self.total / self.size))]
        return torch.cat(perms)[: self.total].numpy()

    def __iter__(self) -> Iterator[tuple[int, int]]:
        items = self.global_stream(self.epoch)
        draws = self.epoch * self.total + np.arange(self.total)
        padded = self.num_samples * self.num_replicas
        take = np.arange(padded) % self.total  # wrap around so every rank gets as many items
        mine = take[self.rank :: self.num_replicas][self.skip :]
        self.skip = 0  # skipping applies to one pass (a resumed epoch)
        return iter(zip(items[mine].tolist(), draws[mine].tolist()))

    def __len__(self) -> int:
        return self.num_samples


class EvalShardSampler(DistributedSampler):
    """Item indices of this rank's evaluation batches: global batch ``b`` goes to rank ``b % W``.

    Args:
        size: number of items.
        batch_size: evaluation batch size (the DataLoader's).
        num_replicas: number of ranks ``W``.
        rank: this rank.
    """

    def __init__(self, size: int, batch_size: int, num_replicas: int = 1, rank: int = 0) -> None:
        _check_rank(num_replicas, rank)
        self.num_replicas, self.rank, self.epoch = num_replicas, rank, 0  # the order ignores the epoch
        batches = range(rank, math.ceil(size / batch_size), num_replicas)
        self.indices = [i for b in batches for i in range(b * batch_size, min((b + 1) * batch_size, size))]
        self.num_samples = len(self.indices)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return self.num_samples


class ResumableDataLoader(DataLoader):
    """A DataLoader whose position in the epoch survives a checkpoint (Lightning's stateful-loader protocol).

    The sampler must have ``epoch``, ``set_epoch`` and ``skip`` (items to skip in its next pass), as
    :class:`TrainStreamSampler` does. A stored position applies only to the epoch it was stored in:
    a run resumed from an end-of-epoch checkpoint starts the next epoch from its beginning.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._yielded = 0
        self._resume: tuple[int, int] | None = None

    def __iter__(self) -> Iterator[Any]:
        # A generator: nothing (not even worker prefetching) starts before the first batch is asked
        # for, which Lightning does after it has set the epoch.
        sampler, skip = self.sampler, 0
        if self._resume is not None and self._resume[0] == sampler.epoch:
            skip = self._resume[1]
        self._resume = None
        sampler.skip, self._yielded = skip * (self.batch_size or 1), skip
        for batch in super().__iter__():
            self._yielded += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        """The epoch and the number of its batches already handed out."""
        return {"epoch": self.sampler.epoch, "batches": self._yielded}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue epoch ``state["epoch"]`` after its first ``state["batches"]`` batches."""
        self._resume = (int(state["epoch"]), int(state["batches"]))
        self.sampler.set_epoch(self._resume[0])
