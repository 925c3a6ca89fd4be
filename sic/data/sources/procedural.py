"""Procedural human motion on the H3.6M-17 skeleton: the embedded default data of every ``sic`` command and test.

Motion is made by **forward kinematics of analytic joint-angle trajectories**: every subject has a rest
skeleton (bone offsets), every action is a set of joint-angle curves of continuous time, and poses are
computed with numpy for all clips and frames at once. Because the curves are functions of time, any frame
rate is exact (``fps=25`` samples the same motion as ``fps=50`` at every second frame).

Conventions:

* Joints in ``h36m17`` order (:func:`sic.data.skeleton.get_layout`).
* World frame in **metres, y up, ground plane y = 0**. At heading 0 a subject faces +z with its left at +x.
* The lowest ankle rests at the subject's ankle height (0.07-0.10 m) in every frame in which the subject
  is not airborne; jumps add ballistic flight phases on top, and running has short flight phases while
  the legs are apart. No joint goes below the ground.

Variation per clip: tempo (0.75-1.3), amplitude (0.7-1.2), start phase of cyclic actions, start time of
one-shot actions (sit down, stand up, turn around, which may begin up to a quarter of the way through so
that short clips still show them under way), a random initial heading, a smooth "style" perturbation of
the joint angles (three random sinusoids of 0.1-0.5 Hz, a few degrees), a root path (walk 1.0-1.6 m/s,
run 2.5-4 m/s along the heading; all other actions keep the supporting foot in place, with a drift of a
few cm/s), and the side used by one-sided actions (kick, throw; turning direction).

Subjects: subject ``s`` (1-based) gets a body that depends only on ``(seed, s)``: stature 1.55-1.90 m and
bone proportions jittered by about 3 %. Subjects are split subject-wise; with the default 12 subjects
``SPLITS = {"train": (1, ..., 8), "val": (9, 10), "test": (11, 12)}`` (see :func:`split_subjects`).

Determinism: clip ``i`` of a split depends only on ``(seed, split, i, fps, actions)`` and the frame times
``k / fps``: random parameters are drawn per block of 256 clips from generators seeded by
``(seed, split, block)``, so results do not depend on ``chunk``, and a longer request starts with the
clips of a shorter one.

Example:
    >>> from sic.data.sources.procedural import ACTION_NAMES, ProceduralMotion
    >>> data = ProceduralMotion(seed=0).generate(num_clips=4, num_frames=16)
    >>> data["poses3d"].shape, data["poses2d"].shape
    ((4, 16, 17, 3), (4, 16, 17, 3))
    >>> [ACTION_NAMES[i] for i in data["labels"]]
    ['walk', 'run', 'jump', 'squat']
    >>> bool(data["poses3d"][..., 1].min() > -0.02)       # nothing below the floor
    True
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields

import numpy as np

from sic.data.camera import render_views
from sic.data.skeleton import get_layout

__all__ = [
    "ACTIONS",
    "ACTION_NAMES",
    "NATIVE_FPS",
    "SPLITS",
    "ActionSpec",
    "ProceduralMotion",
    "SubjectBody",
    "action_index",
    "resample",
    "split_subjects",
]

NATIVE_FPS: float = 50.0
"""Native frame rate (Hz), the rate of Human3.6M."""

GRAVITY = 9.81  # m/s^2, for ballistic flight phases

_LAYOUT = get_layout("h36m17")
_J = _LAYOUT.num_joints
(PELVIS, R_HIP, R_KNEE, R_ANKLE, L_HIP, L_KNEE, L_ANKLE, SPINE, THORAX, NECK, HEAD,
 L_SHOULDER, L_ELBOW, L_WRIST, R_SHOULDER, R_ELBOW, R_WRIST) = (_LAYOUT.index(name) for name in (
    "Pelvis", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "Spine", "Thorax", "Neck", "Head",
    "LShoulder", "LElbow", "LWrist", "RShoulder", "RElbow", "RWrist"))  # fmt: skip

_BLOCK = 256  # clips per independently seeded random block
_MAX_POSES_PER_BATCH = 1 << 16  # clips x frames processed at once: bounds the work arrays (~100 MB)
_SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
_BODY_STREAM = 0xB0D1  # separates the subject-body generators from the clip generators
_ANCHOR_TEMPERATURE = 0.04  # m; softness of the choice of supporting foot for stationary actions


# ---------------------------------------------------------------------------------------------------------
# Actions
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionSpec:
    """Metadata of one procedural action class.

    Args:
        name: identifier, e.g. ``"wave_left_hand"``.
        descriptions: natural-language descriptions (at least three sentences), for text tasks.
        environment: where the action takes place.
        used_object: object held or used (``"none"`` if none).
        target_object: object acted upon (``"none"`` if none).
        body_parts: body parts that mainly move.
    """

    name: str
    descriptions: tuple[str, ...]
    environment: str
    used_object: str
    target_object: str
    body_parts: tuple[str, ...]


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("walk", (
        "a person walks forward at a steady pace",
        "someone is walking straight ahead, swinging their arms",
        "a man strolls forward in a straight line",
    ), "open floor", "none", "none", ("legs", "arms")),
    ActionSpec("run", (
        "a person runs forward quickly",
        "someone is jogging straight ahead with bent elbows",
        "a runner moves forward at a fast pace",
    ), "open floor", "none", "none", ("legs", "arms", "torso")),
    ActionSpec("jump", (
        "a person jumps up and down in place",
        "someone crouches and then leaps straight up, swinging the arms",
        "a person does repeated vertical jumps on the spot",
    ), "open floor", "none", "none", ("legs", "arms")),
    ActionSpec("squat", (
        "a person does squats, bending the knees and lowering the hips",
        "someone squats down and stands back up repeatedly",
        "a person lowers their body into a squat with arms held forward",
    ), "open floor", "none", "none", ("legs", "hips")),
    ActionSpec("wave_left_hand", (
        "a person waves with the left hand",
        "someone raises the left arm and waves hello",
        "a person greets somebody by waving their left hand",
    ), "open floor", "none", "another person", ("left arm",)),
    ActionSpec("wave_right_hand", (
        "a person waves with the right hand",
        "someone raises the right arm and waves hello",
        "a person greets somebody by waving their right hand",
    ), "open floor", "none", "another person", ("right arm",)),
    ActionSpec("punch", (
        "a person throws punches forward with alternating fists",
        "someone is boxing, punching straight ahead with the left and right hand",
        "a person punches the air in front of them from a fighting stance",
    ), "open floor", "none", "opponent", ("arms", "torso")),
    ActionSpec("kick", (
        "a person kicks forward with one leg",
        "someone lifts a knee and snaps the foot forward in a front kick",
        "a person performs front kicks while standing on one leg",
    ), "open floor", "none", "opponent", ("legs",)),
    ActionSpec("bow", (
        "a person bows forward from the waist",
        "someone bends the upper body forward politely and comes back up",
        "a person makes a respectful bow",
    ), "open floor", "none", "another person", ("torso", "head")),
    ActionSpec("clap", (
        "a person claps their hands in front of the chest",
        "someone is applauding, bringing the hands together repeatedly",
        "a person claps hands while standing still",
    ), "open floor", "none", "none", ("arms", "hands")),
    ActionSpec("reach_up", (
        "a person reaches up with both arms above the head",
        "someone stretches both arms up toward the ceiling and lowers them",
        "a person raises their hands high as if reaching for a shelf",
    ), "indoor room", "none", "high shelf", ("arms", "torso")),
    ActionSpec("sit_down", (
        "a person sits down on a chair",
        "someone bends the knees and lowers themselves onto a seat",
        "a standing person takes a seat",
    ), "indoor room with a chair", "none", "chair", ("legs", "hips", "torso")),
    ActionSpec("stand_up", (
        "a person stands up from a chair",
        "someone leans forward and rises from a seated position",
        "a seated person gets up to standing",
    ), "indoor room with a chair", "none", "chair", ("legs", "hips", "torso")),
    ActionSpec("turn_around", (
        "a person turns around to face the opposite direction",
        "someone rotates in place by half a turn with small steps",
        "a person turns their whole body around",
    ), "open floor", "none", "none", ("legs", "torso")),
    ActionSpec("throw", (
        "a person throws a ball overhand",
        "someone winds up one arm and throws an object forward",
        "a person pitches a ball with a step and an arm swing",
    ), "open field", "ball", "none", ("arms", "torso")),
    ActionSpec("jumping_jacks", (
        "a person does jumping jacks",
        "someone jumps while spreading the legs and clapping the hands above the head",
        "a person performs star jumps, opening and closing arms and legs",
    ), "open floor", "none", "none", ("legs", "arms")),
    ActionSpec("bend_pick_up", (
        "a person bends down to pick something up from the floor",
        "someone leans over, reaches toward the ground and straightens up again",
        "a person stoops to pick up an object at their feet",
    ), "indoor room", "none", "object on the floor", ("torso", "arms", "legs")),
)  # fmt: skip
"""The procedural action classes; a class id is the index in this tuple."""

ACTION_NAMES: tuple[str, ...] = tuple(spec.name for spec in ACTIONS)
"""Action names in class-id order."""


def action_index(name: str) -> int:
    """Class id of the action called ``name``.

    Args:
        name: an entry of :data:`ACTION_NAMES`.

    Returns:
        The index of ``name`` in :data:`ACTIONS`.

    Raises:
        KeyError: ``name`` is not a procedural action; the message lists the valid names.
    """
    try:
        return ACTION_NAMES.index(name)
    except ValueError:
        raise KeyError(f"unknown action {name!r}; valid names: {', '.join(ACTION_NAMES)}") from None


# ---------------------------------------------------------------------------------------------------------
# Subjects and splits
# ---------------------------------------------------------------------------------------------------------


def split_subjects(num_subjects: int = 12) -> dict[str, tuple[int, ...]]:
    """Subject-wise split of subjects ``1..num_subjects``: about 2/3 train, 1/6 val, 1/6 test.

    Args:
        num_subjects: number of subjects (at least 3).

    Returns:
        ``{"train": ..., "val": ..., "test": ...}`` of disjoint 1-based subject ids, in increasing order;
        for 12 subjects train is 1-8, val 9-10 and test 11-12.

    Raises:
        ValueError: fewer than 3 subjects.
    """
    if num_subjects < 3:
        raise ValueError(f"num_subjects must be >= 3 (one per split), got {num_subjects}")
    held_out = max(1, round(num_subjects / 6))
    train = num_subjects - 2 * held_out
    ids = tuple(range(1, num_subjects + 1))
    return {"train": ids[:train], "val": ids[train : train + held_out], "test": ids[train + held_out :]}


SPLITS: dict[str, tuple[int, ...]] = split_subjects(12)
"""Default subject split (12 subjects): train 1-8, val 9-10, test 11-12."""

# Rest-pose bone lengths as fractions of stature (Human3.6M-like proportions).
_BONE_FRACTIONS = {
    "hip": 0.075, "thigh": 0.245, "shin": 0.245, "spine": 0.135, "chest": 0.14, "neck": 0.065,
    "head": 0.09, "shoulder": 0.095, "upper_arm": 0.16, "forearm": 0.145, "ankle": 0.045,
}  # fmt: skip
_HEAD_FRACTION = 0.965  # standing height of the Head joint (crown) as a fraction of stature


@dataclass(frozen=True)
class SubjectBody:
    """Rest skeleton of one procedural subject.

    Args:
        subject: 1-based subject id.
        height: stature in metres.
        offsets: ``(17, 3)`` rest offsets of each joint from its parent (root row zero), in the body frame
            (y up, facing +z, left at +x), metres.
        ankle_height: height of the ankle joint above the floor when standing, metres.
    """

    subject: int
    height: float
    offsets: np.ndarray
    ankle_height: float

    @property
    def leg_length(self) -> float:
        """Hip-to-ankle length (thigh + shin) in metres."""
        return float(-self.offsets[R_KNEE, 1] - self.offsets[R_ANKLE, 1])


def _make_body(seed: int, subject: int) -> SubjectBody:
    """The body of ``subject``: a deterministic function of ``(seed, subject)``."""
    rng = np.random.default_rng([seed, _BODY_STREAM, subject])
    height = rng.uniform(1.55, 1.90)
    jitter = 1.0 + np.clip(0.03 * rng.standard_normal(len(_BONE_FRACTIONS)), -0.08, 0.08)
    b = {k: f * height * j for (k, f), j in zip(_BONE_FRACTIONS.items(), jitter)}
    ankle = float(np.clip(b.pop("ankle"), 0.072, 0.095))
    # Jitter changes proportions, not stature: rescale so the standing crown is at _HEAD_FRACTION * height.
    vertical = b["shin"] + b["thigh"] + b["spine"] + b["chest"] + b["neck"] + b["head"]
    scale = (_HEAD_FRACTION * height - ankle) / vertical
    b = {k: v * scale for k, v in b.items()}
    off = np.zeros((_J, 3))
    for side, hip, knee, ankle_j, shoulder, elbow, wrist in (
        (1.0, L_HIP, L_KNEE, L_ANKLE, L_SHOULDER, L_ELBOW, L_WRIST),
        (-1.0, R_HIP, R_KNEE, R_ANKLE, R_SHOULDER, R_ELBOW, R_WRIST),
    ):
        off[hip] = (side * b["hip"], 0.0, 0.0)
        off[knee] = (0.0, -b["thigh"], 0.0)
        off[ankle_j] = (0.0, -b["shin"], 0.0)
        off[shoulder] = (side * b["shoulder"], -0.2 * b["shoulder"], 0.0)
        off[elbow] = (0.0, -b["upper_arm"], 0.0)
        off[wrist] = (0.0, -b["forearm"], 0.0)
    off[SPINE] = (0.0, b["spine"], 0.0)
    off[THORAX] = (0.0, b["chest"], 0.0)
    off[NECK] = (0.0, b["neck"], 0.0)
    off[HEAD] = (0.0, b["head"], 0.0)
    return SubjectBody(subject=subject, height=float(height), offsets=off, ankle_height=ankle)


# ---------------------------------------------------------------------------------------------------------
# Resampling
# ---------------------------------------------------------------------------------------------------------


def resample(poses: np.ndarray, src_fps: float, dst_fps: float, axis: int = 1) -> np.ndarray:
    """Resample a sequence to another frame rate by linear interpolation along the time axis.

    Output frame ``k`` is at time ``k / dst_fps``, i.e. at source position ``k * src_fps / dst_fps``; the
    output covers the source duration: ``floor((T - 1) * dst_fps / src_fps) + 1`` frames.

    Args:
        poses: array with ``T >= 1`` frames along ``axis``, e.g. ``(N, T, J, C)``.
        src_fps: frame rate of ``poses`` (> 0).
        dst_fps: wanted frame rate (> 0).
        axis: time axis.

    Returns:
        Array with the same shape except ``T_out`` frames along ``axis`` (floating dtype; integers become
        float64).

    Raises:
        ValueError: a frame rate is not positive or the sequence has no frames.

    Example:
        >>> import numpy as np
        >>> resample(np.array([0.0, 10.0, 20.0]), src_fps=2.0, dst_fps=3.0, axis=0).round(3).tolist()
        [0.0, 6.667, 13.333, 20.0]
    """
    if not src_fps > 0:
        raise ValueError(f"src_fps must be > 0, got {src_fps}")
    if not dst_fps > 0:
        raise ValueError(f"dst_fps must be > 0, got {dst_fps}")
    x = np.asarray(poses)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    axis = axis % x.ndim
    T = x.shape[axis]
    if T < 1:
        raise ValueError(f"poses must have at least one frame along axis {axis}, got shape {x.shape}")
    # The small epsilon keeps exact ratios such as 31 * 25 / 50 = 15.5 or 3 * 10 / 30 = 1 from rounding down.
    t_out = math.floor((T - 1) * dst_fps / src_fps + 1e-9) + 1
    pos = np.minimum(np.arange(t_out) * (src_fps / dst_fps), T - 1)
    i0 = np.minimum(np.floor(pos).astype(np.int64), max(T - 2, 0))
    i1 = np.minimum(i0 + 1, T - 1)
    w = (pos - i0).astype(x.dtype).reshape((-1,) + (1,) * (x.ndim - axis - 1))
    return np.take(x, i0, axis=axis) * (1 - w) + np.take(x, i1, axis=axis) * w


# ---------------------------------------------------------------------------------------------------------
# Rotations and forward kinematics
#
# Arrays are joint-major ("structure of arrays"): a rotation is (3, 3, n, T) and positions are (J, 3, n, T),
# so every matrix entry is one contiguous (n, T) array. This makes the explicit elementwise algebra fast,
# and elementwise results do not depend on how many clips are processed together.
# ---------------------------------------------------------------------------------------------------------


def _euler_matrix(ax: np.ndarray, ay: np.ndarray, az: np.ndarray) -> np.ndarray:
    """Rotation ``Ry(ay) @ Rz(az) @ Rx(ax)`` for angle arrays of any common shape S (radians).

    The order applies flexion (x) first, then abduction (z), then twist about the vertical (y): the natural
    parameterisation of a ball joint hanging down or standing up.

    Returns:
        ``(3, 3, *S)`` rotation matrices, entry ``[i, j]`` first.
    """
    cx, cy, cz = np.cos(ax), np.cos(ay), np.cos(az)
    sx, sy, sz = np.sin(ax), np.sin(ay), np.sin(az)
    R = np.empty((3, 3, *np.shape(ax)), dtype=np.result_type(ax, np.float32))
    R[0, 0] = cy * cz
    R[0, 1] = sy * sx - cy * sz * cx
    R[0, 2] = cy * sz * sx + sy * cx
    R[1, 0] = sz
    R[1, 1] = cz * cx
    R[1, 2] = -cz * sx
    R[2, 0] = -sy * cz
    R[2, 1] = sy * sz * cx + cy * sx
    R[2, 2] = cy * cx - sy * sz * sx
    return R


def _matmul33(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched ``a @ b`` for ``(3, 3, *S)`` matrices."""
    return a[:, 0:1] * b[None, 0] + a[:, 1:2] * b[None, 1] + a[:, 2:3] * b[None, 2]


def _rotate(R: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Batched ``R @ v`` for ``R (3, 3, *S)`` and ``v (3, *S)`` (broadcastable): ``(3, *S)``."""
    return R[:, 0] * v[0] + R[:, 1] * v[1] + R[:, 2] * v[2]


_HAS_CHILDREN = frozenset(p for p in _LAYOUT.parents if p >= 0)


def _forward_kinematics(ang: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Joint positions relative to the root from local joint rotations.

    Args:
        ang: ``(J, 3, n, T)`` local Euler angles in radians (see :func:`_euler_matrix`); the root's angles
            are its world orientation. Angles of leaf joints are ignored.
        offsets: ``(n, J, 3)`` rest offsets of each joint from its parent.

    Returns:
        ``(J, 3, n, T)`` positions with the root at the origin.
    """
    _, _, n, T = ang.shape
    pos = np.zeros((_J, 3, n, T), dtype=ang.dtype)
    offsets = offsets.transpose(1, 2, 0)[..., None].astype(ang.dtype)  # (J, 3, n, 1)
    world_rot: dict[int, np.ndarray] = {}
    for j in map(int, _LAYOUT.depth_order()):
        parent = _LAYOUT.parents[j]
        if parent >= 0:
            pos[j] = pos[parent] + _rotate(world_rot[parent], offsets[j])
        if j in _HAS_CHILDREN:
            local = _euler_matrix(*ang[j])
            world_rot[j] = local if parent < 0 else _matmul33(world_rot[parent], local)
    return pos


# ---------------------------------------------------------------------------------------------------------
# Per-clip random parameters
# ---------------------------------------------------------------------------------------------------------

# Degrees of freedom that receive style noise, with the standard deviation (degrees) of each of the six
# sinusoid coefficients; a DOF's total deviation is about sqrt(3) times this.
_STYLE_DOFS = (
    (PELVIS, 0, 1.0), (PELVIS, 1, 2.0), (PELVIS, 2, 1.0),
    (R_HIP, 0, 1.5), (R_HIP, 1, 1.0), (R_HIP, 2, 1.0), (L_HIP, 0, 1.5), (L_HIP, 1, 1.0), (L_HIP, 2, 1.0),
    (R_KNEE, 0, 2.0), (L_KNEE, 0, 2.0),
    (SPINE, 0, 1.0), (SPINE, 1, 0.8), (SPINE, 2, 0.8), (THORAX, 0, 0.8), (THORAX, 1, 1.2), (THORAX, 2, 0.8),
    (NECK, 0, 2.0), (NECK, 1, 2.5), (NECK, 2, 1.5),
    (L_SHOULDER, 0, 1.5), (L_SHOULDER, 1, 1.0), (L_SHOULDER, 2, 1.2),
    (R_SHOULDER, 0, 1.5), (R_SHOULDER, 1, 1.0), (R_SHOULDER, 2, 1.2),
    (L_ELBOW, 0, 2.0), (R_ELBOW, 0, 2.0),
)  # fmt: skip
_STYLE_JOINT = np.array([d[0] for d in _STYLE_DOFS])
_STYLE_AXIS = np.array([d[1] for d in _STYLE_DOFS])
_STYLE_SCALE = np.array([d[2] for d in _STYLE_DOFS])


@dataclass
class _Params:
    """Random parameters of n clips (every field has leading dimension n)."""

    tempo: np.ndarray  # speed factor, U(0.75, 1.3)
    amp: np.ndarray  # amplitude factor, U(0.7, 1.2)
    phase: np.ndarray  # start phase of cyclic actions, U(0, 1) cycles
    offset: np.ndarray  # start time of one-shot actions, U(0, 1) (mapped per action)
    side: np.ndarray  # +1: left side, -1: right side (one-sided actions, turning direction)
    extra: np.ndarray  # (n, 4) U(0, 1), action-specific variation
    yaw0: np.ndarray  # initial heading, radians
    base: np.ndarray  # (n, 2) start position (x, z), metres
    drift: np.ndarray  # (n, 2) drift velocity of stationary actions, m/s
    style_freq: np.ndarray  # (n, 3) Hz
    style_coef: np.ndarray  # (n, 6, D) degrees
    subject_u: np.ndarray  # U(0, 1), picks the subject within the split
    leg: np.ndarray  # leg length of the clip's subject (filled in after the subject is chosen)

    def subset(self, index: np.ndarray | slice) -> _Params:
        """Parameters of the clips selected by ``index``."""
        return _Params(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def concat(parts: Sequence[_Params]) -> _Params:
        """Concatenate parameter sets along the clip dimension."""
        return _Params(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(_Params)})


def _draw_params(rng: np.random.Generator, n: int) -> _Params:
    """Draw the parameters of n clips; the number and order of draws depends on n only."""
    return _Params(
        tempo=rng.uniform(0.75, 1.3, n),
        amp=rng.uniform(0.7, 1.2, n),
        phase=rng.uniform(0.0, 1.0, n),
        offset=rng.uniform(0.0, 1.0, n),
        side=np.where(rng.uniform(0.0, 1.0, n) < 0.5, 1.0, -1.0),
        extra=rng.uniform(0.0, 1.0, (n, 4)),
        yaw0=rng.uniform(0.0, 2.0 * np.pi, n),
        base=rng.uniform(-1.0, 1.0, (n, 2)),
        drift=rng.normal(0.0, 0.02, (n, 2)),
        style_freq=rng.uniform(0.1, 0.5, (n, 3)),
        style_coef=rng.standard_normal((n, 6, len(_STYLE_DOFS))) * _STYLE_SCALE,
        subject_u=rng.uniform(0.0, 1.0, n),
        leg=np.zeros(n),
    )


def _style(t: np.ndarray, p: _Params) -> np.ndarray:
    """Smooth low-frequency angle perturbation ``(D, n, T)`` in degrees: three sinusoids per DOF."""
    arg = (2.0 * np.pi * p.style_freq.T[:, :, None] * t).astype(np.float32)  # (3, n, T)
    basis = np.concatenate([np.sin(arg), np.cos(arg)])  # (6, n, T)
    coef = p.style_coef.transpose(1, 2, 0)[..., None].astype(np.float32)  # (6, D, n, 1)
    out = basis[0] * coef[0]
    for k in range(1, 6):
        out += basis[k] * coef[k]
    return out


# ---------------------------------------------------------------------------------------------------------
# Time profiles
# ---------------------------------------------------------------------------------------------------------


def _smoothstep(x: np.ndarray) -> np.ndarray:
    """0 for x <= 0, 1 for x >= 1, C1-smooth in between."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _plateau(u: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
    """Smooth trapezoid of ``u``: 0 before ``a``, rises to 1 at ``b``, holds until ``c``, back to 0 at ``d``."""
    return _smoothstep((u - a) / (b - a)) - _smoothstep((u - c) / (d - c))


def _bump(x: np.ndarray) -> np.ndarray:
    """``sin^2(pi x)`` on [0, 1], zero outside: a smooth single bump."""
    return np.sin(np.pi * np.clip(x, 0.0, 1.0)) ** 2


def _cycle(t: np.ndarray, p: _Params, period: float | np.ndarray) -> np.ndarray:
    """Cycle fraction in [0, 1) of a cyclic action with base ``period`` (s), scaled by tempo: ``(n, T)``."""
    period = np.asarray(period, dtype=np.float64).reshape(-1, 1) / p.tempo[:, None]
    return np.mod(t[None, :] / period + p.phase[:, None], 1.0)


def _progress(t: np.ndarray, p: _Params, duration: float) -> np.ndarray:
    """Smooth 0 -> 1 progress of a one-shot action lasting ``duration / tempo`` seconds: ``(n, T)``.

    The action starts between a quarter of its duration before ``t = 0`` and 0.1 s after, so that even short
    clips show it under way.
    """
    d = duration / p.tempo[:, None]
    start = -0.25 * d + (0.25 * d + 0.1) * p.offset[:, None]
    return _smoothstep((t[None, :] - start) / d)


def _col(x: np.ndarray) -> np.ndarray:
    """Per-clip values ``(n,)`` as a column ``(n, 1)`` that broadcasts over frames."""
    return np.asarray(x)[:, None]


# ---------------------------------------------------------------------------------------------------------
# Pose construction
# ---------------------------------------------------------------------------------------------------------

_NEUTRAL_ARM_ABD = 8.0  # degrees: arms hang slightly away from the body
_NEUTRAL_ELBOW = 12.0
_NEUTRAL_KNEE = 4.0
_Angle = float | np.ndarray  # a constant or a (m, T) trajectory, degrees


class _Pose:
    """Joint-angle trajectories of m clips over T frames, built by the action functions.

    Angles are in degrees in the joints' local frames; see the setters for their meaning. The body frame is
    y up, facing +z, left at +x; right-side joints mirror the left (twist and abduction negated).

    Attributes:
        ang: ``(J, 3, m, T)`` local Euler angles ``(x, y, z)`` in degrees (joint-major).
        yaw: ``(m, T)`` heading change from the initial heading, degrees (positive turns left).
        travel: ``(m, T)`` distance travelled along the initial heading, metres (travelling actions).
        lateral: ``(m, T)`` sideways root sway to the subject's left, metres (travelling actions).
        lift: ``(m, T)`` ballistic height above the ground contact height, metres.
        hover: minimum pelvis height above the ankle height as a fraction of leg length (0: none); when the
            legs alone would put the pelvis lower, both feet leave the ground (the flight phase of running).
        anchored: True if the root is placed above the supporting foot (stationary actions); False if it
            follows ``travel``.
    """

    def __init__(self, m: int, T: int, anchored: bool = True) -> None:
        self.ang = np.zeros((_J, 3, m, T), dtype=np.float32)
        self.yaw = np.zeros((m, T))
        self.travel = np.zeros((m, T))
        self.lateral = np.zeros((m, T))
        self.lift = np.zeros((m, T))
        self.hover = 0.0
        self.anchored = anchored
        for side in (1.0, -1.0):
            self.arm(side)
            self.leg(side)

    def leg(self, side: float, thigh: _Angle = 0.0, knee: _Angle = _NEUTRAL_KNEE, abd: _Angle = 0.0,
            twist: _Angle = 0.0) -> None:
        """Set one leg (angles in degrees, scalars or ``(m, T)`` arrays).

        Args:
            side: +1 for the left leg, -1 for the right.
            thigh: forward swing of the thigh from vertical, relative to the upright (yaw-only) body frame;
                the pelvis pitch is compensated later, so a bowing pelvis leaves the legs where they are.
            knee: knee flexion (shin swings backwards).
            abd: abduction (outwards).
            twist: internal/external rotation.
        """
        hip, knee_j = (L_HIP, L_KNEE) if side > 0 else (R_HIP, R_KNEE)
        self.ang[hip, 0] = -np.asarray(thigh)
        self.ang[hip, 1] = side * np.asarray(twist)
        self.ang[hip, 2] = side * np.asarray(abd)
        self.ang[knee_j, 0] = knee

    def arm(self, side: float, flex: _Angle = 0.0, abd: _Angle = _NEUTRAL_ARM_ABD, horiz: _Angle = 0.0,
            elbow: _Angle = _NEUTRAL_ELBOW, elbow_abd: _Angle = 0.0) -> None:
        """Set one arm (angles in degrees, scalars or ``(m, T)`` arrays).

        Args:
            side: +1 for the left arm, -1 for the right.
            flex: shoulder flexion (arm forward; 90 points forward, 180 overhead).
            abd: shoulder abduction (arm sideways; 90 is horizontal).
            horiz: rotation about the vertical; negative brings a forward arm towards the midline.
            elbow: elbow flexion (forearm towards the front of the upper arm).
            elbow_abd: forearm rotation in the shoulder's abduction plane (raises the forearm of an abducted
                arm, as in waving).
        """
        shoulder, elbow_j = (L_SHOULDER, L_ELBOW) if side > 0 else (R_SHOULDER, R_ELBOW)
        self.ang[shoulder, 0] = -np.asarray(flex)
        self.ang[shoulder, 1] = side * np.asarray(horiz)
        self.ang[shoulder, 2] = side * np.asarray(abd)
        self.ang[elbow_j, 0] = -np.asarray(elbow)
        self.ang[elbow_j, 2] = side * np.asarray(elbow_abd)

    def torso(self, pitch: _Angle = 0.0, spine: _Angle = 0.0, chest: _Angle = 0.0, neck: _Angle = 0.0,
              twist: _Angle = 0.0, lean: _Angle = 0.0) -> None:
        """Set the trunk (angles in degrees, scalars or ``(m, T)`` arrays).

        Args:
            pitch: forward tilt of the pelvis (the legs are compensated, see :meth:`leg`).
            spine: forward bend at the spine joint.
            chest: forward bend at the thorax.
            neck: forward bend of the head (negative looks up).
            twist: chest rotation about the vertical (positive turns left).
            lean: sideways bend at the spine (positive leans right).
        """
        self.ang[PELVIS, 0] = pitch
        self.ang[SPINE, 0] = spine
        self.ang[SPINE, 2] = lean
        self.ang[THORAX, 0] = chest
        self.ang[THORAX, 1] = twist
        self.ang[NECK, 0] = neck


def _select(left: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per clip, ``a`` where ``left`` else ``b`` (for actions done with a random side)."""
    return np.where(_col(left), a, b)


# ---------------------------------------------------------------------------------------------------------
# Actions: each maps frame times t (T,) and parameters of m clips to a _Pose
# ---------------------------------------------------------------------------------------------------------


def _gait(t: np.ndarray, p: _Params, speed: np.ndarray, cadence: np.ndarray, running: bool) -> _Pose:
    """Walking or running along the heading at ``speed`` (m/s) with ``cadence`` gait cycles per second."""
    pose = _Pose(len(speed), len(t), anchored=False)
    theta = 2.0 * np.pi * np.mod(_col(cadence) * t[None, :] + _col(p.phase), 1.0)  # right-leg phase
    # Thigh swing such that the stance foot sweeps the distance covered during stance (duty factor: the
    # fraction of the cycle a foot is on the ground).
    duty = 0.4 if running else 0.5
    swing = np.degrees(np.arcsin(np.clip(speed * duty / (2.0 * cadence * p.leg), 0.0, 0.55)))
    amp = _col(p.amp)
    bias, knee0, knee_swing, lead, power = (10.0, 15.0, 70.0, 0.5, 2.0) if running else (2.0, 5.0, 60.0, 0.3, 3.0)
    for side, shift in ((-1.0, 0.0), (1.0, np.pi)):
        phase = theta + shift
        # The knee flexes most early in the swing (thigh moving forward), lifting the foot off the ground, and
        # stays nearly straight in stance; a raised cosine keeps the flexion rate humanly possible.
        bend = (0.5 + 0.5 * np.cos(phase + lead)) ** power
        knee = knee0 + knee_swing * np.clip(amp, 0.8, 1.1) * bend
        pose.leg(side, thigh=_col(swing) * np.sin(phase) + bias, knee=knee)
        # Arms swing opposite to the leg on the same side.
        arm_phase = phase + np.pi
        if running:
            pose.arm(side, flex=35.0 * amp * np.sin(arm_phase) + 10.0, elbow=85.0 + 10.0 * np.sin(arm_phase))
        else:
            pose.arm(side, flex=15.0 * amp * np.sin(arm_phase), elbow=15.0 + 10.0 * amp * (1 + np.sin(arm_phase)))
    pose.torso(pitch=8.0 if running else 3.0, spine=4.0 if running else 2.0, twist=-6.0 * np.sin(theta))
    pose.ang[PELVIS, 1] = 5.0 * np.sin(theta)
    pose.travel = _col(speed) * t[None, :]
    pose.lateral = 0.02 * np.cos(theta)  # weight shift over the stance foot
    if running:
        pose.hover = 0.9  # the pelvis does not sink below 90 % of leg length: flight while the legs are apart
    return pose


def _walk(t: np.ndarray, p: _Params) -> _Pose:
    speed = 1.0 + 0.6 * (p.tempo - 0.75) / 0.55  # tempo 0.75-1.3 -> 1.0-1.6 m/s
    return _gait(t, p, speed, cadence=0.9 * np.sqrt(speed / 1.3), running=False)


def _run(t: np.ndarray, p: _Params) -> _Pose:
    speed = 2.5 + 1.5 * (p.tempo - 0.75) / 0.55  # tempo 0.75-1.3 -> 2.5-4.0 m/s
    return _gait(t, p, speed, cadence=1.35 * (speed / 3.2) ** 0.3, running=True)


def _ballistic(elapsed: np.ndarray, flight: np.ndarray) -> np.ndarray:
    """Height of a ballistic flight of duration ``flight`` at ``elapsed`` seconds after take-off (0 outside)."""
    airborne = (elapsed >= 0.0) & (elapsed < flight)
    return np.where(airborne, 0.5 * GRAVITY * elapsed * (flight - elapsed), 0.0)


def _jump(t: np.ndarray, p: _Params) -> _Pose:
    pose = _Pose(len(p.tempo), len(t))
    flight = _col(0.3 + 0.15 * (p.amp - 0.7) / 0.5)  # 0.30-0.45 s of flight: 0.11-0.25 m high
    ground = _col(0.6 / p.tempo)
    period = ground + flight
    tau = np.mod(t[None, :] / period + _col(p.phase), 1.0) * period  # time within the cycle
    crouch = _bump(tau / ground) * np.where(tau < ground, 1.0, 0.0)
    depth = np.clip(_col(p.amp), 0.7, 1.0)
    in_air = _bump((tau - ground) / flight)
    for side in (1.0, -1.0):
        pose.leg(side, thigh=65.0 * depth * crouch + 8.0 * in_air, knee=_NEUTRAL_KNEE + 85.0 * depth * crouch
                 + 15.0 * in_air)
        # Arms: back during the crouch, overhead at the apex (one smooth swing per cycle).
        apex = (ground + 0.5 * flight) / period
        pose.arm(side, flex=45.0 + 80.0 * np.cos(2.0 * np.pi * (tau / period - apex)), elbow=15.0)
    pose.torso(pitch=30.0 * depth * crouch, spine=5.0 * crouch)
    pose.lift = _ballistic(tau - ground, flight)
    return pose


def _squat(t: np.ndarray, p: _Params) -> _Pose:
    pose = _Pose(len(p.tempo), len(t))
    depth = np.clip(_col(p.amp), 0.7, 1.1) * (0.5 - 0.5 * np.cos(2.0 * np.pi * _cycle(t, p, 2.2)))
    thigh, shin = 90.0 * depth, -30.0 * depth  # shin leans forward: knees move over the toes
    for side in (1.0, -1.0):
        pose.leg(side, thigh=thigh, knee=_NEUTRAL_KNEE + thigh - shin)
        pose.arm(side, flex=80.0 * depth, elbow=10.0)
    pose.torso(pitch=35.0 * depth, spine=10.0 * depth)
    return pose


def _wave(side: float) -> Callable[[np.ndarray, _Params], _Pose]:
    def wave(t: np.ndarray, p: _Params) -> _Pose:
        pose = _Pose(len(p.tempo), len(t))
        wag = np.sin(2.0 * np.pi * _cycle(t, p, 0.45))
        raise_ = 85.0 + 20.0 * np.clip(_col(p.extra[:, 0]), 0.0, 1.0)  # upper arm 5-25 deg above horizontal
        swing = 30.0 * np.clip(_col(p.amp), 0.85, 1.2)  # forearm swings +-25-36 degrees about vertical
        pose.arm(side, flex=15.0, abd=raise_, elbow=10.0, elbow_abd=(180.0 - raise_) + swing * wag)
        pose.torso(lean=3.0 * side, neck=-3.0)
        return pose

    return wave


def _punch(t: np.ndarray, p: _Params) -> _Pose:
    pose = _Pose(len(p.tempo), len(t))
    u = _cycle(t, p, 1.0)
    reach = np.clip(_col(p.amp), 0.7, 1.1)
    ext = {1.0: _bump(u / 0.45), -1.0: _bump((u - 0.5) / 0.45)}  # left then right
    for side in (1.0, -1.0):
        e = ext[side] * reach
        pose.arm(side, flex=40.0 + 45.0 * e, abd=15.0 - 10.0 * e, horiz=-10.0 - 10.0 * e, elbow=115.0 - 105.0 * e)
        pose.leg(side, thigh=8.0 * side, knee=15.0)  # staggered fighting stance
    # Punching with the left hand turns the chest to the right (left shoulder forward), and vice versa.
    pose.torso(twist=15.0 * (ext[-1.0] - ext[1.0]), pitch=5.0)
    return pose


def _kick(t: np.ndarray, p: _Params) -> _Pose:
    pose = _Pose(len(p.tempo), len(t))
    q = _cycle(t, p, 1.6) / 0.7  # kick during the first 70 % of the cycle, then stand
    height = np.clip(_col(p.amp), 0.7, 1.1)
    thigh = 80.0 * height * _bump(q)
    knee = _NEUTRAL_KNEE + 100.0 * _bump(q) - 90.0 * _bump((q - 0.3) / 0.4)  # chamber, snap out, chamber
    left = p.side > 0
    for side in (1.0, -1.0):
        active = left if side > 0 else ~left
        pose.leg(side, thigh=_select(active, thigh, np.zeros_like(thigh)),
                 knee=_select(active, knee, np.full_like(knee, 10.0)))
        pose.arm(side, flex=35.0, abd=15.0, elbow=100.0)
    pose.torso(pitch=-10.0 * _bump(q))
    return pose


def _bow(t: np.ndarray, p: _Params) -> _Pose:
    pose = _Pose(len(p.tempo), len(t))
    b = np.clip(_col(p.amp), 0.7, 1.2) * _plateau(_cycle(t, p, 3.0), 0.0, 0.25, 0.45, 0.7)
    pose.torso(pitch=30.0 * b, spine=20.0 * b, chest=10.0 * b, neck=10.0 * b)
    for side in (1.0, -1.0):
        pose.arm(side, flex=0.8 * 60.0 * b)  # arms keep hanging roughly vertically
    return pose


def _clap(t: np.ndarray, p: _Params) -> _Pose:
    pose = _Pose(len(p.tempo), len(t))
    open_ = 0.5 - 0.5 * np.cos(2.0 * np.pi * _cycle(t, p, 0.45))  # 0: hands together, 1: apart
    for side in (1.0, -1.0):
        pose.arm(side, flex=60.0, abd=0.0, horiz=-28.0 + 30.0 * _col(p.amp) * open_, elbow=55.0)
    return pose


def _reach_up(t: np.ndarray, p: _Params) -> _Pose:
    pose = _Pose(len(p.tempo), len(t))
    r = _plateau(_cycle(t, p, 2.6), 0.05, 0.35, 0.55, 0.85)
    top = 150.0 + 20.0 * np.clip(_col(p.amp) - 0.7, 0.0, 0.5) / 0.5
    for side in (1.0, -1.0):
        pose.arm(side, flex=top * r, abd=_NEUTRAL_ARM_ABD + 4.0 * r, elbow=_NEUTRAL_ELBOW * (1.0 - r) + 3.0)
    pose.torso(spine=-5.0 * r, neck=-15.0 * r)
    return pose


def _sit(t: np.ndarray, p: _Params, standing_up: bool) -> _Pose:
    pose = _Pose(len(p.tempo), len(t))
    s = _progress(t, p, 1.7)
    if standing_up:
        s = 1.0 - s
    mid = np.sin(np.pi * s)  # lean forward over the feet half-way through
    for side in (1.0, -1.0):
        pose.leg(side, thigh=90.0 * s, knee=_NEUTRAL_KNEE + 88.0 * s)
        pose.arm(side, flex=30.0 * mid + 20.0 * s, elbow=_NEUTRAL_ELBOW + 55.0 * s)
    pose.torso(pitch=35.0 * np.clip(_col(p.amp), 0.7, 1.1) * mid + 8.0 * s, spine=5.0 * s)
    return pose


def _sit_down(t: np.ndarray, p: _Params) -> _Pose:
    return _sit(t, p, standing_up=False)


def _stand_up(t: np.ndarray, p: _Params) -> _Pose:
    return _sit(t, p, standing_up=True)


def _turn_around(t: np.ndarray, p: _Params) -> _Pose:
    pose = _Pose(len(p.tempo), len(t))
    s = _progress(t, p, 1.0)
    pose.yaw = _col(p.side * (165.0 + 30.0 * p.extra[:, 1])) * s
    # Small alternating steps while turning.
    stepping = np.sin(np.pi * s) * _col(p.amp)
    theta = 2.0 * np.pi * _cycle(t, p, 0.7)
    for side, shift in ((-1.0, 0.0), (1.0, np.pi)):
        lift = stepping * np.maximum(np.sin(theta + shift), 0.0)
        pose.leg(side, thigh=20.0 * lift, knee=_NEUTRAL_KNEE + 40.0 * lift)
        pose.arm(side, flex=10.0 * stepping * np.sin(theta + shift + np.pi))
    return pose


def _throw(t: np.ndarray, p: _Params) -> _Pose:
    pose = _Pose(len(p.tempo), len(t))
    u = _cycle(t, p, 2.4)
    wind = _plateau(u, 0.0, 0.3, 0.36, 0.5)  # arm cocked behind the head
    release = _plateau(u, 0.36, 0.56, 0.6, 0.88)  # arm swings forward and follows through
    power = np.clip(_col(p.amp), 0.7, 1.1)
    left = p.side > 0
    throwing = dict(flex=-25.0 * wind + 110.0 * power * release, abd=_NEUTRAL_ARM_ABD + 80.0 * wind + 20.0 * release,
                    elbow=_NEUTRAL_ELBOW + 20.0 * release, elbow_abd=90.0 * wind)
    other = dict(flex=40.0 * wind, abd=np.full_like(u, _NEUTRAL_ARM_ABD + 10.0), elbow=np.full_like(u, 30.0),
                 elbow_abd=np.zeros_like(u))
    for side in (1.0, -1.0):
        active = left if side > 0 else ~left
        pose.arm(side, **{k: _select(active, throwing[k], other[k]) for k in throwing})
        # Step forward with the leg opposite to the throwing arm.
        pose.leg(side, thigh=_select(active, np.zeros_like(u), 15.0 * (wind + release)), knee=12.0)
    # Chest turns the throwing shoulder back during the wind-up and forward on release.
    pose.torso(twist=_col(p.side) * (30.0 * wind - 25.0 * release), pitch=-5.0 * wind + 15.0 * release)
    return pose


def _jumping_jacks(t: np.ndarray, p: _Params) -> _Pose:
    pose = _Pose(len(p.tempo), len(t))
    period = _col(1.2 / p.tempo)  # one open-close cycle, two hops
    flight = _col(0.2 + 0.08 * (p.amp - 0.7) / 0.5)  # 0.20-0.28 s: hops 5-10 cm high
    tau = np.mod(t[None, :] / period + _col(p.phase), 1.0) * period
    spread = 0.5 - 0.5 * np.cos(2.0 * np.pi * tau / period)  # 0: closed (landing at 0), 1: open (at 1/2)
    # Flights centred on the quarter cycles, where the limbs change between open and closed.
    lift = _ballistic(tau - (0.25 * period - 0.5 * flight), flight)
    lift = lift + _ballistic(tau - (0.75 * period - 0.5 * flight), flight)
    landing = np.cos(2.0 * np.pi * tau / period) ** 4  # knees give on each landing
    size = np.clip(_col(p.amp), 0.7, 1.1)
    for side in (1.0, -1.0):
        pose.leg(side, abd=16.0 * size * spread, knee=_NEUTRAL_KNEE + 15.0 * landing, thigh=5.0 * landing)
        pose.arm(side, abd=_NEUTRAL_ARM_ABD + 150.0 * np.clip(_col(p.amp), 0.9, 1.1) * spread, elbow=10.0)
    pose.lift = lift
    return pose


def _bend_pick_up(t: np.ndarray, p: _Params) -> _Pose:
    pose = _Pose(len(p.tempo), len(t))
    b = _plateau(_cycle(t, p, 3.0), 0.05, 0.35, 0.5, 0.8) * np.clip(_col(p.amp), 0.85, 1.1)
    thigh, shin = 50.0 * b, -25.0 * b
    for side in (1.0, -1.0):
        pose.leg(side, thigh=thigh, knee=_NEUTRAL_KNEE + thigh - shin)
        pose.arm(side, flex=85.0 * b, elbow=_NEUTRAL_ELBOW + 5.0 * b, abd=_NEUTRAL_ARM_ABD)
    pose.torso(pitch=60.0 * b, spine=15.0 * b, chest=10.0 * b, neck=-15.0 * b)
    return pose


_MOTIONS: dict[str, Callable[[np.ndarray, _Params], _Pose]] = {
    "walk": _walk,
    "run": _run,
    "jump": _jump,
    "squat": _squat,
    "wave_left_hand": _wave(1.0),
    "wave_right_hand": _wave(-1.0),
    "punch": _punch,
    "kick": _kick,
    "bow": _bow,
    "clap": _clap,
    "reach_up": _reach_up,
    "sit_down": _sit_down,
    "stand_up": _stand_up,
    "turn_around": _turn_around,
    "throw": _throw,
    "jumping_jacks": _jumping_jacks,
    "bend_pick_up": _bend_pick_up,
}
assert tuple(_MOTIONS) == ACTION_NAMES


# ---------------------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------------------


class ProceduralMotion:
    """Seeded generator of labelled human motion clips on the H3.6M-17 skeleton, with virtual cameras.

    Args:
        seed: non-negative integer; fixes subject bodies and every clip.
        num_subjects: number of subjects (at least 3), split subject-wise by :func:`split_subjects`
            (12 by default: train 1-8, val 9-10, test 11-12).

    Example:
        >>> gen = ProceduralMotion(seed=3)
        >>> clips = gen.generate(34, num_frames=32, split="val", actions=["wave_left_hand", "clap"])
        >>> clips["poses3d"].shape, clips["poses3d"].dtype, sorted(set(clips["subjects"].tolist())) <= [9, 10]
        ((34, 32, 17, 3), dtype('float32'), True)
        >>> clips["labels"][:4].tolist()     # round-robin over the requested actions
        [4, 9, 4, 9]
    """

    def __init__(self, seed: int = 0, num_subjects: int = 12) -> None:
        if int(seed) != seed or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        self.num_subjects = int(num_subjects)
        self.splits = split_subjects(self.num_subjects)
        self.bodies = {s: _make_body(self.seed, s) for s in range(1, self.num_subjects + 1)}
        # Lookup tables indexed by subject id (row 0 unused).
        self._offsets = np.stack([np.zeros((_J, 3))] + [self.bodies[s].offsets for s in self.bodies])
        self._ankle = np.array([0.0] + [self.bodies[s].ankle_height for s in self.bodies])
        self._leg = np.array([0.0] + [self.bodies[s].leg_length for s in self.bodies])

    def body(self, subject: int) -> SubjectBody:
        """Rest skeleton of ``subject`` (1-based id); raises ``KeyError`` for an unknown id."""
        try:
            return self.bodies[subject]
        except KeyError:
            raise KeyError(f"subject must be in 1..{self.num_subjects}, got {subject!r}") from None

    def generate(
        self,
        num_clips: int,
        num_frames: int,
        split: str = "train",
        fps: float = NATIVE_FPS,
        actions: Sequence[str] | None = None,
        with_2d: bool = True,
        chunk: int = 4096,
    ) -> dict[str, np.ndarray]:
        """Generate labelled clips of one split.

        Clip ``i`` performs ``actions[i % len(actions)]`` (balanced round-robin) by a subject of ``split``
        drawn at random; frame ``k`` is at time ``k / fps`` seconds.

        Args:
            num_clips: number of clips N (>= 1).
            num_frames: frames per clip T (>= 1).
            split: ``"train"``, ``"val"`` or ``"test"``; splits have disjoint subjects.
            fps: frame rate in Hz (> 0); the motion is continuous, so every rate samples it exactly.
            actions: action names to generate (default: all of :data:`ACTION_NAMES`); labels stay the
                global class ids of :data:`ACTIONS`.
            with_2d: also sample a static camera per clip and return noisy 2D detections.
            chunk: clips processed at once (rounded up to a multiple of 256 and capped so that about
                ``2**16`` poses are in flight); a memory/speed knob only, results do not depend on it.

        Returns:
            Dict of numpy arrays:

            * ``poses3d``: float32 ``(N, T, 17, 3)``, metres, y-up world frame, ground at y = 0;
            * ``labels``: int64 ``(N,)`` action ids; ``subjects``: int64 ``(N,)`` subject ids;
            * with ``with_2d``: ``poses2d`` float32 ``(N, T, 17, 3)`` = ``(u, v, confidence)`` in pixels with
              detector noise (see :func:`sic.data.camera.simulate_detections`), and the camera of each
              clip: ``cam_R`` float32 ``(N, 3, 3)`` (world to camera, OpenCV axes), ``cam_t`` ``(N, 3)``,
              ``cam_f`` ``(N, 2)``, ``cam_c`` ``(N, 2)``, ``cam_size`` ``(N, 2)`` (width, height).

        Raises:
            ValueError: a count or the frame rate is out of range, the split is unknown or ``actions`` is
                empty.
            KeyError: ``actions`` names an unknown action.
        """
        num_clips = _positive_int("num_clips", num_clips)
        num_frames = _positive_int("num_frames", num_frames)
        chunk = _positive_int("chunk", chunk)
        if isinstance(fps, bool) or not (isinstance(fps, numbers.Real) and math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a finite number > 0, got {fps!r}")
        if split not in _SPLIT_CODES:
            raise ValueError(f"split must be one of {', '.join(map(repr, _SPLIT_CODES))}, got {split!r}")
        action_ids = self._action_ids(actions)

        t = np.arange(num_frames) / float(fps)
        labels = action_ids[np.arange(num_clips) % len(action_ids)]
        out = {"poses3d": np.empty((num_clips, num_frames, _J, 3), np.float32)}
        subjects = np.empty(num_clips, np.int64)
        if with_2d:
            out["poses2d"] = np.empty((num_clips, num_frames, _J, 3), np.float32)
            for key, shape in (("cam_R", (3, 3)), ("cam_t", (3,)), ("cam_f", (2,)), ("cam_c", (2,)),
                               ("cam_size", (2,))):  # fmt: skip
                out[key] = np.empty((num_clips, *shape), np.float32)

        blocks_per_chunk = max(1, min(-(-chunk // _BLOCK), _MAX_POSES_PER_BATCH // (num_frames * _BLOCK)))
        num_blocks = -(-num_clips // _BLOCK)
        for first in range(0, num_blocks, blocks_per_chunk):
            blocks = range(first, min(first + blocks_per_chunk, num_blocks))
            self._generate_blocks(out, subjects, labels, t, split, blocks, with_2d)
        out["labels"] = labels.astype(np.int64)
        out["subjects"] = subjects
        return out

    # -- internals ---------------------------------------------------------------------------------------

    def _action_ids(self, actions: Sequence[str] | None) -> np.ndarray:
        if actions is None:
            return np.arange(len(ACTIONS), dtype=np.int64)
        if isinstance(actions, str):
            actions = [actions]
        if len(actions) == 0:
            raise ValueError("actions must name at least one action (or be None for all)")
        ids = []
        for name in actions:
            if name not in ACTION_NAMES:
                raise KeyError(f"actions: unknown action {name!r}; valid names: {', '.join(ACTION_NAMES)}")
            ids.append(ACTION_NAMES.index(name))
        return np.array(ids, dtype=np.int64)

    def _rng(self, split: str, block: int, stream: int) -> np.random.Generator:
        """Generator of one block of clips; streams: 0 motion parameters, 1 camera and detections."""
        return np.random.default_rng([self.seed, _SPLIT_CODES[split], block, stream])

    def _generate_blocks(
        self,
        out: dict[str, np.ndarray],
        subjects: np.ndarray,
        labels: np.ndarray,
        t: np.ndarray,
        split: str,
        blocks: range,
        with_2d: bool,
    ) -> None:
        """Fill ``out`` for the clips of consecutive ``blocks`` (the last one may be partial)."""
        num_clips = len(labels)
        start, stop = blocks[0] * _BLOCK, min(blocks[-1] * _BLOCK + _BLOCK, num_clips)
        # Always draw whole blocks so that clip i's parameters do not depend on num_clips.
        params = _Params.concat([_draw_params(self._rng(split, b, 0), _BLOCK) for b in blocks])
        params = params.subset(slice(0, stop - start))
        pool = np.array(self.splits[split], dtype=np.int64)
        subj = pool[np.minimum((params.subject_u * len(pool)).astype(np.int64), len(pool) - 1)]
        params.leg = self._leg[subj]
        # Frames are independent given the parameters, so long clips are synthesised a time slice at a time.
        step = max(1, _MAX_POSES_PER_BATCH // (stop - start))
        for f0 in range(0, len(t), step):
            frames = slice(f0, f0 + step)
            poses = self._synthesize(t[frames], labels[start:stop], subj, params)
            out["poses3d"][start:stop, frames] = poses.transpose(2, 3, 0, 1)
        subjects[start:stop] = subj
        if not with_2d:
            return
        for b in blocks:
            lo, hi = b * _BLOCK, min(b * _BLOCK + _BLOCK, stop)
            # 2D comes from the stored float32 poses, so it is exactly their projection.
            self._render_block(out, lo, out["poses3d"][lo:hi], self._rng(split, b, 1))

    def _synthesize(self, t: np.ndarray, labels: np.ndarray, subjects: np.ndarray, p: _Params) -> np.ndarray:
        """World joint positions ``(J, 3, n, T)`` (joint-major, float64) of n clips."""
        n, T = len(labels), len(t)
        pose = _Pose(n, T)
        anchored = np.ones(n, dtype=bool)
        hover = np.zeros(n)
        for action, name in enumerate(ACTION_NAMES):
            mask = labels == action
            if not mask.any():
                continue
            part = _MOTIONS[name](t, p.subset(mask))
            pose.ang[:, :, mask] = part.ang
            for field in ("yaw", "travel", "lateral", "lift"):
                getattr(pose, field)[mask] = getattr(part, field)
            anchored[mask], hover[mask] = part.anchored, part.hover

        ang = pose.ang
        ang[_STYLE_JOINT, _STYLE_AXIS] += _style(t, p)
        # Hinge joints do not hyper-extend, whatever the style noise.
        ang[[L_KNEE, R_KNEE], 0] = np.maximum(ang[[L_KNEE, R_KNEE], 0], 0.0)
        ang[[L_ELBOW, R_ELBOW], 0] = np.minimum(ang[[L_ELBOW, R_ELBOW], 0], 0.0)
        # Legs were specified in the upright frame: undo the pelvis pitch at the hips.
        ang[[L_HIP, R_HIP], 0] -= ang[PELVIS, 0]
        ang[PELVIS, 1] += np.degrees(p.yaw0)[:, None] + pose.yaw
        pos = _forward_kinematics(np.radians(ang), self._offsets[subjects])
        pos += self._root(t, pos, pose, anchored, hover, p, self._ankle[subjects])
        # Safety net (a no-op for the built-in actions): nothing may pass through the floor.
        pos[:, 1] += np.maximum(-pos[:, 1].min(axis=0), 0.0)
        return pos

    @staticmethod
    def _root(
        t: np.ndarray,
        rel: np.ndarray,
        pose: _Pose,
        anchored: np.ndarray,
        hover: np.ndarray,
        p: _Params,
        ankle_height: np.ndarray,
    ) -> np.ndarray:
        """Root positions ``(3, n, T)`` given joint positions ``(J, 3, n, T)`` relative to the root.

        Vertically the lowest ankle sits at the ankle height, plus any ballistic lift, unless that would put
        the pelvis below its ``hover`` height (running: then the subject is in flight). Horizontally
        travelling clips follow their path; stationary ones keep the supporting foot (a soft minimum over
        the ankle heights) at a slowly drifting spot, so bending or kicking moves the pelvis, not the feet.
        """
        ankles = rel[[R_ANKLE, L_ANKLE]]  # (2, 3, n, T)
        low = np.minimum(ankles[0, 1], ankles[1, 1])
        y = np.maximum(ankle_height[:, None] - low, _col(ankle_height + hover * p.leg)) + pose.lift
        w_right = np.exp(-(ankles[0, 1] - low) / _ANCHOR_TEMPERATURE)
        w_left = np.exp(-(ankles[1, 1] - low) / _ANCHOR_TEMPERATURE)
        support = (w_right * ankles[0, 0::2] + w_left * ankles[1, 0::2]) / (w_right + w_left)  # (2, n, T)
        base, drift = p.base.T[:, :, None], p.drift.T[:, :, None]
        still = base + drift * t - support
        forward = np.stack([np.sin(p.yaw0), np.cos(p.yaw0)])[:, :, None]
        left = np.stack([np.cos(p.yaw0), -np.sin(p.yaw0)])[:, :, None]
        moving = base + pose.travel * forward + pose.lateral * left
        xz = np.where(anchored[:, None], still, moving)
        return np.stack([xz[0], y, xz[1]])

    @staticmethod
    def _render_block(out: dict[str, np.ndarray], start: int, poses: np.ndarray, rng: np.random.Generator) -> None:
        """Sample cameras and noisy detections for one block of clips and write them at ``out[...][start:]``."""
        m = len(poses)
        if m < _BLOCK:  # pad a partial block so that the random draws match those of a full one
            poses = np.concatenate([poses, np.repeat(poses[-1:], _BLOCK - m, axis=0)])
        cams, poses2d = render_views(poses, rng, root=PELVIS)
        sl = slice(start, start + m)
        out["poses2d"][sl] = poses2d[:m]
        out["cam_R"][sl], out["cam_t"][sl], out["cam_f"][sl] = cams.R[:m], cams.t[:m], cams.f[:m]
        out["cam_c"][sl], out["cam_size"][sl] = cams.c[:m], cams.size[:m]


def _positive_int(name: str, value: int) -> int:
    """``value`` as an int, or a ``ValueError`` naming the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)
