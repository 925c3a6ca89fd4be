# ruff: noqa: RUF002
"""``RecognitionDataModule``: skeleton action recognition, supervised or on a zero-shot class split.

The data are either the embedded procedural source (subject-disjoint train/val/test clips with action labels)
or an NTU RGB+D 60/120 or PKU-MMD archive in the CTR-GCN NPZ layout (:mod:`sic.data.formats.skeleton_npz`).
A zero-shot split (:mod:`sic.data.action_splits`) decides which classes the model may see:

* **train**: training-split samples of :attr:`RecognitionDataModule.train_classes` only (the split's seen
  classes, minus its validation classes when ``holdout_validation`` holds them out);
* **validation**: held-out samples of the training classes (the procedural source's validation subjects; for
  an archive, a seeded ``val_fraction`` of its training split) plus, with ``holdout_validation``, the
  training-split samples of the validation classes, which act as pseudo-unseen classes for choosing the GZSL
  calibration factor γ;
* **test**: every test sample of every class (the task restricts them for ZSL).

No unseen-class sample ever reaches the train or validation loaders, and :meth:`RecognitionDataModule.knowledge`
hides unseen-class text until test.

Each sample follows Neuron's feeder (the reference pipeline of SkeletonContext): its valid frames are cropped
and linearly resized along time to ``num_frames`` (the half-pixel convention of ``F.interpolate(...,
align_corners=False)``, vectorised over the batch). Training crops a random ratio p ∈ ``train_crop`` of the
valid frames (at least ``min(num_frames, valid)`` frames) at a random offset, then rotates every joint by
R = Rz·Ry·Rx with per-axis angles uniform in ±``rotation`` rad. Evaluation keeps a centred crop of ratio
``test_crop`` and no rotation, so it is deterministic; ``legacy_test_augment`` restores Neuron's random test-time
crop and rotation (still seeded per sample here). Every random draw is a pure function of ``(seed, sample,
draw)`` (:func:`~sic.data.transforms.hash_uniform`), so runs are reproducible on any number of processes.

Batches are :class:`~sic.data.batch.SkeletonBatch` with ``inputs == targets`` of shape ``(B, T, M·J, 3)``
(persons concatenated person-major along the joint axis) and ``meta`` = ``label`` (original class id),
``label_seen`` (index into ``train_classes``, ``-1`` outside them), ``index`` and ``valid`` (valid frames after
resizing, i.e. ``num_frames``). ``index`` is the sample's row in its split of the source: the training split for
training and validation samples of an archive, the test split for test samples; the procedural validation-subject
clips are numbered after the training clips, so training and validation indices never collide.

Example:
    >>> import tempfile
    >>> from sic.data.recognition import RecognitionDataModule
    >>> dm = RecognitionDataModule(num_frames=16, clips_per_class=4, batch_size=4, cache_dir=tempfile.mkdtemp())
    >>> dm.num_classes, len(dm.train_classes), dm.unseen, dm.layout
    (17, 13, (1, 5, 12, 15), 'h36m17')
    >>> batch = next(iter(dm.train_dataloader()))
    >>> batch.inputs.shape, batch.meta["label_seen"].min().item() >= 0
    (torch.Size([4, 16, 17, 3]), True)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from sic.data.action_splits import CLASS_NAMES, DATASETS, get_split
from sic.data.batch import SkeletonBatch
from sic.data.formats.skeleton_npz import SkeletonSplit, read_skeleton_npz
from sic.data.knowledge import KnowledgeBase
from sic.data.samplers import EvalShardSampler, ResumableDataLoader, TrainStreamSampler
from sic.data.skeleton import get_layout
from sic.data.sources import ProceduralSource
from sic.data.sources.base import default_cache_dir
from sic.data.transforms import hash_uniform
from sic.utils.errors import ConfigError, DataError

__all__ = ["RecognitionDataModule", "RecognitionDataset", "crop_windows", "resize_indices", "rotation_matrices"]

_CROP, _ROTATE, _HOLDOUT = 31, 32, 33  # hash streams
_NPZ_LAYOUT = "ntu25"  # NTU RGB+D and PKU-MMD: Kinect v2, 25 joints


def _first(batch: SkeletonBatch) -> SkeletonBatch:
    return batch


# -- vectorised temporal crop, resize and rotation --------------------------------------------------------
def crop_windows(
    valid: np.ndarray, num_frames: int, ratio: float | tuple[float, float], u: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Start and length of the crop of each sample's valid frames.

    A fixed ``ratio`` p gives the centred crop ``[b, valid - b)`` with ``b = int((1 - p) · valid / 2)``. A range
    ``(lo, hi)`` draws p = lo + u₀·(hi − lo), keeps ``clip(floor(valid · p), min(num_frames, valid), valid)``
    frames and starts at ``floor(u₁ · (valid − length + 1))``.

    Args:
        valid: ``(N,)`` valid frames per sample (at least 1).
        num_frames: output frames ``T`` (the random crop keeps at least ``min(T, valid)`` frames).
        ratio: the centred ratio, or the ``(lo, hi)`` range of the random one.
        u: ``(N, 2)`` uniforms in [0, 1) for a random crop.

    Returns:
        ``(start, length)``, two ``(N,)`` int64 arrays with ``1 <= length`` and ``start + length <= valid``.
    """
    valid = np.asarray(valid, dtype=np.int64)
    if isinstance(ratio, (int, float)):
        bias = ((1.0 - float(ratio)) * valid / 2).astype(np.int64)
        return bias, np.maximum(valid - 2 * bias, 1)
    if u is None:
        raise ValueError("a random crop needs its uniforms u")
    lo, hi = ratio
    p = lo + u[:, 0] * (hi - lo)
    length = np.clip(np.floor(valid * p).astype(np.int64), np.minimum(num_frames, valid), valid)
    start = np.minimum(np.floor(u[:, 1] * (valid - length + 1)).astype(np.int64), valid - length)
    return start, length


def resize_indices(length: np.ndarray, num_frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear-interpolation taps that resize sequences of ``length`` frames to ``num_frames``.

    The source position of output frame ``i`` is ``max(0, (i + ½) · length / T − ½)`` (PyTorch's
    ``F.interpolate(mode="linear", align_corners=False)``); the output is ``(1 − w) · x[i0] + w · x[i1]``.

    Args:
        length: ``(N,)`` input frames per sample (at least 1).
        num_frames: output frames ``T``.

    Returns:
        ``(i0, i1, w)``: ``(N, T)`` int64 frame indices into each input and ``(N, T)`` float32 weights of ``i1``.
    """
    length = np.asarray(length, dtype=np.int64)[:, None]
    src = np.maximum((np.arange(num_frames) + 0.5)[None] * (length / num_frames) - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), length - 1)
    i1 = np.minimum(i0 + 1, length - 1)
    return i0, i1, (src - i0).astype(np.float32)


def rotation_matrices(angles: np.ndarray) -> np.ndarray:
    """``(N, 3, 3)`` float32 rotations R = Rz·Ry·Rx of ``(N, 3)`` angles ``(ax, ay, az)`` in radians."""
    cx, cy, cz = np.cos(angles).T
    sx, sy, sz = np.sin(angles).T
    one, zero = np.ones_like(cx), np.zeros_like(cx)
    rx = np.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], -1).reshape(-1, 3, 3)
    ry = np.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).reshape(-1, 3, 3)
    rz = np.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], -1).reshape(-1, 3, 3)
    return (rz @ ry @ rx).astype(np.float32)


# -- dataset ----------------------------------------------------------------------------------------------
@dataclass
class _Rows:
    """Some rows of one ``(N, T, M, J, 3)`` joint array (possibly memory-mapped)."""

    joints: np.ndarray
    rows: np.ndarray
    labels: np.ndarray
    valid: np.ndarray
    index: np.ndarray


class RecognitionDataset(Dataset):
    """Cropped, resized and (in training) rotated skeleton sequences; ``__getitems__`` builds a whole batch.

    Args:
        parts: the samples, as rows of one or more joint arrays ``(N, T_src, M_src, J, 3)``.
        num_frames: output frames ``T``.
        num_persons: persons ``M`` per output frame (missing persons are zero).
        train_classes: original class ids trained on (``label_seen`` indexes them).
        num_classes: number of classes of the dataset.
        crop: a centred crop ratio, or the ``(lo, hi)`` range of a random one.
        rotation: maximal rotation angle per axis in radians (0: none).
        seed: seed of the random crop and rotation.
        train: keys are ``(item, draw)`` pairs and draws are keyed by ``draw``; otherwise keys are items and draws
            are keyed by the sample's ``index``.
    """

    def __init__(self, parts: Sequence[_Rows], num_frames: int, num_persons: int, train_classes: Sequence[int],
                 num_classes: int, crop: float | tuple[float, float], rotation: float = 0.0, seed: int = 0,
                 train: bool = False) -> None:  # fmt: skip
        self.parts, self.num_frames, self.num_persons = list(parts), num_frames, num_persons
        self.crop, self.rotation, self.seed, self.train = crop, rotation, seed, train
        self.starts = np.concatenate([[0], np.cumsum([len(p.rows) for p in self.parts])]).astype(np.int64)

        def cat(key: str) -> np.ndarray:
            return np.concatenate([np.zeros(0, np.int64), *(np.asarray(getattr(p, key), np.int64) for p in self.parts)])

        self.labels, self.valid, self.index = cat("labels"), cat("valid"), cat("index")
        self.lookup = np.full(num_classes, -1, dtype=np.int64)
        self.lookup[np.asarray(train_classes, dtype=np.int64)] = np.arange(len(train_classes))

    def __len__(self) -> int:
        return int(self.starts[-1])

    def __getitem__(self, key: Any) -> SkeletonBatch:
        return self.__getitems__([key])

    def _gather(self, items: np.ndarray, first: np.ndarray, i0: np.ndarray, i1: np.ndarray,
                w: np.ndarray) -> np.ndarray:  # fmt: skip
        """``(n, T, M, J, 3)`` float32 resized frames: each part's rows are read with one fancy index."""
        part = np.searchsorted(self.starts, items, side="right") - 1
        t = self.num_frames
        out: np.ndarray | None = None
        for p in np.unique(part):
            sel = np.flatnonzero(part == p)
            src = self.parts[p]
            rows = src.rows[items[sel] - self.starts[p]]
            frames = first[sel, None] + np.concatenate([i0[sel], i1[sel]], axis=1)  # (n, 2T)
            taps = np.asarray(src.joints[rows[:, None], frames], dtype=np.float32)  # (n, 2T, M_src, J, 3)
            wt = w[sel][:, :, None, None, None]
            x = (1.0 - wt) * taps[:, :t] + wt * taps[:, t:]
            if out is None:
                out = np.zeros((len(items), t, self.num_persons, *x.shape[3:]), dtype=np.float32)
            out[sel, :, : x.shape[2]] = x[:, :, : self.num_persons]
        assert out is not None
        return out

    def __getitems__(self, keys: list[Any]) -> SkeletonBatch:
        """A :class:`SkeletonBatch`: int items (evaluation) or ``(item, draw)`` pairs (training)."""
        pairs = np.asarray([k if isinstance(k, (tuple, list)) else (k, k) for k in keys], dtype=np.int64).reshape(-1, 2)
        items = pairs[:, 0]
        if len(items) == 0 or items.min() < 0 or items.max() >= len(self):
            raise IndexError(f"recognition items must lie in [0, {len(self)}), got {items.tolist()[:8]}")
        draw = pairs[:, 1] if self.train else self.index[items]
        valid = self.valid[items]
        random_crop = not isinstance(self.crop, (int, float))
        u = hash_uniform(self.seed, draw, (2,), stream=_CROP) if random_crop else None
        first, length = crop_windows(valid, self.num_frames, self.crop, u)
        i0, i1, w = resize_indices(length, self.num_frames)
        x = self._gather(items, first, i0, i1, w)
        if self.rotation > 0:
            angles = (2.0 * hash_uniform(self.seed, draw, (3,), stream=_ROTATE) - 1.0) * self.rotation
            x = np.einsum("nij,ntmkj->ntmki", rotation_matrices(angles), x, optimize=True).astype(np.float32)
        n, t, m, j, c = x.shape
        inputs = torch.from_numpy(np.ascontiguousarray(x.reshape(n, t, m * j, c)))
        labels = self.labels[items]
        meta = {"label": torch.from_numpy(labels), "label_seen": torch.from_numpy(self.lookup[labels]),
                "index": torch.from_numpy(self.index[items]),
                "valid": torch.full((n,), t, dtype=torch.long)}  # fmt: skip
        return SkeletonBatch(inputs=inputs, targets=inputs, task=torch.full((n,), -1, dtype=torch.long), meta=meta)


# -- datamodule -------------------------------------------------------------------------------------------
class RecognitionDataModule(L.LightningDataModule):
    """Skeleton action recognition batches, with the class restrictions of a zero-shot split.

    Args:
        dataset: the dataset key, one of ``procedural``, ``ntu60``, ``ntu120``, ``pku51`` (always explicit: never
            inferred from a number of classes).
        split: a zero-shot split name of :mod:`sic.data.action_splits` (e.g. ``ntu60-55-5``) of ``dataset``;
            ``None`` trains and evaluates plain supervised recognition on all classes.
        path: the NPZ archive (``x_train/y_train/x_test/y_test``) of ``ntu60``/``ntu120``/``pku51``; required for
            them and not accepted for ``procedural``.
        num_persons: persons ``M`` per frame (default 2 for the archives, 1 for ``procedural``; extra procedural
            persons are zero).
        holdout_validation: hold the split's validation classes out of training; their training-split samples
            join the validation loader as pseudo-unseen classes (to choose the GZSL calibration factor γ).
        num_frames: ``T``, frames per sample after resizing the crop (64 in Neuron's protocol).
        train_crop: ``(lo, hi)``: training crops a random ratio in this range of the valid frames.
        test_crop: ratio of the centred, deterministic evaluation crop.
        rotation: maximal training rotation per axis in radians (0 turns it off).
        legacy_test_augment: apply the training crop and rotation at test time as Neuron does (not the
            reference protocol: a random test set; here still seeded per sample).
        val_fraction: fraction of an archive's training-split samples of the training classes held out for
            validation (drawn by a hash of the sample index and ``seed``); the procedural source validates on its
            own validation subjects instead.
        clips_per_class: procedural training clips per class (validation and test: a quarter, at least 8).
        fps: procedural frame rate.
        clip_frames: frames generated per procedural clip (all of them valid).
        batch_size: training batch size (per device).
        eval_batch_size: validation/test batch size (default: ``batch_size``).
        num_workers: DataLoader worker processes.
        seed: seed of the training stream and augmentation, of the validation hold-out and of the legacy test
            augmentation.
        epoch_size: training samples per epoch (default: every training sample once).
        pin_memory: pin batches for faster host-to-GPU copies.
        cache_dir: where generated procedural clips are cached (default ``$SIC_CACHE`` or ``~/.cache/sic``).
        knowledge: path of a class-knowledge JSON (default: the packaged file of ``dataset``).
    """

    def __init__(
        self,
        dataset: str = "procedural",
        split: str | None = "procedural-13-4",
        path: str | None = None,
        num_persons: int | None = None,
        holdout_validation: bool = False,
        num_frames: int = 64,
        train_crop: tuple[float, float] = (0.5, 1.0),
        test_crop: float = 0.95,
        rotation: float = 0.3,
        legacy_test_augment: bool = False,
        val_fraction: float = 0.05,
        clips_per_class: int = 64,
        fps: float = 25.0,
        clip_frames: int = 80,
        batch_size: int = 64,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        seed: int = 0,
        epoch_size: int | None = None,
        pin_memory: bool = False,
        cache_dir: str | None = None,
        knowledge: str | None = None,
    ) -> None:
        super().__init__()
        if dataset not in CLASS_NAMES:
            raise ConfigError(f"data.dataset: unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
        self.dataset = dataset
        self.split = None if split is None else get_split(split)
        if self.split is not None and self.split.dataset != dataset:
            raise ConfigError(f"data.split {split!r} is a split of {self.split.dataset}, but data.dataset is "
                              f"{dataset!r}")  # fmt: skip
        procedural = dataset == "procedural"
        if procedural and path is not None:
            raise ConfigError(f"data.path is for the NPZ archives of ntu60/ntu120/pku51; the procedural dataset is "
                              f"generated (got path {path!r}): remove data.path or set data.dataset")  # fmt: skip
        if not procedural and path is None:
            raise ConfigError(f"data.path is required for dataset {dataset!r}: the NPZ archive with x_train/y_train/"
                              "x_test/y_test (python -m sic.data.prepare.ntu or .pku writes it)")  # fmt: skip
        self.path = None if path is None else Path(path).expanduser()
        self.num_persons = (1 if procedural else 2) if num_persons is None else int(num_persons)
        if self.num_persons < 1:
            raise ConfigError(f"data.num_persons must be >= 1, got {num_persons}")
        if holdout_validation and (self.split is None or not self.split.validation):
            raise ConfigError("data.holdout_validation needs a zero-shot split with validation classes (data.split)")
        self.holdout_validation = holdout_validation
        if num_frames < 1 or batch_size < 1 or (eval_batch_size is not None and eval_batch_size < 1):
            raise ConfigError(f"data.num_frames, data.batch_size and data.eval_batch_size must be >= 1, got "
                              f"{num_frames}, {batch_size} and {eval_batch_size}")  # fmt: skip
        crop = tuple(float(v) for v in train_crop)
        if len(crop) != 2 or not 0.0 < crop[0] <= crop[1] <= 1.0:
            raise ConfigError(f"data.train_crop must be (lo, hi) with 0 < lo <= hi <= 1, got {list(train_crop)}")
        if not 0.0 < test_crop <= 1.0:
            raise ConfigError(f"data.test_crop must be in (0, 1], got {test_crop}")
        if rotation < 0:
            raise ConfigError(f"data.rotation is a maximal angle in radians (>= 0), got {rotation}")
        if not 0.0 <= val_fraction < 1.0:
            raise ConfigError(f"data.val_fraction must be in [0, 1), got {val_fraction}")
        if clips_per_class < 1 or clip_frames < 1 or not fps > 0:
            raise ConfigError(f"data.clips_per_class and data.clip_frames must be >= 1 and data.fps > 0, got "
                              f"{clips_per_class}, {clip_frames} and {fps}")  # fmt: skip
        if epoch_size is not None and epoch_size < 1:
            raise ConfigError(f"data.epoch_size must be >= 1, got {epoch_size}")
        self.num_frames, self.train_crop, self.test_crop = num_frames, (crop[0], crop[1]), float(test_crop)
        self.rotation, self.legacy_test_augment, self.val_fraction = float(rotation), legacy_test_augment, val_fraction
        self.clips_per_class, self.fps, self.clip_frames = clips_per_class, float(fps), clip_frames
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size or batch_size
        self.num_workers, self.seed, self.epoch_size, self.pin_memory = num_workers, seed, epoch_size, pin_memory
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        self.knowledge_path = knowledge
        self.source: ProceduralSource | None = None
        if procedural:
            self.source = ProceduralSource(name=f"recognition{self.fps:g}", fps=self.fps, clips_per_split=self._clips())
        self.datasets: dict[str, RecognitionDataset] = {}
        self._splits: dict[str, SkeletonSplit] = {}
        self._knowledge: KnowledgeBase | None = None

    # -- classes and layout, read by the Lightning task ------------------------------------------
    @property
    def class_names(self) -> tuple[str, ...]:
        """Names of all classes of the dataset, in id order."""
        return CLASS_NAMES[self.dataset]

    @property
    def num_classes(self) -> int:
        """Number of classes of the dataset (seen and unseen)."""
        return len(self.class_names)

    @property
    def seen(self) -> tuple[int, ...]:
        """The split's seen class ids (all classes without a split)."""
        return tuple(range(self.num_classes)) if self.split is None else self.split.seen

    @property
    def unseen(self) -> tuple[int, ...]:
        """The split's unseen class ids (empty without a split)."""
        return () if self.split is None else self.split.unseen

    @property
    def val_unseen(self) -> tuple[int, ...]:
        """Pseudo-unseen validation class ids when ``holdout_validation`` holds them out, else ``()``."""
        return self.split.validation if self.holdout_validation and self.split is not None else ()

    @property
    def train_classes(self) -> tuple[int, ...]:
        """Sorted original class ids trained on: the seen classes minus :attr:`val_unseen`."""
        held = set(self.val_unseen)
        return tuple(c for c in self.seen if c not in held)

    @property
    def layout(self) -> str:
        """Name of the joint layout (``ntu25`` for NTU/PKU, the procedural source's, ``h36m17``)."""
        return self.source.layout if self.source is not None else _NPZ_LAYOUT

    @property
    def num_joints(self) -> int:
        """Joints ``J`` per person (the batch's joint axis holds ``num_persons · num_joints``)."""
        return get_layout(self.layout).num_joints

    def knowledge(self, stage: str) -> KnowledgeBase:
        """The class knowledge visible in ``stage``.

        Args:
            stage: ``fit``/``validate``: only the training classes and the pseudo-unseen validation classes
                (never the split's unseen classes); ``test``/``predict``: every class.
        """
        if stage not in ("fit", "validate", "test", "predict"):
            raise ConfigError(f"unknown stage {stage!r}; expected fit, validate, test or predict")
        if self._knowledge is None:
            self._knowledge = KnowledgeBase.load(self.knowledge_path or self.dataset, dataset=self.dataset)
        if stage in ("test", "predict"):
            return self._knowledge
        return self._knowledge.restrict(sorted((*self.train_classes, *self.val_unseen)))

    # -- data -------------------------------------------------------------------------------------
    def _clips(self) -> dict[str, int]:
        """Procedural clips per split (the generator deals actions round-robin, so per class times classes)."""
        n, held = self.num_classes, max(8, self.clips_per_class // 4)
        return {"train": self.clips_per_class * n, "val": held * n, "test": held * n}

    def _procedural(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """``(joints (N, T, 1, J, 3), labels (N,))`` of a procedural split, centred on the first frame's root."""
        assert self.source is not None
        archive = self.source.load(split, self.clip_frames, self.cache_dir)
        x = np.asarray(archive.poses3d, dtype=np.float32)
        root = get_layout(self.layout).root
        x = x - x[:, :1, root : root + 1]  # like the NTU pipeline: the origin is the first frame's root joint
        return x[:, :, None], np.asarray(archive.labels, dtype=np.int64)

    def _archive(self, split: str) -> SkeletonSplit:
        """A split (``train``/``test``) of the NPZ archive, read once; labels are checked against the dataset."""
        if not self._splits:
            assert self.path is not None
            splits = read_skeleton_npz(self.path, num_persons=self.num_persons, num_joints=self.num_joints)
            for name in ("train", "test"):
                if name not in splits:
                    raise DataError(f"{self.path}: no x_{name}/y_{name} arrays (found splits {sorted(splits)})")
            for name, s in splits.items():
                if len(s) and int(s.labels.max()) >= self.num_classes:
                    raise DataError(f"{self.path}: y_{name} holds class id {int(s.labels.max())}, but {self.dataset} "
                                    f"has {self.num_classes} classes (ids 0..{self.num_classes - 1}); "
                                    "is data.dataset right?")  # fmt: skip
            self._splits = splits
        return self._splits[split]

    def _rows(self, stage: str) -> list[_Rows]:
        """The samples of ``train``, ``val`` or ``test``."""
        train, pseudo = np.asarray(self.train_classes), np.asarray(self.val_unseen, dtype=np.int64)
        if self.source is not None:
            if stage == "test":
                x, y = self._procedural("test")
                return [_Rows(x, np.arange(len(y)), y, np.full(len(y), x.shape[1]), np.arange(len(y)))]
            x, y = self._procedural("train")
            if stage == "train":
                rows = np.flatnonzero(np.isin(y, train))
                return [_Rows(x, rows, y[rows], np.full(len(rows), x.shape[1]), rows)]
            xv, yv = self._procedural("val")
            held = np.flatnonzero(np.isin(yv, train))  # validation subjects, training classes
            out = [_Rows(xv, held, yv[held], np.full(len(held), xv.shape[1]), len(y) + held)]
            rows = np.flatnonzero(np.isin(y, pseudo))  # training subjects, pseudo-unseen classes
            return [*out, _Rows(x, rows, y[rows], np.full(len(rows), x.shape[1]), rows)] if len(rows) else out
        s = self._archive("test" if stage == "test" else "train")
        if stage == "test":
            rows = np.arange(len(s))
        else:
            out = hash_uniform(self.seed, np.arange(len(s)), (), stream=_HOLDOUT) < self.val_fraction
            seen = np.isin(s.labels, train)
            rows = np.flatnonzero(seen & ~out) if stage == "train" else np.flatnonzero(
                (seen & out) | np.isin(s.labels, pseudo))  # fmt: skip
        return [_Rows(s.joints, rows, s.labels[rows], s.valid[rows], rows)]

    def _train_seed(self) -> int:
        return self.seed * 7919 + int(os.environ.get("PL_GLOBAL_SEED", 0))

    def _dataset(self, stage: str) -> RecognitionDataset:
        common = {"num_frames": self.num_frames, "num_persons": self.num_persons,
                  "train_classes": self.train_classes, "num_classes": self.num_classes}  # fmt: skip
        if stage == "train":
            return RecognitionDataset(self._rows("train"), crop=self.train_crop, rotation=self.rotation,
                                      seed=self._train_seed(), train=True, **common)  # fmt: skip
        if stage == "test" and self.legacy_test_augment:
            return RecognitionDataset(self._rows("test"), crop=self.train_crop, rotation=self.rotation,
                                      seed=self.seed, **common)  # fmt: skip
        return RecognitionDataset(self._rows(stage), crop=self.test_crop, seed=self.seed, **common)

    def setup(self, stage: str | None = None) -> None:
        """Build the datasets ``stage`` needs (generating procedural clips or opening the archive)."""
        needed = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",), "predict": ("test",)}
        for name in needed.get(stage or "", ("train", "val", "test")):
            if name not in self.datasets:
                self.datasets[name] = self._dataset(name)

    # -- loaders ----------------------------------------------------------------------------------
    def _ranks(self) -> tuple[int, int]:
        trainer = self.trainer
        return (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)

    def _loader(
        self, dataset: Dataset, batch_size: int, sampler: Any, cls: type[DataLoader] = DataLoader
    ) -> DataLoader:
        return cls(dataset, batch_size=batch_size, sampler=sampler, shuffle=False, collate_fn=_first,
                   num_workers=self.num_workers, pin_memory=self.pin_memory,
                   persistent_workers=self.num_workers > 0)  # fmt: skip

    def _get(self, name: str) -> RecognitionDataset:
        if name not in self.datasets:
            self.datasets[name] = self._dataset(name)
        return self.datasets[name]

    def train_dataloader(self) -> DataLoader:
        """Shuffled training samples of the training classes, one stream shared by all ranks, resumable."""
        data = self._get("train")
        if len(data) == 0:
            raise ConfigError(f"the {self.dataset} training set is empty: no training sample of classes "
                              f"{list(self.train_classes)[:10]}...")  # fmt: skip
        world, rank = self._ranks()
        sampler = TrainStreamSampler(len(data), self.epoch_size, seed=self._train_seed(), num_replicas=world, rank=rank)
        return self._loader(data, self.batch_size, sampler, ResumableDataLoader)

    def _eval_loader(self, name: str) -> DataLoader:
        data = self._get(name)
        world, rank = self._ranks()
        if len(data) < max(world, 1):
            hint = " (raise data.val_fraction or set data.holdout_validation)" if name == "val" else ""
            raise ConfigError(f"the {self.dataset} {name} set has {len(data)} samples for {world} ranks{hint}")
        # Whole batches are dealt to ranks, at least one each, so that no rank skips the loop (and the metric
        # all-gather); the batch size does not change the metrics.
        size = min(self.eval_batch_size, -(-len(data) // world))
        return self._loader(data, size, EvalShardSampler(len(data), size, world, rank))

    def val_dataloader(self) -> DataLoader:
        """Held-out samples of the training classes, then the pseudo-unseen classes' samples."""
        return self._eval_loader("val")

    def test_dataloader(self) -> DataLoader:
        """Every test sample, of every class."""
        return self._eval_loader("test")

    def predict_dataloader(self) -> DataLoader:
        """The test samples."""
        return self._eval_loader("test")

    def transfer_batch_to_device(
        self, batch: SkeletonBatch, device: torch.device, dataloader_idx: int
    ) -> SkeletonBatch:
        """Move a :class:`SkeletonBatch`."""
        del dataloader_idx  # unused
        return batch.to(device, non_blocking=True)
