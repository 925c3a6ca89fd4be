import math

import pytest
import torch

from sic.models.skeleton_context import (
    ContextPrompt,
    CrossModalLayer,
    DifferentialJointEncoder,
    KeyPartDecoupling,
    SkeletonContext,
    class_scores,
    kpd_loss,
)
from sic.text import TinyTextEncoder
from sic.utils.errors import ConfigError


class CubeBackbone(torch.nn.Module):
    """A stand-in encoder: (B, T, M, V, 3) -> cube (B, C, T/2, V) through one linear layer and a BatchNorm."""

    channels = (8,)

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 8)
        self.bn = torch.nn.BatchNorm1d(8)

    def forward(self, x):
        h = self.lin(x).mean(2)[:, ::2]  # (B, T', V, C)
        h = self.bn(h.flatten(0, 2)).reshape(h.shape)
        return type("Out", (), {"cube": h.permute(0, 3, 1, 2)})


def tiny_lm():
    return TinyTextEncoder(hidden_size=16, num_heads=2, vocab_size=500)


def test_dje_matches_a_loop_reference():
    torch.manual_seed(0)
    dje = DifferentialJointEncoder(4)
    f = torch.randn(2, 3, 4)
    h = dje.norm(f)
    q, k, v = dje.q(h), dje.k(h), dje.v(h)
    expected = torch.empty_like(f)
    for b in range(2):
        for j in range(3):
            scores = torch.stack([torch.relu(q[b, j] - k[b, i]) for i in range(3)])  # (i, C)
            expected[b, j] = f[b, j] + (scores.softmax(0) * v[b]).sum(0)
    torch.testing.assert_close(dje(f), expected)


def test_kpd_weights_are_a_distribution_over_joints_and_pool_by_them():
    torch.manual_seed(0)
    kpd = KeyPartDecoupling(6)
    cube = torch.randn(2, 6, 4, 5)
    pooled, w = kpd(cube)
    assert w.shape == (2, 4, 5)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 4))
    expected = torch.einsum("bctv,btv->bc", cube, w) / 4
    torch.testing.assert_close(pooled, expected)


def test_kpd_loss_paper_and_mse_forms():
    w = torch.tensor([[[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]]])  # (B=1, T=2, V=3)
    prior = torch.tensor([[1.0, 1.0, 0.0]])  # -> (0.5, 0.5, 0)
    # frame 0 matches; frame 1 differs by (0.5, -0.5, 0): squared norm 0.5
    assert kpd_loss(w, prior, "paper").item() == pytest.approx(0.5)
    assert kpd_loss(w, prior, "mse").item() == pytest.approx(0.5 / 6)
    with pytest.raises(ConfigError, match="paper"):
        kpd_loss(w, prior, "sum")


def test_class_scores_are_mean_cosines_times_scale():
    emb = torch.tensor([[2.0, 0.0]])
    text = torch.tensor([[[1.0, 0.0], [0.0, 3.0]], [[-1.0, 0.0], [-1.0, 0.0]]])  # class 0: cos 1 and 0
    torch.testing.assert_close(class_scores(emb, text, scale=2.0), torch.tensor([[1.0, -2.0]]))


def test_prompt_expands_each_hidden_slot_to_its_word_pieces():
    lm = tiny_lm()
    prompt = ContextPrompt(lm, ("environment", "used_object", "target_object"))
    values = [("a busy kitchen", "a cup", "the mouth")]
    batch = prompt.build(values, torch.tensor([[True, False, True]]))
    ids, labels = batch.input_ids[0].tolist(), batch.labels[0].tolist()
    mask = lm.mask_token_id
    assert ids.count(mask) == 3 + 2  # "a busy kitchen" and "the mouth": 3 and 2 word tokens
    hidden = [i for i, lab in enumerate(labels) if lab != -100]
    assert [ids[i] for i in hidden] == [mask] * 5
    assert [labels[i] for i in hidden] == prompt.pieces("a busy kitchen") + prompt.pieces("the mouth")
    assert all(p in ids for p in prompt.pieces("a cup"))  # the revealed slot keeps its words
    # Inference: one bare [MASK] per slot, no labels.
    inf = prompt.build(None, None, batch_size=2)
    assert (inf.input_ids == mask).sum(1).tolist() == [3, 3]
    assert (inf.labels == -100).all()


def test_prompt_needs_a_mask_token_and_known_slots():
    lm = tiny_lm()
    with pytest.raises(ConfigError, match="unknown context slot"):
        ContextPrompt(lm, ("weather",))
    lm.mask_token_id = None
    with pytest.raises(ConfigError, match=r"\[MASK\]"):
        ContextPrompt(lm, ("environment",))


def test_cross_modal_layer_ignores_padding_content():
    torch.manual_seed(0)
    layer = CrossModalLayer(8, num_heads=2, dropout=0.0).eval()
    lang, visn = torch.randn(1, 5, 8), torch.randn(1, 1, 8)
    padding = torch.tensor([[False, False, False, True, True]])
    other = lang.clone()
    other[:, 3:] = torch.randn(1, 2, 8) * 10
    l1, v1 = layer(lang, visn, padding)
    l2, v2 = layer(other, visn, padding)
    torch.testing.assert_close(v1, v2)
    torch.testing.assert_close(l1[:, :3], l2[:, :3])
    _, v3 = layer(other, visn, None)  # attending padding (the legacy behaviour) changes the visual token
    assert not torch.allclose(v1, v3)


def _net(**kw):
    torch.manual_seed(0)
    return SkeletonContext(CubeBackbone(), tiny_lm(), num_heads=2, dropout=0.0, **kw)


def test_backbone_and_language_model_stay_frozen_in_eval_mode():
    net = _net().train()
    assert not net.backbone.training and not net.language_model.training
    assert not any(p.requires_grad for p in net.backbone.parameters())
    x = torch.randn(4, 8, 1, 5, 3)
    out = net(x, [("a gym", "bare hands", "the air")] * 4, torch.ones(4, 3, dtype=torch.bool))
    (out.context.sum() + out.part.sum() + out.mlm_loss).backward()
    assert all(p.grad is None for p in net.backbone.parameters())
    assert net.language_model.word_embeddings.weight.grad is None
    assert net.mlm.decoder is None  # tied: the decoder is the word-embedding table
    assert net.dje.q.weight.grad is not None and net.cross.cross.in_proj_weight.grad is not None


def test_mlm_loss_is_the_mean_of_per_sample_token_means():
    net = _net().eval()
    x = torch.randn(2, 8, 1, 5, 3)
    values = [("a gym", "bare hands", "the air"), ("a very large office room", "a pen", "paper")]
    masked = torch.tensor([[True, False, False], [True, False, False]])
    out = net(x, values, masked)
    # Reference: each sample alone gives its own token mean; the batch loss is their average.
    singles = [net(x[i : i + 1], values[i : i + 1], masked[i : i + 1]).mlm_loss for i in range(2)]
    assert out.mlm_loss.item() == pytest.approx(sum(s.item() for s in singles) / 2, rel=1e-5)
    assert 0 < out.mlm_loss.item() < 2 * math.log(net.language_model.vocab_size)


def test_language_model_cache_gives_the_uncached_states():
    net = _net().eval()
    x = torch.randn(3, 8, 1, 5, 3)
    values = [("a gym", "bare hands", "the air")] * 3
    masked = torch.tensor([[True, False, True], [False, True, False], [True, True, True]])
    first = net(x, values, masked)
    assert len(net._lm_cache) == 3
    second = net(x, values, masked)  # served from the cache
    net.lm_cache_size = 0
    net._lm_cache.clear()
    third = net(x, values, masked)
    torch.testing.assert_close(first.context, second.context)
    torch.testing.assert_close(first.context, third.context)
    assert len(net._lm_cache) == 0


def test_inference_needs_no_context_and_baseline_needs_no_language_model():
    net = _net().eval()
    out = net(torch.randn(2, 8, 1, 5, 3))
    assert out.mlm_loss is None and out.joint_weights.shape == (2, 4, 5)
    base = SkeletonContext(CubeBackbone(), None, text_dim=12, dje=False, scg=False, kpd=False)
    out = base(torch.randn(2, 8, 1, 5, 3))
    assert out.context.shape == (2, 12) and out.joint_weights is None
    torch.testing.assert_close(out.part.norm(dim=-1), torch.ones(2))
    with pytest.raises(ConfigError, match="language_model"):
        SkeletonContext(CubeBackbone(), None, text_dim=12)
    with pytest.raises(ValueError, match="both contexts and masked"):
        net(torch.randn(2, 8, 1, 5, 3), contexts=[("a", "b", "c")] * 2)
