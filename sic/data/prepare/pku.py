"""Prepare a PKU-MMD phase I recognition archive: every labelled action cut out, centred and padded.

Run as ``python -m sic.data.prepare.pku --skeletons DIR --labels DIR --split cross-subject.txt -o OUT.npz``
(or ``python tools/prepare_pku.py ...``). For each video of the split file's training (line 2) and test
(line 4) lists, ``<video>.txt`` is read from the skeleton and label directories (searched recursively);
each labelled interval becomes one sample, centred like NTU (spine mid of actor 1 in its first non-zero frame
is the origin) and zero-padded to ``--max-frames`` (a longer action keeps its middle frames, as Neuron's
centre crop does). Samples are named ``<video>_<k>`` (``k``: the row of the label file, from 0). Videos
listed in the split but missing on disk are reported, not fatal. See docs/datasets/ntu-pku.md.

Example:
    python -m sic.data.prepare.pku --skeletons PKU_Skeleton_Renew --labels Train_Label_PKU_final \\
        --split Split/cross-subject.txt -o data/pku/pkuv1_xsub.npz
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from sic.data.formats.ntu import centre
from sic.data.formats.pku import NUM_CLASSES, cut_actions, read_pku_labels, read_pku_skeleton, read_pku_split
from sic.data.formats.skeleton_npz import write_skeleton_npz
from sic.data.prepare.ntu import fit_frames, print_summary, run_prepare
from sic.utils.errors import ConfigError, DataError

__all__ = ["main", "prepare_pku"]


def _by_stem(root: Path, what: str) -> dict[str, Path]:
    if not root.is_dir():
        raise DataError(f"{what} directory {str(root)!r} does not exist")
    return {f.stem: f for f in sorted(root.rglob("*.txt"))}


def prepare_pku(skeletons: Path, labels: Path, split: Path, output: Path, max_frames: int = 300,
                progress: bool = True) -> dict:  # fmt: skip
    """Write the train/test archive of a PKU-MMD split; returns a summary dict.

    Args:
        skeletons: directory of ``<video>.txt`` skeleton files.
        labels: directory of ``<video>.txt`` label files.
        split: ``cross-subject.txt`` or ``cross-view.txt``.
        output: the ``.npz`` to write (atomically).
        max_frames: frames per stored sample.
        progress: show a progress bar.

    Raises:
        ConfigError: a non-positive ``max_frames``.
        DataError: a missing directory or split file, a malformed file (naming file and line), or no video of
            the split found on disk.
    """
    if max_frames < 1:
        raise ConfigError(f"--max-frames must be >= 1, got {max_frames}")
    ids = dict(zip(("train", "test"), read_pku_split(split), strict=True))
    skel_files, label_files = _by_stem(skeletons, "skeleton"), _by_stem(labels, "label")
    data: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    names: dict[str, np.ndarray] = {}
    summary: dict[str, dict] = {}
    absent: list[str] = []
    empty: dict[str, str] = {}
    for split_name, videos in ids.items():
        clips, ys, ns, frames, cut, found = [], [], [], [], 0, 0
        for video in tqdm(videos, desc=f"pku {split_name}", unit="video", disable=not progress):
            if video not in skel_files or video not in label_files:
                absent.append(video)
                continue
            found += 1
            joints = read_pku_skeleton(skel_files[video])
            try:
                actions = cut_actions(joints, read_pku_labels(label_files[video]))
            except DataError as e:
                raise DataError(f"{label_files[video]}: {e}") from None
            for k, (cls, clip) in enumerate(actions):
                if not np.any(clip):
                    empty[f"{video}_{k}"] = "no skeleton in any frame of the action"
                    continue
                x, was_cut = fit_frames(centre(clip), max_frames, crop="centre")
                clips.append(x)
                ys.append(cls)
                ns.append(f"{video}_{k}")
                frames.append(len(clip))
                cut += was_cut
        x = np.stack(clips) if clips else np.zeros((0, max_frames, 2, 25, 3), np.float32)
        data[split_name] = (x, np.asarray(ys, np.int64))
        names[split_name] = np.asarray(ns, dtype=str)
        summary[split_name] = {"samples": len(ys), "classes": len(set(ys)), "videos": found,
                               "mean_frames": round(float(np.mean(frames)), 1) if frames else 0.0,
                               "truncated": cut}  # fmt: skip
    if not any(v["videos"] for v in summary.values()):
        raise DataError(f"none of the {sum(map(len, ids.values()))} videos of {split} has both a skeleton file "
                        f"under {skeletons} and a label file under {labels}")  # fmt: skip
    write_skeleton_npz(output, data, num_persons=2, names=names)
    skipped = dict(empty)
    if absent:
        skipped[f"{len(absent)} video(s)"] = (
            f"listed in {split.name} but without skeleton or label file, e.g. {absent[0]}"
        )
    return {"output": str(output), "benchmark": f"pku-mmd1 {split.stem}", "max_frames": max_frames,
            "num_classes": NUM_CLASSES, "splits": summary, "skipped": skipped, "absent": absent}  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="prepare_pku.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)  # fmt: skip
    p.add_argument("--skeletons", type=Path, required=True, metavar="DIR", help="directory of <video>.txt skeletons")
    p.add_argument("--labels", type=Path, required=True, metavar="DIR", help="directory of <video>.txt label files")
    p.add_argument("--split", type=Path, required=True, metavar="FILE", help="cross-subject.txt or cross-view.txt")
    p.add_argument("-o", "--output", type=Path, required=True, help="the .npz archive to write")
    p.add_argument("--max-frames", type=int, default=300, help="frames per stored sample (zero-padded or centre-cut)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (2 with a one-line error for bad input)."""
    args = _parser().parse_args(argv)
    return run_prepare(lambda: prepare_pku(args.skeletons, args.labels, args.split, args.output, args.max_frames,
                                           not args.no_progress), print_summary)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
