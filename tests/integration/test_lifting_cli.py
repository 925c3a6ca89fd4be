"""The lifting family through the real ``sic`` command: fit, then test clean and under the robustness suite."""

import json
from pathlib import Path

import pytest
from helpers.runs import run_sic

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "configs" / "smoke" / "lifting.yaml"


@pytest.fixture
def env(run_dir, cache_dir, monkeypatch):
    monkeypatch.setenv("SIC_CACHE", str(cache_dir))
    return run_dir


def test_lifting_fit_then_test_reports_clean_and_corrupted_errors(env):
    fit = run_sic("fit", "-c", str(SMOKE), cwd=env)
    assert fit.returncode == 0, fit.stderr[-3000:]
    ckpt = sorted((env / "runs" / "smoke-lifting").rglob("*.ckpt"))[-1]
    test = run_sic("test", "-c", str(SMOKE), "--ckpt_path", str(ckpt), cwd=env)
    assert test.returncode == 0, test.stderr[-3000:]
    metrics = json.loads(sorted((env / "runs" / "smoke-lifting").rglob("test_metrics.json"))[-1].read_text())
    for loader in ("clean", "joint_occlusion@0.3", "speed@2"):
        assert 0 < metrics[f"test/{loader}/pa_mpjpe"] <= metrics[f"test/{loader}/mpjpe"]
        assert 0 <= metrics[f"test/{loader}/pck"] <= 100
    assert "robustness, test mpjpe (mm); clean" in test.stdout
    assert "joint_occlusion  @0.3" in test.stdout


def test_an_unknown_corruption_is_a_clear_error(env):
    run = run_sic("fit", "-c", str(SMOKE), "--data.init_args.robustness={fog: [1.0]}", cwd=env)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "fog" in run.stderr and "joint_occlusion" in run.stderr
