"""Shared pieces of the prepare scripts: the per-split summary and the command-line error contract."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sic.data.motion import MotionRecord
from sic.utils.errors import SicError

__all__ = ["print_summary", "run_cli", "summarize"]


def summarize(output: Path, records: dict[str, MotionRecord], skipped: dict[str, str]) -> dict:
    """Per-split counts (sequences, frames, seconds, subjects) of what was written, plus skipped inputs."""
    splits = {s: {"sequences": 0, "frames": 0, "seconds": 0.0, "subjects": set()} for s in ("train", "val", "test")}
    for r in records.values():
        s = splits[r.split]
        s["sequences"] += 1
        s["frames"] += len(r.joints)
        s["seconds"] += len(r.joints) / r.fps
        s["subjects"].add(r.subject)
    for s in splits.values():
        s["subjects"] = len(s["subjects"])
        s["seconds"] = round(s["seconds"], 2)
    layout = next(iter(records.values())).layout
    fps = Counter(r.fps for r in records.values())
    return {"output": str(output), "layout": layout, "fps": dict(fps), "splits": splits, "skipped": skipped}


def print_summary(summary: dict) -> None:
    """Print what :func:`summarize` returned, one line per split."""
    print(f"wrote {summary['output']} (layout {summary['layout']}, fps {summary['fps']})")
    for split, s in summary["splits"].items():
        print(f"  {split:5s} {s['sequences']:5d} sequences {s['frames']:9d} frames {s['seconds']:9.1f} s {s['subjects']:4d} subjects")
    for f, why in summary["skipped"].items():
        print(f"  skipped {f}: {why}")
    empty = [s for s, v in summary["splits"].items() if v["sequences"] == 0]
    if empty:
        print(f"  warning: no sequences in split(s) {empty}")


def run_cli(job: Callable[[], dict]) -> int:
    """Run a prepare job: print its summary (exit 0) or a one-line ``error:`` for bad input (exit 2)."""
    try:
        summary = job()
    except (SicError, OSError, json.JSONDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print_summary(summary)
    return 0
