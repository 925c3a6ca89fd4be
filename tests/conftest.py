from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CMU = SHARED / "data" / "mocap" / "cmu"


def pytest_collection_modifyitems(config, items):
    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs a CUDA device")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _restore_torch_state():
    dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
    yield
    torch.set_default_dtype(dtype)
    torch.set_num_threads(threads)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """One archive cache per test session: procedural clips are generated once."""
    return tmp_path_factory.mktemp("sic-cache")


@pytest.fixture
def run_dir(tmp_path, monkeypatch) -> Path:
    """A fresh working directory for CLI runs (``runs/`` lands here)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def tiny_sources():
    from sic.data.sources import ProceduralSource

    clips = {"train": 48, "val": 12, "test": 12}
    return [
        ProceduralSource(name="t50", fps=50.0, clips_per_split=clips,
                         tasks=["pose_estimation", "future_pose_estimation", "joint_completion", "motion_inbetween"]),
        ProceduralSource(name="t25", fps=25.0, clips_per_split=clips, tasks=["motion_prediction"]),
    ]  # fmt: skip
