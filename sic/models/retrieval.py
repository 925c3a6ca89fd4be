"""Pose–text and pose-pair–text retrieval networks (UniPose's retrieval models, our implementation).

Both sides map into one ``dim``-dimensional space (512) with L2-normalised outputs:

* :class:`PoseRetrievalEncoder`: the tokenizer's convolutional encoder (``up = down = 1``) gives
  ``(M, dim, N)`` token features; a Conv1d whose input channels are the ``N`` tokens slides along
  the feature axis and collapses the token axis (UniPose's "1D Conv for dimensionality
  reduction"). With ``num_poses=2`` it encodes pose pairs ``(A, B)``: the shared trunk encodes
  both, their channels are concatenated and fused by three Conv1d layers before the collapse.
* :class:`GRUTextEncoder`: the frozen word-embedding table of a :class:`sic.text.TextEncoder`,
  a projection, one bidirectional GRU with a learnable initial state over the packed tokens, and
  a head on the concatenated final states (the T2M "BiGRU-Co" design UniPose uses).

Credited to UniPose ``liyiheng23/UniPose@14de673`` (``posegpt/models/retrieval.py``).

Example:
    >>> import torch
    >>> from sic.models import PoseRetrievalEncoder
    >>> enc = PoseRetrievalEncoder(num_joints=17, hidden=32, dim=16)
    >>> enc(torch.randn(3, 1, 17, 3)).shape
    torch.Size([3, 16])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from sic.models.pose_vqvae import ConvPoseEncoder

__all__ = ["GRUTextEncoder", "PoseRetrievalEncoder", "PoseTextRetrieval"]


class PoseRetrievalEncoder(nn.Module):
    """Poses ``(B, P, J, C)`` (``P = num_poses``: 1 for single poses, 2 for ``(A, B)`` pairs) → ``(B, dim)``.

    Args:
        num_joints: ``J``.
        in_channels: ``C``.
        hidden: convolution width of the trunk (512).
        dim: embedding dimension (512).
        num_poses: 1 (pose–text) or 2 (pose-pair–text).
        base_length: ``L0`` of the trunk (default from ``J``).
    """

    def __init__(
        self, num_joints: int = 17, in_channels: int = 3, hidden: int = 512, dim: int = 512, num_poses: int = 1,
        base_length: int | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        if num_poses not in (1, 2):
            raise ValueError(f"num_poses must be 1 or 2, got {num_poses}")
        self.num_joints, self.in_channels, self.num_poses, self.dim = num_joints, in_channels, num_poses, dim
        self.trunk = ConvPoseEncoder(num_joints, in_channels, hidden, dim, up=1, down=1, base_length=base_length)
        tokens = self.trunk.num_tokens
        self.fuse = (
            nn.Sequential(
                nn.Conv1d(2 * dim, 2 * dim, 3, padding=1), nn.ReLU(), nn.Conv1d(2 * dim, dim, 3, padding=1), nn.ReLU(),
                nn.Conv1d(dim, dim, 3, padding=1),
            )
            if num_poses == 2 else nn.Identity()
        )  # fmt: skip
        self.collapse = nn.Conv1d(tokens, 1, 3, padding=1)  # channels = tokens: slides along the feature axis

    def forward(self, poses: Tensor) -> Tensor:
        """``(B, P, J, C)`` → L2-normalised ``(B, dim)``."""
        expected = (self.num_poses, self.num_joints, self.in_channels)
        if poses.ndim != 4 or poses.shape[1:] != expected:
            raise ValueError(f"poses must be (B, {', '.join(map(str, expected))}), got shape {tuple(poses.shape)}")
        b = poses.shape[0]
        features = self.trunk(poses.reshape(b * self.num_poses, self.num_joints, self.in_channels))  # (B*P, dim, N)
        features = self.fuse(features.reshape(b, -1, features.shape[-1]))  # pairs: channels of A then B
        return F.normalize(self.collapse(features.transpose(1, 2)).squeeze(1), dim=-1)


class GRUTextEncoder(nn.Module):
    """Texts → L2-normalised ``(B, dim)``: frozen word embeddings, projection, BiGRU, head.

    Args:
        backbone: a :class:`sic.text.TextEncoder`; only its tokenizer and frozen word-embedding
            table are used (the transformer layers are not run).
        hidden: GRU hidden size per direction (512).
        dim: embedding dimension (512).
        max_length: tokens kept per text (196, UniPose's limit).
    """

    def __init__(self, backbone: nn.Module, hidden: int = 512, dim: int = 512, max_length: int = 196) -> None:
        super().__init__()
        self.backbone = backbone
        self.max_length, self.dim = max_length, dim
        width = backbone.word_embeddings.embedding_dim
        self.project = nn.Sequential(nn.Linear(width, hidden), nn.LayerNorm(hidden), nn.Linear(hidden, hidden))
        self.gru = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
        self.h0 = nn.Parameter(torch.zeros(2, 1, hidden))
        self.head = nn.Sequential(nn.Linear(2 * hidden, dim), nn.LayerNorm(dim), nn.LeakyReLU(0.2), nn.Linear(dim, dim))

    def forward(self, texts: Sequence[str]) -> Tensor:
        """``B`` texts → ``(B, dim)``."""
        tokens = self.backbone.tokenize(list(texts), max_length=self.max_length)
        ids, mask = tokens.input_ids.to(self.h0.device), tokens.attention_mask.to(self.h0.device)
        with torch.no_grad():  # the table is frozen
            words = self.backbone.word_embeddings(ids)
        x = self.project(words.to(self.h0.dtype))
        lengths = mask.long().sum(1).clamp_min(1).cpu()  # includes the special tokens, like the reference
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, last = self.gru(packed, self.h0.expand(-1, x.shape[0], -1).contiguous())  # (2, B, hidden)
        return F.normalize(self.head(torch.cat([last[0], last[1]], dim=-1)), dim=-1)


class PoseTextRetrieval(nn.Module):
    """A pose (or pose-pair) encoder and a text encoder into one space.

    Args:
        pose_encoder: e.g. :class:`PoseRetrievalEncoder` (``num_poses=2`` for pair–text retrieval).
        text_encoder: e.g. :class:`GRUTextEncoder`.
    """

    def __init__(self, pose_encoder: nn.Module, text_encoder: nn.Module) -> None:
        super().__init__()
        if pose_encoder.dim != text_encoder.dim:
            raise ValueError(f"pose and text embedding sizes differ: {pose_encoder.dim} vs {text_encoder.dim}")
        self.pose_encoder, self.text_encoder = pose_encoder, text_encoder
        self.num_joints, self.num_poses, self.dim = pose_encoder.num_joints, pose_encoder.num_poses, pose_encoder.dim

    def encode_poses(self, poses: Tensor) -> Tensor:
        """``(B, P, J, C)`` → ``(B, dim)``."""
        return self.pose_encoder(poses)

    def encode_texts(self, texts: Sequence[str]) -> Tensor:
        """``B`` texts → ``(B, dim)``."""
        return self.text_encoder(texts)

    def forward(self, poses: Tensor, texts: Sequence[str]) -> tuple[Tensor, Tensor]:
        """Both embeddings: ``(B, dim)`` poses and ``(len(texts), dim)`` texts."""
        return self.encode_poses(poses), self.encode_texts(texts)
