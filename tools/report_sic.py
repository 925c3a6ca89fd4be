# ruff: noqa: RUF001
"""Train and test the Skeleton-in-Context table rows on the embedded source and write ``docs/results/sic-synthetic.md``.

Every trained row is ``sic fit`` then ``sic test`` of ``configs/experiments/sic-quickstart.yaml`` composed with
the row's overlay (``configs/experiments/sic-baselines/``, ``sic-arch/``), with the same step budget for every row
and one run directory per row. Evaluation rows need no training: the Copy and interpolation baselines, and the
trained SiC checkpoint tested with other prompt choices (``sic-eval/``) or on CMU mocap (Table 2; prepared from
``../shared/data/mocap/cmu`` when it is there, skipped otherwise). Finished runs (a ``test_metrics.json``) are not
rerun, so an interrupted report resumes.

    python tools/report_sic.py --budget small --jobs 2        # every default row, well under an hour on 2 cores
    python tools/report_sic.py --rows sic copy --dry-run      # print the commands only
    python tools/report_sic.py --collect-only                 # tables from finished runs

Budgets (training steps per row): ``small`` 600, ``medium`` 1500, ``full`` 3000 (the quickstart's). The tables
replace the text between ``<!-- tables:begin -->`` and ``<!-- tables:end -->`` in ``--write`` (``--block NAME``:
between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->``, so one document holds several budgets).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sic.tasks.report import latest_metrics, run_logged, write_tables

ROOT = Path(__file__).resolve().parents[1]
EXP = "configs/experiments"
BASE = f"{EXP}/sic-quickstart.yaml"
CMU_RAW = ROOT.parent / "shared" / "data" / "mocap" / "cmu"
TASKS = ("motion_prediction", "pose_estimation", "future_pose_estimation", "joint_completion")
SHORT = {"motion_prediction": "MP", "pose_estimation": "PE", "future_pose_estimation": "FPE",
         "joint_completion": "JC", "motion_inbetween": "in-between"}  # fmt: skip
BUDGETS = {"small": 600, "medium": 1500, "full": 3000}


@dataclass(frozen=True)
class Row:
    """One table row: trained from ``configs`` (``fit``), or tested from another row's checkpoint (``ckpt_of``)."""

    label: str
    configs: tuple[str, ...] = ()
    fit: bool = True
    ckpt_of: str | None = None
    base: str = BASE
    needs_cmu: bool = False
    tables: tuple[str, ...] = field(default=())


def _b(name: str) -> str:
    return f"{EXP}/sic-baselines/{name}.yaml"


ROWS: dict[str, Row] = {
    "copy": Row("Copy (prompt target)", fit=False, base=f"{EXP}/copy-quickstart.yaml"),
    "interpolation": Row("linear interpolation", fit=False, base=f"{EXP}/interpolation-quickstart.yaml"),
    "sic": Row("Dynamic-SiC (TGP + dynamic TUP)"),
    "static": Row("Static-SiC (TGP + static TUP)", (_b("static-tup"),)),
    "tgp-only": Row("TGP only", (_b("tgp-only"),)),
    "tup-only": Row("TUP only", (_b("tup-only"),)),
    "prompt-free": Row("prompt-free backbone, multi-task", (_b("prompt-free"),)),
    "multi-head": Row("prompt-free backbone, one head per task", (_b("multi-head"),)),
    **{f"specific-{t}": Row(f"task-specific backbone ({SHORT[t]} only)", (_b(f"task-specific-{t.replace('_', '-')}"),))
       for t in TASKS},
    "mim-pic": Row("Point-In-Context (frames as tokens)", (_b("mim-pic"),)),
    "mim-pointmae": Row("PointMAE (frames as tokens)", (_b("mim-pointmae"),)),
    "select-feature": Row("SiC, feature-similarity prompt", (f"{EXP}/sic-eval/feature-similarity.yaml",), False, "sic"),
    "select-motion": Row("SiC, motion-similarity prompt", (f"{EXP}/sic-eval/motion-similarity.yaml",), False, "sic"),
    "ensemble": Row("SiC, ensemble of 4 random prompts", (f"{EXP}/sic-eval/ensemble.yaml",), False, "sic"),
    "cmu-copy": Row("Copy, on CMU", (f"{EXP}/sic-eval/test-on-cmu.yaml",), False, base=f"{EXP}/copy-quickstart.yaml",
                    needs_cmu=True),
    "cmu-sic": Row("Dynamic-SiC, trained on the embedded source", (f"{EXP}/sic-eval/test-on-cmu.yaml",), False, "sic",
                   needs_cmu=True),
    "cmu-specific-pe": Row("task-specific PE, trained on the embedded source",
                           (_b("task-specific-pose-estimation"), f"{EXP}/sic-eval/test-on-cmu.yaml"), False,
                           "specific-pose_estimation", needs_cmu=True),
    **{f"arch-{a}": Row(f"arch: {a}", (f"{EXP}/sic-arch/{a}.yaml",))
       for a in ("dim-32", "dim-128", "depth-2", "depth-4", "merge-0", "merge-2", "aggregation-mean")},
}  # fmt: skip
DEFAULT_ROWS = [r for r in ROWS if not r.startswith("arch-")]  # Table 5 on request: --rows arch-dim-32 ...


def run_dir(out: Path, row: str) -> Path:
    return out / row


def overlay(directory: Path, steps: int, cmu_root: Path | None, fit: bool = True) -> Path:
    """A config sending logs and ``last.ckpt`` to ``directory``, with the budget's steps (and CMU's archive root)."""
    text = f"trainer:\n  default_root_dir: {directory}\n" if not fit else (
        f"trainer:\n  default_root_dir: {directory}\n  max_steps: {steps}\n  max_time: null\n"
        f"  val_check_interval: {max(steps // 2, 1)}\n  callbacks:\n"
        "    - class_path: lightning.pytorch.callbacks.ModelCheckpoint\n"
        f"      init_args:\n        dirpath: {directory}\n        save_last: true\n        save_top_k: 0\n"
        f"model:\n  init_args:\n    scheduler:\n      init_args:\n        T_max: {steps}\n"
    )
    path = directory / "run.yaml"
    path.write_text(text)
    if cmu_root is not None:
        cmu = directory / "cmu.yaml"
        cmu.write_text(f"data:\n  init_args:\n    sources:\n      - class_path: sic.data.sources.MotionArchiveSource\n"
                       f"        init_args:\n          root: {cmu_root}\n          fps: 25.0\n"
                       "          clip_frames: 48\n"
                       "          stride: 4\n")  # fmt: skip
    return path


def commands(row: str, out: Path, cmu_root: Path | None = None) -> list[list[str]]:
    """The ``sic`` commands of one row: fit and test, or test only."""
    spec, directory = ROWS[row], run_dir(out, row)
    configs = ["-c", spec.base]
    for c in spec.configs:
        configs += ["-c", c]
    configs += ["-c", str(directory / "run.yaml")]
    if spec.needs_cmu:
        configs += ["-c", str(directory / "cmu.yaml")]
    if spec.fit:
        return [["sic", "fit", *configs], ["sic", "test", *configs, "--ckpt_path", str(directory / "last.ckpt")]]
    ckpt = ["--ckpt_path", str(run_dir(out, spec.ckpt_of) / "last.ckpt")] if spec.ckpt_of else []
    return [["sic", "test", *configs, *ckpt]]


def execute(cmd: list[str], log: Path, threads: int | None) -> None:
    run_logged(cmd, log, ROOT, threads)


def prepare_cmu(out: Path) -> Path | None:
    """The CMU archive for the cross-dataset rows (prepared once), or None without the raw files."""
    root = out / "cmu"
    if (root / "meta.json").exists():
        return root
    if not CMU_RAW.is_dir():
        return None
    out.mkdir(parents=True, exist_ok=True)
    execute([sys.executable, "tools/prepare_mocap.py", str(CMU_RAW), "-o", str(root), "--split", "time",
             "--time-fractions", "0.7", "0.15", "0.15"], out / "prepare_cmu.log", None)  # fmt: skip
    return root


def run_one(row: str, out: Path, steps: int, threads: int | None, cmu_root: Path | None) -> None:
    """Train (if the row trains) and test one row; the training wall time goes to ``fit_seconds.txt``."""
    spec, directory = ROWS[row], run_dir(out, row)
    if latest_metrics(directory) is not None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    overlay(directory, steps, cmu_root, spec.fit)
    cmds = commands(row, out, cmu_root)
    if spec.fit:
        start = time.perf_counter()
        execute(cmds.pop(0), directory / "log.txt", threads)
        (directory / "fit_seconds.txt").write_text(f"{time.perf_counter() - start:.1f}\n")
    execute(cmds[0], directory / "log.txt", threads)
    print(f"{row}: done", flush=True)


def inspect_tup(out: Path, row: str = "sic") -> None:
    """Fig. 6: the pose sequence the row's learned TUP encodes, by both objectives (``tools/inspect_tup.py``)."""
    ckpt = run_dir(out, row) / "last.ckpt"
    if not ckpt.exists():
        return
    configs = [a for c in (ROWS[row].base, *ROWS[row].configs, str(run_dir(out, row) / "run.yaml")) for a in ("-c", c)]
    for objective in ("cosine", "least_squares"):
        target = out / f"tup-{row}-{objective}"
        if not (target / "summary.json").exists():
            target.mkdir(parents=True, exist_ok=True)
            execute([sys.executable, "tools/inspect_tup.py", *configs, "--ckpt", str(ckpt), "--objective", objective,
                     "--out", str(target), "--animate"], target / "log.txt", None)  # fmt: skip


def tup_table(out: Path) -> str:
    lines = []
    for objective in ("cosine", "least_squares"):
        path = out / f"tup-sic-{objective}" / "summary.json"
        if path.exists():
            s = json.loads(path.read_text())
            lines.append([objective.replace("_", " "), f"{s['cosine_similarity']:.3f}",
                          f"{s['mpjpe_to_mean_pose_mm']:.1f}", f"{s['mean_pose_joint_distance_mm']:.1f}"])  # fmt: skip
    return _table(["objective", "cosine to the TUP tokens", "MPJPE to the training mean pose (mm)",
                   "mean pose: mean joint distance from the root (mm)"], lines)  # fmt: skip


# -- tables ---------------------------------------------------------------------------------------
def _metrics(out: Path, rows: list[str]) -> dict[str, dict[str, float]]:
    found = {r: latest_metrics(run_dir(out, r)) for r in rows}
    return {r: m for r, m in found.items() if m is not None}


def _num(m: dict[str, float], key: str, digits: int = 1) -> str:
    return f"{m[key]:.{digits}f}" if key in m else "–"


def _table(header: list[str], lines: list[list[str]]) -> str:
    if not lines:
        return "(none of these rows was run)"
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(out + ["| " + " | ".join(cells) + " |" for cells in lines])


def task_table(metrics: dict[str, dict[str, float]], rows: list[str], tasks=TASKS, key="mpjpe",
               reference: str = "copy") -> str:  # fmt: skip
    """MPJPE (mm) per task for ``rows``, with each row's ratio to the ``reference`` row (Copy) when it was run."""
    copy = metrics.get(reference, {})
    lines = []
    for r in rows:
        if r not in metrics:
            continue
        m = metrics[r]
        cells = []
        for t in tasks:
            k = f"test/{t}/{key}"
            ratio = f" ({m[k] / copy[k]:.2f}×)" if k in m and copy.get(k) and r != reference else ""
            cells.append(_num(m, k) + ratio)
        lines.append([ROWS[r].label, *cells])
    return _table(["model", *(SHORT[t] for t in tasks)], lines)


def horizon_table(metrics: dict[str, dict[str, float]], rows: list[str], task: str) -> str:
    """MPJPE per horizon of ``task`` (the horizons the runs logged)."""
    keys = sorted({k for m in metrics.values() for k in m if k.startswith(f"test/{task}/mpjpe_") and k.endswith("ms")},
                  key=lambda k: int(k.rsplit("_", 1)[1][:-2]))  # fmt: skip
    lines = [[ROWS[r].label, *(_num(metrics[r], k) for k in keys), _num(metrics[r], f"test/{task}/mpjpe")]
             for r in rows if r in metrics]  # fmt: skip
    return _table(["model", *(k.rsplit("_", 1)[1] for k in keys), "all frames"], lines)


def column_table(metrics: dict[str, dict[str, float]], rows: list[str], columns: list[tuple[str, str]],
                 digits: int = 1) -> str:  # fmt: skip
    lines = [[ROWS[r].label, *(_num(metrics[r], k, digits) for _, k in columns)] for r in rows if r in metrics]
    return _table(["model", *(h for h, _ in columns)], lines)


def checks(metrics: dict[str, dict[str, float]]) -> list[tuple[str, bool | None]]:
    """The issue's acceptance relations on the measured numbers (None: a row it needs was not run)."""

    def mp(r: str, t: str) -> float | None:
        return metrics.get(r, {}).get(f"test/{t}/mpjpe")

    def relation(name: str, pairs: list[tuple[float | None, float | None]], op) -> tuple[str, bool | None]:
        if not pairs or any(a is None or b is None for a, b in pairs):
            return name, None
        return name, all(op(a, b) for a, b in pairs)

    sic_min_single = [(mp("sic", t), min((v for v in (mp("tgp-only", t), mp("tup-only", t)) if v is not None),
                                         default=None)) for t in TASKS]  # fmt: skip
    return [
        relation("SiC ≤ 0.35× Copy on every task",
                 [(mp("sic", t), None if mp("copy", t) is None else 0.35 * mp("copy", t)) for t in TASKS],
                 lambda a, b: a <= b),
        relation("SiC below the prompt-free multi-task backbone on every task",
                 [(mp("sic", t), mp("prompt-free", t)) for t in TASKS], lambda a, b: a < b),
        relation("TGP + TUP at least as good as either alone on every task", sic_min_single, lambda a, b: a <= b),
        relation("in-between from a custom prompt better than Copy",
                 [(mp("sic", "motion_inbetween"), mp("copy", "motion_inbetween"))], lambda a, b: a < b),
    ]  # fmt: skip


def report(out: Path, rows: list[str], steps: int, command: str = "python tools/report_sic.py") -> str:
    """The tables of every finished run in ``out`` (``rows`` first: runs of earlier invocations are kept)."""
    rows = list(dict.fromkeys([*rows, *ROWS]))
    m = _metrics(out, rows)
    tables = [
        f"Produced by `{command}`. Test MPJPE (mm) on the embedded source's test split; {steps} training steps per "
        "trained row; in brackets the ratio to Copy.",
        "### Acceptance relations",
        "\n".join(f"- {'✓' if ok else ('✗' if ok is False else '–')} {name}" for name, ok in checks(m)),
        "### Table 1: in-context and multi-task models",
        task_table(m, ["copy", "interpolation", "mim-pic", "mim-pointmae", "multi-head", "prompt-free", "static",
                       "sic"]),
        "### Table 3: task-guided and task-unified prompts",
        task_table(m, ["prompt-free", "tup-only", "tgp-only", "sic"]),
        "### Table 6: task-specific versus multi-task without prompts (negative transfer)",
        task_table(m, ["prompt-free", "multi-head", "sic"]) + "\n\n" + column_table(
            m, [f"specific-{t}" for t in TASKS], [("own task", "test/mpjpe")]),
        "### Table 4: prompt selection at test time (one trained SiC)",
        task_table(m, ["sic", "select-feature", "select-motion", "ensemble"]),
        "### Per horizon: motion prediction (25 fps)",
        horizon_table(m, ["copy", "prompt-free", "tgp-only", "tup-only", "sic"], "motion_prediction"),
        "### Per horizon: future pose estimation (50 fps)",
        horizon_table(m, ["copy", "prompt-free", "tgp-only", "tup-only", "sic"], "future_pose_estimation"),
        "### Unseen task: motion in-between (never trained; prompts are in-between pairs)",
        column_table(m, ["copy", "interpolation", "prompt-free", "tgp-only", "mim-pic", "sic", "static"],
                     [("MPJPE", "test/motion_inbetween/mpjpe"),
                      ("hidden frames", "test/motion_inbetween/mpjpe_masked")]),
        "### Shrinking skeletons (Fig. 2): predicted over true bone length, last target frame",
        column_table(m, ["mim-pic", "mim-pointmae", "prompt-free", "sic"],
                     [(SHORT[t], f"test/{t}/pose_scale_last") for t in TASKS], digits=2),
        "### Table 2: trained on the embedded source, tested on CMU mocap (ratios to Copy on CMU)",
        task_table(m, ["cmu-copy", "cmu-specific-pe", "cmu-sic"], reference="cmu-copy"),
        "### TUP inspection (Fig. 6): the pose sequence Dynamic-SiC's learned TUP encodes",
        tup_table(out),
        "### Table 5: architecture (rows run on request)",
        task_table(m, ["sic", *(r for r in ROWS if r.startswith("arch-"))]),
    ]
    times = [f"{ROWS[r].label}: {float(p.read_text()):.0f} s" for r in rows
             if (p := run_dir(out, r) / "fit_seconds.txt").exists()]  # fmt: skip
    tables += ["### Training wall time", "; ".join(times) if times else "–"]
    return "\n\n".join(tables)


def shown_arguments(argv: list[str]) -> list[str]:
    """The arguments that decide the runs (not where the tables go, nor --collect-only), for the report's header."""
    shown, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in ("--write", "--block", "--out"):
            skip = True
        elif a not in ("--collect-only", "--no-write") and not a.startswith(("--write=", "--block=", "--out=")):
            shown.append(a)
    return shown


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", nargs="+", default=DEFAULT_ROWS, choices=list(ROWS))
    parser.add_argument("--budget", choices=list(BUDGETS), default="small", help="training steps per row")
    parser.add_argument("--steps", type=int, help="training steps per row, overriding --budget (quick checks)")
    parser.add_argument("--out", type=Path, default=Path("runs/sic-report"))
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (each gets cores / jobs threads)")
    parser.add_argument("--write", type=Path, default=Path("docs/results/sic-synthetic.md"))
    parser.add_argument("--block", default="tables", help="which marked block of --write to replace")
    parser.add_argument("--no-write", action="store_true", help="print the tables only")
    parser.add_argument("--dry-run", action="store_true", help="print the commands and stop")
    parser.add_argument("--collect-only", action="store_true", help="only build the tables from finished runs")
    args = parser.parse_args(argv)
    steps = args.steps or BUDGETS[args.budget]
    root = args.out if args.out.is_absolute() else ROOT / args.out
    out = root / (args.budget if not args.steps else f"steps{steps}")
    order = [r for r in ROWS if r in args.rows]
    trained, evaluated = [r for r in order if ROWS[r].fit], [r for r in order if not ROWS[r].fit]
    if args.dry_run:
        for r in order:
            for cmd in commands(r, out, out / "cmu" if ROWS[r].needs_cmu else None):
                print(" ".join(cmd))
        return
    if not args.collect_only:
        cmu_root = prepare_cmu(out) if any(ROWS[r].needs_cmu for r in order) else None
        evaluated = [r for r in evaluated if cmu_root is not None or not ROWS[r].needs_cmu]
        threads = max(1, math.floor((os.cpu_count() or 1) / args.jobs)) if args.jobs > 1 else None
        failures = []
        for stage in (trained, evaluated):  # evaluation rows test checkpoints of the trained ones
            with ThreadPoolExecutor(args.jobs) as pool:
                futures = [pool.submit(run_one, r, out, steps, threads, cmu_root if ROWS[r].needs_cmu else None)
                           for r in stage]  # fmt: skip
                failures += [f.exception() for f in futures if f.exception() is not None]
        if "sic" in order:
            try:
                inspect_tup(out)
            except RuntimeError as e:
                failures.append(e)
        for e in failures:
            print(f"error: {e}", file=sys.stderr)
    command = "python tools/report_sic.py " + " ".join(shown_arguments(argv if argv is not None else sys.argv[1:]))
    text = report(out, order, steps, command)
    print(text)
    if not args.no_write:
        write_tables(args.write if args.write.is_absolute() else ROOT / args.write, text, args.block)
        print(f"tables written to {args.write}")


if __name__ == "__main__":
    main()
