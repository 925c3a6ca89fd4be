# ruff: noqa: RUF002
"""SkeletonContext: zero-shot skeleton action recognition with language context reconstruction.

A frozen skeleton encoder (Shift-GCN, pretrained on the seen classes) gives a feature cube ``(B, C, T', V)``.
Two branches turn it into embeddings in the space of a text encoder:

* **context branch**: the Differential Joint Encoder (DJE) refines the per-joint features by channel-wise
  differential attention, ``softmax_i ReLU(q_j − k_i)``; their mean becomes one visual token. Semantic
  Context Grounding (SCG) lets that token cross-attend a frozen language model's reading of a structured
  prompt "Environment: … | Used object: … | Target object: …" whose slots are partly or wholly masked; a
  masked-language-model head (tied to the language model's word embeddings) reconstructs the hidden slot
  words from the updated text tokens (``L_ccr``). The updated visual token is the context feature.
* **part branch**: Key-Part Decoupling (KPD) predicts a joint-importance map (softmax over joints per
  frame) that re-weights the cube before pooling; a body-part prior calibrates it (``L_kpd``).

Both embeddings are L2-normalised and scored by cosine similarity against per-class text embeddings
(:func:`class_scores`). With every module off the network is the plain alignment baseline: mean-pooled
features projected into the text space (Table 5, first row).

Fixes over the released code (see ``docs/methods/zero-shot.md``): frozen parts stay in eval mode, the
language attention mask is the real one (``attend_padding=True`` restores attending padding), and the MLM
head is tied to the word embeddings (``tied_mlm=False`` gives the reference's untied fresh decoder).

Example:
    >>> import torch
    >>> from sic.models.skeleton_context import SkeletonContext, class_scores
    >>> from sic.text import TinyTextEncoder
    >>> class Cube(torch.nn.Module):  # any backbone returning an object with a (B, C, T', V) ``cube``
    ...     channels = (8,)
    ...     def forward(self, x):
    ...         return type("Out", (), {"cube": x.mean(2).permute(0, 3, 1, 2).repeat(1, 3, 1, 1)[:, :8]})
    >>> net = SkeletonContext(Cube(), TinyTextEncoder(hidden_size=16, num_heads=2), num_heads=2)
    >>> x = torch.randn(2, 12, 1, 5, 3)
    >>> out = net(x, contexts=[("a gym", "bare hands", "the air")] * 2, masked=torch.tensor([[1, 0, 1]] * 2).bool())
    >>> out.context.shape, out.part.shape, out.mlm_loss.ndim
    (torch.Size([2, 16]), torch.Size([2, 16]), 0)
    >>> class_scores(out.context, torch.randn(4, 3, 16), scale=1.0).shape
    torch.Size([2, 4])
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sic.text.base import TextEncoder
from sic.utils.errors import ConfigError

__all__ = [
    "ContextPrompt",
    "CrossModalLayer",
    "DifferentialJointEncoder",
    "KeyPartDecoupling",
    "SkeletonContext",
    "SkeletonContextOutput",
    "class_scores",
    "kpd_loss",
]

SLOT_LABELS: dict[str, str] = {
    "environment": "Environment",
    "used_object": "Used object",
    "target_object": "Target object",
}
"""The prompt's label of each slot (the paper's template; the released code says "Manipulable object")."""


def class_scores(embedding: Tensor, class_text: Tensor, scale: float = 1.0) -> Tensor:
    """``(B, C)`` scores: mean cosine similarity of ``(B, D)`` embeddings with each class's ``K`` text embeddings.

    Args:
        embedding: ``(B, D)`` (normalised here).
        class_text: ``(C, K, D)`` per-class text embeddings (normalised here), or ``(C, D)``.
        scale: logit scale (the released code: 0.1).
    """
    if class_text.ndim == 2:
        class_text = class_text[:, None]
    cos = torch.einsum("bd,ckd->bck", F.normalize(embedding, dim=-1), F.normalize(class_text, dim=-1))
    return cos.mean(-1) * scale


def kpd_loss(weights: Tensor, prior: Tensor, reduction: str = "paper") -> Tensor:
    """Joint-importance calibration: ``(B, T, V)`` softmax weights against ``(B, V)`` 0/1 part masks.

    The mask is normalised to sum 1 over joints. ``"paper"``: Eq. 7, ``Σ_t ‖w_t − prior‖²`` averaged over the
    batch; ``"mse"``: the released code's element mean (``V·T`` times smaller).
    """
    target = prior / prior.sum(-1, keepdim=True).clamp_min(1e-9)
    sq = (weights - target[:, None, :].to(weights.dtype)) ** 2
    if reduction == "paper":
        return sq.sum((1, 2)).mean()
    if reduction == "mse":
        return sq.mean()
    raise ConfigError(f"kpd reduction must be 'paper' or 'mse', got {reduction!r}")


class DifferentialJointEncoder(nn.Module):
    """Channel-wise differential attention over joints, with a residual: ``F + Σ_i v_i ⊙ softmax_i ReLU(q_j − k_i)``.

    Args:
        channels: feature width ``C``.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.q, self.k, self.v = (nn.Linear(channels, channels, bias=False) for _ in range(3))

    def forward(self, f: Tensor) -> Tensor:
        """``(B, V, C)`` → ``(B, V, C)``."""
        h = self.norm(f)
        q, k, v = self.q(h), self.k(h), self.v(h)
        attn = torch.relu(q[:, None, :, :] - k[:, :, None, :]).softmax(dim=1)  # (B, i, j, C), over source i
        return f + (attn * v[:, :, None, :]).sum(1)


class KeyPartDecoupling(nn.Module):
    """Per-frame joint importance (MLP → softmax over joints) and the importance-weighted pooled feature.

    Args:
        channels: cube width ``C``.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.Linear(channels, channels), nn.ReLU(), nn.Linear(channels, 1))

    def forward(self, cube: Tensor) -> tuple[Tensor, Tensor]:
        """``(B, C, T, V)`` → pooled ``(B, C)`` and weights ``(B, T, V)`` (each frame's sum to 1)."""
        x = cube.permute(0, 2, 3, 1)  # (B, T, V, C)
        w = self.score(x).squeeze(-1).softmax(-1)
        return (x * w[..., None]).sum(2).mean(1), w


class CrossModalLayer(nn.Module):
    """One LXMERT-style layer: shared bidirectional cross-attention, self-attention per stream, FFN per stream.

    Every block is residual with a post-norm. Keys and values of each modality feed the other's queries.

    Args:
        dim: width of both streams.
        num_heads: attention heads.
        ffn_dim: hidden width of the feed-forward blocks (default ``4 * dim``).
        dropout: dropout after attention and FFN.
    """

    def __init__(self, dim: int, num_heads: int = 8, ffn_dim: int | None = None, dropout: float = 0.1) -> None:
        super().__init__()
        if dim % num_heads:
            raise ConfigError(f"cross-modal width {dim} is not divisible by num_heads={num_heads}")
        ffn_dim = ffn_dim or 4 * dim

        def attention() -> nn.MultiheadAttention:
            return nn.MultiheadAttention(dim, num_heads, dropout=dropout, batch_first=True)

        def ffn() -> nn.Sequential:
            return nn.Sequential(nn.Linear(dim, ffn_dim), nn.GELU(), nn.Linear(ffn_dim, dim), nn.Dropout(dropout))

        self.cross, self.cross_norm = attention(), nn.LayerNorm(dim)  # one module for both directions
        self.lang_self, self.visn_self = attention(), attention()
        self.lang_ffn, self.visn_ffn = ffn(), ffn()
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(4))
        self.drop = nn.Dropout(dropout)

    def forward(self, lang: Tensor, visn: Tensor, lang_padding: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``lang (B, L, D)``, ``visn (B, N, D)``, ``lang_padding (B, L)`` True at padding → both updated."""
        lang_x = self.cross_norm(lang + self.drop(self.cross(lang, visn, visn, need_weights=False)[0]))
        visn_x = self.cross_norm(
            visn + self.drop(self.cross(visn, lang, lang, key_padding_mask=lang_padding, need_weights=False)[0])
        )
        lang_s = self.norms[0](lang_x + self.drop(self.lang_self(lang_x, lang_x, lang_x, key_padding_mask=lang_padding,
                                                                 need_weights=False)[0]))  # fmt: skip
        visn_s = self.norms[1](visn_x + self.drop(self.visn_self(visn_x, visn_x, visn_x, need_weights=False)[0]))
        return self.norms[2](lang_s + self.lang_ffn(lang_s)), self.norms[3](visn_s + self.visn_ffn(visn_s))


@dataclass
class PromptBatch:
    """Token ids ``(B, L)``, attention mask ``(B, L)`` and MLM labels ``(B, L)`` (−100 where nothing is hidden)."""

    input_ids: Tensor
    attention_mask: Tensor
    labels: Tensor


class ContextPrompt:
    """Builds the slot prompt "Environment: … | Used object: … | Target object: …" for a word-piece language model.

    A hidden slot becomes as many ``[MASK]`` tokens as its value has word pieces, and its original ids are the
    MLM labels; a revealed slot keeps its words. Pieces are tokenised once each (cached), separately, and
    joined between the model's start and end tokens. At inference each slot is one bare ``[MASK]``.

    Args:
        encoder: the language model whose tokenizer is used (needs ``mask_token_id``).
        slots: slot names, in prompt order (keys of :data:`SLOT_LABELS`).
    """

    def __init__(self, encoder: TextEncoder, slots: Sequence[str]) -> None:
        unknown = [s for s in slots if s not in SLOT_LABELS]
        if unknown or not slots:
            raise ConfigError(f"unknown context slot(s) {unknown}; expected some of {list(SLOT_LABELS)}")
        if encoder.mask_token_id is None:
            raise ConfigError(f"the language model {type(encoder).__name__} has no [MASK] token; SCG needs one")
        self.encoder, self.slots = encoder, tuple(slots)
        self._pieces: dict[str, list[int]] = {}
        ends = self._ids("")
        if len(ends) != 2:
            raise ConfigError("the language model's tokenizer must wrap a text in one start and one end token")
        self.start, self.end = ends

    def _ids(self, text: str) -> list[int]:
        tokens = self.encoder.tokenize([text])
        return tokens.input_ids[0][tokens.attention_mask[0].bool()].tolist()

    def pieces(self, text: str) -> list[int]:
        """Word-piece ids of ``text`` without the start/end tokens (cached)."""
        if text not in self._pieces:
            self._pieces[text] = self._ids(text)[1:-1]
        return self._pieces[text]

    def build(self, values: Sequence[Sequence[str]] | None, masked: Tensor | None, batch_size: int = 1) -> PromptBatch:
        """The prompt batch for ``values`` (``B`` tuples of slot values) with ``masked (B, S)`` slots hidden.

        ``values=None`` builds the inference prompt (one ``[MASK]`` per slot, no labels), ``batch_size`` rows.
        """
        mask_id = int(self.encoder.mask_token_id)
        rows, labels = [], []
        for b in range(batch_size if values is None else len(values)):
            ids, lab = [self.start], [-100]
            for s, slot in enumerate(self.slots):
                label = self.pieces(("| " if s else "") + SLOT_LABELS[slot] + ":")
                ids += label
                lab += [-100] * len(label)
                if values is None:
                    ids.append(mask_id)
                    lab.append(-100)
                    continue
                word = self.pieces(values[b][s]) or [mask_id]
                hide = bool(masked[b, s])
                ids += [mask_id] * len(word) if hide else word
                lab += word if hide else [-100] * len(word)
            rows.append([*ids, self.end])
            labels.append([*lab, -100])
        width = max(len(r) for r in rows)
        pad = int(self.encoder.pad_token_id)
        out = torch.full((len(rows), width), pad, dtype=torch.long)
        att = torch.zeros((len(rows), width), dtype=torch.long)
        lab_t = torch.full((len(rows), width), -100, dtype=torch.long)
        for i, (r, lab) in enumerate(zip(rows, labels, strict=True)):
            out[i, : len(r)], att[i, : len(r)], lab_t[i, : len(r)] = torch.tensor(r), 1, torch.tensor(lab)
        return PromptBatch(out, att, lab_t)


class TiedMLMHead(nn.Module):
    """BERT's MLM head: dense + GELU + LayerNorm, then the word-embedding matrix (tied, passed in) plus a bias.

    With ``tied=False`` it owns a fresh decoder (the released code's untied head).
    """

    def __init__(self, dim: int, vocab_size: int, tied: bool = True) -> None:
        super().__init__()
        self.transform = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.LayerNorm(dim))
        self.bias = nn.Parameter(torch.zeros(vocab_size))
        self.decoder = None if tied else nn.Linear(dim, vocab_size, bias=False)

    def forward(self, hidden: Tensor, word_embeddings: Tensor) -> Tensor:
        """``(N, D)`` hidden states → ``(N, vocab)`` logits."""
        h = self.transform(hidden)
        weight = word_embeddings if self.decoder is None else self.decoder.weight
        return F.linear(h, weight, self.bias)


@dataclass
class SkeletonContextOutput:
    """Outputs of :class:`SkeletonContext`.

    Attributes:
        context: ``(B, D)`` L2-normalised context-branch embedding.
        part: ``(B, D)`` L2-normalised part-branch embedding.
        joint_weights: ``(B, T', V)`` KPD joint importance, or ``None`` without KPD.
        mlm_loss: the context-reconstruction loss ``L_ccr`` (a scalar), or ``None`` when nothing was hidden.
    """

    context: Tensor
    part: Tensor
    joint_weights: Tensor | None = None
    mlm_loss: Tensor | None = None


class SkeletonContext(nn.Module):
    """The SkeletonContext network (frozen skeleton encoder, context branch, part branch).

    Args:
        backbone: skeleton encoder ``(B, T, M, V, 3) → output with .cube (B, C, T', V)``, e.g.
            :class:`~sic.models.ShiftGCN`; frozen and kept in eval mode here.
        language_model: frozen word-piece language model for SCG (``bert-base-uncased`` in the paper); needed
            when ``scg=True``.
        text_dim: width of the class text embeddings the branches are aligned with (default: the language
            model's width).
        dje: use the Differential Joint Encoder on the context branch.
        scg: use Semantic Context Grounding (cross-modal layer + MLM reconstruction).
        kpd: use Key-Part Decoupling on the part branch (else mean pooling).
        slots: context slots in the prompt (Table 7 ablates them).
        num_heads: heads of the cross-modal layer (12 for BERT-base).
        ffn_dim: FFN width of the cross-modal layer (default ``4 ×`` the language model's width).
        dropout: dropout of the cross-modal layer.
        tied_mlm: tie the MLM decoder to the language model's word embeddings.
        attend_padding: legacy: attend padded prompt tokens, as the released code does.
        lm_cache_size: hidden states of this many distinct prompts are kept (the language model is frozen).
    """

    def __init__(
        self,
        backbone: nn.Module,
        language_model: TextEncoder | None = None,
        text_dim: int | None = None,
        dje: bool = True,
        scg: bool = True,
        kpd: bool = True,
        slots: Sequence[str] = ("environment", "used_object", "target_object"),
        num_heads: int = 8,
        ffn_dim: int | None = None,
        dropout: float = 0.1,
        tied_mlm: bool = True,
        attend_padding: bool = False,
        lm_cache_size: int = 4096,
    ) -> None:
        super().__init__()
        if scg and language_model is None:
            raise ConfigError("SkeletonContext(scg=True) needs a language_model")
        text_dim = text_dim or (language_model.hidden_size if language_model is not None else None)
        if text_dim is None:
            raise ConfigError("SkeletonContext needs text_dim when it has no language_model")
        channels = getattr(backbone, "out_channels", None) or backbone.channels[-1]
        self.backbone = backbone.requires_grad_(False).eval()
        self.use_dje, self.use_scg, self.use_kpd = dje, scg, kpd
        self.attend_padding, self.text_dim = attend_padding, text_dim
        self.dje = DifferentialJointEncoder(channels) if dje else None
        self.kpd = KeyPartDecoupling(channels) if kpd else None
        token_dim = language_model.hidden_size if scg else text_dim
        self.context_token = nn.Sequential(nn.Linear(channels, token_dim), nn.ReLU())
        self.context_proj = nn.Sequential(nn.Linear(token_dim, text_dim), nn.ReLU(), nn.Linear(text_dim, text_dim))
        self.part_proj = nn.Sequential(nn.Linear(channels, text_dim), nn.ReLU(), nn.Linear(text_dim, text_dim))
        self.language_model = language_model if scg else None
        self.slots = tuple(slots)
        if scg:
            self.prompt = ContextPrompt(language_model, slots)
            self.cross = CrossModalLayer(token_dim, num_heads, ffn_dim, dropout)
            self.mlm = TiedMLMHead(token_dim, language_model.vocab_size, tied=tied_mlm)
        self._lm_cache: OrderedDict[tuple[int, ...], Tensor] = OrderedDict()
        self.lm_cache_size = lm_cache_size

    def train(self, mode: bool = True) -> SkeletonContext:
        """Set the mode; the frozen backbone stays in eval mode (its BatchNorm statistics are fixed)."""
        super().train(mode)
        self.backbone.eval()
        return self

    def encode_skeleton(self, x: Tensor) -> Tensor:
        """``(B, T, M, V, 3)`` → the frozen backbone's cube ``(B, C, T', V)``."""
        with torch.no_grad():
            return self.backbone(x).cube

    def _lm_hidden(self, prompt: PromptBatch) -> Tensor:
        """Frozen language-model states ``(B, L, D)`` of the prompt rows, cached per distinct row."""
        ids, att = prompt.input_ids, prompt.attention_mask
        keys = [tuple(r[m.bool()].tolist()) for r, m in zip(ids, att, strict=True)]
        unique = list(dict.fromkeys(keys))
        found = {k: self._lm_cache[k] for k in unique if k in self._lm_cache}
        rows = [k for k in unique if k not in found]
        if rows:
            width = max(len(r) for r in rows)
            new_ids = torch.full((len(rows), width), int(self.language_model.pad_token_id), dtype=torch.long)
            new_att = torch.zeros_like(new_ids)
            for i, r in enumerate(rows):
                new_ids[i, : len(r)], new_att[i, : len(r)] = torch.tensor(r), 1
            device = self.language_model.device
            with torch.no_grad():
                hidden = self.language_model(input_ids=new_ids.to(device), attention_mask=new_att.to(device))
            found.update((r, hidden[i, : len(r)].detach()) for i, r in enumerate(rows))
        for k in unique:  # least recently used prompts leave first
            self._lm_cache[k] = found[k]
            self._lm_cache.move_to_end(k)
        while len(self._lm_cache) > self.lm_cache_size:
            self._lm_cache.popitem(last=False)
        out = torch.zeros(*ids.shape, self.language_model.hidden_size, device=self.language_model.device)
        for i, k in enumerate(keys):
            out[i, : len(k)] = found[k]
        return out

    def _ground(self, token: Tensor, values: Sequence[Sequence[str]] | None, masked: Tensor | None
                ) -> tuple[Tensor, Tensor | None]:  # fmt: skip
        """Cross-attend the visual token ``(B, D)`` with the prompt; the updated token and the MLM loss."""
        prompt = self.prompt.build(values, masked, batch_size=token.shape[0])
        hidden = self._lm_hidden(prompt).to(token.dtype)
        att = prompt.attention_mask.to(token.device)
        padding = None if self.attend_padding else att == 0
        lang, visn = self.cross(hidden, token[:, None], padding)
        labels = prompt.labels.to(token.device)
        hidden_rows = labels != -100
        if not hidden_rows.any():
            return visn[:, 0], None
        logits = self.mlm(lang[hidden_rows], self.language_model.word_embeddings.weight.to(token.dtype))
        per_token = F.cross_entropy(logits.float(), labels[hidden_rows], reduction="none")
        # Per-sample mean over its hidden tokens, then the batch mean (the released code's reduction).
        row = hidden_rows.nonzero()[:, 0]
        counts = hidden_rows.sum(1).clamp_min(1)
        per_sample = torch.zeros(token.shape[0], device=token.device).index_add_(0, row, per_token) / counts
        return visn[:, 0], per_sample[hidden_rows.any(1)].mean()

    def forward(self, x: Tensor, contexts: Sequence[Sequence[str]] | None = None, masked: Tensor | None = None
                ) -> SkeletonContextOutput:  # fmt: skip
        """Embed skeletons.

        Args:
            x: ``(B, T, M, V, 3)`` skeleton sequences.
            contexts: training only: ``B`` tuples of slot values (in :attr:`slots` order) of each sample's context.
            masked: ``(B, S)`` bool, the slots hidden from the prompt (the MLM targets); with ``contexts``.
        """
        cube = self.encode_skeleton(x).float()
        joints = cube.mean(2).transpose(1, 2)  # (B, V, C)
        if self.dje is not None:
            joints = self.dje(joints)
        token = self.context_token(joints.mean(1))
        mlm_loss = None
        if self.use_scg:
            if (contexts is None) != (masked is None):
                raise ValueError("pass both contexts and masked (training) or neither (inference)")
            token, mlm_loss = self._ground(token, contexts, masked)
        if self.kpd is not None:
            pooled, weights = self.kpd(cube)
        else:
            pooled, weights = cube.mean((2, 3)), None
        return SkeletonContextOutput(
            context=F.normalize(self.context_proj(token), dim=-1),
            part=F.normalize(self.part_proj(pooled), dim=-1),
            joint_weights=weights,
            mlm_loss=mlm_loss,
        )
