"""Cheap per-pose random draws for the caption stage, fed from one ``numpy`` generator.

Selecting, aggregating and phrasing a caption makes dozens of small random choices. Calling a
``numpy.random.Generator`` for each costs microseconds, so :class:`Dice` draws uniforms in blocks
and serves them one at a time. The stream depends only on the generator's state, so a caption is
reproducible from the seed of its generator.

Example:
    >>> import numpy as np
    >>> from sic.captions.dice import Dice
    >>> dice = Dice(np.random.default_rng(0))
    >>> dice.choice(["a", "b", "c"]) in {"a", "b", "c"}, 0.0 <= dice.random() < 1.0
    (True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

__all__ = ["Dice"]

T = TypeVar("T")


class Dice:
    """Uniform draws served from blocks of a ``numpy`` generator.

    Args:
        rng: the generator that owns the stream (its state advances block by block).
        block: how many uniforms to draw at a time.
    """

    __slots__ = ("_block", "_buf", "_i", "_rng")

    def __init__(self, rng: np.random.Generator, block: int = 64) -> None:
        self._rng, self._block = rng, block
        self._buf: list[float] = []
        self._i = 0

    def random(self) -> float:
        """One uniform draw in ``[0, 1)``."""
        if self._i == len(self._buf):
            self._buf, self._i = self._rng.random(self._block).tolist(), 0
        u = self._buf[self._i]
        self._i += 1
        return u

    def chance(self, p: float) -> bool:
        """``True`` with probability ``p``."""
        return self.random() < p

    def choice(self, items: Sequence[T]) -> T:
        """One element of ``items``, uniformly."""
        return items[min(int(self.random() * len(items)), len(items) - 1)]

    def weighted(self, items: Sequence[T], weights: Sequence[float]) -> T:
        """One element of ``items`` with probabilities proportional to ``weights``."""
        u, acc = self.random() * sum(weights), 0.0
        for item, w in zip(items, weights, strict=True):
            acc += w
            if u < acc:
                return item
        return items[-1]

    def shuffle(self, items: list[T]) -> list[T]:
        """Shuffle ``items`` in place (Fisher-Yates) and return it."""
        for i in range(len(items) - 1, 0, -1):
            j = min(int(self.random() * (i + 1)), i)
            items[i], items[j] = items[j], items[i]
        return items
