"""The Review session without Qt: every action through the session against a store made by the
engine in ``tmp_path`` (the hand-made store of ``tests/core/review``), checked against the
store's own log and against values computed by hand; the decoded-ahead images; export and the
fine-tuning request; one-line errors. No QApplication is created (nothing here imports Qt)."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest

from grace.review.store import ReviewStore
from grace_gui.sessions.jobs import Jobs
from grace_gui.sessions.review import ReviewSession
from grace_gui.sessions.review_state import count, free_path, store_beside_folder

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "core" / "review"))
from _review_helpers import hand_store, lab, png  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
ORDER = [1, 2, 4, 5, 3, 6, 7]  # hand_store's items by rank (0.9, 0.5 x3 by id, 0.3, 0.2, 0.1)


class Record:
    """Every emission of every signal of a session, as (signal name, args)."""

    NAMES = (
        "opened", "items_changed", "item_changed", "current_changed", "counts_changed",
        "decided", "exported", "fine_tune", "activity_changed", "message", "error",
    )  # fmt: skip

    def __init__(self, session: ReviewSession) -> None:
        self.events: list[tuple] = []
        for name in self.NAMES:
            getattr(session, name).connect(lambda *a, n=name: self.events.append((n, *a)))

    def of(self, name: str) -> list[tuple]:
        return [e[1:] for e in self.events if e[0] == name]

    def last(self, name: str):
        found = self.of(name)
        return found[-1][0] if found and len(found[-1]) == 1 else (found[-1] if found else None)


class Deferred(Jobs):
    """Jobs that wait in a list until the test runs them."""

    def __init__(self) -> None:
        self.waiting: list = []
        super().__init__(start=self.waiting.append)

    def run_all(self) -> None:
        while self.waiting:
            self.waiting.pop(0)()


def log_of(store: Path) -> list[tuple]:
    with ReviewStore(store) as st:
        return [(d.item, d.action) for d in st.decisions()]


def opened(tmp_path, jobs=None):
    store, files = hand_store(tmp_path)
    s = ReviewSession(jobs)
    rec = Record(s)
    assert s.open_store(store)
    return s, rec, store, files


def test_the_session_imports_no_qt():
    code = ("import sys, grace_gui.sessions.review, grace_gui.sessions.review_state;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'shiboken6', 'qtpy', 'PyQt5', 'PyQt6')))")  # fmt: skip
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'core'}{os.pathsep}{REPO}"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_opening_lists_the_queue_and_shows_the_worst_item_with_its_image(tmp_path):
    s, rec, store, files = opened(tmp_path)
    info = rec.last("opened")
    assert info.path == store and info.names == ("crack", "dent") and not info.read_only
    assert info.kinds == ("false_positive", "miss", "near_threshold", "poor_localisation")
    assert [it.id for it in rec.last("items_changed")] == ORDER
    shown = rec.last("current_changed")
    assert shown.item.id == 1 and (shown.row, shown.rows) == (0, 7) and not shown.loading
    assert np.array_equal(shown.image, cv2.imread(str(files["A"])))
    assert shown.ground_truth == (lab("crack", 10, 10, 40, 30), lab("dent", 50, 40, 90, 70))
    assert shown.target() == {"class": "dent", "box": [60.0, 5.0, 80.0, 20.0]}
    everything, filtered = rec.last("counts_changed")
    assert everything.line() == "0 / 7 reviewed" and filtered.total == 7
    assert [(t.cls, t.total, t.reviewed) for t in everything.by_class] == [
        ("crack", 3, 0), ("dent", 4, 0)]  # fmt: skip


def test_every_action_through_the_session_is_committed_and_moves_on(tmp_path):
    s, rec, store, _ = opened(tmp_path)
    shown = lambda: rec.last("current_changed").item.id  # noqa: E731
    assert s.decide("accept") and shown() == 2  # the next open item
    assert s.decide("reject") and shown() == 4
    assert s.decide("reject") and shown() == 5
    assert s.set_class(1) and shown() == 3  # key 1: crack
    assert s.undo() and shown() == 5  # back to the item whose decision was taken back
    assert s.decide("accept") and shown() == 3
    assert s.adjust_box([11, 11, 41, 31]) and shown() == 3  # a box change keeps the item
    assert rec.last("current_changed").target() == lab("crack", 11, 11, 41, 31)
    assert s.next_open() and shown() == 6
    assert s.decide("ok") and shown() == 7
    s.prev()
    assert shown() == 6
    assert s.add_box("crack", [2, 2, 12, 12]) and shown() == 6
    assert lab("crack", 2, 2, 12, 12) in rec.last("current_changed").labels_now
    s.next()
    assert s.decide("skip") and shown() == 7  # nothing open is left: the item stays
    assert rec.last("message").startswith("Every item of this filter is reviewed (7 / 7")
    assert log_of(store) == [(1, "accept"), (2, "reject"), (4, "reject"), (5, "class"),
                             (5, "undo"), (5, "accept"), (3, "box"), (6, "ok"), (6, "add"),
                             (7, "skip")]  # fmt: skip
    everything, _ = rec.last("counts_changed")
    assert everything.line() == "7 / 7 reviewed (1 skipped)"
    tallies = {t.cls: (t.total, t.reviewed, t.outcomes) for t in everything.by_class}
    assert tallies == {"crack": (3, 3, {"reject": 1, "fix": 2}),
                       "dent": (4, 4, {"accept": 2, "reject": 1, "skip": 1})}  # fmt: skip
    assert [d.action for (d,) in rec.of("decided")] == [a for _, a in log_of(store)]


def test_ok_on_an_image_marks_each_of_its_items_reviewed(tmp_path):
    s, rec, store, _ = opened(tmp_path)
    s.select(ORDER.index(4))  # image B holds items 4 and 5
    rec.events.clear()
    assert s.decide("ok")
    assert sorted((row, it.id, it.status) for row, it in rec.of("item_changed")) == [
        (2, 4, "done"), (3, 5, "done")]  # fmt: skip
    assert rec.last("counts_changed")[0].line() == "2 / 7 reviewed"
    assert rec.last("current_changed").item.id == 3  # 5 is done through the ok
    assert log_of(store) == [(4, "ok")]


def test_filters_keep_the_item_shown_when_it_passes(tmp_path):
    s, rec, _, _ = opened(tmp_path)
    s.select(ORDER.index(2))
    s.set_filter(cls="dent")
    assert [it.id for it in rec.last("items_changed")] == [1, 2, 5, 7]
    assert rec.last("current_changed").item.id == 2 and s.row == 1
    assert rec.last("counts_changed")[1].total == 4  # the filter's counts
    s.set_filter(kind="false_positive", cls="crack")
    assert [it.id for it in rec.last("items_changed")] == [6]
    assert rec.last("current_changed").item.id == 6
    s.set_filter(status="done")
    assert rec.last("items_changed") == [] and rec.last("current_changed") is None
    s.set_filter()
    s.decide("reject")  # on item 1, shown first
    s.set_filter(status="open")
    assert [it.id for it in rec.last("items_changed")] == ORDER[1:]


def test_moving_wraps_for_next_open_and_stops_at_the_ends(tmp_path):
    s, rec, _, _ = opened(tmp_path)
    s.prev()
    assert s.row == 0
    s.select(6)
    s.next()
    assert s.row == 6
    assert s.next_open() and rec.last("current_changed").item.id == 1  # wrapped round
    assert not s.decide("undo")  # nothing to undo: one line, no decision
    assert rec.last("error") == ("item 1: nothing to undo", "")


def test_images_ahead_are_decoded_while_the_item_is_looked_at(tmp_path):
    jobs = Deferred()
    s, rec, _, files = opened(tmp_path, jobs)
    jobs.run_all()  # the listing, then the first image and the ones ahead
    assert set(s.cache) == {str(files["A"]), str(files["B"]), str(files["C"])}
    for path, (image, reason) in s.cache.items():
        assert reason == "" and np.array_equal(image, cv2.imread(path))
    s.select(ORDER.index(5))  # image B, decoded ahead: shown at once, no job for it
    shown = rec.last("current_changed")
    assert shown.item.id == 5 and not shown.loading
    assert np.array_equal(shown.image, cv2.imread(str(files["B"])))
    assert jobs.waiting == []  # what is ahead of it (A, C) is decoded already
    s.select(ORDER.index(6))  # C from the cache; D (the next open item's) is decoded ahead
    assert not rec.last("current_changed").loading
    assert s.decoding == {str(files["D"])}
    jobs.run_all()
    assert str(files["D"]) in s.cache


def test_a_late_image_or_listing_never_shows_over_the_new_store(tmp_path):
    jobs = Deferred()
    s, rec, _, files = opened(tmp_path, jobs)
    jobs.waiting.pop(0)()  # listed: the first image's decode (and those ahead) now wait
    other = tmp_path / "other"
    other.mkdir()
    store2, files2 = hand_store(other)
    s.open_store(store2)
    s.open_store(s.info.path)  # opened twice: the first listing is a stale one
    start = len(rec.events)
    jobs.run_all()
    shown = [e[1].item.image for e in rec.events[start:] if e[0] == "current_changed"]
    assert shown and set(shown) == {str(files2["A"])}
    assert len(rec.of("opened")) == 2  # the stale listing announced nothing
    assert not rec.last("current_changed").loading


def test_an_unreadable_image_says_why_and_can_still_be_decided(tmp_path):
    store, files = hand_store(tmp_path)
    files["A"].write_bytes(b"not an image")
    s = ReviewSession()
    rec = Record(s)
    s.open_store(store)
    shown = rec.last("current_changed")
    assert shown.image is None and not shown.loading and shown.reason
    assert shown.caption().endswith(f"cannot be shown: {shown.reason}")
    assert s.decide("reject")
    assert log_of(store) == [(1, "reject")]


@contextmanager
def read_only(path: Path):
    """``path`` made unwritable: chmod 444, and for root (who writes through permission bits)
    the immutable attribute; skips where neither can be set (as tests/core/review does)."""
    path.chmod(0o444)
    immutable = os.geteuid() == 0
    if immutable and subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
        path.chmod(0o644)
        pytest.skip("running as root without chattr +i: a file cannot be made read-only")
    try:
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o644)


def test_a_read_only_store_refuses_decisions_in_one_line(tmp_path):
    store, _ = hand_store(tmp_path)
    with read_only(store):
        s = ReviewSession()
        rec = Record(s)
        s.open_store(store)
        assert rec.last("opened").read_only
        assert rec.of("message")[0] == (f"{store}: read-only; you can look, not decide",)
        assert not s.decide("accept")
        line, details = rec.last("error")
        assert line.endswith("the store is read-only; the decision was not recorded "
                             "(listing works)") and "\n" not in line  # fmt: skip
        assert rec.last("current_changed").item.id == 1  # it stays
        s.close()
    assert log_of(store) == []


def test_opening_what_is_not_a_store_is_one_line(tmp_path):
    s = ReviewSession()
    rec = Record(s)
    bad = tmp_path / "x.db"
    bad.write_text("hello")
    assert not s.open_store(bad)
    assert not s.open_store(tmp_path / "none.db")
    assert [e[0] for e in rec.of("error")] == [
        f"{bad}: not a review store (not a readable SQLite file: file is not a database)",
        f"{tmp_path / 'none.db'}: no review store here (make one with grace review new)",
    ]


def test_export_writes_the_decided_labels_and_fine_tuning_gets_them(tmp_path):
    s, rec, store, files = opened(tmp_path)
    assert not s.request_fine_tune()  # nothing exported yet
    assert rec.last("error")[0].startswith("export the reviewed images first")
    s.decide("accept")  # item 1: dent (60,5,80,20) stays on A
    s.decide("reject")  # item 2: A's dent label (50,40,90,70) goes
    out = tmp_path / "out"
    assert s.export(out)
    manifest = rec.last("exported")
    assert manifest["out"] == str(out) and manifest["data_yaml"] == str(out / "data.yaml")
    assert manifest["images_exported"] == 1 and manifest["decisions"] == {"accept": 1, "reject": 1}
    # by hand: A is 100x80; crack (10,10,40,30) -> 25/100 20/80 30/100 20/80;
    # dent (60,5,80,20) -> 70/100 12.5/80 20/100 15/80
    assert (out / "labels" / "train" / "A.txt").read_text() == (
        "0 0.250000 0.250000 0.300000 0.250000\n1 0.700000 0.156250 0.200000 0.187500\n"
    )
    assert (out / "images" / "train" / "A.png").read_bytes() == files["A"].read_bytes()
    assert s.request_fine_tune()
    assert rec.last("fine_tune") == (str(out / "data.yaml"), "")  # hand_store has no model
    s.export(out)
    assert rec.last("error")[0] == f"{out}: exists; export writes a new folder (choose another OUT)"


def test_fine_tuning_a_store_of_an_exported_model_starts_from_its_checkpoint(tmp_path):
    """Training needs a .pt: an export beside the checkpoint it came from hands over that
    checkpoint; an export alone hands over none and says so (it used to hand the export over,
    and the training failed)."""
    from dataclasses import replace

    s, rec, _store, _files = opened(tmp_path)
    s.decide("accept")
    assert s.export(tmp_path / "out")
    weights = tmp_path / "run" / "weights"
    ov = weights / "best_int8_openvino_model"
    ov.mkdir(parents=True)
    for name in ("best.xml", "best.bin", "metadata.yaml"):
        (ov / name).write_bytes(b"x")
    (weights / "best.pt").write_bytes(b"checkpoint")
    s.info = replace(s.info, model=str(ov))  # as a store made with this export says
    assert s.request_fine_tune()
    assert rec.last("fine_tune") == (str(tmp_path / "out" / "data.yaml"), str(weights / "best.pt"))
    (weights / "best.pt").unlink()
    assert s.request_fine_tune()
    assert rec.last("fine_tune") == (str(tmp_path / "out" / "data.yaml"), "")
    assert rec.last("message") == (
        f"{ov}: an exported model; fine-tuning starts from the PyTorch checkpoint (.pt) it was "
        "exported from: choose it in the Train tab"
    )


def test_export_failure_is_one_line_and_writes_nothing(tmp_path):
    s, rec, _, _ = opened(tmp_path)
    s.export(tmp_path / "out")  # nothing decided yet
    assert rec.last("error")[0] == (f"{tmp_path / 'r.db'}: no reviewed image to export "
                                    "(decide on some items first)")  # fmt: skip
    assert not (tmp_path / "out").exists() and rec.last("exported") is None


def test_making_a_store_from_a_val_output_that_is_not_one_fails_in_one_line(tmp_path):
    s = ReviewSession()
    rec = Record(s)
    data = tmp_path / "data.yaml"
    png(tmp_path / "images" / "a.png", 8, 8, 0)
    data.write_text(f"path: {tmp_path}\ntrain: images\nval: images\nnames: {{0: a}}\n")
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"x")
    (tmp_path / "val").mkdir()
    s.create_from_val(str(weights), str(data), str(tmp_path / "val"))
    assert rec.last("error")[0] == (f"{tmp_path / 'val' / 'metrics.json'}: not found "
                                    "(--val-dir must be a grace val --out folder)")  # fmt: skip
    assert s.store is None and not s.building and list((tmp_path / "val").iterdir()) == []


@pytest.mark.skipif(not (REPO / "resources/models/neu-det_yolo11n_grace.pt").is_file(),
                    reason="the demo model is not in resources/models")  # fmt: skip
def test_a_store_made_from_a_folder_opens_beside_it(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    demo = REPO / "resources/demo/neu-det/images/val"
    for name in ("patches_292.jpg", "scratches_181.jpg"):
        (folder / name).write_bytes((demo / name).read_bytes())
    png(folder / "blank.png", 32, 32, 0)
    s = ReviewSession()
    rec = Record(s)
    s.create_from_folder(str(folder), str(REPO / "resources/models/neu-det_yolo11n_grace.pt"))
    assert rec.of("error") == []
    store = tmp_path / "imgs-review.db"
    assert rec.last("opened").path == store and rec.last("opened").queue == "uncertain"
    with ReviewStore(store) as st:
        assert [it.id for it in rec.last("items_changed")] == [it.id for it in st.items()]
    assert store_beside_folder(folder) == tmp_path / "imgs-review-2.db"  # never over it


def test_free_path_and_counts_by_hand(tmp_path):
    assert free_path(tmp_path, "review") == tmp_path / "review.db"
    (tmp_path / "review.db").touch()
    (tmp_path / "review-2.db").touch()
    assert free_path(tmp_path, "review") == tmp_path / "review-3.db"
    assert count([], ["a", "b"]).line() == "0 / 0 reviewed"
