"""``PoseTokenizerTask``: trains a pose VQ-VAE (:class:`sic.models.PoseVQVAE`) on static poses.

Losses (weights in ``loss_weights``): ``joints`` (MSE of the joints), ``bones`` (MSE of the bone
vectors), ``quantizer`` (the quantizer's own term: commitment for EMA, codebook + commitment for
plain VQ). The reference's rotation and mesh-vertex terms need a body model and rotations, which
position skeletons lack, so they are not faked.

Augmentation: the data layer jitters the global orientation (``PoseDataModule(orientation_jitter=
(45, 20))``, consistent targets); this task adds **body-part noise** to the encoder input only:
about half the batch, one random part each (the layout's ``body_parts``), a scalar ``U(0, 1) *
scale`` added to that part's coordinates, ``scale`` stepping through ``noise_schedule`` every
``noise_interval`` steps (TokenHMR/UniPose). The reference adds it through chained advanced indexing,
which writes into a temporary copy, so its noise never applied; here it does (tested).

Metrics: MPJPE and PA-MPJPE in mm with the joint set in the key (``mpjpe_h36m17``; the reference's
numbers are over 52 SMPL-H joints and not comparable), codebook usage and perplexity over the
evaluation set. ``val/mpjpe`` is the checkpoint monitor.

Example:
    >>> from sic.models import PoseVQVAE
    >>> task = PoseTokenizerTask(PoseVQVAE(hidden=32, code_dim=16, codebook_size=64))
    >>> task.monitor, task.noise_scale(0), task.noise_scale(12_000)
    ('val/mpjpe', 0.01, 0.03)
"""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn
from torchmetrics import MeanMetric

from sic.data.batch import SkeletonBatch
from sic.data.skeleton import get_layout
from sic.metrics import MPJPE, PAMPJPE, CodebookUsage
from sic.models.pose_vqvae import PoseVQVAE
from sic.tasks.optim import configure
from sic.tasks.report import MetricsReport
from sic.utils.checkpoint import load_weights
from sic.utils.errors import ConfigError

__all__ = ["PoseTokenizerTask"]

_TERMS = ("joints", "bones", "quantizer")


class PoseTokenizerTask(MetricsReport, L.LightningModule):
    """Train and evaluate a pose tokenizer.

    Args:
        net: the tokenizer (its ``in_channels`` must be 3: the data are joint positions).
        optimizer: optimiser factory (default AdamW; the reference: lr 2e-4, betas (0.9, 0.99), wd 1e-5).
        scheduler: LR scheduler factory, stepped every ``scheduler_interval``.
        scheduler_interval: ``"epoch"`` or ``"step"``.
        warmup_steps: linear learning-rate warm-up over this many optimiser steps (0: none).
        init_weights: a checkpoint of this task to start from (fine-tuning; ``--ckpt_path`` resumes instead).
        loss_weights: weights of ``joints``, ``bones``, ``quantizer``.
        layout: joint layout of the data (names the metric keys, defines the body parts; default:
            the datamodule's).
        part_noise: add body-part noise to the encoder input in training.
        noise_schedule: noise scale (metres) per ``noise_interval`` steps; the last value holds after.
            The reference's values (1e-2 ... 5e-1) act on 6D rotation features; for joint positions
            these smaller metric defaults are our choice.
        noise_interval: optimiser steps per schedule entry (5000).
        noise_fraction: share of the batch that receives noise (0.5).
    """

    monitor = "val/mpjpe"
    mode = "min"

    def __init__(
        self,
        net: PoseVQVAE,
        optimizer: OptimizerCallable = torch.optim.AdamW,
        scheduler: LRSchedulerCallable | None = None,
        scheduler_interval: str = "epoch",
        warmup_steps: int = 0,
        init_weights: str | None = None,
        loss_weights: dict[str, float] | None = None,
        layout: str | None = None,
        part_noise: bool = True,
        noise_schedule: Sequence[float] = (0.01, 0.02, 0.03, 0.03, 0.05, 0.05),
        noise_interval: int = 5000,
        noise_fraction: float = 0.5,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"])
        self.net, self.optimizer, self.scheduler, self.scheduler_interval = net, optimizer, scheduler, scheduler_interval
        self.warmup_steps = warmup_steps
        weights = {"joints": 100.0, "bones": 100.0, "quantizer": 1.0, **(loss_weights or {})}
        unknown = set(weights) - set(_TERMS)
        if unknown:
            raise ConfigError(f"model.loss_weights has unknown term(s) {sorted(unknown)}; expected {', '.join(_TERMS)}")
        if not noise_schedule or noise_interval < 1 or not 0.0 <= noise_fraction <= 1.0:
            raise ConfigError("model noise_schedule must be non-empty, noise_interval >= 1, noise_fraction in [0, 1]")
        self.loss_weights, self.layout = weights, layout
        self.part_noise, self.noise_schedule = part_noise, tuple(noise_schedule)
        self.noise_interval, self.noise_fraction = noise_interval, noise_fraction
        self.metrics = nn.ModuleDict()
        if layout is not None:
            self._build(layout)
        if init_weights is not None:
            load_weights(self, init_weights)

    def _build(self, layout: str) -> None:
        lay = get_layout(layout)
        if lay.num_joints != self.net.num_joints:
            raise ConfigError(f"inconsistent joint counts: model net num_joints={self.net.num_joints} but layout {layout!r} has {lay.num_joints}")
        self.layout = layout
        self.register_buffer("parents", torch.tensor(lay.parents), persistent=False)
        parts = lay.body_parts or {"all": tuple(range(lay.num_joints))}
        masks = torch.zeros(len(parts), lay.num_joints, dtype=torch.bool)
        for i, joints in enumerate(parts.values()):
            masks[i, list(joints)] = True
        self.register_buffer("part_masks", masks, persistent=False)
        for split in ("val", "test"):
            self.metrics[split] = nn.ModuleDict({
                "loss": MeanMetric(), "mpjpe": MPJPE(), "pa_mpjpe": PAMPJPE(), "codes": CodebookUsage(self.net.codebook_size),
            })  # fmt: skip

    def setup(self, stage: str) -> None:
        """Take the layout from the datamodule (unless given) and build the metrics."""
        dm = self.trainer.datamodule if self._trainer is not None else None
        layout = getattr(dm, "layout", None)
        if dm is not None and not hasattr(dm, "poses_per_sample"):
            raise ConfigError(f"PoseTokenizerTask trains on poses: use sic.data.PoseDataModule, not {type(dm).__name__}")
        if self.layout is not None and layout is not None and layout != self.layout:
            raise ConfigError(f"model layout={self.layout!r} but the data's layout is {layout!r}")
        if "val" not in self.metrics:
            if layout is None and self.layout is None:
                raise ConfigError("PoseTokenizerTask needs a joint layout: set model.init_args.layout or use PoseDataModule")
            self._build(self.layout or layout)

    # -- augmentation ---------------------------------------------------------------------------
    def noise_scale(self, step: int) -> float:
        """Body-part noise scale at optimiser step ``step``."""
        return self.noise_schedule[min(step // self.noise_interval, len(self.noise_schedule) - 1)]

    def add_part_noise(self, poses: Tensor, step: int, generator: torch.Generator | None = None) -> Tensor:
        """A copy of ``(B, P, J, C)`` poses with ``U(0, 1) * scale`` added to one random part of about half the rows."""
        b, device = poses.shape[0], poses.device
        rows = torch.rand(b, generator=generator, device="cpu").to(device) < self.noise_fraction
        part = torch.randint(len(self.part_masks), (b,), generator=generator).to(device)
        amount = torch.rand(b, generator=generator).to(device) * self.noise_scale(step)
        mask = self.part_masks[part] & rows[:, None]  # (B, J)
        return poses + (amount[:, None] * mask)[:, None, :, None].to(poses.dtype)

    # -- steps ----------------------------------------------------------------------------------
    def forward(self, poses: Tensor):  # noqa: ANN201
        """Tokenize and reconstruct ``(..., J, 3)`` poses (a :class:`~sic.models.pose_vqvae.TokenizerOutput`)."""
        return self.net(poses)

    def _losses(self, recon: Tensor, target: Tensor, quantizer_loss: Tensor) -> dict[str, Tensor]:
        child = (self.parents >= 0).nonzero().squeeze(1)
        bones = lambda x: x[..., child, :] - x[..., self.parents[child], :]  # noqa: E731
        return {"joints": F.mse_loss(recon, target), "bones": F.mse_loss(bones(recon), bones(target)), "quantizer": quantizer_loss}

    def _total(self, terms: dict[str, Tensor]) -> Tensor:
        return sum(w * terms[k] for k, w in self.loss_weights.items() if w)

    def training_step(self, batch: SkeletonBatch, batch_idx: int) -> Tensor:
        """Reconstruct the clean poses from (part-noised) inputs."""
        del batch_idx  # unused
        inputs = self.add_part_noise(batch.inputs, self.global_step) if self.part_noise else batch.inputs
        out = self(inputs)
        terms = self._losses(out.poses, batch.targets, out.quantizer.loss)
        loss = self._total(terms)
        n = batch.batch_size
        self.log("train/loss", loss, prog_bar=True, batch_size=n)
        self.log_dict({f"train/{k}": v for k, v in terms.items()}, batch_size=n)
        self.log_dict({"train/perplexity": out.quantizer.perplexity, "train/codebook_usage": out.quantizer.usage}, batch_size=n)
        return loss

    def _eval_step(self, split: str, batch: SkeletonBatch) -> None:
        out = self(batch.inputs)
        metrics = self.metrics[split]
        with torch.autocast(batch.inputs.device.type, enabled=False):
            pred, target = out.poses.float(), batch.targets.float()
            metrics["loss"].update(self._total(self._losses(pred, target, out.quantizer.loss.float())), weight=batch.batch_size)
            metrics["mpjpe"].update(pred, target)
            metrics["pa_mpjpe"].update(pred, target)
            metrics["codes"].update(out.ids)

    def validation_step(self, batch: SkeletonBatch, batch_idx: int) -> None:
        """Accumulate validation metrics."""
        del batch_idx  # unused
        self._eval_step("val", batch)

    def test_step(self, batch: SkeletonBatch, batch_idx: int) -> None:
        """Accumulate test metrics."""
        del batch_idx  # unused
        self._eval_step("test", batch)

    def predict_step(self, batch: SkeletonBatch, batch_idx: int) -> dict[str, Tensor]:
        """Token ids and reconstructions of the batch's poses."""
        del batch_idx  # unused
        out = self(batch.inputs)
        return {"tokens": out.ids, "reconstruction": out.poses, "index": batch.meta["index"]}

    def _epoch_metrics(self, split: str) -> dict[str, float]:
        m = self.metrics[split]
        joints = self.layout
        values = {f"{split}/tokenizer/mpjpe_{joints}": m["mpjpe"].compute(), f"{split}/tokenizer/pa_mpjpe_{joints}": m["pa_mpjpe"].compute(),
                  f"{split}/tokenizer/loss": m["loss"].compute(), **{f"{split}/tokenizer/{k}": v for k, v in m["codes"].compute().items()}}  # fmt: skip
        values = {k: v for k, v in values.items() if torch.isfinite(v)}
        if split == "val" and f"{split}/tokenizer/mpjpe_{joints}" in values:  # the checkpoint monitor
            values[f"{split}/mpjpe"] = values[f"{split}/tokenizer/mpjpe_{joints}"]
        for metric in m.values():
            metric.reset()
        self.log_dict(values)
        return {k: float(v) for k, v in values.items()}

    def on_validation_epoch_end(self) -> None:
        """Log validation metrics; ``sic validate`` also reports them."""
        values = self._epoch_metrics("val")
        if self.trainer.state.fn == "validate":
            self._report(values, "val")

    def on_test_epoch_end(self) -> None:
        """Log, print and write the test metrics."""
        self._report(self._epoch_metrics("test"), "test")

    def configure_optimizers(self):  # noqa: ANN201
        """The injected optimiser over the tokenizer (the EMA codebook is a buffer) and optional scheduler."""
        groups = [{"params": [p for p in self.net.parameters() if p.requires_grad]}]
        return configure(self.optimizer, self.scheduler, self.scheduler_interval, self.warmup_steps, groups)
