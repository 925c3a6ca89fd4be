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

import lightning as L
import torch
from jsonargparse import ArgumentError
from lightning.pytorch.cli import ArgsType, LightningCLI

import sic
import sic.data  # noqa: F401  (registers the datamodules for short class names)
import sic.models  # noqa: F401
import sic.tasks  # noqa: F401
from sic.utils.errors import CheckpointError, SicError

__all__ = ["SicCLI", "main"]


class SicCLI(LightningCLI):
    """LightningCLI with checkpoint checks before every subcommand."""

    def _check_checkpoint(self) -> None:
        ckpt = self.config.get(self.subcommand, {}).get("ckpt_path")
        if ckpt is None or ckpt in ("best", "last", "hpc", "registry"):
            return
        path = Path(ckpt)
        if not path.is_file():
            raise CheckpointError(f"checkpoint {ckpt!r} (--ckpt_path) does not exist")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except Exception as e:  # torch raises many types for truncated or foreign files
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise CheckpointError(f"checkpoint {ckpt!r} is corrupt or not a Lightning checkpoint ({reason[:200]})") from None
        if not isinstance(state, dict) or "state_dict" not in state:
            raise CheckpointError(f"checkpoint {ckpt!r} has no 'state_dict': not a Lightning checkpoint")

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


def main(args: ArgsType = None) -> None:
    """Entry point of ``sic`` and ``python -m sic``; ``args`` replaces ``sys.argv[1:]`` (for tests).

    Set ``SIC_DEBUG=1`` to see full tracebacks of input errors.
    """
    debug = os.environ.get("SIC_DEBUG", "") not in ("", "0")
    try:
        SicCLI(
            L.LightningModule,
            L.LightningDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            seed_everything_default=0,
            save_config_kwargs={"overwrite": True},
            auto_configure_optimizers=False,
            parser_kwargs={"version": f"sic {sic.__version__}", "exit_on_error": debug},
            args=args,
        )
    except (SicError, ArgumentError) as e:
        if debug:
            raise
        message = " ".join(str(e).split())
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
