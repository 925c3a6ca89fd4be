# ruff: noqa: RUF001
"""tools/report_zero_shot.py: commands per row and seed, tables from finished runs, tables between markers."""

import importlib.util
import json
from pathlib import Path

import pytest

_TOOL = Path(__file__).parents[3] / "tools" / "report_zero_shot.py"
_SPEC = importlib.util.spec_from_file_location("report_zero_shot", _TOOL)
report = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(report)


def _finish(out: Path, row: str, seed: int, zsl: float, seconds: float = 10.0) -> None:
    d = report.run_dir(out, row, seed) / "lightning_logs" / "version_0"
    d.mkdir(parents=True)
    (d / "test_metrics.json").write_text(json.dumps({"test/fused/zsl_top1": zsl, "test/fused/weight": 0.3}))
    (report.run_dir(out, row, seed) / "fit_seconds.txt").write_text(f"{seconds}\n")


def test_commands_compose_the_row_overlay_and_the_run_directory(tmp_path):
    fit, test = report.commands("dje", 3, tmp_path, epochs=7)
    assert fit[:2] == ["sic", "fit"] and test[:2] == ["sic", "test"]
    assert fit[fit.index("--seed_everything") + 1] == "3" and fit[fit.index("--trainer.max_epochs") + 1] == "7"
    configs = [fit[i + 1] for i, a in enumerate(fit) if a == "-c"]
    assert configs == [report.BASE, report.ROWS["dje"][1], str(tmp_path / "dje-s3" / "run.yaml")]
    assert test[test.index("--ckpt_path") + 1] == str(tmp_path / "dje-s3" / "last.ckpt")
    assert [a for a in report.commands("full", 0, tmp_path, 1)[0] if a == "-c"] == ["-c", "-c"]  # no overlay


def test_table_is_mean_and_std_over_finished_seeds(tmp_path):
    _finish(tmp_path, "baseline", 0, 80.0, 100)
    _finish(tmp_path, "baseline", 1, 90.0, 200)
    _finish(tmp_path, "full", 1, 70.0)
    text = report.table(tmp_path, ["baseline", "full", "dje"], [0, 1])
    rows = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines()[2:]}
    assert set(rows) == {"plain alignment baseline", "SkeletonContext (DJE + SCG + PPM + KPD)"}  # dje unfinished
    baseline = rows["plain alignment baseline"]
    assert "| 2 | 85.0 ± 7.1 |" in baseline and baseline.endswith("| 150 |")
    assert "| 1 | 70.0 |" in rows["SkeletonContext (DJE + SCG + PPM + KPD)"]
    paired = report.per_seed(tmp_path, ["baseline", "full"], [0, 1])
    assert "| SkeletonContext (DJE + SCG + PPM + KPD) | – | 70.0 |" in paired


def test_tables_replace_only_the_marked_block(tmp_path):
    doc = tmp_path / "r.md"
    doc.write_text(f"intro\n{report.BEGIN}\nold\n{report.END}\nreading\n")
    report.write_tables(doc, "new table")
    assert doc.read_text() == f"intro\n{report.BEGIN}\nnew table\n{report.END}\nreading\n"
    (tmp_path / "bare.md").write_text("no markers")
    with pytest.raises(SystemExit, match="markers"):
        report.write_tables(tmp_path / "bare.md", "x")
