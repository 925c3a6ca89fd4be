"""Vector quantizers of the pose tokenizer: an EMA codebook with dead-code reset, and plain VQ.

Both map encoder outputs ``z`` ``(M, D)`` to their nearest codes and return a :class:`Quantized`
with the straight-through output, the code ids, the quantizer's loss term and usage statistics.

* :class:`EMAQuantizer` (the UniPose/TokenHMR/T2M-GPT choice): the codebook is a buffer filled
  from the first batch and updated every training step by exponential moving averages of the
  assigned vectors; codes whose EMA count falls below ``reset_threshold`` are replaced by random
  encoder outputs. Its loss is the commitment term only, ``beta * ||z - sg(e)||^2`` (there is no
  codebook term: EMA moves the codes). Under DDP the statistics are summed over ranks and the
  reset vectors come from rank 0, so every rank keeps the same codebook.
* :class:`VectorQuantizer`: a learned codebook, loss ``||sg(z) - e||^2 + beta * ||z - sg(e)||^2``.

The paper lists an embedding loss that the reference code (EMA) does not have; the config names the
quantizer, so the loss terms are explicit.

Example:
    >>> import torch
    >>> q = EMAQuantizer(codebook_size=8, dim=4)
    >>> out = q(torch.randn(32, 4))
    >>> out.ids.shape, out.codes.shape, bool(q.initialised)
    (torch.Size([32]), torch.Size([32, 4]), True)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["EMAQuantizer", "Quantized", "VectorQuantizer"]


@dataclass
class Quantized:
    """Output of a quantizer.

    Attributes:
        codes: quantized vectors ``(M, D)`` with straight-through gradients to the input.
        ids: code index of each vector ``(M,)``.
        loss: the quantizer's loss term (scalar).
        perplexity: ``exp`` of the entropy of the batch's code histogram (``K`` = uniform use).
        usage: fraction of the codebook used by the batch.
    """

    codes: Tensor
    ids: Tensor
    loss: Tensor
    perplexity: Tensor
    usage: Tensor


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _nearest(z: Tensor, codebook: Tensor) -> Tensor:
    """Index of the nearest code (L2) of each row of ``z``."""
    distance = z.pow(2).sum(1, keepdim=True) - 2 * z @ codebook.t() + codebook.pow(2).sum(1)[None]
    return distance.argmin(1)


def _statistics(ids: Tensor, codebook_size: int) -> tuple[Tensor, Tensor]:
    counts = torch.bincount(ids, minlength=codebook_size).float()
    probs = counts / counts.sum().clamp_min(1)
    perplexity = torch.exp(-(probs * torch.log(probs + 1e-10)).sum())
    return perplexity, (counts > 0).float().mean()


class _Quantizer(nn.Module):
    def __init__(self, codebook_size: int, dim: int, beta: float) -> None:
        super().__init__()
        if codebook_size < 1 or dim < 1:
            raise ValueError(f"codebook_size and dim must be positive, got {codebook_size} and {dim}")
        self.codebook_size, self.dim, self.beta = codebook_size, dim, beta

    @property
    def codebook(self) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def lookup(self, ids: Tensor) -> Tensor:
        """Code vectors of ``ids`` (any shape) → ``(*ids.shape, D)``."""
        return F.embedding(ids, self.codebook)

    def quantize(self, z: Tensor) -> Tensor:
        """Nearest code id of each row of ``z`` ``(M, D)``."""
        return _nearest(z.float(), self.codebook.float())


class EMAQuantizer(_Quantizer):
    """Codebook updated by exponential moving averages, with dead-code reset.

    Args:
        codebook_size: number of codes ``K`` (UniPose: 2048).
        dim: code dimension ``D`` (UniPose: 256).
        decay: EMA decay ``mu`` (0.99).
        beta: weight of the commitment loss (1.0).
        reset_threshold: codes whose EMA count is below this are re-seeded from the batch (1.0).
    """

    initialised: Tensor

    def __init__(
        self, codebook_size: int = 2048, dim: int = 256, decay: float = 0.99, beta: float = 1.0, reset_threshold: float = 1.0
    ) -> None:
        super().__init__(codebook_size, dim, beta)
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        self.decay, self.reset_threshold = decay, reset_threshold
        self.register_buffer("embedding", torch.zeros(codebook_size, dim))
        self.register_buffer("ema_count", torch.zeros(codebook_size))
        self.register_buffer("ema_sum", torch.zeros(codebook_size, dim))
        self.register_buffer("initialised", torch.tensor(False))

    @property
    def codebook(self) -> Tensor:
        """The ``(K, D)`` codebook."""
        return self.embedding

    def _sample(self, z: Tensor, count: int) -> Tensor:
        """``count`` rows drawn from ``z`` (tiled when it has fewer), identical on every rank."""
        repeats = -(-count // z.shape[0])
        pool = z.repeat(repeats, 1) if repeats > 1 else z
        if repeats > 1:
            pool = pool + torch.randn_like(pool) * (0.01 / self.dim**0.5)
        rows = pool[torch.randperm(pool.shape[0], device=z.device)[:count]].contiguous()
        if _distributed():
            dist.broadcast(rows, src=0)
        return rows

    @torch.no_grad()
    def _update(self, z: Tensor, ids: Tensor) -> None:
        if not bool(self.initialised):
            self.embedding.copy_(self._sample(z, self.codebook_size))
            self.ema_sum.copy_(self.embedding)
            self.ema_count.fill_(1.0)
            self.initialised.fill_(True)
            return
        count = torch.bincount(ids, minlength=self.codebook_size).to(z.dtype)
        total = torch.zeros_like(self.ema_sum).index_add_(0, ids, z)
        if _distributed():
            dist.all_reduce(count)
            dist.all_reduce(total)
        self.ema_count.mul_(self.decay).add_(count, alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(total, alpha=1 - self.decay)
        self.embedding.copy_(self.ema_sum / self.ema_count.clamp_min(1e-5)[:, None])
        dead = self.ema_count < self.reset_threshold  # the same on every rank: the statistics are summed
        if dead.any():
            # a re-seeded code starts as a live code with one vector's worth of statistics
            fresh = self._sample(z, self.codebook_size)
            self.embedding.copy_(torch.where(dead[:, None], fresh, self.embedding))
            self.ema_sum.copy_(torch.where(dead[:, None], fresh, self.ema_sum))
            self.ema_count.masked_fill_(dead, 1.0)

    def forward(self, z: Tensor) -> Quantized:
        """Quantize ``z`` ``(M, D)``; in training mode also update the codebook."""
        z32 = z.float()
        if self.training:
            if not bool(self.initialised):
                self._update(z32.detach(), torch.zeros(0, dtype=torch.long, device=z.device))
            ids = self.quantize(z32)
            self._update(z32.detach(), ids)
        else:
            ids = self.quantize(z32)
        codes = self.lookup(ids)
        loss = self.beta * F.mse_loss(z32, codes.detach())
        perplexity, usage = _statistics(ids, self.codebook_size)
        return Quantized(z + (codes - z32).detach().to(z.dtype), ids, loss, perplexity, usage)


class VectorQuantizer(_Quantizer):
    """A learned codebook (VQ-VAE): codebook loss plus ``beta`` times the commitment loss.

    Args:
        codebook_size: number of codes ``K``.
        dim: code dimension ``D``.
        beta: weight of the commitment term (0.25 in the VQ-VAE paper).
    """

    def __init__(self, codebook_size: int = 2048, dim: int = 256, beta: float = 0.25) -> None:
        super().__init__(codebook_size, dim, beta)
        self.embedding = nn.Parameter(torch.empty(codebook_size, dim).uniform_(-1 / codebook_size, 1 / codebook_size))

    @property
    def codebook(self) -> Tensor:
        """The ``(K, D)`` codebook."""
        return self.embedding

    def forward(self, z: Tensor) -> Quantized:
        """Quantize ``z`` ``(M, D)``."""
        z32 = z.float()
        ids = self.quantize(z32.detach())
        codes = self.lookup(ids)
        loss = F.mse_loss(codes, z32.detach()) + self.beta * F.mse_loss(z32, codes.detach())
        perplexity, usage = _statistics(ids, self.codebook_size)
        return Quantized(z + (codes - z32).detach().to(z.dtype), ids, loss, perplexity, usage)
