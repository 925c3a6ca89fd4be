import numpy as np
import pytest
from caption_poses import ALL_H36M, arms_down, arms_raised, kneeling_on_left, smpl22, t_pose

from sic.captions import PoseCaptioner
from sic.utils.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def poses():
    base = np.stack([make() for make in ALL_H36M.values()])
    return base + np.random.default_rng(1).normal(scale=0.02, size=base.shape)


def test_seeded_output_is_stable(poses):
    cap = PoseCaptioner("h36m17")
    first = cap.caption(poses, seed=7)
    assert first == cap.caption(poses, seed=7) == PoseCaptioner("h36m17").caption(poses, seed=7)
    assert len(first) == len(poses) and all(t.endswith(".") and t[0].isupper() for t in first)


def test_different_seeds_give_different_phrasings():
    cap = PoseCaptioner("h36m17")
    texts = {cap.caption(t_pose(), seed=s)[0] for s in range(12)}
    assert len(texts) >= 10


def test_caption_depends_only_on_seed_and_index(poses):
    cap = PoseCaptioner("h36m17")
    full = cap.caption(poses, seed=3)
    # a shard of the dataset, captioned alone with its global indices, gives the same strings
    shard = cap.caption(poses[4:7], seed=3, index=np.arange(4, 7))
    assert shard == full[4:7]
    assert cap.caption(poses[5], seed=3, index=[5]) == [full[5]]
    # the index, not the position, selects the stream
    same = np.stack([poses[2]] * 3)
    assert len(set(cap.caption(same, seed=3, index=[9, 9, 9]))) == 1
    assert len(set(cap.caption(np.stack([poses[2]] * 6), seed=3))) > 1


def test_single_pose_and_empty_batch():
    cap = PoseCaptioner("h36m17")
    assert len(cap.caption(t_pose())) == 1
    assert cap.caption(np.zeros((0, 17, 3))) == []
    assert PoseCaptioner("smpl22").caption(smpl22(t_pose()))[0]
    smpl24 = np.concatenate([smpl22(t_pose()), smpl22(t_pose())[20:22]], axis=0)
    assert PoseCaptioner("smpl24").caption(smpl24)[0]


def test_random_skip_zero_keeps_everything_and_restore_if_empty():
    cap = PoseCaptioner("h36m17", random_skip=0.0, random_offsets=False)
    trace = cap.explain(t_pose())[0]
    assert trace.skipped == []
    # skipping everything restores the codes rather than describing nothing
    all_skip = PoseCaptioner("h36m17", random_skip=1.0, random_offsets=False, ripple=False).explain(t_pose())[0]
    assert all_skip.kept and all_skip.skipped == []


def test_random_offsets_change_values_but_can_be_switched_off():
    cap = PoseCaptioner("h36m17")
    noisy = cap.posecodes(np.stack([arms_down()] * 4), seed=0)
    exact = cap.posecodes(np.stack([arms_down()] * 4), random_offsets=False)
    assert not np.allclose(noisy.values, exact.values)
    assert np.all(np.abs(noisy.values - exact.values) <= cap.table.offsets + 1e-12)
    assert np.allclose(exact.values, exact.values[:1])
    assert np.allclose(PoseCaptioner("h36m17", random_offsets=False).posecodes(arms_down()).values, exact.values[:1])


def test_scale_thresholds_switch():
    small = arms_down() * 0.6  # a child-sized body: hands "close" only without scaling
    plain = PoseCaptioner("h36m17", random_offsets=False).posecodes(small)
    scaled = PoseCaptioner("h36m17", random_offsets=False, scale_thresholds=True).posecodes(small)
    name = "distance:left_hand-right_hand"
    assert plain.value_of(name)[0] < scaled.value_of(name)[0]
    assert plain.class_of(name) != scaled.class_of(name)


def test_captions_mention_the_pose():
    cap = PoseCaptioner("h36m17", random_skip=0.0)
    raised = cap.caption(np.stack([arms_raised()] * 6), seed=0)
    assert sum(("hand" in t) for t in raised) >= 5
    assert any(any(w in t for w in ("raised high", "lifted up high", "up in the air", "above")) for t in raised)
    kneel = cap.caption(np.stack([kneeling_on_left()] * 6), seed=0)
    assert any("kneeling on" in t and "left knee" in t for t in kneel)


def test_pair_instructions():
    cap = PoseCaptioner("h36m17", random_skip=0.0, random_offsets=False)
    a = np.stack([arms_down()] * 4)
    b = np.stack([arms_raised()] * 4)
    texts = cap.caption_pairs(a, b, seed=0)
    assert len(texts) == 4 and texts == cap.caption_pairs(a, b, seed=0)
    for t in texts:
        assert "hand" in t or "elbow" in t
        assert any(w in t.lower() for w in ("raise", "higher", "lift"))
    back = cap.caption_pairs(arms_raised(), arms_down(), seed=0)[0].lower()
    assert "lower" in back or "down" in back
    assert cap.caption_pairs(arms_down(), arms_down(), seed=0)[0] in (
        "Keep the same pose.", "Hold the pose as it is.", "No change is needed.")  # fmt: skip
    knee = cap.caption_pairs(arms_down(), kneeling_on_left(), seed=1)[0].lower()
    assert "bend" in knee and "knee" in knee


def test_pair_left_right_and_foot_policy():
    cap = PoseCaptioner("h36m17", random_skip=0.0, random_offsets=False)
    bent = arms_down().copy()
    bent[13] = bent[12] + (0.0, 0.0, 0.26)  # only the left elbow bends to 90°
    texts = cap.caption_pairs(np.stack([arms_down()] * 6), np.stack([bent] * 6), seed=0)
    assert all("left elbow" in t and "right elbow" not in t for t in texts)
    nofoot = PoseCaptioner("h36m17", foot="disable", random_skip=0.0)
    for t in nofoot.caption_pairs(np.stack([arms_down()] * 6), np.stack([kneeling_on_left()] * 6), seed=0):
        assert "foot" not in t and "feet" not in t


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(layout="coco17"), "unknown layout"),
        (dict(layout="ntu25"), "no captioning joint map"),
        (dict(foot="maybe"), "foot must be"),
        (dict(variant="iccv"), "variant must be"),
        (dict(random_skip=1.5), "random_skip"),
        (dict(random_skip=True), "random_skip"),
        (dict(ripple="yes"), "ripple must be"),
        (dict(simplified=None), "simplified must be"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        PoseCaptioner(**kwargs)


def test_bad_inputs():
    cap = PoseCaptioner("h36m17")
    with pytest.raises(DataError, match=r"\(N, 17, 3\)"):
        cap.caption(np.zeros((2, 22, 3)))
    with pytest.raises(DataError, match=r"\(N, 17, 3\)"):
        cap.caption(np.zeros((2, 17, 2)))
    with pytest.raises(DataError, match=r"\(N, 17, 3\)"):
        cap.posecodes(np.zeros((1, 1, 17, 3)))
    bad = np.stack([t_pose(), t_pose()])
    bad[1, 3, 0] = np.nan
    with pytest.raises(DataError, match="NaN or inf values in pose 1"):
        cap.caption(bad)
    with pytest.raises(DataError, match="float array"):
        cap.caption("not a pose")
    with pytest.raises(DataError, match="index must be 2"):
        cap.caption(np.stack([t_pose()] * 2), index=[0])
    with pytest.raises(DataError, match="index must be"):
        cap.caption(t_pose(), index=[-1])
    with pytest.raises(ConfigError, match="seed must be"):
        cap.caption(t_pose(), seed=-3)
    with pytest.raises(ConfigError, match="seed must be"):
        cap.caption(t_pose(), seed=1.5)
    with pytest.raises(DataError, match="same shape"):
        cap.caption_pairs(np.stack([t_pose()] * 2), t_pose())
    with pytest.raises(DataError, match="poses_b"):
        cap.caption_pairs(t_pose(), np.zeros((17, 2)))
