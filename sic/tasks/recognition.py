# ruff: noqa: RUF002
"""``RecognitionTask``: supervised skeleton action recognition, e.g. pretraining Shift-GCN on the seen classes.

It trains the classifier on the datamodule's **training classes** only (a zero-shot split's seen classes, minus
the held-out validation classes): labels are the re-indexed ``label_seen`` ids, and the classifier is resized to
the number of training classes when it does not match (``reset_classifier``). The checkpoint then serves as
``backbone_checkpoint`` of :class:`~sic.tasks.ZeroShotTask`; unseen classes never reach it. With
``data.split: null`` it is plain supervised recognition over all classes.

Metrics (percent): top-1 and top-5 accuracy on validation and test rows of the training classes, and the
class-averaged top-1; key ``{split}/recognition/{metric}``.

Example:
    >>> from sic.models import ShiftGCN
    >>> RecognitionTask(ShiftGCN(num_classes=5, num_joints=17, num_persons=1, channels=(8, 16), strides=(1, 2))).topk
    (1, 5)
"""

from __future__ import annotations

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn
from torchmetrics.classification import MulticlassAccuracy

from sic.data.batch import SkeletonBatch
from sic.tasks.optim import configure
from sic.tasks.report import MetricsReport
from sic.utils.checkpoint import load_weights
from sic.utils.errors import ConfigError

__all__ = ["RecognitionTask"]


class RecognitionTask(MetricsReport, L.LightningModule):
    """Train a skeleton classifier on the training classes.

    Args:
        net: a classifier ``(B, T, M, V, 3) → output with .logits (B, C)`` and ``reset_classifier(C)``, e.g.
            :class:`~sic.models.ShiftGCN`.
        optimizer: optimiser factory (Neuron's recipe: SGD lr 0.1, momentum 0.9, Nesterov, weight decay 1e-4).
        scheduler: LR scheduler factory (Neuron's recipe: ×0.1 at epochs 60, 80 and 100 of 110).
        scheduler_interval: ``"epoch"`` or ``"step"``.
        warmup_steps: linear warm-up steps.
        label_smoothing: cross-entropy label smoothing.
        init_weights: a checkpoint of this task to start from.
    """

    report_units = "%"
    topk = (1, 5)

    def __init__(
        self,
        net: nn.Module,
        optimizer: OptimizerCallable = torch.optim.SGD,
        scheduler: LRSchedulerCallable | None = None,
        scheduler_interval: str = "epoch",
        warmup_steps: int = 0,
        label_smoothing: float = 0.0,
        init_weights: str | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"])
        self.net, self.optimizer, self.scheduler = net, optimizer, scheduler
        self.scheduler_interval, self.warmup_steps, self.label_smoothing = (
            scheduler_interval,
            warmup_steps,
            label_smoothing,
        )
        self.metrics = nn.ModuleDict()
        if init_weights is not None:
            load_weights(self, init_weights)

    def setup(self, stage: str) -> None:
        """Size the classifier to the training classes and build the accuracy metrics."""
        dm = self.trainer.datamodule
        if not hasattr(dm, "train_classes"):
            raise ConfigError(f"RecognitionTask needs sic.data.RecognitionDataModule, not {type(dm).__name__}")
        for name, want in (("num_joints", dm.num_joints), ("num_persons", dm.num_persons)):
            have = getattr(self.net, name, want)
            if have != want:
                raise ConfigError(f"model.net {name}={have} but the data give {want}")
        n = len(dm.train_classes)
        if self.net.fc.out_features != n:
            self.net.reset_classifier(n)
        self.num_persons = dm.num_persons
        if not self.metrics:
            k = min(max(self.topk), n)
            self.metrics = nn.ModuleDict({
                f"{split}_{name}": MulticlassAccuracy(n, top_k=top, average=avg)
                for split in ("val", "test")
                for name, top, avg in (("top1", 1, "micro"), (f"top{k}", k, "micro"), ("top1_class", 1, "macro"))
            })  # fmt: skip

    def forward(self, batch: SkeletonBatch) -> Tensor:
        """Logits ``(B, training classes)``."""
        b, t, mj, c = batch.inputs.shape
        return self.net(batch.inputs.reshape(b, t, self.num_persons, mj // self.num_persons, c)).logits

    def training_step(self, batch: SkeletonBatch, batch_idx: int) -> Tensor:
        """Cross-entropy over the training classes."""
        del batch_idx  # unused
        target = batch.meta["label_seen"]
        if bool((target < 0).any()):
            raise RuntimeError("a training batch holds a sample outside the training classes")
        loss = F.cross_entropy(self(batch), target, label_smoothing=self.label_smoothing)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch.batch_size)
        return loss

    def _eval_step(self, split: str, batch: SkeletonBatch) -> None:
        rows = batch.meta["label_seen"] >= 0  # pseudo-unseen / unseen rows have no class here
        if not rows.any():
            return
        logits, target = self(batch)[rows], batch.meta["label_seen"][rows]
        for name, metric in self.metrics.items():
            if name.startswith(split):
                metric.update(logits, target)

    def validation_step(self, batch: SkeletonBatch, batch_idx: int) -> None:
        """Accuracy on validation samples of the training classes."""
        del batch_idx  # unused
        self._eval_step("val", batch)

    def test_step(self, batch: SkeletonBatch, batch_idx: int) -> None:
        """Accuracy on test samples of the training classes."""
        del batch_idx  # unused
        self._eval_step("test", batch)

    def _epoch_metrics(self, split: str) -> dict[str, float]:
        values = {}
        for name, metric in self.metrics.items():
            if name.startswith(split) and metric.update_count:
                values[f"{split}/recognition/{name.split('_', 1)[1]}"] = 100 * metric.compute()
            if name.startswith(split):
                metric.reset()
        self.log_dict(values)
        return {k: float(v) for k, v in values.items()}

    def on_validation_epoch_end(self) -> None:
        """Log validation accuracy; ``sic validate`` also reports it."""
        values = self._epoch_metrics("val")
        if self.trainer.state.fn == "validate":
            self._report(values, "val")

    def on_test_epoch_end(self) -> None:
        """Log, print and write the test accuracy."""
        self._report(self._epoch_metrics("test"), "test")

    def configure_optimizers(self):
        """The injected optimiser over the network's parameters."""
        params = [p for p in self.net.parameters() if p.requires_grad]
        return configure(
            self.optimizer, self.scheduler, self.scheduler_interval, self.warmup_steps, [{"params": params}]
        )
