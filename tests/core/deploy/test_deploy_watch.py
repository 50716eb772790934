"""The folder watcher's rules, poll by poll, on files the test writes (no model, no timing: the
clock is the test's own)."""

from __future__ import annotations

import os
from pathlib import Path

from grace.deploy.watch import FolderWatcher, ends_complete, is_temporary

JPEG = b"\xff\xd8\xff\xe0" + b"\x11" * 100 + b"\xff\xd9"


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _names(poll) -> list[str]:
    return [r.path.name for r in poll.ready]


def _write(path: Path, data: bytes, mtime_ns: int) -> None:
    path.write_bytes(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def test_a_file_is_ready_only_when_unchanged_over_two_polls(tmp_path):
    w = FolderWatcher(tmp_path, clock=Clock())
    f = tmp_path / "a.jpg"
    _write(f, JPEG[:50], 1_000)
    p = w.poll()
    assert p.ready == [] and p.pending == 1  # first sight: not yet known to be stable
    _write(f, JPEG[:80], 2_000)  # still growing
    assert w.poll().ready == []
    p = w.poll()  # same size and mtime as the poll before, but cut short: held (settle)
    assert p.ready == [] and p.pending == 1
    _write(f, JPEG, 3_000)
    assert w.poll().ready == []
    p = w.poll()
    assert _names(p) == ["a.jpg"] and p.ready[0].state.size == len(JPEG)
    assert not p.ready[0].truncated


def test_handed_files_are_not_handed_again_unless_rewritten(tmp_path):
    w = FolderWatcher(tmp_path, clock=Clock())
    f = tmp_path / "a.jpg"
    _write(f, JPEG, 1_000)
    w.poll()
    ready = w.poll().ready
    assert _names(w.poll()) == ["a.jpg"]  # not taken yet: offered again
    w.handed(ready[0])
    assert w.poll().ready == [] and w.poll().ready == []
    _write(f, JPEG + b"\x00", 2_000)  # the same name, new content
    w.poll()
    assert _names(w.poll()) == ["a.jpg"]


def test_temporary_names_are_never_taken_and_a_rename_is(tmp_path):
    assert all(map(is_temporary, [".a.jpg", "a.jpg.tmp", "a.jpg.part", "a.jpg~", "a.crdownload",
                                  "A.JPG.PART"]))  # fmt: skip
    assert not is_temporary("a.jpg")
    w = FolderWatcher(tmp_path, clock=Clock())
    for name in ("b.jpg.part", "c.jpg.tmp", ".d.jpg", "e.jpg~", "f.jpg.crdownload"):
        _write(tmp_path / name, JPEG, 1_000)
    for _ in range(3):
        p = w.poll()
        assert p.ready == [] and p.pending == 0 and p.others == []
    os.replace(tmp_path / "b.jpg.part", tmp_path / "b.jpg")
    w.poll()
    assert _names(w.poll()) == ["b.jpg"]


def test_order_gone_and_others(tmp_path):
    w = FolderWatcher(tmp_path, clock=Clock())
    _write(tmp_path / "late.jpg", JPEG, 5_000)
    _write(tmp_path / "early.jpg", JPEG, 1_000)
    _write(tmp_path / "notes.txt", b"x", 1_000)
    _write(tmp_path / "gone.jpg", JPEG[:10], 1_000)
    first = w.poll()
    assert [p.name for p in first.others] == ["notes.txt"]
    (tmp_path / "gone.jpg").unlink()
    p = w.poll()
    assert _names(p) == ["early.jpg", "late.jpg"]  # by modification time
    assert [g.name for g in p.gone] == ["gone.jpg"] and p.others == []  # each said once
    assert w.poll().gone == []


def test_a_cut_jpeg_is_held_then_handed_as_truncated(tmp_path):
    clock = Clock()
    w = FolderWatcher(tmp_path, settle=5.0, clock=clock)
    _write(tmp_path / "cut.jpg", JPEG[:60], 1_000)
    w.poll()
    for t in (0.0, 2.0, 4.9):
        clock.t = t
        assert w.poll().ready == []
    clock.t = 5.0
    (r,) = w.poll().ready
    assert r.path.name == "cut.jpg" and r.truncated


def test_end_markers():
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
    assert ends_complete(JPEG[:8], JPEG[-64:])
    assert ends_complete(JPEG[:8], JPEG + b"\x00\x00")  # zero padding after the end marker
    assert not ends_complete(JPEG[:8], JPEG[:-2])
    assert ends_complete(png[:8], png + b"IEND\xaeB`\x82")
    assert not ends_complete(png[:8], png)
    assert ends_complete(b"BM", b"anything")  # no end marker to check in a BMP
