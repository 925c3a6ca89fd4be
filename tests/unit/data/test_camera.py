"""Tests of the virtual pinhole cameras, simulated detections and screen normalisation."""

import numpy as np
import pytest

from sic.data.camera import (
    Cameras,
    denormalize_screen,
    look_at_rotation,
    normalize_screen,
    sample_cameras,
    simulate_detections,
)


def camera_at(eye, target, f=1150.0, c=(500.0, 500.0)):
    eye, target = np.atleast_2d(eye).astype(float), np.atleast_2d(target).astype(float)
    R = look_at_rotation(eye, target)
    t = -np.einsum("nij,nj->ni", R, eye)
    n = len(eye)
    return Cameras(R=R, t=t, f=np.full((n, 2), f), c=np.tile(c, (n, 1)), size=np.full((n, 2), 1000.0))


class TestProjection:
    def test_known_point_matches_hand_computation(self):
        # Camera 4 m behind the origin along -z at 1.5 m height, looking along +z: camera right is world -x,
        # camera down is world -y. The point is 0.5 m to world +x, 0.5 m up and 5 m ahead of the camera.
        cams = camera_at([0.0, 1.5, -4.0], [0.0, 1.5, 0.0])
        X = np.array([0.5, 2.0, 1.0]).reshape(1, 1, 1, 3)
        np.testing.assert_allclose(cams.world_to_camera(X).ravel(), [-0.5, -0.5, 5.0], atol=1e-12)
        np.testing.assert_allclose(cams.project(X).ravel(), [500 - 1150 * 0.1, 500 - 1150 * 0.1], atol=1e-9)

    def test_rotation_is_proper_and_centres_recover_the_eye(self):
        rng = np.random.default_rng(0)
        eye, target = rng.normal(size=(5, 3)) * 4, rng.normal(size=(5, 3))
        R = look_at_rotation(eye, target)
        np.testing.assert_allclose(R @ R.transpose(0, 2, 1), np.broadcast_to(np.eye(3), (5, 3, 3)), atol=1e-12)
        np.testing.assert_allclose(np.linalg.det(R), 1.0)
        cams = camera_at(eye, target)
        np.testing.assert_allclose(cams.centers, eye, atol=1e-12)
        np.testing.assert_allclose(cams.project(target[:, None, :]), cams.c[:, None, :], atol=1e-9)

    def test_image_axes_follow_opencv(self):
        cams = camera_at([3.0, 1.2, 4.0], [0.0, 1.0, 0.0])
        centre, up = np.array([0.0, 1.0, 0.0]), np.array([0.0, 1.5, 0.0])
        uv = cams.project(np.stack([centre, up])[None])[0]
        assert uv[1, 1] < uv[0, 1] - 50  # higher in the world = smaller v (image y points down)

    def test_shape_errors_name_the_argument(self):
        with pytest.raises(ValueError, match="Cameras.t"):
            Cameras(R=np.zeros((2, 3, 3)), t=np.zeros((3, 3)), f=np.ones((2, 2)), c=np.ones((2, 2)),
                    size=np.ones((2, 2)))
        with pytest.raises(ValueError, match="X"):
            camera_at([0.0, 1.0, -4.0], [0.0, 1.0, 0.0]).project(np.zeros((2, 4, 3)))


class TestSampleCameras:
    def test_ranges(self):
        rng = np.random.default_rng(1)
        look_at = np.column_stack([rng.uniform(-2, 2, 500), rng.uniform(0.6, 1.2, 500), rng.uniform(-2, 2, 500)])
        cams = sample_cameras(500, look_at, rng)
        dist = np.linalg.norm(cams.centers - look_at, axis=-1)
        assert dist.min() >= 3.5 - 1e-9 and dist.max() <= 6.0 + 1e-9
        assert cams.centers[:, 1].min() >= 0.8 and cams.centers[:, 1].max() <= 2.0
        assert cams.f.min() >= 1100 * 0.995 and cams.f.max() <= 1200 * 1.005
        assert np.abs(cams.c - 500.0).max() <= 10.0
        np.testing.assert_allclose(cams.project(look_at[:, None]), cams.c[:, None], atol=1e-9)  # aimed at it
        azimuth = np.arctan2(*(cams.centers - look_at)[:, [0, 2]].T)
        assert np.histogram(azimuth, bins=4, range=(-np.pi, np.pi))[0].min() > 80  # all around the subject

    def test_keep_in_view_moves_the_camera_back(self):
        look_at = np.tile([0.0, 1.0, 0.0], (50, 1))
        cams = sample_cameras(50, look_at, np.random.default_rng(2), keep_in_view=np.full(50, 4.0))
        horizontal = np.linalg.norm((cams.centers - look_at)[:, [0, 2]], axis=-1)
        assert horizontal.min() >= 4.0 / 0.35 - 1e-9

    def test_draws_do_not_depend_on_look_at(self):
        a = sample_cameras(20, np.zeros((20, 3)), np.random.default_rng(3))
        b = sample_cameras(20, np.ones((20, 3)), np.random.default_rng(3))
        np.testing.assert_array_equal(a.f, b.f)
        np.testing.assert_array_equal(a.c, b.c)
        np.testing.assert_allclose(a.centers[:, 1], b.centers[:, 1], atol=1e-9)  # same absolute heights


class TestDetections:
    def test_noise_level_within_configured_range(self):
        uv = np.zeros((200, 60, 17, 2))
        noisy, conf = simulate_detections(uv, np.random.default_rng(4), sigma_px=(2.0, 3.0), outlier_prob=0.0)
        per_clip = np.sqrt((noisy.astype(np.float64) ** 2).mean(axis=(1, 2, 3)))  # per-axis RMS per clip
        assert per_clip.min() > 2.0 * 0.85 and per_clip.max() < 3.0 * 1.15
        assert 2.3 < per_clip.mean() < 2.7
        lag1 = (noisy[:, 1:] * noisy[:, :-1]).mean() / (noisy**2).mean()
        assert 0.5 < lag1 < 0.8  # temporally smooth-ish (2/3 by construction), not white

    def test_confidence_in_unit_interval_and_lower_for_noisier_joints(self):
        uv = np.full((100, 40, 17, 2), 300.0)
        noisy, conf = simulate_detections(uv, np.random.default_rng(5))
        assert conf.dtype == np.float32 and conf.shape == (100, 40, 17)
        assert conf.min() > 0.0 and conf.max() <= 1.0
        error = np.linalg.norm(noisy - uv, axis=-1)
        assert np.corrcoef(error.ravel(), conf.ravel())[0, 1] < -0.5
        per_joint_error, per_joint_conf = error.mean(axis=1), conf.mean(axis=1)  # (clips, joints)
        assert np.corrcoef(per_joint_error.ravel(), per_joint_conf.ravel())[0, 1] < -0.5

    def test_outliers_at_the_configured_rate(self):
        uv = np.zeros((100, 50, 17, 2))
        noisy, conf = simulate_detections(uv, np.random.default_rng(6), sigma_px=(1.0, 1.0), outlier_prob=0.05)
        error = np.linalg.norm(noisy, axis=-1)
        outliers = error > 15.0  # clean errors are ~1 px, outliers 20-120 px
        assert 0.045 < outliers.mean() < 0.055
        assert error[outliers].min() >= 20.0 - 1e-3 and error.max() <= 120.0 + 1e-3
        assert conf[outliers].max() < 0.5 < conf[~outliers].min()

    def test_no_outliers_when_disabled_and_bad_arguments(self):
        noisy, _ = simulate_detections(np.zeros((10, 20, 17, 2)), np.random.default_rng(7), outlier_prob=0.0)
        assert np.abs(noisy).max() < 40.0
        with pytest.raises(ValueError, match="outlier_prob"):
            simulate_detections(np.zeros((1, 2, 17, 2)), np.random.default_rng(0), outlier_prob=1.5)
        with pytest.raises(ValueError, match="sigma_px"):
            simulate_detections(np.zeros((1, 2, 17, 2)), np.random.default_rng(0), sigma_px=(3.0, 1.0))
        with pytest.raises(ValueError, match="uv"):
            simulate_detections(np.zeros((2, 17, 2)), np.random.default_rng(0))


class TestScreenNormalisation:
    def test_known_values(self):
        size = np.array([1000.0, 1002.0])
        uv = np.array([[0.0, 0.0], [500.0, 501.0], [1000.0, 1002.0]])
        expected = np.array([[-1.0, 1.002], [0.0, 0.0], [1.0, -1.002]])  # y up, scaled by the width
        np.testing.assert_allclose(normalize_screen(uv, size), expected, atol=1e-12)

    def test_round_trip_with_per_clip_sizes(self):
        rng = np.random.default_rng(8)
        size = np.array([[1000.0, 1000.0], [1920.0, 1080.0], [640.0, 480.0]])
        uv = rng.uniform(0, 1, (3, 5, 17, 2)) * size[:, None, None, :]
        xy = normalize_screen(uv, size)
        assert np.abs(xy[..., 0]).max() <= 1.0
        np.testing.assert_allclose(denormalize_screen(xy, size), uv, atol=1e-9)
