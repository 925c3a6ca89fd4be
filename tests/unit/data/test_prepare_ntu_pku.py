"""Round trips of the NTU RGB+D and PKU-MMD prepare tools into the x_train/y_train/x_test/y_test archive."""

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from sic.data.formats.ntu import centre
from sic.data.formats.skeleton_npz import read_skeleton_npz
from sic.data.prepare import ntu as prepare_ntu_module
from sic.data.prepare import pku as prepare_pku_module
from sic.data.prepare.ntu import fit_frames, prepare_ntu, process_skeleton

TOOLS = Path(__file__).resolve().parents[3] / "tools"


def person(t: int, seed: int, motion: float = 0.03, shift=(0.0, 0.0, 3.0)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.stack([np.linspace(-0.2, 0.2, 25), np.linspace(-0.8, 0.8, 25), np.zeros(25)], -1) + shift
    return (base + motion * rng.standard_normal((t, 25, 3))).round(5).astype(np.float32)


def write_skeleton(path: Path, frames: list[list[tuple[int, np.ndarray]]]) -> Path:
    """A .skeleton file from per-frame lists of (body id, joints (25, 3))."""
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for body_id, joints in bodies:
            lines += [f"{body_id} 0 1 1 1 1 0 0 0 2", "25"]
            lines += [f"{x} {y} {z} 1 1 960 540 1 0 0 0 2" for x, y, z in joints]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def one_body(t: int, seed: int, empty_first: int = 0) -> list[list[tuple[int, np.ndarray]]]:
    return [[] for _ in range(empty_first)] + [[(seed, j)] for j in person(t, seed)]


@pytest.fixture
def raw(tmp_path):
    """NTU-60 files of performers 1, 2, 3, 4 (on the missing list) and 7, plus an NTU-120 file in a second dir."""
    d = tmp_path / "nturgb+d_skeletons" / "part"
    write_skeleton(d / "S001C001P001R001A001.skeleton", one_body(29, seed=1, empty_first=1))
    write_skeleton(d / "S001C002P002R001A002.skeleton", one_body(40, seed=2))
    two = [[(10, a), (11, b)] for a, b in zip(person(25, 3, 0.05), person(25, 4, 0.02, shift=(1, 0, 3)), strict=True)]
    write_skeleton(d / "S001C001P003R001A050.skeleton", two)
    write_skeleton(d / "S002C003P004R002A003.skeleton", one_body(20, seed=5))
    write_skeleton(d / "S001C003P007R001A010.skeleton", one_body(33, seed=6))
    write_skeleton(tmp_path / "extra" / "S018C001P045R001A061.skeleton", one_body(15, seed=7))
    (tmp_path / "missing.txt").write_text("S002C003P004R002A003\n")
    return tmp_path


def run(raw: Path, out: Path, *extra: str) -> int:
    return prepare_ntu_module.main(["--raw", str(raw / "nturgb+d_skeletons"), str(raw / "extra"), "-o", str(out),
                                    "--missing", str(raw / "missing.txt"), "--no-progress", *extra])  # fmt: skip


def test_ntu60_xsub_round_trip(raw, tmp_path, capsys):
    out = tmp_path / "NTU60_CS.npz"
    assert run(raw, out, "--benchmark", "ntu60-xsub", "--max-frames", "50") == 0
    printed = capsys.readouterr().out
    assert (
        "train      2 samples    2 classes" in printed and "skipped 1 samples on the missing-skeleton list" in printed
    )
    assert "ignored 1 files outside ntu60-xsub" in printed
    data = read_skeleton_npz(out)
    train, test = data["train"], data["test"]
    assert train.names.tolist() == ["S001C001P001R001A001", "S001C002P002R001A002"]
    assert test.names.tolist() == ["S001C001P003R001A050", "S001C003P007R001A010"]
    assert train.labels.tolist() == [0, 1] and test.labels.tolist() == [49, 9]
    assert train.joints.shape == (2, 50, 2, 25, 3) and test.joints.shape == (2, 50, 2, 25, 3)
    assert train.valid.tolist() == [29, 40] and test.valid.tolist() == [25, 33]
    d = raw / "nturgb+d_skeletons" / "part"
    np.testing.assert_allclose(train.joints[0, :29], process_skeleton(d / "S001C001P001R001A001.skeleton"))
    assert not train.joints[0, 29:].any() and not train.joints[0, :, 1].any()  # padding, absent actor 2
    # Centred: spine mid of actor 1 in the first frame is the origin; hand-check one joint.
    first = person(29, 1)
    np.testing.assert_allclose(train.joints[0, 0, 0, 1], 0, atol=1e-6)
    np.testing.assert_allclose(train.joints[0, 5, 0, 7], first[5, 7] - first[0, 1], atol=1e-5)
    # The two-person sample: the more moving body is actor 1, both centred on actor 1's origin.
    a, b = person(25, 3, 0.05), person(25, 4, 0.02, shift=(1, 0, 3))
    np.testing.assert_allclose(test.joints[0, :25, 0], a - a[0, 1], atol=1e-5)
    np.testing.assert_allclose(test.joints[0, :25, 1], b - a[0, 1], atol=1e-5)


@pytest.mark.parametrize(
    ("benchmark", "train", "test"),
    [
        ("ntu60-xview", ["S001C002P002R001A002", "S001C003P007R001A010"],
         ["S001C001P001R001A001", "S001C001P003R001A050"]),
        ("ntu120-xsub", ["S001C001P001R001A001", "S001C002P002R001A002", "S018C001P045R001A061"],
         ["S001C001P003R001A050", "S001C003P007R001A010"]),
        ("ntu120-xset", ["S018C001P045R001A061"],
         ["S001C001P001R001A001", "S001C001P003R001A050", "S001C002P002R001A002", "S001C003P007R001A010"]),
    ],
)  # fmt: skip
def test_other_benchmarks_split_membership(raw, tmp_path, benchmark, train, test):
    out = tmp_path / f"{benchmark}.npz"
    assert run(raw, out, "--benchmark", benchmark) == 0
    data = read_skeleton_npz(out)
    assert data["train"].names.tolist() == train and data["test"].names.tolist() == test
    assert data["train"].joints.shape[1] == 300


def test_workers_give_the_same_archive_and_frames_are_cut(raw, tmp_path):
    prepare_ntu([raw / "nturgb+d_skeletons"], tmp_path / "one.npz", "ntu60-xsub", workers=1, progress=False)
    summary = prepare_ntu([raw / "nturgb+d_skeletons"], tmp_path / "two.npz", "ntu60-xsub", workers=2,
                          max_frames=30, progress=False)  # fmt: skip
    one, two = read_skeleton_npz(tmp_path / "one.npz"), read_skeleton_npz(tmp_path / "two.npz")
    assert summary["splits"]["train"]["truncated"] == 1 and summary["splits"]["test"]["truncated"] == 1
    assert summary["skipped_missing"] == 0 and len(one["train"]) == 3  # no missing list: performer 4 is kept
    for s in ("train", "test"):
        np.testing.assert_array_equal(two[s].joints, one[s].joints[:, :30])
        np.testing.assert_array_equal(two[s].valid, np.minimum(one[s].valid, 30))
        assert two[s].names.tolist() == one[s].names.tolist()


def test_fit_frames():
    x = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1) + 1
    padded, cut = fit_frames(x, 12)
    assert not cut and padded.shape == (12, 1, 1, 1) and padded[:10, 0, 0, 0].tolist() == list(range(1, 11))
    assert not padded[10:].any()
    assert fit_frames(x, 4)[0][:, 0, 0, 0].tolist() == [1, 2, 3, 4]
    assert fit_frames(x, 4, crop="centre")[0][:, 0, 0, 0].tolist() == [4, 5, 6, 7]


def test_errors_exit_2_with_one_line(raw, tmp_path, capsys):
    assert (
        prepare_ntu_module.main(
            ["--raw", str(tmp_path / "nope"), "--benchmark", "ntu60-xsub", "-o", str(tmp_path / "o.npz")]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("error: raw directory") and "nope" in err and err.count("\n") == 1
    bad = raw / "nturgb+d_skeletons" / "part" / "S001C002P002R001A002.skeleton"
    bad.write_text("\n".join(bad.read_text().splitlines()[:100]) + "\n")
    assert run(raw, tmp_path / "o.npz", "--benchmark", "ntu60-xsub") == 2
    assert "S001C002P002R001A002.skeleton:100: file ends in body 1 of frame 4" in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()
    assert run(raw, tmp_path / "o.npz", "--benchmark", "ntu60-xsub", "--skip-bad") == 0
    assert "skipped S001C002P002R001A002: " in capsys.readouterr().out
    assert read_skeleton_npz(tmp_path / "o.npz")["train"].names.tolist() == ["S001C001P001R001A001"]
    assert (
        prepare_ntu_module.main(
            ["--raw", str(raw / "extra"), "--benchmark", "ntu60-xsub", "-o", str(tmp_path / "p.npz")]
        )
        == 2
    )
    assert "none of the 1 .skeleton files" in capsys.readouterr().err


def test_tool_wrappers(tmp_path, monkeypatch, capsys):
    for tool, args in (("prepare_ntu.py", ["--raw", str(tmp_path / "nope"), "--benchmark", "ntu60-xsub"]),
                       ("prepare_pku.py", ["--skeletons", str(tmp_path), "--labels", str(tmp_path),
                                           "--split", str(tmp_path / "cross-subject.txt")])):  # fmt: skip
        monkeypatch.setattr(sys, "argv", [tool, *args, "-o", str(tmp_path / "o.npz")])
        with pytest.raises(SystemExit) as exit_:
            runpy.run_path(str(TOOLS / tool), run_name="__main__")
        assert exit_.value.code == 2 and capsys.readouterr().err.startswith("error: ")


# ----------------------------------------------------------------------------------------------------- PKU-MMD


def write_pku(path: Path, joints: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(" ".join(f"{v:.5f}" for v in f.reshape(-1)) + "\n" for f in joints))


def pku_video(t: int, seed: int) -> np.ndarray:
    x = np.zeros((t, 2, 25, 3), np.float32)
    x[:, 0] = person(t, seed)
    return x


@pytest.fixture
def pku(tmp_path):
    videos = {"0002-L": pku_video(45, 1), "0002-M": pku_video(25, 2), "0291-L": pku_video(30, 3)}
    videos["0002-M"][:10] = 0  # nobody in the first ten frames
    videos["0291-L"][:, 1] = person(30, 4, shift=(1, 0, 3))  # a second person
    labels = {"0002-L": "3,2,11,1\n10,15,40,1\n", "0002-M": "3,1,5,1\n7,11,20,2\n", "0291-L": "51,3,30,2\n"}
    for name, x in videos.items():
        write_pku(tmp_path / "skeletons" / f"{name}.txt", x)
        (tmp_path / "labels" / "sub").mkdir(parents=True, exist_ok=True)
        (tmp_path / "labels" / "sub" / f"{name}.txt").write_text(labels[name])
    (tmp_path / "cross-subject.txt").write_text(
        "Training videos: \n0002-L, 0002-M, 0003-L,\nValidataion videos: \n0291-L\n"
    )
    return tmp_path, videos


def run_pku(root: Path, out: Path, *extra: str) -> int:
    args = ["--skeletons", str(root / "skeletons"), "--labels", str(root / "labels"), "--split"]
    return prepare_pku_module.main([*args, str(root / "cross-subject.txt"), "-o", str(out), "--no-progress", *extra])


def test_pku_round_trip(pku, capsys):
    root, videos = pku
    assert run_pku(root, root / "pku.npz") == 0
    printed = capsys.readouterr().out
    assert "train      3 samples    3 classes" in printed and "skipped 0002-M_0: no skeleton" in printed
    assert "1 video(s): listed in cross-subject.txt but without skeleton or label file, e.g. 0003-L" in printed
    data = read_skeleton_npz(root / "pku.npz")
    train, test = data["train"], data["test"]
    assert train.names.tolist() == ["0002-L_0", "0002-L_1", "0002-M_1"] and test.names.tolist() == ["0291-L_0"]
    assert train.labels.tolist() == [2, 9, 6] and test.labels.tolist() == [50]
    assert train.valid.tolist() == [10, 26, 10] and test.valid.tolist() == [28]
    assert train.joints.shape == (3, 300, 2, 25, 3)
    x = videos["0002-L"]
    np.testing.assert_allclose(train.joints[1, :26], centre(x[14:40]), atol=1e-6)  # frames 15..40
    np.testing.assert_allclose(train.joints[1, 0, 0, 1], 0, atol=1e-6)
    y = videos["0291-L"]
    np.testing.assert_allclose(test.joints[0, :28, 1], y[2:30, 1] - y[2, 0, 1], atol=1e-5)


def test_pku_centre_crop_and_errors(pku, capsys):
    root, videos = pku
    assert run_pku(root, root / "short.npz", "--max-frames", "20") == 0
    assert "1 truncated" in capsys.readouterr().out
    train = read_skeleton_npz(root / "short.npz")["train"]
    assert train.valid.tolist() == [10, 20, 10]
    np.testing.assert_allclose(train.joints[1], centre(videos["0002-L"][14:40])[3:23], atol=1e-6)
    (root / "labels" / "sub" / "0291-L.txt").write_text("51,3,30,2\n52,1,2,1\n")
    assert run_pku(root, root / "bad.npz") == 2
    assert "0291-L.txt:2: class 52 is outside 1..51" in capsys.readouterr().err
    (root / "labels" / "sub" / "0291-L.txt").write_text("51,31,40,2\n")
    assert run_pku(root, root / "bad.npz") == 2
    assert "0291-L.txt: action of class 51 at frames 31..40 starts after the last of 30" in capsys.readouterr().err
    split = ["--split", str(root / "cross-subject.txt")]
    args = ["--skeletons", str(root / "nope"), "--labels", str(root / "labels"), *split, "-o", str(root / "o.npz")]
    assert prepare_pku_module.main(args) == 2
    assert capsys.readouterr().err.startswith("error: skeleton directory")
    assert not (root / "bad.npz").exists() and not (root / "o.npz").exists()
