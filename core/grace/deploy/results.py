"""The results store of watch-folder inspection: the review store's SQLite file
(:mod:`grace.review.store`), with one ``inspections`` row per file taken and the uncertain
detections appended as review items (queue ``uncertain``, kind ``near_threshold``), so that
``grace review list/decide`` and the Review tab work on it as on any review store.

A row and its review items are one transaction: after a kill the file holds each taken image
completely or not at all, and :meth:`ResultsStore.taken` says which ``(path, size, mtime)`` were
taken, so a restart neither repeats nor misses one.
"""

from __future__ import annotations

import getpass
import json
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from grace.errors import GraceError
from grace.review.store import ImageEntry, ItemEntry, ReviewStore, create_store, now_iso

STATUSES = ("OK", "NG", "corrupt", "vanished")


@dataclass
class Inspection:
    """One file taken by the watcher, as recorded (see the ``inspections`` table)."""

    path: str
    status: str  # OK, NG, corrupt, vanished
    detail: str = ""
    size: int | None = None
    mtime_ns: int | None = None
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    detections: list[dict] = field(default_factory=list)  # at the thresholds
    uncertain: int = 0
    image_id: int | None = None
    ng_copy: str | None = None
    model_path: str = ""
    model_sha256: str = ""
    thresholds: dict = field(default_factory=dict)
    latency_ms: float | None = None
    at: str = ""

    @property
    def name(self) -> str:
        return Path(self.path).name

    def line(self) -> str:
        """The human line: ``OK a.jpg 12.3 ms``, ``NG a.jpg scratches 0.81, pits 0.55 15.1 ms``,
        ``CORRUPT a.jpg: why``, ``VANISHED a.jpg: why``."""
        if self.status in ("corrupt", "vanished"):
            return f"{self.status.upper()} {self.name}: {self.detail}"
        ms = f"{self.latency_ms:.1f} ms" if self.latency_ms is not None else ""
        if self.status == "OK":
            return f"OK {self.name} {ms}"
        dets = ", ".join(f"{d['class']} {d['confidence']:.2f}" for d in self.detections)
        return f"NG {self.name} {dets} {ms}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.path, "name": self.name, **{k: v for k, v in asdict(self).items()
                                                         if k != "path"}}  # fmt: skip


_COLUMNS = ("path", "size", "mtime_ns", "sha256", "status", "detail", "width", "height",
            "detections", "uncertain", "image_id", "ng_copy", "model_path", "model_sha256",
            "thresholds", "latency_ms", "at")  # fmt: skip


class ResultsStore:
    """The results store at ``path``, made when missing (``meta``: the store's metadata, with
    ``names``), else opened (upgraded from an older schema) and checked: same classes as the
    model, writable.

    Raises
    ------
    GraceError
        A file that is not a store, a newer schema, other classes, a read-only file.
    """

    def __init__(self, path: str | Path, names: list[str], meta: dict[str, Any]) -> None:
        self.path = Path(path)
        if not self.path.exists():
            meta = {"names": list(names), "queue": "uncertain", "created": now_iso(),
                    "created_by": getpass.getuser(), **meta}  # fmt: skip
            create_store(self.path, meta, [], [])
        with ReviewStore(self.path) as st:  # checks, and upgrades a version-1 store
            if st.read_only:
                raise GraceError(f"{self.path}: the results store is read-only; nothing would "
                                 "be recorded")  # fmt: skip
            if st.names and list(st.names) != list(names):
                raise GraceError(f"{self.path}: a store of classes {st.names}, the model has "
                                 f"{list(names)}")  # fmt: skip
        self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA busy_timeout=30000")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def taken(self) -> set[tuple[str, int, int]]:
        """``(path, size, mtime_ns)`` of every file already taken (a vanished record does not
        count: the file was not there to take)."""
        rows = self._conn.execute(
            "SELECT path, size, mtime_ns FROM inspections WHERE status != 'vanished'"
        )
        return {(r[0], int(r[1]), int(r[2])) for r in rows}

    def has_image(self, path: str) -> bool:
        q = "SELECT 1 FROM images WHERE path=?"
        return self._conn.execute(q, (path,)).fetchone() is not None

    def record(self, row: Inspection, image: ImageEntry | None = None,
               items: list[ItemEntry] | None = None) -> Inspection:  # fmt: skip
        """Append ``row`` (and ``image`` with its review ``items``) in one transaction; sets
        ``row.image_id``, ``row.uncertain`` and ``row.at``; returns ``row``."""
        c = self._conn
        items = items or []
        row.at = row.at or now_iso()
        try:
            c.execute("BEGIN IMMEDIATE")
            try:
                if image is not None and items:
                    cur = c.execute(
                        "INSERT INTO images (path, width, height, sha256, labels, labels_source, "
                        "label_file, detections) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (image.path, image.width, image.height, image.sha256,
                         json.dumps(image.labels), image.labels_source, image.label_file,
                         json.dumps(image.detections)),
                    )  # fmt: skip
                    row.image_id = int(cur.lastrowid)
                    initial = [image.labels[it.label_index] if it.label_index is not None
                               else None for it in items]  # fmt: skip
                    c.executemany(
                        "INSERT INTO items (image_id, queue, kind, rank, class, confidence, box, "
                        "label_index, initial, on_accept, on_reject, model_path, model_sha256, "
                        "thresholds, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [(row.image_id, it.queue, it.kind, float(it.rank), it.cls, it.confidence,
                          json.dumps(it.box), it.label_index, _j(ini), _j(it.on_accept),
                          _j(it.on_reject), it.model_path, it.model_sha256,
                          json.dumps(it.thresholds), json.dumps(it.detail))
                         for it, ini in zip(items, initial, strict=True)],
                    )  # fmt: skip
                    row.uncertain = len(items)
                values = {**asdict(row), "detections": json.dumps(row.detections),
                          "thresholds": json.dumps(row.thresholds)}  # fmt: skip
                c.execute(
                    f"INSERT INTO inspections ({', '.join(_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                    [values[k] for k in _COLUMNS],
                )
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as e:
            raise GraceError(f"{self.path}: {row.path} was not recorded ({e})") from None
        return row

    def rows(self) -> list[Inspection]:
        """Every inspection row, in the order recorded."""
        cur = self._conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM inspections ORDER BY id")
        out = []
        for r in cur:
            d = dict(zip(_COLUMNS, r, strict=True))
            d["detections"], d["thresholds"] = (
                json.loads(d["detections"]),
                json.loads(d["thresholds"]),
            )
            out.append(Inspection(**d))
        return out


def _j(x: Any) -> str | None:
    return None if x is None else json.dumps(x)
