# ruff: noqa: RUF002
"""Shift-GCN (joint stream) in pure PyTorch: spatial shift graph convolution plus adaptive temporal shift.

A device-agnostic re-implementation of the 10-unit Shift-GCN of Cheng et al. (CVPR 2020, public code
``kchengiva/Shift-GCN``) that keeps the original state-dict names, so the released checkpoints and the
seen-class checkpoints of the zero-shot methods (Neuron, STAR, SkeletonContext) load with
:func:`load_shift_gcn_weights`.

Data flow for an input ``(B, T, M, V, C)``:

* ``data_bn``: BatchNorm1d over the flattened ``M·V·C`` axis (person-major, then joint, then coordinate, as in the
  public code); persons are then folded into the batch, giving ``(B·M, C, T, V)``;
* units ``l1 … lN``, each ``ReLU(tcn1(gcn1(x)) + residual(x))``:

  - ``gcn1`` (:class:`ShiftGraphConv`): *shift-in* (channel ``c`` of joint ``v`` reads joint ``(v + c) mod V``),
    a learnable mask ``tanh(Feature_Mask) + 1``, a point-wise linear map ``Linear_weight``/``Linear_bias``,
    *shift-out* (the inverse permutation), BatchNorm1d over ``V·C_out``, its own residual (1×1 conv + BN when
    the width changes), ReLU;
  - ``tcn1`` (:class:`ShiftTemporalConv`): BN, adaptive shift, 1×1 conv, ReLU, adaptive shift with the unit's
    temporal stride, BN;
  - ``residual``: none for ``l1``, identity when width and stride are unchanged, else 1×1 conv (stride) + BN;

* global average over ``(T', V)`` and then over persons gives ``features (B, C_last)``; ``fc`` gives the logits.
  The last unit's map averaged over persons is the ``cube (B, C_last, T', V)`` that SkeletonContext consumes
  (``(B, 256, 16, 25)`` for 64-frame clips).

The adaptive temporal shift (:class:`AdaptiveShift`, :func:`adaptive_shift`) replaces the ``shift_cuda``
extension. Each channel ``c`` has real offsets ``ypos[c]`` along ``T`` and ``xpos[c]`` along ``V``; output
``(t', v)`` is the bilinear sample of the input at ``(s·t' + ypos[c] (+ 0.5 when s ≠ 1), v + xpos[c])`` with zero
padding, and the output has ``T // s`` frames. This is the forward formula of the public CUDA kernel. It is
written as two ``gather`` + ``lerp`` passes (one per axis, bilinear sampling being separable), so autograd gives
the exact gradients with respect to the input and both offsets.

Deviations from the public code (none changes the forward of a loaded checkpoint on even-length clips):

* **Offset gradients.** The CUDA backward replaces the offset gradients by a constrained step: ``xpos`` gets 0 and
  ``ypos`` gets ``0.01·sign(g)`` (``1e-4`` where ``g = 0``). The default ``offset_grad="autograd"`` uses the exact
  gradient instead; ``offset_grad="constrained"`` reproduces the published training rule.
* **Odd clip lengths.** A stride-2 residual conv gives ``⌈T/2⌉`` frames but the shift gives ``⌊T/2⌋``; the residual
  is cropped to the shift's length instead of failing.
* The shift permutations are (persistent) buffers, not frozen ``Parameter`` objects as published; the state-dict
  keys (``l1.gcn1.shift_in`` …) are the same.
* Any number of joints, persons, units and widths; optional dropout before ``fc``; no CUDA-only tensors.

Example:
    >>> import torch
    >>> from sic.models.shift_gcn import ShiftGCN
    >>> net = ShiftGCN(num_classes=5, num_joints=17, num_persons=1, channels=(8, 16), strides=(1, 2)).eval()
    >>> out = net(torch.randn(2, 12, 1, 17, 3))
    >>> out.logits.shape, out.features.shape, out.cube.shape
    (torch.Size([2, 5]), torch.Size([2, 16]), torch.Size([2, 16, 6, 17]))
    >>> sorted(net.state_dict())[:3]
    ['data_bn.bias', 'data_bn.num_batches_tracked', 'data_bn.running_mean']
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Literal

import torch
from torch import Tensor, nn
from torch.autograd.function import FunctionCtx

from sic.utils.errors import CheckpointError, ConfigError

__all__ = [
    "AdaptiveShift",
    "ShiftGCN",
    "ShiftGCNLoadResult",
    "ShiftGCNOutput",
    "ShiftGCNUnit",
    "ShiftGraphConv",
    "ShiftTemporalConv",
    "adaptive_shift",
    "load_shift_gcn_weights",
    "spatial_shift_index",
]

OffsetGrad = Literal["autograd", "constrained"]

# Prefixes under which Shift-GCN weights appear in other checkpoints: DataParallel, Neuron/STAR/SkeletonContext
# (``feature_extractor.``), sic's ZeroShotTask (``net.backbone.``) and RecognitionTask (``net.``).
_PREFIXES = ("module.", "feature_extractor.", "net.backbone.", "backbone.", "net.")


# ----------------------------------------------------------------------------------------------- temporal shift


def _shift_axis(x: Tensor, offset: Tensor, stride: int) -> Tensor:
    """Linear interpolation of ``x`` along dim 2 at ``stride·i + offset[c]`` per channel, zeros outside.

    Args:
        x: ``(N, C, L, R)`` input; the shift acts on ``L``.
        offset: ``(C,)`` real offsets (differentiable).
        stride: output step along ``L``; the output has ``L // stride`` positions.

    Returns:
        ``(N, C, L // stride, R)``.
    """
    n, c, length, rest = x.shape
    out_len = length // stride
    base = offset.detach().floor()
    frac = (offset - base).to(x.dtype).view(1, c, 1, 1)  # d frac / d offset = 1
    # one zero frame on each side: every out-of-range index is clamped onto one of them (zero padding)
    padded = nn.functional.pad(x, (0, 0, 1, 1))
    lo = torch.arange(out_len, device=x.device).view(1, out_len) * stride + base.long().view(c, 1)  # (C, L')
    samples = []
    for idx in (lo, lo + 1):
        index = (idx.clamp(-1, length) + 1).view(1, c, out_len, 1).expand(n, c, out_len, rest)
        samples.append(padded.gather(2, index))
    return torch.lerp(samples[0], samples[1], frac)


class _ConstrainOffsetGrad(torch.autograd.Function):
    """Identity on ``(xpos, ypos)`` whose backward applies the published Shift-GCN offset-gradient rule."""

    @staticmethod
    def forward(ctx: FunctionCtx, xpos: Tensor, ypos: Tensor) -> tuple[Tensor, Tensor]:
        """Pass the offsets through unchanged."""
        del ctx  # unused
        return xpos.view_as(xpos), ypos.view_as(ypos)

    @staticmethod
    def backward(ctx: FunctionCtx, grad_x: Tensor, grad_y: Tensor) -> tuple[Tensor, Tensor]:
        """``xpos`` gets 0, ``ypos`` gets ``0.01·sign(g)`` (``1e-4`` where ``g = 0``), as ``shift_cuda`` does."""
        del ctx  # unused
        step = torch.where(grad_y != 0, grad_y.sign() * 0.01, torch.full_like(grad_y, 1e-4))
        return torch.zeros_like(grad_x), step


def adaptive_shift(
    x: Tensor, xpos: Tensor, ypos: Tensor, stride: int = 1, offset_grad: OffsetGrad = "autograd"
) -> Tensor:
    """Shift every channel by its own real offsets along ``T`` and ``V`` (bilinear, zero padding), with a stride.

    Output ``(n, c, t', v)`` is ``x`` sampled at ``(stride·t' + ypos[c] + (0.5 if stride != 1 else 0), v + xpos[c])``,
    the forward of the public ``shift_cuda`` kernel.

    Args:
        x: ``(N, C, T, V)`` features.
        xpos: ``(C,)`` offsets along ``V``.
        ypos: ``(C,)`` offsets along ``T``.
        stride: temporal stride; the output has ``T // stride`` frames.
        offset_grad: ``"autograd"`` (exact gradients) or ``"constrained"`` (the published training rule).

    Returns:
        ``(N, C, T // stride, V)``.

    Example:
        >>> x = torch.arange(5.0).view(1, 1, 5, 1)
        >>> adaptive_shift(x, torch.zeros(1), torch.tensor([1.0])).flatten().tolist()
        [1.0, 2.0, 3.0, 4.0, 0.0]
        >>> adaptive_shift(x, torch.zeros(1), torch.tensor([0.25])).flatten().tolist()
        [0.25, 1.25, 2.25, 3.25, 3.0]
    """
    if offset_grad == "constrained":
        xpos, ypos = _ConstrainOffsetGrad.apply(xpos, ypos)
    if stride != 1:
        ypos = ypos + 0.5
    out = _shift_axis(x, ypos, stride)
    return _shift_axis(out.transpose(2, 3), xpos, 1).transpose(2, 3)


class AdaptiveShift(nn.Module):
    """Learnable per-channel temporal shift (the ``Shift`` module of the public code, without CUDA).

    Args:
        channels: number of channels ``C``.
        stride: temporal stride of the output.
        init_scale: ``ypos`` starts uniform in ``[-init_scale, init_scale]`` (``xpos`` starts within ``±1e-8``).
        offset_grad: ``"autograd"`` or ``"constrained"``, see :func:`adaptive_shift`.
    """

    def __init__(
        self, channels: int, stride: int = 1, init_scale: float = 1.0, offset_grad: OffsetGrad = "autograd"
    ) -> None:
        super().__init__()
        self.stride = stride
        self.offset_grad: OffsetGrad = offset_grad
        self.xpos = nn.Parameter(torch.empty(channels).uniform_(-1e-8, 1e-8))
        self.ypos = nn.Parameter(torch.empty(channels).uniform_(-init_scale, init_scale))

    def forward(self, x: Tensor) -> Tensor:
        """Shift ``x (N, C, T, V)`` to ``(N, C, T // stride, V)``."""
        return adaptive_shift(x, self.xpos, self.ypos, self.stride, self.offset_grad)

    def extra_repr(self) -> str:
        """Channels, stride and gradient mode."""
        return f"{self.xpos.numel()}, stride={self.stride}, offset_grad={self.offset_grad!r}"


# ------------------------------------------------------------------------------------------------ spatial shift


def spatial_shift_index(num_joints: int, channels: int, inverse: bool = False) -> Tensor:
    """Flat gather index of the non-local spatial shift over a ``(V, C)`` row.

    Entry ``v·C + c`` is ``((v + c) mod V)·C + c`` (``(v − c) mod V`` when ``inverse``): after
    ``row.index_select(-1, index)``, channel ``c`` of joint ``v`` holds channel ``c`` of joint ``(v ± c) mod V``.

    Args:
        num_joints: ``V``.
        channels: ``C``.
        inverse: the shift-out permutation (the inverse of the shift-in one).

    Returns:
        ``(V·C,)`` int64 index.

    Example:
        >>> spatial_shift_index(3, 2).view(3, 2).tolist()
        [[0, 3], [2, 5], [4, 1]]
    """
    v = torch.arange(num_joints).view(-1, 1)
    c = torch.arange(channels).view(1, -1)
    src = (v - c if inverse else v + c) % num_joints
    return (src * channels + c).flatten()


def _init_conv(conv: nn.Conv2d) -> None:
    nn.init.kaiming_normal_(conv.weight, mode="fan_out")
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


class ShiftGraphConv(nn.Module):
    """Spatial shift graph convolution (``gcn1``): shift-in, mask, point-wise linear, shift-out, BN, residual, ReLU.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        num_joints: ``V``.
    """

    def __init__(self, in_channels: int, out_channels: int, num_joints: int = 25) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.num_joints = in_channels, out_channels, num_joints
        self.down: nn.Module
        if in_channels != out_channels:
            self.down = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
            _init_conv(self.down[0])
        else:
            self.down = nn.Identity()
        self.Linear_weight = nn.Parameter(
            torch.empty(in_channels, out_channels).normal_(0, math.sqrt(1 / out_channels))
        )
        self.Linear_bias = nn.Parameter(torch.zeros(1, 1, out_channels))
        self.Feature_Mask = nn.Parameter(torch.zeros(1, num_joints, in_channels))  # mask tanh(0) + 1 = 1
        self.bn = nn.BatchNorm1d(num_joints * out_channels)
        self.relu = nn.ReLU()
        self.register_buffer("shift_in", spatial_shift_index(num_joints, in_channels))
        self.register_buffer("shift_out", spatial_shift_index(num_joints, out_channels, inverse=True))

    def forward(self, x0: Tensor) -> Tensor:
        """Map ``(N, C_in, T, V)`` to ``(N, C_out, T, V)``."""
        n, c, t, v = x0.shape
        x = x0.permute(0, 2, 3, 1).reshape(n * t, v * c).index_select(1, self.shift_in).view(n * t, v, c)
        x = x * (torch.tanh(self.Feature_Mask) + 1)
        x = torch.matmul(x, self.Linear_weight) + self.Linear_bias  # (N·T, V, C_out)
        x = self.bn(x.reshape(n * t, v * self.out_channels).index_select(1, self.shift_out))
        x = x.view(n, t, v, self.out_channels).permute(0, 3, 1, 2)
        return self.relu(x + self.down(x0))


class ShiftTemporalConv(nn.Module):
    """Temporal shift convolution (``tcn1``): BN, adaptive shift, 1×1 conv, ReLU, strided adaptive shift, BN.

    Args:
        channels: ``C`` (in and out).
        stride: temporal stride.
        offset_grad: ``"autograd"`` or ``"constrained"``, see :func:`adaptive_shift`.
    """

    def __init__(self, channels: int, stride: int = 1, offset_grad: OffsetGrad = "autograd") -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()
        self.shift_in = AdaptiveShift(channels, stride=1, init_scale=1.0, offset_grad=offset_grad)
        self.shift_out = AdaptiveShift(channels, stride=stride, init_scale=1.0, offset_grad=offset_grad)
        self.temporal_linear = nn.Conv2d(channels, channels, 1)
        nn.init.kaiming_normal_(self.temporal_linear.weight, mode="fan_out")

    def forward(self, x: Tensor) -> Tensor:
        """Map ``(N, C, T, V)`` to ``(N, C, T // stride, V)``."""
        x = self.relu(self.temporal_linear(self.shift_in(self.bn(x))))
        return self.bn2(self.shift_out(x))


class _ConvResidual(nn.Module):
    """1×1 conv with a temporal stride, then BN (the ``tcn`` residual of the public code: ``conv``, ``bn``)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=(stride, 1))
        self.bn = nn.BatchNorm2d(out_channels)
        _init_conv(self.conv)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.conv(x))


class ShiftGCNUnit(nn.Module):
    """One ``TCN_GCN_unit``: ``ReLU(tcn1(gcn1(x)) + residual(x))``.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        num_joints: ``V``.
        stride: temporal stride.
        residual: add a residual (the first unit has none).
        offset_grad: ``"autograd"`` or ``"constrained"``, see :func:`adaptive_shift`.
    """

    def __init__(self, in_channels: int, out_channels: int, num_joints: int = 25, stride: int = 1,
                 residual: bool = True, offset_grad: OffsetGrad = "autograd") -> None:  # fmt: skip
        super().__init__()
        self.gcn1 = ShiftGraphConv(in_channels, out_channels, num_joints)
        self.tcn1 = ShiftTemporalConv(out_channels, stride=stride, offset_grad=offset_grad)
        self.relu = nn.ReLU()
        self.residual: nn.Module | None
        if not residual:
            self.residual = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = _ConvResidual(in_channels, out_channels, stride)

    def forward(self, x: Tensor) -> Tensor:
        """Map ``(N, C_in, T, V)`` to ``(N, C_out, T // stride, V)``."""
        y = self.tcn1(self.gcn1(x))
        if self.residual is not None:
            y = y + self.residual(x)[:, :, : y.shape[2]]  # a strided conv keeps ⌈T/s⌉ frames, the shift ⌊T/s⌋
        return self.relu(y)


# ----------------------------------------------------------------------------------------------------- network


@dataclass
class ShiftGCNOutput:
    """What :class:`ShiftGCN` returns.

    Attributes:
        logits: ``(B, num_classes)`` classifier scores.
        features: ``(B, C_last)`` features pooled over time, joints and persons (the ``fc`` input).
        cube: ``(B, C_last, T', V)`` last-unit features averaged over persons (``T' = T / ∏ strides``).
    """

    logits: Tensor
    features: Tensor
    cube: Tensor


class ShiftGCN(nn.Module):
    """Shift-GCN joint stream: data BN, ``len(channels)`` shift GCN/TCN units, global pooling, ``fc``.

    The defaults build the published network (0.68 M parameters without ``fc``). State-dict names follow the public
    code: ``data_bn.*``, ``l1.gcn1.Linear_weight``, ``l1.gcn1.Feature_Mask``, ``l1.gcn1.shift_in``,
    ``l1.tcn1.shift_in.ypos``, ``l1.tcn1.temporal_linear.weight``, ``l5.residual.conv.weight``, ``fc.*``, …

    Args:
        num_classes: classifier outputs.
        num_joints: joints per person ``V``.
        num_persons: persons per clip ``M`` (``data_bn`` normalises ``M·V·C`` features).
        in_channels: coordinates per joint ``C``.
        channels: output width of each unit ``l1, l2, …``.
        strides: temporal stride of each unit (same length as ``channels``).
        dropout: dropout on the pooled features before ``fc``.
        layout: input layout: ``"btmvc"`` (``(B, T, M, V, C)``, the framework's) or ``"nctvm"`` (``(N, C, T, V, M)``,
            the public code's).
        offset_grad: gradient of the temporal-shift offsets: ``"autograd"`` (exact) or ``"constrained"`` (the
            published ``0.01·sign`` rule), see :func:`adaptive_shift`.
    """

    def __init__(
        self,
        num_classes: int,
        num_joints: int = 25,
        num_persons: int = 2,
        in_channels: int = 3,
        channels: Sequence[int] = (64, 64, 64, 64, 128, 128, 128, 256, 256, 256),
        strides: Sequence[int] = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1),
        dropout: float = 0.0,
        layout: Literal["btmvc", "nctvm"] = "btmvc",
        offset_grad: OffsetGrad = "autograd",
    ) -> None:
        super().__init__()
        channels, strides = tuple(int(c) for c in channels), tuple(int(s) for s in strides)
        for name, value in (("num_classes", num_classes), ("num_joints", num_joints), ("num_persons", num_persons),
                            ("in_channels", in_channels)):  # fmt: skip
            if value < 1:
                raise ConfigError(f"ShiftGCN {name} must be >= 1, got {value}")
        if not channels or len(channels) != len(strides):
            raise ConfigError(f"ShiftGCN channels and strides must be non-empty and of equal length, got "
                              f"{len(channels)} channels and {len(strides)} strides")  # fmt: skip
        if min(channels) < 1 or min(strides) < 1:
            raise ConfigError(f"ShiftGCN channels and strides must be >= 1, got {channels} and {strides}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"ShiftGCN dropout must be in [0, 1), got {dropout}")
        if layout not in ("btmvc", "nctvm"):
            raise ConfigError(f"ShiftGCN layout must be 'btmvc' or 'nctvm', got {layout!r}")
        if offset_grad not in ("autograd", "constrained"):
            raise ConfigError(f"ShiftGCN offset_grad must be 'autograd' or 'constrained', got {offset_grad!r}")
        self.num_joints, self.num_persons, self.in_channels = num_joints, num_persons, in_channels
        self.channels, self.strides, self.layout = channels, strides, layout
        self.data_bn = nn.BatchNorm1d(num_persons * num_joints * in_channels)
        widths = (in_channels, *channels)
        for i, stride in enumerate(strides):
            unit = ShiftGCNUnit(widths[i], widths[i + 1], num_joints, stride, residual=i > 0, offset_grad=offset_grad)
            self.add_module(f"l{i + 1}", unit)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = self._new_fc(num_classes)

    @property
    def feature_dim(self) -> int:
        """Width ``C_last`` of ``features`` and ``cube``."""
        return self.channels[-1]

    @property
    def num_classes(self) -> int:
        """Outputs of the current classifier."""
        return self.fc.out_features

    @property
    def units(self) -> list[ShiftGCNUnit]:
        """The units ``l1, l2, …`` in order."""
        return [getattr(self, f"l{i + 1}") for i in range(len(self.channels))]

    def _new_fc(self, num_classes: int) -> nn.Linear:
        fc = nn.Linear(self.feature_dim, num_classes)
        nn.init.normal_(fc.weight, 0.0, math.sqrt(2.0 / num_classes))
        return fc

    def reset_classifier(self, num_classes: int) -> None:
        """Replace ``fc`` by a freshly initialised ``C_last → num_classes`` layer (same device and dtype)."""
        if num_classes < 1:
            raise ConfigError(f"ShiftGCN num_classes must be >= 1, got {num_classes}")
        old = self.fc.weight
        self.fc = self._new_fc(num_classes).to(device=old.device, dtype=old.dtype)

    def forward(self, x: Tensor) -> ShiftGCNOutput:
        """Classify a batch of multi-person skeleton clips.

        Args:
            x: ``(B, T, M, V, C)`` (``layout="btmvc"``) or ``(B, C, T, V, M)`` (``layout="nctvm"``) coordinates.

        Returns:
            :class:`ShiftGCNOutput` with ``logits (B, num_classes)``, ``features (B, C_last)`` and
            ``cube (B, C_last, T', V)``.
        """
        if x.ndim != 5:
            raise ConfigError(f"ShiftGCN expects a 5-d {self.layout} input, got shape {tuple(x.shape)}")
        if self.layout == "nctvm":
            x = x.permute(0, 2, 4, 3, 1)
        b, t, m, v, c = x.shape
        if (m, v, c) != (self.num_persons, self.num_joints, self.in_channels):
            built = (self.num_persons, self.num_joints, self.in_channels)
            raise ConfigError(
                f"ShiftGCN was built for (M, V, C) = {built} but the input ({self.layout}) has {(m, v, c)}"
            )
        if t < math.prod(self.strides):
            raise ConfigError(f"ShiftGCN needs at least {math.prod(self.strides)} frames (the product of the "
                              f"strides), got T={t}")  # fmt: skip
        x = self.data_bn(x.permute(0, 2, 3, 4, 1).reshape(b, m * v * c, t))
        x = x.view(b, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(b * m, c, t, v)
        for unit in self.units:
            x = unit(x)
        cube = x.view(b, m, *x.shape[1:]).mean(1)  # (B, C, T', V)
        features = cube.mean((2, 3))  # the same as pooling (T', V) then persons
        return ShiftGCNOutput(logits=self.fc(self.drop(features)), features=features, cube=cube)


# --------------------------------------------------------------------------------------------------- checkpoints


@dataclass
class ShiftGCNLoadResult:
    """What :func:`load_shift_gcn_weights` did.

    Attributes:
        prefix: the prefix stripped from the checkpoint keys (``""`` for none).
        loaded: model keys that were set from the checkpoint.
        missing: model keys the checkpoint lacks (always empty with ``strict=True``; ``fc.*`` are not
            counted with ``skip_classifier``).
        unexpected: checkpoint keys (after stripping) the model does not have.
        mismatched: keys present in both with different shapes (skipped with ``strict=False``).
    """

    prefix: str
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)


def _unwrap_state_dict(obj: object, where: str) -> dict[str, Tensor]:
    for _ in range(2):  # {"state_dict": ...}, {"model": ...}, or a raw state dict
        if isinstance(obj, Mapping):
            inner = next((obj[k] for k in ("state_dict", "model") if isinstance(obj.get(k), Mapping)), None)
            if inner is not None:
                obj = inner
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{where} holds a {type(obj).__name__}, expected a state dict (or a dict with "
                              f"'state_dict' or 'model')")  # fmt: skip
    return {str(k): v for k, v in obj.items() if isinstance(v, Tensor)}


def _best_prefix(keys: Sequence[str], targets: set[str]) -> tuple[str, int]:
    """The candidate prefix under which most ``keys`` become ``targets`` (longest on ties), and that count."""
    candidates = {""} | {"".join(p) for n in (1, 2, 3) for p in product(_PREFIXES, repeat=n)}
    best, best_count = "", -1
    for prefix in sorted(candidates, key=len, reverse=True):
        count = sum(k.startswith(prefix) and k[len(prefix) :] in targets for k in keys)
        if count > best_count:
            best, best_count = prefix, count
    return best, best_count


def _first(keys: Sequence[str], n: int = 3) -> str:
    more = f" (+{len(keys) - n} more)" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def load_shift_gcn_weights(
    model: ShiftGCN, path: str | os.PathLike, skip_classifier: bool = False, strict: bool = True
) -> ShiftGCNLoadResult:
    """Initialise a :class:`ShiftGCN` from a public Shift-GCN file, a zero-shot method's or a ``sic`` checkpoint.

    The file is read with ``torch.load(weights_only=True, map_location="cpu")``. It may hold a raw state dict,
    ``{"state_dict": ...}`` (Lightning) or ``{"model": ...}``. Keys may carry one or more of the prefixes
    ``module.``, ``feature_extractor.``, ``net.backbone.``, ``backbone.``, ``net.``: the prefix under which most
    keys match the model (the longest on ties) is stripped, and keys outside it (other sub-modules of a larger
    model) are ignored. Old checkpoints without ``num_batches_tracked`` load.

    Args:
        model: the network to fill (in place).
        path: checkpoint file.
        skip_classifier: ignore ``fc.*`` in the checkpoint and keep the model's own ``fc`` (e.g. a 55-way head
            into a 60-way model).
        strict: raise on any missing, unexpected or mismatched key; otherwise load what fits.

    Returns:
        :class:`ShiftGCNLoadResult`.

    Raises:
        CheckpointError: the file is missing or unreadable, no key matches the model, or (``strict``) keys are
            missing, unexpected or of another shape; the message names the file and the first offending keys.
    """
    where = f"Shift-GCN checkpoint {str(path)!r}"
    if not os.path.isfile(path):
        raise CheckpointError(f"{where} does not exist")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated or foreign files raise many different types
        reason = str(e).strip().splitlines()[0][:160] if str(e).strip() else ""
        raise CheckpointError(
            f"{where} is corrupt or not a PyTorch checkpoint ({type(e).__name__}: {reason})"
        ) from None
    state = _unwrap_state_dict(obj, where)
    expected = model.state_dict()
    prefix, count = _best_prefix(list(state), set(expected))
    if count == 0:
        raise CheckpointError(f"{where} has no Shift-GCN weights: no key matches the model under the prefixes "
                              f"{', '.join(_PREFIXES)} (first keys: {_first(list(state)) or 'none'})")  # fmt: skip
    state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    if skip_classifier:
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    optional = {k for k in expected if k.endswith("num_batches_tracked")}
    if skip_classifier:
        optional |= {k for k in expected if k.startswith("fc.")}
    result = ShiftGCNLoadResult(prefix=prefix)
    result.missing = [k for k in expected if k not in state and k not in optional]
    result.unexpected = [k for k in state if k not in expected]
    result.mismatched = [k for k in state if k in expected and state[k].shape != expected[k].shape]
    # the spatial shift permutations are fixed by (V, C); another one would be another architecture
    result.mismatched += [k for k in state if k.endswith(("gcn1.shift_in", "gcn1.shift_out")) and k in expected
                          and k not in result.mismatched and not torch.equal(state[k].long(), expected[k])]  # fmt: skip
    if strict and (result.missing or result.unexpected or result.mismatched):
        parts = []
        if result.mismatched:
            shapes = [f"{k} {tuple(state[k].shape)} vs {tuple(expected[k].shape)}" for k in result.mismatched]
            hint = (
                " (pass skip_classifier=True for another class count)" if result.mismatched[0].startswith("fc.") else ""
            )
            parts.append(f"mismatched (checkpoint vs model): {_first(shapes)}{hint}")
        if result.missing:
            parts.append(f"missing: {_first(result.missing)}")
        if result.unexpected:
            parts.append(f"unexpected: {_first(result.unexpected)}")
        shown = f" after stripping {prefix!r}" if prefix else ""
        raise CheckpointError(f"{where} does not fit the model{shown}: {'; '.join(parts)}")
    bad = set(result.unexpected) | set(result.mismatched)
    loadable = {k: v for k, v in state.items() if k not in bad}
    model.load_state_dict(loadable, strict=False)
    result.loaded = list(loadable)
    return result
