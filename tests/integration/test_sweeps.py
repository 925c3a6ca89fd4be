"""Sweep specs and SLURM scripts: their commands are checked offline and parse through the real CLI."""

import os
import re
import shlex
import subprocess
from pathlib import Path

import lightning as L
import pytest
import yaml

from sic.cli import SicCLI
from sic.data.tasks import TASK_IDS
from sic.tasks import InContextTask

REPO = Path(__file__).resolve().parents[2]
SWEEPS = sorted((REPO / "configs" / "sweeps").glob("*.yaml"))
SLURM = REPO / "tools" / "slurm"
CPU = ["--trainer.accelerator=cpu", "--trainer.devices=1", "--trainer.strategy=auto", "--trainer.num_nodes=1",
       "--trainer.plugins=null"]  # fmt: skip


def _parse(args: list[str], tmp_path: Path, monkeypatch) -> SicCLI:
    """Build the real parser and instantiate everything, without running (the paper config on CPU)."""
    monkeypatch.chdir(REPO)  # sweep and SLURM commands name configs relative to the repository root
    monkeypatch.setenv("SIC_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("WANDB_MODE", "offline")
    return SicCLI(L.LightningModule, L.LightningDataModule, subclass_mode_model=True, subclass_mode_data=True,
                  seed_everything_default=0, auto_configure_optimizers=False, save_config_kwargs={"overwrite": True},
                  parser_kwargs={"exit_on_error": True}, args=args, run=False)  # fmt: skip


def _sample(spec: dict):
    """A value the sweep could choose for one parameter."""
    if "values" in spec:
        return spec["values"][-1]
    if "value" in spec:
        return spec["value"]
    return spec["min"]


def _logged_keys() -> set[str]:
    """The val keys InContextTask logs (per task, mean); a sweep may only optimise one of them."""
    metrics = ("mpjpe", "loss", "n_mpjpe", "pa_mpjpe", "mpjpe_masked", "mpjpe_horizons")
    return {InContextTask.monitor} | {f"val/{t}/{m}" for t in TASK_IDS for m in metrics}


def test_there_are_sweeps():
    assert SWEEPS


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.name)
def test_sweep_command_parses_through_the_cli(path, tmp_path, monkeypatch):
    spec = yaml.safe_load(path.read_text())
    assert {"program", "method", "parameters", "metric", "command"} <= spec.keys()
    assert spec["program"] == "sic/cli.py" and (REPO / spec["program"]).is_file()
    assert spec["metric"]["name"] in _logged_keys()
    assert spec["metric"]["goal"] == {"min": "minimize", "max": "maximize"}[InContextTask.mode]
    command = spec["command"]
    assert command[:5] == ["${env}", "${interpreter}", "-m", "sic", "fit"] and command[-1] == "${args}"
    # what the agent runs: ${args} -> one --key=value per parameter, after the configs
    args = [f"--{k}={_sample(v)}" for k, v in spec["parameters"].items()]
    cli = _parse([*command[5:-1], *CPU, *args], tmp_path, monkeypatch)
    for key, value in spec["parameters"].items():
        assert cli.config[key] == _sample(value), key


def _sbatch(path: Path) -> tuple[dict[str, str], str]:
    """``#SBATCH`` options and the script body."""
    text = path.read_text()
    options = dict(re.findall(r"^#SBATCH --([\w-]+)=?(\S*)", text, flags=re.M))
    return options, text


@pytest.mark.parametrize("name", ["train.sbatch", "sweep_agent.sbatch"])
def test_sbatch_scripts_are_valid_bash(name):
    subprocess.run(["bash", "-n", str(SLURM / name)], check=True)


def test_train_sbatch_follows_the_cluster_rules(tmp_path, monkeypatch):
    options, text = _sbatch(SLURM / "train.sbatch")
    assert options["signal"] == "SIGUSR1@90" and "requeue" in options
    assert {"nodes", "ntasks-per-node", "gres"} <= options.keys() and "ntasks" not in options
    assert options["gres"] == f"gpu:{options['ntasks-per-node']}"
    assert re.search(r"^srun sic fit", text, flags=re.M), "DDP under SLURM must be launched with srun"
    assert '--trainer.num_nodes="$SLURM_NNODES"' in text and '--trainer.devices="$SLURM_NTASKS_PER_NODE"' in text
    # The srun command, with the allocation's variables filled in, parses through the real CLI.
    body = text[text.index("srun sic fit") :].split("\n\n")[0].replace("\\\n", " ")
    env = {"CONFIG": "configs/experiments/sic-paper.yaml", "SLURM_NNODES": "2", "SLURM_NTASKS_PER_NODE": "4",
           "RUN_DIR": str(tmp_path / "run")}  # fmt: skip
    words = [os.path.expandvars(w) for w in shlex.split(body.replace('"$@"', ""))]
    words = [w.replace("$CONFIG", env["CONFIG"]) for w in words]
    for k, v in env.items():
        words = [w.replace(f"${k}", v) for w in words]
    assert words[:3] == ["srun", "sic", "fit"]
    cli = _parse([*words[3:], *CPU], tmp_path, monkeypatch)  # CI has no GPU: CPU overrides last
    assert cli.config["trainer.num_nodes"] == 1 and "num_nodes=2" in " ".join(words)
    # the CPU overrides above are what differs on CI; the slurm fragment itself asks for requeueing
    assert yaml.safe_load((REPO / "configs" / "trainer" / "slurm.yaml").read_text())["trainer"]["plugins"][0][
        "init_args"]["auto_requeue"] is True  # fmt: skip


def test_sweep_agent_runs_one_agent_per_node():
    options, text = _sbatch(SLURM / "sweep_agent.sbatch")
    assert options["nodes"] == "1"
    assert re.search(r'^wandb agent --count "\$COUNT" "\$SWEEP"$', text, flags=re.M)
    assert "SLURM_JOB_NAME=interactive" in text  # Lightning launches the trial's DDP processes itself
