# ruff: noqa: RUF002
"""ZeroShotTask in process: nothing of an unseen class reaches training; evaluation and γ selection."""

import lightning as L
import pytest
import torch

from sic.data import RecognitionDataModule
from sic.data.knowledge import KnowledgeBase
from sic.models import ShiftGCN, SkeletonContext
from sic.tasks import ZeroShotTask
from sic.text import TinyTextEncoder

pytestmark = pytest.mark.filterwarnings("ignore:ZeroShotTask without backbone_checkpoint")


def _task(**kw):
    torch.manual_seed(0)
    backbone = ShiftGCN(num_classes=10, num_joints=17, num_persons=1, channels=(8, 16), strides=(1, 2))
    net = SkeletonContext(backbone, TinyTextEncoder(hidden_size=16, num_heads=2), num_heads=2)
    return ZeroShotTask(net, **kw), net


def _dm(cache_dir, **kw):
    kw = {"holdout_validation": True, **kw}
    return RecognitionDataModule(split="procedural-13-4", num_frames=16, clips_per_class=4, batch_size=8,
                                 cache_dir=str(cache_dir), **kw)  # fmt: skip


def _trainer(tmp_path, **kw):
    kw = {"limit_val_batches": 4, **kw}
    return L.Trainer(accelerator="cpu", devices=1, max_epochs=1, limit_train_batches=3,
                     logger=False, enable_checkpointing=False, enable_progress_bar=False,
                     enable_model_summary=False, default_root_dir=tmp_path, **kw)  # fmt: skip


def test_no_unseen_class_text_or_label_reaches_training(tmp_path, cache_dir):
    task, net = _task()
    dm = _dm(cache_dir)
    kb = KnowledgeBase.load("procedural")
    unseen = set(dm.unseen)
    seen_texts = {t for i in kb.ids if i not in unseen for c in [kb[i]] for t in
                  (*c.descriptions, *(x.sentence() for x in c.contexts),
                   *(x.slot(s) for x in c.contexts for s in net.slots))}  # fmt: skip
    unseen_only = {t for i in unseen for c in [kb[i]] for t in
                   (*c.descriptions, *(x.sentence() for x in c.contexts),
                    *(x.slot(s) for x in c.contexts for s in net.slots))} - seen_texts  # fmt: skip
    assert unseen_only  # the check below is not vacuous
    texts, labels = [], []
    tokenize = net.language_model.tokenize

    def recording(batch, *a, **k):
        texts.extend(batch)
        return tokenize(batch, *a, **k)

    net.language_model.tokenize = recording
    step = task.training_step

    def record_step(batch, i=0):
        labels.extend(batch.meta["label"].tolist())
        return step(batch, i)

    task.training_step = record_step
    _trainer(tmp_path).fit(task, datamodule=dm)
    assert labels and not set(labels) & unseen
    assert texts and not set(texts) & unseen_only
    # Test time encodes every class, unseen ones included.
    texts.clear()
    _trainer(tmp_path, limit_test_batches=2).test(task, datamodule=dm)
    assert set(texts) & unseen_only


def test_validation_chooses_gamma_and_test_uses_it(tmp_path, cache_dir):
    task, _ = _task(gamma=123.0)
    dm = _dm(cache_dir)
    trainer = _trainer(tmp_path, num_sanity_val_steps=0, limit_val_batches=1.0)
    trainer.fit(task, datamodule=dm)
    gamma = task.gamma.clone()
    assert not torch.all(gamma == 123.0)  # replaced by the choice on the pseudo-unseen classes
    assert {"val/fused/zsl_top1", "val/fused/gzsl_h", "val/context/seen_top1"} <= set(trainer.callback_metrics)
    result = _trainer(tmp_path, limit_test_batches=2).test(task, datamodule=dm)[0]
    assert result["test/fused/gamma"] == pytest.approx(float(gamma[2]))
    for key in ("zsl_top1", "gzsl_h", "gzsl_cal_h", "ausuc"):
        assert 0.0 <= result[f"test/fused/{key}"] <= 100.0
    # "Either branch" is never below either branch alone: an OR of two classifiers.
    assert result["test/fused/neuron_either_branch_zsl"] >= max(result["test/context/zsl_top1"],
                                                                result["test/part/zsl_top1"])  # fmt: skip


def test_validation_chooses_the_fusion_weight(tmp_path, cache_dir):
    task, _ = _task(fusion_weight="val")
    dm = _dm(cache_dir)
    trainer = _trainer(tmp_path, num_sanity_val_steps=0, limit_val_batches=1.0)
    trainer.fit(task, datamodule=dm)
    weight = float(task.fusion_weight)
    assert any(weight == pytest.approx(k / 10) for k in range(11))
    assert trainer.callback_metrics["val/fused/weight"] == pytest.approx(weight)
    result = _trainer(tmp_path, limit_test_batches=2).test(task, datamodule=dm)[0]
    assert result["test/fused/weight"] == pytest.approx(weight)
    # the fused scores are that weighted sum of the branches
    batch = next(iter(dm.test_dataloader()))
    with torch.no_grad():
        s = task(batch)
    assert torch.allclose(s["fused"], weight * s["context"] + (1 - weight) * s["part"], equal_nan=True)


def test_fusion_weight_from_validation_needs_held_out_classes(tmp_path, cache_dir):
    from sic.utils.errors import ConfigError

    task, _ = _task(fusion_weight="val")
    with pytest.raises(ConfigError, match="holdout_validation"):
        _trainer(tmp_path).fit(task, datamodule=_dm(cache_dir, holdout_validation=False))


def test_ppm_schedules(tmp_path, cache_dir):
    task, _ = _task()
    trainer = _trainer(tmp_path, max_steps=30)
    task.trainer = trainer
    trainer.fit_loop.max_epochs = 3
    assert task.masked_slots() == 1  # step 0: one slot hidden (clamped from 0)
    task.ppm = False
    assert task.masked_slots() == 3
    task.ppm, task.ppm_schedule = True, "thirds"
    assert task.masked_slots() == 1  # epoch 0 of 3: two slots revealed


def test_bad_options_are_config_errors():
    from sic.utils.errors import ConfigError

    with pytest.raises(ConfigError, match="context_source"):
        _task(context_source="anything")
    with pytest.raises(ConfigError, match="loss_weights"):
        _task(loss_weights={"mlm": 1.0})
    for bad in ("validation", 1.5):
        with pytest.raises(ConfigError, match="fusion_weight"):
            _task(fusion_weight=bad)
