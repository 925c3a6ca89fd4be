"""Checkpoints written atomically: a job killed mid-save never leaves a truncated ``.ckpt`` behind.

Lightning's default writer streams into a temporary file of the system temp directory and moves
it into place; across file systems (node-local ``/tmp``, shared run directory: the usual cluster
set-up) that move is a copy, and a kill during the copy leaves a truncated checkpoint under the
final name. :class:`AtomicCheckpointIO` writes a temporary sibling, flushes it to disk and renames
it over the target, so readers see the old checkpoint or the new one, never a mix. ``sic``
installs it on every Trainer whose strategy uses the default writer (see :mod:`sic.cli`).

Checkpoints are read with ``weights_only=True`` unless the caller asks otherwise.

Example:
    >>> import tempfile, pathlib, torch
    >>> from sic.utils.checkpoint import AtomicCheckpointIO
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "last.ckpt"
    >>> io = AtomicCheckpointIO()
    >>> io.save_checkpoint({"state_dict": {"w": torch.ones(2)}}, path)
    >>> io.load_checkpoint(path)["state_dict"]["w"].tolist()
    [1.0, 1.0]
"""

from __future__ import annotations

import os
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from sic.utils.errors import CheckpointError
from sic.utils.io import atomic_file

__all__ = ["AtomicCheckpointIO", "load_weights"]


class AtomicCheckpointIO(TorchCheckpointIO):
    """Save with temp file + fsync + ``os.replace`` on local paths; load with ``weights_only=True`` by default."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | os.PathLike, storage_options: Any | None = None) -> None:
        """Write ``checkpoint`` to ``path`` atomically (remote URLs fall back to Lightning's writer)."""
        if "://" in str(path):
            return super().save_checkpoint(checkpoint, path, storage_options)
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__}.save_checkpoint takes no storage_options, got {storage_options!r}")
        with atomic_file(path) as tmp, open(tmp, "wb") as f:
            torch.save(checkpoint, f)
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename makes it visible
        return None

    def load_checkpoint(self, path: str | os.PathLike, map_location: Any | None = None,
                        weights_only: bool | None = None) -> dict[str, Any]:  # fmt: skip
        """Read a checkpoint; tensors and plain containers only unless ``weights_only=False`` is asked for."""
        return super().load_checkpoint(path, map_location, weights_only=True if weights_only is None else weights_only)


def load_weights(module: torch.nn.Module, path: str | os.PathLike, strict: bool = True) -> None:
    """Initialise ``module`` from the ``state_dict`` of a Lightning checkpoint (fine-tuning, not resuming).

    Read with ``weights_only=True``. Raises :class:`CheckpointError` naming the file when it is
    missing, unreadable, not a Lightning checkpoint, or its weights do not fit ``module``.
    """
    if not os.path.isfile(path):
        raise CheckpointError(f"init checkpoint {str(path)!r} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for truncated or foreign files
        raise CheckpointError(f"init checkpoint {str(path)!r} is corrupt or not a checkpoint ({type(e).__name__})") from None
    if not isinstance(state, dict) or "state_dict" not in state:
        raise CheckpointError(f"init checkpoint {str(path)!r} has no 'state_dict': not a Lightning checkpoint")
    try:
        module.load_state_dict(state["state_dict"], strict=strict)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        raise CheckpointError(f"init checkpoint {str(path)!r} does not fit the model: {' '.join(first[:2])[:300]}") from None
