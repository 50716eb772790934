"""The review store's SQLite schema (version :data:`SCHEMA_VERSION` in ``PRAGMA user_version``).

``images`` and ``items`` are written when the store is made (and appended by watch-folder
inspection, :mod:`grace.deploy.inspect`); ``decisions`` and ``inspections`` are append-only
logs. Triggers refuse every UPDATE and DELETE, so that nothing recorded can change in place,
whoever opens the file.

Versions: 1 (images, items, decisions); 2 adds ``inspections`` (one row per file a watch-folder
inspection took: its verdict or why it could not be inspected). A version-1 store is upgraded
in place by :data:`UPGRADES` when it is opened for writing (one transaction; nothing existing
changes).
"""

from __future__ import annotations

SCHEMA_VERSION = 2
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

INSPECTIONS = """
CREATE TABLE inspections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL,              -- absolute path of the file in the watched folder
    size INTEGER,                    -- the file as taken (NULL: gone before it could be read)
    mtime_ns INTEGER,
    sha256 TEXT,                     -- of the bytes inspected (and copied to the NG folder)
    status TEXT NOT NULL,            -- OK, NG, corrupt, vanished
    detail TEXT NOT NULL,            -- why corrupt or vanished, or a note (else '')
    width INTEGER,
    height INTEGER,
    detections TEXT NOT NULL,        -- JSON [{"class", "confidence", "box"}] at the thresholds
    uncertain INTEGER NOT NULL,      -- review items added (uncertain queue, near_threshold)
    image_id INTEGER REFERENCES images(id),  -- the review image of those items, or NULL
    ng_copy TEXT,                    -- the copy in the NG folder, or NULL
    model_path TEXT NOT NULL,
    model_sha256 TEXT NOT NULL,
    thresholds TEXT NOT NULL,        -- JSON {"conf", "per_class": {name: value}}
    latency_ms REAL,                 -- decode + predict of this image
    at TEXT NOT NULL                 -- UTC ISO 8601
);
CREATE INDEX inspections_path ON inspections(path);
"""


def _frozen(tables: tuple[str, ...]) -> list[str]:
    return [
        f"CREATE TRIGGER {t}_no_{op} BEFORE {op.upper()} ON {t} "
        f"BEGIN SELECT RAISE(ABORT, '{t} rows are never changed'); END;"
        for t in tables
        for op in ("update", "delete")
    ]


TABLES = TABLES + INSPECTIONS
TRIGGERS = "\n".join(_frozen(("meta", "images", "items", "decisions", "inspections")))
# the statements that take a store from version k to k + 1
UPGRADES = {1: [s + ";" for s in INSPECTIONS.split(";") if s.strip()] + _frozen(("inspections",))}
