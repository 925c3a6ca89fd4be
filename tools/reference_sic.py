"""A re-statement of the public reference SiC forward pass, for timing comparisons only.

It performs the same computation, in the same order and memory layouts, as the reference code
described in ``../shared/notes/sic-reference.md`` §2 (MotionBERT's DSTformer blocks with explicit
``q @ k^T`` attention and permutes, a concatenating fusion layer, tokens laid out as ``(B*T, J, C)``,
the head on all ``2F`` frames, zero TUP that replaces the masked tokens, output residual). It is
written from that description, not copied, and is not used by the framework itself:
``tools/bench_sic.py --impl reference`` times it next to :class:`sic.models.SkeletonInContext`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class _Attention(nn.Module):
    def __init__(self, dim: int, heads: int, mode: str) -> None:
        super().__init__()
        self.heads, self.mode, self.scale = heads, mode, (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, seqlen: int) -> Tensor:
        bt, n, c = x.shape
        qkv = self.qkv(x).reshape(bt, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # (BT, H, J, D)
        if self.mode == "temporal":
            q, k, v = (t.reshape(-1, seqlen, self.heads, n, c // self.heads).permute(0, 3, 2, 1, 4) for t in (q, k, v))
            attn = (q @ k.transpose(-2, -1)) * self.scale
            x = attn.softmax(dim=-1) @ v  # (B, J, H, T, D)
            x = x.permute(0, 3, 1, 2, 4).reshape(bt, n, c)
        else:
            attn = (q @ k.transpose(-2, -1)) * self.scale
            x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(bt, n, c)
        return self.proj(x)


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int, order: str) -> None:
        super().__init__()
        self.order = order
        self.n1, self.n2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
        self.n3, self.n4 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
        first, second = ("spatial", "temporal") if order == "st" else ("temporal", "spatial")
        self.a1, self.a2 = _Attention(dim, heads, first), _Attention(dim, heads, second)
        self.m1 = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.m2 = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: Tensor, seqlen: int) -> Tensor:
        x = x + self.a1(self.n1(x), seqlen)
        x = x + self.m1(self.n2(x))
        x = x + self.a2(self.n3(x), seqlen)
        return x + self.m2(self.n4(x))


class ReferenceSiC(nn.Module):
    """Reference-style SiC with dynamic zero TUP, fixed-mean merge at level 2 and output residual."""

    def __init__(self, num_joints: int = 17, num_frames: int = 16, dim: int = 256, depth: int = 5, num_heads: int = 8) -> None:
        super().__init__()
        self.f, self.merge = num_frames, 2
        self.joints_embed = nn.Linear(3, dim)
        self.pos_embed = nn.Parameter(torch.randn(1, num_joints, dim) * 0.02)
        self.temp_embed = nn.Parameter(torch.randn(1, 2 * num_frames, 1, dim) * 0.02)
        self.st = nn.ModuleList(_Block(dim, num_heads, "st") for _ in range(depth))
        self.ts = nn.ModuleList(_Block(dim, num_heads, "ts") for _ in range(depth))
        self.fuse = nn.ModuleList(nn.Linear(2 * dim, 2) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pre_logits = nn.Sequential(nn.Linear(dim, dim), nn.Tanh())
        self.head = nn.Linear(dim, 3)
        self.tup_st = nn.Parameter(torch.zeros(1, 2 * num_frames, num_joints, 1))
        self.tup_c = nn.Parameter(torch.zeros(1, dim))

    def _encode(self, x: Tensor) -> Tensor:
        b, t, j, c = x.shape
        x = self.joints_embed(x.reshape(-1, j, c)) + self.pos_embed
        return x.reshape(b, t, j, -1) + self.temp_embed[:, :t]

    def forward(self, prompt: Tensor, query: Tensor) -> Tensor:
        """``prompt``, ``query``: ``(B, 2F, J, 3)``; returns ``(B, F, J, 3)``."""
        b, t, j, _ = query.shape
        p, q = self._encode(prompt), self._encode(query)
        m = torch.zeros(b, t, 1, 1, device=q.device)
        m[:, self.f :] = 1
        tup = torch.einsum("btjk,kc->btjc", self.tup_st, self.tup_c)
        q = q * (1 - m) + tup * m
        x = torch.cat([p, q]).reshape(-1, j, p.shape[-1])
        for i, (st, ts, fuse) in enumerate(zip(self.st, self.ts, self.fuse)):
            if i == self.merge:
                x = x.reshape(2, -1, j, x.shape[-1]).mean(0)
            x_st, x_ts = st(x, t), ts(x, t)
            alpha = fuse(torch.cat([x_st, x_ts], dim=-1)).softmax(dim=-1)
            x = x_st * alpha[..., 0:1] + x_ts * alpha[..., 1:2]
        x = self.head(self.pre_logits(self.norm(x))).reshape(b, t, j, 3)
        return x[:, self.f :] + prompt[:, self.f :] - prompt[:, : self.f] + query[:, : self.f]
