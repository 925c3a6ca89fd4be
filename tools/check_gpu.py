"""Check a GPU for ``sic``: a short bf16 fit of SiC with flash attention, reporting samples/s.

Runs the real ``sic fit`` path (datamodule, task, Trainer with ``bf16-mixed``) on the embedded data
for a fixed number of steps, after checking that PyTorch's flash-attention kernel serves SiC's
attention shapes. Prints one JSON line (``--json``) or a short table::

    python tools/check_gpu.py --json
    python tools/check_gpu.py --steps 200 --batch 64 --dim 256 --depth 5   # the paper's network size

Keys: ``device``, ``flash_attention`` (the kernel ran; without it SDPA falls back to slower kernels),
``precision``, ``steps``, ``batch``, ``samples_per_s`` (training samples per second over the timed steps,
data loading included), ``step_ms`` (median), ``peak_memory_mb`` (CUDA), ``final_loss``.
Exits with status 2 and a one-line error where no CUDA device is visible (``--device cpu`` runs
the same check on the CPU, without flash attention, e.g. to test this script).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import lightning as L
import torch


class _StepTimer(L.Callback):
    def __init__(self, warmup: int) -> None:
        self.warmup, self.times, self._t0 = warmup, [], 0.0

    def _sync(self, trainer: L.Trainer) -> None:
        if trainer.strategy.root_device.type == "cuda":
            torch.cuda.synchronize()

    def on_train_batch_start(self, trainer: L.Trainer, *args: object) -> None:
        self._sync(trainer)
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        self._sync(trainer)
        if trainer.global_step > self.warmup:
            self.times.append(time.perf_counter() - self._t0)


def flash_attention_works(device: torch.device, heads: int, head_dim: int) -> bool:
    """True if the flash SDPA kernel runs for SiC-shaped inputs (``(N, heads, 32 frames, head_dim)``, bf16)."""
    if device.type != "cuda":
        return False
    from torch.nn.attention import SDPBackend, sdpa_kernel

    q = torch.randn(64, heads, 32, head_dim, device=device, dtype=torch.bfloat16)
    try:
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            torch.nn.functional.scaled_dot_product_attention(q, q, q)
        return True
    except RuntimeError:
        return False


def main(argv: list[str] | None = None) -> dict:
    """Run the check and print the figures; returns them."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10, help="untimed first steps (kernel selection, caches)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--depth", type=int, default=5)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--precision", default="bf16-mixed")
    ap.add_argument("--clips", type=int, default=2048, help="procedural training clips per source")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: no CUDA device is visible (check CUDA_VISIBLE_DEVICES and the torch build; --device cpu "
              "runs the check on the CPU)", file=sys.stderr)  # fmt: skip
        sys.exit(2)
    if args.steps <= args.warmup:
        print(f"error: --steps ({args.steps}) must exceed --warmup ({args.warmup})", file=sys.stderr)
        sys.exit(2)

    from sic.data import InContextDataModule
    from sic.data.sources import ProceduralSource
    from sic.models import SkeletonInContext
    from sic.tasks import InContextTask

    device = torch.device(args.device)
    flash = flash_attention_works(device, args.heads, args.dim // args.heads)
    clips = {"train": args.clips, "val": 16, "test": 16}
    sources = [ProceduralSource(name="gpucheck50", fps=50.0, clips_per_split=clips,
                                tasks=["pose_estimation", "future_pose_estimation", "joint_completion"]),
               ProceduralSource(name="gpucheck25", fps=25.0, clips_per_split=clips, tasks=["motion_prediction"])]  # fmt: skip
    dm = InContextDataModule(tasks=["motion_prediction", "pose_estimation", "future_pose_estimation", "joint_completion"],
                             held_out=[], sources=sources, batch_size=args.batch, num_workers=2 if device.type == "cuda" else 0,
                             pin_memory=device.type == "cuda")  # fmt: skip
    net = SkeletonInContext(dim=args.dim, depth=args.depth, num_heads=args.heads, merge_layer=min(2, args.depth - 1))
    task = InContextTask(net)
    timer = _StepTimer(args.warmup)
    trainer = L.Trainer(accelerator="gpu" if device.type == "cuda" else "cpu", devices=1, precision=args.precision,
                        max_steps=args.steps, limit_val_batches=0, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, callbacks=[timer])  # fmt: skip
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    trainer.fit(task, datamodule=dm)
    step = statistics.median(timer.times)
    out = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "flash_attention": flash,
        "precision": args.precision,
        "steps": args.steps,
        "batch": args.batch,
        "samples_per_s": round(args.batch * len(timer.times) / sum(timer.times), 1),
        "step_ms": round(step * 1000, 2),
        "peak_memory_mb": round(torch.cuda.max_memory_allocated(device) / 2**20, 1) if device.type == "cuda" else None,
        "final_loss": round(float(trainer.callback_metrics["train/loss"]), 5),
    }
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:>16}: {v}")
    return out


if __name__ == "__main__":
    main()
