"""``InContextDataModule``: any subset of in-context tasks over any set of clip sources.

Training draws items from all trained tasks in one shuffled stream whose task mix is configurable;
validation and test give one loader per task (so metrics stay per task and a shared prompt per
batch is possible). Every loader yields :class:`~sic.data.batch.SkeletonBatch`. Under DDP each
rank gets its share of the same streams (:mod:`sic.data.samplers`), so metrics summed over ranks
equal the single-process ones and a resumed run sees the batches it had not yet trained on.

Example:
    >>> from sic.data import InContextDataModule
    >>> from sic.data.sources import ProceduralSource
    >>> dm = InContextDataModule(tasks=["pose_estimation"], batch_size=4,
    ...     sources=[ProceduralSource(clips_per_split={"train": 16, "val": 8, "test": 8})])
    >>> dm.setup("fit")
    >>> next(iter(dm.train_dataloader())).inputs.shape
    torch.Size([4, 16, 17, 3])
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from sic.data.archive import ClipArchive
from sic.data.bank import TaskBank
from sic.data.batch import SkeletonBatch
from sic.data.samplers import EvalShardSampler, ResumableDataLoader, TrainStreamSampler
from sic.data.skeleton import get_layout
from sic.data.sources import ClipSource, ProceduralSource
from sic.data.sources.base import default_cache_dir
from sic.data.tasks import TASK_IDS, get_task, task_index
from sic.utils.errors import ConfigError

__all__ = ["InContextDataModule"]


def _first(batch: SkeletonBatch) -> SkeletonBatch:
    """Collate function: the bank already returns a whole batch."""
    return batch


def default_sources() -> list[ClipSource]:
    """The embedded default: procedural clips at 50 fps, and at 25 fps for motion prediction.

    The rates follow the benchmark's datasets (H3.6M at 50 fps; AMASS motion prediction at 25 fps),
    so horizons such as 400 ms fall inside a 16-frame target.
    """
    return [
        ProceduralSource(name="procedural50", fps=50.0, tasks=[t for t in TASK_IDS if t != "motion_prediction"]),
        ProceduralSource(name="procedural25", fps=25.0, tasks=["motion_prediction"]),
    ]


class InContextDataModule(L.LightningDataModule):
    """Serve in-context samples of several tasks from several clip sources.

    Args:
        tasks: task ids to train and evaluate (see :data:`sic.data.tasks.TASK_IDS`).
        held_out: tasks evaluated but never trained on (the paper's unseen task, motion in-between).
        sources: clip sources (default: the embedded procedural source, see :func:`default_sources`).
        num_frames: ``F``, frames of each input and each target.
        batch_size: training batch size (per device).
        eval_batch_size: validation/test batch size (default: ``batch_size``).
        num_workers: DataLoader worker processes.
        mixing: task mix of training: ``"proportional"`` to the tasks' clip counts, ``"balanced"``
            (equal), or explicit weights per task id.
        epoch_size: training items per epoch (default: all items once).
        eval_prompts: ``"per_sample"`` (a seeded prompt per test sample) or ``"shared"`` (one prompt
            per batch, the model then encodes it once).
        prompt_candidates: prompts drawn per validation/test query (``K``); with ``K > 1`` the batches carry
            all of them and the task's ``prompt_selection`` / ``prompt_ensemble`` choose (paper Table 4).
            Candidate 0 is the default prompt, so evaluation with random selection is unchanged.
        train_prompt_candidates: the same for training batches (selection during training).
        joint_completion_ratios: masking ratios of joint completion.
        joint_completion_per_frame: new masked joints every frame (paper) or one set per clip (reference).
        cache_dir: where generated archives are cached (default ``$SIC_CACHE`` or ``~/.cache/sic``).
        seed: seed of the evaluation draws (prompts, masks).
        predict_task: ``sic predict`` on this task's test bank only (default: every task).
        predict_items: ``sic predict`` on these test-bank items (clip ids, in this order) of ``predict_task``.
        pin_memory: pin batches for faster host-to-GPU copies.
    """

    # Evaluation batches are dealt whole to ranks, so a small split may leave a rank without any.
    allow_zero_length_dataloader_with_multiple_devices = True

    def __init__(
        self,
        tasks: list[str] = list(TASK_IDS),
        held_out: list[str] = ["motion_inbetween"],
        sources: list[ClipSource] | None = None,
        num_frames: int = 16,
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        mixing: Literal["proportional", "balanced"] | dict[str, float] = "proportional",
        epoch_size: int | None = None,
        eval_prompts: Literal["per_sample", "shared"] = "per_sample",
        prompt_candidates: int = 1,
        train_prompt_candidates: int = 1,
        joint_completion_ratios: list[float] = [0.4, 0.6],
        joint_completion_per_frame: bool = True,
        cache_dir: str | None = None,
        seed: int = 0,
        pin_memory: bool = False,
        predict_task: str | None = None,
        predict_items: list[int] | None = None,
    ) -> None:
        super().__init__()
        if not tasks:
            raise ConfigError("data.tasks must list at least one task id")
        for t in [*tasks, *held_out]:
            task_index(t)
        if num_frames < 1 or batch_size < 1:
            raise ConfigError(f"data.num_frames and data.batch_size must be >= 1, got {num_frames} and {batch_size}")
        if min(prompt_candidates, train_prompt_candidates) < 1:
            raise ConfigError(f"data.prompt_candidates and data.train_prompt_candidates must be >= 1, "
                              f"got {prompt_candidates} and {train_prompt_candidates}")  # fmt: skip
        if eval_prompts == "shared" and prompt_candidates > 1:
            raise ConfigError("data.eval_prompts='shared' gives one prompt per batch: it cannot be combined with "
                              f"data.prompt_candidates={prompt_candidates}")  # fmt: skip
        self.prompt_candidates, self.train_prompt_candidates = prompt_candidates, train_prompt_candidates
        if predict_task is not None and predict_task not in tasks:
            raise ConfigError(f"data.predict_task {predict_task!r} is not one of data.tasks {list(tasks)}")
        if predict_items is not None and predict_task is None:
            raise ConfigError("data.predict_items needs data.predict_task (the task whose test clips they number)")
        self.predict_task, self.predict_items = predict_task, predict_items
        self.tasks = list(dict.fromkeys(tasks))
        self.train_tasks = [t for t in self.tasks if t not in held_out]
        if isinstance(mixing, dict):
            unknown = set(mixing) - set(self.train_tasks)
            if unknown:
                raise ConfigError(f"data.mixing names task(s) {sorted(unknown)} that are not trained; trained: {self.train_tasks}")
        self.sources = default_sources() if sources is None else list(sources)
        self.num_frames, self.batch_size = num_frames, batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers, self.mixing, self.epoch_size = num_workers, mixing, epoch_size
        self.eval_prompts, self.seed, self.pin_memory = eval_prompts, seed, pin_memory
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        jc = {"ratios": tuple(joint_completion_ratios), "per_frame": joint_completion_per_frame}
        self.transforms = {t: get_task(t, **jc) if t == "joint_completion" else get_task(t) for t in self.tasks}
        self.task_sources = {t: [s for s in self.sources if s.serves(t)] for t in self.tasks}
        for t, srcs in self.task_sources.items():
            if not srcs:
                raise ConfigError(f"no data source serves task {t!r}; sources: {self.sources}")
            if len({s.fps for s in srcs}) > 1:
                raise ConfigError(f"sources of task {t!r} have different frame rates {[s.fps for s in srcs]}: horizons would be ambiguous")
        layouts = {s.layout for s in self.sources}
        if len(layouts) > 1:
            raise ConfigError(f"all sources must share one joint layout, got {sorted(layouts)}")
        self.layout = get_layout(layouts.pop())
        self._archives: dict[str, dict[str, list[ClipArchive]]] = {}
        self.banks: dict[str, TaskBank] = {}

    # -- properties read by the Lightning task -------------------------------------------------
    @property
    def num_joints(self) -> int:
        """Joints per frame of the data's layout."""
        return self.layout.num_joints

    @property
    def task_fps(self) -> dict[str, float]:
        """Frame rate of each task's clips (metrics label horizons from it)."""
        return {t: srcs[0].fps for t, srcs in self.task_sources.items()}

    def class_names(self, task: str) -> list[str]:
        """Names of the integer labels of ``task``'s clips (empty if its sources disagree or have none)."""
        names = {tuple(s.class_names) for s in self.task_sources[task]}
        return list(names.pop()) if len(names) == 1 else []

    # -- setup ----------------------------------------------------------------------------------
    def _split(self, split: str) -> dict[str, list[ClipArchive]]:
        if split not in self._archives:
            cache: dict[int, ClipArchive] = {}
            per_task = {}
            for t in self.tasks:
                per_task[t] = []
                for s in self.task_sources[t]:
                    # Load each source once, at the longest window any of its tasks needs.
                    if id(s) not in cache:
                        longest = max(self.transforms[u].window(self.num_frames) for u in self.tasks if s in self.task_sources[u])
                        cache[id(s)] = s.load(split, longest, self.cache_dir)
                    per_task[t].append(cache[id(s)])
            self._archives[split] = per_task
        return self._archives[split]

    def _bank(self, split: str, tasks: list[str], seed: int | None, shared: bool = False) -> TaskBank:
        candidates = self.train_prompt_candidates if split == "train" else self.prompt_candidates
        return TaskBank([self.transforms[t] for t in tasks], self._split(split), self._split("train"),
                        self.num_frames, seed=seed, shared_prompt=shared, prompt_candidates=candidates)  # fmt: skip

    def setup(self, stage: str | None = None) -> None:
        """Open (or generate) the archives of the splits ``stage`` needs."""
        shared = self.eval_prompts == "shared"
        if stage in ("fit", None) and self.train_tasks:
            self.banks["train"] = self._bank("train", self.train_tasks, seed=self._train_seed())
        if stage in ("fit", "validate", None):
            self.banks.update({f"val/{t}": self._bank("val", [t], self.seed, shared) for t in self.tasks})
        if stage in ("test", "predict", None):
            self.banks.update({f"test/{t}": self._bank("test", [t], self.seed, shared) for t in self.tasks})

    # -- loaders --------------------------------------------------------------------------------
    def _ranks(self) -> tuple[int, int]:
        """``(world size, rank)`` of the attached trainer (1, 0 without one)."""
        trainer = self.trainer
        return (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)

    def _train_seed(self) -> int:
        # The run's seed (seed_everything) and the data seed both change the training stream.
        return self.seed * 7919 + int(os.environ.get("PL_GLOBAL_SEED", 0))

    def _loader(self, bank: TaskBank, batch_size: int, sampler: torch.utils.data.Sampler,
                cls: type[DataLoader] = DataLoader) -> DataLoader:  # fmt: skip
        return cls(bank, batch_size=batch_size, sampler=sampler, shuffle=False, collate_fn=_first,
                   num_workers=self.num_workers, pin_memory=self.pin_memory,
                   persistent_workers=self.num_workers > 0, drop_last=False)  # fmt: skip

    def _train_sampler(self, bank: TaskBank) -> TrainStreamSampler:
        world, rank = self._ranks()
        sizes = np.asarray(bank.task_sizes(), dtype=np.float64)
        weights = None
        if self.mixing != "proportional":
            mix = np.ones(len(sizes)) if self.mixing == "balanced" else np.array([self.mixing.get(t.id, 0.0) for t in bank.tasks])
            if (mix < 0).any() or mix.sum() <= 0:
                raise ConfigError(f"data.mixing weights must be >= 0 with a positive sum, got {self.mixing}")
            weights = np.repeat(mix / mix.sum() / sizes, bank.task_sizes())
        return TrainStreamSampler(len(bank), self.epoch_size, weights, self._train_seed(), world, rank)

    def train_dataloader(self) -> DataLoader:
        """Mixed-task training loader: one stream per epoch shared by all ranks, resumable mid-epoch."""
        if "train" not in self.banks:
            raise ConfigError(f"nothing to train: every task in {self.tasks} is held out")
        bank = self.banks["train"]
        return self._loader(bank, self.batch_size, self._train_sampler(bank), ResumableDataLoader)

    def _eval_loaders(self, split: str, tasks: list[str] | None = None) -> list[DataLoader]:
        world, rank = self._ranks()
        return [self._loader(bank, self.eval_batch_size, EvalShardSampler(len(bank), self.eval_batch_size, world, rank))
                for bank in (self.banks[f"{split}/{t}"] for t in tasks or self.tasks)]  # fmt: skip

    def val_dataloader(self) -> list[DataLoader]:
        """One validation loader per task, in ``self.tasks`` order."""
        return self._eval_loaders("val")

    def test_dataloader(self) -> list[DataLoader]:
        """One test loader per task, in ``self.tasks`` order."""
        return self._eval_loaders("test")

    def predict_dataloader(self) -> list[DataLoader]:
        """The test loaders of every task, or of ``predict_task`` (only its ``predict_items``)."""
        if self.predict_task is None:
            return self._eval_loaders("test")
        bank = self.banks[f"test/{self.predict_task}"]
        if self.predict_items is None:
            return self._eval_loaders("test", [self.predict_task])
        bad = [i for i in self.predict_items if not 0 <= i < len(bank)]
        if bad:
            raise ConfigError(f"data.predict_items {bad} are outside the {len(bank)} test items of {self.predict_task!r}")
        return [self._loader(bank, self.eval_batch_size, list(self.predict_items))]

    def transfer_batch_to_device(self, batch: SkeletonBatch, device: torch.device, dataloader_idx: int) -> SkeletonBatch:
        """Move a :class:`SkeletonBatch` (Lightning does not know the dataclass's ``to``)."""
        del dataloader_idx  # unused
        return batch.to(device, non_blocking=True)

    def eval_samples(self, split: str, task: str, count: int) -> SkeletonBatch:
        """``count`` fixed samples of ``task``'s ``split`` bank, spread evenly over it (for visualisation)."""
        key = f"{split}/{task}"
        if key not in self.banks:
            self.setup("fit" if split == "val" else "test")
        bank = self.banks[key]
        return bank.__getitems__(np.unique(np.linspace(0, len(bank) - 1, max(count, 1)).astype(np.int64)))

    # -- statistics -----------------------------------------------------------------------------
    def mean_target_pose(self, per_task: bool = False, max_items: int = 4096) -> torch.Tensor:
        """Mean training target (static TUP, paper Eq. 2): ``(1, F, J, 3)``, or ``(len(TASK_IDS), F, J, 3)`` per task.

        Computed in the training convention (root-relative, y up) from up to ``max_items`` items per task.
        """
        if "train" not in self.banks:
            self.setup("fit")
        bank = self.banks["train"]
        table = torch.zeros(len(TASK_IDS), self.num_frames, self.num_joints, 3)
        counts = torch.zeros(len(TASK_IDS))
        for pos, size in enumerate(bank.task_sizes()):
            start = int(bank.offsets[pos])
            items = np.linspace(start, start + size - 1, min(size, max_items)).astype(np.int64)
            targets = bank.__getitems__(items).targets
            k = task_index(bank.tasks[pos].id)
            table[k], counts[k] = targets.mean(0), len(items)
        overall = (table * counts[:, None, None, None]).sum(0, keepdim=True) / counts.sum()
        if not per_task:
            return overall
        return torch.where(counts[:, None, None, None] > 0, table, overall)  # untrained tasks: the overall mean
