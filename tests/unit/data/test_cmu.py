"""Checks on the real CMU files in ../shared/data/mocap/cmu (skipped when the folder is absent)."""

import numpy as np
import pytest
from conftest import CMU

from sic.data.formats import read_bvh
from sic.data.mapping import get_joint_map
from sic.data.mocap import CmuIndex, cmu_bvh_release, load_mocap
from sic.data.skeleton import get_layout

pytestmark = pytest.mark.skipif(not CMU.is_dir(), reason="CMU mocap samples not available")
TRIALS = {"01_01": ("01", 2751), "07_05": ("07", 517), "09_06": ("09", 141)}
PARENTS = list(get_layout("cmu31").parents)


@pytest.fixture(scope="module")
def amc():
    return {t: load_mocap(CMU / f"{t}.amc", subject=s).joints for t, (s, _) in TRIALS.items()}


def _bone_lengths(j):
    return np.linalg.norm(j[:, 1:] - j[:, PARENTS[1:]], axis=-1)


def test_frame_counts_and_bone_lengths(amc):
    for trial, (_, frames) in TRIALS.items():
        j = amc[trial]
        assert j.shape == (frames, 31, 3)
        assert np.ptp(_bone_lengths(j), axis=0).max() < 1e-3, trial  # constant within 1 mm
    for name in ("01_01", "131_01"):
        j = load_mocap(CMU / "bvh" / f"{name}.bvh").joints
        assert np.ptp(_bone_lengths(j), axis=0).max() < 1e-3, name


def test_standing_height_y_up_and_ground_contact(amc):
    for trial, j in amc.items():
        height = np.median(j[..., 1].max(-1) - j[..., 1].min(-1))
        assert 1.5 <= height <= 2.0, (trial, height)
        head, pelvis, ankle = np.median(j[:, 16, 1]), np.median(j[:, 0, 1]), np.median(j[:, 3, 1])
        assert head > pelvis > ankle, trial  # y up
        lowest = j[..., 1].min(-1)
        assert abs(np.percentile(lowest, 25)) < 0.02 and np.percentile(lowest, 2) > -0.05, trial


def test_root_speeds_match_the_actions(amc):
    speed = {t: np.linalg.norm(np.diff(j[:, 0, [0, 2]], axis=0), axis=-1).mean() * 120 for t, j in amc.items()}
    assert 0.8 < speed["07_05"] < 1.2  # slow walk
    assert 3.0 < speed["09_06"] < 4.2  # run


def test_bvh_tpose_frame_and_release_handling():
    mb, max3ds = read_bvh(CMU / "bvh" / "01_01.bvh"), read_bvh(CMU / "bvh" / "131_01.bvh")
    assert (cmu_bvh_release(mb), mb.num_frames) == ("motionbuilder", 2752)
    assert (cmu_bvh_release(max3ds), max3ds.num_frames) == ("3dsmax", 994)
    assert len(load_mocap(CMU / "bvh" / "01_01.bvh").joints) == 2751  # synthetic T-pose dropped
    assert len(load_mocap(CMU / "bvh" / "131_01.bvh").joints) == 994  # no T-pose in this release


def test_bvh_and_amc_of_trial_01_01_agree_on_the_lower_body(amc):
    to_h36m = get_joint_map("cmu31")
    a, b = to_h36m(amc["01_01"]), to_h36m(load_mocap(CMU / "bvh" / "01_01.bvh").joints)
    np.testing.assert_allclose(b[:, :8], a[:, :8], atol=1e-3)  # pelvis, legs, spine: within 1 mm
    # The BVH conversion drops the thorax bone: neck, head and arms sit 0.1166 m closer to the spine.
    gap = np.linalg.norm(b[:, 8:] - a[:, 8:], axis=-1)
    assert 0.08 < np.median(gap) < 0.13


def test_cmu_index_rates_and_descriptions():
    index = CmuIndex.read(CMU / "cmu_mocap_index.csv")
    assert index.lookup("01", "01") == ("playground - forward jumps, turn around", 120.0)
    assert sum(fps == 60 for _, fps in index.entries.values()) == 326 and len(index.entries) == 2435
