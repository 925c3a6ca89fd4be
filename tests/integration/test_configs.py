from pathlib import Path

import lightning as L
import numpy as np
import pytest
import yaml

from sic.cli import SicCLI
from sic.data.action_splits import CLASS_NAMES
from sic.data.formats.skeleton_npz import write_skeleton_npz
from sic.data.motion import MotionRecord, write_motion_archive
from sic.data.skeleton import get_layout

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(p for p in (REPO / "configs").rglob("*.yaml") if "sweeps" not in p.parts)
FRAGMENTS = {"trainer", "logger", "callbacks"}
# Fragment directories composed after a method's own full config.
BASES = {
    "lifting-ablations": "experiments/lifting-quickstart.yaml",
    "lifting-recipes": "experiments/lifting-h36m-243.yaml",
    "ablations": "experiments/zero-shot/procedural-skeleton-context.yaml",
    "sic-baselines": "experiments/sic-quickstart.yaml",
    "sic-eval": "experiments/sic-quickstart.yaml",
    "sic-arch": "experiments/sic-quickstart.yaml",
}


def test_there_are_configs():
    assert len(CONFIGS) >= 4


def _motion_archives(path: Path) -> list[tuple[str, str]]:
    """``(root, layout)`` of every MotionArchiveSource in a config (smpl24 where the legacy SMPL map is asked for)."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if str(node.get("class_path", "")).endswith("MotionArchiveSource"):
                args = node.get("init_args", {})
                found.append((args["root"], "smpl24" if args.get("joint_map") == "legacy" else "h36m17"))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(yaml.safe_load(path.read_text()))
    return found


def _recognition_archives(path: Path) -> list[tuple[str, str]]:
    """``(path, dataset)`` of every RecognitionDataModule over a prepared NTU/PKU archive."""
    data = (yaml.safe_load(path.read_text()) or {}).get("data") or {}
    args = data.get("init_args", {}) if str(data.get("class_path", "")).endswith("RecognitionDataModule") else {}
    return [(args["path"], args["dataset"])] if args.get("path") else []


def _base(path: Path) -> str | None:
    """The full config a fragment is composed after (None for a full config)."""
    base = next((b for d, b in BASES.items() if d in path.parts), None)
    return base or ("smoke/sic.yaml" if FRAGMENTS & set(path.parts) else None)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(REPO / "configs")))
def test_config_parses_and_instantiates(path, tmp_path, monkeypatch):
    """Every key resolves; GPU configs are instantiated with CPU overrides (CI has no GPU)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("WANDB_MODE", "offline")
    base = REPO / "configs" / _base(path) if _base(path) else None
    composed = ([base] if base else []) + [path]
    for root, layout in [a for p in composed for a in _motion_archives(p)]:  # configs over prepared archives: tiny ones
        joints = np.random.default_rng(0).normal(size=(300, get_layout(layout).num_joints, 3)).astype(np.float32)
        recs = {s: MotionRecord(joints, 120.0, layout, split=s) for s in ("train", "val", "test")}
        write_motion_archive(tmp_path / root, recs, name=Path(root).name)
    for root, dataset in [a for p in composed for a in _recognition_archives(p)]:  # tiny NTU/PKU archives
        labels = np.arange(len(CLASS_NAMES[dataset]))
        x = np.random.default_rng(0).normal(size=(len(labels), 8, 2, 25, 3)).astype(np.float32)
        write_skeleton_npz(tmp_path / root, {"train": (x, labels), "test": (x, labels)})
    gpu = any("gpu" in p.read_text() for p in composed)
    cli = SicCLI(
        L.LightningModule,
        L.LightningDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        seed_everything_default=0,
        auto_configure_optimizers=False,
        save_config_kwargs={"overwrite": True},
        parser_kwargs={"exit_on_error": True},
        # fragments (trainer/, logger/, callbacks/, a method's ablations) only make sense composed after a full config
        args=[a for p in composed for a in ("-c", str(p))]
        + (["--trainer.accelerator=cpu", "--trainer.devices=1", "--trainer.strategy=auto"] if gpu else []),
        run=False,
    )
    assert isinstance(cli.model, L.LightningModule)
    assert isinstance(cli.datamodule, L.LightningDataModule)
