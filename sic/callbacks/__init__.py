"""Lightning callbacks: skeleton animations and per-horizon plots (:mod:`sic.callbacks.visual`)."""

from sic.callbacks.visual import SkeletonAnimation, plot_horizons, render_animation

__all__ = ["SkeletonAnimation", "plot_horizons", "render_animation"]
