import math

import numpy as np
import pytest
import torch

from sic.models.shift_gcn import (
    AdaptiveShift,
    ShiftGCN,
    ShiftGraphConv,
    adaptive_shift,
    load_shift_gcn_weights,
    spatial_shift_index,
)
from sic.utils.errors import CheckpointError, ConfigError

TINY = dict(num_classes=4, num_joints=5, num_persons=2, channels=(8, 16), strides=(1, 2))


def _tiny(seed=0, **kw):
    torch.manual_seed(seed)
    return ShiftGCN(**{**TINY, **kw})


def _x(b=2, t=8, m=2, v=5, c=3, seed=0, dtype=torch.float32):
    return torch.randn(b, t, m, v, c, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _kernel_reference(x, xpos, ypos, stride):
    """Literal loop version of the public shift_cuda forward kernel (floor, four corners, zero padding)."""
    x = np.asarray(x, dtype=np.float64)
    n, c, h_in, w_in = x.shape
    h_out = h_in // stride
    ypos = np.asarray(ypos, dtype=np.float64) + (0.5 if stride != 1 else 0.0)
    xpos = np.asarray(xpos, dtype=np.float64)
    out = np.zeros((n, c, h_out, w_in))

    def read(b, ch, h, w):
        return x[b, ch, h, w] if 0 <= h < h_in and 0 <= w < w_in else 0.0

    for b in range(n):
        for ch in range(c):
            x1, y1 = math.floor(xpos[ch]), math.floor(ypos[ch])
            dx, dy = xpos[ch] - x1, ypos[ch] - y1
            for h in range(h_out):
                for w in range(w_in):
                    hh, ww = h * stride, w
                    out[b, ch, h, w] = (read(b, ch, hh + y1, ww + x1) * (1 - dx) * (1 - dy)
                                        + read(b, ch, hh + y1, ww + x1 + 1) * dx * (1 - dy)
                                        + read(b, ch, hh + y1 + 1, ww + x1) * (1 - dx) * dy
                                        + read(b, ch, hh + y1 + 1, ww + x1 + 1) * dx * dy)  # fmt: skip
    return out


# ------------------------------------------------------------------------------------------------ temporal shift


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("t", [8, 7])
def test_adaptive_shift_matches_kernel_formula(stride, t):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 6, t, 4, generator=g, dtype=torch.float64)
    ypos = torch.tensor([-2.7, -1.0, -0.3, 0.0, 0.6, 3.2], dtype=torch.float64)
    xpos = torch.tensor([0.0, 1e-8, -1e-8, 0.4, -1.3, 2.0], dtype=torch.float64)
    out = adaptive_shift(x, xpos, ypos, stride)
    assert out.shape == (2, 6, t // stride, 4)
    np.testing.assert_allclose(out.numpy(), _kernel_reference(x, xpos, ypos, stride), atol=1e-12)


def test_adaptive_shift_integer_offsets_by_hand():
    x = torch.arange(1.0, 7.0).view(1, 1, 6, 1).repeat(1, 3, 1, 1)  # frames 1..6 in each of 3 channels
    zero = torch.zeros(3)
    out = adaptive_shift(x, zero, torch.tensor([2.0, -1.0, 0.0]))[0, :, :, 0]
    assert out.tolist() == [[3, 4, 5, 6, 0, 0], [0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6]]
    # stride 2 adds +0.5: an offset of -0.5 samples frames 0, 2, 4 exactly; +0.5 samples 1, 3, 5
    out = adaptive_shift(x, zero, torch.tensor([-0.5, 0.5, 1.5]), stride=2)[0, :, :, 0]
    assert out.tolist() == [[1, 3, 5], [2, 4, 6], [3, 5, 0]]
    # stride 2 with offset 0 interpolates halfway between frames 2t' and 2t'+1
    out = adaptive_shift(x, zero, torch.zeros(3), stride=2)[0, 0, :, 0]
    assert out.tolist() == [1.5, 3.5, 5.5]


def test_adaptive_shift_along_joints_by_hand():
    x = torch.arange(1.0, 5.0).view(1, 1, 1, 4)  # one frame, joints 1..4
    out = adaptive_shift(x, torch.tensor([1.0]), torch.zeros(1))
    assert out.flatten().tolist() == [2, 3, 4, 0]
    out = adaptive_shift(x, torch.tensor([-0.5]), torch.zeros(1))
    assert out.flatten().tolist() == [0.5, 1.5, 2.5, 3.5]


@pytest.mark.parametrize("stride", [1, 2])
def test_adaptive_shift_gradcheck(stride):
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, 6, 4, generator=g, dtype=torch.float64, requires_grad=True)
    ypos = torch.tensor([-1.3, 0.4, 2.2], dtype=torch.float64, requires_grad=True)
    xpos = torch.tensor([0.3, -0.6, 1.1], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b, c: adaptive_shift(a, b, c, stride), (x, xpos, ypos))


def test_offset_gradient_by_hand():
    # y[t] = (1 - a) x[t + i0] + a x[t + i0 + 1] with a = ypos - floor(ypos): dy/dypos = x[t + i0 + 1] - x[t + i0]
    x = torch.tensor([0.0, 1.0, 4.0, 9.0, 16.0]).view(1, 1, 5, 1)
    ypos = torch.tensor([0.25], requires_grad=True)
    adaptive_shift(x, torch.zeros(1), ypos).sum().backward()
    assert ypos.grad.item() == pytest.approx((1 - 0) + (4 - 1) + (9 - 4) + (16 - 9) + (0 - 16))


def test_constrained_offset_grad_rule():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 4, 6, 3, generator=g)
    shift = AdaptiveShift(4, stride=2, offset_grad="constrained")
    ref = AdaptiveShift(4, stride=2)
    ref.load_state_dict(shift.state_dict())
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    w = torch.randn(2, 4, 3, 3, generator=g)
    (shift(xa) * w).sum().backward()
    (ref(xb) * w).sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad)  # the input gradient is exact in both modes
    assert torch.equal(shift.xpos.grad, torch.zeros(4))
    torch.testing.assert_close(shift.ypos.grad, 0.01 * ref.ypos.grad.sign())


def test_adaptive_shift_init_ranges():
    torch.manual_seed(0)
    s = AdaptiveShift(256, stride=2)
    assert s.ypos.abs().max() <= 1.0 and s.ypos.std() > 0.4
    assert s.xpos.abs().max() <= 1e-8


# ------------------------------------------------------------------------------------------------ spatial shift


def test_spatial_shift_index_by_hand():
    # joint v, channel c reads joint (v + c) mod V: V = 3, C = 2
    assert spatial_shift_index(3, 2).view(3, 2).tolist() == [[0, 3], [2, 5], [4, 1]]
    assert spatial_shift_index(3, 2, inverse=True).view(3, 2).tolist() == [[0, 5], [2, 1], [4, 3]]
    fwd, inv = spatial_shift_index(25, 64), spatial_shift_index(25, 64, inverse=True)
    assert torch.equal(fwd[inv], torch.arange(25 * 64)) and torch.equal(inv[fwd], torch.arange(25 * 64))


def test_shift_graph_conv_against_numpy():
    torch.manual_seed(0)
    v, c = 4, 3
    layer = ShiftGraphConv(c, c, num_joints=v).eval()
    with torch.no_grad():
        layer.Feature_Mask.normal_()
        layer.Linear_bias.normal_()
    x = torch.randn(2, c, 5, v)
    got = layer(x).detach().numpy()
    xn, w = x.numpy().astype(np.float64), layer.Linear_weight.detach().numpy().astype(np.float64)
    mask = np.tanh(layer.Feature_Mask.detach().numpy()[0]) + 1  # (V, C)
    b = layer.Linear_bias.detach().numpy().reshape(-1)
    want = np.zeros_like(xn)
    for u in range(v):  # z[u, d] = sum_c x[(u + c) % V, c] · mask[u, c] · W[c, d] + b[d]
        z = sum(xn[:, ch, :, (u + ch) % v, None] * mask[u, ch] * w[ch] for ch in range(c)) + b  # (N, T, D)
        for d in range(c):  # shift-out: y[v', d] = z[(v' - d) % V, d], i.e. z[u, d] lands on joint (u + d) % V
            want[:, d, :, (u + d) % v] = z[..., d]
    want = np.maximum(want / np.sqrt(1 + layer.bn.eps) + xn, 0)  # fresh BN in eval, identity residual, ReLU
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------------------------------------ network


def test_published_config_shapes_and_size():
    torch.manual_seed(0)
    net = ShiftGCN(num_classes=60).eval()
    backbone = sum(p.numel() for n, p in net.named_parameters() if not n.startswith("fc."))
    assert backbone == 677_687  # about 0.678 M (about 0.693 M with a 60-way fc)
    assert backbone + 256 * 60 + 60 == sum(p.numel() for p in net.parameters())
    with torch.no_grad():
        out = net(torch.randn(1, 64, 2, 25, 3))
    assert out.logits.shape == (1, 60) and out.features.shape == (1, 256)
    assert out.cube.shape == (1, 256, 16, 25)
    torch.testing.assert_close(out.features, out.cube.mean((2, 3)))
    torch.testing.assert_close(out.logits, net.fc(out.features))


@pytest.mark.parametrize(("t", "t_out"), [(8, 4), (7, 3), (2, 1)])
def test_tiny_config_shapes(t, t_out):
    net = _tiny().eval()
    out = net(_x(t=t))
    assert out.logits.shape == (2, 4) and out.features.shape == (2, 16) and out.cube.shape == (2, 16, t_out, 5)
    assert (net.num_joints, net.num_persons, net.feature_dim, net.num_classes) == (5, 2, 16, 4)


def test_nctvm_layout_matches_btmvc():
    a, b = _tiny(layout="btmvc").eval(), _tiny(layout="nctvm").eval()
    b.load_state_dict(a.state_dict())
    x = _x()
    torch.testing.assert_close(b(x.permute(0, 4, 1, 3, 2)).logits, a(x).logits)


def test_person_permutation_does_not_change_logits():
    x = _x(b=3)
    swapped = x.flip(2)
    with torch.no_grad():
        net = _tiny()  # train mode: the batch statistics move with the persons
        torch.testing.assert_close(net(swapped).logits, net(x).logits, rtol=1e-4, atol=1e-5)
        net = _tiny().eval()  # fresh running statistics are the same for every person
        torch.testing.assert_close(net(swapped).logits, net(x).logits, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(net(swapped).cube, net(x).cube, rtol=1e-4, atol=1e-5)


def test_persons_are_pooled_not_concatenated():
    net = _tiny().eval()
    x = _x(b=1)
    single = _tiny(num_persons=1).eval()
    single.load_state_dict({k: v for k, v in net.state_dict().items() if not k.startswith("data_bn.")}, strict=False)
    with torch.no_grad():
        cubes = [single(x[:, :, i : i + 1]).cube for i in range(2)]
        torch.testing.assert_close(net(x).cube, (cubes[0] + cubes[1]) / 2, rtol=1e-4, atol=1e-5)


def test_state_dict_names_follow_the_public_code():
    sd = ShiftGCN(num_classes=60).state_dict()
    shapes = {
        "data_bn.weight": (150,),
        "l1.gcn1.Linear_weight": (3, 64),
        "l1.gcn1.Linear_bias": (1, 1, 64),
        "l1.gcn1.Feature_Mask": (1, 25, 3),
        "l1.gcn1.shift_in": (75,),
        "l1.gcn1.shift_out": (1600,),
        "l1.gcn1.bn.running_var": (1600,),
        "l1.gcn1.down.0.weight": (64, 3, 1, 1),
        "l1.gcn1.down.1.weight": (64,),
        "l1.tcn1.bn.weight": (64,),
        "l1.tcn1.bn2.weight": (64,),
        "l1.tcn1.shift_in.xpos": (64,),
        "l1.tcn1.shift_in.ypos": (64,),
        "l1.tcn1.shift_out.ypos": (64,),
        "l1.tcn1.temporal_linear.weight": (64, 64, 1, 1),
        "l5.residual.conv.weight": (128, 64, 1, 1),
        "l5.residual.bn.running_mean": (128,),
        "l8.residual.conv.weight": (256, 128, 1, 1),
        "l10.tcn1.temporal_linear.bias": (256,),
        "fc.weight": (60, 256),
        "fc.bias": (60,),
    }
    for key, shape in shapes.items():
        assert tuple(sd[key].shape) == shape, key
    assert sd["l1.gcn1.shift_in"].dtype == torch.int64
    assert not any(k.startswith(("l1.residual", "l2.residual", "l2.gcn1.down", "drop")) for k in sd)
    assert {k.split(".")[0] for k in sd} == {"data_bn", "fc"} | {f"l{i}" for i in range(1, 11)}
    assert len(sd) == 302


def test_reset_classifier():
    net = _tiny().double()
    net.reset_classifier(7)
    assert net.fc.weight.shape == (7, 16) and net.fc.weight.dtype == torch.float64
    assert net(_x(dtype=torch.float64)).logits.shape == (2, 7)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (dict(channels=(8, 16), strides=(1,)), "equal length"),
        (dict(channels=()), "non-empty"),
        (dict(strides=(1, 0)), ">= 1"),
        (dict(num_joints=0), "num_joints"),
        (dict(dropout=1.0), "dropout"),
        (dict(layout="ntvc"), "layout"),
        (dict(offset_grad="sign"), "offset_grad"),
    ],
)
def test_bad_arguments(kw, match):
    with pytest.raises(ConfigError, match=match):
        _tiny(**kw)


def test_bad_inputs():
    net = _tiny()
    with pytest.raises(ConfigError, match=r"5-d"):
        net(torch.randn(2, 8, 5, 3))
    with pytest.raises(ConfigError, match=r"\(M, V, C\) = \(2, 5, 3\).*\(2, 25, 3\)"):
        net(_x(v=25))
    with pytest.raises(ConfigError, match="at least 2 frames"):
        net(_x(t=1))


def test_training_step_lowers_loss():
    net = _tiny(dropout=0.1)
    x, y = _x(b=8, seed=5), torch.arange(8) % 4
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        loss = torch.nn.functional.cross_entropy(net(x).logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert net.l1.tcn1.shift_in.ypos.grad is not None and net.l1.tcn1.shift_in.ypos.grad.abs().sum() > 0
    assert net.l1.gcn1.Feature_Mask.grad.abs().sum() > 0


# -------------------------------------------------------------------------------------------------- checkpoints


def _trained(seed=1, **kw):
    net = _tiny(seed=seed, **kw)
    net(_x(b=4, seed=seed))  # move the running statistics away from their initial values
    return net.eval()


def _same(a, b):
    with torch.no_grad():
        torch.testing.assert_close(a(_x()).logits, b(_x()).logits)


@pytest.mark.parametrize(
    ("prefix", "wrap"),
    [
        ("", None),
        ("module.", None),
        ("feature_extractor.", None),
        ("module.feature_extractor.", None),
        ("net.backbone.", "state_dict"),
        ("backbone.", "model"),
        ("net.", "state_dict"),
    ],
)
def test_loader_round_trip(tmp_path, prefix, wrap):
    src = _trained()
    state = {prefix + k: v for k, v in src.state_dict().items()}
    if prefix:  # other sub-modules of a larger model are ignored
        state["prompt.weight"] = torch.zeros(3)
        if prefix.count(".") > 1:
            state[prefix.split(".")[0] + ".head.weight"] = torch.zeros(3)
    obj = {wrap: state, "epoch": 3} if wrap else state
    torch.save(obj, tmp_path / "w.pt")
    dst = _tiny(seed=2).eval()
    result = load_shift_gcn_weights(dst, tmp_path / "w.pt")
    assert result.prefix == prefix
    assert not (result.missing or result.unexpected or result.mismatched)
    _same(src, dst)


def test_loader_reads_legacy_pickle_and_old_batchnorm(tmp_path):
    src = _trained()
    state = {k: v for k, v in src.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    dst = _tiny(seed=2).eval()
    load_shift_gcn_weights(dst, tmp_path / "old.pt")
    _same(src, dst)


def test_loader_skip_classifier(tmp_path):
    src = _trained(num_classes=55)
    torch.save({"state_dict": {"net." + k: v for k, v in src.state_dict().items()}}, tmp_path / "seen.ckpt")
    dst = _tiny(seed=2, num_classes=60).eval()
    fc_before = dst.fc.weight.clone()
    with pytest.raises(CheckpointError, match=r"seen\.ckpt.*fc\.weight \(55, 16\) vs \(60, 16\).*skip_classifier"):
        load_shift_gcn_weights(dst, tmp_path / "seen.ckpt")
    result = load_shift_gcn_weights(dst, tmp_path / "seen.ckpt", skip_classifier=True)
    assert not any(k.startswith("fc.") for k in result.loaded)
    assert torch.equal(dst.fc.weight, fc_before)
    with torch.no_grad():
        torch.testing.assert_close(dst(_x()).cube, src(_x()).cube)


def test_loader_missing_and_unexpected_keys(tmp_path):
    state = _trained().state_dict()
    del state["l2.gcn1.Feature_Mask"]
    torch.save(state, tmp_path / "a.pt")
    with pytest.raises(CheckpointError, match=r"a\.pt.*missing: l2\.gcn1\.Feature_Mask"):
        load_shift_gcn_weights(_tiny(), tmp_path / "a.pt")
    state["l2.gcn1.Feature_Mask"] = torch.zeros(1, 5, 16)
    state["l3.gcn1.Linear_weight"] = torch.zeros(16, 16)
    torch.save(state, tmp_path / "b.pt")
    with pytest.raises(CheckpointError, match=r"b\.pt.*unexpected: l3\.gcn1\.Linear_weight"):
        load_shift_gcn_weights(_tiny(), tmp_path / "b.pt")
    # not strict: what fits is loaded and the rest is reported
    dst = _tiny()
    result = load_shift_gcn_weights(dst, tmp_path / "b.pt", strict=False)
    assert result.unexpected == ["l3.gcn1.Linear_weight"]
    assert result.mismatched == ["l2.gcn1.Feature_Mask"]  # (1, 5, 16) vs (1, 5, 8)
    assert torch.equal(dst.l1.gcn1.Linear_weight, state["l1.gcn1.Linear_weight"])


def test_loader_rejects_another_shift_pattern(tmp_path):
    state = _trained().state_dict()
    state["l1.gcn1.shift_in"] = torch.arange(15)
    torch.save(state, tmp_path / "perm.pt")
    with pytest.raises(CheckpointError, match=r"mismatched.*l1\.gcn1\.shift_in"):
        load_shift_gcn_weights(_tiny(), tmp_path / "perm.pt")


def test_loader_bad_files(tmp_path):
    with pytest.raises(CheckpointError, match=r"nope\.pt' does not exist"):
        load_shift_gcn_weights(_tiny(), tmp_path / "nope.pt")
    (tmp_path / "bad.pt").write_bytes(b"\x80\x02not a checkpoint")
    with pytest.raises(CheckpointError, match=r"bad\.pt' is corrupt"):
        load_shift_gcn_weights(_tiny(), tmp_path / "bad.pt")
    good = tmp_path / "good.pt"
    torch.save(_trained().state_dict(), good)
    (tmp_path / "cut.pt").write_bytes(good.read_bytes()[:200])
    with pytest.raises(CheckpointError, match=r"cut\.pt' is corrupt"):
        load_shift_gcn_weights(_tiny(), tmp_path / "cut.pt")
    torch.save(torch.zeros(3), tmp_path / "tensor.pt")
    with pytest.raises(CheckpointError, match=r"tensor\.pt' holds a Tensor, expected a state dict"):
        load_shift_gcn_weights(_tiny(), tmp_path / "tensor.pt")
    torch.save({"encoder.weight": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=r"other\.pt' has no Shift-GCN weights.*encoder\.weight"):
        load_shift_gcn_weights(_tiny(), tmp_path / "other.pt")
