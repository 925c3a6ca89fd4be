"""``InContextTask``: trains and evaluates any in-context network on the skeleton bank.

The task owns losses (:mod:`sic.losses`), metrics (:mod:`sic.metrics`) and optimisation; the
network (:mod:`sic.models`) only maps ``(prompt_input, prompt_target, query_input)`` to a
prediction, and the datamodule (:mod:`sic.data.datamodule`) delivers
:class:`~sic.data.batch.SkeletonBatch`. Logged keys are ``{stage}/{task}/{metric}`` in millimetres,
plus ``{stage}/mpjpe``, the mean MPJPE over the trained tasks (the default checkpoint monitor).

Example:
    >>> from sic.models import SkeletonInContext
    >>> from sic.tasks import InContextTask
    >>> task = InContextTask(SkeletonInContext(dim=32, depth=2, num_heads=4, merge_layer=1))
    >>> task.monitor
    'val/mpjpe'
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import lightning as L
import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn
from torchmetrics import MeanMetric

from sic.data.batch import SkeletonBatch
from sic.data.tasks import TASK_IDS
from sic.losses import mpjpe_loss, n_mpjpe_loss, velocity_loss
from sic.metrics import MPJPE, NMPJPE, PAMPJPE, MPJPEAtFrames, MPJPEPerLabel, PoseScale
from sic.tasks.report import MetricsReport, format_table
from sic.utils.errors import ConfigError

__all__ = ["HORIZONS_MS", "InContextTask", "TaskMetrics", "format_table"]

#: Horizons reported per task (ms); a horizon is shown when it falls on a target frame at the data's fps.
HORIZONS_MS: dict[str, tuple[int, ...]] = {
    "motion_prediction": (80, 160, 200, 320, 400),
    "future_pose_estimation": (200, 300),
}


def horizon_frames(horizons_ms: tuple[int, ...], fps: float, num_frames: int) -> dict[int, int]:
    """Map each horizon (ms) to its target frame index: future frame ``k`` (1-based) lies ``k / fps`` ahead."""
    out = {}
    for h in horizons_ms:
        k = h * fps / 1000.0
        if abs(k - round(k)) < 1e-6 and 1 <= round(k) <= num_frames:
            out[h] = round(k) - 1
    return out


class TaskMetrics(nn.Module):
    """The metrics of one task id, updated from predictions and the batch.

    Args:
        task_id: one of :data:`~sic.data.tasks.TASK_IDS`.
        fps: frame rate of the task's clips (labels horizons).
        num_frames: target frames ``F``.
        ratios: joint-completion masking ratios (one masked-joint MPJPE per ratio).
    """

    def __init__(
        self, task_id: str, fps: float, num_frames: int, ratios: tuple[float, ...] = (0.4, 0.6), class_names: Sequence[str] = ()
    ) -> None:
        super().__init__()
        self.task_id = task_id
        self.loss = MeanMetric()
        self.mpjpe = MPJPE()
        self.pose_scale, self.pose_scale_last = PoseScale(), PoseScale(last=True)  # < 1: shrinking skeletons
        self.class_names = list(class_names)
        if self.class_names:
            self.per_label = MPJPEPerLabel(len(self.class_names))
        self.horizons = horizon_frames(HORIZONS_MS.get(task_id, ()), fps, num_frames)
        if self.horizons:
            self.at_frames = MPJPEAtFrames(list(self.horizons.values()))
        if task_id == "pose_estimation":
            self.n_mpjpe, self.pa_mpjpe = NMPJPE(), PAMPJPE()
        if task_id in ("joint_completion", "motion_inbetween"):
            self.masked = MPJPE()
        self.ratios = tuple(ratios) if task_id == "joint_completion" else ()
        self.per_ratio = nn.ModuleList(MPJPE() for _ in self.ratios)

    def update(self, pred: Tensor, batch: SkeletonBatch, loss: Tensor | None = None) -> None:
        """Accumulate the errors of ``pred`` ``(B, F, J, 3)`` against ``batch.targets``, and the batch's mean ``loss``."""
        with torch.autocast(pred.device.type, enabled=False):  # metrics in fp32 under bf16/16-mixed precision
            self._update(pred.float(), batch.targets.float(), batch, loss)

    def _update(self, pred: Tensor, target: Tensor, batch: SkeletonBatch, loss: Tensor | None) -> None:
        if loss is not None:
            self.loss.update(loss.detach().float(), weight=batch.batch_size)
        self.mpjpe.update(pred, target)
        self.pose_scale.update(pred, target)
        self.pose_scale_last.update(pred, target)
        if self.class_names:
            self.per_label.update(pred, target, batch.meta["label"])
        if self.horizons:
            self.at_frames.update(pred, target)
        if self.task_id == "pose_estimation":
            self.n_mpjpe.update(pred, target)
            self.pa_mpjpe.update(pred, target)
        if hasattr(self, "masked"):
            self.masked.update(pred, target, batch.mask)
        for r, metric in zip(self.ratios, self.per_ratio):
            rows = (batch.meta["ratio"] - r).abs() < 1e-4
            if rows.any():
                metric.update(pred[rows], target[rows], batch.mask[rows])

    def compute(self) -> dict[str, Tensor]:
        """Metric name → value in mm; empty if no rank saw a sample, metrics without samples left out.

        Under DDP every rank must call this (each ``compute`` sums states over ranks), whatever it
        saw itself; what is left out is decided from the summed states, so all ranks agree.
        """
        with warnings.catch_warnings():  # a rank without batches of this task computes before updating
            warnings.filterwarnings("ignore", message=".*compute.*before.*update.*")
            out = self._compute()
        return {k: v for k, v in out.items() if torch.isfinite(v)} if torch.isfinite(out["mpjpe"]) else {}

    def _compute(self) -> dict[str, Tensor]:
        out = {"mpjpe": self.mpjpe.compute(), "loss": self.loss.compute(),
               "pose_scale": self.pose_scale.compute(), "pose_scale_last": self.pose_scale_last.compute()}
        if self.horizons:
            for h, v in zip(self.horizons, self.at_frames.compute().reshape(-1)):  # one horizon: a 0-d result
                out[f"mpjpe_{h}ms"] = v
            out["mpjpe_horizons"] = torch.stack([out[f"mpjpe_{h}ms"] for h in self.horizons]).mean()
        if self.task_id == "pose_estimation":
            out["n_mpjpe"], out["pa_mpjpe"] = self.n_mpjpe.compute(), self.pa_mpjpe.compute()
        if hasattr(self, "masked"):
            out["mpjpe_masked"] = self.masked.compute()
        for r, metric in zip(self.ratios, self.per_ratio):
            out[f"mpjpe_masked_{round(r * 100)}"] = metric.compute()
        if self.class_names:
            per_label = self.per_label.compute()
            seen = torch.isfinite(per_label)
            # per action, then over actions (H3.6M protocol); NaN (dropped) when no action was seen
            out["mpjpe_action_mean"] = per_label[seen].mean() if seen.any() else per_label.new_tensor(float("nan"))
            for name, v in zip(self.class_names, per_label):
                out[f"mpjpe_action/{name}"] = v
        return out

    def reset(self) -> None:
        """Reset every metric."""
        for m in self.modules():
            if m is not self and hasattr(m, "reset"):
                m.reset()


class InContextTask(MetricsReport, L.LightningModule):
    """Train and evaluate an in-context network (SiC, Copy, ...) on every task of the datamodule.

    Args:
        net: the network, called as ``net(prompt_input, prompt_target, query_input, task)``.
        optimizer: optimiser factory (default AdamW; the paper uses lr 2e-4, weight decay 0.01).
        scheduler: LR scheduler factory (the paper: ``ExponentialLR(gamma=0.99)`` stepped per epoch).
        loss_weights: weights of ``mpjpe``, ``n_mpjpe`` and ``velocity`` loss terms.
        decay_all_parameters: apply weight decay to norms, biases and embeddings too (the reference);
            by default they are excluded, as is usual for transformers.
        scheduler_interval: step the scheduler every ``"epoch"`` or every optimiser ``"step"``.
        compile: run the network through ``torch.compile`` (``nn.Module.compile``: parameters and
            checkpoints are unchanged; the first steps pay the compilation).
        prompt_selection: which of a query's prompt candidates (``data.prompt_candidates``) to use (Table 4):
            ``"random"`` (candidate 0, the data's seeded draw), ``"motion"`` (lowest MPJPE between the query
            input and the candidate's input) or ``"feature"`` (highest cosine similarity of the network's
            ``prompt_features``). Without candidates every choice uses the batch's one prompt.
        prompt_ensemble: average the predictions of the ``k`` best candidates (1: no ensemble).
    """

    monitor = "val/mpjpe"
    mode = "min"

    def __init__(
        self,
        net: nn.Module,
        optimizer: OptimizerCallable = torch.optim.AdamW,
        scheduler: LRSchedulerCallable | None = None,
        loss_weights: dict[str, float] | None = None,
        decay_all_parameters: bool = False,
        scheduler_interval: Literal["epoch", "step"] = "epoch",
        compile: bool = False,
        prompt_selection: Literal["random", "motion", "feature"] = "random",
        prompt_ensemble: int = 1,
    ) -> None:
        super().__init__()
        if prompt_selection not in ("random", "motion", "feature"):
            raise ConfigError(f"model.prompt_selection must be 'random', 'motion' or 'feature', got {prompt_selection!r}")
        if prompt_ensemble < 1:
            raise ConfigError(f"model.prompt_ensemble must be >= 1, got {prompt_ensemble}")
        if prompt_selection == "feature" and not hasattr(net, "prompt_features"):
            raise ConfigError(f"model.prompt_selection='feature' needs a network with prompt_features(); "
                              f"{type(net).__name__} has none (use 'motion' or 'random')")  # fmt: skip
        self.prompt_selection, self.prompt_ensemble = prompt_selection, prompt_ensemble
        self.save_hyperparameters(ignore=["net", "optimizer", "scheduler"])
        self.net = net
        self.optimizer, self.scheduler = optimizer, scheduler
        weights = {"mpjpe": 1.0} if loss_weights is None else dict(loss_weights)
        unknown = set(weights) - {"mpjpe", "n_mpjpe", "velocity"}
        if unknown:
            raise ConfigError(f"model.loss_weights has unknown term(s) {sorted(unknown)}; expected mpjpe, n_mpjpe, velocity")
        self.loss_weights = weights
        self.decay_all_parameters = decay_all_parameters
        self.scheduler_interval = scheduler_interval
        if compile:
            self.net.compile()
        self.metrics = nn.ModuleDict()
        self.task_ids: list[str] = []
        self.trained_tasks: list[str] = []

    # -- wiring to the datamodule ---------------------------------------------------------------
    def setup(self, stage: str) -> None:
        """Check the data against the network and build per-task metrics from the datamodule."""
        dm = self.trainer.datamodule if self._trainer is not None else None
        if dm is None:
            return
        for name in ("num_frames", "num_joints"):
            have, want = getattr(self.net, name, None), getattr(dm, name)
            if have is not None and have != want:
                raise ConfigError(f"inconsistent {name}: model.init_args.net {name}={have} but data {name}={want}")
        self.task_ids, self.trained_tasks = list(dm.tasks), list(dm.train_tasks)
        self._check_candidates(getattr(dm, "prompt_candidates", 1), "data.prompt_candidates")
        ratios = tuple(dm.transforms["joint_completion"].ratios) if "joint_completion" in dm.transforms else ()
        for split in ("val", "test"):  # per-action tables (e.g. Human3.6M's protocol) at test time only
            self.metrics[split] = nn.ModuleDict({
                t: TaskMetrics(t, dm.task_fps[t], dm.num_frames, ratios, dm.class_names(t) if split == "test" else [])
                for t in self.task_ids
            })  # fmt: skip
        if getattr(self.net, "tup", None) == "static" and not bool(self.net.static_pose_set):
            # From the training data; a checkpoint loaded after setup() overwrites it with the trained one.
            rows = self.net.static_pose.shape[0]
            if rows not in (1, len(TASK_IDS)):
                raise ConfigError(f"model.init_args.net num_static_poses must be 1 or {len(TASK_IDS)} (one per task id), got {rows}")
            self.net.set_static_pose(dm.mean_target_pose(per_task=rows > 1))

    def _check_candidates(self, candidates: int, key: str) -> None:
        need = max(self.prompt_ensemble, 1 if self.prompt_selection == "random" else 2)
        if candidates < need:
            raise ConfigError(f"model.prompt_selection={self.prompt_selection!r} with model.prompt_ensemble="
                              f"{self.prompt_ensemble} needs {key} >= {need}, got {candidates}")  # fmt: skip

    # -- steps ----------------------------------------------------------------------------------
    def forward(self, batch: SkeletonBatch) -> Tensor:
        """Predict the query targets of ``batch``: ``(B, F, J, 3)``; with prompt candidates, from the selected
        prompt (or the mean over the ``prompt_ensemble`` best)."""
        if batch.candidate_inputs is None or (self.prompt_selection == "random" and self.prompt_ensemble == 1):
            return self.net(batch.prompt_inputs, batch.prompt_targets, batch.inputs, batch.task)
        order = self.rank_prompts(batch)[:, : self.prompt_ensemble]  # (B, k) candidate indices, best first
        rows = torch.arange(batch.batch_size, device=order.device)[:, None]
        pin, ptgt = batch.candidate_inputs[rows, order], batch.candidate_targets[rows, order]  # (B, k, F, J, C)
        k = order.shape[1]
        pred = self.net(pin.flatten(0, 1), ptgt.flatten(0, 1), batch.inputs.repeat_interleave(k, 0),
                        batch.task.repeat_interleave(k, 0))  # fmt: skip
        return pred.unflatten(0, (batch.batch_size, k)).mean(1)

    def rank_prompts(self, batch: SkeletonBatch) -> Tensor:
        """Candidate indices of each query, best first, ``(B, K)`` (the batch must carry candidates)."""
        cands, query = batch.candidate_inputs, batch.inputs
        b, k = cands.shape[:2]
        if self.prompt_selection == "random":
            return torch.arange(k, device=cands.device).expand(b, k)
        if self.prompt_selection == "motion":  # MPJPE between the inputs: lower is closer
            distance = torch.linalg.vector_norm(cands - query[:, None], dim=-1).mean((-1, -2))
        else:
            with torch.no_grad():
                feats = self.net.prompt_features(torch.cat([query, cands.flatten(0, 1)]))
            q, c = feats[:b], feats[b:].unflatten(0, (b, k))
            distance = -torch.nn.functional.cosine_similarity(c, q[:, None], dim=-1)
        return distance.argsort(dim=1, stable=True)

    def _loss(self, pred: Tensor, target: Tensor) -> Tensor:
        terms = {"mpjpe": mpjpe_loss, "n_mpjpe": n_mpjpe_loss, "velocity": velocity_loss}
        return sum(w * terms[k](pred, target) for k, w in self.loss_weights.items() if w).mean()

    def training_step(self, batch: SkeletonBatch, batch_idx: int) -> Tensor | None:
        """One optimisation step on a mixed-task batch (masked-frame models: on the frames they hid)."""
        del batch_idx  # unused
        if getattr(self.net, "masked_modeling", False):
            loss = self._masked_frame_loss(batch)
        else:
            loss = self._loss(self(batch), batch.targets)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch.batch_size)
        return loss if loss.requires_grad else None

    def _masked_frame_loss(self, batch: SkeletonBatch) -> Tensor:
        """MPJPE over the hidden frames of ``[P_in ; P_tgt ; Q_in ; Q_tgt]`` (MIM training)."""
        pred, frames, hidden = self.net.reconstruct(batch.prompt_inputs, batch.prompt_targets, batch.inputs,
                                                    batch.targets)  # fmt: skip
        error = torch.linalg.vector_norm(pred - frames, dim=-1).mean(-1)  # (B, 4F)
        return (error * hidden).sum() / hidden.sum()

    def _eval_step(self, split: str, batch: SkeletonBatch) -> None:
        pred = self(batch)
        for k in batch.task.unique().tolist():
            rows = batch.task == k
            part = batch if rows.all() else batch.select(rows)
            self.metrics[split][TASK_IDS[k]].update(pred[rows], part, self._loss(pred[rows], part.targets))

    def validation_step(self, batch: SkeletonBatch, batch_idx: int, dataloader_idx: int = 0) -> None:
        """Accumulate validation metrics of the batch's task."""
        del batch_idx, dataloader_idx  # unused: the batch carries its task ids
        self._eval_step("val", batch)

    def test_step(self, batch: SkeletonBatch, batch_idx: int, dataloader_idx: int = 0) -> None:
        """Accumulate test metrics of the batch's task."""
        del batch_idx, dataloader_idx  # unused
        self._eval_step("test", batch)

    def predict_step(self, batch: SkeletonBatch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, Tensor]:
        """Return predictions with their task ids and clip indices."""
        del batch_idx, dataloader_idx  # unused
        return {"prediction": self(batch), "task": batch.task, "index": batch.meta["index"]}

    def _epoch_metrics(self, split: str) -> dict[str, float]:
        values: dict[str, Tensor] = {}
        for t in self.task_ids:
            metrics = self.metrics[split][t]
            values.update({f"{split}/{t}/{k}": v for k, v in metrics.compute().items()})
            metrics.reset()
        trained = [values[f"{split}/{t}/mpjpe"] for t in self.trained_tasks if f"{split}/{t}/mpjpe" in values]
        if trained:
            values[f"{split}/mpjpe"] = torch.stack(trained).mean()
        self.log_dict(values, add_dataloader_idx=False)
        return {k: float(v) for k, v in values.items()}

    def on_validation_epoch_end(self) -> None:
        """Log per-task validation metrics and their mean; ``sic validate`` also reports them like ``sic test``."""
        values = self._epoch_metrics("val")
        if self.trainer.state.fn == "validate":
            self._report(values, "val")

    def on_test_epoch_end(self) -> None:
        """Log test metrics, print a per-task table and write ``test_metrics.json`` to the log dir."""
        values = self._epoch_metrics("test")
        self._report(values, "test")

    # -- optimisation ---------------------------------------------------------------------------
    def configure_optimizers(self):  # noqa: ANN201
        """The injected optimiser (norms, biases and embeddings without decay) and per-epoch scheduler."""
        params = [(n, p) for n, p in self.net.named_parameters() if p.requires_grad]
        if not params:
            return None  # e.g. the Copy baseline: nothing to train
        if self.decay_all_parameters:
            groups = [{"params": [p for _, p in params]}]
        else:
            exempt = {n for n, p in params if p.ndim < 2 or any(k in n for k in ("embed", "tup", "merge"))}
            decay = [p for n, p in params if n not in exempt]
            no_decay = [p for n, p in params if n in exempt]
            groups = [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}]
        optimizer = self.optimizer(groups)
        if self.scheduler is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": self.scheduler(optimizer), "interval": self.scheduler_interval}}
