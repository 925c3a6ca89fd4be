import json
import subprocess
import sys

import pytest
import torch
from helpers.runs import REPO, run_env

TOOL = str(REPO / "tools" / "check_gpu.py")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_without_a_gpu_it_says_so_in_one_line(tmp_path):
    out = subprocess.run([sys.executable, TOOL, "--json"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 2 and out.stderr.startswith("error: no CUDA device") and "Traceback" not in out.stderr


@pytest.mark.slow
def test_cpu_run_reports_throughput(tmp_path):
    args = ["--device", "cpu", "--steps", "4", "--warmup", "1", "--batch", "4", "--dim", "32", "--depth", "2",
            "--heads", "4", "--clips", "32", "--json"]  # fmt: skip
    out = subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                         env=run_env(SIC_CACHE=str(tmp_path / "cache")))  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["device"] == "cpu" and report["precision"] == "bf16-mixed" and report["flash_attention"] is False
    assert report["samples_per_s"] > 0 and report["step_ms"] > 0 and report["final_loss"] > 0
