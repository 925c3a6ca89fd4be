import numpy as np
import pytest
import torch

from sic.data.skeleton import get_layout
from sic.models.pose_context import (
    ContextGating,
    GaussianTemporalPooling,
    SpectralSpatialPooling,
    combinatorial_laplacian,
)

LAYOUT = get_layout("h36m17")
J = LAYOUT.num_joints


def _lap() -> np.ndarray:
    # Built here from the adjacency, independently of combinatorial_laplacian.
    a = LAYOUT.adjacency.astype(np.float64)
    return np.diag(a.sum(1)) - a


def _x(b=2, t=6, j=J, c=5, seed=0):
    return torch.randn(b, t, j, c, generator=torch.Generator().manual_seed(seed))


def _set(param, values):
    with torch.no_grad():
        param.copy_(torch.as_tensor(values, dtype=param.dtype))


# --------------------------------------------------------------------------------------------- Laplacian helper


def test_combinatorial_laplacian_is_degree_minus_adjacency():
    lap = combinatorial_laplacian(LAYOUT.adjacency)
    np.testing.assert_allclose(lap, _lap())
    np.testing.assert_allclose(lap.sum(1), 0.0)
    assert np.linalg.eigvalsh(lap)[0] == pytest.approx(0.0, abs=1e-12)


def test_normalised_layout_laplacian_is_rejected():
    # SkeletonLayout.laplacian is I - D^-1/2 A D^-1/2, not the paper's D - A.
    with pytest.raises(ValueError, match="combinatorial"):
        SpectralSpatialPooling(LAYOUT.laplacian, dim=4, num_heads=2)


@pytest.mark.parametrize("bad", [np.ones((3, 4)), np.triu(_lap()), np.zeros((4, 4))])
def test_bad_laplacians_are_rejected(bad):
    with pytest.raises(ValueError):
        SpectralSpatialPooling(bad, dim=4, num_heads=2)


# ------------------------------------------------------------------------------------- spectral spatial pooling

MU, SIGMA, ALPHA = [0.05, 0.5, 0.95], [0.15, 0.3, 0.2], [1.0, 0.3, -0.4]


def _spatial(pool="max", c=5, dc=3):
    torch.manual_seed(0)
    m = SpectralSpatialPooling(torch.as_tensor(_lap()), dim=c, num_heads=3, context_dim=dc, mu_init=MU,
                               sigma_init=SIGMA, pool=pool)  # fmt: skip
    _set(m.alpha, ALPHA)
    return m


def _numpy_spatial(x, weight, bias, pool):
    """Eqs. 3-7 in dense numpy, float64."""
    lap = _lap()
    lam, u = np.linalg.eigh(lap)
    lam = np.clip(lam / lam[-1], 0, None)
    w = np.exp(-((lam[None] - np.array(MU)[:, None]) ** 2) / (2 * np.array(SIGMA)[:, None] ** 2))  # (H, J)
    ops = np.stack([u @ np.diag(wh) @ u.T for wh in w])  # U diag(w_h) U^T
    band = np.einsum("hnm,btmc->bhtnc", ops, x)
    x0 = x[:, None]
    heads = x0 + np.array(ALPHA)[None, :, None, None, None] * (band - x0)
    proj = heads @ weight.T + bias
    pooled = proj.max(axis=(2, 3)) if pool == "max" else proj.mean(axis=(2, 3))
    return w, band, heads, pooled


@pytest.mark.parametrize("pool", ["max", "mean"])
def test_spectral_pooling_matches_dense_numpy_reference(pool):
    m = _spatial(pool)
    x = _x()
    w, band, heads, pooled = _numpy_spatial(
        x.double().numpy(), m.proj.weight.detach().double().numpy(), m.proj.bias.detach().double().numpy(), pool
    )
    np.testing.assert_allclose(m.sigma.detach().numpy(), SIGMA, rtol=1e-5)
    np.testing.assert_allclose(m.frequency_response().detach().numpy(), w, atol=1e-5)
    np.testing.assert_allclose(m.band_pass(x).detach().numpy(), band, atol=1e-5)
    np.testing.assert_allclose(m.head_features(x).detach().numpy(), heads, atol=1e-5)
    out = m(x)
    assert out.shape == (2, 3, 3)
    np.testing.assert_allclose(out.detach().numpy(), pooled, atol=1e-5)


def test_band_pass_equals_gaussian_matrix_function_of_laplacian():
    # Eigendecomposition-free reference: U diag(w(Λ)) U^T = exp(-(L/λmax - μ I)² / (2sigma²)).
    m = _spatial()
    lap = torch.as_tensor(_lap())
    lhat = lap / torch.linalg.matrix_norm(lap, ord=2)
    eye = torch.eye(J, dtype=torch.float64)
    x = _x()
    band = m.band_pass(x).double()
    for h, (mu, sigma) in enumerate(zip(MU, SIGMA, strict=True)):
        op = torch.linalg.matrix_exp(-((lhat - mu * eye) @ (lhat - mu * eye)) / (2 * sigma**2))
        torch.testing.assert_close(band[:, h], torch.einsum("nm,btmc->btnc", op, x.double()), atol=1e-5, rtol=1e-5)


def test_eigen_buffers():
    m = _spatial()
    lam, u = m.eigenvalues.double(), m.eigenvectors.double()
    assert lam[0].abs() < 1e-6 and lam[-1] == pytest.approx(1.0)
    assert torch.all(lam[1:] >= lam[:-1])
    lap = torch.as_tensor(_lap())
    torch.testing.assert_close(lap @ u, u * (lam * np.linalg.eigvalsh(_lap())[-1]), atol=1e-4, rtol=1e-4)
    assert {"eigenvalues", "eigenvectors"} <= {n for n, _ in m.named_buffers()}


def _energy(y):
    return float(y.detach().double().square().sum())


def _low_high():
    m = SpectralSpatialPooling(_lap(), dim=1, num_heads=2, mu_init=[0.0, 1.0], sigma_init=0.1)
    return m


def test_low_frequency_head_passes_smooth_and_blocks_alternating_and_high_head_the_reverse():
    m = _low_high()
    _, u = np.linalg.eigh(_lap())
    constant = torch.ones(1, 2, J, 1)
    top = torch.as_tensor(u[:, -1], dtype=torch.float32).view(1, 1, J, 1).expand(1, 2, J, 1)
    e_c, e_top = _energy(constant), _energy(top)
    band_c, band_top = m.band_pass(constant), m.band_pass(top)
    # head 0 (μ = 0): constant kept exactly, highest-frequency eigenvector removed
    torch.testing.assert_close(band_c[:, 0], constant, atol=1e-5, rtol=0)
    assert _energy(band_top[:, 0]) < 1e-6 * e_top
    # head 1 (μ = 1): the reverse
    assert _energy(band_c[:, 1]) < 1e-6 * e_c
    torch.testing.assert_close(band_top[:, 1], top, atol=1e-5, rtol=0)


def test_bone_alternating_signal_lands_mostly_in_the_high_band():
    # ±1 by tree depth, so neighbours always differ in sign (the skeleton is bipartite), minus its mean so that
    # the λ = 0 component is not what is being measured.
    depth = np.zeros(J, dtype=int)
    for i in range(J):
        j = i
        while LAYOUT.parents[j] != -1:
            depth[i] += 1
            j = LAYOUT.parents[j]
    alt = torch.as_tensor((-1.0) ** depth, dtype=torch.float32).view(1, 1, J, 1)
    alt = alt - alt.mean()
    band = _low_high().band_pass(alt)
    e = _energy(alt)
    assert _energy(band[:, 0]) < 0.02 * e
    assert _energy(band[:, 1]) > 0.3 * e
    assert _energy(band[:, 1]) > 10 * _energy(band[:, 0])


def test_residual_gate_interpolates_between_identity_and_filter():
    m = _spatial()
    x = _x()
    _set(m.alpha, [0.0, 1.0, 0.5])
    heads, band = m.head_features(x), m.band_pass(x)
    torch.testing.assert_close(heads[:, 0], x)
    torch.testing.assert_close(heads[:, 1], band[:, 1])
    torch.testing.assert_close(heads[:, 2], 0.5 * (x + band[:, 2]))


def test_mean_pooling_only_sees_the_zero_frequency():
    # Why "max" is the default: the joint mean of U diag(w) U^T X is w(0) times the joint mean of X.
    m = _spatial("mean")
    x = _x()
    xbar = x.mean(dim=(1, 2))  # (B, C)
    scale = 1 + m.alpha * (m.frequency_response()[:, 0] - 1)  # (H,)
    expected = m.proj(scale[None, :, None] * xbar[:, None, :])
    torch.testing.assert_close(m(x), expected, atol=1e-5, rtol=1e-5)


def test_spatial_sigma_stays_positive():
    m = _spatial()
    _set(m.sigma_raw, [-50.0, -5.0, 0.0])
    assert torch.all(m.sigma > 0)
    assert torch.isfinite(m(_x())).all()


def test_spatial_gradients_reach_mu_sigma_alpha():
    torch.manual_seed(0)
    m = SpectralSpatialPooling(_lap(), dim=5, num_heads=4)  # default initialisation
    m(_x()).square().sum().backward()
    for name in ("mu", "sigma_raw", "alpha"):
        grad = getattr(m, name).grad
        assert grad is not None and torch.all(grad.abs() > 0), name
    assert m.proj.weight.grad.abs().sum() > 0


def test_zero_residual_gate_would_block_the_filter_gradients():
    m = SpectralSpatialPooling(_lap(), dim=5, num_heads=3, alpha_init=0.0)
    m(_x()).square().sum().backward()
    assert torch.all(m.mu.grad == 0) and torch.all(m.sigma_raw.grad == 0)
    assert torch.all(m.alpha.grad.abs() > 0)


@pytest.mark.parametrize("shape", [(2, 6, J), (6, J, 5, 1, 1), (2, 6, 16, 5), (2, 6, J, 4)])
def test_spatial_rejects_wrong_shapes(shape):
    m = _spatial()
    with pytest.raises(ValueError, match=r"\(B, T, 17, 5\)"):
        m(torch.zeros(shape))
    with pytest.raises(ValueError, match=r"\(B, T, 17, 5\)"):
        m.band_pass(torch.zeros(shape))


def test_spatial_rejects_wrong_number_of_initial_values():
    with pytest.raises(ValueError, match="mu_init"):
        SpectralSpatialPooling(_lap(), dim=4, num_heads=3, mu_init=[0.0, 1.0])
    with pytest.raises(ValueError, match="sigma_init"):
        SpectralSpatialPooling(_lap(), dim=4, num_heads=3, sigma_init=[0.1, 0.2])


# -------------------------------------------------------------------------------------- Gaussian temporal pooling


def _step(t=41, j=3, c=2):
    x = torch.zeros(1, t, j, c)
    x[:, t // 2 :] = 1.0
    return x


def _temporal(sigma, k=21, **kw):
    return GaussianTemporalPooling(dim=2, num_heads=len(sigma), kernel_size=k, sigma_init=sigma, **kw)


def test_small_sigma_keeps_a_step_and_large_sigma_spreads_it():
    x = _step()
    y = _temporal([0.3, 5.0]).filter(x)  # (1, 2, T, J, C)
    assert y.shape == (1, 2, 41, 3, 2)
    sharp, smooth = y[0, 0, :, 0, 0], y[0, 1, :, 0, 0]
    ramp = lambda s: int(((s > 0.05) & (s < 0.95)).sum())  # noqa: E731
    # small sigma: the edge stays a single-frame jump
    assert ramp(sharp) == 0
    assert sharp.diff().max() > 0.95
    torch.testing.assert_close(sharp, x[0, :, 0, 0], atol=0.01, rtol=0)
    # large sigma: the edge spreads over many frames, with no single large jump
    assert ramp(smooth) >= 10
    assert smooth.diff().max() < 0.15
    assert torch.all(smooth.diff() >= -1e-6)  # monotone: a weighted average with positive weights
    # replicate padding keeps the far ends at their values (no pull towards 0 at the borders)
    assert smooth[0].item() == pytest.approx(0.0, abs=1e-6) and smooth[-1].item() == pytest.approx(1.0, abs=1e-6)
    # same filter for every joint and channel (depthwise)
    torch.testing.assert_close(y, y[..., :1, :1].expand_as(y))


def _numpy_temporal(x, kernels, padding):
    """Eq. 9 with explicit loops: out[t] = Σ_τ g(τ) x[t - τ]."""
    b, t, j, c = x.shape
    h, k = kernels.shape
    half = k // 2
    out = np.zeros((b, h, t, j, c))
    for hh in range(h):
        for tt in range(t):
            for i, tau in enumerate(range(-half, half + 1)):
                s = tt - tau
                if padding == "replicate":
                    s = min(max(s, 0), t - 1)
                elif not 0 <= s < t:
                    continue
                out[:, hh, tt] += kernels[hh, i] * x[:, s]
    return out


@pytest.mark.parametrize("padding", ["replicate", "zeros"])
@pytest.mark.parametrize("normalize", [True, False])
def test_temporal_filter_matches_loop_reference(padding, normalize):
    m = GaussianTemporalPooling(dim=5, num_heads=3, kernel_size=7, learn_mu=True, sigma_init=[0.7, 1.5, 3.0],
                                mu_init=[0.0, 1.3, -2.0], normalize=normalize, padding=padding)  # fmt: skip
    g = torch.exp(-((torch.arange(-3.0, 4.0)[None] - torch.tensor([[0.0], [1.3], [-2.0]])) ** 2)
                  / (2 * torch.tensor([[0.7], [1.5], [3.0]]) ** 2))  # fmt: skip
    if normalize:
        g = g / g.sum(1, keepdim=True)
    torch.testing.assert_close(m.kernels(), g, atol=1e-5, rtol=1e-5)
    x = _x(t=11)
    ref = _numpy_temporal(x.double().numpy(), g.double().numpy(), padding)
    np.testing.assert_allclose(m.filter(x).detach().numpy(), ref, atol=1e-5)
    w, bias = m.proj.weight.detach().double().numpy(), m.proj.bias.detach().double().numpy()
    pooled = (ref @ w.T + bias).max(axis=(2, 3))
    np.testing.assert_allclose(m(x).detach().numpy(), pooled, atol=1e-5)


def test_positive_mu_shifts_towards_the_past():
    # Eq. 9 sums X_{t-τ}: a kernel centred at τ = +2 outputs the frame two steps earlier.
    m = GaussianTemporalPooling(dim=1, num_heads=1, kernel_size=7, learn_mu=True, sigma_init=0.05, mu_init=2.0,
                                padding="zeros")  # fmt: skip
    x = torch.zeros(1, 15, 1, 1)
    x[0, 5] = 1.0
    y = m.filter(x)[0, 0, :, 0, 0]
    assert int(y.argmax()) == 7
    assert y[7].item() == pytest.approx(1.0, abs=1e-4)


def test_learn_mu_flag():
    fixed, learned = _temporal([1.0, 2.0]), _temporal([1.0, 2.0], learn_mu=True)
    assert "mu" not in dict(fixed.named_parameters()) and "mu" in dict(fixed.named_buffers())
    assert "mu" in dict(learned.named_parameters())
    torch.testing.assert_close(fixed.mu, torch.zeros(2))


def test_temporal_default_sigmas_are_multiscale_and_positive():
    m = GaussianTemporalPooling(dim=4, num_heads=3, kernel_size=17)
    torch.testing.assert_close(m.sigma, torch.tensor([0.5, 2**0.5, 4.0]), atol=1e-5, rtol=1e-5)
    assert len(set(GaussianTemporalPooling(dim=4, num_heads=2, kernel_size=3).sigma.tolist())) == 2
    _set(m.sigma_raw, [-60.0, -3.0, 10.0])
    assert torch.all(m.sigma > 0) and torch.isfinite(m.kernels()).all()


def test_temporal_gradients_reach_mu_and_sigma():
    torch.manual_seed(0)
    m = GaussianTemporalPooling(dim=5, num_heads=3, kernel_size=9, learn_mu=True)  # default initialisation
    m(_x(t=12)).square().sum().backward()
    for name in ("mu", "sigma_raw"):
        grad = getattr(m, name).grad
        assert grad is not None and torch.all(grad.abs() > 0), name


@pytest.mark.parametrize("shape", [(2, 6, 5), (2, 6, J, 4), (1, 2, 6, J, 5)])
def test_temporal_rejects_wrong_shapes(shape):
    m = GaussianTemporalPooling(dim=5, num_heads=2, kernel_size=5)
    with pytest.raises(ValueError, match=r"\(B, T, J, 5\)"):
        m(torch.zeros(shape))
    with pytest.raises(ValueError, match=r"\(B, T, J, 5\)"):
        m.filter(torch.zeros(shape))


@pytest.mark.parametrize("k", [0, 4])
def test_temporal_rejects_even_kernels(k):
    with pytest.raises(ValueError, match="odd"):
        GaussianTemporalPooling(dim=5, num_heads=2, kernel_size=k)


# ------------------------------------------------------------------------------------------------- context gating


def test_gating_starts_uniform_and_concatenates():
    gate = ContextGating(3, 2)
    v_s, v_t = torch.randn(4, 3, 6), torch.randn(4, 2, 5)
    z = gate(v_s, v_t)
    assert z.shape == (4, 11)
    torch.testing.assert_close(z, torch.cat([v_s.mean(1), v_t.mean(1)], -1))
    _set(gate.spatial_logits, [0.0, 100.0, 0.0])
    torch.testing.assert_close(gate(v_s, v_t)[:, :6], v_s[:, 1])


def test_end_to_end_gradients_reach_every_pooling_parameter():
    torch.manual_seed(0)
    spatial = SpectralSpatialPooling(_lap(), dim=5, num_heads=3, context_dim=4)
    temporal = GaussianTemporalPooling(dim=5, num_heads=2, kernel_size=5, learn_mu=True, context_dim=4)
    gate = ContextGating(3, 2)
    x = _x(t=8)
    gate(spatial(x), temporal(x)).square().sum().backward()
    for mod in (spatial, temporal, gate):
        for name, p in mod.named_parameters():
            assert p.grad is not None and torch.all(p.grad.abs().sum(-1) > 0), name


def test_gating_rejects_wrong_head_counts():
    gate = ContextGating(3, 2)
    with pytest.raises(ValueError, match="v_s"):
        gate(torch.zeros(4, 2, 6), torch.zeros(4, 2, 5))
    with pytest.raises(ValueError, match="v_t"):
        gate(torch.zeros(4, 3, 6), torch.zeros(4, 3, 5))
    with pytest.raises(ValueError, match="v_t"):
        gate(torch.zeros(4, 3, 6), torch.zeros(5, 2, 5))
