"""Run the real ``sic`` command in a subprocess (the way users and clusters call it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent


def sic_command() -> list[str]:
    """The installed ``sic`` console script, or ``python -m sic`` next to this interpreter."""
    exe = shutil.which("sic") or str(Path(sys.executable).parent / "sic")
    return [exe] if Path(exe).exists() else [sys.executable, "-m", "sic"]


def run_env(**extra: str) -> dict[str, str]:
    """The current environment plus ``tests/`` on ``PYTHONPATH`` (for helper callbacks) and ``extra``."""
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def run_sic(*args: str, cwd: Path, timeout: float = 600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``sic *args`` in ``cwd``, capturing its output."""
    return subprocess.run([*sic_command(), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env or run_env())  # fmt: skip
