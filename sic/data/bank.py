"""The task-sampling skeleton bank: (task, clip) items with prompts, assembled batch-wise.

An item is a pair (task, clip) drawn from one split. Assembling a batch groups its items by
(task, archive), gathers all their windows with one fancy-index per group, applies the task
transform to the whole group, then draws each item's prompt -- a clip of the same task from the
*training* split -- the same way. There are no per-sample Python objects.

Randomness (window offsets, prompt choice, joint masks) is counter-based: a function of
``(seed, item index)``. Evaluation uses a fixed seed, so prompts are identical in every test run;
training draws a fresh seed per batch from torch's RNG (seeded per worker by Lightning).

Example:
    >>> import tempfile, pathlib
    >>> from sic.data.bank import TaskBank
    >>> from sic.data.sources import ProceduralSource
    >>> from sic.data.tasks import get_task
    >>> src = ProceduralSource(clips_per_split={"train": 16, "val": 8, "test": 8})
    >>> cache = pathlib.Path(tempfile.mkdtemp())
    >>> train = {"pose_estimation": [src.load("train", 16, cache)]}
    >>> bank = TaskBank([get_task("pose_estimation")], train, train, num_frames=16)
    >>> batch = bank.__getitems__([0, 1, 2])
    >>> tuple(batch.inputs.shape), tuple(batch.prompt_targets.shape)
    ((3, 16, 17, 3), (3, 16, 17, 3))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from sic.data.archive import ClipArchive
from sic.data.batch import SkeletonBatch
from sic.data.skeleton import get_layout
from sic.data.tasks import ClipTask, ClipWindow, task_index
from sic.data.transforms import hash_uniform, hip_indices

__all__ = ["TaskBank"]

_PROMPT, _OFFSET, _PROMPT_OFFSET = 1, 2, 3  # hash streams


@dataclass
class _Pool:
    """The clips of one task across archives, addressed by one flat index."""

    archives: list[ClipArchive]
    starts: np.ndarray  # (A + 1,) cumulative clip counts

    @classmethod
    def of(cls, archives: list[ClipArchive]) -> _Pool:
        return cls(archives, np.concatenate([[0], np.cumsum([a.num_clips for a in archives])]).astype(np.int64))

    @property
    def size(self) -> int:
        return int(self.starts[-1])

    def locate(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        part = np.searchsorted(self.starts, flat, side="right") - 1
        return part, flat - self.starts[part]


class TaskBank(Dataset):
    """A map-style dataset of in-context samples whose ``__getitems__`` builds a whole :class:`SkeletonBatch`.

    Args:
        tasks: task transforms, in the order their items are indexed.
        archives: per task id, the archives its query clips come from.
        prompt_archives: per task id, the (training) archives its prompts come from.
        num_frames: ``F``, frames of each input and target.
        seed: seed of the draws; ``None`` draws a fresh seed per batch (training).
        shared_prompt: give every batch one prompt (``prompt_inputs`` of batch size 1), enabling the
            model's prompt cache.
    """

    def __init__(
        self,
        tasks: Sequence[ClipTask],
        archives: dict[str, list[ClipArchive]],
        prompt_archives: dict[str, list[ClipArchive]],
        num_frames: int,
        seed: int | None = 0,
        shared_prompt: bool = False,
    ) -> None:
        self.tasks = list(tasks)
        self.num_frames, self.seed, self.shared_prompt = num_frames, seed, shared_prompt
        self.queries = [_Pool.of(archives[t.id]) for t in self.tasks]
        self.prompts = [_Pool.of(prompt_archives[t.id]) for t in self.tasks]
        for t, q, p in zip(self.tasks, self.queries, self.prompts):
            if q.size == 0 or p.size == 0:
                raise ValueError(f"task {t.id!r} has no clips (queries: {q.size}, prompts: {p.size})")
        self.offsets = np.concatenate([[0], np.cumsum([q.size for q in self.queries])]).astype(np.int64)
        self.task_ids = torch.tensor([task_index(t.id) for t in self.tasks])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def task_of(self, index: np.ndarray) -> np.ndarray:
        """Position in ``self.tasks`` of each item index."""
        return np.searchsorted(self.offsets, index, side="right") - 1

    def task_sizes(self) -> list[int]:
        """Number of items of each task."""
        return np.diff(self.offsets).tolist()

    def __getitem__(self, index: int) -> SkeletonBatch:
        return self.__getitems__([index])

    def __getitems__(self, indices: Sequence[int]) -> SkeletonBatch:
        """Assemble the batch of items ``indices`` (called by the DataLoader with a whole batch)."""
        index = np.asarray(indices, dtype=np.int64)
        if index.size == 0 or index.min() < 0 or index.max() >= len(self):
            raise IndexError(f"item indices must lie in [0, {len(self)}), got {index.min()}..{index.max()}")
        seed = self.seed if self.seed is not None else int(torch.randint(0, 2**62, ()).item())
        f, n = self.num_frames, len(index)
        out = {k: None for k in ("inputs", "targets", "mask", "p_in", "p_tgt")}
        meta = {"fps": np.zeros(n, np.float32), "clip": np.zeros(n, np.int64), "label": np.full(n, -1, np.int64),
                "subject": np.full(n, -1, np.int64), "ratio": np.zeros(n, np.float32)}  # fmt: skip
        task_pos = self.task_of(index)
        for tp in np.unique(task_pos):
            rows = np.nonzero(task_pos == tp)[0]
            self._fill(int(tp), index[rows], rows, seed, n, out, meta)
        shared = self.shared_prompt and n > 1
        return SkeletonBatch(
            inputs=torch.from_numpy(out["inputs"]),
            targets=torch.from_numpy(out["targets"]),
            task=self.task_ids[torch.from_numpy(task_pos)],
            prompt_inputs=torch.from_numpy(out["p_in"][:1] if shared else out["p_in"]),
            prompt_targets=torch.from_numpy(out["p_tgt"][:1] if shared else out["p_tgt"]),
            mask=torch.from_numpy(out["mask"]),
            meta={"index": torch.from_numpy(index), **{k: torch.from_numpy(v) for k, v in meta.items()}},
        )

    def _fill(self, tp: int, keys: np.ndarray, rows: np.ndarray, seed: int, n: int, out: dict, meta: dict) -> None:
        """Compute queries and prompts of task ``tp`` for items ``keys`` into ``out[.][rows]``."""
        task, f = self.tasks[tp], self.num_frames
        params = task.draw(seed, keys, f, get_layout(self.queries[tp].archives[0].layout).num_joints)
        part, clip = self.queries[tp].locate(keys - self.offsets[tp])
        q = self._apply(task, self.queries[tp], part, clip, hash_uniform(seed, keys, stream=_OFFSET), params, out, rows, n)
        meta["fps"][rows] = q["fps"]
        meta["clip"][rows] = clip
        meta["label"][rows], meta["subject"][rows] = q["label"], q["subject"]
        if "ratio" in params:
            meta["ratio"][rows] = params["ratio"]
        # Prompts: same task, training split, chosen per item (or once per batch) from the key.
        prompt_keys = keys[:1].repeat(len(keys)) if self.shared_prompt else keys
        pool = self.prompts[tp]
        flat = (hash_uniform(seed, prompt_keys, stream=_PROMPT) * pool.size).astype(np.int64)
        ppart, pclip = pool.locate(flat)
        pstart = hash_uniform(seed, prompt_keys, stream=_PROMPT_OFFSET)
        self._apply(task, pool, ppart, pclip, pstart, params, out, rows, n, prefix="p_")

    def _apply(self, task, pool, part, clip, start_u, params, out, rows, n, prefix=""):
        """Gather windows from each archive of ``pool`` and run ``task`` on them."""
        f = self.num_frames
        length = task.window(f)
        extra = {"fps": np.zeros(len(rows), np.float32), "label": np.full(len(rows), -1), "subject": np.full(len(rows), -1)}
        for a in np.unique(part):
            sel = np.nonzero(part == a)[0]
            archive = pool.archives[a]
            starts = (start_u[sel] * (archive.num_frames - length + 1)).astype(np.int64)
            win = archive.windows(clip[sel], starts, length)
            clips = ClipWindow(win["poses3d"], hip_indices(get_layout(archive.layout)), win.get("poses2d"),
                               win.get("cam_R"), win.get("cam_t"), win.get("cam_size"))  # fmt: skip
            sub = {k: v[sel] for k, v in params.items()}
            x, y, m = task.apply(clips, f, sub)
            for key, value in ((prefix + "in" if prefix else "inputs", x), (prefix + "tgt" if prefix else "targets", y)):
                if out[key] is None:
                    out[key] = np.zeros((n, *value.shape[1:]), np.float32)
                out[key][rows[sel]] = value
            if not prefix:
                if out["mask"] is None:
                    out["mask"] = np.zeros((n, *m.shape[1:]), bool)
                out["mask"][rows[sel]] = m
            extra["fps"][sel] = archive.fps
            if archive.labels is not None:
                extra["label"][sel] = archive.labels[clip[sel]]
            if archive.subjects is not None:
                extra["subject"][sel] = archive.subjects[clip[sel]]
        return extra
