"""Atomic writes: a failed write leaves the previous file intact and names the file."""

from __future__ import annotations

import json

import pytest

from grace.errors import GraceError
from grace.fileio import atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text


def test_writes_replace_the_file_and_leave_no_temporary(tmp_path):
    target = tmp_path / "state.json"
    atomic_write_json(target, {"a": 1})
    atomic_write_json(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 2}
    atomic_write_text(tmp_path / "x.txt", "héllo\n")
    assert (tmp_path / "x.txt").read_bytes() == "héllo\n".encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json", "x.txt"]


def test_a_failing_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "last.pt"
    atomic_write_bytes(target, b"good checkpoint")

    def disk_full(f):
        f.write(b"half a ")
        raise OSError(28, "No space left on device")

    from grace.fileio import atomic_write_with

    with pytest.raises(GraceError, match=r"last\.pt: could not write \(No space left on device\)"):
        atomic_write_with(target, disk_full)
    assert target.read_bytes() == b"good checkpoint"
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_atomic_path_for_libraries_and_nan_refused(tmp_path):
    target = tmp_path / "maps.npy"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".tmp" and tmp != target
        tmp.write_bytes(b"xyz")
        assert not target.exists()
    assert target.read_bytes() == b"xyz"
    with pytest.raises(ValueError):
        atomic_write_json(tmp_path / "m.json", {"map": float("nan")})
    assert not (tmp_path / "m.json").exists()


def test_atomic_files_get_the_permissions_of_a_plain_write(tmp_path):
    import os
    import stat

    plain, atomic = tmp_path / "plain.txt", tmp_path / "atomic.txt"
    plain.write_text("x")  # what open() gives under this process's umask
    atomic_write_text(atomic, "x")
    assert stat.S_IMODE(atomic.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    os.chmod(atomic, 0o640)  # an existing file keeps its own bits
    atomic_write_text(atomic, "y")
    assert stat.S_IMODE(atomic.stat().st_mode) == 0o640
