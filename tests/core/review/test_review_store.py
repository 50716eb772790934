"""The review store: every action, the derived state, append-only log, and durability."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
from _review_helpers import decide_all, hand_store, lab

from grace.errors import GraceError
from grace.review.store import ReviewStore

REPO = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "PYTHONPATH": f"{REPO / 'core'}{os.pathsep}{REPO}"}


def test_every_action_leaves_the_labels_computed_by_hand(tmp_path):
    store, _ = hand_store(tmp_path)
    with ReviewStore(store) as st:
        assert [it.status for it in st.items()] == ["open"] * 7
        decide_all(st)
        status = {it.id: it.status for it in st.items()}
        assert status == {1: "done", 2: "done", 3: "done", 4: "done", 5: "done", 6: "done",
                          7: "skipped"}  # fmt: skip
        # A: GT 0 moved by the box decision, GT 1 rejected, the false positive accepted
        assert st.image(1)["labels_now"] == [
            lab("crack", 11, 11, 41, 31),
            lab("dent", 60, 5, 80, 20),
        ]
        # B: the model label rejected; the under-threshold dent: class crack, undone, accepted
        assert st.image(2)["labels_now"] == [lab("dent", 30, 30, 60, 60)]
        # C: image OK (its GT removed), then a box added
        assert st.image(3)["labels_now"] == [lab("crack", 2, 2, 12, 12)]
        assert st.image(4)["labels_now"] == []
        log = st.decisions()
        assert [d.action for d in log] == ["accept", "reject", "box", "reject", "class", "undo",
                                           "accept", "ok", "add", "skip"]  # fmt: skip
        box = log[2]
        assert box.before == lab("crack", 10, 10, 40, 30)
        assert box.after == lab("crack", 11, 11, 41, 31)
        assert log[4].after == lab("crack", 30, 30, 60, 60) and log[4].before is None
        assert log[5].undoes == log[4].id
        assert all(d.who and d.when for d in log)
        s = st.stats()
    assert (s["done"], s["open"], s["skipped"]) == (6, 0, 1)
    assert s["by_action"] == {"accept": 2, "reject": 2, "box": 1, "ok": 1, "add": 1, "skip": 1}
    assert s["decisions_logged"] == 10 and s["undone"] == 1
    assert s["by_class"]["dent"] == {"open": 0, "done": 3, "skipped": 1}


def test_undo_reopens_and_next_open_follows_review_order(tmp_path):
    store, _ = hand_store(tmp_path)
    with ReviewStore(store) as st:
        assert st.next_open().id == 1  # rank 0.9 first
        st.decide(1, "accept")
        assert st.next_open().id == 2
        # review order: rank 0.9 (1), 0.5 (2, 4, 5 by id), 0.3 (3), 0.2 (6), 0.1 (7)
        assert st.next_open(after=3).id == 6
        assert st.next_open(after=7).id == 2  # wraps round
        st.decide(1, "undo")
        assert st.item(1).status == "open" and st.item(1).current is None
        with pytest.raises(GraceError, match="nothing to undo"):
            st.decide(1, "undo")
        st.decide(6, "ok")  # image C OK: its item is done with it
        assert st.item(6).status == "done"
        assert [it.id for it in st.items(status="open", cls="crack")] == [4, 3]


@pytest.mark.parametrize(
    "args, message",
    [
        (("box", None, [1, 2, 3]), "4 numbers"),
        (("box", None, [5, 5, 2, 9]), "X2 must exceed X1"),
        (("box", None, [0, 0, 101, 10]), "outside the 100x80 image"),
        (("class", "rust", None), "not a class of this store"),
        (("fly", None, None), "action 'fly'"),
    ],
)
def test_bad_decisions_are_one_line_and_record_nothing(tmp_path, args, message):
    store, _ = hand_store(tmp_path)
    action, cls, box = args
    with ReviewStore(store) as st:
        with pytest.raises(GraceError, match=message):
            st.decide(1, action, cls=cls, box=box)
        assert st.decisions() == []


def test_the_log_is_append_only_whoever_writes(tmp_path):
    store, _ = hand_store(tmp_path)
    with ReviewStore(store) as st:
        st.decide(1, "accept")
    conn = sqlite3.connect(store)
    for sql in ("UPDATE decisions SET action='reject'", "DELETE FROM decisions",
                "UPDATE items SET class='x'", "DELETE FROM images"):  # fmt: skip
        with pytest.raises(sqlite3.DatabaseError, match="never changed"):
            conn.execute(sql)
    conn.close()


WRITER = """
import sys
from grace.review.store import ReviewStore
st = ReviewStore(sys.argv[1])
n = 0
while True:
    item = n % 7 + 1
    d = st.decide(item, "undo" if st.decisions(item) and n % 2 else "accept")
    print(d.id, flush=True)
    n += 1
"""


def test_kill_9_loses_no_committed_decision(tmp_path):
    store, _ = hand_store(tmp_path)
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(store)], stdout=subprocess.PIPE,
                         text=True, env=ENV)  # fmt: skip
    printed = [int(p.stdout.readline()) for _ in range(25)]
    p.kill()  # SIGKILL, mid-loop
    p.wait()
    assert p.returncode == -9
    with ReviewStore(store) as st:
        ids = {d.id for d in st.decisions()}
        assert set(printed) <= ids
        assert st._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        st.decide(1, "skip")  # and it takes new decisions


def test_a_newer_schema_is_one_clear_message(tmp_path):
    store, _ = hand_store(tmp_path)
    conn = sqlite3.connect(store)
    conn.execute("PRAGMA user_version=7")
    conn.close()
    with pytest.raises(GraceError, match=r"newer GRACE \(store schema 7, this one reads up to 2\)"):
        ReviewStore(store)
    r = subprocess.run([sys.executable, "-m", "grace", "review", "list", str(store)],
                       capture_output=True, text=True, env=ENV)  # fmt: skip
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "newer GRACE" in r.stderr


def test_not_a_store_is_one_line(tmp_path):
    junk = tmp_path / "x.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(GraceError, match="not a review store"):
        ReviewStore(junk)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(GraceError, match="not a GRACE review store"):
        ReviewStore(other)


@contextmanager
def _read_only(path: Path):
    """``path`` made unwritable: chmod 444, and for root (who writes through permission bits)
    the immutable attribute; skips where neither can be set."""
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


def test_a_read_only_store_lists_and_refuses_decisions(tmp_path):
    store, _ = hand_store(tmp_path)
    with ReviewStore(store) as st:
        st.decide(1, "accept")
    cli = [sys.executable, "-m", "grace", "review"]
    with _read_only(store):
        assert not os.access(store, os.W_OK)
        listed = subprocess.run([*cli, "list", str(store), "--json"], capture_output=True,
                                text=True, env=ENV)  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        assert '"read_only": true' in listed.stdout and '"count": 7' in listed.stdout
        refused = subprocess.run([*cli, "decide", str(store), "2", "accept"],
                                 capture_output=True, text=True, env=ENV)  # fmt: skip
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1
        assert "read-only" in refused.stderr
        with ReviewStore(store) as st:
            assert st.read_only and st.item(1).status == "done"
    with ReviewStore(store) as st:
        assert [d.action for d in st.decisions()] == ["accept"]
    with ReviewStore(store, read_only=True) as st:
        with pytest.raises(GraceError, match="read-only"):
            st.decide(2, "accept")


def test_an_image_gone_is_flagged_and_its_decisions_kept(tmp_path):
    store, files = hand_store(tmp_path)
    with ReviewStore(store) as st:
        st.decide(1, "accept")
    files["A"].unlink()
    with ReviewStore(store) as st:
        flagged = {it.id: it.missing for it in st.items()}
        assert flagged == {1: True, 2: True, 3: True, 4: False, 5: False, 6: False, 7: False}
        assert st.stats()["missing_images"] == [str(files["A"])]
        assert [d.item for d in st.decisions()] == [1]
        st.decide(2, "reject")  # still decidable: the boxes are in the store
