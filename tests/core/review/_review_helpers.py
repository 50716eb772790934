"""A small review store made by hand: real image files, items whose outcomes are written out."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from grace.review.store import ImageEntry, ItemEntry, create_store

NAMES = ["crack", "dent"]


def png(path: Path, width: int, height: int, value: int) -> Path:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full((height, width, 3), value, np.uint8)
    img[: height // 2, : width // 2] = 255 - value
    ok, buf = cv2.imencode(".png", img)
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def lab(cls: str, *box: float) -> dict:
    return {"class": cls, "box": [float(v) for v in box]}


def tree_hash(root: Path) -> str:
    """One hash of every file's relative path and bytes under ``root``."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def hand_store(tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    """Images A (100x80, labelled), B (64x64, unlabelled), C (50x50, labelled), D (40x40)
    under ``tmp_path/src`` and a store ``tmp_path/r.db`` with items 1..7:

    1 A false positive dent (60,5,80,20) 0.9; 2 A miss of GT 1 dent (50,40,90,70);
    3 A poor localisation of GT 0 crack (10,10,40,30) by (12,12,44,34);
    4 B near-threshold crack (5,5,25,25) 0.55 in the starting labels;
    5 B near-threshold dent (30,30,60,60) 0.45 under its threshold;
    6 C false positive crack (20,20,30,30); 7 D false positive dent (1,1,9,9).
    """
    src = tmp_path / "src"
    files = {k: png(src / "images" / f"{k}.png", w, h, v)
             for k, w, h, v in (("A", 100, 80, 10), ("B", 64, 64, 60), ("C", 50, 50, 110),
                                ("D", 40, 40, 160))}  # fmt: skip
    gt_a = [lab("crack", 10, 10, 40, 30), lab("dent", 50, 40, 90, 70)]
    images = [
        ImageEntry(str(files["A"]), 100, 80, gt_a, "ground_truth", [], sha256=sha(files["A"])),
        ImageEntry(str(files["B"]), 64, 64, [lab("crack", 5, 5, 25, 25)], "model",
                   [], sha256=sha(files["B"])),
        ImageEntry(str(files["C"]), 50, 50, [lab("crack", 1, 1, 10, 10)], "ground_truth", [],
                   sha256=sha(files["C"])),
        ImageEntry(str(files["D"]), 40, 40, [], "ground_truth", [], sha256=sha(files["D"])),
    ]  # fmt: skip
    fp = lab("dent", 60, 5, 80, 20)
    poor = lab("crack", 12, 12, 44, 34)
    b4, b5 = lab("crack", 5, 5, 25, 25), lab("dent", 30, 30, 60, 60)
    common = dict(model_path="/m.pt", model_sha256="0" * 64, thresholds={"conf": 0.5})
    items = [
        ItemEntry(0, "errors", "false_positive", 0.9, "dent", fp["box"], 0.9, None, fp, None,
                  **common),
        ItemEntry(0, "errors", "miss", 0.5, "dent", gt_a[1]["box"], None, 1, gt_a[1], None,
                  **common),
        ItemEntry(0, "errors", "poor_localisation", 0.3, "crack", poor["box"], 0.7, 0,
                  {"class": "crack", "box": poor["box"]}, gt_a[0], **common),
        ItemEntry(1, "uncertain", "near_threshold", 0.5, "crack", b4["box"], 0.55, 0, b4, None,
                  **common),
        ItemEntry(1, "uncertain", "near_threshold", 0.5, "dent", b5["box"], 0.45, None, b5,
                  None, **common),
        ItemEntry(2, "errors", "false_positive", 0.2, "crack", [20, 20, 30, 30], 0.6, None,
                  lab("crack", 20, 20, 30, 30), None, **common),
        ItemEntry(3, "errors", "false_positive", 0.1, "dent", [1, 1, 9, 9], 0.4, None,
                  lab("dent", 1, 1, 9, 9), None, **common),
    ]  # fmt: skip
    store = create_store(tmp_path / "r.db", {"names": NAMES, "source": {"data": str(src)}},
                         images, items)  # fmt: skip
    return store, files


def decide_all(st) -> None:
    """The scripted decisions whose export the tests compute by hand."""
    st.decide(1, "accept")
    st.decide(2, "reject")
    st.decide(3, "box", box=[11, 11, 41, 31])
    st.decide(4, "reject")
    st.decide(5, "class", cls="crack")
    st.decide(5, "undo")
    st.decide(5, "accept")
    st.decide(6, "ok")
    st.decide(6, "add", cls="crack", box=[2, 2, 12, 12])
    st.decide(7, "skip")
