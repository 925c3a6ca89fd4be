"""Pose-context pooling of "pose-adaptive prompting on GAtFuN" (§3.2–3.4, Eqs. 3–12).

Three plain modules turn pose features ``(B, T, J, C)`` into per-head context vectors ``(B, H, D_c)``:

* :class:`SpectralSpatialPooling`: Gaussian band-pass filters over the graph frequencies of the skeleton's
  combinatorial Laplacian (Eqs. 3–7), separating smooth whole-body structure (low frequencies) from local joint
  articulation (high frequencies);
* :class:`GaussianTemporalPooling`: depthwise Gaussian filters along time with learnable widths (Eqs. 8–10),
  separating short-term kinematics (small ``σ``) from long-range trends (large ``σ``);
* :class:`ContextGating`: softmax-weighted sums of the heads and the joint context ``z = [v_s; v_t]``
  (Eqs. 11–12).

The slot MLPs (Eq. 13) and the prompt adaptation (Eqs. 14–16) belong to the prompt path and are not here.

Choices the paper leaves open (see each class): eigenvalues are divided by ``λ_max`` so that they lie in
``[0, 1]``; temporal kernels are normalised to unit sum; ``Pool_{t,n}`` defaults to a max over frames and
joints, because a mean over joints keeps only the ``λ = 0`` component of a graph-filtered signal (and a mean
over frames only the kernel sum of a filtered sequence), so every head would see the same information.

Example:
    >>> import torch
    >>> from sic.data.skeleton import get_layout
    >>> from sic.models.pose_context import (
    ...     ContextGating, GaussianTemporalPooling, SpectralSpatialPooling, combinatorial_laplacian)
    >>> lap = combinatorial_laplacian(get_layout("h36m17").adjacency)
    >>> spatial = SpectralSpatialPooling(lap, dim=8, num_heads=3, context_dim=4)
    >>> temporal = GaussianTemporalPooling(dim=8, num_heads=2, kernel_size=5, context_dim=4)
    >>> x = torch.randn(2, 9, 17, 8)
    >>> v_s, v_t = spatial(x), temporal(x)
    >>> v_s.shape, v_t.shape
    (torch.Size([2, 3, 4]), torch.Size([2, 2, 4]))
    >>> ContextGating(3, 2)(v_s, v_t).shape
    torch.Size([2, 8])
    >>> spatial.eigenvalues.min().abs().item() < 1e-5, spatial.eigenvalues.max().item()
    (True, 1.0)
"""

# The docstrings write the paper's symbols (α, ρ, σ, …) as they appear in its equations.
# ruff: noqa: RUF002, RUF003

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["ContextGating", "GaussianTemporalPooling", "SpectralSpatialPooling", "combinatorial_laplacian"]

Pool = Literal["max", "mean"]

# Keeps σ away from 0, where the Gaussians of Eqs. 5 and 8 turn into a division by zero.
_SIGMA_FLOOR = 1e-3


def combinatorial_laplacian(adjacency: np.ndarray | Tensor) -> np.ndarray:
    """Combinatorial graph Laplacian ``L = D - A`` of a symmetric adjacency (float64).

    ``SkeletonLayout.laplacian`` is the *normalised* Laplacian ``I - D^-1/2 A D^-1/2``; the paper's Eq. 3 uses the
    combinatorial one, so build it from ``layout.adjacency`` with this function.

    Args:
        adjacency: ``(J, J)`` symmetric non-negative adjacency without self-loops.

    Returns:
        ``(J, J)`` float64 array ``diag(A 1) - A``.
    """
    a = np.asarray(adjacency.detach().cpu() if isinstance(adjacency, Tensor) else adjacency, dtype=np.float64)
    return np.diag(a.sum(1)) - a


def _check_input(x: Tensor, num_joints: int | None, dim: int, name: str) -> None:
    """Raise ``ValueError`` unless ``x`` is ``(B, T, J, C)`` with the configured ``J`` (if given) and ``C``."""
    joints = "J" if num_joints is None else str(num_joints)
    if x.ndim != 4 or (num_joints is not None and x.shape[2] != num_joints) or x.shape[3] != dim:
        raise ValueError(f"{name} expects input of shape (B, T, {joints}, {dim}) = (B, T, J, C), got {tuple(x.shape)}")


def _inverse_softplus(y: Tensor) -> Tensor:
    """``softplus^-1(y)`` for ``y > 0``, so that a raw parameter starts at a chosen positive value."""
    return y + torch.log(-torch.expm1(-y))


def _initial_values(value: float | Sequence[float] | None, default: Tensor, name: str) -> Tensor:
    """One value per head: ``default`` if ``value`` is None, a broadcast scalar, or a per-head sequence."""
    if value is None:
        return default
    out = torch.as_tensor(value, dtype=torch.get_default_dtype()).flatten()
    if out.numel() == 1:
        return out.expand(default.numel()).clone()
    if out.numel() != default.numel():
        raise ValueError(f"{name} needs 1 or {default.numel()} values (one per head), got {out.numel()}")
    return out


def _pool(x: Tensor, pool: Pool) -> Tensor:
    """``Pool_{t,n}`` of Eqs. 7 and 10: reduce ``(B, H, T, J, D)`` over frames and joints to ``(B, H, D)``."""
    if pool == "max":
        return x.amax(dim=(2, 3))
    return x.mean(dim=(2, 3))


class SpectralSpatialPooling(nn.Module):
    """Spectral Laplacian spatial context pooling (paper §3.2, Eqs. 3–7).

    At construction the combinatorial Laplacian is decomposed once, ``L = U Λ Uᵀ`` (Eq. 3), and ``U`` and the
    normalised graph frequencies ``λ / λ_max ∈ [0, 1]`` are kept as buffers. The paper does not say how ``Λ`` is
    scaled; dividing by ``λ_max`` makes ``μ_h`` and ``σ_h`` independent of the skeleton's size and degree. Head
    ``h`` has the frequency response ``w_h(λ) = exp(-(λ - μ_h)² / (2 σ_h²))`` (Eq. 5) with learnable centre
    ``μ_h`` and bandwidth ``σ_h = softplus(·) + 1e-3 > 0``; its output is the residual mix
    ``X⁽ʰ⁾ = X + α_h (U (w_h ⊙ Uᵀ X) - X)`` (Eqs. 4, 6) with a learnable scalar ``α_h`` (unconstrained, as in
    the paper). The context is ``v_s⁽ʰ⁾ = Pool_{t,n}(ρ(X⁽ʰ⁾))`` (Eq. 7), ``ρ`` one linear map ``C → D_c``
    shared by all heads.

    Eigenvector signs and the basis inside repeated eigenvalues are not unique, but ``U diag(w) Uᵀ`` depends only
    on the eigenvalues, so the filter is well defined.

    Args:
        laplacian: ``(J, J)`` symmetric combinatorial Laplacian ``D - A`` of a connected graph (rows sum to 0);
            build it with :func:`combinatorial_laplacian` from ``layout.adjacency``.
        dim: input channels ``C``.
        num_heads: number of spectral heads ``H_s``.
        context_dim: context width ``D_c`` (default ``dim``).
        mu_init: initial centres on the normalised frequency axis, one per head or one for all (default evenly
            spaced over ``[0, 1]``, so that heads start on different bands).
        sigma_init: initial bandwidths, one per head or one for all (default: the spacing of the default
            centres, ``1 / max(H_s - 1, 1)``, so that neighbouring bands overlap at ``exp(-1/2)``).
        alpha_init: initial residual gate ``α_h`` (default 1: each head starts as its pure band-pass filter; 0
            would start every head as the identity and block the gradient of ``μ`` and ``σ``).
        pool: ``Pool_{t,n}`` over frames and joints, ``"max"`` (default) or ``"mean"``. With ``"mean"`` the
            context only sees the ``λ = 0`` component of ``X⁽ʰ⁾`` (the joint mean is orthogonal to every other
            eigenvector), so all heads carry the same information up to a scale.

    Raises:
        ValueError: if ``laplacian`` is not a square symmetric matrix whose rows sum to 0 (for example the
            normalised ``SkeletonLayout.laplacian``), or if the graph has no non-zero frequency.
    """

    eigenvalues: Tensor
    eigenvectors: Tensor

    def __init__(
        self,
        laplacian: np.ndarray | Tensor,
        dim: int,
        num_heads: int,
        context_dim: int | None = None,
        mu_init: float | Sequence[float] | None = None,
        sigma_init: float | Sequence[float] | None = None,
        alpha_init: float = 1.0,
        pool: Pool = "max",
    ) -> None:
        super().__init__()
        lap = np.asarray(laplacian.detach().cpu() if isinstance(laplacian, Tensor) else laplacian, dtype=np.float64)
        if lap.ndim != 2 or lap.shape[0] != lap.shape[1]:
            raise ValueError(f"laplacian must be a square (J, J) matrix, got shape {lap.shape}")
        scale = max(1.0, float(np.abs(lap).max()))
        if not np.allclose(lap, lap.T, atol=1e-6 * scale):
            raise ValueError("laplacian must be symmetric")
        if not np.allclose(lap.sum(1), 0.0, atol=1e-5 * scale):
            raise ValueError(
                "laplacian must be the combinatorial Laplacian D - A (rows summing to 0); SkeletonLayout.laplacian "
                "is the normalised one, use combinatorial_laplacian(layout.adjacency)"
            )
        if num_heads < 1:
            raise ValueError(f"num_heads must be >= 1, got {num_heads}")
        evals, evecs = np.linalg.eigh(lap)  # Eq. 3, ascending eigenvalues
        lam_max = float(evals[-1])
        if lam_max <= 1e-8:
            raise ValueError("laplacian has no non-zero eigenvalue (graph without edges)")
        evals = np.clip(evals / lam_max, 0.0, None)  # clip round-off below 0
        dtype = torch.get_default_dtype()
        # Derived from the constructor argument, hence not part of the state dict.
        self.register_buffer("eigenvalues", torch.as_tensor(evals, dtype=dtype), persistent=False)
        self.register_buffer("eigenvectors", torch.as_tensor(evecs, dtype=dtype), persistent=False)

        self.num_joints = lap.shape[0]
        self.dim = dim
        self.num_heads = num_heads
        self.context_dim = dim if context_dim is None else context_dim
        self.pool = pool
        mu0 = _initial_values(mu_init, torch.linspace(0.0, 1.0, num_heads), "mu_init")
        sigma0 = _initial_values(sigma_init, torch.full((num_heads,), 1.0 / max(num_heads - 1, 1)), "sigma_init")
        if (sigma0 <= _SIGMA_FLOOR).any():
            raise ValueError(f"sigma_init must be > {_SIGMA_FLOOR}, got {sigma0.tolist()}")
        self.mu = nn.Parameter(mu0)
        self.sigma_raw = nn.Parameter(_inverse_softplus(sigma0 - _SIGMA_FLOOR))
        self.alpha = nn.Parameter(torch.full((num_heads,), float(alpha_init)))
        self.proj = nn.Linear(dim, self.context_dim)  # ρ of Eq. 7

    @property
    def sigma(self) -> Tensor:
        """Positive bandwidths ``σ_h``, ``(H_s,)``."""
        return F.softplus(self.sigma_raw) + _SIGMA_FLOOR

    def frequency_response(self) -> Tensor:
        """Gaussian masks ``w_h(λ_i)`` of Eq. 5 at the normalised graph frequencies, ``(H_s, J)``."""
        lam = self.eigenvalues[None, :]
        return torch.exp(-((lam - self.mu[:, None]) ** 2) / (2 * self.sigma[:, None] ** 2))

    def band_pass(self, x: Tensor) -> Tensor:
        """Per-head filtered joint signals ``U (w_h ⊙ Uᵀ X)`` (Eqs. 4–5, the inner term of Eq. 6).

        Args:
            x: pose features ``(B, T, J, C)``.

        Returns:
            ``(B, H_s, T, J, C)``.

        Raises:
            ValueError: if ``x`` is not ``(B, T, J, C)`` with this module's ``J`` and ``C``.
        """
        _check_input(x, self.num_joints, self.dim, type(self).__name__)
        return self._band_pass(x)

    def _band_pass(self, x: Tensor) -> Tensor:
        u = self.eigenvectors.to(x.dtype)
        spectral = torch.einsum("nk,btnc->btkc", u, x)  # Eq. 4: X~ = Uᵀ X
        masked = torch.einsum("hk,btkc->bhtkc", self.frequency_response().to(x.dtype), spectral)
        return torch.einsum("nk,bhtkc->bhtnc", u, masked)

    def head_features(self, x: Tensor) -> Tensor:
        """Per-head joint signals ``X⁽ʰ⁾ = X + α_h (U (w_h ⊙ Uᵀ X) - X)`` of Eq. 6, before projection and pooling.

        Args:
            x: pose features ``(B, T, J, C)``.

        Returns:
            ``(B, H_s, T, J, C)``.
        """
        _check_input(x, self.num_joints, self.dim, type(self).__name__)
        return self._mix(x)

    def _mix(self, x: Tensor) -> Tensor:
        x0 = x.unsqueeze(1)
        return x0 + self.alpha.to(x.dtype)[None, :, None, None, None] * (self._band_pass(x) - x0)

    def forward(self, x: Tensor) -> Tensor:
        """Spatial context vectors ``v_s⁽ʰ⁾ = Pool_{t,n}(ρ(X⁽ʰ⁾))`` (Eq. 7).

        Args:
            x: pose features ``(B, T, J, C)``.

        Returns:
            ``(B, H_s, D_c)``.
        """
        _check_input(x, self.num_joints, self.dim, type(self).__name__)
        # ρ acts on channels and the filter on joints, so they commute: projecting first gives the same result
        # with D_c instead of C channels in the (B, H_s, T, J, ·) intermediate (the bias is added after the filter).
        y = F.linear(x, self.proj.weight)
        return _pool(self._mix(y) + self.proj.bias, self.pool)


class GaussianTemporalPooling(nn.Module):
    """Multi-scale Gaussian temporal context pooling (paper §3.3, Eqs. 8–10).

    Head ``h`` has the kernel ``g_h(τ) = exp(-(τ - μ_h)² / (2 σ_h²))`` (Eq. 8) over the integer offsets
    ``τ ∈ {-(K-1)/2, …, (K-1)/2}``, with learnable width ``σ_h = softplus(·) + 1e-3 > 0`` and, if ``learn_mu``,
    a learnable shift ``μ_h`` (otherwise ``μ_h = 0``). The kernel is applied depthwise, the same kernel to every
    joint and channel: ``X_t⁽ʰ⁾ = Σ_τ g_h(τ) X_{t-τ}`` (Eq. 9), so a positive ``μ_h`` looks into the past. The
    context is ``v_t⁽ʰ⁾ = Pool_{t,n}(η(X⁽ʰ⁾))`` (Eq. 10), ``η`` one linear map ``C → D_c`` shared by all heads.

    Eq. 8 is unnormalised, so the gain of a head would grow like ``σ_h √(2π)``; by default each kernel is divided
    by its sum (a weighted average), so heads differ in scale of smoothing, not in amplitude. The sequence ends
    are padded by repeating the first and last frame (``padding="replicate"``) so that the borders are not pulled
    towards 0; the paper does not specify either choice.

    Args:
        dim: input channels ``C``.
        num_heads: number of temporal heads ``H_t``.
        kernel_size: odd kernel length ``K`` (offsets ``|τ| ≤ (K-1)/2``).
        learn_mu: learn the kernel centres ``μ_h`` (they start at ``mu_init``); otherwise they stay fixed.
        context_dim: context width ``D_c`` (default ``dim``).
        sigma_init: initial widths in frames, one per head or one for all (default geometrically spaced from 0.5
            to ``max(1, (K-1)/4)``, short to long range, so that heads differ even for ``K = 3``).
        mu_init: initial centres in frames, one per head or one for all (default 0).
        normalize: divide each kernel by its sum (default) rather than use Eq. 8 as written.
        padding: how the ``(K-1)/2`` frames beyond each end are filled: ``"replicate"``, ``"reflect"`` or
            ``"zeros"``.
        pool: ``Pool_{t,n}``, ``"max"`` (default) or ``"mean"``. With normalised kernels ``"mean"`` sees almost
            the same value for every ``σ_h`` (an average of a weighted average), apart from border effects.
    """

    offsets: Tensor

    def __init__(
        self,
        dim: int,
        num_heads: int,
        kernel_size: int,
        learn_mu: bool = False,
        context_dim: int | None = None,
        sigma_init: float | Sequence[float] | None = None,
        mu_init: float | Sequence[float] | None = None,
        normalize: bool = True,
        padding: Literal["replicate", "reflect", "zeros"] = "replicate",
        pool: Pool = "max",
    ) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd number, got {kernel_size}")
        if num_heads < 1:
            raise ValueError(f"num_heads must be >= 1, got {num_heads}")
        self.dim = dim
        self.num_heads = num_heads
        self.kernel_size = kernel_size
        self.context_dim = dim if context_dim is None else context_dim
        self.normalize = normalize
        self.padding = padding
        self.pool = pool
        half = kernel_size // 2
        self.register_buffer(
            "offsets", torch.arange(-half, half + 1, dtype=torch.get_default_dtype()), persistent=False
        )
        default_sigma = torch.as_tensor(
            np.geomspace(0.5, max(1.0, (kernel_size - 1) / 4), num_heads), dtype=torch.get_default_dtype()
        )
        sigma0 = _initial_values(sigma_init, default_sigma, "sigma_init")
        if (sigma0 <= _SIGMA_FLOOR).any():
            raise ValueError(f"sigma_init must be > {_SIGMA_FLOOR}, got {sigma0.tolist()}")
        self.sigma_raw = nn.Parameter(_inverse_softplus(sigma0 - _SIGMA_FLOOR))
        mu0 = _initial_values(mu_init, torch.zeros(num_heads), "mu_init")
        if learn_mu:
            self.mu = nn.Parameter(mu0)
        else:
            self.register_buffer("mu", mu0)
        self.proj = nn.Linear(dim, self.context_dim)  # η of Eq. 10

    @property
    def sigma(self) -> Tensor:
        """Positive kernel widths ``σ_h`` in frames, ``(H_t,)``."""
        return F.softplus(self.sigma_raw) + _SIGMA_FLOOR

    def kernels(self) -> Tensor:
        """Kernels ``g_h(τ)`` of Eq. 8 at the offsets ``|τ| ≤ (K-1)/2``: ``(H_t, K)``, unit sum if normalised."""
        g = torch.exp(-((self.offsets[None, :] - self.mu[:, None]) ** 2) / (2 * self.sigma[:, None] ** 2))
        return g / g.sum(1, keepdim=True) if self.normalize else g

    def filter(self, x: Tensor) -> Tensor:
        """Per-head filtered sequences ``X_t⁽ʰ⁾ = Σ_τ g_h(τ) X_{t-τ}`` (Eq. 9).

        Args:
            x: pose features ``(B, T, J, C)``.

        Returns:
            ``(B, H_t, T, J, C)``.

        Raises:
            ValueError: if ``x`` is not ``(B, T, J, C)`` with this module's ``C``.
        """
        _check_input(x, None, self.dim, type(self).__name__)
        return self._filter(x)

    def _filter(self, x: Tensor) -> Tensor:
        b, t, j, c = x.shape
        half = self.kernel_size // 2
        seq = x.permute(0, 2, 3, 1).reshape(b * j * c, 1, t)
        if half:
            if self.padding == "zeros":
                seq = F.pad(seq, (half, half))
            elif self.padding == "reflect" and t <= half:
                raise ValueError(f"padding='reflect' needs more than {half} frames, got T={t}")
            else:
                seq = F.pad(seq, (half, half), mode=self.padding)
        # conv1d correlates: out[t] = Σ_k w[k] in[t + k - half]. Eq. 9 sums g(τ) X[t - τ], so w[k] = g(half - k).
        weight = self.kernels().to(x.dtype).flip(-1).unsqueeze(1)  # (H_t, 1, K)
        out = F.conv1d(seq, weight)  # (B·J·C, H_t, T)
        return out.reshape(b, j, c, self.num_heads, t).permute(0, 3, 4, 1, 2)

    def forward(self, x: Tensor) -> Tensor:
        """Temporal context vectors ``v_t⁽ʰ⁾ = Pool_{t,n}(η(X_t⁽ʰ⁾))`` (Eq. 10).

        Args:
            x: pose features ``(B, T, J, C)``.

        Returns:
            ``(B, H_t, D_c)``.
        """
        _check_input(x, None, self.dim, type(self).__name__)
        # η (channels) and the depthwise filter (time) commute, as in SpectralSpatialPooling.forward.
        return _pool(self._filter(F.linear(x, self.proj.weight)) + self.proj.bias, self.pool)


class ContextGating(nn.Module):
    """Softmax head gating and joint context ``z = [v_s; v_t]`` (paper §3.4, Eqs. 11–12).

    ``v_s = Σ_h β_h^s v_s⁽ʰ⁾`` and ``v_t = Σ_h β_h^t v_t⁽ʰ⁾`` with ``β^s = softmax(a^s)``, ``β^t = softmax(a^t)``.
    The logits start at 0 (uniform weights); the softmax still passes gradients to them as soon as heads differ.
    The slot MLPs of Eq. 13 are left to the prompt path. A branch with 0 heads is absent (ablations): its
    input is ``None`` and ``z`` is the other branch alone.

    Args:
        num_spatial_heads: ``H_s`` (0: no spatial branch).
        num_temporal_heads: ``H_t`` (0: no temporal branch).
    """

    def __init__(self, num_spatial_heads: int, num_temporal_heads: int) -> None:
        super().__init__()
        if num_spatial_heads < 0 or num_temporal_heads < 0 or num_spatial_heads + num_temporal_heads == 0:
            raise ValueError(f"ContextGating needs head counts >= 0 with at least one head, got {num_spatial_heads}, {num_temporal_heads}")
        # Absent branches hold no parameter (an unused one would trip DDP's unused-parameter check).
        self.spatial_logits = nn.Parameter(torch.zeros(num_spatial_heads)) if num_spatial_heads else None
        self.temporal_logits = nn.Parameter(torch.zeros(num_temporal_heads)) if num_temporal_heads else None

    def forward(self, v_s: Tensor | None, v_t: Tensor | None) -> Tensor:
        """Gate the heads and concatenate.

        Args:
            v_s: spatial head contexts ``(B, H_s, D_s)``, or ``None`` without a spatial branch.
            v_t: temporal head contexts ``(B, H_t, D_t)``, or ``None`` without a temporal branch.

        Returns:
            ``z = [v_s; v_t]``, ``(B, D_s + D_t)`` (only the present branches).

        Raises:
            ValueError: if the head counts or batch sizes do not match, or a branch's presence disagrees.
        """
        parts, batch = [], None
        for name, v, logits in (("v_s", v_s, self.spatial_logits), ("v_t", v_t, self.temporal_logits)):
            if (v is None) != (logits is None):
                state = "has no" if logits is None else "needs a"
                raise ValueError(f"ContextGating {state} {name} branch, got {'None' if v is None else tuple(v.shape)}")
            if v is None:
                continue
            h = logits.numel()
            if v.ndim != 3 or v.shape[1] != h or (batch is not None and v.shape[0] != batch):
                raise ValueError(f"{name} must have shape ({batch or 'B'}, {h}, D), got {tuple(v.shape)}")
            batch = v.shape[0]
            parts.append(torch.einsum("h,bhd->bd", logits.softmax(0).to(v.dtype), v))
        return torch.cat(parts, dim=-1)
