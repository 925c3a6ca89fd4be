"""Automatic pose captions from 3D joints: posecodes in the manner of PoseScript and PoseFix.

A clean-room re-implementation from the published description of PoseScript (Delmas et al.,
ECCV 2022) and PoseFix (Delmas et al., ICCV 2023): joint positions are measured with simple
operators (angles, distances, relative positions, tilt from vertical, height above the floor,
body incline), binned into classes, selected, aggregated and written out as sentences. Only
joint coordinates are needed. No PoseScript/PoseFix code, template or resource file is used
(those are CC BY-NC-SA); thresholds are re-typed as facts, all wording is ours. See
``docs/methods/pose-captions.md``.

Modules: :mod:`~sic.captions.canonical` (joint maps and the canonical frame),
:mod:`~sic.captions.operators` (measurements, thresholds), :mod:`~sic.captions.posecodes`
(code tables, super-posecodes), :mod:`~sic.captions.selection` (skip, ripple effects),
:mod:`~sic.captions.aggregation`, :mod:`~sic.captions.text` (sentences),
:mod:`~sic.captions.pairs` (A → B instructions), :mod:`~sic.captions.captioner`.

Example:
    >>> import numpy as np
    >>> from sic.captions import PoseCaptioner
    >>> # H3.6M-17, metres, y up, facing +z (the subject's left is +x); the left elbow bent at 90°
    >>> pose = np.array([
    ...     [0.0, 0.9, 0.0], [-0.1, 0.9, 0.0], [-0.1, 0.5, 0.0], [-0.1, 0.1, 0.0],
    ...     [0.1, 0.9, 0.0], [0.1, 0.5, 0.0], [0.1, 0.1, 0.0], [0.0, 1.15, 0.0],
    ...     [0.0, 1.4, 0.0], [0.0, 1.5, 0.0], [0.0, 1.6, 0.0],
    ...     [0.2, 1.4, 0.0], [0.2, 1.12, 0.0], [0.2, 1.12, 0.25],
    ...     [-0.2, 1.4, 0.0], [-0.2, 1.12, 0.0], [-0.2, 0.87, 0.0]])
    >>> cap = PoseCaptioner("h36m17", random_offsets=False)
    >>> cap.posecodes(pose).class_of("angle:left_shoulder-left_elbow-left_wrist")
    ['right angle']
    >>> texts = cap.caption(np.stack([pose, pose]), seed=0)
    >>> len(texts), texts == cap.caption(np.stack([pose, pose]), seed=0)
    (2, True)
    >>> print(texts[0])
    Both upper arms, the thighs and the left shin are vertical and the right hand is behind the left
    hand and the right forearm is vertical with the left hand above the other hand and some distance
    away from the other hand. The left forearm is parallel to the floor, the feet are close together.
    The left knee is close to the other knee. The right knee is straight.
    >>> # pose i depends only on (seed, index[i]): a shard captioned alone gives the same text
    >>> cap.caption(pose, seed=0, index=[1]) == texts[1:]
    True
"""

from sic.captions.captioner import CaptionTrace, PoseCaptioner
from sic.captions.posecodes import PoseCodes

__all__ = ["CaptionTrace", "PoseCaptioner", "PoseCodes"]
