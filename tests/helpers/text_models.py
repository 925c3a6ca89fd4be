"""Tiny random Hugging Face text models written to a directory (no network): BERT with a word-level vocabulary, CLIP
with a letter-level BPE tokenizer."""

import json
import string

import pytest
import torch

WORDS = ["a", "person", "walks", "someone", "is", "walking", "the", "stock", "market", "fell", "raises", "arm", "left",
         "right"]  # fmt: skip
TEXTS = ["A person walks.", "someone is walking", "the stock market fell , right"]


def write_bert(root, **config):
    """A random 2-layer BERT with a word-level WordPiece vocabulary."""
    transformers = pytest.importorskip("transformers")
    root.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ",", ".", *WORDS]
    (root / "vocab.txt").write_text("\n".join(vocab) + "\n")
    (root / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "BertTokenizer", "do_lower_case": True}))
    kwargs = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
              "max_position_embeddings": 24, "vocab_size": len(vocab), **config}  # fmt: skip
    torch.manual_seed(0)
    transformers.BertModel(transformers.BertConfig(**kwargs)).save_pretrained(root)
    return root


def write_clip_tokenizer(root):
    vocab = ["<|startoftext|>", "<|endoftext|>", *string.ascii_lowercase, *(c + "</w>" for c in string.ascii_lowercase),
             "pe", "per</w>", ",</w>", ".</w>"]  # fmt: skip
    (root / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (root / "merges.txt").write_text("#version: 0.2\np e\npe r</w>\n")
    (root / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "CLIPTokenizer", "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}))  # fmt: skip
    return len(vocab)


def write_clip(root, eos_token_id=1):
    """A random 2-layer CLIP text model with a letter-level BPE tokenizer (eos = pad = id 1)."""
    transformers = pytest.importorskip("transformers")
    root.mkdir(parents=True, exist_ok=True)
    size = write_clip_tokenizer(root)
    config = transformers.CLIPTextConfig(vocab_size=size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                         num_attention_heads=4, max_position_embeddings=40, bos_token_id=0,
                                         eos_token_id=eos_token_id, pad_token_id=1)  # fmt: skip
    torch.manual_seed(0)
    transformers.CLIPTextModel(config).save_pretrained(root)
    return root
