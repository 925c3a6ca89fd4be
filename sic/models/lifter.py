"""``PoseAdaptiveLifter``: a GAtFuN lifting backbone with optional pose-adaptive text prompts.

``forward(x)`` maps 2D inputs ``(B, T, J, 3)`` (screen x, y, confidence) to root-relative 3D ``(B, T, J, 3)``:

1. ``X = backbone.embed(x)`` (paper Eqs. 1–2);
2. with a prompt module: slot tokens ``(B, K, C)`` and pooled ``P'`` ``(B, C)`` from ``X``
   (:class:`~sic.models.prompting.PoseAdaptivePrompt`, Eqs. 3–15);
3. ``X ← X + P'`` (Eq. 16) when the prompts reach the attention branch (``backbone.inject`` is ``"attention"``
   or ``"both"``). A constant added to every frame cancels in the velocities that drive the refinement branch,
   so that branch receives the prompts only through its own pose–prompt cross-attention; with
   ``inject="refinement"`` nothing is added to ``X`` and the attention branch never sees the prompts;
4. ``backbone.run(X, slot tokens)``: both streams, cross-attention at the backbone's ``text_layer``, head.

No label is read: the model sees the 2D input only (the public prompt code fed ground-truth action labels at
test time). Without a prompt module this is the backbone alone (the "GAtFuN without text" ablation).

Example:
    >>> import torch
    >>> from sic.models import GAtFuN
    >>> from sic.models.prompting import PoseAdaptivePrompt
    >>> from sic.text import TinyTextEncoder
    >>> net = PoseAdaptiveLifter(GAtFuN(num_frames=9, dim=32, depth=2, num_heads=4, text_dim=32),
    ...                          PoseAdaptivePrompt(TinyTextEncoder(hidden_size=16), dim=32, context_dim=8))
    >>> net(torch.randn(2, 9, 17, 3)).shape
    torch.Size([2, 9, 17, 3])
"""

# ruff: noqa: RUF002

from __future__ import annotations

from torch import Tensor, nn

from sic.models.gatfun import GAtFuN
from sic.models.prompting import PoseAdaptivePrompt
from sic.utils.errors import ConfigError

__all__ = ["PoseAdaptiveLifter"]


class PoseAdaptiveLifter(nn.Module):
    """GAtFuN backbone plus optional pose-adaptive prompts.

    Args:
        backbone: the lifting network; with a prompt, built with ``text_dim`` equal to its ``dim`` and the
            injection target in ``inject``.
        prompt: the prompt module (``dim`` equal to the backbone's), or ``None`` for no text.
    """

    def __init__(self, backbone: GAtFuN, prompt: PoseAdaptivePrompt | None = None) -> None:
        super().__init__()
        if prompt is not None:
            if prompt.dim != backbone.dim:
                raise ConfigError(f"model.net prompt dim={prompt.dim} must equal the backbone dim={backbone.dim}")
            if backbone.text_dim != backbone.dim:
                raise ConfigError(
                    f"model.net backbone text_dim={backbone.text_dim} must be {backbone.dim} (its dim) to take prompts"
                )
        elif backbone.text_dim is not None:
            raise ConfigError(
                "model.net backbone has text_dim set but no prompt module is given: set prompt or drop text_dim"
            )
        self.backbone, self.prompt = backbone, prompt
        self.num_joints, self.num_frames, self.in_channels = (
            backbone.num_joints,
            backbone.num_frames,
            backbone.in_channels,
        )

    @property
    def adds_pooled_prompt(self) -> bool:
        """Whether ``P'`` is added to the shared tokens (Eq. 16): the attention branch receives prompts."""
        return self.prompt is not None and self.backbone.inject in ("attention", "both")

    def forward(self, x: Tensor) -> Tensor:
        """Lift ``(B, T, J, C_in)`` 2D inputs to ``(B, T, J, 3)``."""
        tokens = self.backbone.embed(x)
        if self.prompt is None:
            return self.backbone.run(tokens)
        slots, pooled = self.prompt(tokens)
        if self.adds_pooled_prompt:
            tokens = tokens + pooled[:, None, None, :].to(tokens.dtype)
        return self.backbone.run(tokens, slots)
