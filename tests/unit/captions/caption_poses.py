"""Hand-made synthetic poses for the captioner tests (our own numbers; metres, y up, facing +z, left = +x).

H3.6M-17 order: Pelvis, RHip, RKnee, RAnkle, LHip, LKnee, LAnkle, Spine, Thorax, Neck, Head,
LShoulder, LElbow, LWrist, RShoulder, RElbow, RWrist. Coordinates avoid exact threshold values, so
rotating a pose cannot move a code across a bin edge by rounding.
"""

import numpy as np

H36M = ("Pelvis", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "Spine", "Thorax", "Neck", "Head",
        "LShoulder", "LElbow", "LWrist", "RShoulder", "RElbow", "RWrist")  # fmt: skip


def _mirror(joints: dict) -> dict:
    """Fill right joints from left ones (x negated) where only the left side is given."""
    out = dict(joints)
    for name, (x, y, z) in joints.items():
        if name.startswith("L") and "R" + name[1:] not in joints:
            out["R" + name[1:]] = (-x, y, z)
    return out


def standing(**overrides) -> dict:
    """Upright, arms hanging, as a name → (x, y, z) dict; ``overrides`` replace joints."""
    joints = {
        "Pelvis": (0.0, 0.95, 0.0), "LHip": (0.11, 0.95, 0.0), "LKnee": (0.11, 0.52, 0.01),
        "LAnkle": (0.11, 0.08, 0.0), "Spine": (0.0, 1.2, 0.0), "Thorax": (0.0, 1.45, 0.0),
        "Neck": (0.0, 1.55, 0.03), "Head": (0.0, 1.68, 0.03), "LShoulder": (0.19, 1.42, 0.0),
        "LElbow": (0.21, 1.14, -0.01), "LWrist": (0.22, 0.88, 0.0),
    }  # fmt: skip
    joints.update(overrides)
    return _mirror(joints)


def h36m(joints: dict) -> np.ndarray:
    """``(17, 3)`` array of a name → position dict."""
    return np.array([joints[n] for n in H36M], dtype=np.float64)


def t_pose() -> np.ndarray:
    return h36m(standing(LElbow=(0.47, 1.42, 0.0), LWrist=(0.73, 1.42, 0.01)))


def arms_down() -> np.ndarray:
    return h36m(standing())


def arms_raised() -> np.ndarray:
    return h36m(standing(LElbow=(0.21, 1.70, 0.01), LWrist=(0.22, 1.96, 0.0)))


def left_elbow_right_angle() -> np.ndarray:
    # left upper arm hanging, left forearm pointing forward; right arm straight down
    return h36m(standing(LElbow=(0.21, 1.14, 0.0), LWrist=(0.21, 1.14, 0.26),
                         RElbow=(-0.21, 1.14, -0.01), RWrist=(-0.22, 0.88, 0.0)))  # fmt: skip


def _low_upper_body(pelvis_y: float) -> dict:
    d = pelvis_y - 0.95
    up = {k: (x, y + d, z) for k, (x, y, z) in standing().items() if k in
          ("Pelvis", "Spine", "Thorax", "Neck", "Head", "LShoulder", "LElbow", "LWrist")}  # fmt: skip
    return up


def kneeling_on_left() -> np.ndarray:
    """Left knee on the ground (shin flat behind), right foot flat with the right knee up at 90°."""
    j = _low_upper_body(0.5)
    j.update({"LHip": (0.11, 0.5, 0.0), "LKnee": (0.11, 0.06, 0.01), "LAnkle": (0.11, 0.08, -0.42),
              "RHip": (-0.11, 0.5, 0.0), "RKnee": (-0.11, 0.49, 0.43), "RAnkle": (-0.11, 0.08, 0.44)})  # fmt: skip
    return h36m(_mirror(j))


def kneeling_both() -> np.ndarray:
    j = _low_upper_body(0.5)
    j.update({"LHip": (0.11, 0.5, 0.0), "LKnee": (0.11, 0.06, 0.01), "LAnkle": (0.11, 0.08, -0.42)})
    return h36m(_mirror(j))


def crossed_legs() -> np.ndarray:
    """Standing with the left foot crossed in front of and to the right of the right foot."""
    return h36m(standing(LKnee=(0.01, 0.52, 0.04), LAnkle=(-0.16, 0.08, 0.06),
                         RKnee=(-0.01, 0.52, -0.02), RAnkle=(0.16, 0.08, -0.07)))  # fmt: skip


def _pitch(pose: np.ndarray, degrees: float, about: np.ndarray, joints: list[int] | None = None) -> np.ndarray:
    """Rotate ``joints`` (default all) about the x axis through ``about`` (+90°: up goes forward)."""
    t = np.radians(degrees)
    rot = np.array([[1, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]])
    out = pose.copy()
    sel = slice(None) if joints is None else joints
    out[sel] = (pose[sel] - about) @ rot.T + about
    return out


def lying_on_back() -> np.ndarray:
    pose = _pitch(arms_down(), -88.0, np.array([0.0, 0.95, 0.0]))  # head slightly raised
    pose[:, 1] -= pose[:, 1].min() - 0.05
    return pose


def bent_forward() -> np.ndarray:
    """Hips flexed to 90°: the torso horizontal, pointing forward, arms hanging straight down."""
    pose = arms_down()
    upper = [H36M.index(n) for n in ("Spine", "Thorax", "Neck", "Head", "LShoulder", "RShoulder")]
    pose = _pitch(pose, 90.0, pose[0], upper)
    for side in "LR":
        sh = pose[H36M.index(f"{side}Shoulder")]
        pose[H36M.index(f"{side}Elbow")] = sh + np.array([0.0, -0.28, 0.0])
        pose[H36M.index(f"{side}Wrist")] = sh + np.array([0.0, -0.54, 0.01])
    return pose


ALL_H36M = {
    "t_pose": t_pose, "arms_down": arms_down, "arms_raised": arms_raised,
    "left_elbow_right_angle": left_elbow_right_angle,
    "kneeling_on_left": kneeling_on_left, "kneeling_both": kneeling_both, "crossed_legs": crossed_legs,
    "lying_on_back": lying_on_back, "bent_forward": bent_forward,
}  # fmt: skip

# SMPL-22: the same standing skeleton with real toe joints, collars and spine slots
_SMPL_FROM_H36M = {"pelvis": "Pelvis", "L_hip": "LHip", "R_hip": "RHip", "L_knee": "LKnee", "R_knee": "RKnee",
                   "L_ankle": "LAnkle", "R_ankle": "RAnkle", "neck": "Thorax", "head": "Head",
                   "L_shoulder": "LShoulder", "R_shoulder": "RShoulder", "L_elbow": "LElbow", "R_elbow": "RElbow",
                   "L_wrist": "LWrist", "R_wrist": "RWrist"}  # fmt: skip


def smpl22(pose17: np.ndarray) -> np.ndarray:
    """A 22-joint SMPL pose from an H3.6M-17 one: toes 0.13 m in front of and 0.06 m below the ankles."""
    from sic.data.skeleton import get_layout

    names = get_layout("smpl22").names
    j = {n: pose17[H36M.index(h)] for n, h in _SMPL_FROM_H36M.items()}
    spine, thorax = pose17[H36M.index("Spine")], pose17[H36M.index("Thorax")]
    j["spine1"], j["spine2"] = (2 * j["pelvis"] + spine) / 3, spine
    j["spine3"] = (spine + thorax) / 2
    for s in "LR":
        j[f"{s}_foot"] = j[f"{s}_ankle"] + np.array([0.0, -0.06, 0.13])
        j[f"{s}_collar"] = (j["neck"] + j[f"{s}_shoulder"]) / 2
    return np.array([j[n] for n in names], dtype=np.float64)


def yaw(pose: np.ndarray, degrees: float, shift=(0.0, 0.0, 0.0)) -> np.ndarray:
    """Rotate about the vertical axis and translate."""
    t = np.radians(degrees)
    rot = np.array([[np.cos(t), 0, np.sin(t)], [0, 1, 0], [-np.sin(t), 0, np.cos(t)]])
    return pose @ rot.T + np.asarray(shift)
