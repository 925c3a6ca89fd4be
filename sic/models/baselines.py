"""Baselines that share the in-context interface of :class:`~sic.models.SkeletonInContext`.

* :class:`CopyPrompt`: the prompt's target is the prediction (Table 1's Copy).
* :class:`LinearInterpolation`: the query's hidden joints filled in by interpolating over time (the natural
  baseline of motion in-between and joint completion).
* :class:`MaskedFrameInContext`: the MIM-style in-context models of Table 1 (Point-In-Context, PointMAE), with
  frames as tokens.
* The prompt-free, TGP-only, TUP-only and multi-head baselines are :class:`~sic.models.SkeletonInContext`
  with ``tgp``, ``tup`` and ``task_heads`` set (see ``configs/experiments/sic-baselines/``).

Example:
    >>> import torch
    >>> from sic.models import CopyPrompt
    >>> p = torch.randn(2, 16, 17, 3)
    >>> bool((CopyPrompt()(p, p + 1, p) == p + 1).all())
    True
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

__all__ = ["CopyPrompt", "LinearInterpolation", "MaskedFrameInContext"]


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


class LinearInterpolation(nn.Module):
    """Fill the query's hidden joints by linear interpolation over time; ignore the prompt.

    A joint is hidden in a frame when all its coordinates are exactly zero, which is how the bank hides joints
    (joint completion) and frames (motion in-between). Each hidden joint is interpolated between the nearest
    frames where it is visible, held constant before the first and after the last, and left at zero when it is
    never visible (the root, which is the origin of root-relative poses). Visible joints are returned as given,
    so on the tasks without hidden joints the prediction is the query input itself. Nothing to train.
    """

    def __init__(self) -> None:
        super().__init__()

    def forward(self, prompt_input: Tensor, prompt_target: Tensor, query_input: Tensor, task: Tensor | None = None) -> Tensor:
        """``(B, F, J, C)`` query input with hidden joints interpolated."""
        del prompt_input, prompt_target, task  # unused
        x = query_input
        f = x.shape[1]
        visible = (x != 0).any(-1)  # (B, F, J)
        t = torch.arange(f, device=x.device).view(1, f, 1).expand_as(visible)
        prev = torch.where(visible, t, -1).cummax(1).values  # last visible frame at or before t, -1 if none
        nxt = torch.where(visible, t, f).flip(1).cummin(1).values.flip(1)  # first visible at or after t, F if none
        has_prev, has_next = prev >= 0, nxt < f
        lo, hi = prev.clamp(min=0), nxt.clamp(max=f - 1)
        x_lo = x.gather(1, lo[..., None].expand_as(x))
        x_hi = x.gather(1, hi[..., None].expand_as(x))
        span = (hi - lo).clamp(min=1).to(x.dtype)
        w = torch.where(has_prev & has_next, (t - lo).to(x.dtype) / span, (~has_prev).to(x.dtype))  # 1: take x_hi
        out = x_lo + w[..., None] * (x_hi - x_lo)
        return torch.where((has_prev | has_next)[..., None], out, torch.zeros_like(x))


class MaskedFrameInContext(nn.Module):
    """MIM-style in-context baseline: masked frame modelling over ``[P_in ; P_tgt ; Q_in ; Q_tgt]``.

    Each frame (``J * C`` coordinates) is one token, as the paper does for its Point-In-Context and PointMAE
    baselines. Training (:meth:`reconstruct`) hides a random ``mask_ratio`` of the ``4F`` frames of the whole
    sequence and reconstructs them; inference (:meth:`forward`) hides exactly the query target's ``F`` frames.
    The paper's Fig. 2 shows what this learns on skeletons: frame interpolation, which shrinks the skeleton when
    the frames after a hidden one are hidden too (``test/<task>/pose_scale`` measures it).

    Args:
        num_joints: joints ``J``.
        num_frames: frames ``F`` of each of the four segments.
        dim: token width.
        depth: transformer layers of the encoder.
        num_heads: attention heads.
        mlp_ratio: MLP width over ``dim``.
        in_channels: coordinates per joint.
        decoder_depth: ``0``: one transformer over all tokens, hidden ones replaced (Point-In-Context);
            ``> 0``: the encoder sees only the visible frames and a decoder of this depth fills in the hidden
            ones (PointMAE, as transformed by Point-In-Context).
        mask_ratio: fraction of the ``4F`` frames hidden at training.
        mask_token: a hidden frame enters as ``"zero"`` coordinates (the paper's account of the failure: the
            frame after the current one is 0) or as a ``"learned"`` token (MAE).
        dropout: dropout of the transformer layers.
    """

    masked_modeling = True

    def __init__(
        self,
        num_joints: int = 17,
        num_frames: int = 16,
        dim: int = 256,
        depth: int = 5,
        num_heads: int = 8,
        mlp_ratio: float = 2.0,
        in_channels: int = 3,
        decoder_depth: int = 0,
        mask_ratio: float = 0.5,
        mask_token: Literal["zero", "learned"] = "zero",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0.0 < mask_ratio < 1.0:
            raise ValueError(f"mask_ratio must be in (0, 1), got {mask_ratio}")
        if mask_token not in ("zero", "learned"):
            raise ValueError(f"mask_token must be 'zero' or 'learned', got {mask_token!r}")
        if decoder_depth < 0 or depth < 1:
            raise ValueError(f"depth must be >= 1 and decoder_depth >= 0, got {depth} and {decoder_depth}")
        self.num_joints, self.num_frames, self.in_channels = num_joints, num_frames, in_channels
        self.mask_ratio, self.mask_token_kind = mask_ratio, mask_token
        width = num_joints * in_channels
        self.embed = nn.Linear(width, dim)
        self.pos_embed = nn.Parameter(torch.randn(4 * num_frames, dim) * 0.02)
        self.mask_token = nn.Parameter(torch.zeros(dim)) if mask_token == "learned" or decoder_depth else None

        def stack(n: int) -> nn.TransformerEncoder:
            layer = nn.TransformerEncoderLayer(dim, num_heads, int(dim * mlp_ratio), dropout, activation="gelu",
                                               batch_first=True, norm_first=True)  # fmt: skip
            return nn.TransformerEncoder(layer, n, enable_nested_tensor=False)

        self.encoder = stack(depth)
        self.decoder = stack(decoder_depth) if decoder_depth else None
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, width)

    def _sequence(self, *segments: Tensor) -> Tensor:
        expected = (self.num_frames, self.num_joints, self.in_channels)
        b = max(x.shape[0] for x in segments)
        for name, x in zip(("prompt_input", "prompt_target", "query_input", "query_target"), segments, strict=True):
            if x.dim() != 4 or tuple(x.shape[1:]) != expected or x.shape[0] not in (1, b):
                raise ValueError(f"{name} must have shape (B, {', '.join(map(str, expected))}), got {tuple(x.shape)}")
        return torch.cat([x.expand(b, *expected) for x in segments], dim=1)

    def _predict(self, frames: Tensor, hidden: Tensor) -> Tensor:
        """``(B, 4F, J, C)`` frames and ``(B, 4F)`` hidden mask (same count per row) → all frames predicted."""
        b, n = hidden.shape
        x = self.embed(frames.masked_fill(hidden[..., None, None], 0.0).flatten(2))
        if self.decoder is None:
            if self.mask_token is not None:
                x = torch.where(hidden[..., None], self.mask_token.to(x.dtype), x)
            x = self.encoder(x + self.pos_embed)
        else:  # PointMAE: encode the visible frames only, then decode every position
            order = hidden.float().argsort(dim=1, stable=True)  # visible first, in time order
            visible = order[:, : n - int(hidden[0].sum())]
            enc = self.encoder(x.gather(1, visible[..., None].expand(-1, -1, x.shape[-1])) + self.pos_embed[visible])
            full = self.mask_token.to(enc.dtype).expand(b, n, -1).clone()
            full = full.scatter(1, visible[..., None].expand_as(enc), enc)
            x = self.decoder(full + self.pos_embed)
        return self.head(self.norm(x)).unflatten(-1, (self.num_joints, self.in_channels))

    def reconstruct(
        self, prompt_input: Tensor, prompt_target: Tensor, query_input: Tensor, query_target: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Training: hide a random ``mask_ratio`` of the frames of each sequence and predict them.

        Returns:
            ``(prediction, frames, hidden)``: ``(B, 4F, J, C)`` predictions, the ``(B, 4F, J, C)`` sequence they
            reconstruct, and the ``(B, 4F)`` bool mask of the hidden frames (the loss is taken there).
        """
        frames = self._sequence(prompt_input, prompt_target, query_input, query_target)
        b, n = frames.shape[:2]
        k = max(1, round(self.mask_ratio * n))
        rank = torch.rand(b, n, device=frames.device).argsort(1).argsort(1)
        hidden = rank < k
        return self._predict(frames, hidden), frames, hidden

    def forward(
        self, prompt_input: Tensor, prompt_target: Tensor, query_input: Tensor, task: Tensor | None = None
    ) -> Tensor:
        """Inference: the query target's frames are hidden; their prediction ``(B, F, J, C)``."""
        del task  # unused: the prompt says the task
        placeholder = query_input.new_zeros(1, *query_input.shape[1:])
        frames = self._sequence(prompt_input, prompt_target, query_input, placeholder)
        f = self.num_frames
        hidden = torch.zeros(frames.shape[:2], dtype=torch.bool, device=frames.device)
        hidden[:, 3 * f :] = True
        return self._predict(frames, hidden)[:, 3 * f :]
