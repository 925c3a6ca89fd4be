"""Test-time corruptions of 2D→3D lifting windows: occlusion, irregular motion, detector noise, domain shift.

The robustness suite asked for by the lifting method's reviewers perturbs the *inputs* of a test window on
the fly and scores the model against targets kept consistent with the perturbation:

=====================  =======================================  =============================================
corruption id          severity                                 what changes
=====================  =======================================  =============================================
``joint_occlusion``    fraction of joints per frame, (0, 1)     random joints hidden in every frame
``limb_occlusion``     fraction of the clip, (0, 1]             one body part hidden over a contiguous block
``frame_blackout``     k consecutive frames, integer >= 1       every joint of k consecutive frames hidden
``speed``              time factor, > 0                         2D input and 3D target resampled jointly
``frame_drop``         fraction of frames, (0, 1)               frames dropped, 2D refilled (hold / linear)
``jitter``             Gaussian sigma in pixels, >= 0           i.i.d. noise (plus optional outliers) on u, v
``left_right_swap``    probability per frame, (0, 1]            left/right 2D detections swapped
``camera_height``      camera height in metres, > 0             re-filmed from a new camera at that height
``camera_distance``    camera distance in metres, > 0           re-filmed from a new camera that far away
=====================  =======================================  =============================================

A hidden 2D joint has confidence 0 and its coordinates set to a declared fill (``"root"``: the root joint's
detected position in that frame, which becomes 0 after root-relative normalisation; ``"center"``: the
image centre). Every corruption returns a :class:`CorruptedWindow`: the corrupted window of exactly
``num_frames`` frames, the ``occluded`` joints (for "error on occluded joints only") and the ``scored``
frames.

Randomness is a function of ``(seed, sample key)`` only (:func:`sic.data.transforms.hash_uniform`, or a
generator seeded with ``[seed, key, stream]``), so a sample gets the same corruption whatever batch it is in
and every model sees identical inputs. Each corruption class has its own random stream that does not
depend on the severity, so severities of one corruption are paired: ``joint_occlusion@0.1`` hides a subset
of the joints ``joint_occlusion@0.3`` hides, and both camera shifts of a sample share its azimuth.

Example:
    >>> import numpy as np
    >>> from sic.data.corruptions import LiftingWindow, get_corruption, parse_suite
    >>> from sic.data.skeleton import get_layout
    >>> n, w, j = 2, 8, 17
    >>> window = LiftingWindow(
    ...     poses3d=np.zeros((n, w, j, 3), np.float32), poses2d=np.ones((n, w, j, 3), np.float32),
    ...     cam_R=np.tile(np.eye(3), (n, 1, 1)), cam_t=np.zeros((n, 3)), cam_f=np.full((n, 2), 1000.0),
    ...     cam_c=np.full((n, 2), 500.0), cam_size=np.full((n, 2), 1000.0), keys=np.arange(n))
    >>> out = get_corruption("joint_occlusion", 0.3).apply(window, 8, seed=0, layout=get_layout("h36m17"))
    >>> out.occluded.sum(-1).tolist()[0]          # round(0.3 * 17) = 5 joints per frame
    [5, 5, 5, 5, 5, 5, 5, 5]
    >>> [c.label for c in parse_suite({"jitter": [2, 5]})]
    ['jitter@2', 'jitter@5']
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from sic.data.camera import Cameras, sample_cameras, simulate_detections
from sic.data.skeleton import SkeletonLayout
from sic.data.transforms import hash_uniform
from sic.utils.errors import ConfigError

__all__ = [
    "CORRUPTIONS",
    "CameraDistance",
    "CameraHeight",
    "CorruptedWindow",
    "Corruption",
    "FrameBlackout",
    "FrameDrop",
    "Jitter",
    "JointOcclusion",
    "LeftRightSwap",
    "LiftingWindow",
    "LimbOcclusion",
    "Speed",
    "get_corruption",
    "parse_suite",
]

_UINT64 = 0xFFFFFFFFFFFFFFFF


@dataclass
class LiftingWindow:
    """``N`` test windows of ``W`` frames for 2D→3D lifting (numpy arrays).

    Attributes:
        poses3d: ``(N, W, J, 3)`` float32 world joints, metres, y up, floor at ``y = 0``.
        poses2d: ``(N, W, J, 3)`` float32 detections ``(u, v, confidence)`` in pixels.
        cam_R: ``(N, 3, 3)`` world→camera rotations (OpenCV axes, like :class:`~sic.data.camera.Cameras`).
        cam_t: ``(N, 3)`` world→camera translations in metres.
        cam_f: ``(N, 2)`` focal lengths in pixels.
        cam_c: ``(N, 2)`` principal points in pixels.
        cam_size: ``(N, 2)`` image ``(width, height)`` in pixels.
        keys: ``(N,)`` int64 sample ids; all corruption randomness is a function of ``(seed, key)``.
    """

    poses3d: np.ndarray
    poses2d: np.ndarray
    cam_R: np.ndarray
    cam_t: np.ndarray
    cam_f: np.ndarray
    cam_c: np.ndarray
    cam_size: np.ndarray
    keys: np.ndarray

    def __post_init__(self) -> None:
        self.keys = np.asarray(self.keys, dtype=np.int64)
        shape3d = np.shape(self.poses3d)
        if len(shape3d) != 4 or shape3d[-1] != 3:
            raise ValueError(f"LiftingWindow.poses3d: expected shape (N, W, J, 3), got {shape3d}")
        n, w, j, _ = shape3d
        expected = {
            "poses2d": (n, w, j, 3), "cam_R": (n, 3, 3), "cam_t": (n, 3), "cam_f": (n, 2), "cam_c": (n, 2),
            "cam_size": (n, 2), "keys": (n,),
        }  # fmt: skip
        for name, shape in expected.items():
            got = np.shape(getattr(self, name))
            if got != shape:
                raise ValueError(f"LiftingWindow.{name}: expected shape {shape}, got {got}")

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def num_frames(self) -> int:
        """Frames per window ``W``."""
        return self.poses3d.shape[1]

    @property
    def num_joints(self) -> int:
        """Joints per pose ``J``."""
        return self.poses3d.shape[2]

    def crop(self, num_frames: int) -> LiftingWindow:
        """The first ``num_frames`` frames of every window, as copies (the input is never shared).

        Raises:
            ValueError: the window has fewer than ``num_frames`` frames.
        """
        if not 1 <= num_frames <= self.num_frames:
            raise ValueError(f"cannot crop {num_frames} frames from a window of {self.num_frames} frames")
        return LiftingWindow(
            poses3d=self.poses3d[:, :num_frames].copy(), poses2d=self.poses2d[:, :num_frames].copy(),
            cam_R=self.cam_R.copy(), cam_t=self.cam_t.copy(), cam_f=self.cam_f.copy(), cam_c=self.cam_c.copy(),
            cam_size=self.cam_size.copy(), keys=self.keys.copy(),
        )  # fmt: skip

    def select(self, index: np.ndarray | Sequence[int] | slice) -> LiftingWindow:
        """The windows at ``index`` along the batch axis (copies), e.g. to regroup samples into new batches."""
        fields = {f.name: np.asarray(getattr(self, f.name))[index].copy() for f in dataclasses.fields(self)}
        return LiftingWindow(**fields)

    def cameras(self) -> Cameras:
        """The windows' cameras as :class:`~sic.data.camera.Cameras`."""
        return Cameras(R=self.cam_R, t=self.cam_t, f=self.cam_f, c=self.cam_c, size=self.cam_size)


@dataclass
class CorruptedWindow:
    """The output of :meth:`Corruption.apply`.

    Attributes:
        window: the corrupted :class:`LiftingWindow` of exactly ``num_frames`` frames: corrupted 2D, with the
            3D targets and cameras consistent with it.
        occluded: ``(N, T, J)`` bool, the 2D joints the corruption hid or damaged.
        scored: ``(N, T)`` bool, the frames that count in the metrics.
    """

    window: LiftingWindow
    occluded: np.ndarray
    scored: np.ndarray


class Corruption:
    """Base class of test-time corruptions.

    Subclasses set ``name``, ``severity_doc`` (the valid range, for error messages) and ``defaults`` (their
    options and default values), check the severity in :meth:`_valid` and options in :meth:`_check_options`,
    and implement :meth:`_apply` on a window already cut to :meth:`frames_needed` frames.

    Args:
        severity: the corruption's strength, in the units its docstring states.
        **options: corruption-specific options (see each subclass).

    Raises:
        ConfigError: the severity is out of range or an option is unknown or invalid.
    """

    name: ClassVar[str]
    severity_doc: ClassVar[str]
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, severity: float, **options: Any) -> None:
        try:
            value = float(severity)
        except (TypeError, ValueError):
            raise ConfigError(f"{self.name}: severity must be {self.severity_doc}, got {severity!r}") from None
        if isinstance(severity, bool) or not self._valid(value):
            raise ConfigError(f"{self.name}: severity must be {self.severity_doc}, got {severity!r}")
        unknown = sorted(set(options) - set(self.defaults))
        if unknown:
            known = ", ".join(sorted(self.defaults)) or "none"
            raise ConfigError(f"{self.name}: unknown option(s) {', '.join(unknown)}; known options: {known}")
        self.severity = value
        self.options = {**self.defaults, **options}
        self._check_options()

    def _valid(self, severity: float) -> bool:
        raise NotImplementedError

    def _check_options(self) -> None:
        """Raise :class:`ConfigError` for an invalid option value (none to check by default)."""

    def _check_choice(self, option: str, choices: tuple[str, ...]) -> None:
        if self.options[option] not in choices:
            raise ConfigError(
                f"{self.name}: option {option}={self.options[option]!r} must be one of: {', '.join(choices)}"
            )

    @property
    def label(self) -> str:
        """Metrics key such as ``joint_occlusion@0.3``; options that differ from the defaults are appended
        (``frame_drop@0.3,fill=hold``) so two settings of one corruption never share a key."""
        extra = "".join(f",{k}={v}" for k, v in sorted(self.options.items()) if v != self.defaults[k])
        return f"{self.name}@{self.severity:g}{extra}".replace("/", "_")

    def __repr__(self) -> str:
        options = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({self.severity:g}{options})"

    def frames_needed(self, num_frames: int) -> int:
        """Raw frames an input window must have to give ``num_frames`` output frames."""
        return num_frames

    def apply(self, window: LiftingWindow, num_frames: int, seed: int, layout: SkeletonLayout) -> CorruptedWindow:
        """Corrupt the first frames of ``window``; the input arrays are never modified.

        Args:
            window: ``N`` windows of at least :meth:`frames_needed` ``(num_frames)`` frames.
            num_frames: frames ``T`` of the output.
            seed: global seed of the evaluation; with the sample keys it fixes every random draw.
            layout: the joint layout of the window (root, body parts, left/right pairs).

        Returns:
            :class:`CorruptedWindow` of ``T`` frames.

        Raises:
            ConfigError: the window is too short, or the corruption does not fit ``num_frames`` or ``layout``.
            ValueError: the window's joints do not match ``layout``.
        """
        if num_frames < 1:
            raise ConfigError(f"{self.label}: num_frames must be >= 1, got {num_frames}")
        needed = self.frames_needed(num_frames)
        if window.num_frames < needed:
            raise ConfigError(
                f"{self.label}: needs windows of at least {needed} frames for {num_frames} output frames, "
                f"got {window.num_frames}"
            )
        if window.num_joints != layout.num_joints:
            raise ValueError(
                f"{self.label}: window has {window.num_joints} joints but layout {layout.name!r} has "
                f"{layout.num_joints}"
            )
        return self._apply(window.crop(needed), num_frames, seed, layout)

    def _apply(self, window: LiftingWindow, num_frames: int, seed: int, layout: SkeletonLayout) -> CorruptedWindow:
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------


def _result(window: LiftingWindow, occluded: np.ndarray | None = None, scored: np.ndarray | None = None):
    n, t, j = window.poses2d.shape[:3]
    occluded = np.zeros((n, t, j), dtype=bool) if occluded is None else np.ascontiguousarray(occluded, dtype=bool)
    scored = np.ones((n, t), dtype=bool) if scored is None else np.ascontiguousarray(scored, dtype=bool)
    return CorruptedWindow(window=window, occluded=occluded, scored=scored)


def _hide(window: LiftingWindow, hidden: np.ndarray, fill: str, root: int) -> LiftingWindow:
    """Hide the 2D joints where ``hidden`` ``(N, T, J)`` is True: confidence 0, coordinates set to ``fill``.

    ``"root"`` reads the root's position from the *uncorrupted* detections of the same frame, so it stays
    defined when the root itself is hidden (and a root-relative input gets exactly 0 at hidden joints).
    """
    p2 = window.poses2d
    if fill == "root":
        value = p2[:, :, root : root + 1, :2]  # (N, T, 1, 2)
    else:
        value = (window.cam_size / 2.0)[:, None, None, :].astype(p2.dtype)  # (N, 1, 1, 2)
    uv = np.where(hidden[..., None], value, p2[..., :2])
    conf = np.where(hidden, np.zeros((), p2.dtype), p2[..., 2])
    out = np.concatenate([uv, conf[..., None]], axis=-1).astype(p2.dtype, copy=False)
    return dataclasses.replace(window, poses2d=out)


def _count(rate: float, total: int, low: int, high: int) -> int:
    """``round(rate · total)`` clipped to ``[low, high]`` (so a corruption is never a silent no-op)."""
    return int(min(max(int(np.rint(rate * total)), low), high))


def _block_start(seed: int, keys: np.ndarray, num_frames: int, length: int, stream: int) -> np.ndarray:
    """``(N,)`` uniform start frames of a block of ``length`` frames inside ``num_frames``."""
    u = hash_uniform(seed, keys, (), stream=stream)
    return np.minimum((u * (num_frames - length + 1)).astype(np.int64), num_frames - length)


def _interp_time(x: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``x`` ``(N, W, ...)`` at fractional frame positions ``pos`` ``(T,)``.

    At integer positions the weight of the second frame is exactly 0, so raw frames come out bit-exact.
    """
    w_frames = x.shape[1]
    i0 = np.minimum(np.floor(pos).astype(np.int64), max(w_frames - 2, 0))
    i1 = np.minimum(i0 + 1, w_frames - 1)
    w = (pos - i0).astype(x.dtype).reshape((1, -1) + (1,) * (x.ndim - 2))
    return (x[:, i0] * (1 - w) + x[:, i1] * w).astype(x.dtype, copy=False)


def _gaussian(seed: int, keys: np.ndarray, shape: tuple[int, ...], stream: int) -> np.ndarray:
    """Counter-based standard normals ``(N, *shape)`` (Box-Muller on :func:`hash_uniform` pairs)."""
    u = hash_uniform(seed, keys, (*shape, 2), stream=stream)
    # 1 - u lies in (0, 1], so the logarithm is finite.
    return np.sqrt(-2.0 * np.log1p(-u[..., 0])) * np.cos(2.0 * np.pi * u[..., 1])


# ---------------------------------------------------------------------------------------------------------
# Occlusion
# ---------------------------------------------------------------------------------------------------------

_FILLS = ("root", "center")


class JointOcclusion(Corruption):
    """Random joint masking: in every frame, a fraction of the joints is hidden.

    Each frame hides ``round(rate · J)`` joints (at least 1), drawn independently per frame and sample;
    a hidden joint gets confidence 0 and its coordinates set to the fill. ``occluded`` marks them.

    Severity: the fraction ``rate`` of joints hidden per frame, in (0, 1).

    Options:
        fill: ``"root"`` (default; the root joint's detected 2D position in that frame, i.e. 0 after
            root-relative normalisation) or ``"center"`` (the image centre ``size / 2``).
        include_root: also let the root be hidden (default False: the root is the origin of root-relative
            inputs and targets, so hiding it would only lower its confidence and dilute the
            occluded-joint error). The count is then taken over all J joints, capped at the candidates.
    """

    name = "joint_occlusion"
    severity_doc = "a fraction of joints in (0, 1)"
    defaults: ClassVar[dict[str, Any]] = {"fill": "root", "include_root": False}
    _stream = 101

    def _valid(self, severity):
        return 0.0 < severity < 1.0

    def _check_options(self):
        self._check_choice("fill", _FILLS)

    def _apply(self, window, num_frames, seed, layout):
        _, t, j = window.poses2d.shape[:3]
        candidates = j if self.options["include_root"] else j - 1
        count = _count(self.severity, j, 1, candidates)
        scores = hash_uniform(seed, window.keys, (t, j), stream=self._stream)
        if not self.options["include_root"]:
            scores[..., layout.root] = 2.0  # above every uniform: never among the lowest ranks
        # The joints of lowest score are hidden; one stream for all rates nests lower rates inside higher.
        rank = scores.argsort(-1).argsort(-1)
        hidden = rank < count
        return _result(_hide(window, hidden, self.options["fill"], layout.root), occluded=hidden)


class LimbOcclusion(Corruption):
    """Structured occlusion: one body part hidden over a contiguous block of frames.

    Each sample draws one part of ``layout.body_parts`` (uniformly, or the one named by ``part``) and a
    block of ``round(fraction · T)`` consecutive frames (at least 1) with a uniform start; the part's
    joints are hidden there (confidence 0, coordinates set to the fill). ``occluded`` marks them.

    Severity: the fraction of the clip covered by the block, in (0, 1].

    Options:
        fill: ``"root"`` (default) or ``"center"``, as for ``joint_occlusion``.
        part: name of the body part to hide in every sample (default None: drawn per sample).
    """

    name = "limb_occlusion"
    severity_doc = "a fraction of the clip in (0, 1]"
    defaults: ClassVar[dict[str, Any]] = {"fill": "root", "part": None}
    _stream = 102

    def _valid(self, severity):
        return 0.0 < severity <= 1.0

    def _check_options(self):
        self._check_choice("fill", _FILLS)

    def _apply(self, window, num_frames, seed, layout):
        parts = layout.body_parts
        if not parts:
            raise ConfigError(f"{self.label}: layout {layout.name!r} declares no body parts")
        names = list(parts)
        if self.options["part"] is not None:
            if self.options["part"] not in parts:
                raise ConfigError(
                    f"{self.label}: layout {layout.name!r} has no body part {self.options['part']!r}; "
                    f"parts: {', '.join(names)}"
                )
            choice = np.full(len(window), names.index(self.options["part"]), dtype=np.int64)
        else:
            u = hash_uniform(seed, window.keys, (), stream=self._stream)
            choice = np.minimum((u * len(names)).astype(np.int64), len(names) - 1)
        _, t, j = window.poses2d.shape[:3]
        member = np.zeros((len(names), j), dtype=bool)  # (P, J) joints of each part
        for p, name in enumerate(names):
            member[p, list(parts[name])] = True
        length = _count(self.severity, t, 1, t)
        start = _block_start(seed, window.keys, t, length, stream=self._stream + 1000)
        frames = np.arange(t)
        in_block = (frames >= start[:, None]) & (frames < (start + length)[:, None])  # (N, T)
        hidden = in_block[:, :, None] & member[choice][:, None, :]
        return _result(_hide(window, hidden, self.options["fill"], layout.root), occluded=hidden)


class FrameBlackout(Corruption):
    """Full-frame blackout: every joint of ``k`` consecutive frames hidden, at a uniform start per sample.

    Hidden joints get confidence 0 and the fill. With ``fill="root"`` all joints of a blacked-out frame
    collapse onto the root's detected position (a root-relative input is all zeros there, but the root's
    pixel trajectory is kept); ``"center"`` removes it too.

    Severity: the number ``k`` of consecutive frames, an integer >= 1 (at most T at apply time).

    Options:
        fill: ``"root"`` (default) or ``"center"``.
    """

    name = "frame_blackout"
    severity_doc = "an integer number of frames >= 1"
    defaults: ClassVar[dict[str, Any]] = {"fill": "root"}
    _stream = 103

    def _valid(self, severity):
        return math.isfinite(severity) and severity >= 1 and severity == int(severity)

    def _check_options(self):
        self._check_choice("fill", _FILLS)

    def _apply(self, window, num_frames, seed, layout):
        n, t, j = window.poses2d.shape[:3]
        k = int(self.severity)
        if k > t:
            raise ConfigError(f"{self.label}: cannot black out {k} frames of a {t}-frame window")
        start = _block_start(seed, window.keys, t, k, stream=self._stream)
        frames = np.arange(t)
        in_block = (frames >= start[:, None]) & (frames < (start + k)[:, None])
        hidden = np.broadcast_to(in_block[:, :, None], (n, t, j))
        return _result(_hide(window, hidden, self.options["fill"], layout.root), occluded=hidden)


# ---------------------------------------------------------------------------------------------------------
# Irregular motion
# ---------------------------------------------------------------------------------------------------------


class Speed(Corruption):
    """Speed change: the 2D input (u, v and confidence) and the 3D target are resampled jointly in time.

    Output frame ``i`` reads raw time ``i · factor`` by linear interpolation between the neighbouring raw
    frames (exact raw frames at integer times), so ``factor`` 2 plays the motion twice as fast and 0.5
    half as fast. The window therefore needs ``floor((T - 1) · factor) + 1`` raw frames. The cameras are
    static and stay as they are; no joint is occluded. (A per-frame depth factor such as MotionBERT's
    ``2.5d_factor`` would have to be resampled the same way; the window carries none.)

    Severity: the time factor, > 0 (e.g. 0.5, 0.75, 1.5, 2).
    """

    name = "speed"
    severity_doc = "a time factor > 0"

    def _valid(self, severity):
        return math.isfinite(severity) and severity > 0.0

    def frames_needed(self, num_frames):
        # The small epsilon keeps exact products such as 242 * 0.75 = 181.5 from rounding down below.
        return math.floor((num_frames - 1) * self.severity + 1e-9) + 1

    def _apply(self, window, num_frames, seed, layout):
        pos = np.minimum(np.arange(num_frames) * self.severity, window.num_frames - 1)
        out = dataclasses.replace(
            window, poses3d=_interp_time(window.poses3d, pos), poses2d=_interp_time(window.poses2d, pos)
        )
        return _result(out)


class FrameDrop(Corruption):
    """Frame drops: a fraction of the frames is removed at random and the 2D input refilled.

    Each sample drops ``round(rate · T)`` frames (at least 1, at most T - 1), never the first, so every
    dropped frame has an earlier kept one. Dropped frames are refilled from the kept ones: ``"linear"``
    interpolates (u, v, confidence) in time between the previous and the next kept frame (and holds the
    last kept frame after it: no extrapolation), ``"hold"`` repeats the last kept frame. The 3D targets
    are the original ones. ``occluded`` marks every joint of a filled frame.

    Severity: the fraction ``rate`` of frames dropped, in (0, 1).

    Options:
        fill: ``"linear"`` (default) or ``"hold"``.
        score_filled: score the filled frames too (default True); False sets ``scored`` False there.
    """

    name = "frame_drop"
    severity_doc = "a fraction of frames in (0, 1)"
    defaults: ClassVar[dict[str, Any]] = {"fill": "linear", "score_filled": True}
    _stream = 104

    def _valid(self, severity):
        return 0.0 < severity < 1.0

    def _check_options(self):
        self._check_choice("fill", ("linear", "hold"))

    def _apply(self, window, num_frames, seed, layout):
        n, t, j = window.poses2d.shape[:3]
        if t < 2:
            raise ConfigError(f"{self.label}: needs at least 2 frames to drop one (never the first), got {t}")
        count = _count(self.severity, t, 1, t - 1)
        scores = hash_uniform(seed, window.keys, (t,), stream=self._stream)
        scores[:, 0] = 2.0  # the first frame is always kept
        dropped = scores.argsort(-1).argsort(-1) < count  # (N, T)
        frames = np.arange(t)
        prev = np.maximum.accumulate(np.where(dropped, -1, frames), axis=1)  # last kept frame <= t
        after = np.minimum.accumulate(np.where(dropped, t, frames)[:, ::-1], axis=1)[:, ::-1]  # next kept >= t
        p2 = window.poses2d
        held = np.take_along_axis(p2, prev[:, :, None, None], axis=1)
        if self.options["fill"] == "hold":
            filled = held
        else:
            nxt = np.where(after == t, prev, after)  # after the last kept frame: hold it
            # Weight 0 on kept frames and after the last kept one (nxt == prev), so those copy bit-exactly.
            w = np.where(nxt > prev, (frames - prev) / np.maximum(nxt - prev, 1), 0.0)
            w = w.astype(p2.dtype)[:, :, None, None]
            filled = held * (1 - w) + np.take_along_axis(p2, nxt[:, :, None, None], axis=1) * w
        out = dataclasses.replace(window, poses2d=filled.astype(p2.dtype, copy=False))
        occluded = np.broadcast_to(dropped[:, :, None], (n, t, j))
        scored = None if self.options["score_filled"] else ~dropped
        return _result(out, occluded=occluded, scored=scored)


# ---------------------------------------------------------------------------------------------------------
# Detector noise
# ---------------------------------------------------------------------------------------------------------


class Jitter(Corruption):
    """Detector jitter: i.i.d. Gaussian noise of ``sigma`` pixels on u and v, optionally sparse outliers.

    The noise is white (independent per sample, frame, joint and axis), unlike the temporally smoothed
    noise of :func:`~sic.data.camera.simulate_detections`, and is in original pixel units (``sigma · 2 / w``
    after screen normalisation). With ``outlier_prob`` > 0 a joint is instead, with that probability,
    displaced by ``U(50, 150)`` pixels in a uniform direction; ``occluded`` marks the outliers only.

    Confidence: by default it is multiplied by ``exp(-|added error| / 25 px)``, the error-to-confidence law
    of ``simulate_detections``, so that a noisier joint looks less certain as a detector's would (the
    window's confidence already reflects its own detection error, so only the added error is charged).
    ``lower_confidence=False`` leaves it unchanged. ``sigma = 0`` without outliers is the identity.

    Severity: ``sigma`` in pixels, >= 0 (e.g. 1, 2, 5, 10).

    Options:
        outlier_prob: probability of an outlier per joint and frame, in [0, 1] (default 0).
        lower_confidence: lower the confidence with the added error (default True).
    """

    name = "jitter"
    severity_doc = "a noise level in pixels >= 0"
    defaults: ClassVar[dict[str, Any]] = {"outlier_prob": 0.0, "lower_confidence": True}
    outlier_px: ClassVar[tuple[float, float]] = (50.0, 150.0)
    _stream = 105

    def _valid(self, severity):
        return math.isfinite(severity) and severity >= 0.0

    def _check_options(self):
        p = self.options["outlier_prob"]
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ConfigError(f"{self.name}: option outlier_prob must be a probability in [0, 1], got {p!r}")

    def _apply(self, window, num_frames, seed, layout):
        n, t, j = window.poses2d.shape[:3]
        error = self.severity * _gaussian(seed, window.keys, (t, j, 2), stream=self._stream)  # (N, T, J, 2)
        outlier = np.zeros((n, t, j), dtype=bool)
        if self.options["outlier_prob"] > 0:
            u = hash_uniform(seed, window.keys, (t, j, 3), stream=self._stream + 1000)
            outlier = u[..., 0] < self.options["outlier_prob"]
            low, high = self.outlier_px
            magnitude, angle = low + (high - low) * u[..., 1], 2.0 * np.pi * u[..., 2]
            displacement = magnitude[..., None] * np.stack([np.cos(angle), np.sin(angle)], axis=-1)
            error = np.where(outlier[..., None], displacement, error)
        p2 = window.poses2d
        uv = p2[..., :2] + error.astype(p2.dtype)
        conf = p2[..., 2]
        if self.options["lower_confidence"]:
            conf = conf * np.exp(-np.linalg.norm(error, axis=-1) / 25.0).astype(p2.dtype)
        out = np.concatenate([uv, conf[..., None]], axis=-1).astype(p2.dtype, copy=False)
        return _result(dataclasses.replace(window, poses2d=out), occluded=outlier)


class LeftRightSwap(Corruption):
    """Left/right confusion: in randomly drawn frames the 2D detections of every left/right pair swap.

    Each frame of each sample is swapped with probability ``p``; a swapped frame exchanges (u, v,
    confidence) of every pair in ``layout.flip_pairs``, like a detector confusing the body's sides. The 3D
    targets are untouched. ``occluded`` marks the swapped joints (the pair members of swapped frames).
    Applying the same corruption twice with the same seed restores the input.

    Severity: the probability ``p`` per frame, in (0, 1].
    """

    name = "left_right_swap"
    severity_doc = "a probability per frame in (0, 1]"
    _stream = 106

    def _valid(self, severity):
        return 0.0 < severity <= 1.0

    def _apply(self, window, num_frames, seed, layout):
        if not layout.flip_pairs:
            raise ConfigError(f"{self.label}: layout {layout.name!r} declares no left/right pairs")
        _, t, j = window.poses2d.shape[:3]
        swapped = hash_uniform(seed, window.keys, (t,), stream=self._stream) < self.severity  # (N, T)
        perm = layout.flip_permutation
        p2 = window.poses2d
        out = np.where(swapped[:, :, None, None], p2[:, :, perm], p2)
        paired = perm != np.arange(j)
        return _result(dataclasses.replace(window, poses2d=out), occluded=swapped[:, :, None] & paired)


# ---------------------------------------------------------------------------------------------------------
# Domain shift: new camera placements
# ---------------------------------------------------------------------------------------------------------


def _motion_centre(poses: np.ndarray, root: int) -> tuple[np.ndarray, np.ndarray]:
    """Aim point ``(N, 3)`` and horizontal range of motion ``(N,)`` of clips, as :func:`render_views` uses.

    The aim point is the centre of the root's horizontal path at the middle of the joints' height range;
    the range is the path's half-length plus 0.4 m for the body's reach.
    """
    root_xz = poses[:, :, root][..., [0, 2]]
    lo, hi = root_xz.min(axis=1), root_xz.max(axis=1)
    centre = 0.5 * (lo + hi)
    heights = poses[..., 1]
    look_y = 0.5 * (heights.max(axis=(1, 2)) + heights.min(axis=(1, 2)))
    return np.stack([centre[:, 0], look_y, centre[:, 1]], axis=-1), 0.5 * np.linalg.norm(hi - lo, axis=-1) + 0.4


class _Refilm(Corruption):
    """Re-film each window from a new static camera and detect its joints again (see the subclasses).

    Per sample, a generator seeded with ``[seed, key, stream]`` places the camera with
    :func:`~sic.data.camera.sample_cameras` (random azimuth, aimed at the motion centre) and draws new
    detections with :func:`~sic.data.camera.simulate_detections` (default noise and outliers). The focal
    length, principal point and image size are the window's own, so only the camera placement shifts. The
    new camera is returned in the window, so camera-frame targets computed from it match the new 2D; the
    world-frame 3D poses are unchanged. Points outside the image are kept as projected; joints closer than
    ``min_depth`` (0.1 m) to the camera plane or behind it cannot be imaged and are hidden instead
    (confidence 0, image centre) and marked ``occluded``.

    Options:
        noise: simulate detector noise (default True); False gives the exact projections with confidence 1.
    """

    defaults: ClassVar[dict[str, Any]] = {"noise": True}
    min_depth: ClassVar[float] = 0.1
    _stream = 107  # shared by both subclasses: a sample keeps its azimuth across height and distance shifts

    def _valid(self, severity):
        return math.isfinite(severity) and severity > 0.0

    def _place(self, look_at: np.ndarray, radius: np.ndarray, rng: np.random.Generator) -> Cameras:
        raise NotImplementedError

    def _apply(self, window, num_frames, seed, layout):
        n = len(window)
        R, t = np.empty_like(window.cam_R), np.empty_like(window.cam_t)
        p2 = np.empty_like(window.poses2d)
        hidden = np.zeros(window.poses2d.shape[:3], dtype=bool)
        # One generator per sample (a loop over N) keeps every draw a function of (seed, key) alone.
        for i in range(n):
            rng = np.random.default_rng([seed & _UINT64, int(window.keys[i]) & _UINT64, self._stream])
            poses = window.poses3d[i : i + 1].astype(np.float64)
            look_at, radius = _motion_centre(poses, layout.root)
            placed = self._place(look_at, radius, rng)
            # Cast first, so projecting with the returned (possibly float32) camera reproduces the clean 2D.
            cams = Cameras(
                R=placed.R.astype(window.cam_R.dtype), t=placed.t.astype(window.cam_t.dtype),
                f=window.cam_f[i : i + 1], c=window.cam_c[i : i + 1], size=window.cam_size[i : i + 1],
            )  # fmt: skip
            uv = cams.project(window.poses3d[i : i + 1])
            if self.options["noise"]:
                uv, conf = simulate_detections(uv, rng)
            else:
                conf = np.ones(uv.shape[:-1], dtype=uv.dtype)
            too_near = cams.world_to_camera(poses)[..., 2] < self.min_depth
            uv = np.where(too_near[..., None], (cams.size / 2.0)[:, None, None, :], uv)
            conf = np.where(too_near, 0.0, conf)
            R[i], t[i], hidden[i] = cams.R[0], cams.t[0], too_near[0]
            p2[i] = np.concatenate([uv, conf[..., None]], axis=-1)[0]
        out = dataclasses.replace(window, poses2d=p2, cam_R=R, cam_t=t)
        return _result(out, occluded=hidden)


class CameraHeight(_Refilm):
    """Domain shift to an unseen camera height: each window re-filmed from a camera ``h`` metres high.

    The camera sits at height ``h`` (world y of its centre) at a random azimuth, ``U(3.5, 6)`` m from the
    motion centre and far enough to keep the path in view (the rules of ``render_views``).
    See :class:`_Refilm` for the detections and the returned camera.

    Severity: the camera height in metres, > 0 (e.g. 0.3 or 3.5; training cameras are 0.8 to 2 m high).

    Options:
        noise: simulate detector noise (default True).
    """

    name = "camera_height"
    severity_doc = "a camera height in metres > 0"

    def _place(self, look_at, radius, rng):
        return sample_cameras(1, look_at, rng, height=(self.severity, self.severity), keep_in_view=radius)


class CameraDistance(_Refilm):
    """Domain shift to an unseen camera distance: each window re-filmed from ``d`` metres away.

    The camera centre is exactly ``d`` metres (3D distance) from the motion centre whenever ``d`` exceeds
    the height difference, at a random azimuth and a ``U(0.8, 2)`` m height. The keep-in-view rule of
    ``render_views`` is not applied (it would override ``d``), so a close camera may see the subject
    leave the image or pass beside it; joints that reach the camera plane are hidden (see :class:`_Refilm`).

    Severity: the camera distance in metres, > 0 (e.g. 2.5 or 9; training cameras are 3.5 to 6 m away).

    Options:
        noise: simulate detector noise (default True).
    """

    name = "camera_distance"
    severity_doc = "a camera distance in metres > 0"

    def _place(self, look_at, radius, rng):
        del radius  # unused: the distance is the severity
        return sample_cameras(1, look_at, rng, distance=(self.severity, self.severity))


# ---------------------------------------------------------------------------------------------------------
# Registry and suites
# ---------------------------------------------------------------------------------------------------------

CORRUPTIONS: dict[str, type[Corruption]] = {
    cls.name: cls
    for cls in (
        JointOcclusion, LimbOcclusion, FrameBlackout, Speed, FrameDrop, Jitter, LeftRightSwap, CameraHeight,
        CameraDistance,
    )
}  # fmt: skip


def get_corruption(name: str, severity: float, **options: Any) -> Corruption:
    """Build the corruption ``name`` at ``severity``.

    Raises:
        ConfigError: unknown name (the message lists the known ones), severity out of range (the message
            names the corruption and the valid range), or an unknown or invalid option.
    """
    try:
        cls = CORRUPTIONS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown corruption {name!r}; known corruptions: {', '.join(CORRUPTIONS)}") from None
    return cls(severity, **options)


def parse_suite(spec: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> list[Corruption]:
    """Build a robustness suite from a config.

    Args:
        spec: either a mapping ``{name: severities}`` (a list of numbers or a single number), e.g.
            ``{"joint_occlusion": [0.1, 0.3], "jitter": [2, 5]}``, or a list of mappings with ``name``,
            ``severity`` and the corruption's options, e.g.
            ``[{"name": "frame_drop", "severity": 0.3, "fill": "hold"}]``. OmegaConf containers work too.

    Returns:
        The corruptions in config order.

    Raises:
        ConfigError: malformed spec, unknown corruption, bad severity or option, or two entries with the
            same label (they would share a metrics key).
    """
    out: list[Corruption] = []
    if isinstance(spec, Mapping):
        for name, severities in spec.items():
            if isinstance(severities, (int, float)) and not isinstance(severities, bool):
                severities = [severities]
            if isinstance(severities, (str, bytes, Mapping)) or not isinstance(severities, Sequence):
                raise ConfigError(f"corruption suite: {name!r} needs a list of severities, got {severities!r}")
            out.extend(get_corruption(name, s) for s in severities)
    elif isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):
        for i, entry in enumerate(spec):
            if not isinstance(entry, Mapping) or "name" not in entry or "severity" not in entry:
                raise ConfigError(
                    f"corruption suite entry {i}: expected a mapping with name and severity, got {entry!r}"
                )
            options = {k: v for k, v in entry.items() if k not in ("name", "severity")}
            out.append(get_corruption(entry["name"], entry["severity"], **options))
    else:
        raise ConfigError(f"corruption suite: expected a mapping or a list of mappings, got {type(spec).__name__}")
    labels = [c.label for c in out]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ConfigError(f"corruption suite: duplicate settings {', '.join(duplicates)}")
    return out
