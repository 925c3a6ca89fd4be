"""Tests of the test-time corruptions of lifting windows (robustness suite)."""

import copy

import numpy as np
import pytest

from sic.data.camera import sample_cameras
from sic.data.corruptions import (
    CORRUPTIONS,
    Corruption,
    LiftingWindow,
    get_corruption,
    parse_suite,
)
from sic.data.skeleton import SkeletonLayout, get_layout
from sic.utils.errors import ConfigError

H36M = get_layout("h36m17")
SEED = 1234

# A standing h36m17 body in its canonical frame (left at +x, facing +z), metres, feet near the floor.
_TEMPLATE = np.array([
    [0.0, 0.95, 0.0], [-0.12, 0.92, 0.0], [-0.12, 0.5, 0.02], [-0.12, 0.08, 0.0], [0.12, 0.92, 0.0],
    [0.12, 0.5, 0.02], [0.12, 0.08, 0.0], [0.0, 1.2, 0.0], [0.0, 1.45, 0.0], [0.0, 1.55, 0.03],
    [0.0, 1.7, 0.0], [0.18, 1.45, 0.0], [0.2, 1.18, 0.0], [0.22, 0.92, 0.02], [-0.18, 1.45, 0.0],
    [-0.2, 1.18, 0.0], [-0.22, 0.92, 0.02],
])  # fmt: skip


def make_window(keys=(10, 11, 12, 13), frames=64, seed=0) -> LiftingWindow:
    """Small walking skeletons filmed by cameras from ``sample_cameras``, with exact projections as 2D."""
    keys = np.asarray(keys, dtype=np.int64)
    n, rng = len(keys), np.random.default_rng(seed)
    t = np.arange(frames) / 50.0
    heading = rng.uniform(0, 2 * np.pi, n)
    speed = rng.uniform(0.3, 1.0, n)
    c, s = np.cos(heading), np.sin(heading)
    rot = np.zeros((n, 3, 3))
    rot[:, 0, 0], rot[:, 0, 2], rot[:, 1, 1], rot[:, 2, 0], rot[:, 2, 2] = c, s, 1.0, -s, c
    body = np.broadcast_to(_TEMPLATE, (n, frames, 17, 3)).copy()
    swing = 0.15 * np.sin(2 * np.pi * 1.5 * t)  # arms swing forward and back along z
    body[:, :, [12, 13], 2] += swing[None, :, None]
    body[:, :, [15, 16], 2] -= swing[None, :, None]
    body[:, :, :, 1] += 0.02 * np.sin(2 * np.pi * 3 * t)[None, :, None]  # vertical bob
    poses = np.einsum("nij,ntkj->ntki", rot, body)
    forward = np.stack([s, np.zeros(n), c], axis=-1)  # (N, 3) the rotated +z
    poses += (speed[:, None, None] * t[None, :, None])[:, :, None, :] * forward[:, None, None, :]
    poses += rng.uniform(-1, 1, (n, 1, 1, 3)) * np.array([1.0, 0.0, 1.0])
    poses = poses.astype(np.float32)
    look_at = poses[:, :, 0].mean(axis=1)
    cams = sample_cameras(n, look_at, rng, keep_in_view=np.full(n, 1.0))
    uv = cams.project(poses)
    conf = rng.uniform(0.6, 1.0, (n, frames, 17, 1)).astype(np.float32)
    return LiftingWindow(
        poses3d=poses, poses2d=np.concatenate([uv, conf], axis=-1).astype(np.float32), cam_R=cams.R,
        cam_t=cams.t, cam_f=cams.f, cam_c=cams.c, cam_size=cams.size, keys=keys,
    )  # fmt: skip


def concat(*windows: LiftingWindow) -> LiftingWindow:
    fields = ("poses3d", "poses2d", "cam_R", "cam_t", "cam_f", "cam_c", "cam_size", "keys")
    return LiftingWindow(**{f: np.concatenate([getattr(w, f) for w in windows]) for f in fields})


def linear_window(frames=64) -> LiftingWindow:
    """A window whose 2D (u, v, confidence) is exactly linear in time."""
    w = make_window(frames=frames)
    t = np.arange(frames, dtype=np.float32)[None, :, None, None]
    start = w.poses2d[:, :1]
    slope = np.array([1.5, -0.75, -0.002], dtype=np.float32)
    return LiftingWindow(**{**vars(w), "poses2d": (start + slope * t).astype(np.float32)})


@pytest.fixture(scope="module")
def window() -> LiftingWindow:
    return make_window()


SUITE = [
    ("joint_occlusion", 0.3, {}), ("joint_occlusion", 0.2, {"fill": "center", "include_root": True}),
    ("limb_occlusion", 0.3, {}), ("frame_blackout", 5, {}), ("speed", 0.75, {}), ("speed", 2, {}),
    ("frame_drop", 0.3, {}), ("frame_drop", 0.1, {"fill": "hold", "score_filled": False}),
    ("jitter", 5, {"outlier_prob": 0.05}), ("left_right_swap", 0.5, {}), ("camera_height", 3.5, {}),
    ("camera_distance", 2.5, {}),
]  # fmt: skip


def corrupt(name, severity, window, num_frames=None, seed=SEED, layout=H36M, **options):
    return get_corruption(name, severity, **options).apply(window, num_frames or window.num_frames, seed, layout)


class TestWindow:
    def test_crop_and_cameras(self, window):
        cropped = window.crop(10)
        assert cropped.poses3d.shape == (4, 10, 17, 3) and cropped.poses2d.shape == (4, 10, 17, 3)
        np.testing.assert_array_equal(cropped.poses2d, window.poses2d[:, :10])
        assert not np.shares_memory(cropped.poses2d, window.poses2d)
        np.testing.assert_allclose(window.cameras().project(window.poses3d), window.poses2d[..., :2], atol=1e-3)
        with pytest.raises(ValueError, match="65 frames"):
            window.crop(65)

    def test_shape_errors_name_the_field(self, window):
        with pytest.raises(ValueError, match="cam_f"):
            LiftingWindow(**{**vars(window), "cam_f": np.ones((3, 2))})


class TestOutputs:
    @pytest.mark.parametrize(("name", "severity", "options"), SUITE)
    def test_shapes_dtypes_and_no_sharing(self, name, severity, options):
        w = make_window(frames=80)
        out = corrupt(name, severity, w, num_frames=32, **options)
        assert out.window.poses2d.shape == out.window.poses3d.shape == (4, 32, 17, 3)
        assert out.window.poses2d.dtype == out.window.poses3d.dtype == np.float32
        assert out.occluded.shape == (4, 32, 17) and out.occluded.dtype == bool
        assert out.scored.shape == (4, 32) and out.scored.dtype == bool
        np.testing.assert_array_equal(out.window.keys, w.keys)
        for field in ("poses3d", "poses2d", "cam_R", "cam_t"):
            assert not np.shares_memory(getattr(out.window, field), getattr(w, field)), field

    def test_inputs_are_not_modified(self, window):
        before = copy.deepcopy(window)
        for name, severity, options in SUITE:
            corrupt(name, severity, window, num_frames=31, **options)
        for field, value in vars(before).items():
            np.testing.assert_array_equal(getattr(window, field), value, err_msg=field)

    def test_same_key_same_corruption_in_any_batch(self):
        batch = make_window(keys=(10, 11, 12, 13), seed=0)
        others = make_window(keys=(50, 51), seed=7)
        regrouped = concat(others.select([1]), batch.select([2, 0]), others.select([0]))  # keys 51, 12, 10, 50
        for name, severity, options in SUITE:
            a = corrupt(name, severity, batch, num_frames=31, **options)
            b = corrupt(name, severity, regrouped, num_frames=31, **options)
            for ia, ib in ((2, 1), (0, 2)):
                for field in ("poses3d", "poses2d", "cam_R", "cam_t"):
                    np.testing.assert_array_equal(
                        getattr(a.window, field)[ia], getattr(b.window, field)[ib], err_msg=f"{name} {field}"
                    )
                np.testing.assert_array_equal(a.occluded[ia], b.occluded[ib], err_msg=name)
                np.testing.assert_array_equal(a.scored[ia], b.scored[ib], err_msg=name)

    def test_seed_changes_the_draws(self, window):
        a = corrupt("joint_occlusion", 0.3, window, seed=1)
        b = corrupt("joint_occlusion", 0.3, window, seed=2)
        assert (a.occluded != b.occluded).any()
        np.testing.assert_array_equal(a.occluded, corrupt("joint_occlusion", 0.3, window, seed=1).occluded)


class TestJointOcclusion:
    def test_exact_count_fill_and_confidence(self, window):
        out = corrupt("joint_occlusion", 0.3, window)
        hidden = out.occluded
        assert (hidden.sum(-1) == round(0.3 * 17)).all()  # 5 joints in every frame of every sample
        assert not hidden[..., H36M.root].any()
        p2, original = out.window.poses2d, window.poses2d
        assert (p2[..., 2][hidden] == 0).all()
        root_uv = np.broadcast_to(original[:, :, :1, :2], p2[..., :2].shape)
        np.testing.assert_array_equal(p2[..., :2][hidden], root_uv[hidden])
        np.testing.assert_array_equal(p2[~hidden], original[~hidden])
        np.testing.assert_array_equal(out.window.poses3d, window.poses3d)
        assert out.scored.all()
        # Drawn per frame: the hidden set changes over time.
        assert len({tuple(np.flatnonzero(m)) for m in hidden[0]}) > 10

    def test_center_fill_and_root_option(self, window):
        out = corrupt("joint_occlusion", 0.5, window, fill="center", include_root=True)
        hidden = out.occluded
        assert (hidden.sum(-1) == 8).all()  # round(8.5) = 8
        assert hidden[..., H36M.root].any()
        centre = np.broadcast_to((window.cam_size / 2)[:, None, None, :], (*hidden.shape, 2))
        np.testing.assert_allclose(out.window.poses2d[..., :2][hidden], centre[hidden])

    def test_lower_rates_hide_a_subset(self, window):
        low = corrupt("joint_occlusion", 0.1, window).occluded
        high = corrupt("joint_occlusion", 0.3, window).occluded
        assert (low.sum(-1) == 2).all() and not (low & ~high).any()


class TestLimbOcclusion:
    def test_one_part_over_a_contiguous_block(self):
        w = make_window(keys=range(40), frames=50)
        out = corrupt("limb_occlusion", 0.3, w)
        parts = {tuple(sorted(v)) for v in H36M.body_parts.values()}
        seen = set()
        for n in range(len(w)):
            frames = np.flatnonzero(out.occluded[n].any(-1))
            assert len(frames) == 15 and (np.diff(frames) == 1).all()  # round(0.3 * 50) contiguous frames
            joints = tuple(np.flatnonzero(out.occluded[n, frames[0]]))
            assert joints in parts
            assert (out.occluded[n, frames] == out.occluded[n, frames[0]]).all()
            seen.add(joints)
            assert (out.window.poses2d[n][out.occluded[n]][:, 2] == 0).all()
            np.testing.assert_array_equal(out.window.poses2d[n][~out.occluded[n]], w.poses2d[n][~out.occluded[n]])
        assert len(seen) >= 4  # the part is drawn per sample
        starts = {int(np.flatnonzero(out.occluded[n].any(-1))[0]) for n in range(len(w))}
        assert len(starts) > 5

    def test_fixed_part_and_errors(self, window):
        out = corrupt("limb_occlusion", 1.0, window, part="right_arm")
        expected = np.zeros(17, dtype=bool)
        expected[[14, 15, 16]] = True
        assert (out.occluded == expected).all()
        with pytest.raises(ConfigError, match=r"no body part 'tail'.*left_arm"):
            corrupt("limb_occlusion", 0.3, window, part="tail")


class TestFrameBlackout:
    def test_k_consecutive_frames(self):
        w = make_window(keys=range(20), frames=40)
        out = corrupt("frame_blackout", 7, w)
        for n in range(len(w)):
            frames = np.flatnonzero(out.occluded[n].all(-1))
            assert len(frames) == 7 and (np.diff(frames) == 1).all()
            assert out.occluded[n].sum() == 7 * 17
            assert (out.window.poses2d[n, frames, :, 2] == 0).all()
            np.testing.assert_array_equal(
                out.window.poses2d[n, frames, :, :2], np.broadcast_to(w.poses2d[n, frames, :1, :2], (7, 17, 2))
            )
        with pytest.raises(ConfigError, match="cannot black out 41 frames"):
            corrupt("frame_blackout", 41, w)


class TestSpeed:
    def test_double_speed_reads_every_other_frame(self, window):
        corruption = get_corruption("speed", 2)
        assert corruption.frames_needed(32) == 63
        out = corruption.apply(window, 32, SEED, H36M)
        np.testing.assert_array_equal(out.window.poses2d, window.poses2d[:, 0:63:2])
        np.testing.assert_array_equal(out.window.poses3d, window.poses3d[:, 0:63:2])
        np.testing.assert_array_equal(out.window.cam_R, window.cam_R)
        assert not out.occluded.any() and out.scored.all()

    def test_half_speed_interpolates(self, window):
        corruption = get_corruption("speed", 0.5)
        assert corruption.frames_needed(64) == 32
        out = corruption.apply(window, 64, SEED, H36M)
        for field in ("poses2d", "poses3d"):
            raw, res = getattr(window, field), getattr(out.window, field)
            np.testing.assert_array_equal(res[:, 0::2], raw[:, :32])
            np.testing.assert_allclose(res[:, 1:-1:2], (raw[:, :31] + raw[:, 1:32]) / 2, rtol=0, atol=1e-5)

    def test_frames_needed_for_fractional_factors(self):
        assert get_corruption("speed", 0.75).frames_needed(243) == 182  # 242 * 0.75 = 181.5
        assert get_corruption("speed", 1.5).frames_needed(243) == 364
        assert get_corruption("jitter", 1).frames_needed(243) == 243


class TestFrameDrop:
    def test_linear_fill_reproduces_linear_input(self):
        w = linear_window()
        out = corrupt("frame_drop", 0.3, w)
        dropped = out.occluded.all(-1)
        assert (dropped.sum(-1) == round(0.3 * 64)).all() and not dropped[:, 0].any()
        assert (out.occluded.any(-1) == dropped).all()
        for n in range(len(w)):
            last_kept = np.flatnonzero(~dropped[n])[-1]
            np.testing.assert_allclose(out.window.poses2d[n, : last_kept + 1], w.poses2d[n, : last_kept + 1],
                                       rtol=0, atol=2e-3)  # fmt: skip
            # After the last kept frame the fill holds it (no extrapolation).
            np.testing.assert_array_equal(out.window.poses2d[n, last_kept:], np.broadcast_to(
                w.poses2d[n, last_kept], out.window.poses2d[n, last_kept:].shape))  # fmt: skip
        np.testing.assert_array_equal(out.window.poses3d, w.poses3d)
        assert out.scored.all()

    def test_hold_repeats_the_last_kept_frame(self, window):
        out = corrupt("frame_drop", 0.3, window, fill="hold", score_filled=False)
        dropped = out.occluded.all(-1)
        np.testing.assert_array_equal(out.scored, ~dropped)
        for n in range(len(window)):
            for t in range(64):
                source = t if not dropped[n, t] else np.flatnonzero(~dropped[n, :t])[-1]
                np.testing.assert_array_equal(out.window.poses2d[n, t], window.poses2d[n, source])

    def test_same_drops_for_both_fills(self, window):
        a = corrupt("frame_drop", 0.1, window, fill="hold")
        b = corrupt("frame_drop", 0.1, window)
        np.testing.assert_array_equal(a.occluded, b.occluded)
        assert (a.occluded.all(-1).sum(-1) == 6).all()  # round(6.4)


class TestJitter:
    def test_noise_level_and_whiteness(self, window):
        out = corrupt("jitter", 5.0, window)
        err = (out.window.poses2d[..., :2] - window.poses2d[..., :2]).astype(np.float64)
        # 4 * 64 * 17 * 2 = 8704 draws: the sample std is within ~0.8 % of sigma (1 s.d.).
        assert abs(err.std() - 5.0) < 0.25 and abs(err.mean()) < 0.25
        lag1 = np.corrcoef(err[:, 1:].ravel(), err[:, :-1].ravel())[0, 1]
        assert abs(lag1) < 0.05  # white in time, unlike simulate_detections' smoothed noise
        expected = window.poses2d[..., 2] * np.exp(-np.linalg.norm(err, axis=-1) / 25.0)
        np.testing.assert_allclose(out.window.poses2d[..., 2], expected, rtol=1e-4)
        assert not out.occluded.any()
        np.testing.assert_array_equal(out.window.poses3d, window.poses3d)

    def test_zero_sigma_is_identity_and_confidence_option(self, window):
        out = corrupt("jitter", 0, window)
        np.testing.assert_array_equal(out.window.poses2d, window.poses2d)
        kept = corrupt("jitter", 3, window, lower_confidence=False)
        np.testing.assert_array_equal(kept.window.poses2d[..., 2], window.poses2d[..., 2])

    def test_outliers(self, window):
        out = corrupt("jitter", 2.0, window, outlier_prob=0.1)
        err = np.linalg.norm(out.window.poses2d[..., :2] - window.poses2d[..., :2], axis=-1)
        rate = out.occluded.mean()
        assert 0.08 < rate < 0.12
        assert (err[out.occluded] >= 50 - 1e-3).all() and (err[out.occluded] <= 150 + 1e-3).all()
        assert err[~out.occluded].max() < 20  # 2 px Gaussian never reaches 50 px
        assert err[out.occluded].std() > 20  # magnitudes are spread over 50-150 px


class TestLeftRightSwap:
    def test_swapped_frames_hold_the_partner(self, window):
        out = corrupt("left_right_swap", 0.5, window)
        perm = H36M.flip_permutation
        swapped = out.occluded.any(-1)
        assert 0.3 < swapped.mean() < 0.7
        p2 = out.window.poses2d
        np.testing.assert_array_equal(p2[swapped], window.poses2d[:, :, perm][swapped])
        np.testing.assert_array_equal(p2[~swapped], window.poses2d[~swapped])
        paired = np.zeros(17, dtype=bool)
        paired[np.array(H36M.flip_pairs).ravel()] = True
        assert (out.occluded[swapped] == paired).all()
        np.testing.assert_array_equal(out.window.poses3d, window.poses3d)

    def test_twice_swapped_is_original_and_full_probability(self, window):
        once = corrupt("left_right_swap", 0.5, window)
        twice = corrupt("left_right_swap", 0.5, once.window)
        np.testing.assert_array_equal(twice.window.poses2d, window.poses2d)
        always = corrupt("left_right_swap", 1.0, window)
        np.testing.assert_array_equal(always.window.poses2d, window.poses2d[:, :, H36M.flip_permutation])

    def test_layout_without_pairs(self, window):
        chain = SkeletonLayout(name="chain17", names=tuple(f"j{i}" for i in range(17)), parents=(-1, *range(16)))
        with pytest.raises(ConfigError, match="no left/right pairs"):
            corrupt("left_right_swap", 0.5, window, layout=chain)


def motion_centre(poses, root=0):
    xz = poses[:, :, root][..., [0, 2]]
    mid = (xz.min(1) + xz.max(1)) / 2
    y = (poses[..., 1].max(axis=(1, 2)) + poses[..., 1].min(axis=(1, 2))) / 2
    return np.stack([mid[:, 0], y, mid[:, 1]], axis=-1)


class TestCameraShift:
    @pytest.mark.parametrize("height", [0.3, 3.5])
    def test_height_and_consistent_projection(self, window, height):
        clean = corrupt("camera_height", height, window, noise=False)
        cams = clean.window.cameras()
        np.testing.assert_allclose(cams.centers[:, 1], height, atol=1e-9)
        np.testing.assert_array_equal(cams.f, window.cam_f)
        np.testing.assert_array_equal(cams.c, window.cam_c)
        np.testing.assert_array_equal(cams.size, window.cam_size)
        np.testing.assert_array_equal(clean.window.poses3d, window.poses3d)
        np.testing.assert_allclose(cams.project(window.poses3d), clean.window.poses2d[..., :2], atol=1e-3)
        assert (clean.window.poses2d[..., 2] == 1).all() and not clean.occluded.any()
        # Aimed at the motion centre: it lands on the principal point.
        uv = cams.project(motion_centre(window.poses3d.astype(np.float64))[:, None, :])[:, 0]
        np.testing.assert_allclose(uv, window.cam_c, atol=1e-6)
        # The noisy path uses the same camera and only adds detector noise to the exact projection.
        noisy = corrupt("camera_height", height, window)
        np.testing.assert_array_equal(noisy.window.cam_R, clean.window.cam_R)
        err = np.linalg.norm(noisy.window.poses2d[..., :2] - clean.window.poses2d[..., :2], axis=-1)
        assert 0.5 < np.median(err) < 8 and (noisy.window.poses2d[..., 2] < 1).all()

    def test_distance_and_random_azimuth(self, window):
        out = corrupt("camera_distance", 9.0, window, noise=False)
        cams = out.window.cameras()
        centre = motion_centre(window.poses3d.astype(np.float64))
        np.testing.assert_allclose(np.linalg.norm(cams.centers - centre, axis=-1), 9.0, rtol=1e-6)
        assert cams.centers[:, 1].min() >= 0.8 and cams.centers[:, 1].max() <= 2.0
        np.testing.assert_allclose(cams.project(window.poses3d), out.window.poses2d[..., :2], atol=1e-3)
        azimuth = np.arctan2(*(cams.centers - centre)[:, [0, 2]].T)
        assert np.ptp(azimuth) > 0.1
        assert not np.allclose(cams.centers, window.cameras().centers, atol=0.5)

    def test_joints_at_the_camera_are_hidden(self):
        w = make_window(keys=range(8), frames=200)  # long walks pass a camera 0.8 m from their centre
        out = corrupt("camera_distance", 0.8, w, noise=False)
        depth = out.window.cameras().world_to_camera(w.poses3d.astype(np.float64))[..., 2]
        np.testing.assert_array_equal(out.occluded, depth < 0.1)
        assert out.occluded.any()
        assert (out.window.poses2d[..., 2][out.occluded] == 0).all()


class TestRegistryAndErrors:
    def test_registry_and_labels(self):
        assert set(CORRUPTIONS) == {
            "joint_occlusion", "limb_occlusion", "frame_blackout", "speed", "frame_drop", "jitter",
            "left_right_swap", "camera_height", "camera_distance",
        }  # fmt: skip
        assert all(issubclass(cls, Corruption) and cls.__doc__ for cls in CORRUPTIONS.values())
        assert get_corruption("joint_occlusion", 0.3).label == "joint_occlusion@0.3"
        assert get_corruption("frame_blackout", 10.0).label == "frame_blackout@10"
        assert get_corruption("frame_drop", 0.3, fill="hold").label == "frame_drop@0.3,fill=hold"
        assert get_corruption("frame_drop", 0.3, fill="linear").label == "frame_drop@0.3"
        assert all("/" not in get_corruption(n, s, **o).label for n, s, o in SUITE)

    def test_unknown_name_lists_known(self):
        with pytest.raises(ConfigError, match=r"unknown corruption 'blur'.*joint_occlusion.*camera_distance"):
            get_corruption("blur", 1.0)

    @pytest.mark.parametrize(
        ("name", "severity", "expected"),
        [
            ("joint_occlusion", 0.0, r"\(0, 1\)"), ("joint_occlusion", 1.0, r"\(0, 1\)"),
            ("limb_occlusion", 1.5, r"\(0, 1\]"), ("frame_blackout", 0, ">= 1"), ("frame_blackout", 2.5, "integer"),
            ("speed", 0.0, "> 0"), ("speed", -1.0, "> 0"), ("frame_drop", 1.0, r"\(0, 1\)"),
            ("jitter", -1.0, ">= 0"), ("jitter", float("nan"), ">= 0"), ("left_right_swap", 0.0, r"\(0, 1\]"),
            ("camera_height", 0.0, "> 0"), ("camera_distance", float("inf"), "> 0"), ("jitter", "big", ">= 0"),
        ],
    )  # fmt: skip
    def test_bad_severity_names_corruption_and_range(self, name, severity, expected):
        with pytest.raises(ConfigError, match=rf"^{name}: severity must be .*{expected}"):
            get_corruption(name, severity)

    def test_bad_options(self):
        with pytest.raises(ConfigError, match=r"unknown option.*colour.*known options: fill, include_root"):
            get_corruption("joint_occlusion", 0.3, colour="red")
        with pytest.raises(ConfigError, match="fill='zero' must be one of: root, center"):
            get_corruption("joint_occlusion", 0.3, fill="zero")
        with pytest.raises(ConfigError, match="fill='root' must be one of: linear, hold"):
            get_corruption("frame_drop", 0.3, fill="root")
        with pytest.raises(ConfigError, match="outlier_prob"):
            get_corruption("jitter", 1.0, outlier_prob=2.0)

    def test_too_short_window_says_needed_and_got(self, window):
        with pytest.raises(ConfigError, match="at least 127 frames for 64 output frames, got 64"):
            corrupt("speed", 2, window, num_frames=64)
        with pytest.raises(ConfigError, match=r"at least 65 frames .* got 64"):
            corrupt("jitter", 1, window, num_frames=65)
        corrupt("speed", 2, window, num_frames=32)  # 63 raw frames are enough

    def test_layout_mismatch(self, window):
        with pytest.raises(ValueError, match="17 joints but layout 'smpl24' has 24"):
            corrupt("jitter", 1, window, layout=get_layout("smpl24"))


class TestParseSuite:
    def test_mapping_form(self):
        suite = parse_suite({"joint_occlusion": [0.1, 0.3], "jitter": [2, 5], "speed": 2})
        assert [c.label for c in suite] == [
            "joint_occlusion@0.1", "joint_occlusion@0.3", "jitter@2", "jitter@5", "speed@2",
        ]  # fmt: skip

    def test_list_form_with_options(self):
        suite = parse_suite([
            {"name": "frame_drop", "severity": 0.3, "fill": "hold"},
            {"name": "frame_drop", "severity": 0.3},
            {"name": "limb_occlusion", "severity": 0.5, "part": "left_leg"},
        ])  # fmt: skip
        assert [c.label for c in suite] == ["frame_drop@0.3,fill=hold", "frame_drop@0.3",
                                            "limb_occlusion@0.5,part=left_leg"]  # fmt: skip
        assert suite[0].options == {"fill": "hold", "score_filled": True}

    def test_errors(self):
        with pytest.raises(ConfigError, match="duplicate settings jitter@2"):
            parse_suite({"jitter": [2, 2.0]})
        with pytest.raises(ConfigError, match="entry 0: expected a mapping with name and severity"):
            parse_suite([{"name": "jitter"}])
        with pytest.raises(ConfigError, match="'jitter' needs a list of severities"):
            parse_suite({"jitter": "2"})
        with pytest.raises(ConfigError, match="unknown corruption 'fog'"):
            parse_suite({"fog": [1]})
        with pytest.raises(ConfigError, match="severity must be"):
            parse_suite([{"name": "speed", "severity": 0}])
        with pytest.raises(ConfigError, match="expected a mapping or a list"):
            parse_suite("jitter")
