"""Prepare a motion archive from directories of BVH or ASF/AMC files (CMU, HDM05, studio exports).

Run as ``python tools/prepare_mocap.py DIR... -o OUT`` (``--help`` lists the options). Labels and
subjects come from a ``--labels`` CSV, the CMU index (``cmu_mocap_index.csv``, found next to the
files or given with ``--index``) or the file names (CMU ``07_05``, HDM05
``HDM_bd_<class>_<take>_120``, or ``--name-pattern``). Frame rates come from the index, the name,
``--fps``, then the BVH header, in that order (CMU BVH headers say 120 fps even for 60 fps trials).

Splits: ``subject`` (default) assigns whole subjects -- listed with ``--val-subjects`` and
``--test-subjects``, otherwise by a stable hash (about 10 % each); ``time`` cuts every sequence into
consecutive train/val/test parts, for collections with too few subjects.

The archive is written atomically (a re-run replaces it whole), so an interrupted run leaves the
previous archive intact. ``--download cmu`` first fetches CMU's ASF/AMC archive (resumable, with a
progress bar; the SHA-256 of the first complete download is recorded and checked on reuse).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from sic.data.download import DOWNLOADS, download, extract_zip
from sic.data.mapping import get_joint_map
from sic.data.mocap import CmuIndex, load_mocap, parse_trial_name
from sic.data.motion import MotionRecord, write_motion_archive
from sic.data.prepare.common import run_cli, summarize
from sic.utils.errors import DataError, SicError

__all__ = ["MocapOptions", "main", "prepare_mocap"]

_SUFFIXES = (".amc", ".bvh")
ACKNOWLEDGEMENT = (
    "The data used in this project was obtained from mocap.cs.cmu.edu. "
    "The database was created with funding from NSF EIA-0196217."
)


@dataclass
class MocapOptions:
    """Options of :func:`prepare_mocap` (the command-line flags, see ``--help``)."""

    name: str | None = None
    index: Path | None = None
    labels: Path | None = None
    name_pattern: str | None = None
    fps: float | None = None
    split: str = "subject"
    val_subjects: list[str] = field(default_factory=list)
    test_subjects: list[str] = field(default_factory=list)
    time_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    joint_map: Path | None = None
    scale: float | None = None
    up: str = "y"
    layout: str = "auto"
    prefer: str = "amc"
    skip_bad: bool = False
    progress: bool = True


def find_motion_files(inputs: list[Path], prefer: str = "amc") -> list[Path]:
    """Sorted ``.amc``/``.bvh`` files under ``inputs`` (any case); one file per trial name, ``prefer`` wins."""
    files: list[Path] = []
    for p in inputs:
        if p.is_file():
            files.append(p)
        elif p.is_dir():
            files += [f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in _SUFFIXES]
        else:
            raise DataError(f"input {str(p)!r} does not exist (expected a directory or a .bvh/.amc file)")
    by_trial: dict[str, Path] = {}
    for f in sorted(files):
        if f.suffix.lower() not in _SUFFIXES:
            raise DataError(f"{f}: unsupported file type {f.suffix!r}; expected .bvh or .amc")
        old = by_trial.get(f.stem)
        if old is None or f.suffix.lower() == f".{prefer}" != old.suffix.lower():
            by_trial[f.stem] = f
    return [by_trial[k] for k in sorted(by_trial)]


def _read_labels(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows or "name" not in rows[0] or "label" not in rows[0]:
        raise DataError(f"{path}: label CSV needs a header with columns 'name' and 'label' (optional 'subject', 'fps')")
    return {r["name"]: {k: v for k, v in r.items() if k != "name" and v} for r in rows}


def _subject_split(subject: str, opts: MocapOptions) -> str:
    if subject in opts.test_subjects:
        return "test"
    if subject in opts.val_subjects:
        return "val"
    if opts.val_subjects or opts.test_subjects:
        return "train"
    bucket = int(hashlib.sha1(subject.encode()).hexdigest(), 16) % 10
    return {0: "test", 1: "val"}.get(bucket, "train")


def _time_parts(record: MotionRecord, fractions: tuple[float, float, float]) -> dict[str, MotionRecord]:
    bounds = np.rint(np.cumsum([0.0, *fractions]) / sum(fractions) * len(record.joints)).astype(int)
    out = {}
    for split, lo, hi in zip(("train", "val", "test"), bounds[:-1], bounds[1:]):
        if hi > lo:
            out[split] = MotionRecord(record.joints[lo:hi], record.fps, record.layout, record.label, record.subject, split)
    return out


def prepare_mocap(inputs: list[Path], output: Path, opts: MocapOptions) -> dict:
    """Convert motion files under ``inputs`` into the motion archive ``output``; returns a summary dict.

    Raises:
        DataError: a missing input, no motion files, or (without ``skip_bad``) the first malformed file.
    """
    files = find_motion_files(inputs, opts.prefer)
    if not files:
        raise DataError(f"no .bvh or .amc files under {[str(p) for p in inputs]}")
    index_path = opts.index or next((p / "cmu_mocap_index.csv" for p in inputs if (p / "cmu_mocap_index.csv").is_file()), None)
    index = CmuIndex.read(index_path) if index_path else None
    labels = _read_labels(opts.labels) if opts.labels else {}
    joint_map = json.loads(opts.joint_map.read_text()) if opts.joint_map else None
    loaded: dict[str, MotionRecord] = {}
    skipped: dict[str, str] = {}
    for f in tqdm(files, desc="motion files", unit="file", disable=not opts.progress):
        info = parse_trial_name(f.stem, opts.name_pattern)
        info.update(labels.get(f.stem, {}))
        entry = index.lookup(info["subject"], info["trial"]) if index and "trial" in info else None
        try:
            seq = load_mocap(f, subject=info.get("subject"), joint_map=joint_map, scale=opts.scale, up=opts.up)
        except DataError as e:
            if not opts.skip_bad:
                raise
            skipped[str(f)] = str(e)
            continue
        fps = float(info["fps"]) if "fps" in info else entry[1] if entry else opts.fps or seq.header_fps or 120.0
        label = info.get("label") or (entry[0] if entry else None)
        loaded[f.stem] = MotionRecord(seq.joints, fps, seq.layout, label, info.get("subject"))
    if not loaded:
        raise DataError(f"every motion file failed to load: {skipped}")
    records = _unify_layout(loaded, opts.layout)
    if opts.split == "time":
        parts = {f"{k}@{s}": r for k, rec in records.items() for s, r in _time_parts(rec, opts.time_fractions).items()}
    elif opts.split == "subject":
        parts = {k: MotionRecord(r.joints, r.fps, r.layout, r.label, r.subject, _subject_split(r.subject or k, opts))
                 for k, r in records.items()}  # fmt: skip
    else:
        raise DataError(f"split must be 'subject' or 'time', got {opts.split!r}")
    name = opts.name or output.name
    notes = {"source": "motion capture files prepared by tools/prepare_mocap.py", "inputs": ", ".join(map(str, inputs))}
    if index is not None or any(r.layout == "cmu31" for r in records.values()):
        notes["acknowledgement"] = ACKNOWLEDGEMENT
    write_motion_archive(output, parts, name=name, notes=notes)
    return summarize(output, parts, skipped)


def _unify_layout(records: dict[str, MotionRecord], layout: str) -> dict[str, MotionRecord]:
    """All records in one layout: ``cmu31`` when every file is CMU-like, else ``h36m17``."""
    present = {r.layout for r in records.values()}
    if layout == "auto":
        layout = present.pop() if len(present) == 1 else "h36m17"
    out = {}
    for k, r in records.items():
        if r.layout != layout:
            try:
                joints = get_joint_map(r.layout, layout)(np.asarray(r.joints))
            except SicError as e:
                raise DataError(f"{k}: cannot convert layout {r.layout} to {layout}: {e}") from None
            r = MotionRecord(joints, r.fps, layout, r.label, r.subject, r.split)
        out[k] = r
    return out


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="prepare_mocap.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)  # fmt: skip
    p.add_argument("inputs", nargs="*", type=Path, help="directories (searched recursively) or .bvh/.amc files")
    p.add_argument("-o", "--output", type=Path, required=True, help="motion archive directory to write")
    p.add_argument("--name", help="archive name (default: the output directory's name)")
    p.add_argument("--index", type=Path, help="CMU index CSV (default: cmu_mocap_index.csv in an input directory)")
    p.add_argument("--labels", type=Path, help="CSV with columns name,label[,subject][,fps] per file stem")
    p.add_argument("--name-pattern", help="regex with named groups (subject, label, fps) matched on file stems")
    p.add_argument("--fps", type=float, help="frame rate when neither index nor name gives one")
    p.add_argument("--split", choices=("subject", "time"), default="subject")
    p.add_argument("--val-subjects", nargs="*", default=[], metavar="ID")
    p.add_argument("--test-subjects", nargs="*", default=[], metavar="ID")
    p.add_argument("--time-fractions", nargs=3, type=float, default=(0.8, 0.1, 0.1), metavar=("TRAIN", "VAL", "TEST"))
    p.add_argument("--joint-map", type=Path, help="JSON: H3.6M-17 joint name -> BVH joint name(s), for non-CMU BVH")
    p.add_argument("--scale", type=float, help="metres per file unit (default: CMU units, or inferred for BVH)")
    p.add_argument("--up", choices=("y", "z"), default="y", help="up axis of the files")
    p.add_argument("--layout", choices=("auto", "cmu31", "h36m17"), default="auto", help="layout stored in the archive")
    p.add_argument("--prefer", choices=("amc", "bvh"), default="amc", help="format kept when a trial exists in both")
    p.add_argument("--skip-bad", action="store_true", help="skip malformed files (listed in the summary) instead of failing")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--download", choices=sorted(DOWNLOADS), help="fetch a known collection first (resumable, checksummed)")
    p.add_argument("--url", help="with --download: fetch from this URL instead (a mirror)")
    p.add_argument("--sha256", help="with --download: expected SHA-256 of the archive")
    p.add_argument("--download-dir", type=Path, help="with --download: where the archive and its files go (default: OUTPUT-download)")
    return p


def _fetch(name: str, url: str | None, sha256: str | None, folder: Path, progress: bool) -> Path:
    """Download and extract a known collection; returns the extracted directory."""
    known = DOWNLOADS[name]
    archive = download(url or known.url, folder / Path(url or known.url).name, sha256 or known.sha256, progress)
    return extract_zip(archive, folder / "files")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (2 with a one-line error for bad input)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.inputs and not args.download:
        parser.error("give input directories/files, or --download")
    opts = MocapOptions(
        name=args.name, index=args.index, labels=args.labels, name_pattern=args.name_pattern, fps=args.fps,
        split=args.split, val_subjects=args.val_subjects, test_subjects=args.test_subjects,
        time_fractions=tuple(args.time_fractions), joint_map=args.joint_map, scale=args.scale, up=args.up,
        layout=args.layout, prefer=args.prefer, skip_bad=args.skip_bad, progress=not args.no_progress,
    )  # fmt: skip
    def job() -> dict:
        inputs = list(args.inputs)
        if args.download:
            folder = args.download_dir or args.output.with_name(args.output.name + "-download")
            inputs.insert(0, _fetch(args.download, args.url, args.sha256, folder, opts.progress))
        return prepare_mocap(inputs, args.output, opts)

    return run_cli(job)
