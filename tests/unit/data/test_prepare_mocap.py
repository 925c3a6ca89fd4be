import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mocap_fixtures import motion, write_amc, write_asf, write_bvh

from sic.data.motion import read_motion_archive
from sic.data.prepare.mocap import MocapOptions, prepare_mocap
from sic.utils.errors import DataError

TOOL = Path(__file__).resolve().parents[3] / "tools" / "prepare_mocap.py"


@pytest.fixture
def mocap_dir(tmp_path):
    """Three CMU-style subjects: ASF/AMC for 10 and 11 (CRLF), MotionBuilder BVH for 12, plus an index."""
    d = tmp_path / "raw"
    (d / "bvh").mkdir(parents=True)
    for subject, seed in (("10", 0), ("11", 1)):
        write_asf(d / f"{subject}.asf", crlf=True)
        write_amc(d / f"{subject}_01.amc", motion(240, seed=seed), crlf=True)
    write_bvh(d / "bvh" / "12_01.bvh", motion(240, seed=2), tpose=True)
    write_bvh(d / "bvh" / "10_01.bvh", motion(240, seed=0), tpose=True)  # same trial as the AMC: AMC preferred
    (d / "cmu_mocap_index.csv").write_text(
        "subject,trial,description,fps,frames_at_60fps_per_iclone_csv\n"
        '10,1,"walk, slowly",120,\n11,1,run,60,\n12,1,jump,120,\n'
    )
    return d


def test_round_trip_into_a_motion_archive(mocap_dir, tmp_path):
    opts = MocapOptions(test_subjects=["12"], val_subjects=["11"], progress=False)
    summary = prepare_mocap([mocap_dir], tmp_path / "cmu", opts)
    recs = read_motion_archive(tmp_path / "cmu")
    assert sorted(recs) == ["10_01", "11_01", "12_01"]
    r10, r11, r12 = recs["10_01"], recs["11_01"], recs["12_01"]
    assert (r10.label, r10.fps, r10.split, r10.layout) == ("walk, slowly", 120.0, "train", "cmu31")
    assert (r11.fps, r11.split, r12.split, r12.label) == (60.0, "val", "test", "jump")
    assert r12.joints.shape == (240, 31, 3)  # the BVH's T-pose frame is gone
    assert summary["splits"]["train"]["sequences"] == 1 and summary["layout"] == "cmu31"
    # The BVH of trial 10 was skipped in favour of its AMC; both give the same points.
    bvh_only = prepare_mocap([mocap_dir / "bvh"], tmp_path / "bvh", MocapOptions(progress=False, index=mocap_dir / "cmu_mocap_index.csv"))
    assert bvh_only["splits"]["train"]["sequences"] + bvh_only["splits"]["val"]["sequences"] + bvh_only["splits"]["test"]["sequences"] == 2
    np.testing.assert_allclose(read_motion_archive(tmp_path / "bvh")["10_01"].joints, r10.joints, atol=1e-5)


def test_rerun_is_idempotent_and_time_split_partitions_frames(mocap_dir, tmp_path):
    opts = MocapOptions(split="time", time_fractions=(0.5, 0.25, 0.25), progress=False)
    prepare_mocap([mocap_dir], tmp_path / "a", opts)
    first = (tmp_path / "a" / "joints.npy").read_bytes(), (tmp_path / "a" / "meta.json").read_text()
    prepare_mocap([mocap_dir], tmp_path / "a", opts)
    assert ((tmp_path / "a" / "joints.npy").read_bytes(), (tmp_path / "a" / "meta.json").read_text()) == first
    recs = read_motion_archive(tmp_path / "a")
    assert [len(recs[f"10_01@{s}"].joints) for s in ("train", "val", "test")] == [120, 60, 60]
    assert {r.split for r in recs.values()} == {"train", "val", "test"}


def test_labels_csv_and_name_patterns(tmp_path):
    d = tmp_path / "hdm"
    d.mkdir()
    write_asf(d / "HDM_bd.asf")
    write_amc(d / "HDM_bd_kickLFront1Reps_001_120.amc", motion(60))
    write_amc(d / "HDM_bd_squat1Reps_002_120.amc", motion(60, seed=3))
    (tmp_path / "labels.csv").write_text("name,label\nHDM_bd_squat1Reps_002_120,squat\n")
    prepare_mocap([d], tmp_path / "out", MocapOptions(labels=tmp_path / "labels.csv", progress=False))
    recs = read_motion_archive(tmp_path / "out")
    assert recs["HDM_bd_kickLFront1Reps_001_120"].label == "kickLFront1Reps"
    assert recs["HDM_bd_squat1Reps_002_120"].label == "squat" and recs["HDM_bd_squat1Reps_002_120"].subject == "bd"


def test_malformed_files_fail_cleanly_or_are_skipped(mocap_dir, tmp_path):
    bad = mocap_dir / "bvh" / "12_01.bvh"
    bad.write_text(bad.read_text().rsplit("\n", 5)[0] + "\n")  # truncated
    with pytest.raises(DataError, match=r"12_01\.bvh: header declares 241 frames but only 237 follow"):
        prepare_mocap([mocap_dir], tmp_path / "out", MocapOptions(progress=False))
    assert not (tmp_path / "out").exists()
    summary = prepare_mocap([mocap_dir], tmp_path / "out", MocapOptions(progress=False, skip_bad=True))
    assert list(summary["skipped"]) == [str(bad)]
    assert sorted(read_motion_archive(tmp_path / "out")) == ["10_01", "11_01"]


def test_command_line_tool(mocap_dir, tmp_path):
    run = lambda *a: subprocess.run([sys.executable, str(TOOL), *a], capture_output=True, text=True)  # noqa: E731
    ok = run(str(mocap_dir), "-o", str(tmp_path / "out"), "--split", "time", "--no-progress")
    assert ok.returncode == 0, ok.stderr
    assert "wrote" in ok.stdout and "train" in ok.stdout
    missing = run(str(tmp_path / "nowhere"), "-o", str(tmp_path / "x"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr.strip().splitlines() == [f"error: input {str(tmp_path / 'nowhere')!r} does not exist (expected a directory or a .bvh/.amc file)"]


@pytest.fixture
def server(tmp_path):
    import http.server
    import threading
    import zipfile

    from mocap_fixtures import motion, write_amc, write_asf

    src = tmp_path / "src"
    src.mkdir()
    write_asf(src / "20.asf")
    write_amc(src / "20_01.amc", motion(240))
    blob = tmp_path / "allasfamc.zip"
    with zipfile.ZipFile(blob, "w") as z:
        for f in sorted(src.iterdir()):
            z.write(f, f"all_asfamc/subjects/20/{f.name}")
    data, seen = blob.read_bytes(), []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.headers.get("Range"))
            start = int(self.headers["Range"].split("=")[1].rstrip("-")) if self.headers.get("Range") else 0
            self.send_response(206 if start else 200)
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            self.wfile.write(data[start:])

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/allasfamc.zip", data, seen
    httpd.shutdown()


def test_download_resumes_checks_and_prepares(server, tmp_path):
    import hashlib

    from sic.data.download import download
    from sic.data.prepare.mocap import main

    url, data, seen = server
    digest = hashlib.sha256(data).hexdigest()
    part = tmp_path / "dl" / "allasfamc.zip.part"
    part.parent.mkdir()
    part.write_bytes(data[:100])  # an interrupted earlier transfer
    assert main(["-o", str(tmp_path / "cmu"), "--download", "cmu", "--url", url,
                 "--sha256", digest, "--download-dir", str(tmp_path / "dl"), "--no-progress"]) == 0  # fmt: skip
    assert seen == ["bytes=100-"] and (tmp_path / "dl" / "allasfamc.zip").read_bytes() == data
    assert list(read_motion_archive(tmp_path / "cmu")) == ["20_01"]
    with pytest.raises(DataError, match="does not match the expected 00"):
        download(url, tmp_path / "other" / "a.zip", sha256="00" * 32, progress=False)
    assert not (tmp_path / "other" / "a.zip.part").exists() and not (tmp_path / "other" / "a.zip").exists()
    # Without a published checksum, the first download's SHA-256 is recorded and checked on reuse.
    got = download(url, tmp_path / "rec" / "a.zip", progress=False)
    assert (tmp_path / "rec" / "a.zip.sha256").read_text().split()[0] == digest
    got.write_bytes(data[:-1] + b"x")
    with pytest.raises(DataError, match="SHA-256"):
        download(url, got, progress=False)
