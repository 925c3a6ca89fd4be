import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers.runs import run_sic as _sic

from sic.cli import main

REPO = Path(__file__).resolve().parents[2]
SMOKE = str(REPO / "configs" / "smoke" / "sic.yaml")


@pytest.fixture
def env(run_dir, cache_dir, monkeypatch):
    monkeypatch.setenv("SIC_CACHE", str(cache_dir))
    return run_dir


def test_fit_test_predict_through_the_sic_command(env):
    fit = _sic("fit", "-c", SMOKE, cwd=env)
    assert fit.returncode == 0, fit.stderr[-3000:]
    ckpts = sorted((env / "runs" / "smoke").rglob("*.ckpt"))
    assert ckpts, "fit wrote no checkpoint"
    test = _sic("test", "-c", SMOKE, "--ckpt_path", str(ckpts[-1]), cwd=env)
    assert test.returncode == 0, test.stderr[-3000:]
    assert "test metrics (mm)" in test.stdout
    report = sorted((env / "runs" / "smoke").rglob("test_metrics.json"))[-1]
    metrics = json.loads(report.read_text())
    for task in ("motion_prediction", "pose_estimation", "future_pose_estimation", "joint_completion", "motion_inbetween"):
        assert metrics[f"test/{task}/mpjpe"] > 0
    assert {"test/motion_prediction/mpjpe_400ms", "test/future_pose_estimation/mpjpe_300ms",
            "test/pose_estimation/pa_mpjpe", "test/joint_completion/mpjpe_masked_60"} <= set(metrics)  # fmt: skip
    pred = _sic("predict", "-c", SMOKE, "--ckpt_path", str(ckpts[-1]), cwd=env)
    assert pred.returncode == 0, pred.stderr[-3000:]


def test_test_metrics_are_reproducible(env):
    args = ["test", "-c", str(REPO / "configs" / "experiments" / "copy-quickstart.yaml"),
            "--data.init_args.sources", json.dumps([{"class_path": "sic.data.sources.ProceduralSource",
                                                      "init_args": {"clips_per_split": {"train": 32, "val": 8, "test": 16}}}]),
            "--trainer.enable_progress_bar", "false"]  # fmt: skip
    main(args)
    main(args)
    reports = sorted((env / "runs" / "copy-quickstart").rglob("test_metrics.json"))
    assert len(reports) == 2
    assert json.loads(reports[0].read_text()) == json.loads(reports[1].read_text())


def _error(capsys, args) -> str:
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code != 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def test_unknown_config_key(env, capsys):
    assert "bogus" in _error(capsys, ["fit", "-c", SMOKE, "--trainer.bogus", "1"])
    bad = env / "bad.yaml"
    bad.write_text("model:\n  class_path: sic.tasks.InContextTask\n  init_args:\n    bogus_key: 1\n")
    assert "bogus_key" in _error(capsys, ["fit", "-c", SMOKE, "-c", str(bad)])


def test_missing_and_unparsable_yaml(env, capsys):
    assert "nope.yaml" in _error(capsys, ["fit", "-c", "nope.yaml"])
    broken = env / "broken.yaml"
    broken.write_text("trainer: [1, 2\n")
    assert "broken.yaml" in _error(capsys, ["fit", "-c", str(broken)])


def test_unknown_task_id(env, capsys):
    msg = _error(capsys, ["fit", "-c", SMOKE, "--data.init_args.tasks", "[flying]"])
    assert "unknown task id 'flying'" in msg and "motion_prediction" in msg


def test_missing_and_corrupt_checkpoint(env, capsys):
    assert "does not exist" in _error(capsys, ["test", "-c", SMOKE, "--ckpt_path", "missing.ckpt"])
    corrupt = env / "corrupt.ckpt"
    corrupt.write_bytes(b"PK\x03\x04 this is not a checkpoint")
    assert "corrupt.ckpt" in _error(capsys, ["test", "-c", SMOKE, "--ckpt_path", str(corrupt)])


def test_missing_data_root(env, capsys):
    sources = json.dumps([{"class_path": "sic.data.sources.ArchiveSource", "init_args": {"root": "/no/such/dir"}}])
    msg = _error(capsys, ["fit", "-c", SMOKE, "--data.init_args.sources", sources])
    assert "/no/such/dir" in msg and "does not exist" in msg


def test_inconsistent_frame_counts(env, capsys):
    msg = _error(capsys, ["fit", "-c", SMOKE, "--model.init_args.net.init_args.num_frames", "8"])
    assert "inconsistent num_frames" in msg and "data num_frames=16" in msg


def test_cmu_bank_prepare_fit_and_test_through_the_sic_command(env):
    from mocap_fixtures import motion, write_amc, write_asf

    raw = env / "raw"
    raw.mkdir()
    for subject, seed in (("10", 0), ("11", 1)):
        write_asf(raw / f"{subject}.asf")
        write_amc(raw / f"{subject}_01.amc", motion(960, seed=seed))
    prep = subprocess.run([sys.executable, str(REPO / "tools" / "prepare_mocap.py"), str(raw), "-o", "data/cmu", "--split", "time",
                           "--time-fractions", "0.7", "0.15", "0.15", "--no-progress"], cwd=env, capture_output=True, text=True)  # fmt: skip
    assert prep.returncode == 0, prep.stderr
    config = str(REPO / "configs" / "experiments" / "sic-cmu.yaml")
    small = ["--trainer.max_steps", "4", "--trainer.val_check_interval", "2", "--trainer.limit_val_batches", "1",
             "--trainer.limit_test_batches", "1", "--trainer.enable_progress_bar", "false",
             "--model.init_args.net.init_args.num_frames", "8", "--model.init_args.net.init_args.dim", "32",
             "--data.init_args.num_frames", "8", "--data.init_args.sources",
             json.dumps([{"class_path": "sic.data.sources.MotionArchiveSource", "init_args": {"root": "data/cmu", "fps": 25.0}}])]  # fmt: skip
    fit = _sic("fit", "-c", config, *small, cwd=env)
    assert fit.returncode == 0, fit.stderr[-3000:]
    test = _sic("test", "-c", config, *small, "--ckpt_path", "runs/sic-cmu/checkpoints/last.ckpt", cwd=env)
    assert test.returncode == 0, test.stderr[-3000:]
    metrics = json.loads(sorted((env / "runs" / "sic-cmu").rglob("test_metrics.json"))[-1].read_text())
    for task in ("motion_prediction", "pose_estimation", "future_pose_estimation", "joint_completion", "motion_inbetween"):
        assert metrics[f"test/{task}/mpjpe"] > 0


def test_config_model_arguments_win_over_the_checkpoints_hyperparameters(env, tmp_path):
    fit = _sic("fit", "-c", SMOKE, "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "1", cwd=env)
    assert fit.returncode == 0, fit.stderr[-3000:]
    ckpt = sorted((env / "runs" / "smoke").rglob("*.ckpt"))[-1]
    overlay = tmp_path / "select.yaml"  # test-time options the model was not trained with
    overlay.write_text("model:\n  init_args:\n    prompt_selection: motion\n    prompt_ensemble: 2\n"
                       "data:\n  init_args:\n    prompt_candidates: 3\n")  # fmt: skip
    test = _sic("test", "-c", SMOKE, "-c", str(overlay), "--ckpt_path", str(ckpt), cwd=env)
    assert test.returncode == 0, test.stderr[-3000:]
    config = sorted((env / "runs" / "smoke").rglob("config.yaml"), key=lambda p: p.stat().st_mtime)[-1]
    model = yaml.safe_load(config.read_text())["model"]["init_args"]
    assert (model["prompt_selection"], model["prompt_ensemble"]) == ("motion", 2)
