"""The review store: one SQLite file (stdlib ``sqlite3``, WAL, ``synchronous=FULL``).

:func:`create_store` writes a new store atomically (built beside the target, renamed at the
end). :class:`ReviewStore` opens one: listing, the next open item, decisions, history and
statistics, with no session state of its own, so that the CLI, the GUI and several processes
can use one file at once. A decision is committed (and fsynced by SQLite) before
:meth:`ReviewStore.decide` returns. A store made by a newer schema, a file that is not a store,
and a decision on a read-only store are each a one-line :class:`~grace.errors.GraceError`.
"""

from __future__ import annotations

import getpass
import json
import os
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from grace.errors import GraceError
from grace.fileio import atomic_path
from grace.review import decisions as dec
from grace.review.schema import APPLICATION_ID, SCHEMA_VERSION, TABLES, TRIGGERS, UPGRADES

STATUSES = ("open", "done", "skipped")


@dataclass
class ImageEntry:
    """An image as a queue builder hands it to :func:`create_store`."""

    path: str
    width: int
    height: int
    labels: list[dict]
    labels_source: str  # "ground_truth" or "model"
    detections: list[dict] = field(default_factory=list)
    label_file: str | None = None
    sha256: str | None = None


@dataclass
class ItemEntry:
    """An item as a queue builder hands it to :func:`create_store` (``image``: index into the
    image list; see :mod:`grace.review.decisions` for ``label_index`` and the outcomes)."""

    image: int
    queue: str
    kind: str
    rank: float
    cls: str
    box: list[float]
    confidence: float | None = None
    label_index: int | None = None
    on_accept: dict | None = None
    on_reject: dict | None = None
    model_path: str = ""
    model_sha256: str = ""
    thresholds: dict = field(default_factory=dict)
    detail: dict = field(default_factory=dict)


@dataclass
class Item:
    """An item with its current state (what a list or a review view shows)."""

    id: int
    image_id: int
    image: str
    width: int
    height: int
    queue: str
    kind: str
    rank: float
    cls: str
    confidence: float | None
    box: list[float]
    label_index: int | None
    initial: dict | None
    on_accept: dict | None
    on_reject: dict | None
    model_path: str
    model_sha256: str
    thresholds: dict
    detail: dict
    status: str = "open"
    last_action: str | None = None
    current: dict | None = None
    missing: bool = False

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["class"] = d.pop("cls")
        return d


def _j(x: Any) -> str | None:
    return None if x is None else json.dumps(x, allow_nan=False)


def _u(x: str | None) -> Any:
    return None if x is None else json.loads(x)


def now_iso() -> str:
    """UTC now, ISO 8601 with microseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _setup(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # in WAL: every commit is fsynced
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")


def upgrade(conn: sqlite3.Connection) -> int:
    """Bring an older store to :data:`SCHEMA_VERSION` in one transaction (tables are added,
    nothing existing changes); returns the version it found. Several openers at once: the
    first upgrades, the others find it done."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = version = conn.execute("PRAGMA user_version").fetchone()[0]
        while version < SCHEMA_VERSION:
            for statement in UPGRADES[version]:
                conn.execute(statement)
            version += 1
            conn.execute(f"PRAGMA user_version={version}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found


def create_store(
    path: str | Path, meta: dict[str, Any], images: list[ImageEntry], items: list[ItemEntry]
) -> Path:
    """Write a new store at ``path`` (which must not exist) holding ``images`` and ``items``.

    ``meta`` (JSON-ready values) must hold ``names`` (the class names, id order). The file is
    built beside ``path`` and renamed at the end: a failure leaves no half store.
    """
    path = Path(path)
    if path.exists():
        raise GraceError(f"{path}: exists; a review store is made once (choose a new file)")
    if not path.parent.is_dir():
        raise GraceError(f"{path.parent}: folder not found")
    with atomic_path(path) as tmp:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.executescript(TABLES + TRIGGERS)
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO meta VALUES (?, ?)",
                             [(k, json.dumps(v)) for k, v in meta.items()])  # fmt: skip
            conn.executemany(
                "INSERT INTO images VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(i + 1, im.path, im.width, im.height, im.sha256, _j(im.labels),
                  im.labels_source, im.label_file, _j(im.detections))
                 for i, im in enumerate(images)],
            )  # fmt: skip
            conn.executemany(
                "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(n + 1, it.image + 1, it.queue, it.kind, float(it.rank), it.cls,
                  it.confidence, _j(it.box), it.label_index,
                  _j(images[it.image].labels[it.label_index]) if it.label_index is not None
                  else None, _j(it.on_accept), _j(it.on_reject), it.model_path,
                  it.model_sha256, _j(it.thresholds), _j(it.detail))
                 for n, it in enumerate(items)],
            )  # fmt: skip
            conn.execute("COMMIT")
            conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute("PRAGMA journal_mode=WAL")  # kept in the file: every opener uses WAL
        finally:
            conn.close()
    return path


class ReviewStore:
    """An open review store. Use as a context manager, or call :meth:`close`.

    Parameters
    ----------
    path
        The store file.
    read_only
        ``None`` (default): read-only when the file or its folder is not writable; ``True``
        opens it read-only (listing works, deciding is refused).
    """

    def __init__(self, path: str | Path, read_only: bool | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise GraceError(f"{self.path}: no review store here (make one with grace review new)")
        if read_only is None:
            read_only = not (os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK))
        self.read_only = read_only
        self._conn = self._connect()
        try:
            self._check()
            self.meta = {k: json.loads(v) for k, v in self._conn.execute("SELECT * FROM meta")}
        except sqlite3.DatabaseError as e:
            self._conn.close()
            raise GraceError(f"{self.path}: not a review store (not a readable SQLite file: "
                             f"{e})") from None  # fmt: skip
        except BaseException:
            self._conn.close()
            raise
        self.names: list[str] = list(self.meta.get("names", []))

    # -- opening -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if not self.read_only:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=10)
            return conn
        uri = f"file:{quote(str(self.path.resolve()))}"
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, timeout=10)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:  # WAL in a folder we cannot write: read the file as is
            conn.close()
            return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None)

    def _check(self) -> None:
        c = self._conn
        app = c.execute("PRAGMA application_id").fetchone()[0]
        version = c.execute("PRAGMA user_version").fetchone()[0]
        if app != APPLICATION_ID:
            raise GraceError(f"{self.path}: not a GRACE review store")
        if version > SCHEMA_VERSION:
            raise GraceError(
                f"{self.path}: made by a newer GRACE (store schema {version}, this one reads up "
                f"to {SCHEMA_VERSION}); update GRACE to open it (the store is left as it is)"
            )
        if not self.read_only:
            _setup(c)
            if version < SCHEMA_VERSION:
                upgrade(c)
        self.version = c.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ReviewStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------
    def decisions(self, item: int | None = None) -> list[dec.Decision]:
        """The decision log (of one item, or all), in commit order."""
        sql = "SELECT id, item_id, action, who, at, before, after, undoes FROM decisions"
        rows = self._conn.execute(
            sql + (" WHERE item_id=? ORDER BY id" if item is not None else " ORDER BY id"),
            () if item is None else (item,),
        )
        return [dec.Decision(r[0], r[1], r[2], r[3], r[4], _u(r[5]), _u(r[6]), r[7])
                for r in rows]  # fmt: skip

    def _stacks(self) -> dict[int, list[dec.Decision]]:
        return dec.standing(self.decisions())

    def _ok_images(self, stacks: dict[int, list[dec.Decision]]) -> set[int]:
        ids = [i for i, s in stacks.items() if any(d.action == "ok" for d in s)]
        if not ids:
            return set()
        q = f"SELECT DISTINCT image_id FROM items WHERE id IN ({','.join('?' * len(ids))})"
        return {r[0] for r in self._conn.execute(q, ids)}

    _ITEM_SQL = (
        "SELECT i.id, i.image_id, m.path, m.width, m.height, i.queue, i.kind, i.rank, i.class, "
        "i.confidence, i.box, i.label_index, i.initial, i.on_accept, i.on_reject, i.model_path, "
        "i.model_sha256, i.thresholds, i.detail FROM items i JOIN images m ON m.id = i.image_id"
    )

    def _item(self, r: tuple, stacks: dict, ok_images: set[int]) -> Item:
        it = Item(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], _u(r[10]), r[11],
                  _u(r[12]), _u(r[13]), _u(r[14]), r[15], r[16], _u(r[17]), _u(r[18]))  # fmt: skip
        stack = stacks.get(it.id, [])
        it.status = dec.status_of(stack, it.image_id in ok_images)
        it.last_action = stack[-1].action if stack else None
        it.current = dec.current_label(stack, it.initial)
        it.missing = not os.path.exists(it.image)
        return it

    def items(
        self,
        status: str | None = None,
        queue: str | None = None,
        kind: str | None = None,
        cls: str | None = None,
    ) -> list[Item]:
        """Items, worst first (rank, then id), filtered by status, queue, kind and class."""
        if status is not None and status not in STATUSES:
            raise GraceError(f"--status {status!r}: one of {', '.join(STATUSES)}")
        where, args = [], []
        for col, value in (("i.queue", queue), ("i.kind", kind), ("i.class", cls)):
            if value is not None:
                where.append(f"{col}=?")
                args.append(value)
        sql = self._ITEM_SQL + (" WHERE " + " AND ".join(where) if where else "")
        stacks = self._stacks()
        ok = self._ok_images(stacks)
        rows = self._conn.execute(sql + " ORDER BY i.rank DESC, i.id", args)
        out = [self._item(r, stacks, ok) for r in rows]
        return [it for it in out if status is None or it.status == status]

    def item(self, item_id: int) -> Item:
        """One item with its state; a :class:`GraceError` when there is no such item."""
        r = self._conn.execute(self._ITEM_SQL + " WHERE i.id=?", (int(item_id),)).fetchone()
        if r is None:
            n = self._conn.execute("SELECT count(*) FROM items").fetchone()[0]
            raise GraceError(f"{self.path}: no item {item_id} (items are 1..{n})")
        stacks = dec.standing(self.decisions_of_image(r[1]))
        return self._item(r, stacks, self._ok_images(stacks))

    def decisions_of_image(self, image_id: int) -> list[dec.Decision]:
        """The log of every item of one image, in commit order."""
        rows = self._conn.execute(
            "SELECT d.id, d.item_id, d.action, d.who, d.at, d.before, d.after, d.undoes "
            "FROM decisions d JOIN items i ON i.id = d.item_id WHERE i.image_id=? ORDER BY d.id",
            (image_id,),
        )
        return [dec.Decision(r[0], r[1], r[2], r[3], r[4], _u(r[5]), _u(r[6]), r[7])
                for r in rows]  # fmt: skip

    def next_open(self, after: int | None = None, queue: str | None = None,
                  cls: str | None = None) -> Item | None:  # fmt: skip
        """The first open item in review order (after item ``after`` when given, wrapping
        round), or None when every item is done or skipped."""
        stacks = self._stacks()
        ok = self._ok_images(stacks)
        closed = {i for i, s in stacks.items() if s}
        where, args = [], []
        for col, value in (("queue", queue), ("class", cls)):
            if value is not None:
                where.append(f"{col}=?")
                args.append(value)
        sql = "SELECT id, image_id FROM items" + (" WHERE " + " AND ".join(where) if where else "")
        ranked = self._conn.execute(sql + " ORDER BY rank DESC, id", args).fetchall()
        pos = {i: n for n, (i, _) in enumerate(ranked)}
        here = pos.get(int(after), -1) if after is not None else -1
        order = [i for i, img in ranked if i not in closed and img not in ok]
        if not order:
            return None
        order.sort(key=lambda i: (pos[i] <= here, pos[i]))  # after ``after``, then wrap round
        return self.item(order[0])

    def image(self, image_id: int) -> dict[str, Any]:
        """An image row: path, size, SHA-256, starting labels and their source, detections,
        and ``labels_now`` (the starting labels with the standing decisions applied)."""
        r = self._conn.execute("SELECT * FROM images WHERE id=?", (image_id,)).fetchone()
        if r is None:
            raise GraceError(f"{self.path}: no image {image_id}")
        keys = ("id", "path", "width", "height", "sha256", "labels", "labels_source",
                "label_file", "detections")  # fmt: skip
        d = dict(zip(keys, r, strict=True))
        d["labels"], d["detections"] = _u(d["labels"]), _u(d["detections"])
        items = dict(self._conn.execute("SELECT id, label_index FROM items WHERE image_id=?",
                                        (image_id,)).fetchall())  # fmt: skip
        stacks = dec.standing(self.decisions_of_image(image_id))
        d["labels_now"] = dec.image_labels(d["labels"], items, stacks)
        d["missing"] = not os.path.exists(d["path"])
        return d

    def image_ids(self) -> list[int]:
        return [r[0] for r in self._conn.execute("SELECT id FROM images ORDER BY id")]

    # -- deciding ------------------------------------------------------------------------
    def decide(
        self,
        item_id: int,
        action: str,
        cls: str | None = None,
        box: list[float] | None = None,
        who: str | None = None,
    ) -> dec.Decision:
        """Record one decision on an item (see :mod:`grace.review.decisions`) and return it,
        committed. ``cls`` for ``class`` and ``add``; ``box`` (x1 y1 x2 y2 pixels) for ``box``
        and ``add``; ``who`` defaults to the OS user."""
        if action not in dec.ACTIONS:
            raise GraceError(f"action {action!r}: one of {', '.join(dec.ACTIONS)}")
        if self.read_only:
            raise GraceError(f"{self.path}: the store is read-only; the decision was not "
                             "recorded (listing works)")  # fmt: skip
        it = self.item(item_id)
        if action in ("class", "add"):
            if cls is None:
                raise GraceError(f"{action}: needs a class name ({', '.join(self.names)})")
            cls = dec.class_name(str(cls), self.names)
        if action in ("box", "add"):
            box = dec.check_box(list(box or []), it.width, it.height)
        who = who or getpass.getuser()
        try:
            self._conn.execute("BEGIN IMMEDIATE")  # the state read and the insert are one step
            try:
                stack = dec.standing(self.decisions(it.id)).get(it.id, [])
                before, after, undoes = None, None, None
                if action == "undo":
                    if not stack:
                        raise GraceError(f"item {it.id}: nothing to undo")
                    undoes = stack[-1].id
                    before, after = stack[-1].after, stack[-1].before
                elif action in dec.LABEL_ACTIONS or action == "add":
                    current = dec.current_label(stack, it.initial)
                    before, after = dec.change(action, current, it.on_accept, it.on_reject,
                                               cls, box)  # fmt: skip
                cur = self._conn.execute(
                    "INSERT INTO decisions (item_id, action, who, at, before, after, undoes) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (it.id, action, who, now_iso(), _j(before), _j(after), undoes),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as e:
            if "readonly" in str(e) or "read-only" in str(e):
                raise GraceError(f"{self.path}: the store is read-only; the decision was not "
                                 "recorded (listing works)") from None  # fmt: skip
            raise GraceError(f"{self.path}: the decision was not recorded ({e})") from None
        row = self._conn.execute("SELECT at FROM decisions WHERE id=?", (cur.lastrowid,))
        return dec.Decision(int(cur.lastrowid), it.id, action, who, row.fetchone()[0], before,
                            after, undoes)  # fmt: skip

    # -- statistics ----------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Done / open / skipped, per action, per class, per kind and per reviewer."""
        items = self.items()
        log = self.decisions()
        stacks = dec.standing(log)
        standing = [d for s in stacks.values() for d in s]
        by_class: dict[str, Counter] = {}
        by_kind: dict[str, Counter] = {}
        for it in items:
            by_class.setdefault(it.cls, Counter())[it.status] += 1
            by_kind.setdefault(it.kind, Counter())[it.status] += 1
        status = Counter(it.status for it in items)
        return {
            "store": str(self.path),
            "read_only": self.read_only,
            "items": len(items),
            "images": len({it.image_id for it in items}),
            **{s: status[s] for s in STATUSES},
            "by_action": dict(Counter(d.action for d in standing)),
            "decisions_logged": len(log),
            "undone": sum(d.action == "undo" for d in log),
            "by_class": {c: {s: n[s] for s in STATUSES} for c, n in sorted(by_class.items())},
            "by_kind": {k: {s: n[s] for s in STATUSES} for k, n in sorted(by_kind.items())},
            "by_reviewer": dict(Counter(d.who for d in standing)),
            "missing_images": sorted({it.image for it in items if it.missing}),
        }
