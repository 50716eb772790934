"""The review store's SQLite schema (version :data:`SCHEMA_VERSION` in ``PRAGMA user_version``).

``images`` and ``items`` are written once, when the store is made; ``decisions`` is an
append-only log. Triggers refuse every UPDATE and DELETE, so that nothing recorded can change in
place, whoever opens the file.
"""

from __future__ import annotations

SCHEMA_VERSION = 1
APPLICATION_ID = 0x47524356  # "GRCV": a GRACE review store

TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,       -- absolute path of the image as found
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    sha256 TEXT,                     -- of the file when the store was made (NULL: not found)
    labels TEXT NOT NULL,            -- JSON: starting labels [{"class", "box"}]
    labels_source TEXT NOT NULL,     -- "ground_truth" or "model"
    label_file TEXT,                 -- the source label file, where known
    detections TEXT NOT NULL         -- JSON: detections [{"class", "confidence", "box"}]
);
CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    image_id INTEGER NOT NULL REFERENCES images(id),
    queue TEXT NOT NULL,             -- errors, uncertain, spot
    kind TEXT NOT NULL,              -- false_positive, miss, class_confusion, ...
    rank REAL NOT NULL,              -- higher = reviewed first
    class TEXT NOT NULL,             -- the class under review (filters)
    confidence REAL,                 -- the detection's score (NULL for a miss)
    box TEXT NOT NULL,               -- JSON [x1, y1, x2, y2]: the box under review
    label_index INTEGER,             -- the starting label the item is about, or NULL
    initial TEXT,                    -- JSON label: that starting label, or NULL
    on_accept TEXT,                  -- JSON label (or NULL) accept leaves
    on_reject TEXT,                  -- JSON label (or NULL) reject leaves
    model_path TEXT NOT NULL,
    model_sha256 TEXT NOT NULL,
    thresholds TEXT NOT NULL,        -- JSON {"conf", "per_class": {name: value}}
    detail TEXT NOT NULL             -- JSON: IoU, ground-truth class, ...
);
CREATE INDEX items_order ON items(rank DESC, id);
CREATE INDEX items_image ON items(image_id);
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER NOT NULL REFERENCES items(id),
    action TEXT NOT NULL,
    who TEXT NOT NULL,
    at TEXT NOT NULL,
    before TEXT,
    after TEXT,
    undoes INTEGER REFERENCES decisions(id)
);
CREATE INDEX decisions_item ON decisions(item_id);
"""

_FROZEN = ("meta", "images", "items", "decisions")
TRIGGERS = "\n".join(
    f"CREATE TRIGGER {t}_no_{op} BEFORE {op.upper()} ON {t} "
    f"BEGIN SELECT RAISE(ABORT, '{t} rows are never changed'); END;"
    for t in _FROZEN
    for op in ("update", "delete")
)
