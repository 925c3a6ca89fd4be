"""Callbacks that simulate failures inside real ``sic`` runs (used through ``--trainer.callbacks+=``)."""

from __future__ import annotations

import os
import signal

import lightning as L


class KillAtStep(L.Callback):
    """SIGKILL this process after optimiser step ``step`` on rank ``rank``: no cleanup, no checkpoint, no goodbye.

    Args:
        step: global step after which to die.
        rank: the global rank that dies.
    """

    def __init__(self, step: int, rank: int = 0) -> None:
        self.step, self.rank = step, rank

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        del args  # unused
        if trainer.global_step >= self.step and trainer.global_rank == self.rank:
            os.kill(os.getpid(), signal.SIGKILL)
