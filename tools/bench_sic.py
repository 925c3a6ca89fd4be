"""Time the SiC network: one training step, one inference batch, one shared-prompt inference batch.

Prints one JSON line (``--json``) or a short table::

    python tools/bench_sic.py --batch 16 --dim 256 --depth 5 --json
    python tools/bench_sic.py --batch 16 --impl reference --json   # the reference forward, same sizes

Keys: ``train_ms_per_step`` (forward, MPJPE loss, backward, AdamW step), ``infer_ms_per_batch``
(per-sample prompts, no grad), ``infer_shared_prompt_ms_per_batch`` (one prompt for the whole batch;
the reference has no prompt cache, so it recomputes the prompt per sample) and ``peak_rss_mb``.
Medians over ``--iters`` timed repetitions after ``--warmup`` untimed ones.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _median_ms(fn, iters: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark and print the result; returns the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--depth", type=int, default=5)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--joints", type=int, default=17)
    ap.add_argument("--impl", choices=["sic", "reference"], default="sic")
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave torch's default)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["train", "infer", "shared"])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    b, f, j = args.batch, args.frames, args.joints
    pi, pt, qi, qt = (torch.randn(b, f, j, 3) for _ in range(4))

    if args.impl == "sic":
        from sic.models import SkeletonInContext

        net = SkeletonInContext(num_joints=j, num_frames=f, dim=args.dim, depth=args.depth, num_heads=args.heads)

        def run(pi: torch.Tensor, pt: torch.Tensor, qi: torch.Tensor) -> torch.Tensor:
            return net(pi, pt, qi)

        def run_shared() -> torch.Tensor:
            return net(pi[:1], pt[:1], qi)
    else:
        from reference_sic import ReferenceSiC

        net = ReferenceSiC(j, f, args.dim, args.depth, args.heads)

        def run(pi: torch.Tensor, pt: torch.Tensor, qi: torch.Tensor) -> torch.Tensor:
            return net(torch.cat([pi, pt], 1), torch.cat([qi, qt], 1))

        def run_shared() -> torch.Tensor:
            return run(pi[:1].expand_as(pi), pt[:1].expand_as(pt), qi)

    opt = torch.optim.AdamW(net.parameters(), lr=2e-4, weight_decay=0.01)

    def train_step() -> None:
        loss = torch.linalg.vector_norm(run(pi, pt, qi) - qt, dim=-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def infer(fn) -> None:
        with torch.inference_mode():
            fn()

    out: dict[str, float] = {"impl": args.impl, "batch": b, "dim": args.dim, "depth": args.depth, "threads": torch.get_num_threads()}
    if "train" not in args.skip:
        out["train_ms_per_step"] = round(_median_ms(train_step, args.iters, args.warmup), 1)
    if "infer" not in args.skip:
        out["infer_ms_per_batch"] = round(_median_ms(lambda: infer(lambda: run(pi, pt, qi)), args.iters, args.warmup), 1)
    if "shared" not in args.skip:
        out["infer_shared_prompt_ms_per_batch"] = round(_median_ms(lambda: infer(run_shared), args.iters, args.warmup), 1)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:>34}: {v}")
    return out


if __name__ == "__main__":
    main()
