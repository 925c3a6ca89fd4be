"""Cross-modal retrieval recall: R@k in both directions and mRecall, over the whole evaluation set.

Every pose (or pose pair) of the set is a gallery item for every text and vice versa, so the
embeddings are kept as list states and concatenated across ranks before :meth:`compute` (the
reference keeps per-rank states, so each GPU reported recall over its own shard). With ``K``
captions per pose, recall is computed once per caption index and averaged (PoseScript's rule).
Values are fractions in [0, 1] (UniPose's convention; PoseScript prints percentages).

Ties count against the query: the rank of the true partner is the number of *other* candidates
scoring at least as high, so duplicated captions or poses never inflate recall. The score matrix
is built in row chunks, so memory is ``O(chunk * N)``.

Example:
    >>> import torch
    >>> m = RetrievalRecall(ks=(1, 2))
    >>> poses = torch.eye(3)
    >>> m.update(poses, poses[:, None])           # each text embedding equals its pose embedding
    >>> {k: round(float(v), 2) for k, v in m.compute().items()}
    {'r1_t2p': 1.0, 'r2_t2p': 1.0, 'r1_p2t': 1.0, 'r2_p2t': 1.0, 'mrecall': 1.0}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

__all__ = ["RetrievalRecall", "retrieval_ranks"]


def retrieval_ranks(queries: Tensor, gallery: Tensor, chunk: int = 1024) -> Tensor:
    """Rank of ``gallery[i]`` for ``queries[i]`` by dot product: other items scoring ``>=`` it, ``(N,)``."""
    ranks = []
    for start in range(0, queries.shape[0], chunk):
        rows = torch.arange(start, min(start + chunk, queries.shape[0]), device=queries.device)
        scores = queries[rows] @ gallery.t()  # (c, N)
        own = scores[torch.arange(len(rows)), rows]
        ranks.append((scores >= own[:, None]).sum(1) - 1)
    return torch.cat(ranks) if ranks else queries.new_zeros(0, dtype=torch.long)


class RetrievalRecall(Metric):
    """Recall@k of text→pose (``t2p``) and pose→text (``p2t``) retrieval, and their mean ``mrecall``.

    Args:
        ks: cut-offs (UniPose and PoseScript: 1, 5, 10).
        chunk: query rows scored at once in :meth:`compute`.
        kwargs: forwarded to :class:`torchmetrics.Metric`.
    """

    higher_is_better: ClassVar[bool] = True
    full_state_update: ClassVar[bool] = False

    poses: list[Tensor]
    texts: list[Tensor]

    def __init__(self, ks: Sequence[int] = (1, 5, 10), chunk: int = 1024, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not ks or any(k < 1 for k in ks):
            raise ValueError(f"ks must be positive cut-offs, got {ks}")
        self.ks, self.chunk = tuple(ks), chunk
        self.add_state("poses", default=[], dist_reduce_fx="cat")
        self.add_state("texts", default=[], dist_reduce_fx="cat")

    def update(self, poses: Tensor, texts: Tensor) -> None:
        """Add ``poses`` ``(B, D)`` and their captions' embeddings ``texts`` ``(B, K, D)`` (or ``(B, D)``)."""
        texts = texts[:, None] if texts.ndim == 2 else texts
        if texts.ndim != 3 or texts.shape[0] != poses.shape[0] or texts.shape[-1] != poses.shape[-1]:
            raise ValueError(f"texts must be (B, K, D) for poses (B, D) = {tuple(poses.shape)}, got {tuple(texts.shape)}")
        self.poses.append(poses.detach().float())
        self.texts.append(texts.detach().float())

    def compute(self) -> dict[str, Tensor]:
        """``r{k}_t2p``, ``r{k}_p2t`` for each ``k``, and ``mrecall``; fractions."""
        out: dict[str, Tensor] = {}
        if isinstance(self.poses, list) and not self.poses:  # nothing seen; after a DDP sync the state is one tensor
            nan = torch.tensor(float("nan"), device=self.device)
            return {**{f"r{k}_{d}": nan for d in ("t2p", "p2t") for k in self.ks}, "mrecall": nan}
        poses, texts = dim_zero_cat(self.poses), dim_zero_cat(self.texts)
        for direction in ("t2p", "p2t"):
            hits = torch.zeros(len(self.ks), device=poses.device)
            for c in range(texts.shape[1]):
                q, g = (texts[:, c], poses) if direction == "t2p" else (poses, texts[:, c])
                ranks = retrieval_ranks(q, g, self.chunk)
                hits += torch.stack([(ranks < k).float().mean() for k in self.ks])
            out.update({f"r{k}_{direction}": v / texts.shape[1] for k, v in zip(self.ks, hits)})
        out["mrecall"] = torch.stack(list(out.values())).mean()
        return out
