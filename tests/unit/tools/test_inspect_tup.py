"""tools/inspect_tup.py: a checkpoint's TUP pose, the mean pose, the summary, and the zero-TUP error."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sic.models.inspect import unified_prompt_pose

REPO = Path(__file__).parents[3]
_SPEC = importlib.util.spec_from_file_location("inspect_tup", REPO / "tools" / "inspect_tup.py")
tool = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(tool)
SMOKE = str(REPO / "configs" / "smoke" / "sic.yaml")


def _checkpoint(path: Path, configs: list[str]) -> Path:
    from lightning import LightningDataModule, LightningModule

    from sic.cli import SicCLI

    cli = SicCLI(LightningModule, LightningDataModule, subclass_mode_model=True, subclass_mode_data=True, run=False,
                 args=[a for c in configs for a in ("-c", c)], save_config_callback=None)  # fmt: skip
    torch.save({"state_dict": {f"net.{k}": v for k, v in cli.model.net.state_dict().items()}}, path)
    return path


@pytest.fixture(autouse=True)
def _cache(cache_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SIC_CACHE", str(cache_dir))
    monkeypatch.chdir(tmp_path)


def test_writes_the_tup_pose_the_mean_pose_and_a_summary(tmp_path, capsys):
    ckpt = _checkpoint(tmp_path / "m.ckpt", [SMOKE])
    tool.main(["-c", SMOKE, "--ckpt", str(ckpt), "--objective", "least_squares", "--out", str(tmp_path / "o")])
    pose, mean = np.load(tmp_path / "o" / "tup_pose.npy"), np.load(tmp_path / "o" / "mean_pose.npy")
    assert pose.shape == mean.shape == (16, 17, 3)
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    net, _ = tool.load([SMOKE], str(ckpt))
    expected, similarity = unified_prompt_pose(net, "least_squares")
    np.testing.assert_allclose(pose, expected.numpy(), atol=1e-5)
    assert summary["cosine_similarity"] == pytest.approx(similarity, abs=1e-6)
    mpjpe = np.linalg.norm(pose - mean, axis=-1).mean() * 1000
    assert summary["mpjpe_to_mean_pose_mm"] == pytest.approx(mpjpe, rel=1e-4)
    printed = capsys.readouterr().out
    assert json.loads(printed[printed.index("{") :]) == summary


def test_a_zero_dynamic_tup_is_reported_not_inspected(tmp_path):
    overlay = tmp_path / "zero.yaml"
    overlay.write_text("model:\n  init_args:\n    net:\n      init_args:\n        tup_init: zero\n")
    ckpt = _checkpoint(tmp_path / "z.ckpt", [SMOKE, str(overlay)])
    with pytest.raises(SystemExit, match="error: the dynamic TUP is all zeros"):
        tool.main(["-c", SMOKE, "-c", str(overlay), "--ckpt", str(ckpt), "--out", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()  # nothing half-written
