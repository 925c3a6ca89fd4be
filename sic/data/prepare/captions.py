"""Caption any bank: sample poses (or pose pairs) from a clip source and write them with automatic captions.

The output is one pose set per split (``OUTPUT/<split>/poses.npy`` + ``meta.json``, the format
``PoseDataModule(root=OUTPUT)`` reads) plus ``captions.jsonl`` with one line per pose (index,
clip, frames, label, captions) for reading or editing. Sources: the embedded procedural motion
(default) or a prepared motion archive (``--archive``, e.g. from ``tools/prepare_mocap.py``).

Example:
    python tools/caption_bank.py -o data/captions/procedural --captions 3 --num-poses 2000 200 200
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sic.data.poses import PoseDataModule
from sic.data.sources import MotionArchiveSource, ProceduralSource
from sic.data.sources.base import SPLITS
from sic.utils.errors import SicError
from sic.utils.io import atomic_write_text

__all__ = ["caption_bank", "main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="caption_bank.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)  # fmt: skip
    p.add_argument("-o", "--output", type=Path, required=True, help="directory to write (one sub-directory per split)")
    p.add_argument("--archive", help="motion archive to caption (default: the embedded procedural source)")
    p.add_argument("--fps", type=float, default=50.0, help="frame rate of the clips cut from the source")
    p.add_argument("--clips", nargs=3, type=int, metavar=("TRAIN", "VAL", "TEST"),
                   help="procedural source only: clips generated per split (default: the source's)")
    p.add_argument("--splits", nargs="+", choices=SPLITS, default=list(SPLITS))
    p.add_argument("--num-poses", nargs=3, type=int, default=(10000, 1000, 1000), metavar=("TRAIN", "VAL", "TEST"))
    p.add_argument("--captions", type=int, default=3, help="captions per pose")
    p.add_argument("--pairs", action="store_true", help="caption pose pairs (how to go from A to B) instead of poses")
    p.add_argument("--frame-stride", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--show", type=int, default=2, help="captions printed per split")
    return p


def caption_bank(args: argparse.Namespace) -> dict:
    """Build, caption and write the pose sets; returns a summary."""
    clips = dict(zip(SPLITS, args.clips)) if args.clips else None
    source = MotionArchiveSource(args.archive, fps=args.fps) if args.archive else ProceduralSource(fps=args.fps, clips_per_split=clips)
    dm = PoseDataModule(sources=[source], num_poses=dict(zip(SPLITS, args.num_poses)), frame_stride=args.frame_stride,
                        pairs=args.pairs, captions=args.captions, seed=args.seed)  # fmt: skip
    summary = {}
    for split in args.splits:
        data = dm.pose_set(split)
        out = args.output / split
        data.save(out, replace=True, meta={"layout": dm.layout, "split": split, "source": source.name, "pairs": args.pairs})
        lines = [json.dumps({"index": i, "clip": int(c), "frames": f.tolist(), "label": int(lab), "captions": caps})
                 for i, (c, f, lab, caps) in enumerate(zip(data.clips, data.frames, data.labels, data.captions))]  # fmt: skip
        atomic_write_text(out / "captions.jsonl", "\n".join(lines) + "\n")
        summary[split] = {"poses": len(data.poses), "examples": data.captions[: args.show]}
    return summary


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (2 with a one-line error for bad input)."""
    args = _parser().parse_args(argv)
    try:
        summary = caption_bank(args)
    except (SicError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for split, s in summary.items():
        print(f"{split}: {s['poses']} {'pairs' if args.pairs else 'poses'} -> {args.output / split}")
        for caps in s["examples"]:
            print("  - " + "\n    ".join(caps))
    return 0
