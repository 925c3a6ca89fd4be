"""The ``sic`` command: ``sic fit | validate | test | predict`` through LightningCLI in subclass mode.

Any ``LightningModule`` in :mod:`sic.tasks` and any ``LightningDataModule`` in :mod:`sic.data` can be
named in a config (``model.class_path``, ``data.class_path``). Bad input -- an unknown config key, a
missing or unparsable YAML, an unknown task id, a missing or corrupt checkpoint, a data root that
does not exist -- ends with one ``error: ...`` line on stderr and exit status 2, without a traceback.

Example:
    >>> from sic.cli import main
    >>> main(["--version"])  # doctest: +SKIP
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import lightning as L
import torch
import yaml
from jsonargparse import ArgumentError
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch.cli import ArgsType, LightningCLI, SaveConfigCallback

import sic
import sic.callbacks  # noqa: F401
import sic.data  # noqa: F401  (registers the datamodules for short class names)
import sic.models  # noqa: F401
import sic.tasks  # noqa: F401
from sic.utils.checkpoint import AtomicCheckpointIO
from sic.utils.distributed import exit_with_parent
from sic.utils.errors import CheckpointError, ConfigError, SicError

__all__ = ["SicCLI", "load_run", "main"]


def check_checkpoint(ckpt: str | None) -> None:
    """Raise :class:`CheckpointError` if ``ckpt`` (a ``--ckpt_path`` value) is missing or unreadable."""
    if ckpt is None or ckpt in ("best", "last", "hpc", "registry"):
        return
    path = Path(ckpt)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {ckpt!r} (--ckpt_path) does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as e:  # torch raises many types for truncated or foreign files
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"checkpoint {ckpt!r} is corrupt or not a Lightning checkpoint ({reason[:160]})") from None
    if not isinstance(state, dict) or "state_dict" not in state:
        raise CheckpointError(f"checkpoint {ckpt!r} has no 'state_dict': not a Lightning checkpoint")


class LogConfigCallback(SaveConfigCallback):
    """Save ``config.yaml`` in the log dir (Lightning's behaviour) and log the whole run config to every logger.

    W&B, TensorBoard and CSV then show the exact composed configuration (model, data, trainer, seed)
    next to the metrics, which is what a sweep needs to compare runs. Runs on rank 0 only.
    """

    def save_config(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Log the config as hyperparameters (nested dicts: ``model``, ``data``, ``trainer``, ...)."""
        del pl_module, stage  # unused
        config = yaml.safe_load(self.parser.dump(self.config, skip_check=True))
        for logger in trainer.loggers:
            logger.log_hyperparams(config)


class SicCLI(LightningCLI):
    """LightningCLI with checkpoint checks before every subcommand and atomic checkpoint writes."""

    def instantiate_trainer(self, **kwargs: Any) -> L.Trainer:
        """Build the Trainer; swap Lightning's default checkpoint writer for :class:`AtomicCheckpointIO`."""
        trainer = super().instantiate_trainer(**kwargs)
        if type(trainer.strategy.checkpoint_io) is TorchCheckpointIO:  # a user-chosen plugin is kept
            trainer.strategy.checkpoint_io = AtomicCheckpointIO()
        return trainer

    def _check_checkpoint(self) -> None:
        check_checkpoint(self.config.get(self.subcommand, {}).get("ckpt_path"))

    def _parse_ckpt_path(self) -> None:
        """Keep the run's config as given: ``--ckpt_path`` supplies weights and training state, not arguments.

        Lightning's CLI would re-parse the checkpoint's saved hyperparameters over the config, silently
        replacing test-time choices (``model.init_args.prompt_selection``, ``prompt_ensemble``, ...) with the
        values the model was trained with. Every ``sic`` command is given the model's config, so nothing is lost.
        """

    def before_fit(self) -> None:
        """Validate ``--ckpt_path`` before resuming."""
        self._check_checkpoint()

    def before_validate(self) -> None:
        """Validate ``--ckpt_path``."""
        self._check_checkpoint()

    def before_test(self) -> None:
        """Validate ``--ckpt_path``."""
        self._check_checkpoint()

    def before_predict(self) -> None:
        """Validate ``--ckpt_path``."""
        self._check_checkpoint()


def _check_argv(argv: list[str]) -> None:
    """Checks jsonargparse/Lightning would report late or without the path: YAML syntax, checkpoints."""
    argv = [part for a in argv for part in (a.split("=", 1) if a.startswith("--") and "=" in a else [a])]
    for flag, value in zip(argv, argv[1:]):
        if flag == "--ckpt_path":
            check_checkpoint(value)
        if flag not in ("-c", "--config") or not value.endswith((".yaml", ".yml")) or not Path(value).is_file():
            continue
        try:
            yaml.safe_load(Path(value).read_text())
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(e, "problem", None) or "invalid YAML"
            raise ConfigError(f"config file {value!r}:{where}: {problem}") from None


def _user_error(error: BaseException) -> BaseException | None:
    """The user-input error behind ``error``: jsonargparse wraps errors raised while instantiating."""
    seen = error
    while seen is not None:
        if isinstance(seen, (SicError, ArgumentError)):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


_CLI_KWARGS: dict[str, Any] = {"subclass_mode_model": True, "subclass_mode_data": True, "seed_everything_default": 0,
                               "auto_configure_optimizers": False}  # fmt: skip


def load_run(args: list[str]) -> tuple[L.LightningModule, L.LightningDataModule]:
    """The model and datamodule of config arguments (``["-c", "run.yaml", ...]``), built as ``sic`` builds them,
    without a subcommand (no trainer runs, no logs are written). For tools that inspect a trained run."""
    cli = SicCLI(L.LightningModule, L.LightningDataModule, **_CLI_KWARGS, save_config_callback=None, run=False,
                 args=[*args, "--trainer.logger=false"])  # fmt: skip
    return cli.model, cli.datamodule


def main(args: ArgsType = None) -> None:
    """Entry point of ``sic`` and ``python -m sic``; ``args`` replaces ``sys.argv[1:]`` (for tests).

    Set ``SIC_DEBUG=1`` to see full tracebacks of input errors.
    """
    debug = os.environ.get("SIC_DEBUG", "") not in ("", "0")
    if os.environ.get("LOCAL_RANK", "0") != "0":  # a rank started by a launcher (Lightning DDP, torchrun, srun)
        exit_with_parent()
    try:
        argv = sys.argv[1:] if args is None else args
        if isinstance(argv, list):
            _check_argv([str(a) for a in argv])
        SicCLI(
            L.LightningModule,
            L.LightningDataModule,
            **_CLI_KWARGS,
            save_config_callback=LogConfigCallback,
            save_config_kwargs={"overwrite": True},
            parser_kwargs={"version": f"sic {sic.__version__}", "exit_on_error": debug},
            args=args,
        )
    except (SicError, ArgumentError, ValueError) as e:
        cause = _user_error(e)
        if debug or cause is None:
            raise
        message = " ".join(str(cause).split())
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
