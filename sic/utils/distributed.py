"""Distributed-run safety: a rank whose launcher died exits instead of waiting at the next collective.

With Lightning's DDP launcher, rank 0 starts the other ranks as child processes and watches them:
if a child dies, rank 0 ends the job. The reverse is not covered: when rank 0 dies (SIGKILL, OOM
killer), its children keep computing until their next collective fails, which can take as long as
the process-group timeout (30 minutes for gloo). :func:`exit_with_parent` closes that gap.

Example:
    >>> from sic.utils.distributed import exit_with_parent
    >>> exit_with_parent(poll_s=60.0)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import sys
import threading
import time

__all__ = ["exit_with_parent"]

_EXIT_CODE = 70  # EX_SOFTWARE: "internal software error", distinct from a Python exception's 1


def exit_with_parent(poll_s: float = 1.0) -> threading.Thread:
    """Start a daemon thread that ends this process (status 70) once its parent process is gone.

    Args:
        poll_s: seconds between checks of the parent.

    Returns:
        The watchdog thread.
    """
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent:  # re-parented: the launcher died
                rank = os.environ.get("RANK") or os.environ.get("LOCAL_RANK", "?")
                print(f"error: rank {rank}: launcher process {parent} died; exiting", file=sys.stderr, flush=True)
                os._exit(_EXIT_CODE)

    thread = threading.Thread(target=watch, name="sic-exit-with-parent", daemon=True)
    thread.start()
    return thread
