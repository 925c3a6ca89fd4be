"""Write ``sic predict`` outputs: one ``.npy`` per task id, optionally GIFs of the first queries.

Every in-context datamodule works: :class:`~sic.data.NpyPromptDataModule` (a user's prompt pair and
queries from ``.npy`` files) and :class:`~sic.data.InContextDataModule` (bank clips, ``predict_task`` /
``predict_items`` choosing which). The task's ``predict_step`` returns ``prediction`` ``(B, F, J, 3)``,
``task`` and ``index`` (the query's number in the file, or its bank item); the writer stores, per task id,
``<task>.npy`` ``(N, F, J, 3)`` and ``<task>_index.npy`` ``(N,)`` in ``output``, or exactly ``output``
when it names a ``.npy`` file and one task was predicted. Files are written atomically.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import BasePredictionWriter

from sic.callbacks.visual import animate_sample
from sic.data.tasks import TASK_IDS
from sic.utils.io import atomic_save_npy

__all__ = ["PredictionWriter"]


class PredictionWriter(BasePredictionWriter):
    """Save predictions as ``.npy`` (and optionally animations) at the end of ``sic predict``.

    Args:
        output: a directory (``<task>.npy`` and ``<task>_index.npy`` per task id), or a ``.npy`` path
            for a single task's predictions.
        animate: render a GIF of the first ``animate`` queries of each task (prompt input, prompt
            target, query input, prediction); needs ``pip install 'sic[viz]'``.
    """

    def __init__(self, output: str = "predictions", animate: int = 0) -> None:
        super().__init__(write_interval="epoch")
        if animate < 0:
            raise ValueError(f"animate must be >= 0, got {animate}")
        self.output, self.animate = Path(output), animate
        self.written: list[Path] = []
        self._shown: dict[int, list[tuple[Any, np.ndarray]]] = defaultdict(list)

    def on_predict_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                             batch_idx: int, dataloader_idx: int = 0) -> None:  # fmt: skip
        """Keep the first queries of each loader for the animations."""
        del pl_module, batch_idx  # unused
        have = sum(len(p) for _, p in self._shown[dataloader_idx])
        if trainer.is_global_zero and have < self.animate:
            take = min(self.animate - have, batch.batch_size)
            rows = torch.arange(take)
            pred = outputs["prediction"][:take].float().cpu().numpy()
            self._shown[dataloader_idx].append((batch.select(rows).to("cpu"), pred))

    def write_on_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, predictions: Any,
                           batch_indices: Any) -> None:  # fmt: skip
        """Concatenate each task's predictions and save them."""
        del pl_module, batch_indices  # unused
        loaders = predictions if predictions and isinstance(predictions[0], list) else [predictions]
        by_task: dict[int, list[dict[str, torch.Tensor]]] = defaultdict(list)
        for outputs in loaders:
            for out in outputs:
                for t in out["task"].unique().tolist():
                    keep = out["task"] == t
                    by_task[t].append({k: out[k][keep] for k in ("prediction", "index")})
        suffix = f".rank{trainer.global_rank}" if trainer.world_size > 1 else ""
        single = self.output.suffix == ".npy" and len(by_task) == 1
        for t, parts in by_task.items():
            pred = torch.cat([p["prediction"] for p in parts]).float().cpu().numpy()
            index = torch.cat([p["index"] for p in parts]).cpu().numpy()
            name = TASK_IDS[t]
            path = self.output.with_suffix(f"{suffix}.npy") if single else self.output / f"{name}{suffix}.npy"
            atomic_save_npy(path, pred)
            atomic_save_npy(path.with_name(path.stem + "_index.npy"), index)
            self.written += [path, path.with_name(path.stem + "_index.npy")]
        self._render(trainer)

    def _render(self, trainer: L.Trainer) -> None:
        dm = trainer.datamodule
        bones = dm.layout.bones
        folder = self.output.parent if self.output.suffix == ".npy" else self.output
        for shown in self._shown.values():
            for batch, pred in shown:
                fps = float(batch.meta["fps"][0]) if "fps" in batch.meta else 25.0
                for i in range(batch.batch_size):
                    n = int(batch.meta["index"][i])
                    name = TASK_IDS[int(batch.task[i])]
                    self.written.append(animate_sample(batch, pred, i, bones, folder / f"{name}_{n}.gif", fps))
        self._shown.clear()
