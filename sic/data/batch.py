"""The one batch type every datamodule delivers: :class:`SkeletonBatch`.

Shapes are ``(B, T, J, C)``: batch, frames, joints, channels. In-context tasks fill the prompt
fields; single-task methods leave them ``None``. Static poses are one-frame sequences and pose
pairs ``(A, B)`` two-frame ones; their captions travel in ``texts``. Per-sample scalars (frame rate, clip index,
action label, masking ratio, ...) travel in ``meta``, always as ``(B,)`` tensors so that
Lightning can move and split them.

Example:
    >>> import torch
    >>> from sic.data.batch import SkeletonBatch
    >>> x = torch.zeros(2, 16, 17, 3)
    >>> b = SkeletonBatch(inputs=x, targets=x, task=torch.zeros(2, dtype=torch.long))
    >>> b.batch_size, b.select(torch.tensor([True, False])).batch_size
    (2, 1)
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import torch
from torch import Tensor

__all__ = ["SkeletonBatch"]


@dataclass
class SkeletonBatch:
    """A batch of skeleton sequences.

    Attributes:
        inputs: query input ``(B, T, J, C_in)``; 2D inputs are ``(x, y, 0)``.
        targets: query target ``(B, T, J, 3)``.
        task: ``(B,)`` int64 index into :data:`sic.data.tasks.TASK_IDS` (``-1`` outside the in-context bank).
        prompt_inputs: prompt input ``(B, T, J, C_in)``, or ``(1, T, J, C_in)`` when the whole batch
            shares one prompt; ``None`` outside in-context learning.
        prompt_targets: prompt target, same shape as ``prompt_inputs``.
        mask: ``(B, T, J)`` bool, True where the query input was hidden (joint completion, in-between);
            metrics on "masked joints" read it.
        meta: per-sample tensors with the batch first: ``(B,)`` ``fps``, ``index`` (clip), ``label``, ``subject``,
            ...; ``(B, T)`` ``scored`` (frames that count in the metrics, lifting robustness loaders).
        texts: captions, ``K`` per sample in sample-major order (``len(texts) == K * B``), or ``None``.
        candidate_inputs: ``(B, K, T, J, C_in)`` prompt candidates of each query for prompt selection and
            ensembles (candidate 0 is ``prompt_inputs``), or ``None``.
        candidate_targets: their targets, same shape.
    """

    inputs: Tensor
    targets: Tensor
    task: Tensor
    prompt_inputs: Tensor | None = None
    prompt_targets: Tensor | None = None
    mask: Tensor | None = None
    meta: dict[str, Tensor] = field(default_factory=dict)
    texts: tuple[str, ...] | None = None
    candidate_inputs: Tensor | None = None
    candidate_targets: Tensor | None = None

    @property
    def batch_size(self) -> int:
        """Number of query samples ``B``."""
        return self.inputs.shape[0]

    @property
    def shared_prompt(self) -> bool:
        """True when one prompt serves the whole batch (prompt batch dimension 1)."""
        return self.prompt_inputs is not None and self.prompt_inputs.shape[0] == 1 < self.batch_size

    def select(self, rows: Tensor) -> SkeletonBatch:
        """The sub-batch of the rows selected by a ``(B,)`` bool or index tensor."""

        shared = self.shared_prompt

        def pick(x: Tensor | None) -> Tensor | None:
            return x if x is None or shared else x[rows]

        def rows_of(x: Tensor | None) -> Tensor | None:
            return None if x is None else x[rows]

        texts = self.texts
        if texts is not None:
            k = len(texts) // self.batch_size
            picked = torch.arange(self.batch_size)[rows.cpu()].tolist()
            texts = tuple(texts[i * k + j] for i in picked for j in range(k))
        return replace(
            self,
            texts=texts,
            inputs=self.inputs[rows],
            targets=self.targets[rows],
            task=self.task[rows],
            prompt_inputs=pick(self.prompt_inputs),
            prompt_targets=pick(self.prompt_targets),
            mask=rows_of(self.mask),
            candidate_inputs=rows_of(self.candidate_inputs),
            candidate_targets=rows_of(self.candidate_targets),
            meta={k: v[rows] for k, v in self.meta.items()},
        )

    def to(self, device: torch.device | str, non_blocking: bool = False) -> SkeletonBatch:
        """Move every tensor to ``device``."""

        def move(x: Tensor | None) -> Tensor | None:
            return None if x is None else x.to(device, non_blocking=non_blocking)

        kwargs = {f.name: move(getattr(self, f.name)) for f in fields(self) if f.name not in ("meta", "texts")}
        return SkeletonBatch(**kwargs, meta={k: move(v) for k, v in self.meta.items()}, texts=self.texts)

    def pin_memory(self) -> SkeletonBatch:
        """Page-lock every tensor (called by ``DataLoader(pin_memory=True)``)."""
        kwargs = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("meta", "texts")}
        kwargs = {k: None if v is None else v.pin_memory() for k, v in kwargs.items()}
        return SkeletonBatch(**kwargs, meta={k: v.pin_memory() for k, v in self.meta.items()}, texts=self.texts)
