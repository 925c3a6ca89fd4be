"""Measure batch assembly from the skeleton bank: samples per second of ``TaskBank.__getitems__``.

    python tools/bench_bank.py --json
    python tools/bench_bank.py --batch 256 --batches 50 --tasks pose_estimation joint_completion

The archives are generated (or taken from the cache) first and not timed; the timed loop assembles
random training batches -- queries, prompts, task transforms -- in one process, as a DataLoader
worker does. Prints ``samples_per_s`` (median batch time) in one JSON line with ``--json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time

from sic.data import TASK_IDS, InContextDataModule
from sic.data.sources import ProceduralSource


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark; returns the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--batches", type=int, default=40)
    ap.add_argument("--clips", type=int, default=8000, help="training clips per source")
    ap.add_argument("--tasks", nargs="+", default=[t for t in TASK_IDS if t != "motion_inbetween"])
    ap.add_argument("--cache-dir", default=None, help="archive cache (default: $SIC_CACHE or ~/.cache/sic)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    clips = {"train": args.clips, "val": 16, "test": 16}
    sources = [
        ProceduralSource(name="bench50", fps=50.0, clips_per_split=clips, tasks=[t for t in TASK_IDS if t != "motion_prediction"]),
        ProceduralSource(name="bench25", fps=25.0, clips_per_split=clips, tasks=["motion_prediction"]),
    ]
    t0 = time.perf_counter()
    dm = InContextDataModule(tasks=args.tasks, held_out=[], sources=sources, batch_size=args.batch, cache_dir=args.cache_dir)
    dm.setup("fit")
    prepare_s = time.perf_counter() - t0
    bank = dm.banks["train"]
    stream = itertools.cycle(dm.train_dataloader().sampler)  # the (item, draw) pairs training asks for
    times = []
    for i in range(args.batches + 2):
        idx = list(itertools.islice(stream, args.batch))
        t = time.perf_counter()
        bank.__getitems__(idx)
        if i >= 2:  # warm-up: page in the memory-mapped archives
            times.append(time.perf_counter() - t)
    out = {
        "samples_per_s": round(args.batch / statistics.median(times), 1),
        "batch": args.batch,
        "tasks": len(args.tasks),
        "prepare_s": round(prepare_s, 2),
    }
    print(json.dumps(out) if args.json else "\n".join(f"{k:>14}: {v}" for k, v in out.items()))
    return out


if __name__ == "__main__":
    main()
