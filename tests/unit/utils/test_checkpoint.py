import os
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from sic.utils.checkpoint import AtomicCheckpointIO


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"state_dict": {"w": torch.zeros(3)}, "global_step": 1}, path)

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        io.save_checkpoint({"state_dict": {"w": torch.ones(3)}, "global_step": 2}, path)
    monkeypatch.undo()
    assert io.load_checkpoint(path)["global_step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # no temporary file left


def test_loading_refuses_pickled_code(tmp_path):
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hook": print}, path)
    with pytest.raises(Exception, match="(?i)weights_only|unsupported global"):
        AtomicCheckpointIO().load_checkpoint(path)


def test_a_child_exits_when_its_launcher_dies():
    # The parent starts a child that arms exit_with_parent, waits until it is armed, then dies.
    child = textwrap.dedent("""
        import time
        from sic.utils.distributed import exit_with_parent
        exit_with_parent(poll_s=0.1)
        print("armed", flush=True)
        time.sleep(60)
    """)
    parent = textwrap.dedent(f"""
        import subprocess, sys
        p = subprocess.Popen([sys.executable, "-c", {child!r}], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert p.stdout.readline().strip() == b"armed"
        print(p.pid, flush=True)
    """)
    out = subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True, timeout=60)
    pid = int(out.stdout.strip())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, 9)
    pytest.fail("the orphaned child kept running")
