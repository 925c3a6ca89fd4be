"""``LiftingDataModule``: 2D-to-3D pose lifting windows from any clip source with 2D, plus a robustness suite.

A sample is a window of ``T`` frames. The input is the detections in VideoPose3D/MotionBERT screen
coordinates (``x ∈ [-1, 1]`` across the image width, y up, same scale) with the detector confidence as
the third channel; the target is the 3D pose in the camera frame (y up), root-relative, in metres.
Training windows start at a random offset inside each stored clip and are mirrored (x negated, left and
right swapped, in 2D and 3D together) with probability ``flip``; both are functions of ``(item, draw)``, so
a resumed or multi-process run sees the same batches. Evaluation windows start at the clip start.

Validation has one loader (``val_names == ["clean"]``). Test has one loader per entry of
:attr:`LiftingDataModule.test_names`: ``"clean"`` first, then one per corruption of ``robustness``
(:mod:`sic.data.corruptions`), each applied on the fly and seeded per sample so that every model sees
identical inputs. ``test_sources`` replaces the test data (domain shift: train on one source, test on
another). Occluded joints travel in ``SkeletonBatch.mask``; frames that count in ``meta["scored"]``.

Example:
    >>> from sic.data.lifting import LiftingDataModule
    >>> from sic.data.sources import ProceduralSource
    >>> dm = LiftingDataModule(num_frames=9, batch_size=4, robustness={"jitter": [5.0]},
    ...     sources=[ProceduralSource(clips_per_split={"train": 8, "val": 4, "test": 4})])
    >>> dm.setup("test")
    >>> dm.test_names
    ['clean', 'jitter@5']
    >>> batch = next(iter(dm.test_dataloader()[1]))
    >>> batch.inputs.shape, batch.targets.shape, batch.mask.shape
    (torch.Size([4, 9, 17, 3]), torch.Size([4, 9, 17, 3]), torch.Size([4, 9, 17]))
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from sic.data.archive import ClipArchive
from sic.data.batch import SkeletonBatch
from sic.data.corruptions import Corruption, LiftingWindow, parse_suite
from sic.data.samplers import EvalShardSampler, ResumableDataLoader, TrainStreamSampler
from sic.data.skeleton import SkeletonLayout, get_layout
from sic.data.sources import ClipSource, ProceduralSource
from sic.data.sources.base import default_cache_dir
from sic.data.transforms import camera_up, hash_uniform, normalize_screen, root_relative
from sic.utils.errors import ConfigError

__all__ = ["LiftingDataModule", "LiftingDataset", "flip_poses"]

_OFFSET, _FLIP = 21, 22  # hash streams


def flip_poses(x: Tensor, permutation: Tensor | np.ndarray) -> Tensor:
    """Mirror ``(..., J, C)`` poses: negate x (channel 0), swap left and right joints (``layout.flip_permutation``)."""
    perm = torch.as_tensor(np.asarray(permutation), device=x.device, dtype=torch.long)
    out = x.index_select(-2, perm)
    return torch.cat([-out[..., :1], out[..., 1:]], dim=-1)


def _first(batch: SkeletonBatch) -> SkeletonBatch:
    return batch


class LiftingDataset(Dataset):
    """Lifting windows of ``num_frames`` frames over the clips of several archives; ``__getitems__`` builds a batch.

    Args:
        archives: clip archives with 2D detections and cameras (one split).
        num_frames: ``T``.
        layout: joint layout of the archives (flip permutation, body parts for corruptions).
        train: random window offsets and flips keyed by ``(item, draw)``; otherwise offset 0 and no flip.
        seed: seed of the training draws and of the corruptions.
        flip: probability of mirroring a training window.
        corruption: a test-time corruption applied to every window (evaluation only).
    """

    def __init__(self, archives: list[ClipArchive], num_frames: int, layout: SkeletonLayout, train: bool = False,
                 seed: int = 0, flip: float = 0.0, corruption: Corruption | None = None,
                 root_relative_2d: bool = False) -> None:  # fmt: skip
        self.archives, self.num_frames, self.layout = archives, num_frames, layout
        self.root_relative_2d = root_relative_2d
        self.train, self.seed, self.flip, self.corruption = train, seed, flip, corruption
        self.window = corruption.frames_needed(num_frames) if corruption is not None else num_frames
        for a in archives:
            if not a.has_2d or a.cam_R is None:
                raise ConfigError(
                    f"archive {a.name!r} ({a.path}) has no 2D detections and cameras: lifting needs a source with 2D"
                )
            if a.num_frames < self.window:
                why = f"num_frames={num_frames}" + (f", {corruption.label}" if corruption else "")
                raise ConfigError(
                    f"archive {a.name!r} stores {a.num_frames}-frame clips but {self.window} frames are needed ({why})"
                )
        self.starts = np.concatenate([[0], np.cumsum([a.num_clips for a in archives])]).astype(np.int64)
        self.permutation = layout.flip_permutation

    def __len__(self) -> int:
        return int(self.starts[-1])

    def __getitem__(self, key: Any) -> SkeletonBatch:
        return self.__getitems__([key])

    def _gather(self, items: np.ndarray, draws: np.ndarray) -> tuple[LiftingWindow, np.ndarray, np.ndarray]:
        """Raw windows (pixels, world metres, cameras) of ``items``, with their labels and subjects."""
        part = np.searchsorted(self.starts, items, side="right") - 1
        local = items - self.starts[part]
        n, w = len(items), self.window
        fields: dict[str, list[np.ndarray]] = {
            k: [] for k in ("poses3d", "poses2d", "cam_R", "cam_t", "cam_f", "cam_c", "cam_size")
        }
        labels, subjects, order = [], [], []
        for p in np.unique(part):
            rows = np.flatnonzero(part == p)
            a, clips = self.archives[p], local[rows]
            span = a.num_frames - w + 1
            offset = (
                (hash_uniform(self.seed, draws[rows], (), stream=_OFFSET) * span).astype(np.int64)
                if self.train
                else np.zeros(len(rows), np.int64)
            )
            frames = offset[:, None] + np.arange(w)
            for k in ("poses3d", "poses2d"):
                fields[k].append(np.asarray(getattr(a, k)[clips[:, None], frames], dtype=np.float32))
            for k in ("cam_R", "cam_t", "cam_f", "cam_c", "cam_size"):
                fields[k].append(np.asarray(getattr(a, k)[clips], dtype=np.float32))
            labels.append(a.labels[clips] if a.labels is not None else np.full(len(rows), -1))
            subjects.append(a.subjects[clips] if a.subjects is not None else np.full(len(rows), -1))
            order.append(rows)
        inverse = np.empty(n, np.int64)
        inverse[np.concatenate(order)] = np.arange(n)
        arrays = {k: np.concatenate(v)[inverse] for k, v in fields.items()}
        window = LiftingWindow(**arrays, keys=items.astype(np.int64))
        return window, np.concatenate(labels)[inverse], np.concatenate(subjects)[inverse]

    def __getitems__(self, keys: list[Any]) -> SkeletonBatch:
        """A :class:`SkeletonBatch` of lifting samples: int items (evaluation) or ``(item, draw)`` pairs (training)."""
        pairs = np.asarray([k if isinstance(k, (tuple, list)) else (k, k) for k in keys], dtype=np.int64).reshape(-1, 2)
        items, draws = pairs[:, 0], pairs[:, 1]
        if len(items) and (items.min() < 0 or items.max() >= len(self)):
            raise IndexError(f"lifting item out of range [0, {len(self)}): {items.min()}..{items.max()}")
        window, labels, subjects = self._gather(items, draws)
        occluded = scored = None
        if self.corruption is not None:
            out = self.corruption.apply(window, self.num_frames, self.seed, self.layout)
            window, occluded, scored = out.window, out.occluded, out.scored
        else:
            window = window.crop(self.num_frames)
        xy = normalize_screen(window.poses2d[..., :2], window.cam_size)
        if self.root_relative_2d:
            xy = xy - xy[:, :, self.layout.root : self.layout.root + 1]
        inputs = torch.from_numpy(np.concatenate([xy, window.poses2d[..., 2:3]], axis=-1).astype(np.float32))
        targets = torch.from_numpy(root_relative(camera_up(window.poses3d, window.cam_R, window.cam_t)))
        if self.train and self.flip > 0:
            rows = torch.from_numpy(hash_uniform(self.seed, draws, (), stream=_FLIP) < self.flip)
            inputs = torch.where(rows[:, None, None, None], flip_poses(inputs, self.permutation), inputs)
            targets = torch.where(rows[:, None, None, None], flip_poses(targets, self.permutation), targets)
        meta = {"index": torch.from_numpy(items), "label": torch.from_numpy(np.asarray(labels, np.int64)),
                "subject": torch.from_numpy(np.asarray(subjects, np.int64))}  # fmt: skip
        if scored is not None:
            meta["scored"] = torch.from_numpy(np.asarray(scored, dtype=bool))
        mask = None if occluded is None else torch.from_numpy(np.asarray(occluded, dtype=bool))
        return SkeletonBatch(inputs=inputs, targets=targets, task=torch.full((len(items),), -1, dtype=torch.long),
                             mask=mask, meta=meta)  # fmt: skip


class LiftingDataModule(L.LightningDataModule):
    """2D-to-3D lifting windows, a clean test set and a seeded robustness suite.

    Args:
        sources: clip sources with 2D detections (default: the embedded procedural source at 50 fps).
        test_sources: sources of the test split (default: ``sources``); another dataset tests domain shift.
        num_frames: ``T``, frames per window (27, 81 or 243 in the usual protocols).
        batch_size: training batch size (per device).
        eval_batch_size: validation/test batch size (default: ``batch_size``).
        num_workers: DataLoader worker processes.
        flip: probability of a left/right mirror of a training window (0 turns it off).
        epoch_size: training windows per epoch (default: every stored clip once).
        robustness: test-time corruptions, ``{name: [severity, ...]}`` or a list of ``{name, severity,
            options...}`` (see :mod:`sic.data.corruptions`); each gets its own test loader.
        root_relative_2d: subtract the root's screen position from the 2D input in every frame (the
            in-context tasks' convention); False keeps absolute screen coordinates (MotionBERT's).
        cache_dir: where generated archives are cached (default ``$SIC_CACHE`` or ``~/.cache/sic``).
        seed: seed of the training stream and of the corruptions.
        pin_memory: pin batches for faster host-to-GPU copies.
    """

    def __init__(
        self,
        sources: list[ClipSource] | None = None,
        test_sources: list[ClipSource] | None = None,
        num_frames: int = 27,
        batch_size: int = 16,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        flip: float = 0.5,
        epoch_size: int | None = None,
        robustness: dict[str, list[float]] | list[dict[str, Any]] | None = None,
        root_relative_2d: bool = False,
        cache_dir: str | None = None,
        seed: int = 0,
        pin_memory: bool = False,
    ) -> None:
        super().__init__()
        if num_frames < 2 or batch_size < 1:
            raise ConfigError(
                f"data.num_frames must be >= 2 and data.batch_size >= 1, got {num_frames} and {batch_size}"
            )
        if not 0.0 <= flip <= 1.0:
            raise ConfigError(f"data.flip is a probability in [0, 1], got {flip}")
        self.sources = [ProceduralSource(name="procedural50")] if sources is None else list(sources)
        self.test_sources = self.sources if test_sources is None else list(test_sources)
        if not self.sources or not self.test_sources:
            raise ConfigError("data.sources and data.test_sources must name at least one source")
        for s in {*self.sources, *self.test_sources}:
            if not s.has_2d:
                raise ConfigError(f"source {s.name!r} has no 2D detections: lifting needs 2D (enable virtual cameras)")
        layouts = {s.layout for s in [*self.sources, *self.test_sources]}
        if len(layouts) > 1:
            raise ConfigError(f"all lifting sources must share one joint layout, got {sorted(layouts)}")
        self.layout = get_layout(layouts.pop())
        self.num_frames, self.batch_size = num_frames, batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers, self.flip, self.epoch_size = num_workers, flip, epoch_size
        self.corruptions = parse_suite(robustness) if robustness else []
        labels = [c.label for c in self.corruptions]
        if len(set(labels)) != len(labels):
            raise ConfigError(f"data.robustness lists a corruption twice: {labels}")
        self.seed, self.pin_memory, self.root_relative_2d = seed, pin_memory, root_relative_2d
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        self.datasets: dict[str, LiftingDataset] = {}

    # -- properties read by the Lightning task -------------------------------------------------
    @property
    def num_joints(self) -> int:
        """Joints per frame of the data's layout."""
        return self.layout.num_joints

    @property
    def val_names(self) -> list[str]:
        """Names of the validation loaders."""
        return ["clean"]

    @property
    def test_names(self) -> list[str]:
        """Names of the test loaders: ``"clean"``, then one per corruption."""
        return ["clean", *(c.label for c in self.corruptions)]

    def class_names(self, split: str = "test") -> list[str]:
        """Names of the integer labels (actions) of ``split``'s sources (empty if they disagree or have none)."""
        names = {tuple(s.class_names) for s in (self.test_sources if split == "test" else self.sources)}
        return list(names.pop()) if len(names) == 1 else []

    # -- setup ----------------------------------------------------------------------------------
    def _archives(self, split: str, frames: int) -> list[ClipArchive]:
        sources = self.test_sources if split == "test" else self.sources
        return [s.load(split, frames, self.cache_dir) for s in sources]

    def _train_seed(self) -> int:
        return self.seed * 7919 + int(os.environ.get("PL_GLOBAL_SEED", 0))

    def setup(self, stage: str | None = None) -> None:
        """Open (or generate) the archives of the splits ``stage`` needs."""
        t = self.num_frames
        common = {"layout": self.layout, "root_relative_2d": self.root_relative_2d}
        if stage in ("fit", None):
            self.datasets["train"] = LiftingDataset(
                self._archives("train", t), t, train=True, seed=self._train_seed(), flip=self.flip, **common
            )
        if stage in ("fit", "validate", None):
            self.datasets["val/clean"] = LiftingDataset(self._archives("val", t), t, seed=self.seed, **common)
        if stage in ("test", "predict", None):
            self.datasets["test/clean"] = LiftingDataset(self._archives("test", t), t, seed=self.seed, **common)
            for c in self.corruptions:
                self.datasets[f"test/{c.label}"] = LiftingDataset(
                    self._archives("test", c.frames_needed(t)), t, seed=self.seed, corruption=c, **common)  # fmt: skip

    # -- loaders --------------------------------------------------------------------------------
    def _ranks(self) -> tuple[int, int]:
        trainer = self.trainer
        return (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)

    def _loader(
        self, dataset: Dataset, batch_size: int, sampler: Any, cls: type[DataLoader] = DataLoader
    ) -> DataLoader:
        return cls(dataset, batch_size=batch_size, sampler=sampler, shuffle=False, collate_fn=_first,
                   num_workers=self.num_workers, pin_memory=self.pin_memory,
                   persistent_workers=self.num_workers > 0)  # fmt: skip

    def _dataset(self, key: str) -> LiftingDataset:
        if key not in self.datasets:
            self.setup({"train": "fit", "val": "validate"}.get(key.split("/")[0], "test"))
        return self.datasets[key]

    def train_dataloader(self) -> DataLoader:
        """Shuffled training windows, one stream shared by all ranks, resumable mid-epoch."""
        data = self._dataset("train")
        world, rank = self._ranks()
        sampler = TrainStreamSampler(len(data), self.epoch_size, seed=self._train_seed(), num_replicas=world, rank=rank)
        return self._loader(data, self.batch_size, sampler, ResumableDataLoader)

    def _eval_loader(self, key: str) -> DataLoader:
        data = self._dataset(key)
        world, rank = self._ranks()
        if len(data) < world:
            raise ConfigError(f"the {key} set has {len(data)} windows for {world} ranks; use more clips")
        # Batches are dealt whole to ranks: at least one per rank, or a rank would skip the loop (and its
        # metric all-gather). The batch size does not change the metrics.
        size = min(self.eval_batch_size, -(-len(data) // world))
        return self._loader(data, size, EvalShardSampler(len(data), size, world, rank))

    def val_dataloader(self) -> DataLoader:
        """Clean validation windows."""
        return self._eval_loader("val/clean")

    def test_dataloader(self) -> list[DataLoader]:
        """One loader per :attr:`test_names` entry."""
        return [self._eval_loader(f"test/{name}") for name in self.test_names]

    def predict_dataloader(self) -> DataLoader:
        """The clean test windows."""
        return self._eval_loader("test/clean")

    def transfer_batch_to_device(
        self, batch: SkeletonBatch, device: torch.device, dataloader_idx: int
    ) -> SkeletonBatch:
        """Move a :class:`SkeletonBatch`."""
        del dataloader_idx  # unused
        return batch.to(device, non_blocking=True)
