import numpy as np
import pytest

from sic.captions.canonical import JOINT_INDEX, JOINTS
from sic.captions.operators import MEASURES, operators


def _ops():
    return [(variant, op) for variant in ("main", "eccv") for op in operators(variant).values()]


@pytest.mark.parametrize(("variant", "op"), _ops(), ids=lambda x: x if isinstance(x, str) else x.name)
def test_bins_at_threshold_edges(variant, op):
    # class i when t[i-1] < v <= t[i]: a value on a threshold belongs to the lower class
    for i, t in enumerate(op.thresholds):
        assert op.bin(np.array([t]))[0] == i, (op.name, t)
        assert op.bin(np.array([t + 1e-9]))[0] == i + 1, (op.name, t)
        assert op.bin(np.array([t - 1e-9]))[0] == i
    assert op.bin(np.array([-1e9, 1e9])).tolist() == [0, len(op.classes) - 1]


def test_tables_match_the_reference_values():
    main, eccv = operators("main"), operators("eccv")
    assert main["angle"].thresholds == (45, 75, 105, 135, 160) and main["angle"].offset == 5.0
    assert main["distance"].thresholds == (0.20, 0.40, 0.80) and main["distance"].offset == 0.05
    assert main["relativePosY"].classes == ("below", "ignored", "y-aligned", "ignored", "above")
    assert main["relativePosX"].thresholds == (-0.15, -0.05, 0.05, 0.15)
    assert eccv["relativePosX"].classes == ("at right", "ignored", "at left")
    assert eccv["relativePosZ"].thresholds == (-0.15, 0.15)
    assert main["relativeVAxis"].thresholds == (10, 80) and main["onGround"].thresholds == (0.10,)
    assert main["bodyInclineX"].thresholds == (-50, -20, 20, 50)
    assert main["bodyInclineZ"].thresholds == (-30, -15, 15, 30)
    assert "bodyInclineX" not in eccv


def _canon(**points):
    p = np.zeros((1, len(JOINTS), 3))
    for name, xyz in points.items():
        p[0, JOINT_INDEX[name]] = xyz
    return p


def _measure(op, p, names, floor=0.0):
    idx = np.array([[JOINT_INDEX[n] for n in names]])
    return float(MEASURES[op][1](p, np.array([floor]), idx)[0, 0])


@pytest.mark.parametrize(("deg", "expected"), [(44.0, "completely bent"), (46.0, "almost completely bent"),
                                               (74.0, "almost completely bent"), (76.0, "right angle"),
                                               (104.0, "right angle"), (106.0, "partially bent"),
                                               (136.0, "slightly bent"), (159.0, "slightly bent"),
                                               (161.0, "straight")])  # fmt: skip
def test_angle_measure_and_class(deg, expected):
    t = np.radians(deg)
    p = _canon(left_shoulder=(0, 1, 0), left_elbow=(0, 0, 0), left_wrist=(np.sin(t), np.cos(t), 0))
    value = _measure("angle", p, ("left_shoulder", "left_elbow", "left_wrist"))
    assert value == pytest.approx(deg)
    op = operators()["angle"]
    assert op.classes[op.bin(np.array([value]))[0]] == expected


def test_distance_relative_vaxis_ground():
    p = _canon(left_hand=(0.3, 1.0, 0.2), right_hand=(0.0, 0.6, 0.2), left_knee=(0.1, 0.07, 0.0))
    assert _measure("distance", p, ("left_hand", "right_hand")) == pytest.approx(0.5)
    assert _measure("relativePosX", p, ("left_hand", "right_hand")) == pytest.approx(0.3)
    assert _measure("relativePosY", p, ("left_hand", "right_hand")) == pytest.approx(0.4)
    assert _measure("relativePosZ", p, ("left_hand", "right_hand")) == pytest.approx(0.0)
    # tilt from vertical ignores the direction: 36.87° for a 3-4-5 segment either way round
    assert _measure("relativeVAxis", p, ("left_hand", "right_hand")) == pytest.approx(36.8699, abs=1e-3)
    assert _measure("relativeVAxis", p, ("right_hand", "left_hand")) == pytest.approx(36.8699, abs=1e-3)
    assert _measure("onGround", p, ("left_knee",), floor=0.02) == pytest.approx(0.05)


def _incline_pose(spine, shoulder_line=(0.4, 0.0, 0.0), ankle_y=-0.9):
    mid = np.array(spine, dtype=float)
    half = np.array(shoulder_line) / 2
    return _canon(pelvis=(0, 0, 0), left_shoulder=mid + half, right_shoulder=mid - half,
                  left_ankle=(0.1, ankle_y, 0), right_ankle=(-0.1, ankle_y, 0))  # fmt: skip


def _incline(axis, p):
    return _measure(f"bodyIncline{axis}", p, ("left_shoulder", "right_shoulder", "pelvis", "left_ankle", "right_ankle"))


def test_body_incline_signs():
    t = np.radians(30)
    forward = _incline_pose((0, np.cos(t), np.sin(t)))
    assert _incline("X", forward) == pytest.approx(30.0)
    assert _incline("X", _incline_pose((0, np.cos(t), -np.sin(t)))) == pytest.approx(-30.0)
    # leaning toward +x (the body's left) is positive
    assert _incline("Z", _incline_pose((np.sin(t), np.cos(t), 0))) == pytest.approx(30.0)
    # left shoulder forward: positive twist (the "twist right" end)
    line = (0.4 * np.cos(t), 0.0, 0.4 * np.sin(t))
    assert _incline("Y", _incline_pose((0, 0.5, 0), shoulder_line=line)) == pytest.approx(30.0)
    ops = operators()
    assert ops["bodyInclineY"].classes[ops["bodyInclineY"].bin(np.array([55.0]))[0]] == "twist right"


def test_incline_x_is_zero_unless_upright():
    t = np.radians(60)
    # the lower ankle only 0.15 m below mid-shoulder height (lying): forced to 0
    lying = _incline_pose((0, 0.5 * np.cos(t), 0.5 * np.sin(t)), ankle_y=0.5 * np.cos(t) - 0.15)
    assert _incline("X", lying) == 0.0
    upright = _incline_pose((0, 0.5 * np.cos(t), 0.5 * np.sin(t)), ankle_y=0.5 * np.cos(t) - 0.25)
    assert _incline("X", upright) == pytest.approx(60.0)
