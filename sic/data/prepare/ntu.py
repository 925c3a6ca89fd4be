"""Prepare an NTU RGB+D 60/120 recognition archive from the raw ``.skeleton`` files (the CTR-GCN pipeline).

Run as ``python -m sic.data.prepare.ntu --raw DIR [DIR ...] --benchmark ntu60-xsub -o NTU60_CS.npz``
(or ``python tools/prepare_ntu.py ...``; ``--help`` lists the options). Every ``*.skeleton`` under the raw
directories that belongs to the benchmark and is not on the ``--missing`` list is parsed, denoised (bodies
tracked <= 11 frames, spread test, motion order, actor 1/2 by non-overlapping intervals), centred on the spine
mid of actor 1 in its first frame and zero-padded (or cut) to ``--max-frames``; train and test go to one
uncompressed ``x_train / y_train / x_test / y_test`` archive (:mod:`sic.data.formats.skeleton_npz`) with the
sample names and valid-frame counts. See docs/datasets/ntu-pku.md.

Example:
    python -m sic.data.prepare.ntu --raw nturgb+d_skeletons --benchmark ntu60-xsub \\
        --missing NTU_RGBD_samples_with_missing_skeletons.txt --workers 8 -o data/ntu/NTU60_CS.npz
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
from tqdm import tqdm

from sic.data.formats.ntu import BENCHMARKS, centre, denoise, parse_ntu_name, read_missing_list, read_skeleton
from sic.data.formats.skeleton_npz import write_skeleton_npz
from sic.utils.errors import ConfigError, DataError, SicError

__all__ = ["fit_frames", "main", "prepare_ntu", "print_summary", "process_skeleton", "run_prepare"]

SPLITS = ("train", "test")


def fit_frames(x: np.ndarray, max_frames: int, crop: Literal["start", "centre"] = "start") -> tuple[np.ndarray, bool]:
    """Zero-pad or cut a sequence to exactly ``max_frames`` frames.

    Args:
        x: ``(T, M, J, 3)`` sequence.
        max_frames: frames of the result.
        crop: a longer sequence keeps its first frames (``start``) or its middle ones (``centre``).

    Returns:
        ``((max_frames, M, J, 3) float32, whether frames were cut)``.
    """
    t = len(x)
    if t > max_frames:
        start = (t - max_frames) // 2 if crop == "centre" else 0
        return np.asarray(x[start : start + max_frames], np.float32), True
    out = np.zeros((max_frames, *x.shape[1:]), np.float32)
    out[:t] = x
    return out, False


def process_skeleton(path: str | Path) -> np.ndarray:
    """Read, denoise and centre one ``.skeleton`` file: ``(T', 2, 25, 3)`` float32."""
    return centre(denoise(read_skeleton(path)))


def _work(path: str) -> tuple[np.ndarray | None, str | None]:
    """Pool worker: the processed sample, or the error message of bad input."""
    try:
        return process_skeleton(path), None
    except SicError as e:
        return None, str(e)


def find_skeleton_files(raw: list[Path]) -> dict[str, Path]:
    """``{sample name: path}`` of every ``*.skeleton`` file under the directories (recursively), sorted by name.

    Raises:
        DataError: a directory that does not exist, or the same sample name in two places.
    """
    found: dict[str, Path] = {}
    for d in raw:
        if not d.is_dir():
            raise DataError(f"raw directory {str(d)!r} does not exist (expected the extracted nturgbd_skeletons_*.zip)")
        for f in d.rglob("*.skeleton"):
            name = f.name[: -len(".skeleton")]
            if name in found and found[name] != f:
                raise DataError(f"sample {name} is in two places: {found[name]} and {f}")
            found[name] = f
    return dict(sorted(found.items()))


def prepare_ntu(raw: list[Path], output: Path, benchmark: str, missing: list[Path] | None = None, workers: int = 1,
                max_frames: int = 300, skip_bad: bool = False, progress: bool = True) -> dict:  # fmt: skip
    """Write the recognition archive of ``benchmark`` from the raw files; returns a summary dict.

    Args:
        raw: directories holding ``*.skeleton`` files (searched recursively).
        output: the ``.npz`` to write (atomically).
        benchmark: a key of :data:`~sic.data.formats.ntu.BENCHMARKS`.
        missing: official "samples with missing skeletons" lists; their samples are skipped.
        workers: processes parsing files (1: in this process).
        max_frames: frames per stored sample (longer ones keep their first frames).
        skip_bad: skip files that fail to parse or denoise (listed in the summary) instead of failing.
        progress: show a progress bar.

    Raises:
        ConfigError: an unknown benchmark or a non-positive ``workers`` / ``max_frames``.
        DataError: a missing directory, no usable file, or (without ``skip_bad``) the first bad file.
    """
    if benchmark not in BENCHMARKS:
        raise ConfigError(f"unknown benchmark {benchmark!r}; expected one of {sorted(BENCHMARKS)}")
    if workers < 1 or max_frames < 1:
        raise ConfigError(f"--workers and --max-frames must be >= 1, got {workers} and {max_frames}")
    bench = BENCHMARKS[benchmark]
    files = find_skeleton_files(raw)
    if not files:
        raise DataError(f"no *.skeleton files under {[str(d) for d in raw]}")
    skip = set().union(*(read_missing_list(p) for p in missing or []))
    chosen: dict[str, list[tuple[str, Path, int]]] = {s: [] for s in SPLITS}
    skipped_missing = other = 0
    for name, path in files.items():
        sample = parse_ntu_name(name)
        if not bench.includes(sample):
            other += 1
        elif name in skip:
            skipped_missing += 1
        else:
            chosen[bench.split_of(sample)].append((name, path, sample.label))
    if not any(chosen.values()):
        raise DataError(f"none of the {len(files)} .skeleton files under {[str(d) for d in raw]} belongs to "
                        f"{benchmark} (setups <= {bench.max_setup}, actions <= {bench.num_classes})")  # fmt: skip
    jobs = [(split, k, item) for split in SPLITS for k, item in enumerate(chosen[split])]
    arrays = {s: np.zeros((len(chosen[s]), max_frames, 2, 25, 3), np.float32) for s in SPLITS}
    ok = {s: np.zeros(len(chosen[s]), bool) for s in SPLITS}
    frames = {s: np.zeros(len(chosen[s]), np.int64) for s in SPLITS}
    truncated = dict.fromkeys(SPLITS, 0)
    bad: dict[str, str] = {}
    paths = [str(item[1]) for _, _, item in jobs]
    pool = multiprocessing.Pool(workers) if workers > 1 and len(jobs) > 1 else None
    try:
        results = pool.imap(_work, paths, chunksize=8) if pool else map(_work, paths)
        for (split, k, (name, _, _)), (x, err) in tqdm(zip(jobs, results, strict=True), total=len(jobs), desc=benchmark,
                                                      unit="file", disable=not progress):  # fmt: skip
            if x is None:
                if not skip_bad:
                    raise DataError(err)
                bad[name] = err
                continue
            arrays[split][k], cut = fit_frames(x, max_frames)
            truncated[split] += cut
            frames[split][k], ok[split][k] = len(x), True
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    splits, names, summary = {}, {}, {}
    for s in SPLITS:
        keep = ok[s]
        good = [item for item, g in zip(chosen[s], keep, strict=True) if g]
        labels = np.array([label for _, _, label in good], np.int64)
        splits[s] = (arrays[s] if keep.all() else arrays[s][keep], labels)
        names[s] = np.array([n for n, _, _ in good], dtype=str)
        performers = {parse_ntu_name(n).performer for n, _, _ in good}
        summary[s] = {"samples": len(good), "classes": len(set(labels.tolist())), "performers": len(performers),
                      "mean_frames": round(float(frames[s][keep].mean()), 1) if keep.any() else 0.0,
                      "truncated": truncated[s]}  # fmt: skip
    if not any(v["samples"] for v in summary.values()):
        raise DataError(f"every selected file failed: {bad}")
    write_skeleton_npz(output, splits, num_persons=2, names=names)
    return {"output": str(output), "benchmark": benchmark, "max_frames": max_frames, "splits": summary,
            "skipped_missing": skipped_missing, "other_files": other, "skipped": bad}  # fmt: skip


def print_summary(summary: dict) -> None:
    """Print what :func:`prepare_ntu` (or the PKU-MMD prepare) returned: one line per split."""
    print(f"wrote {summary['output']} ({summary['benchmark']}, {summary['max_frames']} frames per sample)")
    for split, s in summary["splits"].items():
        extra = "  ".join(f"{v} {k.replace('_', ' ')}" for k, v in s.items() if k not in ("samples", "classes"))
        print(f"  {split:5s} {s['samples']:6d} samples {s['classes']:4d} classes  {extra}")
    if summary.get("skipped_missing"):
        print(f"  skipped {summary['skipped_missing']} samples on the missing-skeleton list")
    if summary.get("other_files"):
        print(f"  ignored {summary['other_files']} files outside {summary['benchmark']}")
    for name, why in summary.get("skipped", {}).items():
        print(f"  skipped {name}: {why}")
    empty = [s for s, v in summary["splits"].items() if v["samples"] == 0]
    if empty:
        print(f"  warning: no samples in split(s) {empty}")


def run_prepare(job: Callable[[], dict], printer: Callable[[dict], None] = print_summary) -> int:
    """Run a prepare job: print its summary (exit 0) or a one-line ``error:`` for bad input (exit 2)."""
    try:
        summary = job()
    except (SicError, OSError, json.JSONDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    printer(summary)
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="prepare_ntu.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)  # fmt: skip
    p.add_argument("--raw", nargs="+", type=Path, required=True, metavar="DIR",
                   help="directories with *.skeleton files (searched recursively; NTU-120: both zips)")  # fmt: skip
    p.add_argument("--benchmark", choices=sorted(BENCHMARKS), required=True)
    p.add_argument("-o", "--output", type=Path, required=True, help="the .npz archive to write")
    p.add_argument("--missing", nargs="*", type=Path, default=[], metavar="FILE",
                   help="official samples-with-missing-skeletons list(s); their samples are skipped")  # fmt: skip
    p.add_argument("--workers", type=int, default=1, help="processes parsing files")
    p.add_argument("--max-frames", type=int, default=300, help="frames per stored sample (zero-padded or cut)")
    p.add_argument("--skip-bad", action="store_true", help="skip malformed files (listed) instead of failing")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (2 with a one-line error for bad input)."""
    args = _parser().parse_args(argv)
    return run_prepare(lambda: prepare_ntu(args.raw, args.output, args.benchmark, args.missing, args.workers,
                                           args.max_frames, args.skip_bad, not args.no_progress))  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
