import numpy as np
import pytest
from mocap_fixtures import CMU, bone_vector, motion, write_amc, write_asf, write_bvh

from sic.data.formats import amc_joints, read_amc, read_asf, read_bvh
from sic.data.formats.asf_amc import INCH
from sic.data.mocap import CMU_SCALE, bvh_to_cmu31, cmu_bvh_release, load_mocap
from sic.utils.errors import DataError


@pytest.fixture
def trial(tmp_path):
    values = motion(60)
    asf = write_asf(tmp_path / "42.asf", crlf=True)
    amc = write_amc(tmp_path / "42_01.amc", values)
    bvh = write_bvh(tmp_path / "42_01.bvh", values, tpose=True)
    return asf, amc, bvh, values


def test_asf_skeleton_matches_cmu31(trial):
    skel = read_asf(trial[0])
    assert skel.names == list(CMU.names) and skel.parents == list(CMU.parents)
    assert skel.dofs[skel.names.index("ltibia")] == ["rx"] and skel.dofs[skel.names.index("lhipjoint")] == []
    assert skel.scale == pytest.approx(INCH / 0.45)


def test_amc_forward_kinematics_keeps_bone_lengths_and_root_path(trial):
    skel = read_asf(trial[0])
    joints = amc_joints(skel, read_amc(trial[1], skel))
    assert joints.shape == (60, 31, 3) and joints.dtype == np.float32
    lengths = np.linalg.norm(joints[:, 1:] - joints[:, list(CMU.parents[1:])], axis=-1)
    expected = np.array([np.linalg.norm(bone_vector(n)) for n in CMU.names[1:]]) * CMU_SCALE
    np.testing.assert_allclose(lengths, np.broadcast_to(expected, lengths.shape), atol=1e-5)
    np.testing.assert_allclose(joints[:, 0], trial[3]["root"][:, :3] * CMU_SCALE, atol=1e-5)


def test_amc_local_axis_frame_by_hand(tmp_path):
    # Bone along +x with local frame rotated 90 deg about z (axis 0 0 90): its local x axis is the
    # global y axis, so rx = 90 deg turns the bone about global y: +x -> -z.
    (tmp_path / "a.asf").write_text(
        ":units\n length 0.45\n angle deg\n:root\n order TX TY TZ RX RY RZ\n axis XYZ\n position 0 0 0\n"
        " orientation 0 0 0\n:bonedata\n begin\n id 1\n name arm\n direction 1 0 0\n length 1\n axis 0 0 90 XYZ\n"
        " dof rx\n end\n:hierarchy\n begin\n root arm\n end\n"
    )
    (tmp_path / "a.amc").write_text(":FULLY-SPECIFIED\n:DEGREES\n1\nroot 0 0 0 0 0 0\narm 90\n2\nroot 0 0 0 0 0 0\narm 0\n")
    skel = read_asf(tmp_path / "a.asf")
    out = amc_joints(skel, read_amc(tmp_path / "a.amc", skel), scale=1.0)
    np.testing.assert_allclose(out[:, 1], [[0, 0, -1], [1, 0, 0]], atol=1e-6)


def test_bvh_and_amc_of_the_same_motion_agree(trial):
    skel = read_asf(trial[0])
    from_amc = amc_joints(skel, read_amc(trial[1], skel))
    bvh = read_bvh(trial[2])
    assert cmu_bvh_release(bvh) == "motionbuilder" and bvh.num_frames == 61
    from_bvh = bvh_to_cmu31(bvh, "motionbuilder")[1:] * CMU_SCALE
    np.testing.assert_allclose(from_bvh, from_amc, atol=1e-5)


def test_load_mocap_drops_the_synthetic_tpose_and_normalises(trial):
    a = load_mocap(trial[1], subject="42")
    b = load_mocap(trial[2])
    assert a.layout == b.layout == "cmu31" and len(a.joints) == len(b.joints) == 60
    np.testing.assert_allclose(a.joints, b.joints, atol=1e-5)
    assert a.joints[0, 0, [0, 2]] == pytest.approx([0, 0], abs=1e-6)
    lowest = a.joints[..., 1].min(-1)
    assert abs(np.median(lowest[lowest <= np.median(lowest)])) < 1e-6  # frames in contact sit on y = 0


def test_bvh_with_mixed_line_endings_and_tabs(tmp_path):
    text = ("HIERARCHY\r\nROOT\tHips\n{\r\n\tOFFSET 0 0 0\n\tCHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation\r\n"
            "\tEnd Site\n\t{\r\n\t\tOFFSET 0 10 0\n\t}\n}\r\nMOTION\nFrames:\t2\r\nFrame Time:\t0.0333333\n1 2 3 0 0 0\r\n4 5 6 90 0 0\n")  # fmt: skip
    (tmp_path / "m.bvh").write_bytes(text.encode())
    bvh = read_bvh(tmp_path / "m.bvh")
    assert bvh.fps == pytest.approx(30.0, rel=1e-5)
    np.testing.assert_allclose(bvh.positions()[:, 1], [[1, 12, 3], [-6, 5, 6]], atol=1e-6)  # Rz(90): +y -> -x


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda t: t.replace("CHANNELS 3 Zrotation Yrotation Xrotation", "CHANNELS 3 Zrotation Yrotation", 1), "declares 3 channels but lists 2"),
        (lambda t: t.replace("Zrotation", "Wrotation", 1), "unknown channel 'Wrotation'"),
        (lambda t: t.rsplit("\n", 3)[0] + "\n", "only"),
        (lambda t: t.replace("MOTION", "MOTON"), "no MOTION section"),
        (lambda t: t[: t.index("MOTION")] + "MOTION\nFrames: 2\nFrame Time: .0083\n1 2 3\n4 5 6\n", "expected 96"),
        (lambda t: t.replace("OFFSET", "OFFSET x", 1), "numbers"),
    ],
)
def test_malformed_bvh_gives_clear_errors(trial, mutate, message):
    path = trial[2]
    path.write_text(mutate(path.read_text()))
    with pytest.raises(DataError) as e:
        read_bvh(path)
    assert str(path) in str(e.value) and message in str(e.value)


def test_malformed_amc_and_asf_give_clear_errors(tmp_path, trial):
    skel = read_asf(trial[0])
    truncated = write_amc(tmp_path / "t.amc", motion(3), drop_last_line=True)
    with pytest.raises(DataError, match=r"t\.amc: frame 3 .* no values for bone\(s\) \['rthumb'\]"):
        read_amc(truncated, skel)
    text = trial[1].read_text()
    (tmp_path / "u.amc").write_text(text.replace("ltibia", "lshin", 1))
    with pytest.raises(DataError, match=r"u\.amc:\d+: bone 'lshin'"):
        read_amc(tmp_path / "u.amc", skel)
    first_femur = next(line for line in text.splitlines() if line.startswith("lfemur"))
    (tmp_path / "c.amc").write_text(text.replace(first_femur, first_femur.rsplit(" ", 1)[0], 1))
    with pytest.raises(DataError, match=r"c\.amc:\d+: bone 'lfemur' .*needs 3 numbers"):
        read_amc(tmp_path / "c.amc", skel)
    (tmp_path / "h.asf").write_text(trial[0].read_text().split(":hierarchy")[0])
    with pytest.raises(DataError, match=r"h\.asf: not an ASF skeleton \(no :hierarchy section\)"):
        read_asf(tmp_path / "h.asf")
    with pytest.raises(DataError, match="file not found"):
        read_asf(tmp_path / "missing.asf")


def test_non_cmu_bvh_needs_a_joint_map(tmp_path, trial):
    generic = tmp_path / "g.bvh"
    generic.write_text(trial[2].read_text().replace("LeftUpLeg", "L_Thigh"))
    with pytest.raises(DataError, match="not a CMU release; give a joint map") as e:
        load_mocap(generic)
    assert "L_Thigh" in str(e.value)
    names = ["Hips", "RightUpLeg", "RightLeg", "RightFoot", "L_Thigh", "LeftLeg", "LeftFoot", "Spine", "Neck1",
             "Head", "Head/end", "LeftArm", "LeftForeArm", "LeftHand", "RightArm", "RightForeArm", "RightHand"]  # fmt: skip
    joint_map = dict(zip(CMU_H36M_NAMES, names))
    seq = load_mocap(generic, joint_map=joint_map, scale=CMU_SCALE)
    assert seq.layout == "h36m17" and seq.joints.shape == (61, 17, 3)  # a T-pose is only dropped for CMU BVH
    with pytest.raises(DataError, match="missing H3.6M-17 joints"):
        load_mocap(generic, joint_map={"Pelvis": "Hips"})


CMU_H36M_NAMES = ("Pelvis", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "Spine", "Thorax", "Neck", "Head",
                  "LShoulder", "LElbow", "LWrist", "RShoulder", "RElbow", "RWrist")  # fmt: skip
