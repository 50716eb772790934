"""The results store is the review store: a version-1 review store is upgraded in place without
losing an item or a decision, inspection rows are append-only, review items land in its queue."""

from __future__ import annotations

import sqlite3

import pytest

from grace.deploy.results import Inspection, ResultsStore
from grace.errors import GraceError
from grace.review.store import ImageEntry, ItemEntry, ReviewStore, create_store

NAMES = ["crazing", "scratches"]


def _v1_store(path):
    """A review store as schema 1 wrote it: one image, one item, one decision."""
    det = {"class": "scratches", "confidence": 0.3, "box": [1, 2, 30, 40]}
    img = ImageEntry(str(path.parent / "a.jpg"), 200, 200, [], "model", [det])
    item = ItemEntry(0, "uncertain", "near_threshold", 0.9, "scratches", [1, 2, 30, 40], 0.3,
                     on_accept={"class": "scratches", "box": [1, 2, 30, 40]})  # fmt: skip
    create_store(path, {"names": NAMES}, [img], [item])
    with ReviewStore(path) as st:
        st.decide(1, "accept", who="tester")
    conn = sqlite3.connect(path)
    conn.executescript("DROP TABLE inspections; PRAGMA user_version=1;")
    conn.close()


def _version(path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def test_a_version_1_store_is_upgraded_and_keeps_everything(tmp_path):
    store = tmp_path / "review.sqlite"
    _v1_store(store)
    assert _version(store) == 1
    with ReviewStore(store, read_only=True) as st:  # read-only: listed as it is, not upgraded
        assert [it.status for it in st.items()] == ["done"]
    assert _version(store) == 1
    with ResultsStore(store, NAMES, {}) as rs:
        row = rs.record(Inspection(str(tmp_path / "b.jpg"), "OK", size=10, mtime_ns=5))
        assert rs.taken() == {(str(tmp_path / "b.jpg"), 10, 5)}
    assert _version(store) == 2
    with ReviewStore(store) as st:
        (it,) = st.items()
        assert (it.id, it.status, it.last_action) == (1, "done", "accept")
        assert [d.who for d in st.decisions()] == ["tester"]
    assert row.at and row.uncertain == 0


def test_rows_never_change_and_items_join_the_review_queue(tmp_path):
    store = tmp_path / "r.sqlite"
    with ResultsStore(store, NAMES, {"band": 0.1}) as rs:
        img = ImageEntry(str(tmp_path / "c.jpg"), 64, 48, [], "model", [])
        item = ItemEntry(0, "uncertain", "near_threshold", 0.5, "crazing", [0, 0, 8, 8], 0.2,
                         on_accept={"class": "crazing", "box": [0, 0, 8, 8]})  # fmt: skip
        row = rs.record(Inspection(str(tmp_path / "c.jpg"), "OK", size=1, mtime_ns=1), img, [item])
        assert row.uncertain == 1 and row.image_id == 1
        rs.record(Inspection(str(tmp_path / "d.jpg"), "vanished", "gone"))
        assert rs.taken() == {(str(tmp_path / "c.jpg"), 1, 1)}  # a vanished file is not taken
        assert [r.status for r in rs.rows()] == ["OK", "vanished"]
    conn = sqlite3.connect(store)
    with pytest.raises(sqlite3.DatabaseError, match="never changed"):
        conn.execute("UPDATE inspections SET status='NG'")
    with pytest.raises(sqlite3.DatabaseError, match="never changed"):
        conn.execute("DELETE FROM inspections")
    conn.close()
    with ReviewStore(store) as st:
        (it,) = st.items(queue="uncertain")
        assert (it.image, it.cls, it.status) == (str(tmp_path / "c.jpg"), "crazing", "open")
        st.decide(it.id, "reject")
        assert st.item(it.id).status == "done"
    with pytest.raises(GraceError, match=r"classes \['crazing', 'scratches'\], the model has"):
        ResultsStore(store, ["other"], {})
