"""``RetrievalTask``: trains pose–text (or pose-pair–text) retrieval with the batch-based classification loss.

The network (:class:`sic.models.PoseTextRetrieval`) embeds poses ``(B, P, J, 3)`` and their
captions; the loss (:class:`sic.losses.BBCLoss`, learnable scale initialised to 10, symmetric by
default) makes each text pick out its own pose among the batch. Negatives are the other items of
the per-device batch, as in the reference; ``gather_negatives=True`` gathers embeddings across
ranks (with gradients) so every rank sees the global batch.

Evaluation embeds the whole split and reports R@1/5/10 text→pose and pose→text and their mean
``mrecall`` (fractions), averaged over the ``K`` captions of each pose; the checkpoint monitor is
``val/retrieval/mrecall``. Model selection never reads the test split (the reference validated on
test).

Example:
    >>> from sic.models import GRUTextEncoder, PoseRetrievalEncoder, PoseTextRetrieval
    >>> from sic.text import TinyTextEncoder
    >>> net = PoseTextRetrieval(PoseRetrievalEncoder(hidden=32, dim=16), GRUTextEncoder(TinyTextEncoder(), hidden=16, dim=16))
    >>> RetrievalTask(net).monitor
    'val/retrieval/mrecall'
"""

from __future__ import annotations

import lightning as L
import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn
from torchmetrics import MeanMetric

from sic.data.batch import SkeletonBatch
from sic.losses import BBCLoss
from sic.metrics import RetrievalRecall
from sic.tasks.optim import configure
from sic.tasks.report import MetricsReport
from sic.utils.checkpoint import load_weights
from sic.utils.errors import ConfigError

__all__ = ["RetrievalTask"]


class RetrievalTask(MetricsReport, L.LightningModule):
    """Train and evaluate a pose–text retrieval network.

    Args:
        net: the retrieval network (``encode_poses``, ``encode_texts``).
        loss: the contrastive loss (default :class:`~sic.losses.BBCLoss`: scale 10, learnable, symmetric).
        optimizer: optimiser factory (default Adam; the reference: lr 2e-4).
        scheduler: LR scheduler factory (the reference: MultiStepLR at epochs 80 and 110, gamma 0.1).
        scheduler_interval: ``"epoch"`` or ``"step"``.
        warmup_steps: linear learning-rate warm-up over this many optimiser steps (0: none).
        init_weights: a checkpoint of this task to start from (fine-tuning; ``--ckpt_path`` resumes instead).
        scale_lr: learning rate of the loss's scale in its own parameter group (PoseScript); ``None``
            keeps it in the main group (UniPose).
        gather_negatives: use the other ranks' batches as negatives too.
        ks: recall cut-offs.
    """

    monitor = "val/retrieval/mrecall"
    mode = "max"
    report_units = "recall as fractions"

    def __init__(
        self,
        net: nn.Module,
        loss: nn.Module | None = None,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        scheduler_interval: str = "epoch",
        warmup_steps: int = 0,
        init_weights: str | None = None,
        scale_lr: float | None = None,
        gather_negatives: bool = False,
        ks: tuple[int, ...] = (1, 5, 10),
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net", "loss", "optimizer", "scheduler"])
        self.net, self.loss = net, loss if loss is not None else BBCLoss()
        self.optimizer, self.scheduler, self.scheduler_interval = optimizer, scheduler, scheduler_interval
        self.warmup_steps = warmup_steps
        self.scale_lr, self.gather_negatives = scale_lr, gather_negatives
        self.metrics = nn.ModuleDict({s: RetrievalRecall(ks) for s in ("val", "test")})
        self.eval_loss = nn.ModuleDict({s: MeanMetric() for s in ("val", "test")})
        if init_weights is not None:
            load_weights(self, init_weights)

    def setup(self, stage: str) -> None:
        """Check that the data's joints and poses per sample fit the network."""
        dm = self.trainer.datamodule if self._trainer is not None else None
        if dm is None:
            return
        if not hasattr(dm, "poses_per_sample"):
            raise ConfigError(f"RetrievalTask needs captioned poses: use sic.data.PoseDataModule, not {type(dm).__name__}")
        for name, want in (("num_joints", dm.num_joints), ("num_poses", dm.poses_per_sample)):
            have = getattr(self.net, name, want)
            if have != want:
                raise ConfigError(f"model net {name}={have} but the data give {want} (data.pairs={dm.pairs})")
        if not dm.captions:
            raise ConfigError("RetrievalTask needs captions: set data.init_args.captions to at least 1")

    def forward(self, batch: SkeletonBatch) -> tuple[Tensor, Tensor]:
        """Pose embeddings ``(B, D)`` and text embeddings ``(K * B, D)`` of the batch."""
        if batch.texts is None:
            raise ConfigError("the batch has no captions: RetrievalTask needs PoseDataModule(captions >= 1)")
        return self.net(batch.inputs, batch.texts)

    def _gathered(self, x: Tensor) -> Tensor:
        if not self.gather_negatives or self.trainer.world_size == 1:
            return x
        return self.all_gather(x, sync_grads=True).flatten(0, 1)

    def training_step(self, batch: SkeletonBatch, batch_idx: int) -> Tensor:
        """Batch-based classification of each text's pose (and each pose's text)."""
        del batch_idx  # unused
        poses, texts = self(batch)
        loss = self.loss(self._gathered(texts), self._gathered(poses))
        self.log("train/loss", loss, prog_bar=True, batch_size=batch.batch_size)
        self.log("train/scale", self.loss.scale.detach(), batch_size=batch.batch_size)
        return loss

    def _eval_step(self, split: str, batch: SkeletonBatch) -> None:
        poses, texts = self(batch)
        texts = texts.reshape(batch.batch_size, -1, texts.shape[-1])  # (B, K, D)
        self.metrics[split].update(poses, texts)
        self.eval_loss[split].update(self.loss(texts[:, 0], poses).detach(), weight=batch.batch_size)

    def validation_step(self, batch: SkeletonBatch, batch_idx: int) -> None:
        """Embed validation poses and captions."""
        del batch_idx  # unused
        self._eval_step("val", batch)

    def test_step(self, batch: SkeletonBatch, batch_idx: int) -> None:
        """Embed test poses and captions."""
        del batch_idx  # unused
        self._eval_step("test", batch)

    def predict_step(self, batch: SkeletonBatch, batch_idx: int) -> dict[str, Tensor]:
        """Pose and caption embeddings."""
        del batch_idx  # unused
        poses, texts = self(batch)
        return {"pose_embedding": poses, "text_embedding": texts.reshape(batch.batch_size, -1, texts.shape[-1]),
                "index": batch.meta["index"]}  # fmt: skip

    def _epoch_metrics(self, split: str) -> dict[str, float]:
        values = {f"{split}/retrieval/{k}": v for k, v in self.metrics[split].compute().items()}
        values[f"{split}/retrieval/loss"] = self.eval_loss[split].compute()
        self.metrics[split].reset()
        self.eval_loss[split].reset()
        values = {k: v for k, v in values.items() if torch.isfinite(v)}
        self.log_dict(values)
        return {k: float(v) for k, v in values.items()}

    def on_validation_epoch_end(self) -> None:
        """Log validation recalls; ``sic validate`` also reports them."""
        values = self._epoch_metrics("val")
        if self.trainer.state.fn == "validate":
            self._report(values, "val")

    def on_test_epoch_end(self) -> None:
        """Log, print and write the test recalls."""
        self._report(self._epoch_metrics("test"), "test")

    def configure_optimizers(self):  # noqa: ANN201
        """The injected optimiser over the trainable network and loss parameters (the scale in its own group if asked)."""
        scale = [p for p in self.loss.parameters() if p.requires_grad]
        params = [p for p in self.net.parameters() if p.requires_grad]
        own_group = bool(self.scale_lr and scale)
        groups = [{"params": params + ([] if own_group else scale)}]
        if own_group:
            groups.append({"params": scale, "lr": self.scale_lr})
        return configure(self.optimizer, self.scheduler, self.scheduler_interval, self.warmup_steps, groups)
