"""One instance writes the settings at a time: a second one reads them and writes nothing; a lock
left by a process that died is taken over. No QApplication is needed (QtCore only)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from grace_gui.settings import open_settings

ROOT = Path(__file__).resolve().parents[2]
HOLD = """
import os, signal, sys
sys.path[:0] = [{core!r}, {root!r}]
from grace_gui.settings import open_settings
s = open_settings({path!r})
s.set("holder/pid", os.getpid())
s.sync()
print(s.writable, flush=True)
if {die!r}:
    os.kill(os.getpid(), signal.SIGKILL)  # no clean-up: the lock file stays behind
sys.stdin.readline()  # hold the lock until the test says so
"""


def holder(path: Path, die: bool) -> subprocess.Popen:
    """Another process that opens the settings ``path`` (and dies at once when ``die``)."""
    code = HOLD.format(core=str(ROOT / "core"), root=str(ROOT), path=str(path), die=die)
    return subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def test_a_second_writer_on_the_same_file_gets_read_only_settings(tmp_path):
    path = tmp_path / "settings.ini"
    first = open_settings(str(path))
    first.set("dataset/last_path", "/data/a")
    first.sync()
    before = path.read_bytes()
    second = open_settings(str(path))
    assert first.writable and not second.writable
    assert second.get("dataset/last_path") == "/data/a"  # it reads what is there
    second.set("dataset/last_path", "/data/b")
    second.remember("inference/models", "/m/b.pt")
    second.clear()
    second.set("window/tab", 3)
    assert second.get("window/tab") == 3  # its own changes live for the session
    assert second.get("dataset/last_path") is None  # cleared, in memory
    second.close()
    assert path.read_bytes() == before  # and never reach the file
    assert first.get("dataset/last_path") == "/data/a"
    first.close()
    third = open_settings(str(path))  # the first released the lock when it closed
    assert third.writable
    third.close()


def test_settings_held_by_a_running_process_are_read_only_here(tmp_path):
    path = tmp_path / "settings.ini"
    other = holder(path, die=False)
    try:
        assert other.stdout.readline().strip() == "True"
        here = open_settings(str(path))
        assert not here.writable
        assert here.get("holder/pid") == other.pid
    finally:
        other.communicate("\n", timeout=60)
    assert other.returncode == 0
    assert not Path(here.lock_path).exists()  # released when the other process ended
    assert open_settings(str(path)).writable


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    path = tmp_path / "settings.ini"
    dead = holder(path, die=True)
    assert dead.stdout.readline().strip() == "True"
    dead.wait(timeout=60)
    assert dead.returncode == -signal.SIGKILL
    lock = Path(str(path) + ".owner")
    assert lock.read_text().split("\n")[0] == str(dead.pid)  # left behind by the dead process
    here = open_settings(str(path))
    assert here.writable
    assert lock.read_text().split("\n")[0] == str(os.getpid())
    here.set("window/tab", 1)
    here.close()
    assert "[window]\ntab=1\n" in path.read_text()  # this process writes the file now
