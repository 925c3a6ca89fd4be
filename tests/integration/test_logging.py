"""Loggers and visual outputs through the real ``sic`` command: W&B offline, GIF animations, horizon plots."""

from pathlib import Path

import pytest
from helpers.runs import REPO, run_env, run_sic
from PIL import Image

SMOKE = str(REPO / "configs" / "smoke" / "sic.yaml")
WANDB = str(REPO / "configs" / "logger" / "wandb.yaml")
VISUAL = str(REPO / "configs" / "callbacks" / "visual.yaml")
ONE_SAMPLE = "--trainer.callbacks.samples_per_task=1"


def _gif_frames(path: Path) -> tuple[int, tuple[int, int]]:
    with Image.open(path) as im:
        return im.n_frames, im.size


@pytest.mark.slow
def test_gifs_and_horizon_plots_land_in_the_run_directory(tmp_path):
    fit = run_sic("fit", "-c", SMOKE, "-c", VISUAL, ONE_SAMPLE, cwd=tmp_path, env=run_env(SIC_CACHE=str(tmp_path / "c")))
    assert fit.returncode == 0, fit.stderr[-3000:]
    media = next((tmp_path / "runs" / "smoke").rglob("media")) / "val"
    gifs = sorted(media.rglob("*.gif"))
    assert {g.parent.name for g in gifs} == {"motion_prediction", "pose_estimation", "future_pose_estimation",
                                             "joint_completion", "motion_inbetween"}  # fmt: skip
    frames, (width, height) = _gif_frames(gifs[0])
    assert frames == 16 and width == 4 * height  # 16 target frames, four square panels
    assert (media / "horizons_step4.png").stat().st_size > 0
    assert not list(media.rglob(".*tmp*")), "temporary files left behind"


@pytest.mark.slow
def test_wandb_offline_run_has_config_metrics_and_media(tmp_path):
    pytest.importorskip("wandb")
    from helpers.wandb_records import read_run

    env = run_env(SIC_CACHE=str(tmp_path / "c"), WANDB_MODE="offline", WANDB_SILENT="true")
    fit = run_sic("fit", "-c", SMOKE, "-c", WANDB, "-c", VISUAL, ONE_SAMPLE, cwd=tmp_path, env=env)
    assert fit.returncode == 0, fit.stderr[-3000:]
    (run_file,) = (tmp_path / "runs" / "wandb").rglob("offline-run-*/run-*.wandb")
    config, history = read_run(run_file)
    assert config["model"]["class_path"] == "sic.tasks.InContextTask"
    assert config["model"]["init_args"]["net"]["init_args"]["dim"] == 32
    assert config["data"]["init_args"]["batch_size"] == 8 and config["seed_everything"] == 0
    logged = {k: v for row in history for k, v in row.items()}
    assert logged["val/motion_prediction/mpjpe"] > 0 and "train/loss" in logged and "val/mpjpe" in logged
    assert logged["media/val/motion_prediction/_type"] == "videos" and logged["media/val/motion_prediction/count"] == 1
    assert logged["media/val/horizons/_type"] == "images/separated" and logged["media/val/horizons/format"] == "png"
    files = run_file.parent / "files" / "media"
    assert list(files.rglob("*.gif")) and list(files.rglob("*.png"))
