"""Tests for sic.metrics.functional against independent numpy references and hand-computed cases."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch

import sic.metrics
import sic.metrics.functional as F
from sic.metrics.functional import (
    joint_errors,
    mpjpe,
    mpjpe_per_frame,
    n_mpjpe,
    pa_mpjpe,
    per_frame_mpjpe,
    procrustes_align,
)

SHAPES = [(5, 17, 3), (2, 3, 17, 3), (4, 2, 3, 3), (1, 1, 25, 3), (3, 1, 4, 2, 3)]


# ----------------------------------------------------------------------------------------------
# numpy references (independent formulations, explicit loops)
# ----------------------------------------------------------------------------------------------
def np_frames(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1, x.shape[-2], x.shape[-1])


def np_mpjpe(p: np.ndarray, t: np.ndarray) -> float:
    errs = [np.sqrt(((pj - tj) ** 2).sum()) for pf, tf in zip(np_frames(p), np_frames(t)) for pj, tj in zip(pf, tf)]
    return float(np.mean(errs))


def np_n_mpjpe(p: np.ndarray, t: np.ndarray) -> float:
    out = []
    for pf, tf in zip(np_frames(p), np_frames(t)):
        s = np.mean([pj @ tj for pj, tj in zip(pf, tf)]) / np.mean([pj @ pj for pj in pf])
        out.append(s * pf)
    return np_mpjpe(np.stack(out), np_frames(t))


def np_umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Umeyama (1991) similarity alignment of one frame, column-vector convention: dst ~ c R src + t."""
    n, d = src.shape
    mu_s, mu_d = src.mean(0), dst.mean(0)
    sigma = sum(np.outer(dst[i] - mu_d, src[i] - mu_s) for i in range(n)) / n
    var_s = sum(((src[i] - mu_s) ** 2).sum() for i in range(n)) / n
    u, dvals, vt = np.linalg.svd(sigma)
    s = np.eye(d)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        s[-1, -1] = -1.0
    r = u @ s @ vt
    c = np.trace(np.diag(dvals) @ s) / var_s
    t = mu_d - c * r @ mu_s
    return np.stack([c * r @ src[i] + t for i in range(n)])


def np_pa_mpjpe(p: np.ndarray, t: np.ndarray) -> float:
    aligned = np.stack([np_umeyama(pf, tf) for pf, tf in zip(np_frames(p), np_frames(t))])
    return np_mpjpe(aligned, np_frames(t))


def random_pair(shape, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    target = torch.randn(shape, generator=g, dtype=dtype)
    preds = target + 0.3 * torch.randn(shape, generator=g, dtype=dtype)
    return preds, target


def random_rotation(seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=g, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))
    if torch.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


# ----------------------------------------------------------------------------------------------
# against numpy
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", SHAPES)
def test_joint_errors_matches_numpy(shape):
    preds, target = random_pair(shape, seed=1)
    got = joint_errors(preds, target)
    assert got.shape == shape[:-1]
    ref = np.sqrt(((preds.numpy() - target.numpy()) ** 2).sum(-1))
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("fn", "ref"), [(mpjpe, np_mpjpe), (n_mpjpe, np_n_mpjpe), (pa_mpjpe, np_pa_mpjpe)], ids=["mpjpe", "n", "pa"]
)
def test_metric_matches_numpy(fn, ref, shape):
    preds, target = random_pair(shape, seed=sum(shape))
    expected = ref(preds.numpy(), target.numpy())
    # J=2 frames are aligned exactly by Procrustes (value ~0), hence the small atol
    np.testing.assert_allclose(float(fn(preds, target)), expected, rtol=1e-9, atol=1e-12)
    got32 = fn(preds.float(), target.float())
    assert got32.dtype == torch.float32
    np.testing.assert_allclose(float(got32), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape", [(5, 17, 3), (2, 3, 4, 3)])
def test_procrustes_align_matches_numpy(shape):
    preds, target = random_pair(shape, seed=7)
    got = procrustes_align(preds, target).numpy()
    ref = np.stack([np_umeyama(p, t) for p, t in zip(np_frames(preds.numpy()), np_frames(target.numpy()))])
    np.testing.assert_allclose(got.reshape(ref.shape), ref, atol=1e-10)


@pytest.mark.parametrize("shape", [(2, 6, 17, 3), (3, 4, 5, 3), (6, 2, 3)])
def test_mpjpe_per_frame_matches_numpy(shape):
    preds, target = random_pair(shape, seed=3)
    sums, counts = mpjpe_per_frame(preds, target)
    n_frames = shape[-3]
    assert sums.shape == counts.shape == (n_frames,)
    p = preds.numpy().reshape(-1, n_frames, shape[-2], 3)
    t = target.numpy().reshape(-1, n_frames, shape[-2], 3)
    for f in range(n_frames):
        errs = [np.linalg.norm(p[b, f, j] - t[b, f, j]) for b in range(p.shape[0]) for j in range(p.shape[2])]
        assert int(counts[f]) == len(errs)
        np.testing.assert_allclose(float(sums[f]), np.sum(errs), rtol=1e-12)
        np.testing.assert_allclose(float(per_frame_mpjpe(preds, target)[f]), np.mean(errs), rtol=1e-12)


# ----------------------------------------------------------------------------------------------
# hand-computed cases
# ----------------------------------------------------------------------------------------------
def test_mpjpe_hand_computed_offset():
    target = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    preds = target + torch.tensor([3.0, 4.0, 0.0])
    assert float(mpjpe(preds, target)) == pytest.approx(5.0)
    torch.testing.assert_close(joint_errors(preds, target), torch.tensor([5.0, 5.0]))


def test_mpjpe_hand_computed_mixed():
    target = torch.zeros(1, 2, 2, 3)
    preds = torch.tensor([[[[1.0, 0, 0], [0, 2.0, 0]], [[0, 0, 3.0], [0, 0, 0]]]])
    assert float(mpjpe(preds, target)) == pytest.approx((1 + 2 + 3 + 0) / 4)
    sums, counts = mpjpe_per_frame(preds, target)
    torch.testing.assert_close(sums, torch.tensor([3.0, 3.0]))
    torch.testing.assert_close(counts, torch.tensor([2, 2]))


def test_n_mpjpe_hand_computed():
    # one joint, target (2,0,0), pred (1,1,0): s = 2/2 = 1 -> error |(1,1,0)-(2,0,0)| = sqrt(2)
    assert float(n_mpjpe(torch.tensor([[1.0, 1.0, 0.0]]), torch.tensor([[2.0, 0.0, 0.0]]))) == pytest.approx(2**0.5)
    # pred (4,0,0) vs target (2,0,0): s = 8/16 = 0.5 -> exact
    assert float(n_mpjpe(torch.tensor([[4.0, 0.0, 0.0]]), torch.tensor([[2.0, 0.0, 0.0]]))) == pytest.approx(0.0)


def test_pa_mpjpe_hand_computed_collinear():
    # Two joints: any segment can be mapped exactly onto any other by a similarity transform.
    target = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    preds = torch.tensor([[5.0, 5.0, 5.0], [5.0, 8.0, 9.0]])
    assert float(pa_mpjpe(preds, target)) == pytest.approx(0.0, abs=1e-6)


# ----------------------------------------------------------------------------------------------
# invariances
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pa_mpjpe_zero_for_similarity_transform(seed):
    _, target = random_pair((3, 4, 17, 3), seed=seed)
    rot = random_rotation(seed)
    preds = 2.7 * target @ rot + torch.tensor([0.5, -1.0, 3.0], dtype=torch.float64)
    assert float(pa_mpjpe(preds, target)) < 1e-10
    assert float(pa_mpjpe(preds.float(), target.float())) < 1e-5
    assert float(mpjpe(preds, target)) > 0.5  # the unaligned error is large


@pytest.mark.parametrize("seed", [0, 1])
def test_pa_mpjpe_invariant_to_transforming_preds(seed):
    preds, target = random_pair((2, 5, 17, 3), seed=seed)
    base = pa_mpjpe(preds, target)
    moved = 0.4 * preds @ random_rotation(seed + 10) - 7.0
    torch.testing.assert_close(pa_mpjpe(moved, target), base)
    assert not torch.allclose(mpjpe(moved, target), mpjpe(preds, target))


@pytest.mark.parametrize("factor", [0.1, 3.0, 250.0])
def test_n_mpjpe_invariant_to_scaling_preds(factor):
    preds, target = random_pair((2, 5, 17, 3), seed=4)
    torch.testing.assert_close(n_mpjpe(factor * preds, target), n_mpjpe(preds, target))
    # the scale is per frame: rescaling each frame differently changes nothing either
    per_frame = torch.linspace(0.5, 2.0, 5, dtype=torch.float64).view(1, 5, 1, 1)
    torch.testing.assert_close(n_mpjpe(per_frame * preds, target), n_mpjpe(preds, target))


def test_n_mpjpe_zero_for_pure_scale():
    _, target = random_pair((4, 17, 3), seed=5)
    assert float(n_mpjpe(0.3 * target, target)) < 1e-12


# ----------------------------------------------------------------------------------------------
# masks
# ----------------------------------------------------------------------------------------------
def test_mpjpe_mask_equals_selected_joints():
    preds, target = random_pair((2, 3, 17, 3), seed=6)
    sel = torch.tensor([0, 4, 9, 16])
    mask = torch.zeros(17, dtype=torch.bool)
    mask[sel] = True
    torch.testing.assert_close(mpjpe(preds, target, mask), mpjpe(preds[..., sel, :], target[..., sel, :]))


def test_mask_per_sample_broadcast_matches_numpy():
    preds, target = random_pair((3, 4, 6, 3), seed=8)
    g = torch.Generator().manual_seed(0)
    mask = torch.rand(3, 1, 6, generator=g) > 0.5  # per-sample joint mask, broadcast over time
    err = np.linalg.norm(preds.numpy() - target.numpy(), axis=-1)
    full = np.broadcast_to(mask.numpy(), err.shape)
    np.testing.assert_allclose(float(mpjpe(preds, target, mask)), err[full].mean(), rtol=1e-12)


@pytest.mark.parametrize("fn", [n_mpjpe, pa_mpjpe])
def test_aligned_metrics_mask_selects_errors_after_full_alignment(fn):
    preds, target = random_pair((2, 3, 17, 3), seed=9)
    mask = torch.zeros(17, dtype=torch.bool)
    mask[:5] = True
    aligned = procrustes_align(preds, target) if fn is pa_mpjpe else None
    if aligned is None:
        s = (preds * target).sum((-2, -1), keepdim=True) / preds.square().sum((-2, -1), keepdim=True)
        aligned = s * preds
    expected = joint_errors(aligned, target)[..., :5].mean()
    torch.testing.assert_close(fn(preds, target, mask), expected)


@pytest.mark.parametrize("fn", [mpjpe, n_mpjpe, pa_mpjpe])
def test_all_false_mask_gives_nan(fn):
    preds, target = random_pair((2, 4, 3), seed=0)
    assert torch.isnan(fn(preds, target, torch.zeros(4, dtype=torch.bool)))


def test_mask_errors():
    preds, target = random_pair((2, 4, 3), seed=0)
    with pytest.raises(ValueError, match=r"\(5,\)"):
        mpjpe(preds, target, torch.ones(5, dtype=torch.bool))
    with pytest.raises(TypeError):
        mpjpe(preds, target, torch.ones(4))


def test_mask_ignores_nonfinite_unselected_joints():
    preds, target = random_pair((2, 4, 3), seed=0)
    preds[:, 3] = float("nan")
    mask = torch.tensor([True, True, True, False])
    assert torch.isfinite(mpjpe(preds, target, mask))


# ----------------------------------------------------------------------------------------------
# reflection, degenerate frames, dtypes, shapes
# ----------------------------------------------------------------------------------------------
def test_procrustes_does_not_reflect():
    preds, _ = random_pair((4, 17, 3), seed=11)
    mirrored = preds * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    # an improper orthogonal map would align these exactly; a proper rotation cannot
    assert float(pa_mpjpe(preds, mirrored)) > 0.1
    np.testing.assert_allclose(float(pa_mpjpe(preds, mirrored)), np_pa_mpjpe(preds.numpy(), mirrored.numpy()), rtol=1e-9)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_degenerate_frames_are_finite(dtype):
    _, target = random_pair((3, 17, 3), seed=12, dtype=dtype)
    preds = torch.zeros(3, 17, 3, dtype=dtype)
    # all joints equal, not at the origin; these values make the centroid differ from the joints by
    # rounding (float32 and float64), which must not be mistaken for a tiny pose to blow up
    preds[1] = torch.tensor([0.7, 1.7, 2.3], dtype=dtype)
    preds[2] = torch.tensor([0.3, 1.1, 0.123], dtype=dtype)
    assert (preds - preds.mean(-2, keepdim=True)).abs().amax() > 0
    for fn in (mpjpe, n_mpjpe, pa_mpjpe):
        assert torch.isfinite(fn(preds, target)), fn.__name__
    assert torch.isfinite(procrustes_align(preds, target)).all()
    # translation-only fallback: every joint lands on the target centroid
    aligned = procrustes_align(preds, target)
    torch.testing.assert_close(aligned, target.mean(-2, keepdim=True).expand_as(target))
    # degenerate target as well
    assert torch.isfinite(pa_mpjpe(target, torch.ones_like(target)))
    assert torch.isfinite(pa_mpjpe(torch.zeros_like(target), torch.zeros_like(target)))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("fn", [mpjpe, n_mpjpe, pa_mpjpe])
def test_half_precision_is_upcast(fn, dtype):
    preds, target = random_pair((2, 3, 17, 3), seed=13, dtype=torch.float32)
    ph, th = preds.to(dtype), target.to(dtype)
    out = fn(ph, th)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, fn(ph.float(), th.float()))


def test_float64_is_kept():
    preds, target = random_pair((2, 5, 3), seed=0)
    assert mpjpe(preds, target).dtype == torch.float64
    assert procrustes_align(preds, target).dtype == torch.float64


@pytest.mark.parametrize("fn", [joint_errors, mpjpe, n_mpjpe, pa_mpjpe, procrustes_align, mpjpe_per_frame])
def test_shape_mismatch_names_both_shapes(fn):
    with pytest.raises(ValueError) as info:
        fn(torch.zeros(2, 4, 17, 3), torch.zeros(2, 4, 16, 3))
    assert "(2, 4, 17, 3)" in str(info.value)
    assert "(2, 4, 16, 3)" in str(info.value)


def test_gradients_flow_through_mpjpe_and_n_mpjpe():
    preds, target = random_pair((2, 3, 5, 3), seed=14)
    preds.requires_grad_(True)
    (mpjpe(preds, target) + n_mpjpe(preds, target)).backward()
    assert preds.grad is not None
    assert torch.isfinite(preds.grad).all()


@pytest.mark.parametrize("module", [F, sic.metrics])
def test_module_doctests(module):
    result = doctest.testmod(module, raise_on_error=False, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0
