import sys
from pathlib import Path

import pytest
import torch

from sic.models import CopyPrompt, SkeletonInContext

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools"))
from reference_sic import ReferenceSiC  # noqa: E402

TINY = dict(dim=32, depth=3, num_heads=4, merge_layer=1)
REFERENCE_PROTOCOL = dict(tup="dynamic", tup_init="zero", tup_positional=False, aggregation="mean", analogy_residual=True)


def _inputs(b=3, f=16, j=17, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(b, f, j, 3, generator=g) for _ in range(4)]


@pytest.mark.parametrize("tup", ["dynamic", "static", "none"])
@pytest.mark.parametrize("frames,joints", [(16, 17), (8, 25)])
def test_output_shape(tup, frames, joints):
    net = SkeletonInContext(num_joints=joints, num_frames=frames, tup=tup, **TINY)
    if tup == "static":
        net.set_static_pose(torch.randn(frames, joints, 3))
    pi, pt, qi, _ = _inputs(2, frames, joints)
    assert net(pi, pt, qi).shape == (2, frames, joints, 3)


def test_parameter_counts_match_reference():
    # The reference counts 10,628,653 with a (1, 2F, J, 1) TUP factor of which only the last F
    # frames are used; we keep just the used F x J entries (272 fewer).
    dynamic = SkeletonInContext(**REFERENCE_PROTOCOL)
    static = SkeletonInContext(tup="static", aggregation="mean")
    assert sum(p.numel() for p in dynamic.parameters()) == 10_628_653 - 16 * 17
    assert sum(p.numel() for p in static.parameters()) == 10_627_853


def test_dynamic_tup_learns_by_default_and_not_under_zero_init():
    for init, expect_zero in (("normal", False), ("zero", True)):
        net = SkeletonInContext(tup_init=init, **TINY)
        pi, pt, qi, qt = _inputs()
        (net(pi, pt, qi) - qt).norm(dim=-1).mean().backward()
        grads = (net.tup_frames.grad.abs().sum(), net.tup_channels.grad.abs().sum())
        if expect_zero:
            assert all(g == 0 for g in grads)
        else:
            assert all(g > 0 for g in grads)


@pytest.mark.parametrize("tup", ["dynamic", "static", "none"])
def test_query_target_never_reaches_the_output(tup):
    # The signature has no query target at all; the test checks that the prediction depends on the
    # prompt target and query input only, i.e. changing anything else (a second query target, the
    # other samples) leaves a sample's output unchanged.
    net = SkeletonInContext(tup=tup, **TINY).eval()
    if tup == "static":
        net.set_static_pose(torch.randn(16, 17, 3))
    pi, pt, qi, _ = _inputs()
    out = net(pi, pt, qi)
    qi2 = qi.clone()
    qi2[1:] = torch.randn_like(qi2[1:])  # other samples change
    assert torch.allclose(net(pi, pt, qi2)[0], out[0], atol=1e-6)
    assert not torch.allclose(net(pi, pt + 1, qi)[0], out[0], atol=1e-3)  # the prompt target matters


def test_shared_prompt_cache_equals_uncached():
    net = SkeletonInContext(**TINY).eval()
    pi, pt, qi, _ = _inputs(b=5)
    cached = net(pi[:1], pt[:1], qi)
    uncached = net(pi[:1].expand_as(pi), pt[:1].expand_as(pt), qi)
    assert torch.allclose(cached, uncached, atol=1e-5)
    encoded = net.encode_prompt(pi[:1], pt[:1])
    assert encoded.tokens.shape[0] == 1
    assert torch.allclose(net.decode(encoded, qi), uncached, atol=1e-5)


def _load_reference_weights(ours: SkeletonInContext, ref: ReferenceSiC) -> None:
    with torch.no_grad():
        ours.joints_embed.load_state_dict(ref.joints_embed.state_dict())
        ours.pos_embed.copy_(ref.pos_embed[0])
        ours.temp_embed.copy_(ref.temp_embed[0])
        for i, block in enumerate(ours.blocks):
            for mine, theirs in ((block.st, ref.st[i]), (block.ts, ref.ts[i])):
                for layer, (norm_a, attn, norm_m, mlp) in zip(
                    mine, ((theirs.n1, theirs.a1, theirs.n2, theirs.m1), (theirs.n3, theirs.a2, theirs.n4, theirs.m2))
                ):
                    layer.norm1.load_state_dict(norm_a.state_dict())
                    layer.attn.qkv.load_state_dict(attn.qkv.state_dict())
                    layer.attn.proj.load_state_dict(attn.proj.state_dict())
                    layer.norm2.load_state_dict(norm_m.state_dict())
                    layer.mlp.fc1.load_state_dict(mlp[0].state_dict())
                    layer.mlp.fc2.load_state_dict(mlp[2].state_dict())
            block.fuse.load_state_dict(ref.fuse[i].state_dict())
        ours.norm.load_state_dict(ref.norm.state_dict())
        ours.pre_logits.load_state_dict(ref.pre_logits.state_dict())
        ours.head.load_state_dict(ref.head.state_dict())


def test_reference_protocol_reproduces_reference_forward():
    torch.manual_seed(0)
    ref = ReferenceSiC(dim=32, depth=3, num_heads=4).eval()
    for m in ref.modules():  # non-trivial weights everywhere, incl. the fusion layers
        if isinstance(m, (torch.nn.Linear, torch.nn.LayerNorm)):
            torch.nn.init.normal_(m.weight, std=0.2)
            torch.nn.init.normal_(m.bias, std=0.2)
    ours = SkeletonInContext(dim=32, depth=3, num_heads=4, merge_layer=2, **REFERENCE_PROTOCOL).eval()
    _load_reference_weights(ours, ref)
    pi, pt, qi, qt = _inputs()
    expected = ref(torch.cat([pi, pt], 1), torch.cat([qi, qt], 1))
    assert torch.allclose(ours(pi, pt, qi), expected, atol=1e-4)


def test_static_tup_requires_a_pose_and_per_task_rows():
    net = SkeletonInContext(tup="static", num_static_poses=5, **TINY)
    pi, pt, qi, _ = _inputs()
    with pytest.raises(RuntimeError, match="set_static_pose"):
        net(pi, pt, qi)
    poses = torch.randn(5, 16, 17, 3)
    net.set_static_pose(poses)
    task = torch.tensor([0, 3, 3])
    a = net(pi, pt, qi, task)
    b = net(pi, pt, qi, torch.tensor([0, 3, 4]))
    assert torch.allclose(a[:2], b[:2]) and not torch.allclose(a[2], b[2])
    with pytest.raises(ValueError, match="static pose"):
        net.set_static_pose(torch.randn(3, 16, 17, 3))


def test_bad_shapes_raise_clear_errors():
    net = SkeletonInContext(**TINY)
    pi, pt, qi, _ = _inputs()
    with pytest.raises(ValueError, match=r"query_input must have shape \(B, 16, 17, 3\)"):
        net(pi, pt, qi[:, :8])
    with pytest.raises(ValueError, match="merge_layer"):
        SkeletonInContext(depth=2, merge_layer=2)


def test_learned_aggregation_starts_at_the_mean():
    a = SkeletonInContext(aggregation="learned", **TINY).eval()
    b = SkeletonInContext(aggregation="mean", **TINY).eval()
    b.load_state_dict({k: v for k, v in a.state_dict().items() if k != "merge_weight"})
    pi, pt, qi, _ = _inputs()
    assert torch.allclose(a(pi, pt, qi), b(pi, pt, qi), atol=1e-6)


def test_copy_baseline_returns_the_prompt_target():
    pi, pt, qi, _ = _inputs()
    assert torch.equal(CopyPrompt()(pi, pt, qi), pt)
    assert CopyPrompt()(pi[:1], pt[:1], qi).shape == qi.shape


@pytest.mark.parametrize("shared", [True, False])
def test_chunked_inference_equals_one_batch(shared):
    net = SkeletonInContext(inference_chunk=2, **TINY).eval()
    pi, pt, qi, _ = _inputs(b=5)
    if shared:
        pi, pt = pi[:1], pt[:1]
    with torch.no_grad():
        chunked = net(pi, pt, qi)
        net.inference_chunk = None
        whole = net(pi, pt, qi)
    assert torch.allclose(chunked, whole, atol=1e-5)


@pytest.mark.slow
def test_paper_size_model_trains_one_step():
    net = SkeletonInContext()  # dim 256, depth 5, 8 heads: the paper's configuration
    pi, pt, qi, qt = _inputs(b=2)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-4)
    before = net.tup_channels.detach().clone()
    loss = (net(pi, pt, qi) - qt).norm(dim=-1).mean()
    loss.backward()
    opt.step()
    assert torch.isfinite(loss) and not torch.equal(before, net.tup_channels)
