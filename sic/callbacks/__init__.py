"""Lightning callbacks: skeleton animations and per-horizon plots (:mod:`sic.callbacks.visual`), prediction files
(:mod:`sic.callbacks.predictions`)."""

from sic.callbacks.predictions import PredictionWriter
from sic.callbacks.visual import SkeletonAnimation, plot_horizons, render_animation

__all__ = ["PredictionWriter", "SkeletonAnimation", "plot_horizons", "render_animation"]
