"""PKU-MMD phase I skeleton, label and split files, and action cutting (sic.data.formats.pku)."""

from pathlib import Path

import numpy as np
import pytest

from sic.data.formats.pku import cut_actions, read_pku_labels, read_pku_skeleton, read_pku_split
from sic.utils.errors import DataError


def write_pku_skeleton(path: Path, joints: np.ndarray) -> Path:
    """One line of 150 numbers per frame from (T, 2, 25, 3) joints."""
    path.write_text("".join(" ".join(f"{v:.6f}" for v in frame.reshape(-1)) + "\n" for frame in joints))
    return path


def video(t: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).uniform(-1, 1, (t, 2, 25, 3)).round(6).astype(np.float32)
    x[:, 1] = 0  # one person: body 2 is zeros
    return x


class TestSkeleton:
    def test_150_numbers_per_line_in_body_joint_xyz_order(self, tmp_path):
        x = np.arange(3 * 150, dtype=np.float32).reshape(3, 2, 25, 3)
        out = read_pku_skeleton(write_pku_skeleton(tmp_path / "0002-L.txt", x))
        assert out.shape == (3, 2, 25, 3) and out.dtype == np.float32
        np.testing.assert_array_equal(out, x)
        assert out[1, 1, 0, 2] == 150 + 75 + 2  # frame 1, body 2, joint 1, z

    def test_crlf_commas_and_blank_lines(self, tmp_path):
        x = video(2)
        p = tmp_path / "a.txt"
        p.write_text("\r\n".join(",".join(f"{v:.6f}" for v in f.reshape(-1)) for f in x) + "\r\n\r\n")
        np.testing.assert_allclose(read_pku_skeleton(p), x, atol=1e-6)

    def test_wrong_count_names_file_and_line(self, tmp_path):
        p = write_pku_skeleton(tmp_path / "0002-M.txt", video(5))
        lines = p.read_text().splitlines()
        lines[2] = " ".join(lines[2].split()[:75])
        p.write_text("\n".join(lines) + "\n")
        with pytest.raises(DataError, match=r"0002-M\.txt:3: frame line has 75 values, expected 150"):
            read_pku_skeleton(p)
        lines[2] = lines[1].replace(lines[1].split()[4], "x1", 1)
        p.write_text("\n".join(lines) + "\n")
        with pytest.raises(DataError, match=r"0002-M\.txt:3: non-numeric value"):
            read_pku_skeleton(p)
        lines[2] = lines[1].replace(lines[1].split()[4], "nan", 1)
        p.write_text("\n".join(lines) + "\n")
        with pytest.raises(DataError, match=r"0002-M\.txt:3: NaN"):
            read_pku_skeleton(p)

    def test_empty_and_missing(self, tmp_path):
        (tmp_path / "e.txt").write_text("\n")
        with pytest.raises(DataError, match="empty skeleton file"):
            read_pku_skeleton(tmp_path / "e.txt")
        with pytest.raises(DataError, match="file not found"):
            read_pku_skeleton(tmp_path / "nope.txt")


class TestLabels:
    def test_rows_become_zero_indexed_half_open_intervals(self, tmp_path):
        p = tmp_path / "0002-L.txt"
        p.write_text("41,1,84,1\n2, 90 ,120,2,\n51,121,121\n")
        assert read_pku_labels(p) == [(40, 0, 84), (1, 89, 120), (50, 120, 121)]

    @pytest.mark.parametrize(
        ("row", "message"),
        [("52,1,10,1", r"class 52 is outside 1\.\.51"), ("0,1,10,1", "class 0"), ("3,0,10,1", r"frames 0\.\.10"),
         ("3,10,9,1", r"frames 10\.\.9"), ("3,1.5,9,1", "of integers"), ("3,1", "of integers"),
         ("a,b,c,d", "of integers")],
    )  # fmt: skip
    def test_bad_rows(self, tmp_path, row, message):
        p = tmp_path / "l.txt"
        p.write_text(f"1,1,5,1\n{row}\n")
        with pytest.raises(DataError, match=message) as err:
            read_pku_labels(p)
        assert "l.txt:2: " in str(err.value)

    def test_no_rows(self, tmp_path):
        (tmp_path / "l.txt").write_text("")
        with pytest.raises(DataError, match="no label rows"):
            read_pku_labels(tmp_path / "l.txt")


class TestSplit:
    def test_lines_two_and_four(self, tmp_path):
        p = tmp_path / "cross-subject.txt"
        p.write_text("Training videos: \n0002-L, 0002-M, 0002-R, 0003-L,\nValidataion videos: \n0291-L, 0291-M\n")
        assert read_pku_split(p) == (["0002-L", "0002-M", "0002-R", "0003-L"], ["0291-L", "0291-M"])

    def test_bad_split_files(self, tmp_path):
        p = tmp_path / "s.txt"
        p.write_text("Training videos:\n0002-L\nValidation videos:\n")
        with pytest.raises(DataError, match="needs 4 lines"):
            read_pku_split(p)
        p.write_text("Training videos:\n0002-L, 0003-L\nValidation videos:\n0003-L\n")
        with pytest.raises(DataError, match=r"in both the training and test lists, e\.g\. '0003-L'"):
            read_pku_split(p)
        p.write_text("Training videos:\nValidation videos:\n0002-L\n0003-L\n")
        with pytest.raises(DataError, match=r"s\.txt:2: expected comma-separated video ids"):
            read_pku_split(p)


class TestCut:
    def test_inclusive_one_indexed_intervals(self, tmp_path):
        x = video(20)
        (tmp_path / "l.txt").write_text("5,3,7,1\n12,10,20,1\n")
        cut = cut_actions(x, read_pku_labels(tmp_path / "l.txt"))
        assert [c for c, _ in cut] == [4, 11]
        np.testing.assert_array_equal(cut[0][1], x[2:7])  # file frames 3..7
        np.testing.assert_array_equal(cut[1][1], x[9:20])  # 10..20: the last frame included
        cut[0][1][:] = 0
        assert x[2:7].any()  # clips are copies

    def test_clipped_at_the_end_and_out_of_range(self):
        x = video(10)
        ((_, clip),) = cut_actions(x, [(0, 7, 12)])
        np.testing.assert_array_equal(clip, x[7:])
        with pytest.raises(DataError, match=r"class 3 at frames 11\.\.12 starts after the last of 10"):
            cut_actions(x, [(2, 10, 12)])
