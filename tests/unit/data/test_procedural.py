"""Tests of the procedural motion source: determinism, physical plausibility, meaningful labels, errors."""

import numpy as np
import pytest

from sic.data.camera import Cameras
from sic.data.skeleton import get_layout
from sic.data.sources.procedural import (
    ACTION_NAMES,
    ACTIONS,
    NATIVE_FPS,
    SPLITS,
    ActionSpec,
    ProceduralMotion,
    action_index,
    resample,
    split_subjects,
)

LAYOUT = get_layout("h36m17")
HEAD, THORAX, L_WRIST, R_WRIST = (LAYOUT.index(n) for n in ("Head", "Thorax", "LWrist", "RWrist"))
ANKLES = [LAYOUT.index("RAnkle"), LAYOUT.index("LAnkle")]
AIRBORNE_ACTIONS = {"jump", "jumping_jacks", "run"}  # actions with flight phases
EXPECTED_ACTIONS = (
    "walk", "run", "jump", "squat", "wave_left_hand", "wave_right_hand", "punch", "kick", "bow", "clap",
    "reach_up", "sit_down", "stand_up", "turn_around", "throw", "jumping_jacks", "bend_pick_up",
)  # fmt: skip


@pytest.fixture(scope="module")
def generator():
    return ProceduralMotion(seed=0)


@pytest.fixture(scope="module")
def clips(generator):
    """12 clips of every action, 3 s at 50 fps, with 2D."""
    return generator.generate(12 * len(ACTION_NAMES), 150)


def of(clips, action):
    return clips["poses3d"][clips["labels"] == action_index(action)].astype(np.float64)


def path_length(x):
    """Summed frame-to-frame displacement (N, T, 3) -> (N,)."""
    return np.linalg.norm(np.diff(x, axis=1), axis=-1).sum(axis=1)


class TestActions:
    def test_classes_in_order_with_metadata(self):
        assert ACTION_NAMES == EXPECTED_ACTIONS
        for spec in ACTIONS:
            assert isinstance(spec, ActionSpec)
            assert len(spec.descriptions) >= 3 and all(d and isinstance(d, str) for d in spec.descriptions)
            assert spec.environment and spec.used_object and spec.target_object and spec.body_parts
        assert ACTIONS[action_index("throw")].used_object == "ball"

    def test_action_spec_is_frozen(self):
        with pytest.raises(AttributeError):
            ACTIONS[0].name = "crawl"

    def test_unknown_action_lists_valid_names(self):
        assert action_index("clap") == 9
        with pytest.raises(KeyError, match="valid names: walk, run"):
            action_index("moonwalk")


class TestSplits:
    def test_default_split(self):
        assert SPLITS == {"train": tuple(range(1, 9)), "val": (9, 10), "test": (11, 12)}
        assert split_subjects(12) == SPLITS

    @pytest.mark.parametrize("n", [3, 5, 12, 30])
    def test_splits_are_disjoint_and_cover_all_subjects(self, n):
        s = split_subjects(n)
        ids = s["train"] + s["val"] + s["test"]
        assert sorted(ids) == list(range(1, n + 1)) and all(len(v) >= 1 for v in s.values())

    def test_generated_splits_use_disjoint_subjects(self, generator):
        used = {split: set(generator.generate(300, 2, split=split, with_2d=False)["subjects"].tolist())
                for split in ("train", "val", "test")}  # fmt: skip
        for split, subjects in used.items():
            assert subjects == set(SPLITS[split])  # every subject of the split appears, and no other
        assert not (used["train"] & used["val"] or used["train"] & used["test"] or used["val"] & used["test"])

    def test_actions_are_balanced(self, generator):
        labels = generator.generate(100, 2, with_2d=False)["labels"]
        counts = np.bincount(labels, minlength=len(ACTIONS))
        assert counts.max() - counts.min() <= 1
        labels = generator.generate(9, 2, actions=["kick", "bow", "kick"], with_2d=False)["labels"]
        assert sorted(set(labels.tolist())) == [action_index("kick"), action_index("bow")]
        assert (labels == action_index("kick")).sum() == 6


class TestDeterminism:
    def test_same_seed_same_arrays(self):
        a = ProceduralMotion(seed=7).generate(40, 20)
        b = ProceduralMotion(seed=7).generate(40, 20)
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)

    def test_different_seed_different_motion(self):
        a = ProceduralMotion(seed=7).generate(40, 20)
        b = ProceduralMotion(seed=8).generate(40, 20)
        assert np.abs(a["poses3d"] - b["poses3d"]).mean() > 0.05
        assert not np.array_equal(a["poses2d"], b["poses2d"])

    def test_chunked_equals_unchunked(self, generator):
        a = generator.generate(600, 12, chunk=1)
        b = generator.generate(600, 12, chunk=100_000)
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)

    def test_clips_do_not_depend_on_how_many_are_requested(self, generator):
        short = generator.generate(70, 10, split="val")
        long = generator.generate(300, 10, split="val")
        for key in short:
            np.testing.assert_array_equal(short[key], long[key][:70], err_msg=key)

    def test_dtypes_and_shapes(self, clips):
        n = len(clips["labels"])
        expected = {"poses3d": (n, 150, 17, 3), "poses2d": (n, 150, 17, 3), "cam_R": (n, 3, 3), "cam_t": (n, 3),
                    "cam_f": (n, 2), "cam_c": (n, 2), "cam_size": (n, 2)}  # fmt: skip
        for key, shape in expected.items():
            assert clips[key].shape == shape and clips[key].dtype == np.float32, key
        assert clips["labels"].dtype == clips["subjects"].dtype == np.int64
        assert np.isfinite(clips["poses3d"]).all() and np.isfinite(clips["poses2d"]).all()


class TestBodies:
    def test_bone_lengths_constant_within_clips(self, clips):
        x = clips["poses3d"].astype(np.float64)
        bones = np.linalg.norm(x[:, :, LAYOUT.bones[:, 1]] - x[:, :, LAYOUT.bones[:, 0]], axis=-1)
        assert (bones.max(axis=1) - bones.min(axis=1)).max() < 1e-4

    def test_bone_lengths_differ_between_subjects(self, clips):
        x = clips["poses3d"][:, 0].astype(np.float64)
        bones = np.linalg.norm(x[:, LAYOUT.bones[:, 1]] - x[:, LAYOUT.bones[:, 0]], axis=-1)
        per_subject = {s: bones[clips["subjects"] == s][0] for s in np.unique(clips["subjects"])}
        assert len(per_subject) == 8
        for s, b in per_subject.items():
            for s2, b2 in per_subject.items():
                if s < s2:
                    assert np.abs(b - b2).max() > 0.005, (s, s2)

    def test_bodies_are_a_function_of_seed_and_subject(self):
        a, b, c = ProceduralMotion(seed=1), ProceduralMotion(seed=1, num_subjects=20), ProceduralMotion(seed=2)
        np.testing.assert_array_equal(a.body(3).offsets, b.body(3).offsets)
        assert a.body(3).height != c.body(3).height
        assert all(1.55 <= a.body(s).height <= 1.90 for s in range(1, 13))
        with pytest.raises(KeyError, match="subject"):
            a.body(13)


class TestPhysicalPlausibility:
    def test_nothing_below_the_ground(self, clips):
        assert clips["poses3d"][..., 1].min() > -0.02

    def test_lowest_ankle_at_ankle_height_when_not_airborne(self, clips):
        for action in ACTION_NAMES:
            if action in AIRBORNE_ACTIONS:
                continue
            lowest = of(clips, action)[:, :, ANKLES, 1].min(axis=-1)
            assert 0.07 <= lowest.min() and lowest.max() <= 0.10, action

    def test_jumps_leave_the_ground(self, clips):
        for action, height in (("jump", 0.1), ("jumping_jacks", 0.03)):
            lowest = of(clips, action)[:, :, ANKLES, 1].min(axis=-1)
            assert (lowest.max(axis=1) - lowest.min(axis=1) > height).all(), action  # every clip has a flight
            assert (lowest.min(axis=1) < 0.10).all(), action  # and lands

    def test_standing_height(self, clips):
        for action in ("clap", "wave_left_hand", "punch", "throw"):
            x = of(clips, action)[:, 0]
            height = x[:, HEAD, 1] - x[:, ANKLES, 1].min(axis=-1)
            assert ((1.4 <= height) & (height <= 2.0)).all(), action

    def test_root_speeds_in_human_range(self, clips):
        def mean_speed(action):
            root = of(clips, action)[:, :, 0, [0, 2]]
            return np.linalg.norm(np.diff(root, axis=1), axis=-1).mean(axis=1) * NATIVE_FPS

        assert ((0.8 <= mean_speed("walk")) & (mean_speed("walk") <= 2.0)).all()
        assert ((2.0 <= mean_speed("run")) & (mean_speed("run") <= 5.0)).all()
        for action in ("clap", "wave_right_hand", "bow", "turn_around"):
            assert (mean_speed(action) < 0.4).all(), action

    def test_no_joint_moves_faster_than_12_m_per_s(self, clips):
        speed = np.linalg.norm(np.diff(clips["poses3d"].astype(np.float64), axis=1), axis=-1) * NATIVE_FPS
        assert speed.max() < 12.0


class TestLabelsMeanSomething:
    @pytest.mark.parametrize(("action", "moving", "still"), [
        ("wave_left_hand", L_WRIST, R_WRIST), ("wave_right_hand", R_WRIST, L_WRIST),
    ])  # fmt: skip
    def test_wave_moves_the_named_hand(self, clips, action, moving, still):
        x = of(clips, action)
        body = x[:, :, [THORAX]]  # measure hand motion relative to the chest, not the whole body's sway
        assert (path_length(x[:, :, moving] - body[:, :, 0]) > 3.0 * path_length(x[:, :, still] - body[:, :, 0])).all()
        assert (x[:, :, moving, 1].mean(axis=1) > x[:, :, HEAD, 1].mean(axis=1) - 0.2).all()  # hand is raised

    def test_sit_down_lowers_and_stand_up_raises_the_pelvis(self, clips):
        sit, stand = of(clips, "sit_down")[:, :, 0, 1], of(clips, "stand_up")[:, :, 0, 1]
        assert (sit[:, -1] < sit[:, 0] - 0.2).all() and (sit[:, -1] < 0.65).all()
        assert (stand[:, -1] > stand[:, 0] + 0.2).all()

    def test_squat_and_bend_lower_the_pelvis(self, clips):
        for action, depth in (("squat", 0.2), ("bend_pick_up", 0.1)):
            pelvis = of(clips, action)[:, :, 0, 1]
            assert (pelvis.max(axis=1) - pelvis.min(axis=1) > depth).all(), action

    def test_turn_around_reverses_the_heading(self, clips):
        x = of(clips, "turn_around")
        left = x[:, :, LAYOUT.index("LHip"), [0, 2]] - x[:, :, LAYOUT.index("RHip"), [0, 2]]
        first, last = left[:, 0] / np.linalg.norm(left[:, 0], axis=-1, keepdims=True), left[:, -1]
        cos = (first * last).sum(-1) / np.linalg.norm(last, axis=-1)
        # The turn may be under way at the first frame (so that short clips show it), hence 120, not 180.
        assert (cos < np.cos(np.radians(120))).all()

    def test_reach_up_raises_both_hands_above_the_head(self, clips):
        x = of(clips, "reach_up")
        above = x[:, :, [L_WRIST, R_WRIST], 1].min(axis=-1) - x[:, :, HEAD, 1]
        assert (above.max(axis=1) > 0.1).all()

    def test_walkers_move_along_their_random_heading(self, clips):
        root = of(clips, "walk")[:, :, 0, [0, 2]]
        direction = root[:, -1] - root[:, 0]
        angles = np.arctan2(direction[:, 0], direction[:, 1])
        assert np.ptp(angles) > np.pi / 2  # headings vary between clips


class TestFrameRate:
    def test_half_rate_samples_the_same_motion(self, generator):
        slow = generator.generate(40, 16, fps=25.0, with_2d=False)["poses3d"]
        fast = generator.generate(40, 32, fps=50.0, with_2d=False)["poses3d"]
        np.testing.assert_allclose(slow, fast[:, ::2], atol=1e-5)

    def test_resample_matches_generation_at_the_target_rate(self, generator):
        fast = generator.generate(20, 31, fps=50.0, with_2d=False)["poses3d"]
        slow = generator.generate(20, 16, fps=25.0, with_2d=False)["poses3d"]
        np.testing.assert_allclose(resample(fast, 50.0, 25.0), slow, atol=1e-5)

    def test_resample_hand_computed(self):
        x = np.array([0.0, 10.0, 20.0, 40.0]).reshape(1, 4, 1, 1)  # (N, T, J, C) at 2 fps
        out = resample(x, src_fps=2.0, dst_fps=3.0)
        assert out.shape == (1, 5, 1, 1)  # floor(3 * 3 / 2) + 1
        # Output frame k sits at source position 2k/3: 0, 2/3, 4/3, 2, 8/3.
        np.testing.assert_allclose(out.ravel(), [0.0, 20 / 3, 40 / 3, 20.0, 20 + 20 * 2 / 3])
        np.testing.assert_allclose(resample(x, 2.0, 1.0).ravel(), [0.0, 20.0])
        assert resample(np.ones((2, 1, 3)), 50.0, 30.0).shape == (2, 1, 3)
        np.testing.assert_array_equal(resample(x[0, :, 0, 0], 2.0, 2.0, axis=0), x.ravel())

    @pytest.mark.parametrize(("kwargs", "match"), [
        ({"src_fps": 0.0, "dst_fps": 25.0}, "src_fps"), ({"src_fps": 50.0, "dst_fps": -1.0}, "dst_fps"),
    ])  # fmt: skip
    def test_resample_rejects_bad_rates(self, kwargs, match):
        with pytest.raises(ValueError, match=match):
            resample(np.zeros((1, 4, 17, 3)), **kwargs)

    def test_resample_rejects_empty_sequences(self):
        with pytest.raises(ValueError, match="at least one frame"):
            resample(np.zeros((1, 0, 17, 3)), 50.0, 25.0)


class TestCameras:
    def test_subjects_in_front_and_inside_the_image(self, clips):
        cams = Cameras(clips["cam_R"], clips["cam_t"], clips["cam_f"], clips["cam_c"], clips["cam_size"])
        x = clips["poses3d"].astype(np.float64)
        assert cams.world_to_camera(x)[..., 2].min() > 0.5
        uv = cams.project(x)
        inside = ((uv >= 0) & (uv <= clips["cam_size"][:, None, None, :])).all(axis=-1)
        assert inside.mean() > 0.98 and inside.mean(axis=(1, 2)).min() > 0.9
        np.testing.assert_allclose(clips["cam_size"], 1000.0)

    def test_detections_are_noisy_projections(self, clips):
        cams = Cameras(clips["cam_R"], clips["cam_t"], clips["cam_f"], clips["cam_c"], clips["cam_size"])
        error = np.linalg.norm(clips["poses2d"][..., :2] - cams.project(clips["poses3d"].astype(np.float64)), axis=-1)
        assert 1.0 < np.median(error) < 8.0  # detector noise, not garbage and not exact
        conf = clips["poses2d"][..., 2]
        assert conf.min() > 0.0 and conf.max() <= 1.0
        assert conf[error > 20].mean() < conf[error < 5].mean()


class TestErrors:
    @pytest.mark.parametrize(("kwargs", "match"), [
        ({"num_clips": 0}, "num_clips"), ({"num_frames": 0}, "num_frames"), ({"num_clips": 2.5}, "num_clips"),
        ({"fps": 0.0}, "fps"), ({"fps": -25.0}, "fps"), ({"split": "dev"}, "split"), ({"actions": []}, "actions"),
        ({"chunk": 0}, "chunk"),
    ])  # fmt: skip
    def test_bad_arguments_raise_value_error(self, generator, kwargs, match):
        args = {"num_clips": 2, "num_frames": 4, **kwargs}
        with pytest.raises(ValueError, match=match):
            generator.generate(**args)

    def test_unknown_action_raises_key_error(self, generator):
        with pytest.raises(KeyError, match="actions.*'fly'.*valid names"):
            generator.generate(2, 4, actions=["walk", "fly"])

    def test_bad_constructor_arguments(self):
        with pytest.raises(ValueError, match="seed"):
            ProceduralMotion(seed=-1)
        with pytest.raises(ValueError, match="num_subjects"):
            ProceduralMotion(num_subjects=2)
