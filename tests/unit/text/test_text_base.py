"""The TextEncoder interface on the tiny backend: pooling, freezing, train mode, checkpoints, configs."""

import copy
import warnings

import lightning as L
import pytest
import torch
from torch import nn

from sic.text import TextEncoder, TinyTextEncoder
from sic.utils.errors import CheckpointError

HIDDEN = torch.tensor(
    [[[1.0, 0.0], [3.0, 2.0], [5.0, 4.0], [100.0, 100.0]], [[2.0, 2.0], [4.0, 6.0], [100.0, 100.0], [100.0, 100.0]]]
)  # (B=2, L=4, D=2)
MASK = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
IDS = torch.tensor([[2, 3, 9, 0], [2, 7, 0, 0]])  # eos (3) in the first row only


class TestPooling:
    def test_mean_over_the_mask(self):
        pooled = TinyTextEncoder(pooling="mean").pool(HIDDEN, MASK)
        torch.testing.assert_close(pooled, torch.tensor([[3.0, 2.0], [3.0, 4.0]]))
        torch.testing.assert_close(TinyTextEncoder().pool(HIDDEN, MASK.bool()), pooled)

    def test_cls_is_the_first_position(self):
        torch.testing.assert_close(TinyTextEncoder(pooling="cls").pool(HIDDEN, MASK), HIDDEN[:, 0])

    def test_eos_is_the_first_eos_id_else_the_last_kept_token(self):
        enc = TinyTextEncoder(pooling="eos")
        assert enc.eos_token_id == 3
        torch.testing.assert_close(enc.pool(HIDDEN, MASK, IDS), torch.stack([HIDDEN[0, 1], HIDDEN[1, 1]]))
        torch.testing.assert_close(enc.pool(HIDDEN, MASK), torch.stack([HIDDEN[0, 2], HIDDEN[1, 1]]))  # no ids

    def test_eos_of_old_clip_configs_is_the_largest_id(self):
        enc = TinyTextEncoder(pooling="eos")
        enc._eos_is_max_id = True
        torch.testing.assert_close(enc.pool(HIDDEN, MASK, IDS), torch.stack([HIDDEN[0, 2], HIDDEN[1, 1]]))

    def test_eos_of_real_texts_is_sep(self):
        enc = TinyTextEncoder(pooling="eos")
        tokens = enc.tokenize(["a b", "a b c d"])
        hidden = enc(tokens.input_ids, tokens.attention_mask)
        torch.testing.assert_close(
            enc.pool(hidden, tokens.attention_mask, tokens.input_ids), torch.stack([hidden[0, 3], hidden[1, 5]])
        )

    def test_shape_check(self):
        with pytest.raises(ValueError, match=r"hidden \(B, L, D\) and mask \(B, L\)"):
            TinyTextEncoder().pool(HIDDEN, MASK[:, :3])


class TestFreezing:
    def test_frozen_weights_stay_put_while_prompt_embeddings_learn(self):
        enc = TinyTextEncoder()
        assert not any(p.requires_grad for p in enc.parameters())
        tokens = enc.tokenize(["a person walks", "someone jumps high"])
        prompt = nn.Parameter(torch.randn(1, 4, 32) * 0.02)  # GAtFuN-style learnable prompt vectors
        embeds = torch.cat([prompt.expand(2, -1, -1), enc.embed_tokens(tokens.input_ids)], dim=1)
        mask = torch.cat([torch.ones(2, 4, dtype=torch.long), tokens.attention_mask], dim=1)
        with enc.full_state_dict():
            before = copy.deepcopy(enc.state_dict())
        opt = torch.optim.SGD([prompt, *enc.parameters()], lr=1.0)
        hidden = enc(inputs_embeds=embeds, attention_mask=mask)
        loss = enc.pool(hidden, mask).square().sum()
        loss.backward()
        assert prompt.grad is not None and prompt.grad.abs().sum() > 0
        assert all(p.grad is None for p in enc.parameters())
        start = prompt.detach().clone()
        opt.step()
        assert not torch.equal(start, prompt)
        with enc.full_state_dict():
            after = enc.state_dict()
        assert all(torch.equal(before[k], after[k]) for k in before if isinstance(before[k], torch.Tensor))

    def test_gradient_reaches_an_inputs_embeds_leaf(self):
        enc = TinyTextEncoder()
        embeds = enc.embed_tokens(enc.tokenize(["a person walks"]).input_ids).detach().requires_grad_()
        enc(inputs_embeds=embeds).square().sum().backward()
        assert embeds.grad is not None and embeds.grad.abs().sum() > 0

    def test_stays_in_eval_mode_when_the_parent_trains(self):
        parent = nn.ModuleDict({"text": TinyTextEncoder(), "head": nn.Linear(32, 2)})
        parent.train()
        assert parent.training and parent["head"].training
        assert not any(m.training for m in parent["text"].modules())
        parent["text"].train()
        assert not parent["text"].training

    def test_freeze_false_trains(self):
        enc = TinyTextEncoder(freeze=False)
        assert all(p.requires_grad for p in enc.parameters())
        parent = nn.Sequential(enc).eval()
        assert not enc.training
        parent.train()
        assert all(m.training for m in enc.modules())
        tokens = enc.tokenize(["a person walks"])
        enc.encode(["a person walks"]).sum().backward()
        assert enc.word_embeddings.weight.grad[tokens.input_ids[0]].abs().sum() > 0


class Holder(nn.Module):
    def __init__(self, seed=0, freeze=True):
        super().__init__()
        self.text = TinyTextEncoder(seed=seed, freeze=freeze)
        self.head = nn.Linear(32, 3)


def round_trip(state, tmp_path):
    torch.save(state, tmp_path / "state.pt")
    return torch.load(tmp_path / "state.pt", weights_only=True)  # sic loads checkpoints with weights_only=True


class TestCheckpointPolicy:
    def test_frozen_weights_are_left_out_and_come_back(self, tmp_path):
        a = Holder()
        with torch.no_grad():
            a.head.weight.add_(1.0)
        state = a.state_dict()
        assert sorted(state) == ["head.bias", "head.weight", "text._extra_state"]
        assert state["text._extra_state"]["weights"] == "excluded"
        b = Holder()
        b.load_state_dict(round_trip(state, tmp_path))  # strict: no missing keys
        torch.testing.assert_close(b.head.weight, a.head.weight)
        torch.testing.assert_close(b.text.encode(["a person walks"]), a.text.encode(["a person walks"]))
        assert sorted(b.state_dict()) == sorted(state)  # still left out after loading

    def test_other_rebuilt_weights_are_refused(self, tmp_path):
        state = round_trip(Holder(seed=0).state_dict(), tmp_path)
        with pytest.raises(CheckpointError, match=r"text encoder 'text' was rebuilt with other weights"):
            Holder(seed=1).load_state_dict(state)
        with pytest.raises(CheckpointError):
            Holder(seed=1).load_state_dict(state, strict=False)
        b = Holder(seed=1)
        b.load_state_dict({k: v for k, v in state.items() if k != "text._extra_state"}, strict=False)  # the way out
        torch.testing.assert_close(b.text.encode(["a b"]), Holder(seed=1).text.encode(["a b"]))

    def test_trainable_weights_are_kept(self, tmp_path):
        a = Holder(freeze=False)
        state = a.state_dict()
        assert "text.embeddings.weight" in state and state["text._extra_state"] == {"weights": "included"}
        with torch.no_grad():
            a.text.embeddings.weight.add_(1.0)  # "fine-tuned"
        b = Holder(freeze=True)
        b.load_state_dict(round_trip(a.state_dict(), tmp_path))
        torch.testing.assert_close(b.text.embeddings.weight, a.text.embeddings.weight)
        # They cannot be rebuilt from the seed any more, so later checkpoints keep them.
        assert "text.embeddings.weight" in b.state_dict()
        c = Holder(freeze=True)
        c.load_state_dict(round_trip(b.state_dict(), tmp_path))
        torch.testing.assert_close(c.text.embeddings.weight, a.text.embeddings.weight)

    def test_checkpoint_with_the_construction_weights_keeps_them_left_out(self):
        a = Holder()
        with a.text.full_state_dict():
            full = a.state_dict()
        b = Holder()
        b.load_state_dict(full)
        assert "text.embeddings.weight" not in b.state_dict()

    def test_state_dicts_from_before_the_policy_load(self):
        a = Holder(freeze=False)
        old = {k: v for k, v in a.state_dict().items() if not k.endswith("_extra_state")}
        Holder(freeze=True).load_state_dict(old)
        Holder(freeze=False).load_state_dict(old)
        with pytest.raises(RuntimeError, match=r"Missing key\(s\).*text\.embeddings\.weight"):
            Holder().load_state_dict({k: v for k, v in old.items() if k != "text.embeddings.weight"})

    def test_trainable_encoder_refuses_a_frozen_checkpoint_of_other_weights(self):
        state = Holder(seed=0).state_dict()
        Holder(seed=0, freeze=False).load_state_dict(state)
        with pytest.raises(CheckpointError):
            Holder(seed=1, freeze=False).load_state_dict(state)

    def test_deepcopy_keeps_the_policy(self):
        enc = copy.deepcopy(TinyTextEncoder())
        assert list(enc.state_dict()) == ["_extra_state"]
        enc.load_state_dict(TinyTextEncoder().state_dict())

    def test_lightning_checkpoint_round_trip(self, tmp_path):
        class Module(L.LightningModule):
            def __init__(self, seed: int = 0):
                super().__init__()
                self.save_hyperparameters()
                self.text = TinyTextEncoder(seed=seed)
                self.head = nn.Linear(32, 1)

            def training_step(self, batch, batch_idx):
                del batch, batch_idx  # unused
                return self.head(self.text.encode(["a person walks", "someone jumps"])).square().mean()

            def configure_optimizers(self):
                return torch.optim.SGD(self.parameters(), lr=0.1)

        model = Module(seed=5)
        trainer = L.Trainer(
            max_steps=2,
            accelerator="cpu",
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            default_root_dir=tmp_path,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # few-worker and few-batch hints
            trainer.fit(model, torch.utils.data.DataLoader(torch.zeros(2, 1), batch_size=1))
        path = tmp_path / "model.ckpt"
        trainer.save_checkpoint(path)
        ckpt = torch.load(path, weights_only=True)
        assert sorted(ckpt["state_dict"]) == ["head.bias", "head.weight", "text._extra_state"]
        loaded = Module.load_from_checkpoint(path)
        torch.testing.assert_close(loaded.head.weight, model.head.weight)
        torch.testing.assert_close(loaded.text.encode(["a b"]), model.text.encode(["a b"]))


def test_built_from_a_config_through_jsonargparse():
    from jsonargparse import ArgumentError, ArgumentParser

    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--enc", type=TextEncoder)
    instantiate = getattr(parser, "instantiate", None) or parser.instantiate_classes  # renamed in jsonargparse 4.49
    cfg = parser.parse_object(
        {"enc": {"class_path": "sic.text.TinyTextEncoder", "init_args": {"hidden_size": 16, "num_heads": 2}}}
    )
    enc = instantiate(cfg).enc
    assert isinstance(enc, TinyTextEncoder) and enc.hidden_size == 16
    yaml = "enc:\n  class_path: TinyTextEncoder\n  init_args:\n    seed: 3\n    pooling: cls\n"
    enc = instantiate(parser.parse_string(yaml)).enc  # short name: sic.text is imported
    assert (enc.seed, enc.pooling, enc.hidden_size) == (3, "cls", 32)
    with pytest.raises(ArgumentError, match="pooling"):
        parser.parse_string(yaml.replace("cls", "max"))
