"""events.jsonl only ever holds whole lines: a write that fails half-way is cut back off."""

from __future__ import annotations

import os

import pytest

from grace.errors import GraceError
from grace.train.events import EVENTS_FILE, EventWriter, read_events


def test_a_failed_event_write_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    writer = EventWriter(tmp_path)
    writer.write("start", classes=["a", "b"])
    path = tmp_path / EVENTS_FILE
    before = path.read_bytes()
    real_write = os.write

    def half_then_disk_full(fd, data):  # the first half lands, then the disk is full
        monkeypatch.setattr(os, "write", disk_full)
        return real_write(fd, bytes(data[: len(data) // 2]))

    def disk_full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_disk_full)
    with pytest.raises(GraceError) as e:
        writer.write("batch", epoch=0, batch=0, losses={"box": 1.5})
    monkeypatch.undo()
    assert str(e.value) == f"{path}: could not write (No space left on device)"
    assert path.read_bytes() == before

    writer.write("end", stopped=False)  # space again: the next event follows the last whole line
    writer.close()
    assert [e["type"] for e in read_events(tmp_path)] == ["start", "end"]
    assert path.read_bytes().startswith(before) and path.read_bytes().count(b"\n") == 2
