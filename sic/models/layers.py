"""Building blocks of the dual-stream spatial/temporal transformer (DSTformer-style).

Tokens are kept in one layout, ``(N, T, J, C)``, for the whole network. Spatial attention runs over
the ``J`` joints of each frame and temporal attention over the ``T`` frames of each joint; both are
expressed as strided *views* of that layout, so no block ever permutes activations into a second
memory layout (those copies cost as much as the attention itself on a CPU).

Example:
    >>> import torch
    >>> from sic.models.layers import DualStreamBlock
    >>> block = DualStreamBlock(dim=32, num_heads=4)
    >>> block(torch.randn(2, 8, 17, 32)).shape
    torch.Size([2, 8, 17, 32])
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["MLP", "AxisAttention", "DualStreamBlock", "TransformerLayer"]

Axis = Literal["spatial", "temporal"]


class AxisAttention(nn.Module):
    """Multi-head self-attention along one axis of a ``(N, T, J, C)`` token grid.

    Args:
        dim: channel width ``C``.
        num_heads: number of heads; ``dim`` must be divisible by it.
        axis: ``"spatial"`` attends over joints within a frame, ``"temporal"`` over frames within a joint.
    """

    def __init__(self, dim: int, num_heads: int, axis: Axis) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim={dim} must be divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.axis = axis
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, query_frames: slice | None = None) -> Tensor:
        """Attend along ``self.axis``.

        Args:
            x: tokens ``(N, T, J, C)``.
            query_frames: for temporal attention, compute outputs only for these frames (keys and
                values still span all frames). Used by the last layer, whose other outputs are unused.

        Returns:
            ``(N, T', J, C)`` where ``T'`` is the number of query frames.
        """
        n, t, j, c = x.shape
        h, d = self.num_heads, c // self.num_heads
        if self.axis == "spatial":
            # One fused matmul; q, k, v are strided views that attention reads in place.
            q, k, v = self.qkv(x).view(n * t, j, 3, h, d).unbind(2)
            return self.proj(_attend(q, k, v).reshape(n, t, j, c))
        # Temporal: q, k, v as three contiguous (N, T, J, C) tensors (three matmuls on slices of the
        # fused weight), so that J and H merge into one "head" dim without a copy.
        w, bias = self.qkv.weight.view(3, c, c), self.qkv.bias.view(3, c)
        q = F.linear(x if query_frames is None else x[:, query_frames], w[0], bias[0])
        k, v = F.linear(x, w[1], bias[1]), F.linear(x, w[2], bias[2])
        tq = q.shape[1]
        out = _attend(q.reshape(n, tq, j * h, d), k.reshape(n, t, j * h, d), v.reshape(n, t, j * h, d))
        out = out.reshape(n, tq, j, c)
        return self.proj(out)


def _attend(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """Scaled dot-product attention over dim 1 of ``(B, L, H, D)`` tensors; returns ``(B, Lq, H, D)``."""
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
    return out.transpose(1, 2)


class MLP(nn.Module):
    """Two-layer perceptron with GELU, applied per token.

    Args:
        dim: input and output width.
        hidden: hidden width.
    """

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        """Map ``(..., dim)`` to ``(..., dim)``."""
        return self.fc2(F.gelu(self.fc1(x)))


class TransformerLayer(nn.Module):
    """Pre-LN attention + MLP along one axis, with residuals.

    Args:
        dim: channel width.
        num_heads: attention heads.
        mlp_ratio: hidden width of the MLP as a multiple of ``dim``.
        axis: attention axis.
        eps: LayerNorm epsilon (the reference code uses 1e-6).
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, axis: Axis, eps: float = 1e-6) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = AxisAttention(dim, num_heads, axis)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = MLP(dim, int(dim * mlp_ratio))

    def forward(self, x: Tensor, query_frames: slice | None = None) -> Tensor:
        """Map ``(N, T, J, C)`` to ``(N, T', J, C)`` (``T'`` frames selected by ``query_frames``)."""
        if query_frames is None:
            x = x + self.attn(self.norm1(x))
        elif self.attn.axis == "temporal":
            x = x[:, query_frames] + self.attn(self.norm1(x), query_frames)
        else:  # spatial attention stays within a frame: drop the unused frames first
            x = x[:, query_frames]
            x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class DualStreamBlock(nn.Module):
    """One depth level of the dual-stream transformer (paper Eq. 6).

    Two branches run on the same input: spatial→temporal (ST) and temporal→spatial (TS). Their
    outputs are fused per token with weights ``softmax(W [x_st, x_ts] + b)``, initialised to 50/50.

    Args:
        dim: channel width.
        num_heads: attention heads.
        mlp_ratio: MLP hidden width over ``dim``.
        eps: LayerNorm epsilon.
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 2.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.st = nn.ModuleList(
            [TransformerLayer(dim, num_heads, mlp_ratio, "spatial", eps), TransformerLayer(dim, num_heads, mlp_ratio, "temporal", eps)]
        )
        self.ts = nn.ModuleList(
            [TransformerLayer(dim, num_heads, mlp_ratio, "temporal", eps), TransformerLayer(dim, num_heads, mlp_ratio, "spatial", eps)]
        )
        self.fuse = nn.Linear(2 * dim, 2)

    def forward(self, x: Tensor, query_frames: slice | None = None) -> Tensor:
        """Map ``(N, T, J, C)`` to ``(N, T', J, C)``; see :meth:`TransformerLayer.forward`."""
        # Only the last sub-layer of each branch may drop frames: everything before it feeds
        # attention over all frames.
        x_st = self.st[1](self.st[0](x), query_frames)
        x_ts = self.ts[1](self.ts[0](x, query_frames), None)
        c = x.shape[-1]
        # softmax over two logits == sigmoid of their difference; splitting W avoids a concat copy.
        w = self.fuse.weight[0] - self.fuse.weight[1]
        logit = F.linear(x_st, w[:c].unsqueeze(0)) + F.linear(x_ts, w[c:].unsqueeze(0)) + (self.fuse.bias[0] - self.fuse.bias[1])
        alpha = torch.sigmoid(logit)
        return torch.lerp(x_ts, x_st.to(x_ts.dtype), alpha.to(x_ts.dtype))  # dtypes differ under autocast
