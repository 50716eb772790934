"""EventTail returns each complete event once, waits for a half-written line, survives a reset."""

from __future__ import annotations

import json

from grace.train.events import EventTail, EventWriter


def test_tail_reads_new_events_once_and_waits_for_partial_lines(tmp_path):
    tail = EventTail(tmp_path / "events.jsonl")
    assert tail.read() == []  # no file yet
    writer = EventWriter(tmp_path)
    writer.write("start", classes=["a"])
    writer.write("batch", epoch=0, batch=0)
    assert [e["type"] for e in tail.read()] == ["start", "batch"]
    assert tail.read() == []
    with open(tmp_path / "events.jsonl", "a") as f:  # a writer caught mid-line
        f.write('{"type": "epoch", "epo')
    assert tail.read() == []
    with open(tmp_path / "events.jsonl", "a") as f:
        f.write('ch": 0}\n')
    assert tail.read() == [{"type": "epoch", "epoch": 0}]
    writer.close()


def test_tail_starts_again_when_the_file_is_replaced(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps({"type": "batch", "batch": i}) + "\n" for i in range(5)))
    tail = EventTail(path)
    assert len(tail.read()) == 5
    path.write_text(json.dumps({"type": "start"}) + "\n")  # shorter: a new run in the same dir
    assert tail.read() == [{"type": "start"}]
