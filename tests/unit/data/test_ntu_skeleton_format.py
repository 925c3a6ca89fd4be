"""NTU RGB+D .skeleton reader, CTR-GCN denoising/centring, benchmarks and missing lists (sic.data.formats.ntu)."""

from pathlib import Path

import numpy as np
import pytest

from sic.data.formats.ntu import (
    BENCHMARKS,
    NTUSampleName,
    centre,
    denoise,
    parse_ntu_name,
    read_missing_list,
    read_skeleton,
)
from sic.utils.errors import DataError


def write_skeleton(path: Path, frames: list[list[tuple[int, np.ndarray]]], crlf: bool = False) -> Path:
    """Write a valid .skeleton file: per frame a list of (body id, joints (25, 3)); colour = 100 * (x, y) + 500."""
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for body_id, joints in bodies:
            lines += [f"{body_id} 0 1 1 1 1 0 0.01 -0.02 2", "25"]
            for x, y, z in joints:
                lines.append(f"{x:.6f} {y:.6f} {z:.6f} 250.5 200.25 {100 * x + 500:.4f} {100 * y + 500:.4f} "
                             "0.1 0.2 0.3 0.9 2")  # fmt: skip
    path.write_text(("\r\n" if crlf else "\n").join(lines) + "\n")
    return path


def person(t: int, seed: int = 0, motion: float = 0.02, shift=(0.0, 0.0, 3.0), wide: bool = False) -> np.ndarray:
    """(t, 25, 3) a tall body (x-range < 0.8 y-range) jittering by ``motion``; ``wide`` swaps x and y spreads."""
    rng = np.random.default_rng(seed)
    base = np.stack([np.linspace(-0.2, 0.2, 25), np.linspace(-0.8, 0.8, 25), np.zeros(25)], -1)
    if wide:
        base = base[:, [1, 0, 2]] * [1.5, 0.5, 1]
    return (base + np.asarray(shift) + motion * rng.standard_normal((t, 25, 3))).round(6).astype(np.float32)


def frames_of(t: int, *tracks: tuple[int, np.ndarray, int]) -> list[list[tuple[int, np.ndarray]]]:
    """Frames for bodies given as (body id, joints (F, 25, 3), first frame)."""
    out: list[list[tuple[int, np.ndarray]]] = [[] for _ in range(t)]
    for body_id, joints, first in tracks:
        for k, j in enumerate(joints):
            out[first + k].append((body_id, j))
    return out


class TestNames:
    def test_fields_label_and_round_trip(self):
        n = parse_ntu_name("S017C003P040R002A060")
        assert n == NTUSampleName(17, 3, 40, 2, 60)
        assert n.label == 59 and n.name == "S017C003P040R002A060"
        assert parse_ntu_name(Path("/x/S001C001P001R001A001.skeleton")).label == 0

    @pytest.mark.parametrize(
        "bad", ["S01C001P001R001A001", "S001C001P001R001", "s001c001p001r001a001", "S000C001P001R001A001"]
    )
    def test_bad_names(self, bad):
        with pytest.raises(DataError, match="NTU RGB"):
            parse_ntu_name(bad)


class TestRead:
    def test_one_body_values_colours_and_crlf(self, tmp_path):
        j = person(5)
        ske = read_skeleton(write_skeleton(tmp_path / "a.skeleton", frames_of(5, (72057594037931101, j, 0)), crlf=True))
        assert ske.num_frames == 5 and len(ske.bodies) == 1
        b = ske.bodies[0]
        assert b.body_id == 72057594037931101 and b.frames.tolist() == [0, 1, 2, 3, 4]
        assert b.joints.dtype == np.float32 and b.joints.shape == (5, 25, 3) and b.colors.shape == (5, 25, 2)
        np.testing.assert_allclose(b.joints, j, atol=1e-6)
        np.testing.assert_allclose(b.colors, 100 * j[..., :2] + 500, atol=1e-3)

    def test_missing_frames_and_two_bodies(self, tmp_path):
        frames = frames_of(8, (1, person(6), 1), (2, person(3, seed=1), 4))
        frames[3] = []  # a frame with no body in the middle of body 1's track
        frames[2] = [(2, person(1, seed=2)[0])] + frames[2]  # body 2 also appears early, before body 1 in that frame
        ske = read_skeleton(write_skeleton(tmp_path / "b.skeleton", frames))
        assert ske.num_frames == 8
        assert [b.body_id for b in ske.bodies] == [1, 2]  # order of first appearance (frame 1 before frame 2)
        assert ske.bodies[0].frames.tolist() == [1, 2, 4, 5, 6]
        assert ske.bodies[1].frames.tolist() == [2, 4, 5, 6]

    def test_truncated_file_names_file_and_line(self, tmp_path):
        p = write_skeleton(tmp_path / "S001C001P001R001A001.skeleton", frames_of(3, (1, person(3), 0)))
        lines = p.read_text().splitlines()
        p.write_text("\n".join(lines[:40]) + "\n")  # frame 2 stops after 8 of its 25 joint lines
        with pytest.raises(DataError, match=r"S001C001P001R001A001\.skeleton:40: file ends in body 1 of frame 2, "
                                            r"expected joint .*truncated"):  # fmt: skip
            read_skeleton(p)
        p.write_text("\n".join(lines[:29]) + "\n")  # exactly one frame: the body count of frame 2 is missing
        with pytest.raises(DataError, match=r":29: file ends in frame 2 of 3, expected a body count"):
            read_skeleton(p)

    def test_wrong_value_count_and_non_numeric(self, tmp_path):
        p = write_skeleton(tmp_path / "c.skeleton", frames_of(2, (1, person(2), 0)))
        lines = p.read_text().splitlines()
        lines[10] = " ".join(lines[10].split()[:11])  # line 11: the 7th joint of frame 1
        p.write_text("\n".join(lines) + "\n")
        with pytest.raises(
            DataError, match=r"c\.skeleton:11: joint .* line has 11 values, expected 12 in body 1 of frame 1"
        ):
            read_skeleton(p)
        lines[10] = lines[11].replace("0.1", "abc", 1)
        p.write_text("\n".join(lines) + "\n")
        with pytest.raises(DataError, match=r"c\.skeleton:11: non-numeric value"):
            read_skeleton(p)

    @pytest.mark.parametrize(
        ("line", "text", "message"),
        [(0, "two", r":1: expected the frame count"), (2, "1 0 1", r":3: expected a body info line of 10 values"),
         (3, "24", r":4: expected the joint count 25"), (1, "-1", r":2: expected a body count")],
    )  # fmt: skip
    def test_bad_counts(self, tmp_path, line, text, message):
        p = write_skeleton(tmp_path / "d.skeleton", frames_of(1, (1, person(1), 0)))
        lines = p.read_text().splitlines()
        lines[line] = text
        p.write_text("\n".join(lines) + "\n")
        with pytest.raises(DataError, match=message):
            read_skeleton(p)

    def test_missing_file(self, tmp_path):
        with pytest.raises(DataError, match="file not found"):
            read_skeleton(tmp_path / "nope.skeleton")


class TestDenoise:
    def test_single_body_keeps_every_occupied_frame(self, tmp_path):
        frames = frames_of(7, (5, person(5), 1))  # frames 0 and 6 are empty
        x = denoise(read_skeleton(write_skeleton(tmp_path / "a.skeleton", frames)))
        assert x.shape == (5, 2, 25, 3) and not x[:, 1].any()
        np.testing.assert_allclose(x[:, 0], person(5), atol=1e-6)

    def test_single_short_body_is_kept(self, tmp_path):
        x = denoise(read_skeleton(write_skeleton(tmp_path / "a.skeleton", frames_of(4, (5, person(4), 0)))))
        assert x.shape == (4, 2, 25, 3)  # the length test only runs on files with several bodies

    def test_no_body_at_all(self, tmp_path):
        with pytest.raises(DataError, match="missing skeletons"):
            denoise(read_skeleton(write_skeleton(tmp_path / "e.skeleton", [[], [], []])))

    def test_actor_one_is_the_most_moving_body(self, tmp_path):
        calm, busy = person(20, seed=1, motion=0.01), person(20, seed=2, motion=0.05, shift=(1, 0, 3))
        x = denoise(read_skeleton(write_skeleton(tmp_path / "b.skeleton", frames_of(20, (1, calm, 0), (2, busy, 0)))))
        np.testing.assert_allclose(x[:, 0], busy, atol=1e-6)
        np.testing.assert_allclose(x[:, 1], calm, atol=1e-6)

    def test_non_overlapping_bodies_share_actor_one(self, tmp_path):
        first = person(15, seed=1, motion=0.05)
        second = person(15, seed=2, motion=0.03)  # starts where `first` ends: no overlap with actor 1
        other = person(30, seed=3, motion=0.01, shift=(1, 0, 3))
        frames = frames_of(30, (1, first, 0), (2, second, 15), (3, other, 0))
        x = denoise(read_skeleton(write_skeleton(tmp_path / "c.skeleton", frames)))
        np.testing.assert_allclose(x[:15, 0], first, atol=1e-6)
        np.testing.assert_allclose(x[15:, 0], second, atol=1e-6)
        np.testing.assert_allclose(x[:, 1], other, atol=1e-6)

    def test_body_overlapping_both_actors_is_dropped(self, tmp_path):
        a, b = person(20, seed=1, motion=0.05), person(20, seed=2, motion=0.03, shift=(1, 0, 3))
        c = person(20, seed=3, motion=0.01, shift=(-1, 0, 3))
        x = denoise(
            read_skeleton(write_skeleton(tmp_path / "d.skeleton", frames_of(20, (1, a, 0), (2, b, 0), (3, c, 0))))
        )
        np.testing.assert_allclose(x[:, 0], a, atol=1e-6)
        np.testing.assert_allclose(x[:, 1], b, atol=1e-6)

    def test_short_tracks_are_noise(self, tmp_path):
        actor = person(30, seed=1, motion=0.01)
        flash11 = person(11, seed=2, motion=0.5, shift=(1, 0, 3))  # <= 11 frames: dropped despite its motion
        flash12 = person(12, seed=3, motion=0.08, shift=(-1, 0, 3))  # 12 frames: kept, most moving -> actor 1
        frames = frames_of(30, (1, actor, 0), (2, flash11, 0), (3, flash12, 18))
        x = denoise(read_skeleton(write_skeleton(tmp_path / "e.skeleton", frames)))
        np.testing.assert_allclose(x[18:, 0], flash12, atol=1e-6)
        np.testing.assert_allclose(x[:, 1], actor, atol=1e-6)
        assert not np.any(np.isin(x, flash11))
        y = denoise(read_skeleton(write_skeleton(tmp_path / "f.skeleton", frames)), length_threshold=12)
        np.testing.assert_allclose(y[:, 0], actor, atol=1e-6)  # both flashes are noise now
        assert not y[:, 1].any()

    def test_spread_test_drops_wide_bodies(self, tmp_path):
        actor = person(20, seed=1, motion=0.01)
        wide = person(20, seed=2, motion=0.3, wide=True)  # every frame wider than 0.8 x its height
        x = denoise(read_skeleton(write_skeleton(tmp_path / "g.skeleton", frames_of(20, (1, actor, 0), (2, wide, 0)))))
        np.testing.assert_allclose(x[:, 0], actor, atol=1e-6)
        assert not x[:, 1].any()

    def test_spread_test_keeps_partly_noisy_body_with_its_clean_motion(self, tmp_path):
        actor = person(20, seed=1, motion=0.05)
        partly = person(20, seed=2, motion=0.0, shift=(1, 0, 3))
        partly[:10] = person(10, seed=3, motion=0.2, shift=(1, 0, 3), wide=True)  # 50 % noisy, < 0.69754
        # Over all frames `partly` moves most, but its clean frames are still: it becomes actor 2.
        frames = frames_of(20, (1, actor, 0), (2, partly, 0))
        x = denoise(read_skeleton(write_skeleton(tmp_path / "h.skeleton", frames)))
        np.testing.assert_allclose(x[:, 0], actor, atol=1e-6)
        np.testing.assert_allclose(x[:, 1], partly, atol=1e-6)
        y = denoise(read_skeleton(write_skeleton(tmp_path / "i.skeleton", frames)), spread_ratio_threshold=0.5)
        assert not y[:, 1].any()  # with a lower threshold the partly noisy body is dropped

    def test_frames_without_data_are_removed(self, tmp_path):
        a, b = person(14, seed=1, motion=0.05), person(14, seed=2, motion=0.03, shift=(1, 0, 3))
        noise = person(3, seed=3)  # a short body alone in frames 14..16: dropped, leaving those frames empty
        frames = frames_of(34, (1, a, 0), (3, noise, 14), (2, b, 20))
        x = denoise(read_skeleton(write_skeleton(tmp_path / "j.skeleton", frames)))
        assert x.shape == (28, 2, 25, 3)
        np.testing.assert_allclose(x[:14, 0], a, atol=1e-6)
        np.testing.assert_allclose(x[14:, 0], b, atol=1e-6)  # b does not overlap a: it joins actor 1


class TestCentre:
    def test_origin_is_spine_mid_of_actor_one_in_its_first_frame(self):
        x = np.zeros((4, 2, 25, 3), np.float32)
        x[1:, 0] = np.arange(3 * 25 * 3, dtype=np.float32).reshape(3, 25, 3) + 1
        x[2, 1] = 7.0  # actor 2 only in frame 2
        out = centre(x)
        origin = x[1, 0, 1]  # frame 0 has no actor 1: frame 1's spine mid
        np.testing.assert_allclose(origin, [4.0, 5.0, 6.0])
        np.testing.assert_allclose(out[1, 0, 1], [0, 0, 0])
        np.testing.assert_allclose(out[3, 0, 24], x[3, 0, 24] - [4.0, 5.0, 6.0])
        np.testing.assert_allclose(out[2, 1, 0], [3.0, 2.0, 1.0])
        assert not out[0].any() and not out[[1, 3], 1].any()  # absent persons stay zero
        assert x[1, 0, 1, 0] == 4.0  # the input is untouched

    def test_other_joint_and_no_actor(self):
        x = np.ones((2, 1, 25, 3), np.float32)
        x[:, 0, 0] = [1.0, 2.0, 3.0]
        assert np.allclose(centre(x, joint=0)[:, 0, 0], 0)
        np.testing.assert_array_equal(centre(np.zeros((3, 2, 25, 3))), 0)
        with pytest.raises(DataError, match=r"\(T, M, J, 3\)"):
            centre(np.zeros((3, 25, 3)))


class TestBenchmarks:
    def test_split_membership(self):
        xsub, xview, xsub120, xset = (
            BENCHMARKS[k] for k in ("ntu60-xsub", "ntu60-xview", "ntu120-xsub", "ntu120-xset")
        )
        s = parse_ntu_name
        assert len(xsub.train_values) == 20 and len(xsub120.train_values) == 53
        assert xsub.split_of(s("S001C001P001R001A001")) == "train"
        assert xsub.split_of(s("S001C001P003R001A001")) == "test"
        assert xsub120.split_of(s("S018C001P045R001A061")) == "train"
        assert xsub120.split_of(s("S018C001P044R001A061")) == "test"
        assert [xview.split_of(s(f"S001C00{c}P001R001A001")) for c in (1, 2, 3)] == ["test", "train", "train"]
        assert [xset.split_of(s(f"S0{n:02d}C001P001R001A001")) for n in (1, 2, 31, 32)] == [
            "test",
            "train",
            "test",
            "train",
        ]
        assert xsub.includes(s("S017C001P001R001A060"))
        assert not xsub.includes(s("S017C001P001R001A061")) and not xsub.includes(s("S018C001P001R001A001"))
        assert xset.includes(s("S032C001P106R002A120"))


def test_read_missing_list(tmp_path):
    p = tmp_path / "missing.txt"
    p.write_bytes(b"samples with missing skeletons:\r\nS001C002P005R002A008\r\n\r\nS017C003P020R002A060.skeleton\r\n")
    assert read_missing_list(p) == {"S001C002P005R002A008", "S017C003P020R002A060"}
    p.write_text("nothing here\n")
    with pytest.raises(DataError, match="no NTU RGB"):
        read_missing_list(p)
