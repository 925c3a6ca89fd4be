"""Mixed precision and torch.compile on the CPU: the same network numbers, within the precision's rounding."""

import pytest
import torch

from sic.data.batch import SkeletonBatch
from sic.models import SkeletonInContext
from sic.tasks import InContextTask
from sic.tasks.in_context import TaskMetrics


def _net() -> SkeletonInContext:
    torch.manual_seed(0)
    return SkeletonInContext(dim=32, depth=2, num_heads=4, merge_layer=1)


def _inputs(batch: int = 4) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return [torch.randn(batch, 16, 17, 3, generator=g) * 0.3 for _ in range(4)]


def test_bf16_autocast_matches_fp32_forward_and_gradients():
    net = _net()
    pi, pt, qi, qt = _inputs()
    grads = {}
    for precision in ("fp32", "bf16"):
        net.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            out = net(pi, pt, qi)
            loss = (out.float() - qt).norm(dim=-1).mean()
        loss.backward()
        grads[precision] = (out.float().detach(), torch.cat([p.grad.flatten() for p in net.parameters()]))
    (out32, g32), (out16, g16) = grads["fp32"], grads["bf16"]
    assert grads["bf16"][0].dtype == torch.float32
    rel = (out16 - out32).norm() / out32.norm()
    assert rel < 2e-2, rel  # bf16 keeps 8 bits of mantissa: ~0.4 % per op
    assert torch.nn.functional.cosine_similarity(g16, g32, dim=0) > 0.99
    assert torch.isfinite(g16).all()


def test_metrics_under_autocast_equal_fp32_metrics():
    target = torch.randn(3, 16, 17, 3)
    pred = (target + 0.05 * torch.randn_like(target)).bfloat16()  # what a bf16 network returns
    batch = SkeletonBatch(inputs=target, targets=target, task=torch.ones(3, dtype=torch.long), prompt_inputs=target,
                          prompt_targets=target, mask=torch.zeros(3, 16, 17, dtype=torch.bool), meta={})  # fmt: skip
    plain, cast = TaskMetrics("pose_estimation", 50.0, 16), TaskMetrics("pose_estimation", 50.0, 16)
    plain.update(pred.float(), batch)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        cast.update(pred, batch)  # PA-MPJPE's SVD has no bf16 kernel: metrics must leave autocast
    a, b = plain.compute(), cast.compute()
    assert a.keys() == b.keys() >= {"mpjpe", "n_mpjpe", "pa_mpjpe"}
    for k in a:
        torch.testing.assert_close(b[k], a[k])


@pytest.mark.slow
def test_compiled_network_matches_eager():
    eager = _net().eval()
    task = InContextTask(_net().eval(), compile=True)
    pi, pt, qi, _ = _inputs(2)
    with torch.no_grad():
        expected = eager(pi, pt, qi)
        got = task.net(pi, pt, qi)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    assert set(task.state_dict()) == {f"net.{k}" for k in eager.state_dict()}  # checkpoints keep plain names
