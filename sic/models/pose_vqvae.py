"""The pose tokenizer: a convolutional VQ-VAE over single poses (UniPose, after TokenHMR).

A pose ``(J, C)`` (3D joints, ``C = 3``; or 6D joint rotations, ``C = 6``) is read as a 1D signal
along the joint axis, resized to ``L0`` and up/down-sampled, so a pose becomes
``N_tok = L0 * 2**up / 2**down`` tokens, with ``L0 = floor(2 J / 10) * 10`` unless given
(UniPose: ``J = 22`` → 80 tokens; H3.6M-17 → 60, or 80 with ``base_length=40``). Tokens are not
joints. Design credited to UniPose (``liyiheng23/UniPose@14de673``, ``posegpt/models/pose_vqvae.py``);
this is our own implementation.

Sequences ``(B, T, J, C)`` are folded to ``B * T`` poses; every method accepts any leading shape.

Example:
    >>> import torch
    >>> from sic.models import PoseVQVAE
    >>> vq = PoseVQVAE(num_joints=17, hidden=32, code_dim=16, codebook_size=64)
    >>> vq.num_tokens, vq.decoder_lengths
    (60, (49, 38, 27, 17))
    >>> out = vq(torch.randn(2, 5, 17, 3))
    >>> out.poses.shape, out.ids.shape
    (torch.Size([2, 5, 17, 3]), torch.Size([2, 5, 60]))
    >>> vq.decode(vq.encode(torch.randn(4, 17, 3))).shape
    torch.Size([4, 17, 3])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sic.models.quantizers import EMAQuantizer, Quantized, VectorQuantizer

__all__ = ["ConvPoseDecoder", "ConvPoseEncoder", "PoseVQVAE", "TokenizerOutput", "token_count"]


def token_count(num_joints: int, up: int = 2, down: int = 1, base_length: int | None = None) -> int:
    """``N_tok = L0 * 2**up / 2**down`` with ``L0 = floor(2 J / 10) * 10`` unless ``base_length`` is given.

    The factor 2 inside the floor is a constant of the reference, not ``up``.

    Example:
        >>> token_count(22), token_count(17), token_count(17, base_length=40)
        (80, 60, 80)
    """
    length = (2 * num_joints // 10) * 10 if base_length is None else base_length
    if length < 1 or length * 2**up % 2**down:
        raise ValueError(f"cannot tokenise {num_joints} joints: base length {length} with up={up}, down={down}")
    return length * 2**up // 2**down


class ResStack(nn.Sequential):
    """Dilated residual blocks (ReLU, conv k3 dilation d, ReLU, conv k1, + input); dilations ``growth**i`` reversed."""

    def __init__(self, channels: int, depth: int = 2, growth: int = 3) -> None:
        super().__init__(*(_ResBlock(channels, growth**i) for i in reversed(range(depth))))


class _ResBlock(nn.Module):
    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReLU(), nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation), nn.ReLU(), nn.Conv1d(channels, channels, 1)
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class _Resize(nn.Module):
    """Nearest-neighbour resize of the length axis of ``(B, C, L)`` to a fixed length."""

    def __init__(self, length: int) -> None:
        super().__init__()
        self.length = length

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(x, size=self.length, mode="nearest")

    def extra_repr(self) -> str:
        return f"length={self.length}"


def _conv(cin: int, cout: int) -> nn.Conv1d:
    return nn.Conv1d(cin, cout, 3, padding=1)


class ConvPoseEncoder(nn.Module):
    """Poses ``(M, J, C)`` → token features ``(M, out_dim, N_tok)``.

    Args:
        num_joints: ``J``.
        in_channels: ``C`` (3 for joint positions, 6 for 6D rotations).
        hidden: width of the convolutions (512).
        out_dim: channels of each token (the code dimension, 256).
        up: nearest ×2 upsampling stages (2).
        down: stride-2 downsampling stages, each followed by a residual stack (1).
        base_length: ``L0``; default ``floor(2 J / 10) * 10``.
    """

    def __init__(
        self, num_joints: int, in_channels: int = 3, hidden: int = 512, out_dim: int = 256, up: int = 2, down: int = 1,
        base_length: int | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.num_tokens = token_count(num_joints, up, down, base_length)
        length = self.num_tokens * 2**down // 2**up
        layers: list[nn.Module] = [_conv(in_channels, hidden), nn.ReLU(), _Resize(length), _conv(hidden, hidden), nn.ReLU()]
        for _ in range(up):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), _conv(hidden, hidden), nn.ReLU()]
        for _ in range(down):
            layers += [nn.Conv1d(hidden, hidden, 4, stride=2, padding=1), ResStack(hidden)]
        layers.append(_conv(hidden, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, poses: Tensor) -> Tensor:
        """``(M, J, C)`` → ``(M, out_dim, N_tok)``."""
        return self.net(poses.transpose(1, 2))


class ConvPoseDecoder(nn.Module):
    """Token features ``(M, code_dim, N_tok)`` → poses ``(M, J, C)``, shrinking the length in four resize stages."""

    def __init__(self, num_joints: int, num_tokens: int, out_channels: int = 3, hidden: int = 512, code_dim: int = 256) -> None:
        super().__init__()
        self.lengths = tuple(int(v) for v in np.linspace(num_joints, num_tokens, 4, endpoint=False)[::-1])
        layers: list[nn.Module] = [_conv(code_dim, hidden), nn.ReLU()]
        for length in self.lengths:
            layers += [_Resize(length), _conv(hidden, hidden), nn.ReLU()]
        layers += [ResStack(hidden), _conv(hidden, hidden), nn.ReLU(), _conv(hidden, out_channels)]
        self.net = nn.Sequential(*layers)

    def forward(self, tokens: Tensor) -> Tensor:
        """``(M, code_dim, N_tok)`` → ``(M, J, C)``."""
        return self.net(tokens).transpose(1, 2)


@dataclass
class TokenizerOutput:
    """Output of :meth:`PoseVQVAE.forward` (leading shape of the input kept).

    Attributes:
        poses: reconstruction, same shape as the input.
        ids: token ids ``(..., N_tok)``.
        quantizer: the quantizer's loss and codebook statistics.
    """

    poses: Tensor
    ids: Tensor
    quantizer: Quantized


class PoseVQVAE(nn.Module):
    """Pose tokenizer: encoder, vector quantizer, decoder.

    Args:
        num_joints: ``J``.
        in_channels: ``C`` of the pose representation (3: joints; 6: 6D rotations).
        hidden: convolution width (512).
        code_dim: code dimension (256).
        codebook_size: number of codes (2048).
        up: upsampling stages of the encoder (2).
        down: downsampling stages of the encoder (1).
        base_length: explicit ``L0`` (e.g. 40 to give a 17-joint skeleton UniPose's 80 tokens).
        quantizer: ``"ema"`` (EMA codebook with dead-code reset, commitment loss only; the reference)
            or ``"vq"`` (learned codebook with codebook + commitment losses).
        beta: commitment weight (1.0 for EMA as in the reference; 0.25 is usual for ``"vq"``).
        decay: EMA decay (0.99).
    """

    def __init__(
        self,
        num_joints: int = 17,
        in_channels: int = 3,
        hidden: int = 512,
        code_dim: int = 256,
        codebook_size: int = 2048,
        up: int = 2,
        down: int = 1,
        base_length: int | None = None,
        quantizer: Literal["ema", "vq"] = "ema",
        beta: float = 1.0,
        decay: float = 0.99,
    ) -> None:
        super().__init__()
        self.num_joints, self.in_channels = num_joints, in_channels
        self.encoder = ConvPoseEncoder(num_joints, in_channels, hidden, code_dim, up, down, base_length)
        self.num_tokens = self.encoder.num_tokens
        self.decoder = ConvPoseDecoder(num_joints, self.num_tokens, in_channels, hidden, code_dim)
        if quantizer == "ema":
            self.quantizer: EMAQuantizer | VectorQuantizer = EMAQuantizer(codebook_size, code_dim, decay, beta)
        elif quantizer == "vq":
            self.quantizer = VectorQuantizer(codebook_size, code_dim, beta)
        else:
            raise ValueError(f"quantizer must be 'ema' or 'vq', got {quantizer!r}")

    @property
    def decoder_lengths(self) -> tuple[int, ...]:
        """Lengths of the decoder's four resize stages (``N_tok`` down to ``J``)."""
        return self.decoder.lengths

    @property
    def codebook_size(self) -> int:
        """Number of codes ``K``."""
        return self.quantizer.codebook_size

    def _fold(self, poses: Tensor) -> Tensor:
        if poses.shape[-2:] != (self.num_joints, self.in_channels):
            raise ValueError(f"poses must end in ({self.num_joints}, {self.in_channels}), got shape {tuple(poses.shape)}")
        return poses.reshape(-1, self.num_joints, self.in_channels)

    def _flat(self, features: Tensor) -> Tensor:  # (M, D, N) -> (M * N, D)
        return features.transpose(1, 2).reshape(-1, features.shape[1])

    def forward(self, poses: Tensor) -> TokenizerOutput:
        """Encode, quantize (updating an EMA codebook in training mode) and decode ``(..., J, C)`` poses."""
        lead = poses.shape[:-2]
        z = self.encoder(self._fold(poses))
        q = self.quantizer(self._flat(z))
        tokens = q.codes.reshape(z.shape[0], self.num_tokens, -1).transpose(1, 2)
        recon = self.decoder(tokens).reshape(*lead, self.num_joints, self.in_channels)
        return TokenizerOutput(recon, q.ids.reshape(*lead, self.num_tokens), q)

    @torch.no_grad()
    def encode(self, poses: Tensor) -> Tensor:
        """Token ids ``(..., N_tok)`` of ``(..., J, C)`` poses."""
        lead = poses.shape[:-2]
        ids = self.quantizer.quantize(self._flat(self.encoder(self._fold(poses))).float())
        return ids.reshape(*lead, self.num_tokens)

    def decode(self, ids: Tensor) -> Tensor:
        """Poses ``(..., J, C)`` from token ids ``(..., N_tok)``."""
        if ids.shape[-1] != self.num_tokens:
            raise ValueError(f"ids must end in {self.num_tokens} tokens, got shape {tuple(ids.shape)}")
        lead = ids.shape[:-1]
        codes = self.quantizer.lookup(ids.reshape(-1, self.num_tokens)).transpose(1, 2)
        return self.decoder(codes).reshape(*lead, self.num_joints, self.in_channels)
