"""Tests for the torchmetrics modules in sic.metrics.pose."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import torch

import sic.metrics.pose as pose_module
from sic.metrics import MPJPE, NMPJPE, PAMPJPE, MPJPEAtFrames, mpjpe, n_mpjpe, pa_mpjpe

SCALAR = [(MPJPE, mpjpe), (NMPJPE, n_mpjpe), (PAMPJPE, pa_mpjpe)]
IDS = ["mpjpe", "n", "pa"]


def data(shape=(10, 6, 17, 3), seed=0):
    g = torch.Generator().manual_seed(seed)
    target = 0.5 * torch.randn(shape, generator=g)
    preds = target + 0.05 * torch.randn(shape, generator=g)
    return preds, target


@pytest.mark.parametrize(("cls", "fn"), SCALAR, ids=IDS)
def test_batched_equals_one_shot(cls, fn):
    preds, target = data()
    one = cls()
    one.update(preds, target)
    batched = cls()
    for chunk in (slice(0, 3), slice(3, 4), slice(4, 10)):
        batched.update(preds[chunk], target[chunk])
    torch.testing.assert_close(batched.compute(), one.compute())
    torch.testing.assert_close(one.compute(), 1000.0 * fn(preds, target))


@pytest.mark.parametrize(("cls", "fn"), SCALAR, ids=IDS)
def test_batched_with_mask_equals_one_shot(cls, fn):
    preds, target = data(seed=1)
    mask = torch.rand(10, 1, 17, generator=torch.Generator().manual_seed(2)) > 0.6
    one = cls(scale=1.0)
    one.update(preds, target, mask)
    batched = cls(scale=1.0)
    # uneven chunks: the batch mean is weighted by the joints counted, not by the number of batches
    for chunk in (slice(0, 1), slice(1, 7), slice(7, 10)):
        batched.update(preds[chunk], target[chunk], mask[chunk])
    torch.testing.assert_close(batched.compute(), one.compute())
    torch.testing.assert_close(one.compute(), fn(preds, target, mask))


def test_mean_of_batch_means_would_differ():
    # Guards the previous test: uneven batches must be weighted by their joint counts.
    preds, target = data(seed=3)
    metric = MPJPE()
    metric.update(preds[:1], target[:1])
    metric.update(preds[1:], target[1:])
    naive = (MPJPE()(preds[:1], target[:1]) + MPJPE()(preds[1:], target[1:])) / 2
    assert not torch.allclose(metric.compute(), naive)
    torch.testing.assert_close(metric.compute(), 1000.0 * mpjpe(preds, target))


@pytest.mark.parametrize(("cls", "fn"), SCALAR, ids=IDS)
def test_states_are_sums(cls, fn):
    # Two "processes" whose states are summed, as the DDP "sum" reduction does, give the one-shot value.
    preds, target = data(seed=4)
    a, b = cls(), cls()
    a.update(preds[:4], target[:4])
    b.update(preds[4:], target[4:])
    for name, reduce_fx in a._reductions.items():
        assert reduce_fx is not None and reduce_fx.__name__ == "dim_zero_sum", name
    a.sum_error += b.sum_error
    a.total += b.total
    torch.testing.assert_close(a.compute(), 1000.0 * fn(preds, target))


def test_merge_state_of_mpjpe_at_frames():
    preds, target = data(seed=5)
    a, b, one = MPJPEAtFrames([0, 5]), MPJPEAtFrames([0, 5]), MPJPEAtFrames([0, 5])
    a.update(preds[:2], target[:2])
    b.update(preds[2:], target[2:])
    one.update(preds, target)
    a.merge_state(b)
    torch.testing.assert_close(a.compute(), one.compute())


@pytest.mark.parametrize(("cls", "fn"), SCALAR, ids=IDS)
def test_scale_is_applied(cls, fn):
    preds, target = data(seed=6)
    values = {}
    for scale in (1000.0, 1.0, 2.5):
        m = cls(scale=scale)
        m.update(preds, target)
        values[scale] = m.compute()
    torch.testing.assert_close(values[1.0], fn(preds, target))
    torch.testing.assert_close(values[1000.0], 1000.0 * values[1.0])
    torch.testing.assert_close(values[2.5], 2.5 * values[1.0])


def test_mpjpe_hand_computed_in_mm():
    target = torch.zeros(1, 1, 2, 3)
    preds = torch.tensor([[[[0.003, 0.004, 0.0], [0.003, 0.004, 0.0]]]])
    m = MPJPE()
    m.update(preds, target)
    assert float(m.compute()) == pytest.approx(5.0, rel=1e-5)


@pytest.mark.parametrize("cls", [MPJPE, NMPJPE, PAMPJPE])
def test_reset_and_forward(cls):
    preds, target = data(seed=7)
    m = cls()
    batch_value = m(preds[:5], target[:5])  # forward: value of this batch, also accumulated
    torch.testing.assert_close(batch_value, cls()(preds[:5], target[:5]))
    m(preds[5:], target[5:])
    ref = cls()
    ref.update(preds, target)
    torch.testing.assert_close(m.compute(), ref.compute())
    m.reset()
    assert float(m.total) == 0 and float(m.sum_error) == 0


@pytest.mark.parametrize("cls", [MPJPE, NMPJPE, PAMPJPE])
def test_shape_mismatch_raises_with_both_shapes(cls):
    with pytest.raises(ValueError) as info:
        cls().update(torch.zeros(2, 3, 17, 3), torch.zeros(2, 4, 17, 3))
    assert "(2, 3, 17, 3)" in str(info.value) and "(2, 4, 17, 3)" in str(info.value)


def test_mpjpe_at_frames_picks_frames():
    preds, target = data(shape=(4, 8, 5, 3), seed=8)
    frames = [7, 0, 3]
    m = MPJPEAtFrames(frames)
    m.update(preds[:3], target[:3])
    m.update(preds[3:], target[3:])
    out = m.compute()
    assert out.shape == (3,)
    err = np.linalg.norm(preds.numpy() - target.numpy(), axis=-1)  # (B, T, J)
    expected = [1000.0 * err[:, f, :].mean() for f in frames]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5)


def test_mpjpe_at_frames_distinguishes_frames():
    target = torch.zeros(2, 4, 3, 3)
    preds = target.clone()
    preds[:, 2, :, 2] = 0.01  # only frame 2 is wrong, by 10 mm
    m = MPJPEAtFrames([1, 2], scale=1000.0)
    m.update(preds, target)
    torch.testing.assert_close(m.compute(), torch.tensor([0.0, 10.0]))


def test_mpjpe_at_frames_with_mask():
    preds, target = data(shape=(3, 6, 5, 3), seed=9)
    mask = torch.zeros(5, dtype=torch.bool)
    mask[1:3] = True
    m = MPJPEAtFrames([0, 5], scale=1.0)
    m.update(preds, target, mask)
    expected = torch.stack([mpjpe(preds[:, f, 1:3], target[:, f, 1:3]) for f in (0, 5)])
    torch.testing.assert_close(m.compute(), expected)


def test_mpjpe_at_frames_out_of_range():
    m = MPJPEAtFrames([0, 10])
    with pytest.raises(ValueError) as info:
        m.update(torch.zeros(2, 10, 17, 3), torch.zeros(2, 10, 17, 3))
    assert "10" in str(info.value) and "T=10" in str(info.value)
    with pytest.raises(ValueError) as info:
        m.update(torch.zeros(2, 10, 17, 3), torch.zeros(2, 9, 17, 3))
    assert "(2, 10, 17, 3)" in str(info.value) and "(2, 9, 17, 3)" in str(info.value)


@pytest.mark.parametrize("frames", [[], [-1], [1.5]])
def test_mpjpe_at_frames_bad_frames(frames):
    with pytest.raises(ValueError):
        MPJPEAtFrames(frames)


def test_bad_scale():
    with pytest.raises(ValueError):
        MPJPE(scale=0.0)


def test_half_precision_inputs():
    preds, target = data(seed=10)
    m = PAMPJPE()
    m.update(preds.bfloat16(), target.bfloat16())
    ref = PAMPJPE()
    ref.update(preds.bfloat16().float(), target.bfloat16().float())
    torch.testing.assert_close(m.compute(), ref.compute())


def test_flags():
    for cls in (MPJPE, NMPJPE, PAMPJPE, MPJPEAtFrames):
        assert cls.higher_is_better is False
        assert cls.full_state_update is False
    assert MPJPE.is_differentiable and NMPJPE.is_differentiable


def test_module_doctests():
    result = doctest.testmod(pose_module, raise_on_error=False, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0
