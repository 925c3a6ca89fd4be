"""Baselines that share the in-context interface of :class:`~sic.models.SkeletonInContext`.

Example:
    >>> import torch
    >>> from sic.models import CopyPrompt
    >>> p = torch.randn(2, 16, 17, 3)
    >>> bool((CopyPrompt()(p, p + 1, p) == p + 1).all())
    True
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["CopyPrompt"]


class CopyPrompt(nn.Module):
    """The Copy baseline of the paper's Table 1: predict the prompt's target as the query's target.

    It has no weights: ``InContextTask`` then configures no optimiser, and it is meant for ``sic test``.
    """

    def __init__(self) -> None:
        super().__init__()

    def forward(self, prompt_input: Tensor, prompt_target: Tensor, query_input: Tensor, task: Tensor | None = None) -> Tensor:
        """Return ``prompt_target`` broadcast to the query batch, ``(B, F, J, C)``."""
        del prompt_input, task  # unused
        return prompt_target.expand(query_input.shape[0], *prompt_target.shape[1:]).clone()
