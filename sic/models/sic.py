"""Skeleton-in-Context (SiC): one in-context network for many skeleton tasks (Wang et al., CVPR 2024).

The network sees a task-guided prompt (TGP) -- an input/target pair of some task -- and a query
input, and predicts the query's target by analogy. Both are sequences of ``F`` frames. Data flow::

    prompt  [P_in ; P_tgt]  --embed-->  n1 dual-stream levels --\\
                                                                 aggregate --> n2 levels --> head --> (B, F, J, 3)
    query   [Q_in ; TUP  ]  --embed-->  n1 dual-stream levels --/

The query's target half is never seen: it is replaced by the task-unified prompt (TUP), either a
learned rank-1 tensor ``W1 ⊗ W2`` (dynamic) or the embedded mean training target (static).

Departures from the reference code (``docs/methods/sic.md`` lists them all), each switchable:

* ``tup_init="normal"``: the reference zero-initialises both TUP factors, a saddle point where
  their gradients are exactly zero forever; ``"zero"`` reproduces it.
* ``tup_positional=True``: TUP tokens also get the joint and frame embeddings, so the masked
  target slots are distinguishable; the reference *replaces* the tokens (``False``).
* ``aggregation="learned"``: per-channel learned weights (paper Eq. 7, "weighted summation");
  ``"mean"`` is the reference's fixed average.
* ``analogy_residual=False``: the reference adds ``P_tgt - P_in + Q_in`` to the output, which the
  paper does not describe.

The baselines of the paper's Tables 1, 3 and 6 are this network with parts switched off: ``tgp=False``
drops the prompt stream (and the aggregation), ``tup="none"`` the unified prompt, and ``task_heads=K``
gives one output head per task id (the "re-structured" multi-task models: shared backbone, no prompts).

Example:
    >>> import torch
    >>> from sic.models import SkeletonInContext
    >>> net = SkeletonInContext(dim=32, depth=2, num_heads=4, merge_layer=1)
    >>> x = torch.randn(3, 16, 17, 3)
    >>> net(x, x, x).shape
    torch.Size([3, 16, 17, 3])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from sic.models.layers import DualStreamBlock

__all__ = ["EncodedPrompt", "SkeletonInContext"]


@dataclass
class EncodedPrompt:
    """A prompt after the ``n1`` pre-merge levels, reusable across many query batches.

    Attributes:
        tokens: ``(Bp, 2F, J, C)`` prompt-stream features at the aggregation point.
        delta: ``(Bp, F, J, 3)`` prompt target minus prompt input (for the analogy residual).
    """

    tokens: Tensor
    delta: Tensor


class SkeletonInContext(nn.Module):
    """Skeleton-in-Context network.

    Args:
        num_joints: joints ``J`` per frame.
        num_frames: frames ``F`` of each input and target half.
        dim: token width ``C``.
        depth: number of dual-stream levels ``N = n1 + n2``.
        num_heads: attention heads.
        mlp_ratio: MLP hidden width over ``dim``.
        in_channels: input coordinates per joint.
        out_channels: predicted coordinates per joint.
        merge_layer: ``n1``, the level at which prompt and query streams are aggregated
            (``0 <= n1 < depth``; the reference uses 2).
        aggregation: ``"learned"`` per-channel weighted sum (initialised to the mean) or ``"mean"``.
        tup: task-unified prompt: ``"dynamic"`` (learned ``W1 ⊗ W2``), ``"static"`` (embedded mean
            target pose, set with :meth:`set_static_pose`) or ``"none"`` (a zero token).
        tup_init: ``"normal"`` (learns) or ``"zero"`` (the reference: never learns).
        tup_positional: add joint/frame embeddings to the TUP tokens.
        num_static_poses: rows of the static mean-pose table (1 = one mean over all tasks, as in the
            paper's Eq. 2; more = one per task id).
        analogy_residual: add ``P_tgt - P_in + Q_in`` to the output (reference behaviour).
        tgp: use the task-guided prompt; ``False`` ignores the prompt pair and runs the query stream
            alone through every level (the prompt-free backbone of Tables 3 and 6).
        task_heads: ``0``: one output head; ``K``: one head per task id ``0..K-1``, chosen by the batch's
            task ids (the multi-head multi-task baseline of Table 1).
        ln_eps: LayerNorm epsilon.
        inference_chunk: without autograd, process queries this many at a time (same result, less
            memory traffic; ``None`` disables chunking).
    """

    def __init__(
        self,
        num_joints: int = 17,
        num_frames: int = 16,
        dim: int = 256,
        depth: int = 5,
        num_heads: int = 8,
        mlp_ratio: float = 2.0,
        in_channels: int = 3,
        out_channels: int = 3,
        merge_layer: int = 2,
        aggregation: Literal["learned", "mean"] = "learned",
        tup: Literal["dynamic", "static", "none"] = "dynamic",
        tup_init: Literal["normal", "zero"] = "normal",
        tup_positional: bool = True,
        num_static_poses: int = 1,
        analogy_residual: bool = False,
        tgp: bool = True,
        task_heads: int = 0,
        ln_eps: float = 1e-6,
        inference_chunk: int | None = 4,
    ) -> None:
        super().__init__()
        if not 0 <= merge_layer < depth:
            raise ValueError(f"merge_layer must be in [0, depth={depth}), got {merge_layer}")
        if num_static_poses < 1:
            raise ValueError(f"num_static_poses must be >= 1, got {num_static_poses}")
        if task_heads < 0:
            raise ValueError(f"task_heads must be >= 0, got {task_heads}")
        if analogy_residual and not tgp:
            raise ValueError("analogy_residual needs the prompt pair: it cannot be combined with tgp=False")
        if tup not in ("dynamic", "static", "none"):
            raise ValueError(f"tup must be 'dynamic', 'static' or 'none', got {tup!r}")
        self.num_joints, self.num_frames, self.in_channels = num_joints, num_frames, in_channels
        self.merge_layer, self.aggregation, self.tup = merge_layer, aggregation, tup
        self.tup_positional, self.analogy_residual = tup_positional, analogy_residual
        self.inference_chunk, self.tgp, self.task_heads = inference_chunk, tgp, task_heads

        self.joints_embed = nn.Linear(in_channels, dim)
        self.pos_embed = nn.Parameter(torch.zeros(num_joints, dim))
        self.temp_embed = nn.Parameter(torch.zeros(2 * num_frames, 1, dim))
        self.blocks = nn.ModuleList(DualStreamBlock(dim, num_heads, mlp_ratio, ln_eps) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=ln_eps)
        self.pre_logits = nn.Sequential(nn.Linear(dim, dim), nn.Tanh())
        self.head = nn.Linear(dim, out_channels * max(task_heads, 1))
        self.out_channels = out_channels
        if aggregation == "learned" and tgp:  # without a prompt nothing is aggregated (no unused parameter)
            self.merge_weight = nn.Parameter(torch.full((2, dim), 0.5))
        if tup == "dynamic":
            self.tup_frames = nn.Parameter(torch.zeros(num_frames, num_joints, 1))  # W1 ∈ R^{F×J×1}
            self.tup_channels = nn.Parameter(torch.zeros(dim))  # W2 ∈ R^{1×1×C}
        elif tup == "static":
            self.register_buffer("static_pose", torch.zeros(num_static_poses, num_frames, num_joints, in_channels))
            self.register_buffer("static_pose_set", torch.zeros((), dtype=torch.bool))
        self.reset_parameters(tup_init)

    def reset_parameters(self, tup_init: Literal["normal", "zero"] = "normal") -> None:
        """MotionBERT initialisation: trunc-normal(0.02) weights, zero biases, 50/50 fusion."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for block in self.blocks:
            nn.init.zeros_(block.fuse.weight)
            nn.init.constant_(block.fuse.bias, 0.5)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.temp_embed, std=0.02)
        if self.tup == "dynamic":
            if tup_init == "zero":
                nn.init.zeros_(self.tup_frames)
                nn.init.zeros_(self.tup_channels)
            else:  # both factors non-zero, product ~ 0.02 like the other embeddings
                nn.init.trunc_normal_(self.tup_frames, std=1.0, a=-2.0, b=2.0)
                nn.init.trunc_normal_(self.tup_channels, std=0.02)

    @torch.no_grad()
    def set_static_pose(self, poses: Tensor) -> None:
        """Set the static-TUP mean target pose(s), ``(K, F, J, C_in)`` or ``(F, J, C_in)``."""
        if self.tup != "static":
            raise RuntimeError("set_static_pose() needs tup='static'")
        poses = poses.reshape(-1, *self.static_pose.shape[1:]) if poses.dim() == 3 else poses
        if poses.shape[1:] != self.static_pose.shape[1:] or poses.shape[0] not in (1, self.static_pose.shape[0]):
            raise ValueError(f"static pose must be (K, F, J, C) = {tuple(self.static_pose.shape)}, got {tuple(poses.shape)}")
        self.static_pose.copy_(poses.expand_as(self.static_pose))
        self.static_pose_set.fill_(True)

    def _embed(self, x: Tensor, frame_offset: int = 0) -> Tensor:
        """``(B, T, J, C_in) -> (B, T, J, C)`` with joint and frame embeddings from ``frame_offset``."""
        t = x.shape[1]
        return self.joints_embed(x) + self.pos_embed + self.temp_embed[frame_offset : frame_offset + t]

    def _unified_prompt(self, task: Tensor | None) -> Tensor:
        """TUP tokens for the query's target half, ``(B or 1, F, J, C)``."""
        f = self.num_frames
        if self.tup == "static":
            if not bool(self.static_pose_set):
                raise RuntimeError("static TUP used before set_static_pose(): the task sets it from the training data")
            if self.static_pose.shape[0] == 1:
                return self._embed(self.static_pose, frame_offset=f)
            if task is None:
                raise ValueError("a per-task static TUP needs the batch's task ids")
            return self._embed(self.static_pose[task], frame_offset=f)
        if self.tup == "dynamic":
            tokens = (self.tup_frames * self.tup_channels).unsqueeze(0)
        else:
            tokens = self.pos_embed.new_zeros(1, f, self.num_joints, self.pos_embed.shape[-1])
        if self.tup_positional:
            tokens = tokens + self.pos_embed + self.temp_embed[f:]
        return tokens

    def _run(self, x: Tensor, levels: range, query_frames: slice | None = None) -> Tensor:
        last = levels[-1] if len(levels) else -1
        for i in levels:
            x = self.blocks[i](x, query_frames if i == last else None)
        return x

    def _check(self, name: str, x: Tensor) -> None:
        expected = (self.num_frames, self.num_joints, self.in_channels)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"{name} must have shape (B, {', '.join(map(str, expected))}), got {tuple(x.shape)}")

    def prompt_features(self, x: Tensor) -> Tensor:
        """One feature vector per input sequence, ``(B, F, J, C_in) -> (B, C)``, for feature-similarity prompt
        selection (Table 4): the input half alone through the ``n1`` pre-aggregation levels, averaged over frames
        and joints."""
        self._check("input", x)
        return self._run(self._embed(x), range(self.merge_layer)).mean((1, 2))

    def encode_prompt(self, prompt_input: Tensor, prompt_target: Tensor) -> EncodedPrompt:
        """Run the prompt stream up to the aggregation point.

        Args:
            prompt_input: ``(Bp, F, J, C_in)``.
            prompt_target: ``(Bp, F, J, C_in)``.

        Returns:
            The encoded prompt; ``Bp == 1`` shares one prompt across a whole query batch.
        """
        self._check("prompt_input", prompt_input)
        self._check("prompt_target", prompt_target)
        if not self.tgp:  # the prompt is ignored: keep only its batch size
            return EncodedPrompt(prompt_input[:, :0], prompt_target[:, :0])
        tokens = self._embed(torch.cat([prompt_input, prompt_target], dim=1))
        return EncodedPrompt(self._run(tokens, range(self.merge_layer)), prompt_target - prompt_input)

    def decode(self, prompt: EncodedPrompt, query_input: Tensor, task: Tensor | None = None) -> Tensor:
        """Predict the query target from an encoded prompt.

        Args:
            prompt: from :meth:`encode_prompt`, batch 1 or B.
            query_input: ``(B, F, J, C_in)``.
            task: ``(B,)`` task ids, used only by a per-task static TUP.

        Returns:
            ``(B, F, J, C_out)`` prediction of the query target.
        """
        self._check("query_input", query_input)
        b, f = query_input.shape[0], self.num_frames
        if prompt.tokens.shape[0] not in (1, b):
            raise ValueError(f"prompt batch {prompt.tokens.shape[0]} must be 1 or match the query batch {b}")
        if self._chunked(b):
            shared = prompt.tokens.shape[0] == 1
            return torch.cat([
                self.decode(prompt if shared else EncodedPrompt(prompt.tokens[s], prompt.delta[s]), query_input[s],
                            None if task is None else task[s])
                for s in self._chunks(b)
            ])  # fmt: skip
        query = self._embed(query_input)
        tup = self._unified_prompt(task)
        query = torch.cat([query, tup.expand(b, *tup.shape[1:])], dim=1)
        query = self._run(query, range(self.merge_layer))
        if not self.tgp:
            x = query
        elif self.aggregation == "learned":
            x = prompt.tokens * self.merge_weight[0] + query * self.merge_weight[1]
        else:
            x = (prompt.tokens + query) * 0.5
        x = self._run(x, range(self.merge_layer, len(self.blocks)), query_frames=slice(f, 2 * f))
        out = self._head(self.pre_logits(self.norm(x)), task)
        if self.analogy_residual:
            out = out + prompt.delta + query_input
        return out

    def _head(self, x: Tensor, task: Tensor | None) -> Tensor:
        """``(B, F, J, C) -> (B, F, J, C_out)``; with task heads, each sample's head is its task id's."""
        out = self.head(x)
        if not self.task_heads:
            return out
        if task is None:
            raise ValueError("a network with task_heads needs the batch's task ids")
        if int(task.min()) < 0 or int(task.max()) >= self.task_heads:
            raise ValueError(f"task ids must be in [0, {self.task_heads}), got {task.unique().tolist()}")
        heads = out.unflatten(-1, (self.task_heads, self.out_channels))  # (B, F, J, K, C_out)
        index = task.view(-1, 1, 1, 1, 1).expand(*heads.shape[:3], 1, self.out_channels)
        return heads.gather(3, index).squeeze(3)

    def forward(self, prompt_input: Tensor, prompt_target: Tensor, query_input: Tensor, task: Tensor | None = None) -> Tensor:
        """Predict the query target ``(B, F, J, C_out)`` from a prompt pair and a query input.

        Args:
            prompt_input: ``(B, F, J, C_in)``, or ``(1, F, J, C_in)`` to share one prompt: its stream is
                then computed once for the whole batch.
            prompt_target: same shape as ``prompt_input``.
            query_input: ``(B, F, J, C_in)``.
            task: optional ``(B,)`` task ids (per-task static TUP only).
        """
        b = query_input.shape[0]
        if prompt_input.shape[0] == b and self._chunked(b):
            return torch.cat([
                self.forward(prompt_input[s], prompt_target[s], query_input[s], None if task is None else task[s])
                for s in self._chunks(b)
            ])  # fmt: skip
        return self.decode(self.encode_prompt(prompt_input, prompt_target), query_input, task)

    def _chunked(self, batch: int) -> bool:
        # Without autograd, samples are independent: running small chunks keeps the activations in
        # the CPU caches, which is faster than one large batch and gives the same result.
        return bool(self.inference_chunk) and batch > self.inference_chunk and not torch.is_grad_enabled()

    def _chunks(self, batch: int) -> list[slice]:
        return [slice(s, s + self.inference_chunk) for s in range(0, batch, self.inference_chunk)]
