"""Distributed runs on the CPU (gloo): DDP, two "nodes" through torchrun, and a rank that dies."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.runs import REPO, run_env, run_sic, sic_command

SMOKE = str(REPO / "configs" / "smoke" / "sic.yaml")
ALL_VAL = ["--trainer.limit_val_batches=1.0"]  # every validation batch, so 1 and 2 processes see the same data

pytestmark = [pytest.mark.slow, pytest.mark.distributed]


@pytest.fixture
def work(tmp_path):
    return tmp_path, run_env(SIC_CACHE=str(tmp_path / "cache"))


def _metrics(root: Path, split: str = "val") -> dict[str, float]:
    reports = list(root.rglob(f"{split}_metrics.json"))
    assert len(reports) == 1, reports
    return json.loads(reports[0].read_text())


def _assert_same(a: dict[str, float], b: dict[str, float]) -> None:
    assert a.keys() == b.keys()
    for k in a:  # sums over ranks add in another order: equal up to float32 rounding
        assert b[k] == pytest.approx(a[k], rel=1e-5, abs=1e-4), k


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_validation_equals_single_process(work):
    tmp, env = work
    one = run_sic("validate", "-c", SMOKE, *ALL_VAL, "--trainer.default_root_dir=one", cwd=tmp, env=env)
    assert one.returncode == 0, one.stderr[-3000:]
    two = run_sic("validate", "-c", SMOKE, *ALL_VAL, "--trainer.default_root_dir=two", "--trainer.devices=2",
                  "--trainer.strategy=ddp", cwd=tmp, env=env)  # fmt: skip
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = _metrics(tmp / "one"), _metrics(tmp / "two")
    assert {"val/motion_prediction/mpjpe", "val/joint_completion/mpjpe_masked_60", "val/mpjpe"} <= a.keys()
    _assert_same(a, b)


def test_ddp_fit_then_shared_prompt_test(work):
    tmp, env = work
    fit = run_sic("fit", "-c", SMOKE, "--trainer.default_root_dir=fit", "--trainer.devices=2", "--trainer.strategy=ddp",
                  cwd=tmp, env=env)  # fmt: skip
    assert fit.returncode == 0, fit.stderr[-3000:]
    (ckpt,) = (tmp / "fit").rglob("*.ckpt")
    shared = ["--data.init_args.eval_prompts=shared", "--trainer.limit_test_batches=1.0", f"--ckpt_path={ckpt}"]
    one = run_sic("test", "-c", SMOKE, *shared, "--trainer.default_root_dir=t1", cwd=tmp, env=env)
    two = run_sic("test", "-c", SMOKE, *shared, "--trainer.default_root_dir=t2", "--trainer.devices=2",
                  "--trainer.strategy=ddp", cwd=tmp, env=env)  # fmt: skip
    assert one.returncode == 0 and two.returncode == 0, (one.stderr + two.stderr)[-3000:]
    _assert_same(_metrics(tmp / "t1", "test"), _metrics(tmp / "t2", "test"))


def test_two_nodes_through_torchrun(work):
    tmp, env = work
    one = run_sic("validate", "-c", SMOKE, *ALL_VAL, "--trainer.default_root_dir=one", cwd=tmp, env=env)
    assert one.returncode == 0, one.stderr[-3000:]
    port = _free_port()
    nodes = []
    for node in (0, 1):
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc-per-node=1", f"--node-rank={node}",
               "--master-addr=127.0.0.1", f"--master-port={port}", "-m", "sic", "validate", "-c", SMOKE, *ALL_VAL,
               "--trainer.default_root_dir=nodes", "--trainer.num_nodes=2", "--trainer.devices=1",
               "--trainer.strategy=ddp"]  # fmt: skip
        nodes.append(subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [p.communicate(timeout=300)[0] for p in nodes]
    for p, out in zip(nodes, outputs):
        assert p.returncode == 0, out[-3000:]
    assert "MEMBER: 2/2" in "".join(outputs)
    _assert_same(_metrics(tmp / "one"), _metrics(tmp / "nodes"))


def _session_pids(sid: int) -> list[int]:
    """Live processes of session ``sid`` (Linux /proc)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("dead_rank", [1, 0])
def test_a_dead_rank_ends_the_job(work, dead_rank):
    tmp, env = work
    cmd = [*sic_command(), "fit", "-c", SMOKE, "--trainer.devices=2", "--trainer.strategy=ddp",
           "--trainer.limit_train_batches=50", "--trainer.callbacks+=helpers.callbacks.KillAtStep",
           "--trainer.callbacks.step=2", f"--trainer.callbacks.rank={dead_rank}"]  # fmt: skip
    start = time.monotonic()
    job = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           start_new_session=True)  # fmt: skip
    try:
        _, err = job.communicate(timeout=240)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    assert job.returncode != 0, err[-3000:]
    deadline = time.monotonic() + 60  # every rank must be gone, not only the one we waited for
    while _session_pids(job.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = _session_pids(job.pid)
    if left:
        os.killpg(job.pid, signal.SIGKILL)
    assert not left, f"ranks still running after rank {dead_rank} died: {left}"
    assert time.monotonic() - start < 300


@pytest.mark.parametrize("val_poses", [32, 8], ids=["two-batches", "fewer-poses-than-a-batch"])
def test_ddp_retrieval_recall_is_over_the_whole_split(work, val_poses):
    """Embeddings are gathered across ranks: recall over all validation poses, as with one process.

    With 8 poses (half a batch) each rank still gets a batch: a rank without one would skip the
    evaluation loop and leave the other waiting in the all-gather.
    """
    tmp, env = work
    config = str(REPO / "configs" / "smoke" / "pose-text.yaml")
    data = [*ALL_VAL, f"--data.init_args.num_poses={{train: 128, val: {val_poses}, test: 8}}"]
    one = run_sic("validate", "-c", config, *data, "--trainer.default_root_dir=one", cwd=tmp, env=env)
    assert one.returncode == 0, one.stderr[-3000:]
    two = run_sic("validate", "-c", config, *data, "--trainer.default_root_dir=two", "--trainer.devices=2",
                  "--trainer.strategy=ddp", cwd=tmp, env=env, timeout=300)  # fmt: skip
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = _metrics(tmp / "one"), _metrics(tmp / "two")
    assert "val/retrieval/mrecall" in a
    if val_poses == 8:  # smaller batches under DDP: the in-batch BBC loss has other negatives; recall does not
        a.pop("val/retrieval/loss"), b.pop("val/retrieval/loss")
    _assert_same(a, b)


def test_ddp_tokenizer_fit_keeps_one_codebook(work):
    """The EMA codebook statistics are summed over ranks, so training and evaluation agree across ranks."""
    tmp, env = work
    config = str(REPO / "configs" / "smoke" / "pose-tokenizer.yaml")
    fit = run_sic("fit", "-c", config, "--trainer.default_root_dir=fit", "--trainer.devices=2", "--trainer.strategy=ddp",
                  cwd=tmp, env=env)  # fmt: skip
    assert fit.returncode == 0, fit.stderr[-3000:]
    (ckpt,) = (tmp / "fit").rglob("*.ckpt")
    one = run_sic("test", "-c", config, f"--ckpt_path={ckpt}", "--trainer.limit_test_batches=1.0",
                  "--trainer.default_root_dir=t1", cwd=tmp, env=env)  # fmt: skip
    two = run_sic("test", "-c", config, f"--ckpt_path={ckpt}", "--trainer.limit_test_batches=1.0",
                  "--trainer.default_root_dir=t2", "--trainer.devices=2", "--trainer.strategy=ddp", cwd=tmp, env=env)  # fmt: skip
    assert one.returncode == 0 and two.returncode == 0, (one.stderr + two.stderr)[-3000:]
    _assert_same(_metrics(tmp / "t1", "test"), _metrics(tmp / "t2", "test"))
