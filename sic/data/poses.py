"""``PoseDataModule``: static poses and pose pairs from any clip source, with automatic captions.

The pose–text methods (pose tokenizer, pose–text and pose-pair–text retrieval) work on single
poses rather than sequences. This datamodule draws them from the same clip sources as the
in-context bank (the embedded procedural source by default; CMU, Human3.6M, AMASS, ... when
prepared), so every source gets text for free:

1. **Candidates**: every ``frame_stride``-th frame of every clip of a split (pairs: a frame and
   the frame ``gap`` later in the same clip, ``gap`` drawn from ``pair_gap_s``).
2. **Canonical frame**: root at the origin and, with ``canonical="root_yaw"``, the yaw removed so
   the body faces +z with its left at +x (the captioner's frame; PoseScript's normalisation).
3. **Selection**: ``num_poses[split]`` of them, at random or by farthest-point sampling on the
   mean per-joint distance (UniPose builds its caption sets this way, for diversity).
4. **Captions** (``captions > 0``): that many automatic captions per pose (or per pair: how to go
   from A to B) from :class:`sic.captions.PoseCaptioner`, seeded per pose.

Steps 1–4 are cached on disk (``$SIC_CACHE/poses``) and keyed by every option. Batches are
:class:`~sic.data.batch.SkeletonBatch` with ``inputs = targets`` of shape ``(B, P, J, 3)``
(``P = 1`` poses, ``P = 2`` pairs) and ``texts``: during training one caption per pose drawn
afresh each time (the reference always used the first), at evaluation all ``K`` captions.
Training-time augmentation: global orientation jitter (UniPose's tokenizer: yaw ±45°, pitch and
roll ±20°) and a left/right flip of pose and caption together (PoseScript).

Example:
    >>> from sic.data.poses import PoseDataModule
    >>> from sic.data.sources import ProceduralSource
    >>> dm = PoseDataModule(sources=[ProceduralSource(clips_per_split={"train": 8, "val": 4, "test": 4})],
    ...                     num_poses={"train": 32, "val": 8, "test": 8}, batch_size=4)
    >>> dm.setup("fit")
    >>> next(iter(dm.train_dataloader())).inputs.shape
    torch.Size([4, 1, 17, 3])
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from sic.data.archive import ClipArchive
from sic.data.batch import SkeletonBatch
from sic.data.samplers import EvalShardSampler, ResumableDataLoader, TrainStreamSampler
from sic.data.skeleton import get_layout
from sic.data.sources import ClipSource, ProceduralSource
from sic.data.sources.base import SPLITS, default_cache_dir
from sic.utils.errors import ConfigError, DataError
from sic.utils.io import atomic_dir, read_meta

__all__ = ["PoseDataModule", "PoseDataset", "PoseSet", "face_forward", "farthest_point_sample", "flip_text", "rotate_y", "yaw_angle"]

_CAPTION_BLOCK = 1000
FORMAT = "sic-pose-set"
VERSION = 1
_HIPS = {  # (left, right) hip joints: the body-left axis of the yaw normalisation
    "h36m17": ("LHip", "RHip"),
    "smpl22": ("L_hip", "R_hip"),
    "smpl24": ("L_hip", "R_hip"),
    "ntu25": ("HipLeft", "HipRight"),
    "cmu31": ("lhipjoint", "rhipjoint"),
}
_SIDE = re.compile(r"\b(left|right)\b(?!\s+angles?\b)", re.IGNORECASE)  # "right angle" is not a side


def flip_text(text: str) -> str:
    """Swap the words *left* and *right* (keeping case), except in "right angle".

    Example:
        >>> flip_text("The left knee is at a right angle and the right hand is up")
        'The right knee is at a right angle and the left hand is up'
    """

    def swap(m: re.Match[str]) -> str:
        word = "right" if m.group(1).lower() == "left" else "left"
        return word.capitalize() if m.group(1)[0].isupper() else word

    return _SIDE.sub(swap, text)


def yaw_angle(poses: np.ndarray, layout: str) -> np.ndarray:
    """Rotation about y ``(...,)`` that turns the hip axis (left − right) of ``(..., J, 3)`` y-up poses to +x."""
    if layout not in _HIPS:
        raise ConfigError(f"no hip joints known for layout {layout!r}; canonical='root_yaw' supports {sorted(_HIPS)}")
    lay = get_layout(layout)
    left, right = (lay.index(n) for n in _HIPS[layout])
    axis = poses[..., left, :] - poses[..., right, :]
    return -np.arctan2(axis[..., 2], axis[..., 0])


def rotate_y(poses: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate ``(..., J, 3)`` about the y axis by ``angle`` ``(...)`` (broadcast), x toward z."""
    c, s = np.cos(angle)[..., None], np.sin(angle)[..., None]
    out = poses.copy()
    out[..., 0], out[..., 2] = c * poses[..., 0] - s * poses[..., 2], s * poses[..., 0] + c * poses[..., 2]
    return out


def face_forward(poses: np.ndarray, layout: str) -> np.ndarray:
    """Root-relative ``(..., J, 3)`` y-up poses rotated about y so the hip axis points to +x (body faces +z).

    Pitch and roll are kept (lying poses stay lying).

    Example:
        >>> from sic.data.skeleton import get_layout
        >>> p = np.zeros((17, 3)); lay = get_layout("h36m17")
        >>> p[lay.index("LHip")], p[lay.index("RHip")] = (0, 0, 0.1), (0, 0, -0.1)  # left hip at +z
        >>> np.round(face_forward(p, "h36m17")[lay.index("LHip")], 3).tolist()
        [0.1, 0.0, 0.0]
    """
    root = get_layout(layout).root
    return rotate_y(poses - poses[..., root : root + 1, :], yaw_angle(poses, layout))


def farthest_point_sample(points: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``count`` poses ``(N, ..., J, 3)`` picked greedily farthest (mean per-joint distance) from those chosen."""
    n = points.shape[0]
    if count >= n:
        return np.arange(n)
    flat = points.reshape(n, -1, 3).astype(np.float32)
    chosen = np.empty(count, dtype=np.int64)
    chosen[0] = rng.integers(n)
    nearest = np.full(n, np.inf, dtype=np.float32)
    for i in range(1, count):
        d = np.linalg.norm(flat - flat[chosen[i - 1]], axis=-1).mean(-1)
        np.minimum(nearest, d, out=nearest)
        chosen[i] = int(nearest.argmax())
    return np.sort(chosen)


def _axis_rotation(angle: np.ndarray, axis: int) -> np.ndarray:
    """``(n, 3, 3)`` right-handed rotations by ``angle`` ``(n,)`` about coordinate axis ``axis``."""
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    out = np.tile(np.eye(3), (len(angle), 1, 1))
    out[:, i, i] = out[:, j, j] = np.cos(angle)
    out[:, i, j], out[:, j, i] = -np.sin(angle), np.sin(angle)
    return out


@dataclass
class PoseSet:
    """The poses of one split: ``poses`` ``(N, P, J, 3)`` float32 (canonical frame), captions, provenance."""

    poses: np.ndarray
    captions: list[list[str]] | None
    labels: np.ndarray
    clips: np.ndarray
    frames: np.ndarray  # (N, P)

    def save(self, path: Path, meta: dict[str, Any], replace: bool = False) -> None:
        """Write atomically: ``poses.npy`` and ``meta.json`` (captions and provenance); ``replace`` an existing set."""
        with atomic_dir(path, replace=replace) as tmp:
            np.save(tmp / "poses.npy", np.ascontiguousarray(self.poses, dtype=np.float32))
            record = {**meta, "format": FORMAT, "version": VERSION, "captions": self.captions,
                      "labels": self.labels.tolist(), "clips": self.clips.tolist(), "frames": self.frames.tolist()}  # fmt: skip
            (tmp / "meta.json").write_text(json.dumps(record))

    @classmethod
    def load(cls, path: Path) -> PoseSet:
        """Read a set written by :meth:`save` (no pickles)."""
        meta = read_meta(path, "pose set", FORMAT, "poses.npy and meta.json")
        try:
            poses = np.load(path / "poses.npy", allow_pickle=False)
        except (OSError, ValueError) as e:
            raise DataError(f"{path / 'poses.npy'}: unreadable or truncated ({e})") from None
        n = poses.shape[0]
        if poses.ndim != 4 or poses.shape[-1] != 3:
            raise DataError(f"{path / 'poses.npy'}: expected (N, P, J, 3) poses, got shape {poses.shape}")
        captions = meta["captions"]
        if captions is not None and len(captions) != n:
            raise DataError(f"{path / 'meta.json'}: {len(captions)} caption lists for {n} poses")
        return cls(poses, captions, np.asarray(meta["labels"], np.int64), np.asarray(meta["clips"], np.int64),
                   np.asarray(meta["frames"], np.int64).reshape(n, -1))  # fmt: skip


class PoseDataset(Dataset):
    """A :class:`PoseSet` served in whole batches (``__getitems__``), with training augmentation.

    Args:
        data: the poses.
        layout: joint layout (for the left/right flip).
        train: draw one caption per pose and augment; otherwise all captions, no augmentation.
        seed: seed of the training draws; a draw is a function of ``(seed, draw)`` only.
        jitter_deg: ``(yaw, pitch/roll)`` half-ranges of the orientation jitter, degrees.
        flip: probability of the left/right flip of pose and caption.
    """

    def __init__(self, data: PoseSet, layout: str, train: bool, seed: int = 0,
                 jitter_deg: tuple[float, float] = (0.0, 0.0), flip: float = 0.0) -> None:  # fmt: skip
        self.data, self.train, self.seed = data, train, seed
        self.jitter = np.radians(np.asarray(jitter_deg, dtype=np.float64))
        self.flip, self.permutation = flip, get_layout(layout).flip_permutation

    def __len__(self) -> int:
        return self.data.poses.shape[0]

    def __getitem__(self, key: Any) -> SkeletonBatch:
        return self.__getitems__([key])

    def _rotations(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``(n, 3, 3)`` rotations ``R_y(yaw) R_x(pitch) R_z(roll)`` with uniform angles in the jitter ranges."""
        yaw = rng.uniform(-self.jitter[0], self.jitter[0], n)
        pitch, roll = rng.uniform(-self.jitter[1], self.jitter[1], (2, n))
        return _axis_rotation(yaw, 1) @ _axis_rotation(pitch, 0) @ _axis_rotation(roll, 2)

    def __getitems__(self, keys: list[Any]) -> SkeletonBatch:
        pairs = [k if isinstance(k, (tuple, list)) else (k, k) for k in keys]
        items = np.asarray([p[0] for p in pairs], dtype=np.int64)
        poses = self.data.poses[items].astype(np.float32)  # (B, P, J, 3)
        texts: list[str] | None = None
        if self.train:
            rng = np.random.default_rng([self.seed, *(p[1] for p in pairs)])
            if self.jitter.any():
                poses = np.einsum("bij,bpkj->bpki", self._rotations(rng, len(items)), poses).astype(np.float32)
            flipped = rng.random(len(items)) < self.flip
            poses[flipped] = poses[flipped][..., self.permutation, :] * np.array([-1, 1, 1], np.float32)
            if self.data.captions is not None:
                choice = rng.integers(0, 1 << 30, len(items))
                texts = [self.data.captions[i][c % len(self.data.captions[i])] for i, c in zip(items, choice)]
                texts = [flip_text(t) if f else t for t, f in zip(texts, flipped)]
        elif self.data.captions is not None:
            texts = [t for i in items for t in self.data.captions[i]]
        x = torch.from_numpy(poses)
        meta = {"index": torch.from_numpy(items), "label": torch.from_numpy(self.data.labels[items])}
        return SkeletonBatch(inputs=x, targets=x, task=torch.full((len(items),), -1), meta=meta,
                             texts=None if texts is None else tuple(texts))  # fmt: skip


def _first(batch: SkeletonBatch) -> SkeletonBatch:
    return batch


class PoseDataModule(L.LightningDataModule):
    """Serve static poses (or pose pairs), optionally with automatic captions, from clip sources.

    Args:
        sources: clip sources, all of one joint layout (default: the embedded procedural source).
        root: read ready pose sets from ``root/<split>`` instead (written by
            ``tools/caption_bank.py``, or your own captions in that format); the selection and
            caption options are then unused.
        layout: joint layout of the sets under ``root`` (with ``sources``, theirs is used).
        num_poses: poses (or pairs) kept per split.
        frame_stride: candidate frames are every ``frame_stride``-th frame of a clip.
        clip_frames: frames of the clips loaded from each source.
        selection: per split, ``"farthest"`` (farthest-point sampling among at most ``pool_factor``
            times as many random candidates; diverse evaluation sets, as UniPose builds its
            caption sets) or ``"random"``. Default: random for train (farthest-point sampling costs
            ``O(count * pool)``), farthest for val and test.
        pool_factor: candidate pool of farthest-point sampling, as a multiple of the count.
        pairs: serve pose pairs ``(A, B)`` of one clip ``gap`` apart (pair–text retrieval).
        pair_gap_s: range of the gap between A and B, seconds.
        canonical: ``"root_yaw"`` (root at 0, yaw removed: the captioner's frame), ``"root"`` or ``"none"``.
        captions: captions per pose (0: no text).
        captioner: the captioner (default: :class:`sic.captions.PoseCaptioner` for the sources' layout).
        orientation_jitter: ``(yaw, pitch/roll)`` half-ranges in degrees of the training-time
            rotation about the root (the tokenizer: ``(45, 20)``).
        flip: training-time probability of the left/right flip of pose and caption.
        batch_size: training batch size per device.
        eval_batch_size: validation/test batch size (default ``batch_size``).
        num_workers: DataLoader workers.
        cache_dir: cache of pose sets and generated archives (default ``$SIC_CACHE`` or ``~/.cache/sic``).
        seed: seed of selection and captions.
        pin_memory: pin host memory.
    """

    def __init__(
        self,
        sources: list[ClipSource] | None = None,
        root: str | None = None,
        layout: str = "h36m17",
        num_poses: dict[str, int] | None = None,
        frame_stride: int = 5,
        clip_frames: int = 64,
        selection: dict[str, Literal["farthest", "random"]] | None = None,
        pool_factor: int = 4,
        pairs: bool = False,
        pair_gap_s: tuple[float, float] = (0.2, 1.0),
        canonical: Literal["root_yaw", "root", "none"] = "root_yaw",
        captions: int = 0,
        captioner: Any = None,
        orientation_jitter: tuple[float, float] = (0.0, 0.0),
        flip: float = 0.0,
        batch_size: int = 256,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        cache_dir: str | None = None,
        seed: int = 0,
        pin_memory: bool = False,
    ) -> None:
        super().__init__()
        self.sources = list(sources) if sources is not None else [ProceduralSource()]
        if not self.sources:
            raise ConfigError("data.sources is empty: give at least one clip source")
        layouts = {s.layout for s in self.sources}
        if len(layouts) > 1:
            raise ConfigError(f"data.sources mix joint layouts {sorted(layouts)}; map them to one layout first")
        self.layout = layouts.pop() if root is None else get_layout(layout).name
        self.root = None if root is None else Path(root)
        if self.root is not None and not self.root.is_dir():
            raise DataError(f"data.root {root!r} does not exist (expected a directory with train/val/test pose sets)")
        self.num_poses = {"train": 10000, "val": 1000, "test": 1000, **(num_poses or {})}
        unknown = set(self.num_poses) - set(SPLITS)
        if unknown:
            raise ConfigError(f"data.num_poses has unknown split(s) {sorted(unknown)}; expected {SPLITS}")
        checks = {"frame_stride": frame_stride >= 1, "clip_frames": clip_frames >= 2, "pool_factor": pool_factor >= 1,
                  "captions": captions >= 0, "flip": 0.0 <= flip <= 1.0, "batch_size": batch_size >= 1,
                  "pair_gap_s": 0 < pair_gap_s[0] <= pair_gap_s[1]}  # fmt: skip
        for key, ok in checks.items():
            if not ok:
                raise ConfigError(f"data.{key} is out of range: {locals()[key]!r}")
        selection = {"train": "random", "val": "farthest", "test": "farthest", **(selection or {})}
        if set(selection) - set(SPLITS) or set(selection.values()) - {"farthest", "random"}:
            raise ConfigError(f"data.selection must map splits {SPLITS} to 'farthest' or 'random', got {selection}")
        if canonical not in ("root_yaw", "root", "none"):
            raise ConfigError(f"data.canonical must be 'root_yaw', 'root' or 'none', got {canonical!r}")
        self.frame_stride, self.clip_frames, self.selection, self.pool_factor = frame_stride, clip_frames, selection, pool_factor
        self.pairs, self.pair_gap_s, self.canonical = pairs, tuple(pair_gap_s), canonical
        self.captions, self._captioner = captions, captioner
        self.orientation_jitter, self.flip = tuple(orientation_jitter), flip
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size or batch_size
        self.num_workers, self.pin_memory, self.seed = num_workers, pin_memory, seed
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.sets: dict[str, PoseSet] = {}

    @property
    def num_joints(self) -> int:
        """Joints ``J`` of the layout."""
        return get_layout(self.layout).num_joints

    @property
    def poses_per_sample(self) -> int:
        """``P``: 1 for poses, 2 for pairs."""
        return 2 if self.pairs else 1

    @property
    def captioner(self) -> Any:
        """The captioner (built on first use)."""
        if self._captioner is None:
            from sic.captions import PoseCaptioner

            self._captioner = PoseCaptioner(layout=self.layout)
        return self._captioner

    # -- building the pose sets -----------------------------------------------------------------
    def _key(self) -> str:
        sources = [[type(s).__name__, {k: v for k, v in sorted(vars(s).items()) if not k.startswith("_")}] for s in self.sources]
        options = [sources, self.num_poses, self.frame_stride, self.clip_frames, self.selection,
                   self.pool_factor, self.pairs, self.pair_gap_s, self.canonical, self.captions, self.seed,
                   repr(self.captioner) if self.captions else None, VERSION]  # fmt: skip
        return hashlib.sha1(json.dumps(options, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def _candidates(self, archive: ClipArchive, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``(clip, frames (n, P))`` of every candidate of one archive."""
        n, length = archive.poses3d.shape[:2]
        starts = np.arange(0, length, self.frame_stride)
        clips, frames = np.repeat(np.arange(n), len(starts)), np.tile(starts, n)
        if not self.pairs:
            return clips, frames[:, None]
        lo, hi = (max(1, round(g * archive.fps)) for g in self.pair_gap_s)
        gaps = rng.integers(lo, hi + 1, len(frames))
        ok = frames + gaps < length
        if not ok.any():
            raise ConfigError(f"clips of {archive.name!r} ({length} frames) are shorter than data.pair_gap_s; raise clip_frames")
        return clips[ok], np.stack([frames[ok], frames[ok] + gaps[ok]], 1)

    def _build(self, split: str) -> PoseSet:
        rng = np.random.default_rng([self.seed, SPLITS.index(split)])
        parts = []
        for s in self.sources:
            archive = s.load(split, self.clip_frames, self.cache_dir)
            clips, frames = self._candidates(archive, rng)
            parts.append((archive, clips, frames))
        total = sum(len(c) for _, c, _ in parts)
        want = min(self.num_poses[split], total)
        farthest = self.selection[split] == "farthest"
        pool = rng.choice(total, min(total, want * self.pool_factor if farthest else want), replace=False)
        pool.sort()
        poses, labels, clips_out, frames_out, offset = [], [], [], [], 0
        for archive, clips, frames in parts:
            mine = pool[(pool >= offset) & (pool < offset + len(clips))] - offset
            offset += len(clips)
            c, f = clips[mine], frames[mine]
            poses.append(np.asarray(archive.poses3d[c[:, None], f], dtype=np.float32))
            labels.append(archive.labels[c] if archive.labels is not None else np.full(len(c), -1))
            clips_out.append(c)
            frames_out.append(f)
        x = self._canonical(np.concatenate(poses))
        picked = farthest_point_sample(x, want, rng) if farthest else np.arange(len(x))
        x = x[picked].astype(np.float32)
        captions = self._caption(x, split) if self.captions else None
        return PoseSet(x, captions, np.concatenate(labels)[picked].astype(np.int64),
                       np.concatenate(clips_out)[picked], np.concatenate(frames_out)[picked])  # fmt: skip

    def _canonical(self, raw: np.ndarray) -> np.ndarray:
        """``(n, P, J, 3)`` in the frame of each sample's first pose: its root at 0 and, for ``root_yaw``, its yaw removed.

        Pairs share A's frame, so the motion from A to B (a turn, a step) stays visible.
        """
        if self.canonical == "none":
            return raw
        root = get_layout(self.layout).root
        x = raw - raw[:, :1, root : root + 1, :]
        return rotate_y(x, yaw_angle(raw[:, :1], self.layout)) if self.canonical == "root_yaw" else x

    def _caption(self, poses: np.ndarray, split: str) -> list[list[str]]:
        """``captions`` captions per pose, in blocks (with a progress bar on large sets)."""
        out: list[list[str]] = [[] for _ in range(len(poses))]
        blocks = [(k, start) for k in range(self.captions) for start in range(0, len(poses), _CAPTION_BLOCK)]
        for k, start in tqdm(blocks, desc=f"captioning {split} poses", disable=len(poses) * self.captions < 4 * _CAPTION_BLOCK):
            seed, rows = self.seed * 1_000_003 + k, slice(start, start + _CAPTION_BLOCK)
            block, index = poses[rows], np.arange(len(poses))[rows]
            if self.pairs:
                texts = self.captioner.caption_pairs(block[:, 0], block[:, 1], seed=seed, index=index)
            else:
                texts = self.captioner.caption(block[:, 0], seed=seed, index=index)
            for row, text in zip(range(start, start + len(block)), texts):
                out[row].append(text)
        return out

    def pose_set(self, split: str) -> PoseSet:
        """The (cached) :class:`PoseSet` of ``split``."""
        if split not in self.sets and self.root is not None:
            self.sets[split] = self._check(PoseSet.load(self.root / split), self.root / split)
        if split not in self.sets:
            path = self.cache_dir / "poses" / f"{self.layout}-{self._key()}" / split
            if not (path / "meta.json").is_file():
                self._build(split).save(path, {"layout": self.layout, "split": split})
            self.sets[split] = PoseSet.load(path)
        return self.sets[split]

    def _check(self, data: PoseSet, path: Path) -> PoseSet:
        want = (self.poses_per_sample, self.num_joints)
        if data.poses.shape[1:3] != want:
            raise DataError(f"{path}: poses of shape {data.poses.shape[1:]} but data.pairs={self.pairs} and layout {self.layout!r} need {(*want, 3)}")
        if self.captions and data.captions is None:
            raise DataError(f"{path}: no captions, but data.captions={self.captions}")
        return data

    def setup(self, stage: str | None = None) -> None:
        """Build or open the pose sets of the splits ``stage`` needs."""
        splits = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",), "predict": ("test",)}.get(stage or "", SPLITS)
        for split in splits:
            self.pose_set(split)

    # -- loaders --------------------------------------------------------------------------------
    def _ranks(self) -> tuple[int, int]:
        trainer = self.trainer
        return (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)

    def _train_seed(self) -> int:
        return self.seed * 7919 + int(os.environ.get("PL_GLOBAL_SEED", 0))

    def _loader(self, dataset: Dataset, batch_size: int, sampler: Any, cls: type[DataLoader] = DataLoader) -> DataLoader:
        return cls(dataset, batch_size=batch_size, sampler=sampler, shuffle=False, collate_fn=_first,
                   num_workers=self.num_workers, pin_memory=self.pin_memory, persistent_workers=self.num_workers > 0)  # fmt: skip

    def dataset(self, split: str) -> PoseDataset:
        """The dataset of ``split`` (training augmentation on ``"train"`` only)."""
        train = split == "train"
        return PoseDataset(self.pose_set(split), self.layout, train, self._train_seed(),
                           self.orientation_jitter if train else (0.0, 0.0), self.flip if train else 0.0)  # fmt: skip

    def train_dataloader(self) -> DataLoader:
        """Shuffled training poses, one stream shared by all ranks, resumable mid-epoch."""
        data = self.dataset("train")
        world, rank = self._ranks()
        sampler = TrainStreamSampler(len(data), seed=self._train_seed(), num_replicas=world, rank=rank)
        return self._loader(data, self.batch_size, sampler, ResumableDataLoader)

    def _eval_loader(self, split: str) -> DataLoader:
        data = self.dataset(split)
        world, rank = self._ranks()
        if len(data) < world:
            raise ConfigError(f"the {split} split has {len(data)} poses for {world} ranks; raise data.num_poses[{split!r}]")
        # Batches are dealt whole to ranks: make at least one per rank, or a rank would skip the
        # evaluation loop (and its metric all-gather). Batch size does not change the metrics.
        size = min(self.eval_batch_size, -(-len(data) // world))
        return self._loader(data, size, EvalShardSampler(len(data), size, world, rank))

    def val_dataloader(self) -> DataLoader:
        """Validation poses in order."""
        return self._eval_loader("val")

    def test_dataloader(self) -> DataLoader:
        """Test poses in order."""
        return self._eval_loader("test")

    def predict_dataloader(self) -> DataLoader:
        """The test poses."""
        return self._eval_loader("test")

    def transfer_batch_to_device(self, batch: SkeletonBatch, device: torch.device, dataloader_idx: int) -> SkeletonBatch:
        """Move a :class:`SkeletonBatch`."""
        del dataloader_idx  # unused
        return batch.to(device, non_blocking=True)
