"""Zero-shot recognition through the real ``sic`` command: pretrain Shift-GCN on the training classes, train
SkeletonContext over it, test ZSL/GZSL; bad input is a one-line error."""

import json
from pathlib import Path

import pytest
from helpers.runs import run_sic

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "configs" / "smoke"


@pytest.fixture
def env(run_dir, cache_dir, monkeypatch):
    monkeypatch.setenv("SIC_CACHE", str(cache_dir))
    return run_dir


def test_pretrain_then_zero_shot_fit_and_test(env):
    pre = run_sic("fit", "-c", str(SMOKE / "recognition.yaml"), cwd=env)
    assert pre.returncode == 0, pre.stderr[-3000:]
    backbone = sorted((env / "runs" / "smoke-recognition").rglob("*.ckpt"))[-1]
    cfg = str(SMOKE / "zero-shot.yaml")
    fit = run_sic("fit", "-c", cfg, f"--model.init_args.backbone_checkpoint={backbone}", cwd=env)
    assert fit.returncode == 0, fit.stderr[-3000:]
    assert "without backbone_checkpoint" not in fit.stderr
    ckpt = sorted((env / "runs" / "smoke-zero-shot").rglob("*.ckpt"))[-1]
    # One test run writes its confusion and reads a baseline's (here a hand-made one) for Table 4's clusters.
    baseline = env / "baseline_confusion.json"
    confusion = [[8 if i == j else (2 if abs(i - j) == 1 else 0) for j in range(17)] for i in range(17)]
    baseline.write_text(json.dumps({"confusion": confusion, "per_class_accuracy": [0.2 + 0.04 * i for i in range(17)]}))
    test = run_sic("test", "-c", cfg, "--ckpt_path", str(ckpt), "--model.init_args.write_confusion=true",
                   f"--model.init_args.similar_classes={baseline}", cwd=env)  # fmt: skip
    assert test.returncode == 0, test.stderr[-3000:]
    root = env / "runs" / "smoke-zero-shot"
    metrics = json.loads(sorted(root.rglob("test_metrics.json"))[-1].read_text())
    for branch in ("context", "part", "fused"):
        for key in ("zsl_top1", "gzsl_seen", "gzsl_unseen", "gzsl_h", "gzsl_cal_h", "ausuc"):
            assert 0.0 <= metrics[f"test/{branch}/{key}"] <= 100.0
    assert {k for k in metrics if k.startswith("test/similar_")} >= {"test/similar_easy/zsl", "test/similar_hard/gzsl"}
    written = json.loads(sorted(root.rglob("confusion.json"))[-1].read_text())
    assert len(written["confusion"]) == 17 and written["unseen"] == [1, 5, 12, 15]


def test_a_split_of_another_dataset_is_a_clear_error(env):
    run = run_sic("fit", "-c", str(SMOKE / "zero-shot.yaml"), "--data.init_args.split=ntu60-55-5", cwd=env)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "ntu60-55-5" in run.stderr


def test_a_missing_backbone_checkpoint_is_a_clear_error(env):
    run = run_sic("fit", "-c", str(SMOKE / "zero-shot.yaml"), "--model.init_args.backbone_checkpoint=nope.ckpt",
                  cwd=env)  # fmt: skip
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert "nope.ckpt" in run.stderr
