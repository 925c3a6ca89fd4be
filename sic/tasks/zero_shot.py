# ruff: noqa: RUF002
"""``ZeroShotTask``: trains and evaluates zero-shot skeleton action recognition (SkeletonContext and baselines).

Training sees the **training classes only** (the split's seen classes, minus the validation classes when the
datamodule holds them out): their samples, their labels and their text. Each sample's context prompt comes
from its own class (``context_source="own_class"``); slot values stay in their slots. The losses (paper
Eq. 10) are the context- and part-level alignment cross-entropies over the training classes, the context
reconstruction ``L_ccr`` and the joint-importance calibration ``L_kpd``, each with a weight.

Progressive Partial Masking hides ``clamp(ceil(r_t · S), 1, S)`` of the ``S`` slots of each prompt, with
``r_t = min(1, t / T)`` and ``T = ramp_fraction ×`` the run's optimiser steps; ``ppm_schedule="thirds"`` is the
released code's 1/3-2/3-1 epoch variant (clamped at the last epoch), ``ppm=False`` hides every slot.

Evaluation scores every sample against the text embeddings of the visible classes (cosine, mean over each
class's ``K`` texts, times ``logit_scale``) per branch; the fused score is ``w·context + (1 − w)·part``, with
``w`` configured or (``fusion_weight="val"``) chosen on the pseudo-unseen validation classes, like ``γ``.

* ZSL: accuracy on unseen-class samples, argmax over the unseen classes (sample- and class-averaged).
* GZSL: seen / unseen accuracy and their harmonic mean over all classes, without calibration and with
  calibrated stacking by ``γ``; AUSUC of the seen-unseen curve. ``γ`` (per branch and fused) is chosen on
  validation when the datamodule holds validation classes out (``holdout_validation=True``), else it is the
  configured ``gamma``; it is never chosen on test. It is kept in the checkpoint.
* Extras, labelled as such: the Neuron-protocol "either branch correct" ZSL accuracy and the test-oracle H.

Metric keys: ``{split}/{context|part|fused}/{metric}``, in percent.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from lightning.pytorch.utilities import rank_zero_only
from torch import Tensor, nn

from sic.data.batch import SkeletonBatch
from sic.data.knowledge import KnowledgeBase
from sic.metrics.zero_shot import (
    ZeroShotScores,
    ausuc,
    best_fusion_weight,
    best_gamma,
    cluster_accuracy,
    cluster_difficulty,
    confusion_matrix,
    either_branch_accuracy,
    fuse_scores,
    gzsl_accuracy,
    similar_class_clusters,
    zsl_accuracy,
)
from sic.models.shift_gcn import load_shift_gcn_weights
from sic.models.skeleton_context import SkeletonContext, class_scores, kpd_loss
from sic.tasks.optim import configure
from sic.tasks.report import MetricsReport
from sic.text.base import TextEncoder
from sic.utils.errors import ConfigError
from sic.utils.io import atomic_write_text

__all__ = ["ZeroShotTask"]

BRANCHES = ("context", "part", "fused")
_LOSSES = ("align_context", "align_part", "ccr", "kpd")
_SOURCES = ("own_class", "random_seen", "random_all_legacy")


class ZeroShotTask(MetricsReport, L.LightningModule):
    """Zero-shot action recognition with a :class:`~sic.models.SkeletonContext` network.

    Args:
        net: the network (backbone frozen inside it).
        text_encoder: frozen encoder of the class texts (default: the network's language model); the
            paper uses CLIP ViT-L/14@336px descriptions, any :class:`~sic.text.TextEncoder` works.
        backbone_checkpoint: weights of the skeleton encoder pretrained on the training classes (a
            ``RecognitionTask`` checkpoint or a public Shift-GCN file); its classifier is skipped.
        optimizer: optimiser factory (the paper: SGD lr 0.1, weight decay 5e-4).
        scheduler: LR scheduler factory (the paper: ×0.1 at epochs 10 and 20).
        scheduler_interval: ``"epoch"`` or ``"step"``.
        warmup_steps: linear warm-up steps.
        loss_weights: weights of ``align_context``, ``align_part``, ``ccr`` and ``kpd`` (default 1 each).
        kpd_reduction: ``"paper"`` (Eq. 7, sum over frames and joints) or ``"mse"`` (the released code).
        logit_scale: multiplier of the cosine scores (the released code: 0.1, which makes softmax nearly flat).
        ppm: progressive partial masking (else every slot is hidden from the first step).
        ppm_schedule: ``"linear"`` (``r_t = min(1, t/T)``) or ``"thirds"`` (the released code's epochs).
        ramp_fraction: ``T`` as a fraction of the run's optimiser steps.
        context_source: ``"own_class"`` (fixed), ``"random_seen"``, or ``"random_all_legacy"`` (the released code's
            draw from all classes: unseen-class text leaks into training; for reproduction studies only).
        shuffle_slots_legacy: shuffle slot values across slots (the released code's defect).
        fusion_weight: weight ``w`` of the context branch in the fused score, or ``"val"``: chosen each validation
            epoch on the pseudo-unseen classes (``holdout_validation=True``) from ``0, 0.1, …, 1`` by the
            calibrated H, ties by ZSL accuracy, then nearest 0.5; kept in the checkpoint like ``γ``.
        gamma: calibration factor used when it is not chosen on validation (``holdout_validation`` off).
        write_confusion: write ``confusion.json`` (fused GZSL confusion over all classes) at test.
        similar_classes: a baseline's ``confusion.json``; test then reports the similar-class difficulty
            evaluation (clusters of each unseen class with its 3 most confused classes, by difficulty level).
    """

    report_units = "%"

    def __init__(
        self,
        net: SkeletonContext,
        text_encoder: TextEncoder | None = None,
        backbone_checkpoint: str | None = None,
        optimizer: OptimizerCallable = torch.optim.SGD,
        scheduler: LRSchedulerCallable | None = None,
        scheduler_interval: str = "epoch",
        warmup_steps: int = 0,
        loss_weights: dict[str, float] | None = None,
        kpd_reduction: str = "paper",
        logit_scale: float = 10.0,
        ppm: bool = True,
        ppm_schedule: str = "linear",
        ramp_fraction: float = 1.0,
        context_source: str = "own_class",
        shuffle_slots_legacy: bool = False,
        fusion_weight: float | str = 0.5,
        gamma: float = 0.0,
        write_confusion: bool = False,
        similar_classes: str | None = None,
    ) -> None:
        super().__init__()
        # Evaluation outputs are not hyperparameters: `sic test --ckpt_path` must not restore them from the checkpoint.
        self.save_hyperparameters(
            ignore=["net", "text_encoder", "optimizer", "scheduler", "write_confusion", "similar_classes"]
        )
        weights = {name: 1.0 for name in _LOSSES} | dict(loss_weights or {})
        if set(weights) - set(_LOSSES):
            raise ConfigError(f"model.loss_weights has unknown term(s) {sorted(set(weights) - set(_LOSSES))}; "
                              f"expected {', '.join(_LOSSES)}")  # fmt: skip
        if context_source not in _SOURCES:
            raise ConfigError(f"model.context_source must be one of {_SOURCES}, got {context_source!r}")
        if ppm_schedule not in ("linear", "thirds"):
            raise ConfigError(f"model.ppm_schedule must be 'linear' or 'thirds', got {ppm_schedule!r}")
        self.select_fusion = fusion_weight == "val"
        if self.select_fusion:
            fusion_weight = 0.5  # until the first validation epoch chooses it
        if isinstance(fusion_weight, str) or not 0.0 <= fusion_weight <= 1.0 or not ramp_fraction > 0:
            raise ConfigError(f"model.fusion_weight must be in [0, 1] or 'val' (got {fusion_weight!r}) and "
                              f"model.ramp_fraction > 0")  # fmt: skip
        kpd_loss(torch.zeros(1, 1, 2), torch.ones(1, 2), kpd_reduction)  # validates the name
        self.net = net
        self.text_encoder = text_encoder if text_encoder is not None else net.language_model
        if self.text_encoder is None:
            raise ConfigError("ZeroShotTask needs a text_encoder when the network has no language model (scg off)")
        self.optimizer, self.scheduler, self.scheduler_interval = optimizer, scheduler, scheduler_interval
        self.warmup_steps, self.loss_weights = warmup_steps, weights
        self.kpd_reduction, self.logit_scale = kpd_reduction, logit_scale
        self.ppm, self.ppm_schedule, self.ramp_fraction = ppm, ppm_schedule, ramp_fraction
        self.context_source, self.shuffle_slots = context_source, shuffle_slots_legacy
        self.write_confusion, self.similar_classes = write_confusion, similar_classes
        self.register_buffer("fusion_weight", torch.tensor(float(fusion_weight)))
        # gamma per branch: chosen on validation (holdout) or configured; saved in checkpoints for `sic test`.
        self.register_buffer("gamma", torch.full((len(BRANCHES),), float(gamma)))
        self.scores = nn.ModuleDict({s: ZeroShotScores() for s in ("val", "test")})
        self._text: dict[str, Tensor] = {}
        self._knowledge: KnowledgeBase | None = None
        self.backbone_checkpoint = backbone_checkpoint

    # -- data and class text ---------------------------------------------------------------------
    @property
    def dm(self):
        """The datamodule (a :class:`~sic.data.RecognitionDataModule`)."""
        dm = self.trainer.datamodule
        if not hasattr(dm, "train_classes"):
            raise ConfigError(f"ZeroShotTask needs sic.data.RecognitionDataModule, not {type(dm).__name__}")
        return dm

    def setup(self, stage: str) -> None:
        """Check that the data's joints and persons fit the backbone."""
        dm = self.dm
        for name, want in (("num_joints", dm.num_joints), ("num_persons", dm.num_persons)):
            have = getattr(self.net.backbone, name, want)
            if have != want:
                raise ConfigError(f"model.net.backbone {name}={have} but the data give {want}")
        if not dm.unseen:
            raise ConfigError("ZeroShotTask needs a zero-shot split: set data.init_args.split")
        if self.select_fusion and stage == "fit" and not dm.val_unseen:
            raise ConfigError("model.fusion_weight='val' needs pseudo-unseen validation classes: set "
                              "data.init_args.holdout_validation: true")  # fmt: skip
        if stage != "fit":
            return  # evaluation takes the backbone from the task's checkpoint
        if self.backbone_checkpoint is not None:
            load_shift_gcn_weights(self.net.backbone, self.backbone_checkpoint, skip_classifier=True)
        else:
            warnings.warn("ZeroShotTask without backbone_checkpoint: the skeleton encoder is random and frozen "
                          "(pretrain it with RecognitionTask on the training classes)", stacklevel=2)  # fmt: skip

    def _load_text(self, stage: str) -> None:
        """Encode the texts of the classes visible in ``stage`` (training: training + validation classes only)."""
        kb = self.dm.knowledge(stage)
        self._knowledge = kb
        num_classes, device = self.dm.num_classes, self.device
        visible = torch.zeros(num_classes, dtype=torch.bool, device=device)
        visible[list(kb.ids)] = True
        tables = {}
        for branch, texts_of in (("context", lambda c: [t.sentence() for t in c.contexts]),
                                 ("part", lambda c: list(c.descriptions))):  # fmt: skip
            per_class = [texts_of(kb[i]) for i in kb.ids]
            k = min(len(t) for t in per_class)
            flat = [t for texts in per_class for t in texts[:k]]
            with torch.no_grad():
                emb = self.text_encoder.encode(flat).float().to(device)
            table = torch.zeros(num_classes, k, emb.shape[-1], device=device)
            table[list(kb.ids)] = emb.reshape(len(kb.ids), k, -1)
            tables[branch] = table
        if self.net.text_dim != tables["part"].shape[-1]:
            raise ConfigError(f"model.net.text_dim={self.net.text_dim} but the text encoder gives "
                              f"{tables['part'].shape[-1]}-d embeddings")  # fmt: skip
        self._text = {**tables, "visible": visible}
        self._priors = torch.from_numpy(kb.part_mask(kb.ids, self.dm.layout)).to(device)  # (visible, V)
        self._prior_row = torch.full((num_classes,), -1, dtype=torch.long, device=device)
        self._prior_row[list(kb.ids)] = torch.arange(len(kb.ids), device=device)

    def on_fit_start(self) -> None:
        self._load_text("fit")
        if self.context_source == "random_all_legacy":
            warnings.warn("context_source='random_all_legacy' draws contexts from ALL classes: unseen-class text "
                          "reaches training (the released code's leak); use it only for reproduction studies",
                          stacklevel=2)  # fmt: skip

    def on_validation_start(self) -> None:
        if not self._text or self.trainer.state.fn == "validate":
            self._load_text("validate")

    def on_test_start(self) -> None:
        self._load_text("test")

    def on_predict_start(self) -> None:
        self._load_text("test")

    # -- forward ---------------------------------------------------------------------------------
    def _skeletons(self, batch: SkeletonBatch) -> Tensor:
        b, t, mj, c = batch.inputs.shape
        m = self.dm.num_persons
        return batch.inputs.reshape(b, t, m, mj // m, c)

    def branch_scores(self, context: Tensor, part: Tensor) -> dict[str, Tensor]:
        """``(B, C)`` scores per branch and fused; columns of invisible classes are ``-inf``."""
        ctx = class_scores(context, self._text["context"], self.logit_scale)
        prt = class_scores(part, self._text["part"], self.logit_scale)
        fused = fuse_scores(ctx, prt, self.fusion_weight)
        hidden = ~self._text["visible"]
        return {k: v.masked_fill(hidden, float("-inf")) for k, v in zip(BRANCHES, (ctx, prt, fused), strict=True)}

    def forward(self, batch: SkeletonBatch) -> dict[str, Tensor]:
        """Scores ``{context, part, fused}``, each ``(B, num_classes)``."""
        out = self.net(self._skeletons(batch))
        return self.branch_scores(out.context, out.part)

    # -- training --------------------------------------------------------------------------------
    def masked_slots(self) -> int:
        """How many slots PPM hides at the current step (``S`` without PPM)."""
        s = len(self.net.slots)
        if not self.ppm:
            return s
        if self.ppm_schedule == "thirds":
            epochs = max(1, self.trainer.max_epochs or 1)
            revealed = s - math.floor(s * min(self.current_epoch, epochs - 1) / epochs) - 1
            return s - min(max(revealed, 0), s - 1)
        total = max(1.0, self.ramp_fraction * float(self.trainer.estimated_stepping_batches))
        r = min(1.0, self.global_step / total)
        return min(max(math.ceil(r * s), 1), s)

    def _contexts(self, labels: Tensor) -> tuple[list[tuple[str, ...]], Tensor]:
        """Each sample's slot values and its hidden-slot mask ``(B, S)``."""
        b, s = len(labels), len(self.net.slots)
        if self.context_source == "own_class":
            classes = labels.tolist()
        else:
            pool = (list(range(self.dm.num_classes)) if self.context_source == "random_all_legacy"
                    else list(self.dm.train_classes))  # fmt: skip
            classes = [pool[i] for i in torch.randint(len(pool), (b,)).tolist()]
        kb = KnowledgeBase.load(self.dm.dataset) if self.context_source == "random_all_legacy" else self._knowledge
        values = []
        for c in classes:
            options = kb[c].contexts
            chosen = options[int(torch.randint(len(options), ()))]
            slot_values = [chosen.slot(name) for name in self.net.slots]
            if self.shuffle_slots:
                slot_values = [slot_values[i] for i in torch.randperm(s).tolist()]
            values.append(tuple(slot_values))
        order = torch.rand(b, s).argsort(1)  # a random subset of each prompt's slots is hidden
        masked = order < self.masked_slots()
        return values, masked

    def training_step(self, batch: SkeletonBatch, batch_idx: int) -> Tensor:
        """Alignment over the training classes + context reconstruction + joint-importance calibration."""
        del batch_idx  # unused
        labels, seen = batch.meta["label"], batch.meta["label_seen"]
        if bool((seen < 0).any()):
            raise RuntimeError("a training batch holds a sample outside the training classes")
        contexts, masked = self._contexts(labels.cpu()) if self.net.use_scg else (None, None)
        out = self.net(self._skeletons(batch), contexts, masked)
        cols = torch.as_tensor(self.dm.train_classes, device=self.device)
        terms = {
            "align_context": F.cross_entropy(
                class_scores(out.context, self._text["context"][cols], self.logit_scale), seen
            ),
            "align_part": F.cross_entropy(class_scores(out.part, self._text["part"][cols], self.logit_scale), seen),
        }
        if out.mlm_loss is not None:
            terms["ccr"] = out.mlm_loss
        if out.joint_weights is not None:
            prior = self._priors[self._prior_row[labels]]
            terms["kpd"] = kpd_loss(out.joint_weights, prior, self.kpd_reduction)
        loss = sum(self.loss_weights[k] * v for k, v in terms.items())
        n = batch.batch_size
        self.log("train/loss", loss, prog_bar=True, batch_size=n)
        self.log_dict({f"train/{k}": v.detach() for k, v in terms.items()}, batch_size=n)
        return loss

    # -- evaluation ------------------------------------------------------------------------------
    def _eval_step(self, split: str, batch: SkeletonBatch) -> None:
        scores = self(batch)
        self.scores[split].update(torch.stack([scores[b] for b in BRANCHES], 1).float(), batch.meta["label"])

    def validation_step(self, batch: SkeletonBatch, batch_idx: int) -> None:
        """Score validation samples (held-out samples of training classes, pseudo-unseen classes)."""
        del batch_idx  # unused
        self._eval_step("val", batch)

    def test_step(self, batch: SkeletonBatch, batch_idx: int) -> None:
        """Score test samples over all classes."""
        del batch_idx  # unused
        self._eval_step("test", batch)

    def predict_step(self, batch: SkeletonBatch, batch_idx: int) -> dict[str, Tensor]:
        """Fused scores over all classes and the calibrated GZSL prediction."""
        del batch_idx  # unused
        fused = self(batch)["fused"]
        seen = self._seen_mask(fused.device)
        return {"scores": fused, "prediction": (fused - self.gamma[2] * seen).argmax(-1), "index": batch.meta["index"]}

    def _seen_mask(self, device: torch.device) -> Tensor:
        mask = torch.zeros(self.dm.num_classes, device=device)
        mask[list(self.dm.seen)] = 1.0
        return mask

    def on_validation_epoch_end(self) -> None:
        """Seen accuracy; with pseudo-unseen classes also ZSL, GZSL, and the γ chosen for test."""
        scores, labels = self.scores["val"].compute()
        self.scores["val"].reset()
        if scores.numel() == 0:
            return
        dm, values = self.dm, {}
        train = torch.as_tensor(dm.train_classes, device=scores.device)
        pseudo = list(dm.val_unseen)
        updating = self.trainer.state.fn == "fit" and not self.trainer.sanity_checking
        if self.select_fusion and updating and self._has_both(labels, pseudo):
            self.fusion_weight.fill_(best_fusion_weight(scores[:, 0], scores[:, 1], labels, pseudo, dm.train_classes))
            scores = torch.cat([scores[:, :2], fuse_scores(scores[:, 0], scores[:, 1], self.fusion_weight)[:, None]], 1)
        values["val/fused/weight"] = self.fusion_weight.detach().clone()
        for i, branch in enumerate(BRANCHES):
            s = scores[:, i]
            rows = torch.isin(labels, train)
            if rows.any():
                sub = s[rows][:, train]
                hits = train[sub.argmax(-1)] == labels[rows]
                values[f"val/{branch}/seen_top1"] = 100 * hits.float().mean()
            if self._has_both(labels, pseudo):  # a short (e.g. sanity-check) pass may hold only one kind of row
                keep = torch.isin(labels, torch.as_tensor([*dm.train_classes, *pseudo], device=labels.device))
                values[f"val/{branch}/zsl_top1"] = 100 * torch.tensor(zsl_accuracy(s[keep], labels[keep], pseudo))
                gamma, result = best_gamma(s[keep], labels[keep], pseudo, seen=list(dm.train_classes))
                values[f"val/{branch}/gzsl_h"] = 100 * torch.tensor(result.harmonic)
                values[f"val/{branch}/gamma"] = torch.tensor(gamma)
                if updating:
                    self.gamma[i] = gamma
        values = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in values.items()}
        self.log_dict(values)
        if self.trainer.state.fn == "validate":
            self._report({k: float(v) for k, v in values.items()}, "val")

    def _has_both(self, labels: Tensor, pseudo: list[int]) -> bool:
        """Whether validation rows hold both training-class and pseudo-unseen samples."""
        if not pseudo:
            return False
        train, pseudo_t = (torch.as_tensor(c, device=labels.device) for c in (self.dm.train_classes, pseudo))
        return bool(torch.isin(labels, train).any() and torch.isin(labels, pseudo_t).any())

    def on_test_epoch_end(self) -> None:
        """ZSL and GZSL per branch and fused (plus labelled extras); print and write them."""
        scores, labels = self.scores["test"].compute()
        self.scores["test"].reset()
        unseen = list(self.dm.unseen)
        values: dict[str, float] = {}
        for i, branch in enumerate(BRANCHES):
            s, key = scores[:, i], f"test/{branch}"
            values[f"{key}/zsl_top1"] = 100 * zsl_accuracy(s, labels, unseen)
            values[f"{key}/zsl_top1_class"] = 100 * zsl_accuracy(s, labels, unseen, average="class")
            for suffix, gamma in (("", 0.0), ("_cal", float(self.gamma[i]))):
                r = gzsl_accuracy(s, labels, unseen, gamma=gamma)
                values |= {f"{key}/gzsl{suffix}_seen": 100 * r.seen, f"{key}/gzsl{suffix}_unseen": 100 * r.unseen,
                           f"{key}/gzsl{suffix}_h": 100 * r.harmonic}  # fmt: skip
            values[f"{key}/gamma"] = float(self.gamma[i])
            values[f"{key}/ausuc"] = 100 * ausuc(s, labels, unseen)
            values[f"{key}/oracle_test_gamma_h"] = 100 * best_gamma(s, labels, unseen)[1].harmonic
        values["test/fused/weight"] = float(self.fusion_weight)
        values["test/fused/neuron_either_branch_zsl"] = 100 * either_branch_accuracy(scores[:, 0], scores[:, 1], labels,
                                                                                    unseen)  # fmt: skip
        values |= self._similar_class_metrics(scores[:, 2], labels, float(self.gamma[2]))
        self.log_dict({k: torch.tensor(v, dtype=torch.float32) for k, v in values.items()})
        self._report(values, "test")
        if self.write_confusion:
            log_dir = Path(self.trainer.log_dir or self.trainer.default_root_dir)  # a collective under DDP
            self._dump_confusion(scores[:, 2], labels, float(self.gamma[2]), log_dir)

    def _gzsl_prediction(self, scores: Tensor, gamma: float) -> Tensor:
        return (scores - gamma * self._seen_mask(scores.device)).argmax(-1)

    @rank_zero_only
    def _dump_confusion(self, scores: Tensor, labels: Tensor, gamma: float, log_dir: Path) -> None:
        pred = self._gzsl_prediction(scores, gamma)
        cm = confusion_matrix(pred, labels, self.dm.num_classes)
        counts = cm.sum(1).clamp_min(1)
        payload = {"dataset": self.dm.dataset, "classes": list(self.dm.class_names), "unseen": list(self.dm.unseen),
                   "gamma": gamma, "confusion": cm.tolist(),
                   "per_class_accuracy": (cm.diagonal() / counts).tolist()}  # fmt: skip
        path = log_dir / "confusion.json"
        atomic_write_text(path, json.dumps(payload))
        print(f"confusion written to {path}")

    def _similar_class_metrics(self, scores: Tensor, labels: Tensor, gamma: float) -> dict[str, float]:
        """Table 4: clusters from the baseline's confusion, ZSL within a cluster and GZSL on its samples."""
        if self.similar_classes is None:
            return {}
        path = Path(self.similar_classes)
        try:
            ref = json.loads(path.read_text())
            confusion = torch.as_tensor(ref["confusion"], dtype=torch.float32)
            per_class = torch.as_tensor(ref["per_class_accuracy"], dtype=torch.float32)
        except (OSError, ValueError, KeyError) as err:
            raise ConfigError(f"model.similar_classes: cannot read a confusion.json from '{path}' ({err})") from None
        if confusion.shape != (self.dm.num_classes, self.dm.num_classes):
            raise ConfigError(f"model.similar_classes '{path}' has a {tuple(confusion.shape)} confusion; this dataset "
                              f"has {self.dm.num_classes} classes")  # fmt: skip
        clusters = similar_class_clusters(confusion, list(self.dm.unseen), size=4)
        levels = cluster_difficulty(clusters, per_class)
        pred = self._gzsl_prediction(scores, gamma)
        values = {}
        for level, members in levels.items():
            if not members:
                continue
            zsl = [cluster_accuracy(scores, labels, c) for c in members]
            rows = [torch.isin(labels, torch.as_tensor(c, device=labels.device)) for c in members]
            gzsl = [float((pred[r] == labels[r]).float().mean()) for r in rows if r.any()]
            values[f"test/similar_{level}/zsl"] = 100 * sum(zsl) / len(zsl)
            values[f"test/similar_{level}/gzsl"] = 100 * sum(gzsl) / max(len(gzsl), 1)
        return values

    def configure_optimizers(self):
        """The injected optimiser over the trainable parameters (the backbone and language model are frozen)."""
        params = [p for p in self.net.parameters() if p.requires_grad]
        return configure(
            self.optimizer, self.scheduler, self.scheduler_interval, self.warmup_steps, [{"params": params}]
        )
