"""Pose-adaptive prompting (paper §3.4–3.5, Eqs. 11–16): text prompts modulated by pooled pose context.

Data flow, for pose features ``X`` ``(B, T, J, C)`` (the lifter's embedded tokens):

1. context: spectral spatial pooling and Gaussian temporal pooling (:mod:`sic.models.pose_context`), softmax
   head gating, ``z = [v_s; v_t]`` (Eqs. 3–12);
2. slot descriptors ``z_k = MLP_k(z)`` (Eq. 13) and prompt adaptations ``Δp_k = f_k(z_k)`` ``(L_c, D)`` (Eq. 14b);
3. one prompt per semantic slot ``k`` (person, speed, action, body, arm, leg): the frozen word embeddings of
   the slot text ``p̃_k`` (start token and words, Eq. 15), then the learnable context ``r_k + Δp_k`` (Eq. 14a),
   then the end token; each slot is its **own** sequence, pooled by the encoder's rule at its own end (the
   public code pooled a 77-token composite at an index taken from another tokenisation, defect D3);
4. the frozen text encoder runs on ``inputs_embeds`` **with** gradients: it is frozen by its parameters and kept
   in eval mode, never run under ``no_grad`` (the public code's ``no_grad`` left the context untrained, D1);
5. an optional trainable slot transformer (batch-first over the ``K`` slots of each sample, D5), then a
   projection to the lifter width: slot tokens ``(B, K, C)`` for pose–prompt cross-attention and their mean
   ``P'`` ``(B, C)`` (scaled by a learnable per-channel LayerScale, initially 0.1), the broadcast addition of Eq. 16.

``mode="static"`` drops ``Δp`` (CoOp-style context shared by all samples; the prompts are then encoded once
per step); ``spatial=False`` / ``temporal=False`` drop one pooling branch (ablations). The action slot is
text plus pose-conditioned context: no ground-truth label is read, in training or at test (D2).

Example:
    >>> import torch
    >>> from sic.text import TinyTextEncoder
    >>> prompt = PoseAdaptivePrompt(TinyTextEncoder(hidden_size=16), dim=32, context_dim=8)
    >>> slots, pooled = prompt(torch.randn(2, 9, 17, 32))
    >>> slots.shape, pooled.shape, prompt.slot_names
    (torch.Size([2, 6, 32]), torch.Size([2, 32]), ('person', 'speed', 'action', 'body', 'arm', 'leg'))
"""

# ruff: noqa: RUF002

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sic.data.skeleton import get_layout
from sic.models.pose_context import (
    ContextGating,
    GaussianTemporalPooling,
    SpectralSpatialPooling,
    combinatorial_laplacian,
)
from sic.text.base import TextEncoder
from sic.utils.errors import ConfigError

__all__ = ["DEFAULT_SLOTS", "PoseAdaptivePrompt", "SlotMLP"]

DEFAULT_SLOTS: dict[str, str] = {
    "person": "a person",
    "speed": "speed",
    "action": "action",
    "body": "body",
    "arm": "arm",
    "leg": "leg",
}


class SlotMLP(nn.Module):
    """``K`` independent two-layer MLPs applied to one shared input: ``(B, D_in)`` → ``(B, K, D_out)``.

    One batched matrix product per layer instead of ``K`` modules (the slots are small).
    """

    def __init__(self, num_slots: int, in_dim: int, hidden: int, out_dim: int, out_std: float | None = None) -> None:
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(num_slots, in_dim, hidden) / in_dim**0.5)
        self.b1 = nn.Parameter(torch.zeros(num_slots, hidden))
        std = out_std if out_std is not None else hidden**-0.5
        self.w2 = nn.Parameter(torch.randn(num_slots, hidden, out_dim) * std)
        self.b2 = nn.Parameter(torch.zeros(num_slots, out_dim))

    def forward(self, x: Tensor) -> Tensor:
        """``(B, D_in)`` or ``(B, K, D_in)`` (one input per slot) → ``(B, K, D_out)``."""
        eq = "bi,kih->bkh" if x.ndim == 2 else "bki,kih->bkh"
        h = F.gelu(torch.einsum(eq, x, self.w1.to(x.dtype)) + self.b1.to(x.dtype))
        return torch.einsum("bkh,kho->bko", h, self.w2.to(x.dtype)) + self.b2.to(x.dtype)


class PoseAdaptivePrompt(nn.Module):
    """Slot prompts through a frozen text encoder, adapted to each sample's pose context.

    Args:
        text_encoder: a :class:`~sic.text.TextEncoder` (frozen by default; e.g. ``HFTextEncoder()`` for the
            offline MiniLM, a CLIP or BERT path, or ``TinyTextEncoder`` in tests).
        dim: width ``C`` of the pose features read and of the slot tokens produced.
        layout: joint layout whose graph the spatial pooling filters on.
        slots: slot name → slot text (default :data:`DEFAULT_SLOTS`); a list uses the names as texts.
        context_length: learnable context tokens per slot ``L - t``.
        mode: ``"adaptive"`` (``r_k + Δp_k``) or ``"static"`` (``r_k`` only, CoOp-style).
        spatial: use spectral Laplacian spatial pooling in ``z``.
        temporal: use Gaussian temporal pooling in ``z``.
        num_spatial_heads: ``H_s``.
        num_temporal_heads: ``H_t``.
        temporal_kernel: odd Gaussian kernel length in frames.
        context_dim: ``D_c``, width of each pooled context.
        slot_dim: width of the slot descriptors ``z_k``.
        text_layers: layers of the trainable slot transformer after the frozen encoder (0: none).
        pool: ``Pool_{t,n}`` of both poolings (``"max"`` or ``"mean"``; see :mod:`sic.models.pose_context`).
    """

    def __init__(
        self,
        text_encoder: TextEncoder,
        dim: int,
        layout: str = "h36m17",
        slots: dict[str, str] | list[str] | None = None,
        context_length: int = 4,
        mode: Literal["adaptive", "static"] = "adaptive",
        spatial: bool = True,
        temporal: bool = True,
        num_spatial_heads: int = 4,
        num_temporal_heads: int = 3,
        temporal_kernel: int = 9,
        context_dim: int = 64,
        slot_dim: int = 64,
        text_layers: int = 0,
        pool: Literal["max", "mean"] = "max",
    ) -> None:
        super().__init__()
        if mode not in ("adaptive", "static"):
            raise ConfigError(f"PoseAdaptivePrompt mode must be 'adaptive' or 'static', got {mode!r}")
        if mode == "adaptive" and not (spatial or temporal):
            raise ConfigError(
                "PoseAdaptivePrompt mode='adaptive' needs spatial or temporal pooling (or use mode='static')"
            )
        if context_length < 1:
            raise ConfigError(f"PoseAdaptivePrompt context_length must be >= 1, got {context_length}")
        slots = DEFAULT_SLOTS if slots is None else slots
        slots = {s: s for s in slots} if isinstance(slots, list) else dict(slots)
        if not slots:
            raise ConfigError("PoseAdaptivePrompt needs at least one slot")
        self.text_encoder, self.dim, self.mode = text_encoder, dim, mode
        self.slot_names, self.slot_texts = tuple(slots), tuple(slots.values())
        self.context_length = context_length
        width = text_encoder.hidden_size
        k = len(slots)
        self.context = nn.Parameter(torch.randn(k, context_length, width) * 0.02)  # r_k, CoOp's N(0, 0.02)
        self._register_slot_tokens()
        if mode == "adaptive":
            self.spatial = self.temporal = None
            parts = []
            if spatial:
                lap = combinatorial_laplacian(get_layout(layout).adjacency)
                self.spatial = SpectralSpatialPooling(lap, dim, num_spatial_heads, context_dim, pool=pool)
                parts.append(num_spatial_heads)
            if temporal:
                self.temporal = GaussianTemporalPooling(
                    dim, num_temporal_heads, temporal_kernel, context_dim=context_dim, pool=pool
                )
                parts.append(num_temporal_heads)
            self.gating = ContextGating(num_spatial_heads if spatial else 0, num_temporal_heads if temporal else 0)
            z_dim = context_dim * len(parts)
            self.slot_mlp = SlotMLP(k, z_dim, slot_dim, slot_dim)  # MLP_k, Eq. 13
            # f_k (Eq. 14b) starts small so Δp_k begins as a perturbation of the CoOp context, not a replacement.
            self.adapt = SlotMLP(k, slot_dim, slot_dim, context_length * width, out_std=0.02 / slot_dim**0.5)
        self.text_head = None
        if text_layers > 0:
            heads = next(h for h in (8, 6, 4, 2, 1) if width % h == 0)
            layer = nn.TransformerEncoderLayer(
                width, heads, 4 * width, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
            )
            self.text_head = nn.TransformerEncoder(layer, text_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.proj = nn.Linear(width, dim)
        # LayerScale on P' (Eq. 16): a vector shared by all tokens starts at a tenth of its size, so that it does not
        # swamp the pose tokens at initialisation (without it the lifting quickstart stalled for ~400 steps).
        self.pooled_scale = nn.Parameter(torch.full((dim,), 0.1))

    def _register_slot_tokens(self) -> None:
        """Token ids of every slot text, right-padded: the frozen part ``p̃_k`` and each slot's end token."""
        tokens = self.text_encoder.tokenize(list(self.slot_texts))
        ids, mask = tokens.input_ids.cpu(), tokens.attention_mask.cpu().bool()
        lengths = mask.sum(1)
        if (lengths < 2).any():
            raise ConfigError(
                f"every slot text must tokenize to a start and an end token, got lengths {lengths.tolist()}"
            )
        # p̃_k = all tokens but the last (start + words); the end token goes after the context.
        self.register_buffer("head_ids", ids[:, :-1].clone(), persistent=False)
        self.register_buffer("end_ids", ids[torch.arange(len(ids)), lengths - 1].clone(), persistent=False)
        self.register_buffer(
            "head_mask", torch.arange(ids.shape[1] - 1)[None, :] < (lengths - 1)[:, None], persistent=False
        )

    @property
    def num_slots(self) -> int:
        """Number of semantic slots ``K``."""
        return len(self.slot_names)

    def pose_context(self, x: Tensor) -> Tensor:
        """Joint context ``z = [v_s; v_t]`` ``(B, D_z)`` of pose features ``(B, T, J, C)`` (Eqs. 3–12)."""
        if self.mode != "adaptive":
            raise RuntimeError("pose_context needs mode='adaptive'")
        v_s = None if self.spatial is None else self.spatial(x)
        v_t = None if self.temporal is None else self.temporal(x)
        return self.gating(v_s, v_t)

    def prompt_embeddings(self, x: Tensor | None) -> tuple[Tensor, Tensor]:
        """The prompts fed to the encoder: embeddings ``(N, K, L, D)`` and mask ``(N, K, L)``.

        ``N`` is the batch for adaptive prompts (``x`` pose features ``(B, T, J, C)``) and 1 for static ones.
        """
        width = self.text_encoder.hidden_size
        context = self.context.unsqueeze(0)  # (1, K, L_c, D)
        if self.mode == "adaptive":
            if x is None:
                raise ValueError("adaptive prompts need the pose features x")
            z_k = self.slot_mlp(self.pose_context(x))  # (B, K, slot_dim)
            delta = self.adapt(z_k).view(x.shape[0], self.num_slots, self.context_length, width)
            context = context + delta.to(context.dtype)
        n = context.shape[0]
        words = self.text_encoder.embed_tokens(self.head_ids).to(context.dtype)  # (K, L_h, D), frozen
        end = self.text_encoder.embed_tokens(self.end_ids).to(context.dtype)  # (K, D)
        # Left-align each slot: [p̃_k (valid part), context, end, padding]. Gathering by position keeps it one op.
        k, lc = self.num_slots, self.context_length
        seq = torch.cat([words.expand(n, -1, -1, -1), context.expand(n, -1, -1, -1),
                         end[None, :, None].expand(n, -1, -1, -1)], dim=2)  # fmt: skip
        valid = torch.cat([self.head_mask, torch.ones(k, lc + 1, dtype=torch.bool, device=seq.device)], dim=1)
        order = torch.sort((~valid).to(torch.int8), dim=1, stable=True).indices  # valid positions first, in order
        seq = torch.gather(seq, 2, order[None, :, :, None].expand(n, -1, -1, width))
        mask = torch.gather(valid, 1, order)
        return seq, mask.expand(n, -1, -1)

    def encode_prompts(self, x: Tensor | None) -> Tensor:
        """Pooled frozen-encoder embedding of every slot prompt: ``(B, K, D)`` (adaptive) or ``(1, K, D)`` (static)."""
        seq, mask = self.prompt_embeddings(x if self.mode == "adaptive" else None)
        n, k, length, width = seq.shape
        flat_mask = mask.reshape(n * k, length).long()
        hidden = self.text_encoder(inputs_embeds=seq.reshape(n * k, length, width), attention_mask=flat_mask)
        # Without ids, "eos" pooling takes the last kept position: each slot's own end token.
        return self.text_encoder.pool(hidden, flat_mask).view(n, k, width)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Slot tokens ``(B, K, C)`` and pooled prompt ``P'`` ``(B, C)`` for pose features ``(B, T, J, C)``."""
        if x.ndim != 4 or x.shape[-1] != self.dim:
            raise ValueError(f"PoseAdaptivePrompt expects pose features (B, T, J, {self.dim}), got {tuple(x.shape)}")
        pooled = self.encode_prompts(x)
        if self.text_head is not None:
            pooled = self.text_head(pooled)
        slots = self.proj(self.norm(pooled)).expand(x.shape[0], -1, -1)
        return slots, slots.mean(1) * self.pooled_scale.to(slots.dtype)
