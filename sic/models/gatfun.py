"""GAtFuN: a deterministic 2D→3D lifting backbone with gated velocity fusion (plain ``nn.Module``).

The network lifts a 2D keypoint sequence ``(B, T, J, in_channels)`` (default x, y and detection confidence) to
3D joints ``(B, T, J, out_channels)``. It has two streams that run side by side on one ``(B, T, J, C)`` token grid:

* the **pose stream**, a MixSTE-style transformer: per layer a spatial block (self-attention over the ``J``
  joints of each frame) and a temporal block (self-attention over the ``T`` frames of each joint);
* the **motion-refinement stream** (``refinement=True``), which works on token *velocities*. It starts from
  ``v[t] = x_ori[t] - x_ori[t-1]`` (``v[0] = v[1]``) of the embedded tokens ``x_ori`` and has its own spatial and
  temporal block per layer, in which attention is replaced by a graph operator ``Â·V(x) + U(x)``: the doubly
  normalised skeleton adjacency in space, and a logistic soft window times a content softmax in time
  (:func:`spatial_graph_adjacency`, :func:`temporal_graph_adjacency`).

Data flow per layer::

    x ── spatial pose block ──┬─ [text → x] ─┐                       ┌─ temporal pose block ─┐
                              │              ├─ gate → x, v ─────────┤                       ├─ gate → x, v
    v ── spatial vel. block ──┴─ [text → v] ─┘                       └─ temporal vel. block ─┘

After every spatial and every temporal step a gate (one ``Linear(2, 2)`` per layer and step, shared over
channels) mixes the stream's velocity ``v_gcn`` with the velocity implied by the pose tokens,
``v_pose[t] = x[t] - x[t-1]``, as ``v = α₀ v_gcn + α₁ v_pose`` with ``α = softmax(W [v_gcn, v_pose] + b)``, then
re-integrates one step, ``x[t] ← x[t-1] + v[t]`` (``x[0]`` is kept). The head is LayerNorm, ``Linear(C → 3)``.
Text tokens ``(B, K, text_dim)`` (from a prompt module) enter by cross-attention at layer ``text_layer``.

Choices and deviations from the public (diffusion) code, ``phaiyen0493/GAtFuN``:

* **Deterministic head.** The network regresses the 3D pose from the 2D input; there is no noisy 3D input, no
  diffusion-step embedding and no hypothesis axis. The input projection is therefore ``in_channels → C``
  instead of ``2 + 3 → C``.
* **Embeddings.** Spatial ``(1, 1, J, C)`` and temporal ``(1, num_frames, 1, C)`` position embeddings, both
  trunc-normal with std 0.02 (the public code starts them at 0). Shorter clips use the first ``T`` rows.
* **Shared post-norms**, as in the public code (and MixSTE): every spatial and temporal block of a stream is
  followed by one LayerNorm shared by all layers of that stream and axis (four in all).
* **Gate pairing.** The gate sees the pair ``(v_gcn[c], v_pose[c])`` of each channel ``c``. (The public code
  concatenates the two along channels and reshapes to ``(C, 2)``, which pairs neighbouring channels of the same
  stream in the first half of the channels; we follow the description, not that reshape.) The gate starts with
  weight 0 and bias 0, so ``α = (0.5, 0.5)``: both velocities count equally at the start.
* **Temporal graph softmax.** ``softmax(x xᵀ)`` over frames has no ``1/√C`` scaling in the public code, which
  makes it very peaked for wide tokens; ``temporal_scale=True`` divides the logits by ``√C``. The default keeps
  the published behaviour. The product with the window is not renormalised (as published).
* **Text cross-attention** is a plain pre-norm multi-head cross-attention with a residual. MotionDiffuse's
  timestep stylisation (scale/shift by the diffusion-step embedding, zero-initialised output) is dropped
  because there is no diffusion step; the output projection keeps PyTorch's default initialisation so that
  gradients reach the text from the first step. Each sample's queries (all its ``T·J`` tokens) attend to that
  sample's own text tokens (a reshape to ``(B, T·J, C)``, never a ``repeat`` over the batch). ``inject`` chooses
  the pose stream, the velocity stream or both (separate weights); the velocity-stream injection is our own.
* Adjacencies are buffers and every tensor is created on the input's device: the model runs on CPU.

Example:
    >>> import torch
    >>> from sic.models.gatfun import GAtFuN
    >>> net = GAtFuN(num_frames=9, dim=16, depth=2, num_heads=2, text_dim=8).eval()
    >>> net(torch.randn(2, 9, 17, 3), text=torch.randn(2, 4, 8)).shape
    torch.Size([2, 9, 17, 3])
    >>> net(torch.randn(2, 5, 17, 3)).shape  # shorter clip, no text
    torch.Size([2, 5, 17, 3])
"""

# The docstrings and comments write the paper's symbols (α, β, Â, …) as they appear in its equations.
# ruff: noqa: RUF002, RUF003

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

from sic.data.skeleton import get_layout
from sic.models.layers import MLP, _attend

__all__ = [
    "GATFUN_SIZES",
    "DropPath",
    "GAtFuN",
    "drop_path",
    "spatial_graph_adjacency",
    "temporal_graph_adjacency",
]

Axis = Literal["spatial", "temporal"]
Inject = Literal["attention", "refinement", "both"]

# LayerNorm epsilon of the public code's blocks (timm's ``partial(nn.LayerNorm, eps=1e-6)``).
_EPS = 1e-6

#: Size presets by clip length. "243" is the public code's configuration; "27" and "81" are our own choices
#: (narrower and shallower, so that the short-clip models stay cheap), not taken from the paper.
GATFUN_SIZES: dict[str, dict[str, Any]] = {
    "27": dict(num_frames=27, dim=128, depth=4, num_heads=8, mlp_ratio=2.0, drop_path=0.1),
    "81": dict(num_frames=81, dim=256, depth=6, num_heads=8, mlp_ratio=2.0, drop_path=0.1),
    "243": dict(num_frames=243, dim=512, depth=8, num_heads=8, mlp_ratio=2.0, drop_path=0.1),
}


# ----------------------------------------------------------------------------------------------- graph operators


def _sym_normalise(a: Tensor) -> Tensor:
    """``D^-1/2 A D^-1/2`` with ``D`` the row sums of ``A`` (``(..., N, N)``, rows must sum to > 0)."""
    d = a.sum(-1).rsqrt()
    return d.unsqueeze(-1) * a * d.unsqueeze(-2)


def spatial_graph_adjacency(adjacency: np.ndarray | Tensor) -> Tensor:
    """Doubly normalised skeleton adjacency ``Â_s`` of the spatial graph attention.

    The raw weights are ``A[i, i] = 1 / deg(i)`` and ``A[i, j] = 1 / √(deg(i) deg(j))`` for bones ``(i, j)``;
    the result is normalised once more, ``Â_s = D^-1/2 A D^-1/2`` with ``D`` the row sums of ``A``.

    Args:
        adjacency: ``(J, J)`` symmetric 0/1 bone adjacency without self-loops, every joint with at least one
            neighbour (for example ``get_layout("h36m17").adjacency``).

    Returns:
        ``(J, J)`` symmetric tensor in the default dtype.

    Raises:
        ValueError: if ``adjacency`` is not square, symmetric and 0/1, has self-loops or an isolated joint.
    """
    a = torch.as_tensor(np.asarray(adjacency.detach().cpu() if isinstance(adjacency, Tensor) else adjacency),
                        dtype=torch.float64)  # fmt: skip
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"adjacency must be a square (J, J) matrix, got shape {tuple(a.shape)}")
    if not torch.equal(a, a.T) or not bool(((a == 0) | (a == 1)).all()):
        raise ValueError("adjacency must be a symmetric 0/1 matrix")
    if bool(a.diagonal().any()):
        raise ValueError("adjacency must not contain self-loops (the self weight 1/deg(i) is added here)")
    deg = a.sum(1)
    if bool((deg == 0).any()):
        raise ValueError(f"adjacency has isolated joints {torch.nonzero(deg == 0).flatten().tolist()}")
    inv_sqrt = deg.rsqrt()
    raw = a * inv_sqrt[:, None] * inv_sqrt[None, :] + torch.diag(1.0 / deg)
    return _sym_normalise(raw).to(torch.get_default_dtype())


def temporal_graph_adjacency(
    num_frames: int,
    alpha: float = 0.125,
    beta: float = 5.0,
    normalize: bool = True,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> Tensor:
    """Logistic soft window ``A_t[i, j] = 1 / (1 + exp(α(|i - j| - β)))`` over frames, optionally normalised.

    With ``α = 0.125, β = 5`` the raw weight is about 0.65 at lag 0, 0.5 at lag 5, 0.35 at lag 10 and negligible
    beyond about 80 frames.

    Args:
        num_frames: ``T``.
        alpha: decay rate ``α``.
        beta: lag ``β`` at which the weight is 0.5.
        normalize: return ``D^-1/2 A_t D^-1/2`` (``D`` the row sums) instead of the raw window.
        device: device of the result.
        dtype: dtype of the result (default dtype if None).

    Returns:
        ``(T, T)`` symmetric tensor.
    """
    idx = torch.arange(num_frames, device=device, dtype=torch.float64)
    lag = (idx[:, None] - idx[None, :]).abs()
    a = torch.sigmoid(-alpha * (lag - beta))  # == 1 / (1 + exp(α(lag - β))), without overflow for long lags
    if normalize:
        a = _sym_normalise(a)
    return a.to(torch.get_default_dtype() if dtype is None else dtype)


# --------------------------------------------------------------------------------------------------- drop path


def drop_path(x: Tensor, p: float, training: bool) -> Tensor:
    """Stochastic depth: zero a residual branch for a random ``p`` fraction of the samples (dim 0).

    Kept samples are scaled by ``1 / (1 - p)`` so that the expectation is unchanged; identity at eval or ``p = 0``.
    """
    if not training or p == 0.0:
        return x
    keep = 1.0 - p
    mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
    return x * mask / keep


class DropPath(nn.Module):
    """Module wrapper of :func:`drop_path` (active only in training mode).

    Args:
        p: probability of dropping the branch for a sample, in ``[0, 1)``.
    """

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = float(p)

    def forward(self, x: Tensor) -> Tensor:
        """Apply stochastic depth to ``x`` (any shape, samples along dim 0)."""
        return drop_path(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p:g}"


# ------------------------------------------------------------------------------------------------------ mixers


class _AxisSelfAttention(nn.Module):
    """Multi-head self-attention over the joints (spatial) or frames (temporal) of ``(B, T, J, C)`` tokens."""

    def __init__(self, dim: int, num_heads: int, axis: Axis, qkv_bias: bool) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.axis = axis
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, adjacency: Tensor | None = None) -> Tensor:
        b, t, j, c = x.shape
        h, d = self.num_heads, c // self.num_heads
        # Spatial: each frame is a sequence of J tokens. Temporal: each (joint, head) pair is one "head" of a
        # length-T sequence, so both cases are one attention call over dim 1 without permuting the grid.
        shape = (b * t, j, h, d) if self.axis == "spatial" else (b, t, j * h, d)
        q, k, v = (z.reshape(shape) for z in self.qkv(x).chunk(3, dim=-1))
        return self.proj(_attend(q, k, v).reshape(b, t, j, c))


class _GraphAttention(nn.Module):
    """Graph operator ``Â·V(x) + U(x)`` of the velocity stream (spatial: fixed skeleton; temporal: window × softmax)."""

    def __init__(self, dim: int, axis: Axis, temporal_scale: bool) -> None:
        super().__init__()
        self.axis = axis
        self.temporal_scale = temporal_scale
        self.u = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)

    def forward(self, x: Tensor, adjacency: Tensor | None = None) -> Tensor:
        """``x``: ``(B, T, J, C)``; ``adjacency``: ``Â_s (J, J)`` or the normalised window ``Â_t (T, T)``."""
        assert adjacency is not None
        v = self.v(x)
        if self.axis == "spatial":
            agg = torch.einsum("ik,btkc->btic", adjacency.to(v.dtype), v)
        else:
            # Content affinity between the frames of each (sample, joint), on the block's normalised input.
            logits = torch.einsum("btjc,bsjc->bjts", x, x)
            if self.temporal_scale:
                logits = logits / math.sqrt(x.shape[-1])
            weights = adjacency.to(logits.dtype) * logits.softmax(dim=-1)  # (B, J, T, T), not renormalised
            agg = torch.einsum("bjts,bsjc->btjc", weights.to(v.dtype), v)
        return agg + self.u(x)


class _Block(nn.Module):
    """Pre-norm residual block: ``x + DropPath(mixer(LN x))``, then ``x + DropPath(MLP(LN x))``."""

    def __init__(self, dim: int, mixer: nn.Module, mlp_ratio: float, drop_path: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=_EPS)
        self.mixer = mixer
        self.norm2 = nn.LayerNorm(dim, eps=_EPS)
        self.mlp = MLP(dim, int(dim * mlp_ratio))
        self.drop_path = DropPath(drop_path)

    def forward(self, x: Tensor, adjacency: Tensor | None = None) -> Tensor:
        x = x + self.drop_path(self.mixer(self.norm1(x), adjacency))
        return x + self.drop_path(self.mlp(self.norm2(x)))


# ------------------------------------------------------------------------------------------ fusion and text


def _frame_velocity(x: Tensor) -> Tensor:
    """``v[t] = x[t] - x[t-1]`` along dim 1 of ``(B, T, J, C)``, with ``v[0] = v[1]`` (needs ``T ≥ 2``)."""
    v = x[:, 1:] - x[:, :-1]
    return torch.cat([v[:, :1], v], dim=1)


class _VelocityGate(nn.Module):
    """Per-step gated velocity fusion and one-step re-integration (one ``Linear(2, 2)`` shared over channels).

    Starts at weight 0 and bias 0, i.e. ``α = (0.5, 0.5)``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 2)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def weights(self, v_gcn: Tensor, v_pose: Tensor) -> Tensor:
        """``α₀ = softmax(W [v_gcn, v_pose] + b)₀`` per element (``α₁ = 1 - α₀``)."""
        # A softmax over two logits is the sigmoid of their difference; this avoids stacking a (..., C, 2) copy.
        w, b = self.linear.weight, self.linear.bias
        dw = (w[0] - w[1]).to(v_gcn.dtype)
        return torch.sigmoid(dw[0] * v_gcn + dw[1] * v_pose + (b[0] - b[1]).to(v_gcn.dtype))

    def forward(self, x: Tensor, v_gcn: Tensor) -> tuple[Tensor, Tensor]:
        """Fuse and re-integrate.

        Args:
            x: pose tokens ``(B, T, J, C)``, ``T ≥ 2``.
            v_gcn: velocity-stream tokens ``(B, T, J, C)``.

        Returns:
            ``(x_new, v_fused)``: ``x_new[0] = x[0]`` and ``x_new[t] = x[t-1] + v_fused[t]`` (from the *old*
            tokens, a single step rather than a cumulative sum); ``v_fused = α₀ v_gcn + α₁ v_pose``.
        """
        v_pose = _frame_velocity(x)
        v_fused = torch.lerp(v_pose, v_gcn, self.weights(v_gcn, v_pose))  # v_pose + α₀ (v_gcn - v_pose)
        x_new = torch.cat([x[:, :1], x[:, :-1] + v_fused[:, 1:]], dim=1)
        return x_new, v_fused


class _TextCrossAttention(nn.Module):
    """Pre-norm multi-head cross-attention from all ``T·J`` tokens of a sample to its ``K`` text tokens."""

    def __init__(self, dim: int, text_dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.norm = nn.LayerNorm(dim)
        self.text_norm = nn.LayerNorm(text_dim)
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(text_dim, dim)
        self.value = nn.Linear(text_dim, dim)
        self.proj = nn.Linear(dim, dim)  # default init, not zero: the text gets gradient from step one
        # LayerScale (CaiT): the prompt's contribution, nearly the same for every token, starts at a tenth so it does
        # not swamp the pose tokens' LayerNorm statistics at initialisation (the lifting quickstart plateaued without).
        self.gamma = nn.Parameter(torch.full((dim,), 0.1))

    def forward(self, x: Tensor, text: Tensor) -> Tensor:
        """``x``: ``(B, T, J, C)``; ``text``: ``(B, K, text_dim)``. Returns ``x + attn``, ``(B, T, J, C)``."""
        b, t, j, c = x.shape
        h, d = self.num_heads, c // self.num_heads
        # Row b of the queries and of the keys/values is the same sample: the pairing is by batch index.
        q = self.query(self.norm(x)).reshape(b, t * j, h, d)
        txt = self.text_norm(text)
        k = self.key(txt).reshape(b, -1, h, d)
        v = self.value(txt).reshape(b, -1, h, d)
        return x + self.gamma.to(x.dtype) * self.proj(_attend(q, k, v).reshape(b, t, j, c))


# ------------------------------------------------------------------------------------------------------ network


class GAtFuN(nn.Module):
    """Deterministic GAtFuN lifter: pose transformer + gated velocity-refinement stream (see the module docstring).

    Args:
        num_joints: ``J``.
        num_frames: maximum clip length ``T`` (rows of the temporal position embedding).
        in_channels: input channels per joint (default 3: x, y, confidence).
        out_channels: output channels per joint (default 3: x, y, z).
        dim: token width ``C``.
        depth: number of spatial+temporal layer pairs.
        num_heads: attention heads (pose stream and text cross-attention); ``dim`` must be divisible by it.
        mlp_ratio: MLP hidden width over ``dim``.
        qkv_bias: bias in the self-attention query/key/value projections.
        drop_path: stochastic-depth rate of the last layer; layer ``i`` uses ``drop_path · i / (depth - 1)``.
        refinement: build the velocity stream and the gates. ``False`` gives the plain MixSTE-style
            spatio-temporal transformer lifter.
        adjacency: ``(J, J)`` symmetric 0/1 bone adjacency of the spatial graph (default: the ``h36m17``
            layout's, which requires ``num_joints=17``). Used only with ``refinement``.
        temporal_alpha: ``α`` of the temporal window.
        temporal_beta: ``β`` of the temporal window.
        temporal_scale: divide the temporal content logits ``x xᵀ`` by ``√C`` (``False``: published, unscaled).
        text_dim: width of the text tokens; ``None`` builds no text cross-attention.
        inject: where the text enters: the pose tokens (``"attention"``), the velocity tokens (``"refinement"``)
            or both (separate weights). Must be ``"attention"`` if ``refinement`` is off and ``text_dim`` is set.
        text_layer: layer whose spatial step is followed by the text cross-attention.

    Raises:
        ValueError: on inconsistent arguments (the message names the argument).
    """

    spatial_adjacency: Tensor

    def __init__(
        self,
        num_joints: int = 17,
        num_frames: int = 243,
        in_channels: int = 3,
        out_channels: int = 3,
        dim: int = 512,
        depth: int = 8,
        num_heads: int = 8,
        mlp_ratio: float = 2.0,
        qkv_bias: bool = True,
        drop_path: float = 0.1,
        refinement: bool = True,
        adjacency: np.ndarray | Tensor | None = None,
        temporal_alpha: float = 0.125,
        temporal_beta: float = 5.0,
        temporal_scale: bool = False,
        text_dim: int | None = None,
        inject: Inject = "both",
        text_layer: int = 0,
    ) -> None:
        super().__init__()
        sizes = dict(num_joints=num_joints, num_frames=num_frames, in_channels=in_channels,
                     out_channels=out_channels, dim=dim, depth=depth, num_heads=num_heads)  # fmt: skip
        for name, value in sizes.items():
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if dim % num_heads:
            raise ValueError(f"dim={dim} must be divisible by num_heads={num_heads}")
        if not 0.0 <= drop_path < 1.0:
            raise ValueError(f"drop_path must be in [0, 1), got {drop_path}")
        if not 0 <= text_layer < depth:
            raise ValueError(f"text_layer={text_layer} must be in [0, depth={depth})")
        if inject not in ("attention", "refinement", "both"):
            raise ValueError(f"inject must be 'attention', 'refinement' or 'both', got {inject!r}")
        if text_dim is not None and text_dim < 1:
            raise ValueError(f"text_dim must be >= 1 or None, got {text_dim}")
        if text_dim is not None and not refinement and inject != "attention":
            raise ValueError(
                f"inject={inject!r} needs the velocity stream; with refinement=False use inject='attention'"
            )

        self.num_joints = num_joints
        self.num_frames = num_frames
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.dim = dim
        self.depth = depth
        self.refinement = refinement
        self.temporal_alpha = float(temporal_alpha)
        self.temporal_beta = float(temporal_beta)
        self.text_dim = text_dim
        self.inject = inject
        self.text_layer = text_layer

        # Eqs. 1-2: per-joint projection plus learnable spatial and temporal position embeddings.
        self.joint_embed = nn.Linear(in_channels, dim)
        self.spatial_pos = nn.Parameter(torch.empty(1, 1, num_joints, dim))
        self.temporal_pos = nn.Parameter(torch.empty(1, num_frames, 1, dim))
        nn.init.trunc_normal_(self.spatial_pos, std=0.02)
        nn.init.trunc_normal_(self.temporal_pos, std=0.02)

        rates = torch.linspace(0.0, drop_path, depth).tolist()  # stochastic depth grows with depth

        def blocks(mixer) -> nn.ModuleList:
            return nn.ModuleList(_Block(dim, mixer(), mlp_ratio, rates[i]) for i in range(depth))

        self.spatial_blocks = blocks(lambda: _AxisSelfAttention(dim, num_heads, "spatial", qkv_bias))
        self.temporal_blocks = blocks(lambda: _AxisSelfAttention(dim, num_heads, "temporal", qkv_bias))
        # One LayerNorm after every block of an axis, shared over layers (public code / MixSTE).
        self.spatial_norm = nn.LayerNorm(dim, eps=_EPS)
        self.temporal_norm = nn.LayerNorm(dim, eps=_EPS)

        if refinement:
            if adjacency is None:
                if num_joints != 17:
                    raise ValueError(f"adjacency is required for num_joints={num_joints} (the default is h36m17's)")
                adjacency = get_layout("h36m17").adjacency
            a_hat = spatial_graph_adjacency(adjacency)
            if a_hat.shape != (num_joints, num_joints):
                raise ValueError(f"adjacency must have shape ({num_joints}, {num_joints}), got {tuple(a_hat.shape)}")
            # Derived from a constructor argument, hence not part of the state dict; a buffer moves with .to().
            self.register_buffer("spatial_adjacency", a_hat, persistent=False)
            self.vel_spatial_blocks = blocks(lambda: _GraphAttention(dim, "spatial", temporal_scale))
            self.vel_temporal_blocks = blocks(lambda: _GraphAttention(dim, "temporal", temporal_scale))
            self.vel_spatial_norm = nn.LayerNorm(dim, eps=_EPS)
            self.vel_temporal_norm = nn.LayerNorm(dim, eps=_EPS)
            self.spatial_gates = nn.ModuleList(_VelocityGate() for _ in range(depth))
            self.temporal_gates = nn.ModuleList(_VelocityGate() for _ in range(depth))
        elif adjacency is not None:
            a = np.asarray(adjacency.detach().cpu() if isinstance(adjacency, Tensor) else adjacency)
            if a.shape != (num_joints, num_joints):
                raise ValueError(f"adjacency must have shape ({num_joints}, {num_joints}), got {a.shape}")

        self.text_attn: _TextCrossAttention | None = None
        self.vel_text_attn: _TextCrossAttention | None = None
        if text_dim is not None:
            if inject in ("attention", "both"):
                self.text_attn = _TextCrossAttention(dim, text_dim, num_heads)
            if inject in ("refinement", "both"):
                self.vel_text_attn = _TextCrossAttention(dim, text_dim, num_heads)

        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, out_channels))

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> GAtFuN:
        """Build a size preset of :data:`GATFUN_SIZES` (``"27"``, ``"81"``, ``"243"``), with keyword overrides.

        Raises:
            KeyError: for an unknown preset name (the message lists the known ones).
        """
        try:
            config = dict(GATFUN_SIZES[str(name)])
        except KeyError:
            raise KeyError(f"unknown GAtFuN preset {name!r}; known presets: {', '.join(GATFUN_SIZES)}") from None
        config.update(overrides)
        return cls(**config)

    def embed(self, x: Tensor) -> Tensor:
        """Input embedding (Eqs. 1–2): ``Linear(x) + spatial_pos + temporal_pos[:T]``.

        Args:
            x: 2D keypoints ``(B, T, J, in_channels)`` with ``T ≤ num_frames``.

        Returns:
            Tokens ``(B, T, J, C)``.

        Raises:
            ValueError: on a wrong shape, or ``T > num_frames``.
        """
        if x.ndim != 4 or x.shape[2] != self.num_joints or x.shape[3] != self.in_channels:
            raise ValueError(
                f"GAtFuN expects input of shape (B, T, {self.num_joints}, {self.in_channels}) = "
                f"(B, T, J, in_channels), got {tuple(x.shape)}"
            )
        t = x.shape[1]
        if t > self.num_frames:
            raise ValueError(f"clip has T={t} frames but the model was built for at most num_frames={self.num_frames}")
        return self.joint_embed(x) + self.spatial_pos + self.temporal_pos[:, :t]

    def _check_text(self, text: Tensor | None, batch: int) -> None:
        if text is None:
            return
        if self.text_dim is None:
            raise ValueError("text was given but the model was built without text_dim; pass text=None")
        if text.ndim != 3 or text.shape[0] != batch or text.shape[2] != self.text_dim:
            raise ValueError(
                f"text must have shape (B, K, text_dim) = ({batch}, K, {self.text_dim}), got {tuple(text.shape)}"
            )

    def run(self, tokens: Tensor, text: Tensor | None = None) -> Tensor:
        """Everything after the embedding: both streams, fusion, text cross-attention and head.

        Args:
            tokens: embedded tokens ``(B, T, J, C)`` (the velocity stream starts from their frame differences).
            text: text tokens ``(B, K, text_dim)``, or ``None`` to skip the cross-attention.

        Returns:
            ``(B, T, J, out_channels)``.

        Raises:
            ValueError: on a wrong shape of ``tokens`` or ``text`` (or text for a model without ``text_dim``).
        """
        if tokens.ndim != 4 or tokens.shape[2] != self.num_joints or tokens.shape[3] != self.dim:
            raise ValueError(
                f"tokens must have shape (B, T, {self.num_joints}, {self.dim}) = (B, T, J, C), "
                f"got {tuple(tokens.shape)}"
            )
        b, t = tokens.shape[:2]
        if self.refinement and t < 2:
            raise ValueError(f"the velocity stream needs at least 2 frames, got T={t}")
        self._check_text(text, b)

        x = tokens
        if self.refinement:
            v = _frame_velocity(tokens)
            a_s = self.spatial_adjacency
            a_t = temporal_graph_adjacency(t, self.temporal_alpha, self.temporal_beta, device=tokens.device,
                                           dtype=tokens.dtype)  # fmt: skip
        for i in range(self.depth):
            x = self.spatial_norm(self.spatial_blocks[i](x))
            if self.refinement:
                v = self.vel_spatial_norm(self.vel_spatial_blocks[i](v, a_s))
            if text is not None and i == self.text_layer:
                if self.text_attn is not None:
                    x = self.text_attn(x, text)
                if self.vel_text_attn is not None:
                    v = self.vel_text_attn(v, text)
            if self.refinement:
                x, v = self.spatial_gates[i](x, v)
            x = self.temporal_norm(self.temporal_blocks[i](x))
            if self.refinement:
                v = self.vel_temporal_norm(self.vel_temporal_blocks[i](v, a_t))
                x, v = self.temporal_gates[i](x, v)
        return self.head(x)

    def forward(self, x: Tensor, text: Tensor | None = None) -> Tensor:
        """Lift 2D keypoints ``(B, T, J, in_channels)`` to ``(B, T, J, out_channels)``; ``run(embed(x), text)``."""
        return self.run(self.embed(x), text)
