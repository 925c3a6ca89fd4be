"""Reporting of evaluation metrics, shared by every task: a text table and ``{split}_metrics.json``.

``sic test`` (and ``sic validate``) print the table and write the flat metrics dict
(``{split}/{task}/{metric}`` keys) into the run's log directory, atomically, on rank 0.

Example:
    >>> print(format_table({"test/tokenizer/mpjpe": 12.5}, "test"))
    test metrics (mm)
      tokenizer  mpjpe    12.50
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from lightning.pytorch.utilities import rank_zero_only

from sic.utils.io import atomic_write_text

__all__ = ["MetricsReport", "format_robustness", "format_table", "latest_metrics", "markers", "run_logged",
           "write_tables"]


class MetricsReport:
    """Mixin for LightningModules: ``_report(values, split)`` prints and writes the epoch's metrics.

    ``report_units`` names the units in the table header.
    """

    report_units = "mm"

    def _report(self, values: dict[str, float], split: str) -> None:
        log_dir = Path(self.trainer.log_dir or self.trainer.default_root_dir)  # a collective under DDP: every rank
        self._write_report(values, split, log_dir)

    @rank_zero_only
    def _write_report(self, values: dict[str, float], split: str, log_dir: Path) -> None:
        path = log_dir / f"{split}_metrics.json"
        atomic_write_text(path, json.dumps(values, indent=1, sort_keys=True))
        print(format_table(values, split, self.report_units))
        print(f"{split} metrics written to {path}")


def latest_metrics(run: Path, split: str = "test") -> dict[str, float] | None:
    """The newest ``{split}_metrics.json`` under the run directory ``run`` (``None`` if there is none yet)."""
    files = sorted(run.rglob(f"{split}_metrics.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(files[-1].read_text()) if files else None


def format_table(values: dict[str, float], split: str, units: str = "mm") -> str:
    """A per-task text table (rows: tasks; columns: metrics) of ``{split}/{task}/{metric}`` values."""
    rows: dict[str, dict[str, float]] = {}
    for key, v in values.items():
        parts = key.split("/")
        if len(parts) == 3 and parts[0] == split:
            rows.setdefault(parts[1], {})[parts[2]] = v
    if not rows:
        return f"(no {split} metrics)"
    lines = [f"{split} metrics ({units})"]
    width = max(len(t) for t in rows)
    for task, metrics in rows.items():
        cells = "  ".join(f"{k} {v:8.2f}" for k, v in metrics.items() if k != "loss")
        lines.append(f"  {task:<{width}}  {cells}")
    if f"{split}/mpjpe" in values:
        lines.append(f"  {'mean (trained tasks)':<{width}}  mpjpe {values[f'{split}/mpjpe']:8.2f}")
    actions: dict[str, list[str]] = {}
    for key, v in values.items():
        parts = key.split("/")
        if len(parts) == 4 and parts[0] == split and parts[2] == "mpjpe_action":
            actions.setdefault(parts[1], []).append(f"{parts[3]} {v:.1f}")
    if actions:
        lines.append(f"{split} MPJPE per action (mm)")
        lines += [f"  {task:<{width}}  {', '.join(cells)}" for task, cells in actions.items()]
    return "\n".join(lines)


def format_robustness(
    values: dict[str, float], split: str = "test", metrics: tuple[str, ...] = ("mpjpe", "pa_mpjpe")
) -> str:
    """Error vs severity per corruption from ``{split}/{corruption}@{severity}/{metric}`` keys (and ``clean``).

    Example:
        >>> v = {"test/clean/mpjpe": 40.0, "test/jitter@2/mpjpe": 42.0, "test/jitter@5/mpjpe": 50.5}
        >>> print(format_robustness(v, metrics=("mpjpe",)))
        robustness, test mpjpe (mm); clean 40.00
          jitter  @2 42.00 (+2.00)  @5 50.50 (+10.50)
    """
    lines = []
    for metric in metrics:
        clean = values.get(f"{split}/clean/{metric}")
        rows: dict[str, list[tuple[str, float]]] = {}
        for key, v in values.items():
            parts = key.split("/")
            if len(parts) == 3 and parts[0] == split and parts[2] == metric and "@" in parts[1]:
                name, severity = parts[1].split("@", 1)
                rows.setdefault(name, []).append((severity, v))
        if not rows:
            continue
        lines.append(f"robustness, {split} {metric} (mm)" + ("" if clean is None else f"; clean {clean:.2f}"))
        width = max(len(n) for n in rows)
        for name, cells in rows.items():
            text = "  ".join(f"@{s} {v:.2f}" + ("" if clean is None else f" ({v - clean:+.2f})") for s, v in cells)
            lines.append(f"  {name:<{width}}  {text}")
    return "\n".join(lines) if lines else f"(no {split} robustness metrics)"


# -- report tools (tools/report_*.py): run ``sic`` commands, put tables into a results page -----------------
def run_logged(cmd: list[str], log: Path, cwd: Path, threads: int | None = None) -> None:
    """Run ``cmd`` in ``cwd`` with its output appended to ``log``; ``threads`` caps OpenMP/MKL threads.

    Raises ``RuntimeError`` naming the command and the log when it fails.
    """
    env = dict(os.environ)
    if threads:
        env |= {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    with log.open("a") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        done = subprocess.run(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT, check=False)
    if done.returncode:
        raise RuntimeError(f"'{' '.join(cmd[:2])}' failed (exit {done.returncode}); see {log}")


def markers(block: str = "tables") -> tuple[str, str]:
    """The comment lines around a block of generated tables (a page can hold several blocks)."""
    return f"<!-- {block}:begin -->", f"<!-- {block}:end -->"


def write_tables(path: Path, text: str, block: str = "tables") -> None:
    """Replace the text between ``block``'s markers in ``path`` (atomically); a new page is just the block."""
    begin, end = markers(block)
    doc = path.read_text() if path.exists() else f"{begin}\n{end}\n"
    if begin not in doc or end not in doc:
        raise SystemExit(f"{path}: no '{begin}' … '{end}' markers to put the tables between")
    head, rest = doc.split(begin, 1)
    atomic_write_text(path, f"{head}{begin}\n{text}\n{end}{rest.split(end, 1)[1]}")
