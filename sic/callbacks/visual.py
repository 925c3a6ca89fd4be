"""Visual outputs: skeleton animations of fixed evaluation samples, and per-horizon error plots.

:class:`SkeletonAnimation` renders, for a few fixed samples of every evaluated task, a GIF with four
panels -- prompt input, prompt target, query input, and the prediction drawn over the ground truth
-- and, for tasks with horizons (motion prediction, future pose estimation), a plot of MPJPE against
the horizon in milliseconds. Files go to ``<log dir>/media/<split>/``; each logger that can show
media gets them too (W&B: videos and images; TensorBoard: images). Rendering uses matplotlib and
Pillow (``pip install 'sic[viz]'``) and runs on global rank 0 only.

The datamodule must provide ``layout`` (a :class:`~sic.data.skeleton.SkeletonLayout`), ``tasks`` and
``eval_samples(split, task, count)``, as :class:`~sic.data.InContextDataModule` does; the task is
called as ``pl_module(batch)``.

Example:
    >>> import numpy as np, tempfile, pathlib
    >>> from sic.callbacks.visual import render_animation
    >>> from sic.data import get_layout
    >>> pose = np.zeros((4, 17, 3), np.float32)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.gif"
    >>> render_animation([("query", pose, None)], get_layout("h36m17").bones, out, fps=10)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch

from sic.utils.imports import require
from sic.utils.io import atomic_file

__all__ = ["SkeletonAnimation", "animate_sample", "plot_horizons", "render_animation"]

Panel = tuple[str, np.ndarray, "np.ndarray | None"]  # title, (T, J, 3) poses, optional (T, J, 3) overlay


def _view(x: np.ndarray, azimuth: float = 35.0, elevation: float = 12.0) -> np.ndarray:
    """Orthographic view of y-up poses ``(..., 3)`` turned by ``azimuth`` about y, tilted by ``elevation``: ``(..., 2)``."""
    a, e = np.radians(azimuth), np.radians(elevation)
    turn = np.array([[np.cos(a), 0, -np.sin(a)], [0, 1, 0], [np.sin(a), 0, np.cos(a)]])
    tilt = np.array([[1, 0, 0], [0, np.cos(e), -np.sin(e)], [0, np.sin(e), np.cos(e)]])
    return (x @ (tilt @ turn).T)[..., :2]


def render_animation(panels: Sequence[Panel], bones: np.ndarray, path: str | Path, fps: float = 25.0,
                     size: float = 2.4, azimuth: float = 35.0, elevation: float = 12.0) -> Path:  # fmt: skip
    """Write a GIF of skeleton sequences side by side, one panel each, in a fixed oblique view.

    Args:
        panels: ``(title, poses, overlay)``; ``poses`` ``(T, J, 3)`` (y up) drawn in colour, ``overlay``
            (e.g. the ground truth) ``(T, J, 3)`` in grey behind it, or None. Panels may differ in ``T``;
            a shorter one holds its last frame.
        bones: ``(K, 2)`` joint index pairs.
        path: output ``.gif`` (written atomically).
        fps: playback rate.
        size: inches per panel.
        azimuth: view rotation about the vertical axis, degrees (0: seen from +z).
        elevation: view tilt, degrees.

    Returns:
        ``path``.
    """
    require("matplotlib", "viz")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter
    from matplotlib.collections import LineCollection

    path = Path(path)
    bones = np.asarray(bones)
    frames = max(p[1].shape[0] for p in panels)
    fig, axes = plt.subplots(1, len(panels), figsize=(size * len(panels), size), dpi=80, squeeze=False)
    layers = []  # (2D sequence (T, J, 2), LineCollection)
    for ax, (title, poses, overlay) in zip(axes[0], panels):
        shown = [_view(np.asarray(a, np.float64), azimuth, elevation) for a in (overlay, poses) if a is not None]
        lo, hi = np.min([s.min((0, 1)) for s in shown], 0), np.max([s.max((0, 1)) for s in shown], 0)
        centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2 * 1.05, 0.1)
        ax.set(xlim=(centre[0] - half, centre[0] + half), ylim=(centre[1] - half, centre[1] + half), xticks=[], yticks=[])
        ax.set_aspect("equal")
        ax.set_title(title, fontsize=9)
        colours = ["0.65", "tab:red"] if overlay is not None else ["tab:red"]
        for seq, colour in zip(shown, colours):
            layers.append((seq, ax.add_collection(LineCollection([], colors=colour, linewidths=2.0))))

    def draw(t: int) -> list[Any]:
        for seq, lines in layers:
            lines.set_segments(seq[min(t, len(seq) - 1)][bones])
        return [lines for _, lines in layers]

    fig.tight_layout()
    animation = FuncAnimation(fig, draw, frames=frames, blit=True)
    try:
        with atomic_file(path, suffix=f".tmp{path.suffix}") as tmp:  # Pillow picks the format by extension
            animation.save(tmp, writer=PillowWriter(fps=fps))
    finally:
        plt.close(fig)
    return path


def animate_sample(batch: Any, pred: np.ndarray, i: int, bones: np.ndarray, path: str | Path, fps: float) -> Path:
    """GIF of sample ``i`` of an in-context batch: prompt input, prompt target, query input, and the prediction
    ``pred[i]`` over the ground truth (no overlay when the batch has no targets, i.e. all zeros)."""
    p = 0 if batch.prompt_inputs.shape[0] == 1 else i  # a shared prompt has batch size 1
    truth = batch.targets[i].numpy()
    panels = [
        ("prompt input", batch.prompt_inputs[p].numpy(), None),
        ("prompt target", batch.prompt_targets[p].numpy(), None),
        ("query input", batch.inputs[i].numpy(), None),
        ("prediction / truth", pred[i], truth if truth.any() else None),
    ]
    return render_animation(panels, bones, path, fps=fps)


def plot_horizons(curves: dict[str, dict[int, float]], path: str | Path, title: str = "") -> Path:
    """Plot MPJPE (mm) against horizon (ms), one line per task, as a PNG (written atomically).

    Args:
        curves: task id -> {horizon ms: MPJPE mm}.
        path: output ``.png``.
        title: figure title.
    """
    require("matplotlib", "viz")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, ax = plt.subplots(figsize=(4.5, 3.2), dpi=100)
    for task, points in curves.items():
        hs = sorted(points)
        ax.plot(hs, [points[h] for h in hs], marker="o", label=task)
    ax.set(xlabel="horizon (ms)", ylabel="MPJPE (mm)", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    try:
        with atomic_file(path) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    return path


def horizon_curves(metrics: dict[str, Any], split: str) -> dict[str, dict[int, float]]:
    """``{split}/{task}/mpjpe_{h}ms`` values as task -> {h: value}."""
    curves: dict[str, dict[int, float]] = {}
    for key, value in metrics.items():
        parts = key.split("/")
        if len(parts) == 3 and parts[0] == split and parts[2].startswith("mpjpe_") and parts[2].endswith("ms"):
            digits = parts[2][len("mpjpe_") : -2]
            if digits.isdigit():
                curves.setdefault(parts[1], {})[int(digits)] = float(value)
    return curves


class SkeletonAnimation(L.Callback):
    """Render and log prompt / query / prediction / ground-truth animations and per-horizon plots.

    Args:
        samples_per_task: fixed evaluation samples rendered per task (the same ones every time).
        every_n_validations: render after every n-th validation run (sanity checks excluded).
        on_test: also render after ``sic test``.
        fps: GIF playback rate (default: the clips' frame rate).
        dirname: sub-directory of the run's log directory.
    """

    def __init__(self, samples_per_task: int = 2, every_n_validations: int = 1, on_test: bool = True,
                 fps: float | None = None, dirname: str = "media") -> None:  # fmt: skip
        if samples_per_task < 0 or every_n_validations < 1:
            raise ValueError("samples_per_task must be >= 0 and every_n_validations >= 1")
        require("matplotlib", "viz")
        self.samples_per_task, self.every_n_validations = samples_per_task, every_n_validations
        self.on_test, self.fps, self.dirname = on_test, fps, dirname
        self._validations = 0
        self.written: list[Path] = []

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Render after a validation run (not the sanity check)."""
        if trainer.sanity_checking:
            return
        self._validations += 1
        if self._validations % self.every_n_validations == 0:
            self._render(trainer, pl_module, "val")

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Render after testing."""
        if self.on_test:
            self._render(trainer, pl_module, "test")

    def _render(self, trainer: L.Trainer, pl_module: L.LightningModule, split: str) -> None:
        log_dir = Path(trainer.log_dir or trainer.default_root_dir)  # a collective under DDP: on every rank
        if not trainer.is_global_zero:
            return
        out = log_dir / self.dirname / split
        step = trainer.global_step
        dm = trainer.datamodule
        for task in getattr(dm, "tasks", []) if self.samples_per_task else []:
            batch = dm.eval_samples(split, task, self.samples_per_task)
            was_training = pl_module.training
            pl_module.eval()
            with torch.no_grad():
                pred = pl_module(batch.to(pl_module.device)).float().cpu().numpy()
            pl_module.train(was_training)
            fps = self.fps or (float(batch.meta["fps"][0]) if "fps" in batch.meta else 25.0)
            paths = [animate_sample(batch, pred, i, dm.layout.bones, out / task / f"step{step}_sample{i}.gif", fps)
                     for i in range(batch.batch_size)]  # fmt: skip
            self.written += paths
            self._log_media(trainer, f"media/{split}/{task}", paths, step, video=True)
        curves = horizon_curves(trainer.callback_metrics, split)
        if curves:
            path = plot_horizons(curves, out / f"horizons_step{step}.png", title=f"{split} MPJPE by horizon, step {step}")
            self.written.append(path)
            self._log_media(trainer, f"media/{split}/horizons", [path], step, video=False)

    @staticmethod
    def _log_media(trainer: L.Trainer, key: str, paths: list[Path], step: int, video: bool) -> None:
        for logger in trainer.loggers:
            name = type(logger).__name__
            if name == "WandbLogger":
                log = logger.log_video if video else logger.log_image
                log(key, [str(p) for p in paths], step=step, **({"format": ["gif"] * len(paths)} if video else {}))
            elif name == "TensorBoardLogger":
                from PIL import Image

                for j, p in enumerate(paths):
                    with Image.open(p) as im:  # the first frame of an animation
                        logger.experiment.add_image(f"{key}/{j}", np.asarray(im.convert("RGB")), step, dataformats="HWC")
