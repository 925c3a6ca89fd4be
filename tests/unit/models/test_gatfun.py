import math

import numpy as np
import pytest
import torch

from sic.data.skeleton import get_layout
from sic.models import GATFUN_SIZES, GAtFuN
from sic.models.gatfun import drop_path, spatial_graph_adjacency, temporal_graph_adjacency

TINY = dict(num_frames=27, dim=16, depth=2, num_heads=2, drop_path=0.0)
TEXT_DIM, K = 8, 4


def _net(seed=0, **kw):
    torch.manual_seed(seed)
    return GAtFuN(**{**TINY, **kw}).eval()


def _x(b=2, t=9, j=17, c=3, seed=0):
    return torch.randn(b, t, j, c, generator=torch.Generator().manual_seed(seed))


def _text(b=2, k=K, d=TEXT_DIM, seed=1):
    return torch.randn(b, k, d, generator=torch.Generator().manual_seed(seed))


def _names(net):
    return [n for n, _ in net.named_parameters()]


# ------------------------------------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("refinement", [True, False])
@pytest.mark.parametrize("t", [27, 9])
def test_output_shape(refinement, t):
    net = _net(refinement=refinement)
    assert net(_x(t=t)).shape == (2, t, 17, 3)
    assert (net.num_joints, net.num_frames, net.dim, net.in_channels) == (17, 27, 16, 3)


def test_short_clip_uses_first_rows_of_temporal_embedding():
    net = _net()
    x = _x(t=5)
    expected = net.joint_embed(x) + net.spatial_pos + net.temporal_pos[:, :5]
    torch.testing.assert_close(net.embed(x), expected)
    torch.testing.assert_close(net(x), net.run(net.embed(x)))


def test_custom_joint_count_and_channels():
    chain = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=np.float32)
    net = _net(num_joints=3, in_channels=2, out_channels=4, adjacency=chain)
    assert net(_x(t=6, j=3, c=2)).shape == (2, 6, 3, 4)


# ----------------------------------------------------------------------------------------------- adjacencies


def test_spatial_adjacency_matches_hand_computed_double_normalisation_on_a_chain():
    adj = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=np.float64)
    deg = adj.sum(1)  # 1, 2, 1
    raw = np.zeros((3, 3))
    for i in range(3):
        raw[i, i] = 1.0 / deg[i]
        for j in range(3):
            if adj[i, j]:
                raw[i, j] = 1.0 / math.sqrt(deg[i] * deg[j])
    row = raw.sum(1)
    expected = raw / np.sqrt(np.outer(row, row))
    np.testing.assert_allclose(spatial_graph_adjacency(adj).numpy(), expected, rtol=1e-6)
    # A few entries by hand: row sums are 1 + 1/√2, 1/2 + √2, 1 + 1/√2.
    r0, r1 = 1 + 1 / math.sqrt(2), 0.5 + math.sqrt(2)
    assert expected[0, 0] == pytest.approx(1 / r0)
    assert expected[0, 1] == pytest.approx((1 / math.sqrt(2)) / math.sqrt(r0 * r1))
    net = _net(num_joints=3, adjacency=torch.as_tensor(adj))
    np.testing.assert_allclose(net.spatial_adjacency.numpy(), expected, rtol=1e-6)


def test_default_adjacency_is_h36m17():
    net = _net()
    expected = spatial_graph_adjacency(get_layout("h36m17").adjacency)
    torch.testing.assert_close(net.spatial_adjacency, expected)
    assert torch.equal(net.spatial_adjacency, net.spatial_adjacency.T)
    assert "spatial_adjacency" in dict(net.named_buffers())


@pytest.mark.parametrize(
    "bad", [np.ones((3, 4)), np.triu(np.ones((3, 3)), 1), np.eye(3), np.zeros((3, 3)), 0.5 * (1 - np.eye(3))]
)
def test_bad_adjacencies_are_rejected(bad):
    with pytest.raises(ValueError, match="adjacency"):
        spatial_graph_adjacency(bad)


def test_temporal_window_values_and_normalisation():
    raw = temporal_graph_adjacency(30, normalize=False, dtype=torch.float64)
    assert raw[0, 0].item() == pytest.approx(0.65, abs=0.01)
    assert raw[3, 8].item() == pytest.approx(0.5, abs=1e-9)
    assert raw[20, 10].item() == pytest.approx(0.35, abs=0.01)
    alt = temporal_graph_adjacency(30, alpha=0.5, beta=2.0, normalize=False, dtype=torch.float64)
    assert alt[0, 2].item() == pytest.approx(0.5)
    assert alt[0, 0].item() == pytest.approx(1 / (1 + math.exp(-1.0)))
    norm = temporal_graph_adjacency(30, dtype=torch.float64)
    torch.testing.assert_close(norm, norm.T)
    d = raw.sum(1).rsqrt()
    torch.testing.assert_close(norm, d[:, None] * raw * d[None, :])
    # Normalised for the actual T, not a crop of a longer clip's matrix.
    assert not torch.allclose(temporal_graph_adjacency(10, dtype=torch.float64), norm[:10, :10])


@pytest.mark.parametrize("scale", [False, True])
def test_temporal_graph_attention_matches_explicit_loop(scale):
    net = _net(temporal_scale=scale)
    mixer = net.vel_temporal_blocks[0].mixer
    b, t, j, c = 2, 5, 17, 16
    x = torch.randn(b, t, j, c)
    a_t = temporal_graph_adjacency(t)
    out = mixer(x, a_t)
    v, u = mixer.v(x), mixer.u(x)
    for bi, ji in [(0, 0), (1, 7)]:
        xs = x[bi, :, ji]  # (T, C)
        logits = xs @ xs.T / (math.sqrt(c) if scale else 1.0)
        expected = (a_t * logits.softmax(-1)) @ v[bi, :, ji] + u[bi, :, ji]
        torch.testing.assert_close(out[bi, :, ji], expected, rtol=1e-5, atol=1e-5)


def test_spatial_graph_attention_is_adjacency_times_v_plus_u():
    net = _net()
    mixer = net.vel_spatial_blocks[1].mixer
    x = torch.randn(2, 4, 17, 16)
    expected = torch.einsum("ik,btkc->btic", net.spatial_adjacency, mixer.v(x)) + mixer.u(x)
    torch.testing.assert_close(mixer(x, net.spatial_adjacency), expected)


# --------------------------------------------------------------------------------------------- gated fusion


def test_gate_starts_at_one_half():
    net = _net()
    for gate in [*net.spatial_gates, *net.temporal_gates]:
        assert not gate.linear.weight.any() and not gate.linear.bias.any()
    x, v = torch.randn(2, 6, 17, 16), torch.randn(2, 6, 17, 16)
    v_pose = torch.cat([x[:, 1:2] - x[:, :1], x[:, 1:] - x[:, :-1]], dim=1)
    _, v_fused = net.spatial_gates[0](x, v)
    torch.testing.assert_close(v_fused, 0.5 * v + 0.5 * v_pose)


def test_reintegration_is_one_step_from_the_old_tokens():
    net = _net()
    gate = net.temporal_gates[1]
    with torch.no_grad():
        gate.linear.bias.copy_(torch.tensor([50.0, -50.0]))  # alpha ~ (1, 0): pick v_gcn
    x = torch.arange(2 * 5 * 3 * 4, dtype=torch.float32).reshape(2, 5, 3, 4) ** 1.5  # non-linear in t
    v = torch.randn(2, 5, 3, 4)
    x_new, v_fused = gate(x, v)
    torch.testing.assert_close(v_fused, v)
    torch.testing.assert_close(x_new[:, 0], x[:, 0])
    for t in range(1, 5):
        torch.testing.assert_close(x_new[:, t], x[:, t - 1] + v[:, t])
    assert torch.equal(x, torch.arange(2 * 5 * 3 * 4, dtype=torch.float32).reshape(2, 5, 3, 4) ** 1.5)
    # Picking v_pose instead re-integrates the pose's own velocity: the tokens are unchanged.
    with torch.no_grad():
        gate.linear.bias.copy_(torch.tensor([-50.0, 50.0]))
    x_new, _ = gate(x, v)
    torch.testing.assert_close(x_new, x)


def test_gate_weights_depend_on_both_velocities_per_channel():
    net = _net()
    gate = net.spatial_gates[0]
    with torch.no_grad():
        gate.linear.weight.copy_(torch.tensor([[1.0, -2.0], [0.5, 0.25]]))
        gate.linear.bias.copy_(torch.tensor([0.1, -0.3]))
    v_gcn, v_pose = torch.randn(3, 4), torch.randn(3, 4)
    logits = gate.linear(torch.stack([v_gcn, v_pose], dim=-1))
    torch.testing.assert_close(gate.weights(v_gcn, v_pose), logits.softmax(-1)[..., 0])


# -------------------------------------------------------------------------------------------- independence


def test_samples_are_independent_in_eval():
    net = _net(text_dim=TEXT_DIM)
    x, text = _x(b=2), _text(b=2)
    out = net(x, text)
    x2, text2 = x.clone(), text.clone()
    x2[1], text2[1] = _x(b=1, seed=5)[0], _text(b=1, seed=6)[0]
    out2 = net(x2, text2)
    torch.testing.assert_close(out2[0], out[0])
    assert not torch.allclose(out2[1], out[1])


def test_text_is_paired_with_its_own_sample():
    net = _net(text_dim=TEXT_DIM)
    x, text = _x(b=3, t=6), _text(b=3)
    out = net(x, text)
    perm = torch.tensor([2, 0, 1])
    torch.testing.assert_close(net(x[perm], text[perm]), out[perm], rtol=1e-5, atol=1e-5)
    text2 = text.clone()
    text2[1] = _text(b=1, seed=9)[0]
    out2 = net(x, text2)
    torch.testing.assert_close(out2[0], out[0])
    torch.testing.assert_close(out2[2], out[2])
    assert not torch.allclose(out2[1], out[1])


def test_text_tokens_may_differ_in_number():
    net = _net(text_dim=TEXT_DIM)
    assert net(_x(), _text(k=1)).shape == net(_x(), _text(k=7)).shape == (2, 9, 17, 3)


# ---------------------------------------------------------------------------------------------- text modes


@pytest.mark.parametrize("inject", ["attention", "refinement", "both"])
def test_text_changes_the_output_and_gets_gradient(inject):
    net = _net(text_dim=TEXT_DIM, inject=inject)
    assert (net.text_attn is not None) == (inject in ("attention", "both"))
    assert (net.vel_text_attn is not None) == (inject in ("refinement", "both"))
    x = _x()
    text = _text().requires_grad_(True)
    out = net(x, text)
    assert not torch.allclose(out, net(x, _text(seed=3)), atol=1e-6)
    assert not torch.allclose(out, net(x), atol=1e-6)
    out.square().sum().backward()
    assert text.grad is not None and text.grad.abs().sum() > 0


def test_refinement_only_injection_has_no_pose_cross_attention():
    net = _net(text_dim=TEXT_DIM, inject="refinement")
    assert net.text_attn is None
    assert not any(n.startswith("text_attn.") for n in _names(net))
    assert any(n.startswith("vel_text_attn.") for n in _names(net))


def test_text_layer_selects_the_injection_layer():
    net = _net(text_dim=TEXT_DIM, inject="attention", text_layer=1)
    calls = []
    net.text_attn.register_forward_hook(lambda m, i, o: calls.append(i[0].shape))
    net(_x(), _text())
    assert calls == [torch.Size([2, 9, 17, 16])]


def test_plain_transformer_lifter_has_no_velocity_stream():
    net = _net(refinement=False, text_dim=TEXT_DIM, inject="attention")
    names = _names(net)
    assert not any("vel" in n or "gate" in n for n in names)
    assert "spatial_adjacency" not in dict(net.named_buffers())
    x = _x()
    assert net(x, _text()).shape == (2, 9, 17, 3)
    assert net(x).shape == (2, 9, 17, 3)
    assert len(names) < len(_names(_net(text_dim=TEXT_DIM, inject="attention")))
    with pytest.raises(ValueError, match="inject"):
        GAtFuN(**TINY, refinement=False, text_dim=TEXT_DIM, inject="both")


def test_text_cross_attention_output_projection_is_not_zero():
    net = _net(text_dim=TEXT_DIM)
    assert net.text_attn.proj.weight.abs().sum() > 0
    assert net.vel_text_attn.proj.weight.abs().sum() > 0


# ------------------------------------------------------------------------------------------ device, training


def test_cpu_buffers_and_state_dict_round_trip():
    net = _net(text_dim=TEXT_DIM).to(torch.device("cpu"))
    assert all(b.device.type == "cpu" for b in net.buffers())
    other = _net(seed=7, text_dim=TEXT_DIM)
    x, text = _x(), _text()
    assert not torch.allclose(other(x, text), net(x, text))
    other.load_state_dict(net.state_dict())
    torch.testing.assert_close(other(x, text), net(x, text))


def test_drop_path_rates_grow_with_depth_and_vanish_at_eval():
    net = GAtFuN(**{**TINY, "depth": 3, "drop_path": 0.3})
    rates = [blk.drop_path.p for blk in net.spatial_blocks]
    assert rates == pytest.approx([0.0, 0.15, 0.3])
    assert [blk.drop_path.p for blk in net.vel_temporal_blocks] == pytest.approx(rates)
    x = _x(b=4)
    net.eval()
    torch.testing.assert_close(net(x), net(x))
    net.train()
    torch.manual_seed(0)
    assert not torch.allclose(net(x), net(x))


def test_drop_path_helper():
    x = torch.ones(1000, 3)
    torch.manual_seed(0)
    out = drop_path(x, 0.25, training=True)
    kept = out[:, 0] != 0
    assert torch.equal(out[kept], torch.full_like(out[kept], 1 / 0.75))
    assert (out[~kept] == 0).all()
    assert 0.65 < kept.float().mean() < 0.85
    assert drop_path(x, 0.25, training=False) is x


def test_gradients_reach_all_streams():
    net = _net(text_dim=TEXT_DIM).train()
    net(_x(), _text()).sum().backward()
    for name in ["joint_embed.weight", "temporal_pos", "spatial_blocks.0.mixer.qkv.weight",
                 "vel_spatial_blocks.0.mixer.v.weight", "vel_temporal_blocks.1.mixer.u.weight",
                 "spatial_gates.0.linear.weight", "temporal_gates.1.linear.bias"]:  # fmt: skip
        grad = dict(net.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


# --------------------------------------------------------------------------------------------- validation


def test_bad_input_shapes_name_the_expected_shape():
    net = _net(text_dim=TEXT_DIM)
    with pytest.raises(ValueError, match=r"\(B, T, 17, 3\)"):
        net(_x(j=16))
    with pytest.raises(ValueError, match=r"\(B, T, 17, 3\)"):
        net(_x(c=2))
    with pytest.raises(ValueError, match=r"\(B, T, 17, 3\)"):
        net(torch.randn(9, 17, 3))
    with pytest.raises(ValueError, match=r"T=28.*num_frames=27"):
        net(_x(t=28))
    with pytest.raises(ValueError, match=r"\(2, K, 8\)"):
        net(_x(), _text(d=7))
    with pytest.raises(ValueError, match=r"\(2, K, 8\)"):
        net(_x(), _text(b=3))
    with pytest.raises(ValueError, match=r"\(2, K, 8\)"):
        net(_x(), torch.randn(2, 8))
    with pytest.raises(ValueError, match=r"\(B, T, 17, 16\)"):
        net.run(torch.randn(2, 9, 17, 8))
    with pytest.raises(ValueError, match="2 frames"):
        net(_x(t=1))
    with pytest.raises(ValueError, match="text_dim"):
        _net()(_x(), _text())


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(dim=15), "num_heads"),
        (dict(text_layer=2), "text_layer"),
        (dict(text_layer=-1), "text_layer"),
        (dict(adjacency=np.zeros((16, 16))), "adjacency"),
        (dict(refinement=False, adjacency=np.zeros((16, 16))), "adjacency"),
        (dict(num_joints=16), "adjacency"),
        (dict(text_dim=TEXT_DIM, inject="text"), "inject"),
        (dict(drop_path=1.0), "drop_path"),
        (dict(depth=0), "depth"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, name):
    with pytest.raises(ValueError, match=name):
        GAtFuN(**{**TINY, **kwargs})


def test_presets():
    assert GATFUN_SIZES["243"] == dict(num_frames=243, dim=512, depth=8, num_heads=8, mlp_ratio=2.0, drop_path=0.1)
    net = GAtFuN.preset("27").eval()
    assert (net.num_frames, net.dim, net.depth) == (27, 128, 4)
    assert net(_x(b=1, t=4)).shape == (1, 4, 17, 3)
    small = GAtFuN.preset("81", dim=32, depth=1, text_dim=TEXT_DIM)
    assert (small.num_frames, small.dim, small.depth, small.text_dim) == (81, 32, 1, TEXT_DIM)
    with pytest.raises(KeyError, match="27"):
        GAtFuN.preset("100")
