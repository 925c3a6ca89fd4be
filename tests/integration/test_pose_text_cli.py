"""The pose-text family through the real ``sic`` command: tokenizer and retrieval fit + test, and the caption tool."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers.runs import run_sic

from sic.data.poses import PoseSet

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "configs" / "smoke"


@pytest.fixture
def env(run_dir, cache_dir, monkeypatch):
    monkeypatch.setenv("SIC_CACHE", str(cache_dir))
    return run_dir


def _fit_then_test(config: Path, run: str, cwd: Path, *extra: str) -> dict:
    fit = run_sic("fit", "-c", str(config), *extra, cwd=cwd)
    assert fit.returncode == 0, fit.stderr[-3000:]
    ckpt = sorted((cwd / "runs" / run).rglob("*.ckpt"))[-1]
    test = run_sic("test", "-c", str(config), "--ckpt_path", str(ckpt), *extra, cwd=cwd)
    assert test.returncode == 0, test.stderr[-3000:]
    return json.loads(sorted((cwd / "runs" / run).rglob("test_metrics.json"))[-1].read_text())


def test_pose_tokenizer_fit_and_test(env):
    metrics = _fit_then_test(SMOKE / "pose-tokenizer.yaml", "smoke-pose-tokenizer", env)
    assert metrics["test/tokenizer/mpjpe_h36m17"] > 0
    assert metrics["test/tokenizer/pa_mpjpe_h36m17"] <= metrics["test/tokenizer/mpjpe_h36m17"]
    assert 0 < metrics["test/tokenizer/codebook_usage"] <= 1


@pytest.mark.parametrize("pairs", [False, True], ids=["pose-text", "pair-text"])
def test_retrieval_fit_and_test(env, pairs):
    extra = ["--data.init_args.pairs=true", "--model.init_args.net.init_args.pose_encoder.init_args.num_poses=2"] if pairs else []
    metrics = _fit_then_test(SMOKE / "pose-text.yaml", "smoke-pose-text", env, *extra)
    keys = {f"test/retrieval/r{k}_{d}" for k in (1, 5, 10) for d in ("t2p", "p2t")} | {"test/retrieval/mrecall"}
    assert keys <= set(metrics)
    assert all(0.0 <= metrics[k] <= 1.0 for k in keys)


def test_retrieval_rejects_pairs_for_a_single_pose_encoder(env):
    run = run_sic("fit", "-c", str(SMOKE / "pose-text.yaml"), "--data.init_args.pairs=true", cwd=env)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "error: model net num_poses=1 but the data give 2" in run.stderr


def test_caption_bank_tool_writes_sets_the_datamodule_reads(env):
    out = env / "captions"
    tool = subprocess.run([sys.executable, str(REPO / "tools" / "caption_bank.py"), "-o", str(out), "--num-poses", "20", "5", "5",
                           "--captions", "2", "--splits", "train", "val", "--clips", "8", "4", "4"], capture_output=True, text=True, cwd=env, timeout=600)  # fmt: skip
    assert tool.returncode == 0, tool.stderr[-3000:]
    assert "train: 20 poses" in tool.stdout
    data = PoseSet.load(out / "val")
    lines = [json.loads(line) for line in (out / "val" / "captions.jsonl").read_text().splitlines()]
    assert len(lines) == len(data.poses) == 5 and all(len(line["captions"]) == 2 for line in lines)
    assert lines[0]["captions"] == data.captions[0]
    np.testing.assert_array_equal(data.poses[:, :, 0], 0.0)  # root-relative

    from sic.data import PoseDataModule  # the sets feed training directly

    dm = PoseDataModule(root=str(out), captions=1, batch_size=4)
    dm.setup("validate")
    assert next(iter(dm.val_dataloader())).texts[:2] == tuple(data.captions[0])
    bad = subprocess.run([sys.executable, str(REPO / "tools" / "caption_bank.py"), "-o", str(out), "--archive", str(env / "nope")],
                         capture_output=True, text=True, cwd=env, timeout=600)  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and "nope" in bad.stderr
