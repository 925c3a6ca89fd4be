"""``LiftingTask``: 2D-to-3D pose lifting (GAtFuN with or without pose-adaptive prompts) and its robustness suite.

Loss (weights in ``loss_weights``, MotionAGFormer/MotionBERT's recipe by default):
``mpjpe + 0.5 n_mpjpe + 20 velocity`` on root-relative 3D in metres. GAtFuN's own recipe is MPJPE only
(``loss_weights: {n_mpjpe: 0, velocity: 0}``). Mirroring is a data augmentation (``LiftingDataModule(flip=)``);
``flip_test`` averages the prediction with the mirrored prediction of the mirrored input.

Metrics, per evaluation loader (``clean`` and every corruption of the data's robustness suite), in mm:
``mpjpe`` (P1), ``pa_mpjpe`` (P2, per-frame similarity Procrustes), ``mpjve`` (velocity error, mm/frame),
``accel`` (acceleration error, mm/frame²), ``pck`` (PCK@150 mm, %) and ``auc`` (0–150 mm, %), and
``mpjpe_occluded`` over the joints a corruption hid. The root is set to 0 before scoring (the targets are
root-relative). Clean test metrics come with per-action P1/P2 tables. ``val/mpjpe`` is the checkpoint monitor;
the test split is never used for selection.

Only ``batch.inputs`` reaches the network: labels are read for the per-action tables, never by the model.

Example:
    >>> import torch
    >>> from sic.models import GAtFuN, PoseAdaptiveLifter
    >>> task = LiftingTask(PoseAdaptiveLifter(GAtFuN(num_frames=9, dim=16, depth=1, num_heads=2)))
    >>> task(torch.zeros(2, 9, 17, 3)).shape
    torch.Size([2, 9, 17, 3])
"""

# ruff: noqa: RUF002

from __future__ import annotations

import lightning as L
import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn
from torchmetrics import MeanMetric

from sic.data.batch import SkeletonBatch
from sic.data.lifting import flip_poses
from sic.data.skeleton import SkeletonLayout, get_layout
from sic.losses import mpjpe_loss, n_mpjpe_loss, velocity_loss
from sic.metrics import MPJPE, PAMPJPE, MPJPEPerLabel, PCKCurve, procrustes_align
from sic.tasks.optim import configure
from sic.tasks.report import MetricsReport, format_robustness
from sic.utils.checkpoint import load_weights
from sic.utils.errors import ConfigError

__all__ = ["LiftingTask"]

_TERMS = {"mpjpe": mpjpe_loss, "n_mpjpe": n_mpjpe_loss, "velocity": velocity_loss}


class LiftingTask(MetricsReport, L.LightningModule):
    """Train and evaluate a 2D-to-3D lifter.

    Args:
        net: the lifter, ``(B, T, J, 3)`` 2D input → ``(B, T, J, 3)`` (e.g. :class:`~sic.models.PoseAdaptiveLifter`).
        optimizer: optimiser factory (default AdamW; MotionAGFormer: lr 5e-4, weight decay 0.01).
        scheduler: LR scheduler factory (e.g. ExponentialLR gamma 0.99 per epoch), stepped every ``scheduler_interval``.
        scheduler_interval: ``"epoch"`` or ``"step"``.
        warmup_steps: linear learning-rate warm-up over this many optimiser steps (0: none).
        init_weights: a checkpoint of this task to start from (fine-tuning; ``--ckpt_path`` resumes instead).
        loss_weights: weights of ``mpjpe``, ``n_mpjpe``, ``velocity``.
        flip_test: flip test-time augmentation at validation and test.
        layout: joint layout (default: the datamodule's); it gives the flip permutation and the root.
    """

    monitor = "val/mpjpe"
    mode = "min"
    report_units = "mm; pck and auc in %"

    def __init__(
        self,
        net: nn.Module,
        optimizer: OptimizerCallable = torch.optim.AdamW,
        scheduler: LRSchedulerCallable | None = None,
        scheduler_interval: str = "epoch",
        warmup_steps: int = 0,
        init_weights: str | None = None,
        loss_weights: dict[str, float] | None = None,
        flip_test: bool = True,
        layout: str | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"])
        self.net, self.optimizer, self.scheduler, self.scheduler_interval = (
            net,
            optimizer,
            scheduler,
            scheduler_interval,
        )
        self.warmup_steps, self.flip_test = warmup_steps, flip_test
        weights = {"mpjpe": 1.0, "n_mpjpe": 0.5, "velocity": 20.0, **(loss_weights or {})}
        unknown = set(weights) - set(_TERMS)
        if unknown:
            raise ConfigError(f"model.loss_weights has unknown term(s) {sorted(unknown)}; expected {', '.join(_TERMS)}")
        self.loss_weights = weights
        self._layout_given = layout is not None
        self._set_layout(get_layout(layout if layout is not None else "h36m17"))
        self.eval_names: dict[str, list[str]] = {}
        self.class_names: list[str] = []
        self.metrics = nn.ModuleDict()
        if init_weights is not None:
            load_weights(self, init_weights)

    # -- setup ----------------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        """Read the loaders' names, the layout and the action names from the datamodule; build the metrics."""
        dm = self.trainer.datamodule if self._trainer is not None else None
        if dm is not None and not hasattr(dm, "test_names"):
            raise ConfigError(f"LiftingTask needs sic.data.LiftingDataModule, not {type(dm).__name__}")
        if dm is not None:
            if self._layout_given and dm.layout.name != self.layout.name:
                raise ConfigError(f"model layout={self.layout.name!r} but the data's layout is {dm.layout.name!r}")
            self._set_layout(dm.layout)
            self.eval_names = {"val": dm.val_names, "test": dm.test_names}
            self.class_names = dm.class_names("test")
        else:
            self.eval_names = self.eval_names or {"val": ["clean"], "test": ["clean"]}
        num_joints = getattr(self.net, "num_joints", self.layout.num_joints)
        if num_joints != self.layout.num_joints:
            raise ConfigError(
                f"inconsistent joint counts: model net has {num_joints} joints but layout {self.layout.name!r} "
                f"has {self.layout.num_joints}"
            )
        for split, names in self.eval_names.items():
            for i, _ in enumerate(names):
                self.metrics[f"{split}{i}"] = self._metric_set(per_action=split == "test" and i == 0)

    def _set_layout(self, layout: SkeletonLayout) -> None:
        self.layout = layout
        self.register_buffer("flip_permutation", torch.as_tensor(layout.flip_permutation), persistent=False)

    def _metric_set(self, per_action: bool) -> nn.ModuleDict:
        m = nn.ModuleDict({"loss": MeanMetric(), "mpjpe": MPJPE(), "pa_mpjpe": PAMPJPE(), "mpjve": MPJPE(),
                           "accel": MPJPE(), "pck": PCKCurve(), "mpjpe_occluded": MPJPE()})  # fmt: skip
        if per_action and self.class_names:
            m["mpjpe_action"] = MPJPEPerLabel(len(self.class_names))
            m["pa_mpjpe_action"] = MPJPEPerLabel(len(self.class_names))
        return m.to(self.device)

    # -- steps ----------------------------------------------------------------------------------
    def forward(self, inputs: Tensor) -> Tensor:
        """Lift ``(B, T, J, 3)`` 2D inputs to 3D."""
        return self.net(inputs)

    def predict_3d(self, inputs: Tensor) -> Tensor:
        """Evaluation prediction: with flip test-time augmentation if enabled, root set to 0."""
        pred = self(inputs)
        if self.flip_test:
            mirrored = self(flip_poses(inputs, self.flip_permutation))
            pred = 0.5 * (pred + flip_poses(mirrored, self.flip_permutation))
        root = self.layout.root
        return torch.cat(
            [pred[..., :root, :], torch.zeros_like(pred[..., root : root + 1, :]), pred[..., root + 1 :, :]], dim=-2
        )

    def _losses(self, pred: Tensor, target: Tensor) -> dict[str, Tensor]:
        return {k: fn(pred, target).mean() for k, fn in _TERMS.items() if self.loss_weights.get(k)}

    def _total(self, terms: dict[str, Tensor]) -> Tensor:
        return sum(self.loss_weights[k] * v for k, v in terms.items())

    def training_step(self, batch: SkeletonBatch, batch_idx: int) -> Tensor:
        """Weighted MPJPE, N-MPJPE and velocity losses."""
        del batch_idx  # unused
        pred = self(batch.inputs)
        terms = self._losses(pred, batch.targets)
        loss = self._total(terms)
        n = batch.batch_size
        self.log("train/loss", loss, prog_bar=True, batch_size=n)
        self.log_dict({f"train/{k}": v for k, v in terms.items()}, batch_size=n)
        return loss

    def _eval_step(self, split: str, batch: SkeletonBatch, loader: int) -> None:
        pred = self.predict_3d(batch.inputs)
        m = self.metrics[f"{split}{loader}"]
        with torch.autocast(pred.device.type, enabled=False):
            pred, target = pred.float(), batch.targets.float()
            scored = batch.meta.get("scored")
            frames = None if scored is None else scored[..., None]  # (B, T, 1) over joints
            m["loss"].update(self._total(self._losses(pred, target)), weight=batch.batch_size)
            m["mpjpe"].update(pred, target, frames)
            m["pa_mpjpe"].update(pred, target, frames)
            m["pck"].update(pred, target, frames)
            if pred.shape[1] > 2:
                m["mpjve"].update(pred.diff(dim=1), target.diff(dim=1))
                m["accel"].update(pred.diff(n=2, dim=1), target.diff(n=2, dim=1))
            if batch.mask is not None and batch.mask.any():
                m["mpjpe_occluded"].update(pred, target, batch.mask if frames is None else batch.mask & frames)
            if "mpjpe_action" in m:
                labels = batch.meta["label"]
                m["mpjpe_action"].update(pred, target, labels)
                m["pa_mpjpe_action"].update(procrustes_align(pred, target), target, labels)

    def validation_step(self, batch: SkeletonBatch, batch_idx: int, dataloader_idx: int = 0) -> None:
        """Accumulate validation metrics."""
        del batch_idx  # unused
        self._eval_step("val", batch, dataloader_idx)

    def test_step(self, batch: SkeletonBatch, batch_idx: int, dataloader_idx: int = 0) -> None:
        """Accumulate the metrics of test loader ``dataloader_idx``."""
        del batch_idx  # unused
        self._eval_step("test", batch, dataloader_idx)

    def predict_step(self, batch: SkeletonBatch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, Tensor]:
        """3D predictions ``(B, T, J, 3)`` (metres, root-relative camera frame) with the window indices."""
        del batch_idx, dataloader_idx  # unused
        return {"poses3d": self.predict_3d(batch.inputs), "index": batch.meta["index"]}

    # -- epoch ends -----------------------------------------------------------------------------
    def _epoch_metrics(self, split: str) -> dict[str, float]:
        values: dict[str, Tensor] = {}
        for i, name in enumerate(self.eval_names.get(split, [])):
            m = self.metrics[f"{split}{i}"]
            for key, metric in m.items():
                if metric.update_count == 0:  # e.g. the occluded-joint error of a clean loader
                    continue
                if key == "pck":
                    values.update({f"{split}/{name}/{k}": v for k, v in metric.compute().items()})
                elif key.endswith("_action"):
                    values.update(
                        {
                            f"{split}/{name}/{key}/{a}": v
                            for a, v in zip(self.class_names, metric.compute(), strict=True)
                        }
                    )
                else:
                    values[f"{split}/{name}/{key}"] = metric.compute()
                metric.reset()
        values = {k: v for k, v in values.items() if torch.isfinite(v)}
        if split == "val" and "val/clean/mpjpe" in values:
            values["val/mpjpe"] = values["val/clean/mpjpe"]  # the checkpoint monitor
        self.log_dict(values, add_dataloader_idx=False)
        return {k: float(v) for k, v in values.items()}

    def on_validation_epoch_end(self) -> None:
        """Log validation metrics; ``sic validate`` also reports them."""
        values = self._epoch_metrics("val")
        if self.trainer.state.fn == "validate":
            self._report(values, "val")

    def on_test_epoch_end(self) -> None:
        """Log, print and write the test metrics, with the error-vs-severity table of the robustness suite."""
        values = self._epoch_metrics("test")
        self._report(values, "test")
        if len(self.eval_names.get("test", [])) > 1:
            self._print_zero(format_robustness(values, "test"))

    def _print_zero(self, text: str) -> None:
        if self.trainer.is_global_zero:
            print(text)

    def configure_optimizers(self):
        """The injected optimiser over the trainable parameters (a frozen text encoder has none) and scheduler."""
        groups = [{"params": [p for p in self.net.parameters() if p.requires_grad]}]
        return configure(self.optimizer, self.scheduler, self.scheduler_interval, self.warmup_steps, groups)
