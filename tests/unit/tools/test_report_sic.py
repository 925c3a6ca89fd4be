# ruff: noqa: RUF001
"""tools/report_sic.py: commands per row, acceptance relations and tables from finished runs, marked blocks."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from sic.tasks.report import markers

_TOOL = Path(__file__).parents[3] / "tools" / "report_sic.py"
_SPEC = importlib.util.spec_from_file_location("report_sic", _TOOL)
report = importlib.util.module_from_spec(_SPEC)
sys.modules["report_sic"] = report  # dataclasses look their module up
_SPEC.loader.exec_module(report)
TASKS = (*report.TASKS, "motion_inbetween")


def _finish(out: Path, row: str, metrics: dict[str, float], seconds: float | None = None) -> None:
    d = report.run_dir(out, row) / "lightning_logs" / "version_0"
    d.mkdir(parents=True)
    (d / "test_metrics.json").write_text(json.dumps(metrics))
    if seconds is not None:
        (report.run_dir(out, row) / "fit_seconds.txt").write_text(f"{seconds}\n")


def _all(value: float) -> dict[str, float]:
    return {f"test/{t}/mpjpe": value for t in TASKS}


def test_trained_rows_fit_then_test_their_own_checkpoint(tmp_path):
    fit, test = report.commands("tgp-only", tmp_path)
    assert fit[:2] == ["sic", "fit"] and test[:2] == ["sic", "test"]
    configs = [fit[i + 1] for i, a in enumerate(fit) if a == "-c"]
    overlay = f"{report.EXP}/sic-baselines/tgp-only.yaml"
    assert configs == [report.BASE, overlay, str(tmp_path / "tgp-only" / "run.yaml")]
    assert test[test.index("--ckpt_path") + 1] == str(tmp_path / "tgp-only" / "last.ckpt")


def test_evaluation_rows_test_another_rows_checkpoint_or_none(tmp_path):
    (only,) = report.commands("select-motion", tmp_path)
    assert only[:2] == ["sic", "test"] and only[only.index("--ckpt_path") + 1] == str(tmp_path / "sic" / "last.ckpt")
    (copy,) = report.commands("copy", tmp_path)
    assert "--ckpt_path" not in copy and copy[copy.index("-c") + 1].endswith("copy-quickstart.yaml")
    (cmu,) = report.commands("cmu-sic", tmp_path)
    assert cmu[-3] == str(tmp_path / "cmu-sic" / "cmu.yaml")  # the prepared archive's source overrides the data


def test_overlay_sets_the_budget_only_for_trained_rows(tmp_path):
    import yaml

    fit = yaml.safe_load(report.overlay(tmp_path, 120, None, fit=True).read_text())
    assert fit["trainer"]["max_steps"] == 120 and fit["trainer"]["val_check_interval"] == 60
    assert fit["model"]["init_args"]["scheduler"]["init_args"]["T_max"] == 120
    test = yaml.safe_load(report.overlay(tmp_path, 120, tmp_path / "cmu", fit=False).read_text())
    assert test == {"trainer": {"default_root_dir": str(tmp_path)}}
    cmu = yaml.safe_load((tmp_path / "cmu.yaml").read_text())
    assert cmu["data"]["init_args"]["sources"][0]["init_args"]["root"] == str(tmp_path / "cmu")


def test_acceptance_relations_follow_the_numbers():
    copy, good = _all(100.0), _all(30.0)
    metrics = {"copy": copy, "sic": good, "prompt-free": _all(60.0), "tgp-only": _all(40.0), "tup-only": _all(30.0)}
    assert [ok for _, ok in report.checks(metrics)] == [True, True, True, True]
    metrics["sic"] = {**good, "test/pose_estimation/mpjpe": 36.0}  # 0.36 of Copy and worse than TUP only
    assert [ok for _, ok in report.checks(metrics)] == [False, True, False, True]
    del metrics["prompt-free"]
    assert report.checks(metrics)[1][1] is None  # a needed row was not run


def test_report_has_ratios_horizons_and_wall_times(tmp_path):
    _finish(tmp_path, "copy", _all(100.0))
    _finish(tmp_path, "sic", _all(25.0), seconds=42.4)
    horizon = report.run_dir(tmp_path, "sic") / "lightning_logs" / "version_0" / "test_metrics.json"
    metrics = json.loads(horizon.read_text()) | {"test/motion_prediction/mpjpe_400ms": 31.0,
                                                  "test/motion_prediction/mpjpe_80ms": 12.0}  # fmt: skip
    horizon.write_text(json.dumps(metrics))
    text = report.report(tmp_path, ["copy", "sic", "tgp-only"], 50, "python tools/report_sic.py --steps 50")
    assert "`python tools/report_sic.py --steps 50`" in text and "50 training steps" in text
    assert "| Dynamic-SiC (TGP + dynamic TUP) | 25.0 (0.25×) | 25.0 (0.25×) |" in text
    assert "| model | 80ms | 400ms | all frames |" in text and "| 12.0 | 31.0 | 25.0 |" in text
    assert "Dynamic-SiC (TGP + dynamic TUP): 42 s" in text
    assert "(none of these rows was run)" in text  # e.g. the CMU rows


def test_tables_replace_only_the_marked_block(tmp_path):
    doc = tmp_path / "r.md"
    (b, e), (fb, fe) = markers(), markers("full")
    doc.write_text(f"intro\n{b}\nold\n{e}\nmiddle\n{fb}\nold full\n{fe}\nreading\n")
    report.write_tables(doc, "new")
    report.write_tables(doc, "new full", "full")
    assert doc.read_text() == f"intro\n{b}\nnew\n{e}\nmiddle\n{fb}\nnew full\n{fe}\nreading\n"
    (tmp_path / "bare.md").write_text("no markers")
    with pytest.raises(SystemExit, match="markers"):
        report.write_tables(tmp_path / "bare.md", "x")


def test_dry_run_lists_every_default_row(capsys, tmp_path):
    report.main(["--dry-run", "--steps", "5", "--out", str(tmp_path)])
    lines = capsys.readouterr().out.splitlines()
    fits = [line for line in lines if line.startswith("sic fit")]
    assert len(fits) == sum(report.ROWS[r].fit for r in report.DEFAULT_ROWS)
    assert all(str(tmp_path / "steps5") in line for line in lines)


def test_cross_dataset_ratios_are_to_copy_on_the_same_data():
    metrics = {"copy": _all(100.0), "cmu-copy": _all(200.0), "cmu-sic": _all(50.0)}
    text = report.task_table(metrics, ["cmu-copy", "cmu-sic"], reference="cmu-copy")
    assert "| Dynamic-SiC, trained on the embedded source | 50.0 (0.25×) |" in text
    assert "| Copy, on CMU | 200.0 |" in text


def test_the_header_shows_the_arguments_that_decide_the_runs():
    argv = ["--budget", "full", "--collect-only", "--out", "/tmp/x", "--block", "tables-full", "--rows", "sic", "copy"]
    assert report.shown_arguments(argv) == ["--budget", "full", "--rows", "sic", "copy"]
