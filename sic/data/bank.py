"""The task-sampling skeleton bank: (task, clip) items with prompts, assembled batch-wise.

An item is a pair (task, clip) drawn from one split. Assembling a batch groups its items by
(task, archive), gathers all their windows with one fancy-index per group, applies the task
transform to the whole group, then draws each item's prompt -- a clip of the same task from the
*training* split -- the same way. There are no per-sample Python objects.

Randomness (window offsets, prompt choice, joint masks) is counter-based: a function of
``(seed, item index)``. Evaluation uses a fixed seed, so prompts are identical in every test run;
training keys its draws by ``(item, position in the training stream)``
(:mod:`sic.data.samplers`), so they are reproducible across ranks, worker counts and resumes.

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
        seed: seed of the draws; ``None`` draws a fresh seed per batch from torch's RNG (not
            reproducible; the datamodule instead gives training a fixed seed and ``(item, draw)`` pairs).
        shared_prompt: give every batch one prompt (``prompt_inputs`` of batch size 1), enabling the
            model's prompt cache.
        prompt_candidates: ``K`` prompts drawn per query, delivered as ``candidate_inputs`` /
            ``candidate_targets`` ``(B, K, F, J, C)`` for prompt selection and ensembles (Table 4);
            candidate 0 is always the default prompt (``prompt_inputs``), so ``K`` never changes it.
    """

    def __init__(
        self,
        tasks: Sequence[ClipTask],
        archives: dict[str, list[ClipArchive]],
        prompt_archives: dict[str, list[ClipArchive]],
        num_frames: int,
        seed: int | None = 0,
        shared_prompt: bool = False,
        prompt_candidates: int = 1,
    ) -> None:
        if prompt_candidates < 1:
            raise ValueError(f"prompt_candidates must be >= 1, got {prompt_candidates}")
        if shared_prompt and prompt_candidates > 1:
            raise ValueError("a shared prompt cannot be combined with prompt candidates (one prompt serves the batch)")
        self.prompt_candidates = prompt_candidates
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

    def __getitems__(self, indices: Sequence[int] | Sequence[tuple[int, int]]) -> SkeletonBatch:
        """Assemble the batch of items ``indices`` (called by the DataLoader with a whole batch).

        An index is an item, or an ``(item, draw)`` pair (from
        :class:`~sic.data.samplers.TrainStreamSampler`): the draw number then keys the item's random
        window offset, prompt and mask, so an item drawn again gets new ones, reproducibly.
        """
        given = np.asarray(indices, dtype=np.int64)
        index = given[:, 0] if given.ndim == 2 else given
        if index.size == 0 or index.min() < 0 or index.max() >= len(self) or (given.ndim == 2 and given[:, 1].min() < 0):
            raise IndexError(f"item indices must lie in [0, {len(self)}) (draws >= 0), got {indices}")
        keys = index + len(self) * given[:, 1] if given.ndim == 2 else index
        seed = self.seed if self.seed is not None else int(torch.randint(0, 2**62, ()).item())
        n, shared = len(index), self.shared_prompt and len(index) > 1
        out: dict[str, np.ndarray] = {}
        task_pos = self.task_of(index)
        for tp in np.unique(task_pos):
            rows = np.nonzero(task_pos == tp)[0]
            for key, value in self._task_items(int(tp), index[rows], keys[rows], seed, shared).items():
                if key not in out:
                    out[key] = np.zeros((n, *value.shape[1:]), value.dtype)
                out[key][rows[: len(value)]] = value
        prompt = slice(0, 1) if shared else slice(None)
        meta = {k: torch.from_numpy(out[k]) for k in ("fps", "clip", "label", "subject", "ratio")}
        candidates = {k: torch.from_numpy(out[k]) for k in ("candidate_inputs", "candidate_targets") if k in out}
        return SkeletonBatch(
            inputs=torch.from_numpy(out["inputs"]),
            targets=torch.from_numpy(out["targets"]),
            task=self.task_ids[torch.from_numpy(task_pos)],
            prompt_inputs=torch.from_numpy(out["prompt_inputs"][prompt]),
            prompt_targets=torch.from_numpy(out["prompt_targets"][prompt]),
            mask=torch.from_numpy(out["mask"]),
            meta={"index": torch.from_numpy(index), **meta},
            **candidates,
        )

    def _task_items(self, tp: int, items: np.ndarray, keys: np.ndarray, seed: int, shared: bool) -> dict[str, np.ndarray]:
        """Queries, prompts and metadata of ``items`` of task ``tp``, with random draws keyed by ``keys``.

        With ``shared``, the prompt arrays hold one row: the prompt of the first item.
        """
        task, f = self.tasks[tp], self.num_frames
        joints = get_layout(self.queries[tp].archives[0].layout).num_joints
        params = task.draw(seed, keys, f, joints)
        if shared:  # one prompt demonstrates one task instance: every query takes the first item's draws
            params = {k: np.repeat(v[:1], len(keys), axis=0) for k, v in params.items()}
        part, clip = self.queries[tp].locate(items - self.offsets[tp])
        query = self._assemble(task, self.queries[tp], part, clip, hash_uniform(seed, keys, stream=_OFFSET), params)
        # Prompts: same task, training split, chosen from the item's key; a prompt reuses its
        # query's draws (e.g. the masked joints), so it demonstrates exactly the query's task.
        ratio = params.get("ratio", np.zeros(len(keys), np.float32))
        if shared:
            keys, params = keys[:1], {k: v[:1] for k, v in params.items()}
        prompt = self._prompts(task, tp, keys, seed, params)
        return {
            "inputs": query["inputs"], "targets": query["targets"], "mask": query["mask"],
            "prompt_inputs": prompt["inputs"], "prompt_targets": prompt["targets"],
            "fps": query["fps"], "label": query["label"], "subject": query["subject"], "clip": clip, "ratio": ratio,
            **{k: v for k, v in prompt.items() if k.startswith("candidate")},
        }  # fmt: skip

    def _prompts(self, task: ClipTask, tp: int, keys: np.ndarray, seed: int, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The prompts of queries ``keys`` of task ``tp``: ``inputs``/``targets`` ``(N, F, J, C)``, plus the
        ``(N, K, F, J, C)`` candidates when ``K = prompt_candidates > 1`` (candidate 0 is the prompt)."""
        pool, k, n = self.prompts[tp], self.prompt_candidates, len(keys)
        pick = [hash_uniform(seed, keys, stream=_PROMPT if c == 0 else 100 + 2 * c) for c in range(k)]
        start = [hash_uniform(seed, keys, stream=_PROMPT_OFFSET if c == 0 else 101 + 2 * c) for c in range(k)]
        part, clip = pool.locate((np.stack(pick, 1).reshape(-1) * pool.size).astype(np.int64))
        tiled = {name: np.repeat(v, k, axis=0) for name, v in params.items()}  # every candidate shows the query's draws
        out = self._assemble(task, pool, part, clip, np.stack(start, 1).reshape(-1), tiled)
        x, y = out["inputs"].reshape(n, k, *out["inputs"].shape[1:]), out["targets"].reshape(n, k, *out["targets"].shape[1:])
        prompt = {"inputs": x[:, 0], "targets": y[:, 0]}
        if k > 1:
            prompt.update(candidate_inputs=x, candidate_targets=y)
        return prompt

    def _assemble(self, task: ClipTask, pool: _Pool, part: np.ndarray, clip: np.ndarray, start_u: np.ndarray,
                  params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:  # fmt: skip
        """Cut windows of clips ``(part, clip)`` of ``pool`` (offsets from uniforms ``start_u``) and run ``task``."""
        f, n = self.num_frames, len(part)
        length = task.window(f)
        out: dict[str, np.ndarray] = {
            "fps": np.zeros(n, np.float32), "label": np.full(n, -1, np.int64), "subject": np.full(n, -1, np.int64),
        }  # fmt: skip
        for a in np.unique(part):
            sel = np.nonzero(part == a)[0]
            archive = pool.archives[a]
            starts = (start_u[sel] * (archive.num_frames - length + 1)).astype(np.int64)
            win = archive.windows(clip[sel], starts, length)
            clips = ClipWindow(win["poses3d"], hip_indices(get_layout(archive.layout)), win.get("poses2d"),
                               win.get("cam_R"), win.get("cam_t"), win.get("cam_size"))  # fmt: skip
            x, y, m = task.apply(clips, f, {k: v[sel] for k, v in params.items()})
            for key, value in (("inputs", x), ("targets", y), ("mask", m)):
                if key not in out:
                    out[key] = np.empty((n, *value.shape[1:]), value.dtype)
                out[key][sel] = value
            out["fps"][sel] = archive.fps
            if archive.labels is not None:
                out["label"][sel] = archive.labels[clip[sel]]
            if archive.subjects is not None:
                out["subject"][sel] = archive.subjects[clip[sel]]
        return out
