"""Pose-adaptive prompting: gradients through the frozen encoder, slot layout and own-end pooling, static vs adaptive,
batch independence, ablation switches, and the lifter's injection rules."""

import pytest
import torch
from helpers.text_models import write_bert, write_clip

from sic.models import GAtFuN, PoseAdaptiveLifter, PoseAdaptivePrompt
from sic.text import HFTextEncoder, TinyTextEncoder
from sic.utils.errors import ConfigError

DIM = 16


def tiny_prompt(**kwargs) -> PoseAdaptivePrompt:
    torch.manual_seed(0)
    encoder = kwargs.pop("text_encoder", None) or TinyTextEncoder(hidden_size=12, num_layers=1)
    return PoseAdaptivePrompt(encoder, dim=DIM, context_dim=8, slot_dim=8, temporal_kernel=5, **kwargs)


@pytest.fixture(scope="module")
def hf_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    return {"bert": write_bert(root / "bert"), "clip": write_clip(root / "clip")}


def hf_encoder(hf_dirs, kind, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return HFTextEncoder(str(hf_dirs[kind]), kind=kind)


def test_context_trains_through_the_frozen_encoder_and_the_encoder_stays_unchanged():
    prompt = tiny_prompt()
    frozen = {n: p.clone() for n, p in prompt.text_encoder.named_parameters()}
    opt = torch.optim.SGD([p for p in prompt.parameters() if p.requires_grad], lr=0.1)
    slots, pooled = prompt(torch.randn(3, 7, 17, DIM))
    (slots.square().sum() + pooled.sum()).backward()
    assert prompt.context.grad is not None and prompt.context.grad.abs().sum() > 0
    for name, p in prompt.named_parameters():
        if p.requires_grad:  # every trainable part of the prompt path learns: pooling, gating, slot MLPs, context
            assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert all(p.grad is None and not p.requires_grad for p in prompt.text_encoder.parameters())
    context_before = prompt.context.detach().clone()
    opt.step()
    assert not torch.equal(prompt.context, context_before)
    assert all(torch.equal(p, frozen[n]) for n, p in prompt.text_encoder.named_parameters())


@pytest.mark.parametrize("kind", ["bert", "clip"])
def test_gradients_reach_the_context_through_frozen_hf_encoders(hf_dirs, kind, monkeypatch):
    prompt = tiny_prompt(text_encoder=hf_encoder(hf_dirs, kind, monkeypatch))
    prompt.train()
    assert not prompt.text_encoder.training  # a frozen encoder stays in eval mode (no dropout)
    slots, _ = prompt(torch.randn(2, 5, 17, DIM))
    slots.sum().backward()
    assert prompt.context.grad.abs().sum() > 0
    assert prompt.adapt.w2.grad.abs().sum() > 0
    assert all(p.grad is None for p in prompt.text_encoder.parameters())


def test_slot_sequence_is_frozen_words_then_context_then_end():
    prompt = tiny_prompt(mode="static", slots={"person": "a person", "arm": "arm"})
    enc = prompt.text_encoder
    seq, mask = prompt.prompt_embeddings(None)
    assert seq.shape[:2] == (1, 2) and mask.shape == seq.shape[:3]
    for k, text in enumerate(["a person", "arm"]):
        ids = enc.tokenize([text]).input_ids[0]  # [CLS] words [SEP]
        n = len(ids) + prompt.context_length
        assert mask[0, k].sum() == n and mask[0, k, :n].all()
        words = enc.embed_tokens(ids)
        torch.testing.assert_close(seq[0, k, : len(ids) - 1], words[:-1])  # p~_k: start and words (Eq. 15)
        torch.testing.assert_close(seq[0, k, len(ids) - 1 : n - 1], prompt.context[k])  # r_k (Eq. 14a)
        torch.testing.assert_close(seq[0, k, n - 1], words[-1])  # the slot's own end token


@pytest.mark.parametrize("kind", ["tiny", "bert", "clip"])
def test_each_slot_is_pooled_at_its_own_end_as_if_encoded_alone(hf_dirs, kind, monkeypatch):
    encoder = None if kind == "tiny" else hf_encoder(hf_dirs, kind, monkeypatch)
    words = {"tiny": {"a": "a person walks left", "b": "arm"}, "bert": {"a": "a person walks left", "b": "arm"},
             "clip": {"a": "per", "b": "a"}}[kind]  # fmt: skip
    prompt = tiny_prompt(text_encoder=encoder, slots=words)
    x = torch.randn(2, 5, 17, DIM)
    pooled = prompt.encode_prompts(x)  # slots padded to one length, encoded together
    seq, mask = prompt.prompt_embeddings(x)
    for b in range(2):
        for k in range(2):
            valid = seq[b, k][mask[b, k]][None]  # the slot's prompt alone, no padding
            alone = prompt.text_encoder(
                inputs_embeds=valid, attention_mask=torch.ones(1, valid.shape[1], dtype=torch.long)
            )
            expected = prompt.text_encoder.pool(alone, torch.ones(1, valid.shape[1], dtype=torch.long))
            torch.testing.assert_close(pooled[b, k], expected[0], atol=2e-5, rtol=1e-4)


def test_static_prompts_are_shared_and_adaptive_ones_follow_the_pose():
    x = torch.randn(2, 6, 17, DIM)
    static, _ = tiny_prompt(mode="static")(x)
    torch.testing.assert_close(static[0], static[1])
    adaptive, _ = tiny_prompt()(x)
    assert (adaptive[0] - adaptive[1]).abs().max() > 1e-6
    assert not hasattr(tiny_prompt(mode="static"), "slot_mlp")


@pytest.mark.parametrize("text_layers", [0, 2])
def test_samples_do_not_see_each_other(text_layers):
    prompt = tiny_prompt(text_layers=text_layers).eval()
    x = torch.randn(3, 6, 17, DIM)
    slots, pooled = prompt(x)
    y = x.clone()
    y[1:] = torch.randn_like(y[1:])
    slots2, pooled2 = prompt(y)
    torch.testing.assert_close(slots[0], slots2[0])
    torch.testing.assert_close(pooled[0], pooled2[0])
    torch.testing.assert_close(pooled, slots.mean(1) * prompt.pooled_scale)


def test_pooling_switches_and_their_errors():
    only_t = tiny_prompt(spatial=False)
    assert only_t.spatial is None and only_t.gating.spatial_logits is None
    only_s = tiny_prompt(temporal=False)
    assert only_s.temporal is None
    assert only_t.pose_context(torch.randn(2, 6, 17, DIM)).shape == (2, 8)
    assert tiny_prompt().pose_context(torch.randn(2, 6, 17, DIM)).shape == (2, 16)
    with pytest.raises(ConfigError, match="needs spatial or temporal"):
        tiny_prompt(spatial=False, temporal=False)
    with pytest.raises(ConfigError, match="mode"):
        tiny_prompt(mode="dynamic")
    with pytest.raises(ValueError, match=r"\(B, T, J, 16\)"):
        tiny_prompt()(torch.randn(2, 6, 17, DIM + 1))


def lifter(inject="both", prompt=True, **backbone):
    torch.manual_seed(0)
    net = GAtFuN(
        num_frames=6,
        dim=DIM,
        depth=2,
        num_heads=2,
        drop_path=0.0,
        text_dim=DIM if prompt else None,
        inject=inject,
        **backbone,
    )
    return PoseAdaptiveLifter(net, tiny_prompt() if prompt else None).eval()


def test_eq16_addition_only_when_the_attention_branch_takes_prompts():
    assert lifter("both").adds_pooled_prompt and lifter("attention").adds_pooled_prompt
    assert not lifter("refinement").adds_pooled_prompt and not lifter(prompt=False).adds_pooled_prompt
    x = torch.randn(2, 6, 17, 3)
    for inject in ("attention", "refinement", "both"):
        net = lifter(inject)
        out = net(x)
        with torch.no_grad():
            # other prompts (a random change: LayerNorms cancel a constant shift): the prediction changes in every mode
            net.prompt.context.add_(torch.randn_like(net.prompt.context))
        assert (net(x) - out).abs().max() > 1e-3, inject


def test_the_refinement_branch_is_blind_to_a_per_clip_constant():
    """Why inject='refinement' needs cross-attention: a constant added to every frame cancels in the velocities."""
    net = lifter(prompt=False, refinement=True).backbone
    tokens = net.embed(torch.randn(2, 6, 17, 3))
    shift = torch.randn(2, 1, 1, DIM)
    velocity = lambda t: torch.cat([t[:, 1:2] - t[:, :1], t[:, 1:] - t[:, :-1]], dim=1)  # noqa: E731
    torch.testing.assert_close(velocity(tokens + shift), velocity(tokens))


def test_lifter_configuration_errors_name_the_fix():
    with pytest.raises(ConfigError, match="text_dim"):
        PoseAdaptiveLifter(GAtFuN(num_frames=6, dim=DIM, depth=1, num_heads=2), tiny_prompt())
    with pytest.raises(ConfigError, match="no prompt module"):
        PoseAdaptiveLifter(GAtFuN(num_frames=6, dim=DIM, depth=1, num_heads=2, text_dim=DIM))
    with pytest.raises(ConfigError, match="prompt dim"):
        PoseAdaptiveLifter(GAtFuN(num_frames=6, dim=2 * DIM, depth=1, num_heads=2, text_dim=2 * DIM), tiny_prompt())


def test_lifter_state_dict_leaves_out_the_frozen_encoder_and_round_trips():
    net = lifter()
    state = net.state_dict()
    assert not any(k.startswith("prompt.text_encoder.") and k.endswith("weight") for k in state)
    other = lifter()
    with torch.no_grad():
        for p in other.parameters():
            if p.requires_grad:
                p.add_(0.5)
    other.load_state_dict(state)
    x = torch.randn(2, 6, 17, 3)
    torch.testing.assert_close(other(x), net(x))
