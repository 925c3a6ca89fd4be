"""Resume: a run SIGKILLed mid-epoch and resumed with ``--ckpt_path last`` ends exactly where an uninterrupted run ends."""

import signal
from pathlib import Path

import pytest
import torch
import yaml
from helpers.runs import REPO, run_env, run_sic

SMOKE = str(REPO / "configs" / "smoke" / "sic.yaml")

# 6 batches per epoch, 16 steps (epochs 0, 1 and two thirds of 2), a checkpoint every 4 steps, a
# per-step cosine schedule (the reference's resumed learning rate is off by one step).
RESUME = {
    "trainer": {
        "max_epochs": -1, "max_steps": 16, "limit_train_batches": 6, "limit_val_batches": 1,
        "default_root_dir": "runs/resume", "enable_checkpointing": True,
        "callbacks": [{"class_path": "lightning.pytorch.callbacks.ModelCheckpoint",
                       "init_args": {"dirpath": "runs/resume/checkpoints", "every_n_train_steps": 4,
                                     "save_last": True, "save_top_k": -1, "filename": "step{step}",
                                     "auto_insert_metric_name": False}}],
    },
    "model": {"init_args": {
        "scheduler": {"class_path": "torch.optim.lr_scheduler.CosineAnnealingLR", "init_args": {"T_max": 16}},
        "scheduler_interval": "step",
    }},
}  # fmt: skip


def _fit(cwd: Path, *extra: str):
    # both runs share one bank cache (one directory above theirs): it is built once
    return run_sic("fit", "-c", SMOKE, "-c", str(cwd / "resume.yaml"), *extra, cwd=cwd,
                   env=run_env(SIC_CACHE=str(cwd.parent / "cache")))  # fmt: skip


def _final(cwd: Path) -> dict:
    return torch.load(cwd / "runs" / "resume" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_an_uninterrupted_run(tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    for d in (straight, killed):
        d.mkdir()
        (d / "resume.yaml").write_text(yaml.safe_dump(RESUME))
    done = _fit(straight)
    assert done.returncode == 0, done.stderr[-3000:]

    # Killed after step 10: the last checkpoint is step 8, in the middle of epoch 1 (steps 6-11).
    dead = _fit(killed, "--trainer.callbacks+=helpers.callbacks.KillAtStep", "--trainer.callbacks.step=10")
    assert dead.returncode == -signal.SIGKILL, dead.stderr[-3000:]
    ckpts = killed / "runs" / "resume" / "checkpoints"
    assert not list(ckpts.glob(".*.tmp")), "a temporary checkpoint was left behind"
    assert torch.load(ckpts / "last.ckpt", weights_only=True)["global_step"] == 8
    resumed = _fit(killed, "--ckpt_path", "last")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "not resumable" not in resumed.stderr

    # Equal weights, optimiser moments and scheduler state: the evaluation of the two runs cannot differ
    # (test metrics are deterministic, tests/integration/test_cli.py::test_test_metrics_are_reproducible).
    a_state, b_state = _final(straight), _final(killed)
    assert a_state["global_step"] == b_state["global_step"] == 16
    for name, value in a_state["state_dict"].items():
        torch.testing.assert_close(b_state["state_dict"][name], value, rtol=0, atol=0, msg=name)
    a_opt, b_opt = (s["optimizer_states"][0]["state"] for s in (a_state, b_state))
    assert a_opt.keys() == b_opt.keys()
    for key, moments in a_opt.items():
        for name, value in moments.items():
            torch.testing.assert_close(b_opt[key][name], value, rtol=0, atol=0, msg=f"optimizer {key}.{name}")
    lr = [s["_last_lr"] for s in (a_state["lr_schedulers"][0], b_state["lr_schedulers"][0])]
    assert lr[0] == lr[1]
