"""Codebook usage of a tokenizer over an evaluation set: fraction of codes used and perplexity.

Example:
    >>> import torch
    >>> m = CodebookUsage(codebook_size=4)
    >>> m.update(torch.tensor([[0, 1], [0, 1]]))
    >>> {k: round(float(v), 3) for k, v in m.compute().items()}
    {'codebook_usage': 0.5, 'perplexity': 2.0}
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor
from torchmetrics import Metric

__all__ = ["CodebookUsage"]


class CodebookUsage(Metric):
    """Histogram of token ids; ``codebook_usage`` (fraction of codes used) and ``perplexity`` (``exp`` entropy).

    Args:
        codebook_size: number of codes ``K``.
        kwargs: forwarded to :class:`torchmetrics.Metric`.
    """

    full_state_update: ClassVar[bool] = False
    counts: Tensor

    def __init__(self, codebook_size: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.codebook_size = codebook_size
        self.add_state("counts", default=torch.zeros(codebook_size), dist_reduce_fx="sum")

    def update(self, ids: Tensor) -> None:
        """Count the token ids (any shape)."""
        self.counts += torch.bincount(ids.reshape(-1), minlength=self.codebook_size).to(self.counts.dtype)

    def compute(self) -> dict[str, Tensor]:
        """``codebook_usage`` in [0, 1] and ``perplexity`` in [1, K] (NaN when nothing was counted)."""
        total = self.counts.sum()
        probs = self.counts / total
        perplexity = torch.exp(-(probs * torch.log(probs.clamp_min(1e-12))).sum())
        usage = (self.counts > 0).float().mean()
        nan = torch.tensor(float("nan"), device=self.counts.device)
        return {"codebook_usage": usage if total > 0 else nan, "perplexity": perplexity if total > 0 else nan}
