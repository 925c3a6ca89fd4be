"""TinyTextEncoder: the hashing word tokenizer, seeded weights, padding, ids vs inputs_embeds."""

import pytest
import torch

from sic.text import TinyTextEncoder, WordTokenizer
from sic.utils.errors import ConfigError


class TestWordTokenizer:
    def test_ids_are_stable_lowercase_and_split_punctuation(self):
        tok = WordTokenizer(vocab_size=1000, max_length=16)
        assert tok(["Hello, world!"]).input_ids.tolist() == [[2, 965, 748, 786, 146, 3]]  # crc32: the same everywhere
        assert tok(["HELLO ,WORLD !"]).input_ids.tolist() == tok(["hello, world!"]).input_ids.tolist()
        assert WordTokenizer(1000, 16)(["hello"]).input_ids.tolist() == tok(["hello"]).input_ids.tolist()
        assert all(5 <= i < 1000 for i in tok(["some words that hash anywhere"]).input_ids[0, 1:-1].tolist())

    def test_special_token_strings_give_special_ids(self):
        tok = WordTokenizer(vocab_size=1000, max_length=16)
        ids = tok(["a person is [MASK] ."]).input_ids[0].tolist()
        assert ids[0] == WordTokenizer.cls_token_id and ids[-1] == WordTokenizer.sep_token_id
        assert ids[4] == WordTokenizer.mask_token_id == 4

    def test_padding_to_the_longest_text(self):
        batch = WordTokenizer(1000, 16)(["one", "one two three", ""])
        assert batch.input_ids.shape == batch.attention_mask.shape == (3, 5)
        assert batch.input_ids.dtype == batch.attention_mask.dtype == torch.int64
        assert batch.attention_mask.sum(1).tolist() == [3, 5, 2]
        assert batch.input_ids[0, 3:].tolist() == [0, 0] and batch.attention_mask[0, 3:].tolist() == [0, 0]
        assert len(batch) == 3

    def test_truncation_keeps_cls_and_sep_and_is_capped_at_max_length(self):
        tok = WordTokenizer(1000, max_length=6)
        text = "one two three four five six seven eight"
        full = WordTokenizer(1000, max_length=64)([text]).input_ids[0].tolist()
        assert tok([text]).input_ids[0].tolist() == [*full[:5], 3]
        assert tok([text], max_length=4).input_ids[0].tolist() == [*full[:3], 3]
        assert tok([text], max_length=100).input_ids.shape == (1, 6)  # capped
        with pytest.raises(ValueError, match="room for"):
            tok([text], max_length=1)

    def test_rejects_a_bare_string_and_an_empty_batch(self):
        tok = WordTokenizer(1000, 8)
        with pytest.raises(TypeError, match="not one str"):
            tok("a person walks")
        with pytest.raises(ValueError, match="at least one"):
            tok([])


class TestTinyTextEncoder:
    def test_same_seed_same_weights_whatever_the_global_rng(self):
        torch.manual_seed(1)
        a = TinyTextEncoder(seed=3)
        torch.manual_seed(2)
        state = torch.random.get_rng_state()
        b = TinyTextEncoder(seed=3)
        assert torch.equal(state, torch.random.get_rng_state())  # building one draws nothing from it
        c = TinyTextEncoder(seed=4)
        with a.full_state_dict(), b.full_state_dict(), c.full_state_dict():
            sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
        tensors = [k for k, v in sa.items() if isinstance(v, torch.Tensor)]
        assert len(tensors) == 2 + 2 * 12 + 2  # embeddings, positions, 2 blocks of 12, final norm
        assert all(torch.equal(sa[k], sb[k]) for k in tensors)
        assert not torch.equal(sa["embeddings.weight"], sc["embeddings.weight"])
        assert torch.equal(sa["norm.weight"], torch.ones(32)) and torch.equal(sa["norm.bias"], torch.zeros(32))

    def test_attributes(self):
        enc = TinyTextEncoder(hidden_size=16, num_heads=2, vocab_size=500, max_length=12)
        assert (enc.hidden_size, enc.vocab_size, enc.max_length) == (16, 500, 12)
        assert (enc.pad_token_id, enc.mask_token_id, enc.eos_token_id) == (0, 4, 3)
        assert enc.word_embeddings.weight.shape == (500, 16)
        assert enc.pooling == "mean"

    def test_shapes_and_padding_does_not_change_the_real_tokens(self):
        enc = TinyTextEncoder()
        tokens = enc.tokenize(["a person walks", "someone waves both arms above the head"])
        hidden = enc(tokens.input_ids, tokens.attention_mask)
        assert hidden.shape == (2, tokens.input_ids.shape[1], 32)
        alone = enc.tokenize(["a person walks"])
        torch.testing.assert_close(hidden[0, :5], enc(alone.input_ids, alone.attention_mask)[0])
        torch.testing.assert_close(
            enc.encode(["a person walks", "x y z w v u t"])[0], enc.encode(["a person walks"])[0]
        )
        torch.testing.assert_close(enc.encode(["a b c"]).norm(dim=-1), torch.ones(1))
        assert enc.encode(["a b c"], normalize=False).norm() != pytest.approx(1.0)

    def test_inputs_embeds_from_embed_tokens_equal_input_ids(self):
        enc = TinyTextEncoder()
        tokens = enc.tokenize(["a person walks", "someone is walking quickly"])
        embeds = enc.embed_tokens(tokens.input_ids)
        assert embeds.shape == (2, tokens.input_ids.shape[1], 32)
        torch.testing.assert_close(
            enc(inputs_embeds=embeds, attention_mask=tokens.attention_mask),
            enc(input_ids=tokens.input_ids, attention_mask=tokens.attention_mask),
        )

    def test_forward_argument_errors(self):
        enc = TinyTextEncoder(max_length=8)
        ids = torch.ones(1, 4, dtype=torch.long)
        with pytest.raises(ValueError, match="exactly one"):
            enc(ids, inputs_embeds=enc.embed_tokens(ids))
        with pytest.raises(ValueError, match="exactly one"):
            enc()
        with pytest.raises(ValueError, match="exceed max_length=8"):
            enc(torch.ones(1, 9, dtype=torch.long))

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"hidden_size": 30, "num_heads": 4}, "multiple of num_heads"),
            ({"vocab_size": 5}, "special tokens"),
            ({"max_length": 1}, "room for"),
            ({"pooling": "max"}, "unknown pooling 'max'"),
        ],
    )
    def test_config_errors(self, kwargs, match):
        with pytest.raises(ConfigError, match=match):
            TinyTextEncoder(**kwargs)
