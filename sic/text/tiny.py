"""``TinyTextEncoder``: a seeded, pure-PyTorch text encoder for tests and CPU smoke configs.

The tokenizer is word level and needs no vocabulary file: lower-cased words and single
punctuation marks are hashed (``zlib.crc32``) into the ids after the five special tokens
``[PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4``; the literal strings ``[MASK]`` etc. in a text
give the special ids. Each text becomes ``[CLS] tokens [SEP]``. The network is a small pre-norm
transformer with learned positions whose weights come from a ``torch.Generator`` seeded by
``seed``: equal seeds give equal encoders whatever the global random state, and building one
leaves that state untouched.

Example:
    >>> from sic.text import TinyTextEncoder
    >>> enc = TinyTextEncoder(vocab_size=1000)
    >>> enc.tokenize(["Hello, world!", "hi"]).input_ids.tolist()
    [[2, 965, 748, 786, 146, 3], [2, 287, 3, 0, 0, 0]]
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sic.text.base import POOLINGS, TextEncoder, TokenBatch
from sic.utils.errors import ConfigError

__all__ = ["SPECIAL_TOKENS", "TinyTextEncoder", "WordTokenizer"]

SPECIAL_TOKENS: tuple[str, ...] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
_PIECES = re.compile(r"\[(?:PAD|UNK|CLS|SEP|MASK)\]|\w+|[^\w\s]")


class WordTokenizer:
    """Deterministic word-level tokenizer: regex split, lower case, crc32 hash into the vocabulary.

    Args:
        vocab_size: number of ids, the five special ones included.
        max_length: default and largest number of tokens per text, ``[CLS]`` and ``[SEP]`` included.
    """

    pad_token_id, unk_token_id, cls_token_id, sep_token_id, mask_token_id = range(len(SPECIAL_TOKENS))

    def __init__(self, vocab_size: int, max_length: int) -> None:
        if vocab_size <= len(SPECIAL_TOKENS):
            raise ConfigError(f"vocab_size must exceed the {len(SPECIAL_TOKENS)} special tokens, got {vocab_size}")
        if max_length < 2:
            raise ConfigError(f"max_length must leave room for [CLS] and [SEP], got {max_length}")
        self.vocab_size, self.max_length = vocab_size, max_length

    def token_id(self, piece: str) -> int:
        """Id of one piece (a word, a punctuation mark or a special token)."""
        if piece in SPECIAL_TOKENS:
            return SPECIAL_TOKENS.index(piece)
        n = len(SPECIAL_TOKENS)
        return n + zlib.crc32(piece.lower().encode("utf-8")) % (self.vocab_size - n)

    def ids(self, text: str, max_length: int | None = None) -> list[int]:
        """``[CLS] tokens [SEP]`` of one text, truncated to ``max_length`` (capped at the tokenizer's)."""
        limit = self.max_length if max_length is None else min(max_length, self.max_length)
        if limit < 2:
            raise ValueError(f"max_length must leave room for [CLS] and [SEP], got {max_length}")
        body = [self.token_id(p) for p in _PIECES.findall(text)][: limit - 2]
        return [self.cls_token_id, *body, self.sep_token_id]

    def __call__(self, texts: Sequence[str], max_length: int | None = None) -> TokenBatch:
        """Right-padded ``(B, L)`` ids and mask of ``texts`` (``L``: the longest text)."""
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, not one str")
        if len(texts) == 0:
            raise ValueError("tokenize needs at least one text")
        rows = [self.ids(t, max_length) for t in texts]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[i, : len(row)] = 1
        return TokenBatch(ids, mask)


class _Block(nn.Module):
    """Pre-norm transformer layer: self-attention over unpadded keys, then a GELU MLP."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.out = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: Tensor, keep: Tensor) -> Tensor:
        """``x`` ``(B, L, D)``, ``keep`` ``(B, 1, 1, L)`` bool (True: attend) → ``(B, L, D)``."""
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(b, n, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
        x = x + self.out(attended.transpose(1, 2).reshape(b, n, d))
        return x + self.mlp(self.norm2(x))


class TinyTextEncoder(TextEncoder):
    """A small seeded transformer text encoder with a hashing word tokenizer; no ``transformers`` needed.

    Args:
        hidden_size: width ``D``.
        num_layers: transformer layers.
        num_heads: attention heads (must divide ``hidden_size``).
        vocab_size: ids, the five special tokens included.
        max_length: most tokens per text (``[CLS]``/``[SEP]`` included); also the number of positions.
        seed: seed of the weight initialisation.
        freeze: no gradients into the weights and always in eval mode (default), or trainable.
        pooling: sentence-embedding rule of :meth:`pool`: ``"mean"``, ``"cls"`` or ``"eos"`` (``[SEP]``).
    """

    def __init__(
        self,
        hidden_size: int = 32,
        num_layers: int = 2,
        num_heads: int = 4,
        vocab_size: int = 4096,
        max_length: int = 64,
        seed: int = 0,
        freeze: bool = True,
        pooling: Literal["mean", "cls", "eos"] = "mean",
    ) -> None:
        super().__init__(freeze=freeze)
        if hidden_size <= 0 or num_heads <= 0 or hidden_size % num_heads:
            raise ConfigError(f"hidden_size ({hidden_size}) must be a positive multiple of num_heads ({num_heads})")
        if num_layers < 0:
            raise ConfigError(f"num_layers must be >= 0, got {num_layers}")
        if pooling not in POOLINGS:
            raise ConfigError(f"unknown pooling '{pooling}': expected one of {', '.join(POOLINGS)}")
        self.tokenizer = WordTokenizer(vocab_size, max_length)
        self.hidden_size, self.vocab_size, self.max_length, self.seed = hidden_size, vocab_size, max_length, seed
        self.pad_token_id = WordTokenizer.pad_token_id
        self.mask_token_id = WordTokenizer.mask_token_id
        self.eos_token_id = WordTokenizer.sep_token_id
        self.pooling = pooling
        with torch.device("meta"):  # allocate without touching the global random state
            self.embeddings = nn.Embedding(vocab_size, hidden_size)
            self.positions = nn.Embedding(max_length, hidden_size)
            self.layers = nn.ModuleList(_Block(hidden_size, num_heads) for _ in range(num_layers))
            self.norm = nn.LayerNorm(hidden_size)
        self.to_empty(device="cpu")
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if p.ndim > 1:
                    p.normal_(0.0, 0.02, generator=generator)
                else:
                    p.fill_(1.0 if name.endswith("weight") else 0.0)  # 1-D weights are LayerNorm gains
        self._finish_init()

    @property
    def word_embeddings(self) -> nn.Embedding:
        """The token-embedding table ``(vocab_size, hidden_size)``."""
        return self.embeddings

    def tokenize(self, texts: Sequence[str], max_length: int | None = None) -> TokenBatch:
        """Right-padded ids and mask ``(B, L)`` on the module's device (see :class:`WordTokenizer`)."""
        return self.tokenizer(texts, max_length).to(self.device)

    def forward(self, input_ids: Tensor | None = None, attention_mask: Tensor | None = None,
                inputs_embeds: Tensor | None = None) -> Tensor:  # fmt: skip
        """Last hidden states ``(B, L, D)`` from ids ``(B, L)`` or word embeddings ``(B, L, D)``."""
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids and inputs_embeds")
        x = self.embed_tokens(input_ids) if inputs_embeds is None else inputs_embeds
        b, n = x.shape[:2]
        if n > self.max_length:
            raise ValueError(f"{n} tokens exceed max_length={self.max_length}")
        keep = (torch.ones(b, n, dtype=torch.bool, device=x.device) if attention_mask is None
                else attention_mask.to(device=x.device, dtype=torch.bool))  # fmt: skip
        x = x + self.positions.weight[:n]
        for layer in self.layers:
            x = layer(x, keep[:, None, None, :])
        return self.norm(x)
