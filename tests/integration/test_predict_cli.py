"""``sic predict`` on a user's ``.npy`` prompt pair and queries, and on bank clips, through the real command."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from helpers.runs import run_env, run_sic

from sic.cli import main

REPO = Path(__file__).resolve().parents[2]
SMOKE = str(REPO / "configs" / "smoke" / "sic.yaml")
NPY = str(REPO / "configs" / "experiments" / "sic-eval" / "predict-npy.yaml")
F, J = 16, 17


@pytest.fixture(autouse=True)
def _cache(cache_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SIC_CACHE", str(cache_dir))
    monkeypatch.chdir(tmp_path)  # in-process runs write nothing into the checkout


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, cache_dir):
    root = tmp_path_factory.mktemp("predict")
    fit = run_sic("fit", "-c", SMOKE, cwd=root, env=run_env(SIC_CACHE=str(cache_dir)))
    assert fit.returncode == 0, fit.stderr[-3000:]
    return sorted((root / "runs" / "smoke").rglob("*.ckpt"))[-1]


def _inbetween(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Smooth motion (target) and the same with the middle frames hidden (input), ``(n, F, J, 3)``."""
    g = np.random.default_rng(seed)
    t = np.linspace(0, 1, F)[None, :, None, None]
    phase = g.normal(size=(n, 1, J, 1))
    target = (g.normal(size=(n, 1, J, 3)) * 0.2 + np.sin(2 * np.pi * t + phase)).astype(np.float32)
    target[:, :, 0] = 0  # root-relative
    hidden = target.copy()
    hidden[:, 4:12] = 0
    return hidden, target


def _files(tmp_path, queries: int = 3, **override) -> dict[str, str]:
    pin, ptgt = _inbetween(1, 0)
    qin, _ = _inbetween(queries, 1)
    arrays = {"prompt_input": pin[0], "prompt_target": ptgt[0], "query_input": qin} | override
    paths = {}
    for key, array in arrays.items():
        np.save(tmp_path / f"{key}.npy", array)
        paths[key] = str(tmp_path / f"{key}.npy")
    return paths


def _args(paths: dict[str, str], checkpoint) -> list[str]:
    return ["predict", "-c", SMOKE, "-c", NPY, "--ckpt_path", str(checkpoint),
            *(a for k, p in paths.items() for a in (f"--data.init_args.{k}", p))]  # fmt: skip


def test_predict_round_trips_npy_prompt_and_queries(tmp_path, checkpoint):
    paths = _files(tmp_path, queries=3)
    done = run_sic(*_args(paths, checkpoint), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    pred = np.load(tmp_path / "predictions" / "motion_inbetween.npy")
    assert pred.shape == (3, F, J, 3) and pred.dtype == np.float32 and np.isfinite(pred).all()
    np.testing.assert_array_equal(np.load(tmp_path / "predictions" / "motion_inbetween_index.npy"), [0, 1, 2])
    assert sorted(p.name for p in (tmp_path / "predictions").glob("*.gif")) == ["motion_inbetween_0.gif",
                                                                                 "motion_inbetween_1.gif"]  # fmt: skip
    assert not list((tmp_path / "predictions").glob(".*"))  # no temporary files left behind


def test_2d_queries_get_a_zero_depth_and_a_single_npy_output(tmp_path, checkpoint):
    pin, ptgt = _inbetween(2, 0)
    qin, _ = _inbetween(2, 1)
    paths = _files(tmp_path, prompt_input=pin[..., :2], prompt_target=ptgt, query_input=qin[..., :2])
    out = tmp_path / "mine.npy"
    main([*_args(paths, checkpoint), "--trainer.callbacks", "sic.callbacks.PredictionWriter",
          "--trainer.callbacks.output", str(out), "--trainer.default_root_dir", str(tmp_path)])  # fmt: skip
    assert np.load(out).shape == (2, F, J, 3)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"query_input": np.zeros((3, 12, J, 3), np.float32)}, "data.query_input has 12 frames but the prompt has 16"),
        ({"query_input": np.zeros((3, F, 25, 3), np.float32)}, "data.query_input: '.*' has 25 joints per frame; the "
                                                                "layout has 17"),
        ({"prompt_target": np.zeros((F, J, 4), np.float32)}, r"data.prompt_target: '.*' has shape \(1, 16, 17, 4\)"),
        ({"prompt_target": np.full((F, J, 3), np.nan, np.float32)}, "data.prompt_target: .* NaN/inf values"),
        ({"prompt_input": np.zeros((2, F, J, 3), np.float32)}, "same \\(sequences, frames, joints\\)"),
    ],
    ids=["frames", "joints", "channels", "nan", "pair-shapes"],
)
def test_bad_npy_inputs_get_one_clear_error(tmp_path, checkpoint, capsys, override, message):
    paths = _files(tmp_path, **override)
    with pytest.raises(SystemExit) as e:
        main(_args(paths, checkpoint))
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert re.search(message, line), line


def test_missing_and_foreign_files(tmp_path, checkpoint, capsys):
    paths = _files(tmp_path)
    for bad, message in ((str(tmp_path / "nope.npy"), "does not exist"), (SMOKE, "is not a readable .npy array")):
        with pytest.raises(SystemExit):
            main(_args({**paths, "query_input": bad}, checkpoint))
        err = capsys.readouterr().err
        assert f"data.query_input: '{bad}' {message}" in err or (message in err and "data.query_input" in err), err


def test_predict_on_chosen_bank_clips(tmp_path, checkpoint):
    done = run_sic("predict", "-c", SMOKE, "--ckpt_path", str(checkpoint), "--data.init_args.predict_task",
                   "joint_completion", "--data.init_args.predict_items", "[5, 2]", "--trainer.callbacks",
                   "sic.callbacks.PredictionWriter", "--trainer.callbacks.output", str(tmp_path / "bank"),
                   cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert np.load(tmp_path / "bank" / "joint_completion.npy").shape == (2, F, J, 3)
    np.testing.assert_array_equal(np.load(tmp_path / "bank" / "joint_completion_index.npy"), [5, 2])



def test_a_custom_task_is_scored_with_query_targets(tmp_path, checkpoint):
    qin, qtgt = _inbetween(4, 1)
    paths = _files(tmp_path, query_input=qin, query_target=qtgt)
    args = _args(paths, checkpoint)
    predicted = run_sic(*args, cwd=tmp_path)
    logged = ["--trainer.logger", "true", "--trainer.default_root_dir", str(tmp_path / "runs")]
    tested = run_sic("test", *args[1:], *logged, cwd=tmp_path)
    assert predicted.returncode == 0 and tested.returncode == 0, tested.stderr[-3000:]
    (report,) = (tmp_path / "runs").rglob("test_metrics.json")
    pred = np.load(tmp_path / "predictions" / "motion_inbetween.npy")
    mpjpe = np.linalg.norm(pred - qtgt, axis=-1).mean() * 1000  # the metric by hand, from the written predictions
    assert json.loads(report.read_text())["test/motion_inbetween/mpjpe"] == pytest.approx(mpjpe, rel=1e-3)
