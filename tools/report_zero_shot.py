# ruff: noqa: RUF001
"""Train and test the zero-shot rows (baseline, module ablations, slot ablations) on the embedded source, over
several seeds, and write the tables of ``docs/results/zero-shot-synthetic.md``.

Every row is ``sic fit`` then ``sic test`` of ``configs/experiments/zero-shot/procedural-skeleton-context.yaml``
composed with the row's ablation overlay, the same number of epochs for every row, one run directory per row
and seed. The frozen Shift-GCN is pretrained once (``procedural-shiftgcn.yaml``) unless its checkpoint exists.
Finished runs (a ``test_metrics.json``) are not rerun, so an interrupted report resumes.

    python tools/report_zero_shot.py --seeds 0 1 2 --jobs 2                  # train, test, write the tables
    python tools/report_zero_shot.py --rows baseline full --seeds 0 --dry-run  # print the commands only
    python tools/report_zero_shot.py --collect-only                          # tables from finished runs

The tables replace the text between ``<!-- tables:begin -->`` and ``<!-- tables:end -->`` in ``--write``; the
prose around them is kept.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sic.tasks.report import latest_metrics, markers, run_logged, write_tables

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = "configs/experiments/zero-shot"
BASE = f"{CONFIGS}/procedural-skeleton-context.yaml"
BACKBONE = f"{CONFIGS}/procedural-shiftgcn.yaml"
BACKBONE_CKPT = "runs/zs-procedural-shiftgcn/last.ckpt"
ROWS: dict[str, tuple[str, str | None]] = {  # row -> (label, overlay); Table 5 then Table 7 of the paper
    "baseline": ("plain alignment baseline", f"{CONFIGS}/ablations/baseline.yaml"),
    "dje": ("+ DJE", f"{CONFIGS}/ablations/dje.yaml"),
    "dje-scg": ("+ DJE + SCG (all slots hidden)", f"{CONFIGS}/ablations/dje-scg.yaml"),
    "dje-scg-ppm": ("+ DJE + SCG + PPM", f"{CONFIGS}/ablations/dje-scg-ppm.yaml"),
    "full": ("SkeletonContext (DJE + SCG + PPM + KPD)", None),
    "slots-no-environment": ("SkeletonContext, no environment slot", f"{CONFIGS}/ablations/slots-no-environment.yaml"),
    "slots-no-used-object": ("SkeletonContext, no used-object slot", f"{CONFIGS}/ablations/slots-no-used-object.yaml"),
    "slots-no-target-object": ("SkeletonContext, no target-object slot",
                               f"{CONFIGS}/ablations/slots-no-target-object.yaml"),
}  # fmt: skip
COLUMNS = (  # (header, metric key)
    ("ZSL fused", "test/fused/zsl_top1"),
    ("ZSL context", "test/context/zsl_top1"),
    ("ZSL part", "test/part/zsl_top1"),
    ("GZSL S", "test/fused/gzsl_cal_seen"),
    ("GZSL U", "test/fused/gzsl_cal_unseen"),
    ("GZSL H", "test/fused/gzsl_cal_h"),
    ("AUSUC", "test/fused/ausuc"),
    ("w", "test/fused/weight"),
)
BEGIN, END = markers()


def run_dir(out: Path, row: str, seed: int) -> Path:
    return out / f"{row}-s{seed}"


def overlay(directory: Path) -> Path:
    """A config that sends the run's logs and its ``last.ckpt`` to ``directory`` (replacing the row's callbacks)."""
    path = directory / "run.yaml"
    path.write_text(
        f"trainer:\n  default_root_dir: {directory}\n  callbacks:\n"
        "    - class_path: lightning.pytorch.callbacks.ModelCheckpoint\n"
        f"      init_args:\n        dirpath: {directory}\n        save_last: true\n        save_top_k: 0\n"
    )
    return path


def commands(row: str, seed: int, out: Path, epochs: int) -> list[list[str]]:
    """``sic fit`` and ``sic test`` of one row and seed."""
    directory = run_dir(out, row, seed)
    configs = ["-c", BASE] + (["-c", ROWS[row][1]] if ROWS[row][1] else []) + ["-c", str(directory / "run.yaml")]
    fit = ["sic", "fit", *configs, "--seed_everything", str(seed), "--trainer.max_epochs", str(epochs)]
    test = ["sic", "test", *configs, "--ckpt_path", str(directory / "last.ckpt")]
    return [fit, test]


def execute(cmd: list[str], log: Path, threads: int | None) -> None:
    run_logged(cmd, log, ROOT, threads)


def run_one(row: str, seed: int, out: Path, epochs: int, threads: int | None) -> float:
    """Train and test one row and seed; the wall time of its training in seconds (0 when already done)."""
    directory = run_dir(out, row, seed)
    if latest_metrics(directory) is not None:
        return 0.0
    directory.mkdir(parents=True, exist_ok=True)
    overlay(directory)
    fit, test = commands(row, seed, out, epochs)
    start = time.perf_counter()
    execute(fit, directory / "log.txt", threads)
    seconds = time.perf_counter() - start
    (directory / "fit_seconds.txt").write_text(f"{seconds:.1f}\n")
    execute(test, directory / "log.txt", threads)
    print(f"{row} seed {seed}: trained in {seconds:.0f} s", flush=True)
    return seconds


def cell(values: list[float]) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def table(out: Path, rows: list[str], seeds: list[int]) -> str:
    """Mean ± standard deviation over the finished seeds of each row (percent; ``w`` the fusion weight)."""
    head = "| model | seeds | " + " | ".join(h for h, _ in COLUMNS) + " | fit time (s) |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 3)]
    for row in rows:
        runs = [(s, latest_metrics(run_dir(out, row, s))) for s in seeds]
        done = [(s, m) for s, m in runs if m is not None]
        if not done:
            continue
        cells = [cell([m[key] for _, m in done if key in m]) for _, key in COLUMNS]
        times = [float(t.read_text()) for s, _ in done if (t := run_dir(out, row, s) / "fit_seconds.txt").exists()]
        time_cell = f"{statistics.mean(times):.0f}" if times else "–"
        lines.append(f"| {ROWS[row][0]} | {len(done)} | " + " | ".join(cells) + f" | {time_cell} |")
    return "\n".join(lines)


def per_seed(out: Path, rows: list[str], seeds: list[int], key: str = "test/fused/zsl_top1") -> str:
    """Fused ZSL top-1 per seed: paired comparisons between rows trained with the same seed."""
    lines = ["| model | " + " | ".join(f"seed {s}" for s in seeds) + " |", "|" + "---|" * (len(seeds) + 1)]
    for row in rows:
        metrics = [latest_metrics(run_dir(out, row, s)) for s in seeds]
        if any(m is not None for m in metrics):
            cells = [f"{m[key]:.1f}" if m is not None else "–" for m in metrics]
            lines.append(f"| {ROWS[row][0]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=12, help="training epochs of every row (default 12)")
    parser.add_argument("--out", type=Path, default=Path("runs/zs-report"))
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (each gets cores / jobs threads)")
    parser.add_argument("--write", type=Path, default=Path("docs/results/zero-shot-synthetic.md"))
    parser.add_argument("--no-write", action="store_true", help="print the tables only")
    parser.add_argument("--dry-run", action="store_true", help="print the commands and stop")
    parser.add_argument("--collect-only", action="store_true", help="only build the tables from finished runs")
    args = parser.parse_args(argv)
    out = args.out if args.out.is_absolute() else ROOT / args.out
    order = [r for r in ROWS if r in args.rows]
    jobs = [(r, s) for s in args.seeds for r in order]  # seed-major: a paired comparison is ready early
    if args.dry_run:
        if not (ROOT / BACKBONE_CKPT).exists():
            print("sic fit -c", BACKBONE)
        for r, s in jobs:
            for cmd in commands(r, s, out, args.epochs):
                print(" ".join(cmd))
        return
    if not args.collect_only:
        if not (ROOT / BACKBONE_CKPT).exists():
            (ROOT / "runs").mkdir(exist_ok=True)
            execute(["sic", "fit", "-c", BACKBONE], ROOT / "runs" / "zs-procedural-shiftgcn.log", None)
        threads = max(1, math.floor((os.cpu_count() or 1) / args.jobs)) if args.jobs > 1 else None
        with ThreadPoolExecutor(args.jobs) as pool:
            failures = [f for f in [pool.submit(run_one, r, s, out, args.epochs, threads) for r, s in jobs]
                        if f.exception() is not None]  # fmt: skip
        for f in failures:
            print(f"error: {f.exception()}", file=sys.stderr)
    text = (f"Mean ± standard deviation over seeds; {args.epochs} epochs per run; percentages (γ and w chosen on "
            f"validation).\n\n{table(out, order, args.seeds)}\n\nFused ZSL top-1 per seed (paired by seed):\n\n"
            f"{per_seed(out, order, args.seeds)}")  # fmt: skip
    print(text)
    if not args.no_write:
        write_tables(args.write if args.write.is_absolute() else ROOT / args.write, text)
        print(f"tables written to {args.write}")


if __name__ == "__main__":
    main()
