"""``grace review export``: the reviewed images as a new YOLO dataset.

The images that carry at least one decision (or an ``ok`` on the image) are written to
``OUT/images/train`` (hard-linked to their source where the file system allows, else copied)
with labels = their starting labels (ground truth, or the detections at their thresholds for
unlabelled images) corrected by the decisions (:func:`grace.review.decisions.image_labels`).
Without ``merge`` the val entry of ``data.yaml`` names the same folder (there is no held-out
split; said in the manifest). With ``merge``, the dataset's own splits are copied (linked) first
and the reviewed images are added to its train split. ``manifest.json`` records the source, the
decision counts and the SHA-256 of every image and label written. The whole dataset is built in
a temporary sibling folder, renamed to ``OUT`` at the end; the source is only read.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from grace.data.images import sha256_file
from grace.errors import GraceError
from grace.fileio import atomic_path, atomic_write_json, atomic_write_text
from grace.review import decisions as dec
from grace.review.store import ReviewStore, now_iso

FORMAT = "grace review export 1"


def yolo_lines(labels: list[dict], names: list[str], width: int, height: int) -> str:
    """Label-file text: ``class cx cy w h`` (normalised, 6 decimals), one line per label."""
    out = []
    for lab in labels:
        x1, y1, x2, y2 = (float(v) for v in lab["box"])
        cx, cy = (x1 + x2) / 2 / width, (y1 + y2) / 2 / height
        w, h = (x2 - x1) / width, (y2 - y1) / height
        out.append(f"{names.index(lab['class'])} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n")
    return "".join(out)


def _place(src: Path, dst: Path) -> str:
    """Hard-link ``src`` at ``dst``, else copy it (atomically); returns how."""
    try:
        os.link(src, dst)
        return "hardlink"
    except OSError:
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
        return "copy"


class _Writer:
    """Files written into the export, each recorded with its SHA-256."""

    def __init__(self, root: Path) -> None:
        self.root, self.files, self.names = root, [], set()

    def free(self, folder: str, name: str, prefix: str) -> str:
        rel = f"{folder}/{name}"
        n = 1
        while rel in self.names:
            rel = f"{folder}/{prefix}{'' if n == 1 else n}_{name}"
            n += 1
        self.names.add(rel)
        return rel

    def image(self, src: Path, rel: str, **info: Any) -> None:
        dst = self.root / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        how = _place(src, dst)
        self.files.append({"path": rel, "sha256": sha256_file(dst), "source": str(src),
                           "how": how, **info})  # fmt: skip

    def drop_train_copy(self, sha: str) -> list[str]:
        """Remove a merged train image with these bytes (and its label): the reviewed copy
        replaces it. Returns the paths removed."""
        hit = [f for f in self.files if f.get("origin") == "merge" and f.get("split") == "train"
               and f["sha256"] == sha and "how" in f]  # fmt: skip
        gone = [f["path"] for f in hit] + [_label_rel(f["path"]) for f in hit]
        for rel in gone:
            (self.root / rel).unlink(missing_ok=True)
        self.files = [f for f in self.files if f["path"] not in gone]
        return gone

    def text(self, rel: str, text: str, **info: Any) -> None:
        dst = self.root / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(dst, text)
        self.files.append({"path": rel, "sha256": sha256_file(dst), **info})

    def raw(self, src: Path, rel: str, **info: Any) -> None:
        dst = self.root / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
        self.files.append({"path": rel, "sha256": sha256_file(dst), "source": str(src), **info})


def _label_rel(image_rel: str) -> str:
    folder, _, name = image_rel.partition("/")  # "images/<split>/<name>"
    return "labels/" + name.rsplit(".", 1)[0] + ".txt"


def _copy_dataset(w: _Writer, merge: str) -> tuple[dict[str, str], list[str], dict[str, str]]:
    """Link the splits of ``merge`` into the export; returns split -> folder, the class
    names, and the SHA-256 of every val/test image (to find reviewed images also there)."""
    from grace.data.yolo_layout import find_label, read_yolo_dataset

    ds = read_yolo_dataset(merge)
    held_out: dict[str, str] = {}
    for split, (folder, images) in ds.splits.items():
        for img in images:
            rel = w.free(f"images/{split}", str(img.relative_to(folder)).replace(os.sep, "_"), "")
            w.image(img, rel, split=split, origin="merge")
            if split != "train":
                held_out[w.files[-1]["sha256"]] = rel
            label = find_label(img)
            if label is not None:
                w.raw(label, _label_rel(rel), split=split, origin="merge")
    return {s: f"images/{s}" for s in ds.splits}, ds.names, held_out


def export_store(store: str | Path, out: str | Path, merge: str | None = None) -> dict[str, Any]:
    """Write the export (module rules) and return its manifest."""
    out = Path(out)
    if out.exists():
        raise GraceError(f"{out}: exists; export writes a new folder (choose another OUT)")
    if not out.parent.is_dir():
        raise GraceError(f"{out.parent}: folder not found")
    with ReviewStore(store, read_only=True) as st:
        names, meta = st.names, st.meta
        log = st.decisions()
        stacks = dec.standing(log)
        rows = st._conn.execute("SELECT id, image_id, label_index FROM items").fetchall()
        images = [st.image(i) for i in sorted({r[1] for r in rows})]
    per_image: dict[int, dict[int, int | None]] = {}
    for item, image, index in rows:
        per_image.setdefault(image, {})[item] = index
    tmp = out.parent / f".{out.name}.tmp-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        w = _Writer(tmp)
        splits, problems, overlap = {"train": "images/train"}, [], []
        held_out: dict[str, str] = {}
        if merge:
            splits, merge_names, held_out = _copy_dataset(w, merge)
            if merge_names != names:
                raise GraceError(f"{merge}: classes {merge_names} differ from the store's {names}")
            if "val" not in splits:
                splits["val"] = splits["train"]
        reviewed, replaced = 0, []
        for im in images:
            items = per_image[im["id"]]
            if not any(stacks.get(i) and stacks[i][-1].action != "skip" for i in items):
                continue
            reviewed += 1
            src = Path(im["path"])
            if not src.is_file():
                problems.append(
                    {
                        "file": str(src),
                        "kind": "missing_image",
                        "detail": "not found: not exported (its decisions are kept)",
                    }
                )
                continue  # fmt: skip
            if im["sha256"] and sha256_file(src) != im["sha256"]:
                problems.append({"file": str(src), "kind": "image_changed",
                                 "detail": "bytes differ from when the store was made: not "
                                 "exported (its boxes may not fit)"})  # fmt: skip
                continue
            labels = dec.image_labels(im["labels"], items, stacks)
            replaced.extend(w.drop_train_copy(im["sha256"] or sha256_file(src)))
            rel = w.free("images/train", src.name, "reviewed")
            w.image(src, rel, split="train", origin="review", image_id=im["id"])
            if w.files[-1]["sha256"] in held_out:
                overlap.append({"image": rel, "also": held_out[w.files[-1]["sha256"]]})
            w.text(_label_rel(rel), yolo_lines(labels, names, im["width"], im["height"]),
                   split="train", origin="review", boxes=len(labels))  # fmt: skip
        exported = sum(f.get("origin") == "review" and "how" in f for f in w.files)
        if not exported:
            raise GraceError(f"{store}: no reviewed image to export (decide on some items first)"
                             + (f"; {len(problems)} reviewed images missing or changed"
                                if problems else ""))  # fmt: skip
        data = {"path": str(out.absolute()), "train": splits["train"],
                "val": splits.get("val", splits["train"]),
                **({"test": splits["test"]} if "test" in splits else {}),
                "names": dict(enumerate(names))}  # fmt: skip
        atomic_write_text(tmp / "data.yaml", yaml.safe_dump(data, sort_keys=False,
                                                            allow_unicode=True))  # fmt: skip
        standing = [d for s in stacks.values() for d in s]
        manifest = {
            "format": FORMAT, "created": now_iso(), "store": str(Path(store).absolute()),
            "source": meta.get("source"), "model": meta.get("model"), "merge": merge,
            "val": "the merged dataset's own val split" if merge else
                   "the reviewed images themselves (no held-out split; use --merge DATA)",
            "decisions": dict(Counter(d.action for d in standing)),
            "decisions_logged": len(log), "images_in_store": len(images),
            "images_reviewed": reviewed, "images_exported": exported,
            "images_not_reviewed": len(images) - reviewed, "problems": problems,
            "reviewed_also_held_out": overlap, "replaced_in_train": replaced, "files": w.files,
        }  # fmt: skip
        atomic_write_json(tmp / "manifest.json", manifest)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest
