"""The ``TextEncoder`` interface: tokenizer, frozen word-embedding table, hidden states, pooling.

Every backend (:class:`~sic.text.TinyTextEncoder`, :class:`~sic.text.HFTextEncoder`) implements
:meth:`TextEncoder.tokenize`, :attr:`TextEncoder.word_embeddings` and :meth:`TextEncoder.forward`;
this base adds pooling, :meth:`TextEncoder.encode`, the freeze policy (no gradients into the
weights, always in eval mode) and the checkpoint policy (frozen weights stay out of the state
dict; a digest checks that the rebuilt weights are the ones the checkpoint was saved with).

Example:
    >>> import torch
    >>> from sic.text import TinyTextEncoder
    >>> enc = TinyTextEncoder(hidden_size=8, num_heads=2)
    >>> hidden = torch.arange(12.0).reshape(1, 3, 4)  # (B, L, D)
    >>> enc.pool(hidden, torch.tensor([[1, 1, 0]])).tolist()  # mean over the two real tokens
    [[2.0, 3.0, 4.0, 5.0]]
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sic.utils.errors import CheckpointError

__all__ = ["Pooling", "TextEncoder", "TokenBatch"]

Pooling = Literal["mean", "cls", "eos"]
POOLINGS: tuple[str, ...] = ("mean", "cls", "eos")

_EXTRA = "_extra_state"


@dataclass
class TokenBatch:
    """Token ids and their padding mask, right-padded to the longest text of the batch.

    Attributes:
        input_ids: ``(B, L)`` int64 token ids; padding is ``pad_token_id``.
        attention_mask: ``(B, L)`` int64, 1 for a token and 0 for padding.
    """

    input_ids: Tensor
    attention_mask: Tensor

    def __len__(self) -> int:
        """Number of texts ``B``."""
        return self.input_ids.shape[0]

    def to(self, device: torch.device | str) -> TokenBatch:
        """Both tensors on ``device``."""
        return TokenBatch(self.input_ids.to(device), self.attention_mask.to(device))


class TextEncoder(nn.Module, ABC):
    """A (by default frozen) text encoder: tokenizer, word-embedding table, transformer, pooling.

    Subclasses set the attributes below, build their weights, then call :meth:`_finish_init`.

    Attributes:
        hidden_size: width ``D`` of the word embeddings and hidden states.
        vocab_size: rows of :attr:`word_embeddings`.
        pad_token_id: id used for padding by :meth:`tokenize`.
        max_length: most tokens per text (special tokens included) the encoder accepts.
        mask_token_id: id of the ``[MASK]`` token for masked-language-model use, or ``None``.
        eos_token_id: id of the end-of-text token used by ``"eos"`` pooling, or ``None``.
        pooling: the sentence-embedding rule of :meth:`pool` (``"mean"``, ``"cls"`` or ``"eos"``).
        frozen: the ``freeze`` argument: weights without gradients, module always in eval mode.

    Args:
        freeze: freeze the weights (default) or leave them trainable for fine-tuning.
    """

    hidden_size: int
    vocab_size: int
    pad_token_id: int
    max_length: int
    mask_token_id: int | None = None
    eos_token_id: int | None = None
    pooling: Pooling = "mean"

    def __init__(self, freeze: bool = True) -> None:
        super().__init__()
        self.frozen = freeze
        self._eos_is_max_id = False  # old CLIP configs: the end-of-text token is the largest id
        self._save_all = False
        self._digest: str | None = None  # of the weights built at construction, while frozen and unchanged
        # Module-level functions, not bound methods: deep copies and pickles of the module stay simple.
        register = getattr(self, "register_state_dict_post_hook", None) or self._register_state_dict_hook
        register(_drop_frozen_weights)
        self.register_load_state_dict_pre_hook(_restore_frozen_weights)

    def _finish_init(self) -> None:
        """Apply ``freeze`` once the weights exist: no gradients, eval mode."""
        if self.frozen:
            self.requires_grad_(False)
            self.train(False)
            self._digest = _digest(self._weights())

    # --- the three things a backend provides -------------------------------------------------

    @abstractmethod
    def tokenize(self, texts: Sequence[str], max_length: int | None = None) -> TokenBatch:
        """Token ids and mask ``(B, L)`` on the module's device.

        Args:
            texts: ``B`` strings.
            max_length: truncate each text to this many tokens (special tokens included); it is
                capped at :attr:`max_length`, the default.

        Returns:
            The batch, right-padded to its longest text.
        """

    @property
    @abstractmethod
    def word_embeddings(self) -> nn.Embedding:
        """The model's token-embedding table ``(vocab_size, hidden_size)`` (frozen unless ``freeze=False``)."""

    @abstractmethod
    def forward(self, input_ids: Tensor | None = None, attention_mask: Tensor | None = None,
                inputs_embeds: Tensor | None = None) -> Tensor:  # fmt: skip
        """Last hidden states ``(B, L, D)``.

        Args:
            input_ids: ``(B, L)`` token ids; exactly one of ``input_ids`` and ``inputs_embeds``.
            attention_mask: ``(B, L)``, 1 (or True) for tokens and 0 for padding; default: no padding.
            inputs_embeds: ``(B, L, D)`` word embeddings (e.g. :meth:`embed_tokens` output with
                learnable prompt vectors spliced in); position and type embeddings are added here.
                Gradients flow back to them even when the encoder is frozen.
        """

    # --- shared behaviour ----------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        """Device of the weights."""
        return self.word_embeddings.weight.device

    def embed_tokens(self, input_ids: Tensor) -> Tensor:
        """``(B, L)`` ids → ``(B, L, D)``: the ``inputs_embeds`` the model builds from ids (word embeddings only)."""
        return self.word_embeddings(input_ids.to(self.device))

    def pool(self, hidden: Tensor, attention_mask: Tensor, input_ids: Tensor | None = None) -> Tensor:
        """Sentence embeddings ``(B, D)`` from hidden states by this encoder's :attr:`pooling` rule.

        * ``"mean"``: mean of the hidden states over the mask (sentence-transformers).
        * ``"cls"``: the first position (``[CLS]``; BERT's pooler layer is not applied).
        * ``"eos"``: the end-of-text token (CLIP): the first position of ``eos_token_id`` in
          ``input_ids`` (for old CLIP configs, ``eos_token_id == 2``, the largest id). Without
          ``input_ids``, or in a row without that id, the last position the mask keeps.

        Args:
            hidden: ``(B, L, D)`` hidden states.
            attention_mask: ``(B, L)``, 1 (or True) for tokens, 0 for padding.
            input_ids: ``(B, L)`` token ids, used by ``"eos"`` pooling.
        """
        if hidden.ndim != 3 or attention_mask.shape != hidden.shape[:2]:
            raise ValueError(f"pool needs hidden (B, L, D) and mask (B, L), got {tuple(hidden.shape)} and "
                             f"{tuple(attention_mask.shape)}")  # fmt: skip
        mask = attention_mask.to(hidden.device)
        if self.pooling == "mean":
            weights = mask.to(hidden.dtype).unsqueeze(-1)
            return (hidden * weights).sum(1) / weights.sum(1).clamp_min(1e-9)
        if self.pooling == "cls":
            return hidden[:, 0]
        rows = torch.arange(hidden.shape[0], device=hidden.device)
        position = mask.long().sum(1).sub(1).clamp_min(0)  # last kept token (right padding)
        if input_ids is not None:
            ids = input_ids.to(hidden.device)
            if self._eos_is_max_id:
                position = ids.argmax(-1)
            elif self.eos_token_id is not None:
                is_eos = ids == self.eos_token_id
                position = torch.where(is_eos.any(-1), is_eos.int().argmax(-1), position)
        return hidden[rows, position]

    def encode(self, texts: Sequence[str], normalize: bool = True, max_length: int | None = None) -> Tensor:
        """Texts → sentence embeddings ``(B, D)``: :meth:`tokenize`, :meth:`forward`, :meth:`pool`.

        Args:
            texts: ``B`` strings.
            normalize: L2-normalise the embeddings.
            max_length: as in :meth:`tokenize`.
        """
        tokens = self.tokenize(texts, max_length=max_length)
        hidden = self(input_ids=tokens.input_ids, attention_mask=tokens.attention_mask)
        pooled = self.pool(hidden, tokens.attention_mask, tokens.input_ids)
        return F.normalize(pooled, dim=-1) if normalize else pooled

    def train(self, mode: bool = True) -> TextEncoder:
        """Set the training mode; a frozen encoder stays in eval mode (no dropout) whatever its parent asks."""
        return super().train(mode and not self.frozen)

    # --- checkpoint policy ---------------------------------------------------------------------

    @property
    def weights_in_state_dict(self) -> bool:
        """Whether :meth:`state_dict` holds the weights.

        No while the encoder is frozen and still has the weights it was built with (they are
        rebuilt at construction); yes when trainable, or once other weights were loaded into it.
        """
        return self._save_all or self._digest is None or any(p.requires_grad for p in self.parameters())

    @contextmanager
    def full_state_dict(self) -> Iterator[None]:
        """Within this context :meth:`state_dict` holds every weight, frozen or not (e.g. to export them)."""
        previous, self._save_all = self._save_all, True
        try:
            yield
        finally:
            self._save_all = previous

    def get_extra_state(self) -> dict[str, Any]:
        """What the checkpoint records in place of left-out weights: a digest of them."""
        if self.weights_in_state_dict:
            return {"weights": "included"}
        return {"weights": "excluded", "digest": self._digest}

    def set_extra_state(self, state: Any) -> None:
        """Nothing to restore: the load pre-hook checks the digest."""
        del state  # unused

    def _weights(self) -> dict[str, Tensor]:
        with self.full_state_dict():
            return {k: v for k, v in self.state_dict().items() if k != _EXTRA}


def _digest(tensors: dict[str, Tensor]) -> str:
    """SHA-1 of names, dtypes, shapes and bytes: equal exactly when the weights are bit-identical."""
    h = hashlib.sha1(usedforsecurity=False)
    for key in sorted(tensors):
        t = tensors[key].detach()
        h.update(f"{key}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(memoryview(t.cpu().contiguous().reshape(-1).view(torch.uint8).numpy()))
    return h.hexdigest()


def _drop_frozen_weights(module: TextEncoder, state_dict: dict[str, Any], prefix: str, local_metadata: Any) -> None:
    """State-dict post-hook: leave out the frozen weights, keep ``_extra_state`` (their digest)."""
    del local_metadata  # unused
    if module.weights_in_state_dict:
        return
    for key in [k for k in state_dict if k.startswith(prefix) and k != prefix + _EXTRA]:
        del state_dict[key]


def _restore_frozen_weights(module: TextEncoder, state_dict: dict[str, Any], prefix: str, local_metadata: Any,
                            strict: bool, missing_keys: list[str], unexpected_keys: list[str],
                            error_msgs: list[str]) -> None:  # fmt: skip
    """Load pre-hook: put back the weights a frozen checkpoint left out, once their digest matches."""
    del local_metadata, strict, missing_keys, unexpected_keys, error_msgs  # unused
    extra = state_dict.setdefault(prefix + _EXTRA, {"weights": "included"})  # checkpoints from before the policy
    mine = module._weights()
    if not isinstance(extra, dict) or extra.get("weights") != "excluded":
        # The checkpoint brings weights (strict loading reports any it lacks). Unless they are the
        # ones built at construction, keep them in later state dicts: they can no longer be rebuilt.
        incoming = {k: state_dict.get(prefix + k) for k in mine}
        if module._digest is not None and (
            any(not isinstance(v, Tensor) for v in incoming.values()) or _digest(incoming) != module._digest
        ):
            module._digest = None
        return
    if extra.get("digest") != (module._digest or _digest(mine)):
        # torch passes strict=True to every module's hooks whatever the caller asked, so this raises
        # always; dropping the key and loading with strict=False keeps the rebuilt weights instead.
        name = prefix.rstrip(".") or type(module).__name__
        raise CheckpointError(f"text encoder '{name}' was rebuilt with other weights than the checkpoint was "
                              "saved with, and its frozen weights are not in the checkpoint (did the model files "
                              f"or the seed change?); to keep the new ones, drop '{prefix}{_EXTRA}' from the "
                              "state dict and load with strict=False")  # fmt: skip
    for key, value in mine.items():
        state_dict.setdefault(prefix + key, value)
