"""Custom prompts from ``.npy`` files: run a trained in-context model on a task it was never given a name for.

An in-context model is told its task by a prompt pair. :class:`NpyPromptDataModule` reads that pair and the
queries from ``.npy`` files, so ``sic predict`` solves user-defined tasks (motion in-between, a new joint
completion pattern, a retargeting, ...) without code:

    sic predict -c configs/experiments/sic-quickstart.yaml -c configs/predict/npy-prompt.yaml \\
      --data.init_args.prompt_input p_in.npy --data.init_args.prompt_target p_tgt.npy \\
      --data.init_args.query_input q_in.npy --ckpt_path runs/sic-quickstart/checkpoints/last.ckpt

Arrays are ``(F, J, C)`` (one sequence) or ``(N, F, J, C)``, ``C`` 3 (metres, y up, root-relative like the
training data) or 2 (given a zero depth, as the bank gives 2D inputs). One prompt pair serves every query, or
there is one pair per query. A hidden joint is one whose coordinates are all zero (the bank's convention), which
fills ``mask``. :class:`~sic.callbacks.PredictionWriter` writes the predictions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from lightning import LightningDataModule
from torch.utils.data import DataLoader, Dataset

from sic.data.batch import SkeletonBatch
from sic.data.skeleton import get_layout
from sic.data.tasks import TASK_IDS, task_index
from sic.utils.errors import ConfigError, DataError

__all__ = ["NpyPromptDataModule", "load_sequences"]


def load_sequences(path: str | Path, key: str, num_joints: int) -> np.ndarray:
    """Read ``path`` (``.npy``) as float32 ``(N, F, J, 3)``; ``key`` names the config key in errors."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{key}: file '{path}' does not exist")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise DataError(f"{key}: '{path}' is not a readable .npy array ({' '.join(str(e).split())[:160]})") from None
    if not isinstance(array, np.ndarray) or not np.issubdtype(array.dtype, np.number):
        raise DataError(f"{key}: '{path}' must hold a numeric array, got {getattr(array, 'dtype', type(array))}")
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[-1] not in (2, 3) or min(array.shape) < 1:
        raise DataError(f"{key}: '{path}' has shape {tuple(array.shape)}; expected (frames, joints, 2 or 3) or "
                        f"(sequences, frames, joints, 2 or 3)")  # fmt: skip
    if array.shape[2] != num_joints:
        raise DataError(f"{key}: '{path}' has {array.shape[2]} joints per frame; the layout has {num_joints}")
    bad = ~np.isfinite(array)
    if bad.any():
        n, f, j, _ = np.argwhere(bad)[0]
        raise DataError(f"{key}: '{path}' has {int(bad.sum())} NaN/inf values (first at sequence {n}, frame {f}, "
                        f"joint {j})")  # fmt: skip
    array = array.astype(np.float32, copy=False)
    if array.shape[-1] == 2:
        array = np.concatenate([array, np.zeros_like(array[..., :1])], axis=-1)
    return array


def _whole(batch: SkeletonBatch) -> SkeletonBatch:
    return batch


class _Slices(Dataset):
    """Batches sliced from one :class:`SkeletonBatch` (the loader's sampler yields index lists)."""

    def __init__(self, batch: SkeletonBatch) -> None:
        self.batch = batch

    def __len__(self) -> int:
        return self.batch.batch_size

    def __getitems__(self, indices: list[int]) -> SkeletonBatch:
        return self.batch.select(torch.as_tensor(indices))


class NpyPromptDataModule(LightningDataModule):
    """Prompt pairs and queries from ``.npy`` files, for ``sic predict`` (and ``sic test`` with targets).

    Args:
        prompt_input: prompt input sequences (``.npy``).
        prompt_target: prompt target sequences, the same shape as ``prompt_input``.
        query_input: query input sequences; ``N`` of them share one prompt pair, or pair up with ``N`` prompts.
        query_target: optional query targets, for ``sic test`` (MPJPE of the custom task).
        task: the task id the batch carries (only per-task heads and per-task static TUPs read it; an unseen
            task is best described as ``motion_inbetween``, the one id no model trains on).
        layout: joint layout of the arrays (joint count and bones for animations).
        fps: frame rate of the sequences (metrics and animations).
        batch_size: queries per batch.
    """

    def __init__(
        self,
        prompt_input: str,
        prompt_target: str,
        query_input: str,
        query_target: str | None = None,
        task: str = "motion_inbetween",
        layout: str = "h36m17",
        fps: float = 50.0,
        batch_size: int = 64,
    ) -> None:
        super().__init__()
        task_index(task)
        try:
            self.layout = get_layout(layout)
        except KeyError as e:
            raise ConfigError(f"data.layout: {e.args[0]}") from None
        if batch_size < 1 or fps <= 0:
            raise ConfigError(f"data.batch_size and data.fps must be positive, got {batch_size} and {fps}")
        self.paths = {"prompt_input": prompt_input, "prompt_target": prompt_target, "query_input": query_input,
                      "query_target": query_target}  # fmt: skip
        self.task, self.fps, self.batch_size = task, float(fps), batch_size
        self.tasks, self.train_tasks, self.transforms, self.prompt_candidates = [task], [], {}, 1
        self._batch: SkeletonBatch | None = None

    @property
    def batch(self) -> SkeletonBatch:
        """All queries with their prompts, read from the files on first use."""
        if self._batch is None:
            self._batch = self._read()
        return self._batch

    def setup(self, stage: str | None = None) -> None:
        """Read and check the files (errors name the config key and the file)."""
        del stage  # unused
        self.batch  # noqa: B018

    def _read(self) -> SkeletonBatch:
        j = self.layout.num_joints
        arrays = {k: load_sequences(p, f"data.{k}", j) for k, p in self.paths.items() if p is not None}
        pin, ptgt, qin = arrays["prompt_input"], arrays["prompt_target"], arrays["query_input"]
        if pin.shape != ptgt.shape:
            raise DataError(f"data.prompt_input {pin.shape[:3]} and data.prompt_target {ptgt.shape[:3]} must have the "
                            "same (sequences, frames, joints)")  # fmt: skip
        if pin.shape[1] != qin.shape[1]:
            raise DataError(f"data.query_input has {qin.shape[1]} frames but the prompt has {pin.shape[1]}: in-context "
                            "models pair prompt and query frame by frame")  # fmt: skip
        if len(pin) not in (1, len(qin)):
            raise DataError(f"data.prompt_input holds {len(pin)} prompt pairs for {len(qin)} queries; "
                            f"give 1 or {len(qin)}")
        qtgt = arrays.get("query_target")
        if qtgt is not None and qtgt.shape != qin.shape:
            raise DataError(f"data.query_target {qtgt.shape[:3]} must match data.query_input {qin.shape[:3]}")
        n = len(qin)
        if len(pin) == 1:  # one pair for every query
            pin, ptgt = np.repeat(pin, n, axis=0), np.repeat(ptgt, n, axis=0)
        query = torch.from_numpy(qin)
        return SkeletonBatch(
            inputs=query,
            targets=torch.from_numpy(qtgt) if qtgt is not None else torch.zeros_like(query),
            task=torch.full((n,), task_index(self.task), dtype=torch.long),
            prompt_inputs=torch.from_numpy(pin),
            prompt_targets=torch.from_numpy(ptgt),
            mask=(query == 0).all(-1),
            meta={"index": torch.arange(n), "fps": torch.full((n,), self.fps)},
        )

    @property
    def num_frames(self) -> int:
        """Frames per sequence of the files."""
        return self.batch.inputs.shape[1]

    @property
    def num_joints(self) -> int:
        """Joints per frame of the layout."""
        return self.layout.num_joints

    @property
    def task_fps(self) -> dict[str, float]:
        """The files' frame rate, for the one task."""
        return {self.task: self.fps}

    def class_names(self, task: str) -> list[str]:
        """No action labels."""
        del task  # unused
        return []

    def mean_target_pose(self, per_task: bool = False) -> torch.Tensor:
        """Mean prompt target, a stand-in static TUP until the checkpoint's trained one is loaded."""
        mean = self.batch.prompt_targets.mean(0, keepdim=True)
        return mean.expand(len(TASK_IDS), -1, -1, -1).clone() if per_task else mean

    def eval_samples(self, split: str, task: str, count: int) -> SkeletonBatch:
        """The first ``count`` queries (for :class:`~sic.callbacks.SkeletonAnimation`)."""
        del split, task  # unused
        return self.batch.select(torch.arange(min(count, self.batch.batch_size)))

    def _loader(self) -> DataLoader:
        return DataLoader(_Slices(self.batch), batch_size=self.batch_size, shuffle=False, collate_fn=_whole)

    def predict_dataloader(self) -> DataLoader:
        """The queries, in file order."""
        return self._loader()

    def test_dataloader(self) -> DataLoader:
        """The queries with their targets (needs ``query_target``)."""
        if self.paths["query_target"] is None:
            raise ConfigError("sic test on .npy prompts needs data.query_target (the queries' true outputs)")
        return self._loader()

    def transfer_batch_to_device(self, batch: SkeletonBatch, device: torch.device, dataloader_idx: int) -> SkeletonBatch:  # noqa: E501
        """Move a :class:`SkeletonBatch`."""
        del dataloader_idx  # unused
        return batch.to(device)
