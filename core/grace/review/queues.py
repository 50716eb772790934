"""Review queues from per-image records (pure; no I/O): what to look at, ranked worst first.

- ``errors`` (labelled images, at the operating thresholds, IoU 0.5, the matching rules of
  :func:`grace.eval.errors.image_errors`): ``false_positive`` (rank: its confidence),
  ``class_confusion`` (a detection that took a missed box of another class; rank: confidence),
  ``miss`` (a ground-truth box nobody found; rank: sqrt of its share of the image area, so the
  largest miss comes first) and ``poor_localisation`` (a matched pair with IoU below 0.75; rank:
  its confidence times ``(0.75 - IoU) / 0.25``). Every rank lies in [0, 1].
- ``uncertain`` (unlabelled images): ``near_threshold``, each detection whose score lies within
  ``band`` of its class's threshold (rank ``1 - |score - threshold| / band``: closest first);
  ``disagreement``, a detection one model keeps and the other does not match (same class, IoU
  >= 0.5; rank: its confidence).
- ``spot``: a seeded random sample of ``ceil(fraction * N)`` of the N confident detections
  (score >= threshold + band), ranked in the order drawn.

Starting labels: the ground truth of a labelled image; for an unlabelled one, the detections at
or above their class threshold (what the model reports as deployed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from grace.eval.errors import image_errors
from grace.eval.matching import greedy_assign
from grace.eval.records import ImageRecord
from grace.infer.thresholds import ClassThresholds
from grace.review.store import ImageEntry, ItemEntry

POOR_IOU = 0.75


def _lab(names: Sequence[str], c: int, box) -> dict:
    return {"class": str(names[int(c)]), "box": [round(float(v), 2) for v in box]}


def _det(names: Sequence[str], c: int, s: float, box) -> dict:
    return {**_lab(names, c, box), "confidence": round(float(s), 5)}


def _kept(rec: ImageRecord, th: ClassThresholds) -> ImageRecord:
    k = th.keep(rec.scores, rec.classes)
    return ImageRecord(rec.file, rec.width, rec.height, rec.gt_boxes, rec.gt_classes,
                       rec.boxes[k], rec.scores[k], rec.classes[k])  # fmt: skip


def errors_queue(
    records: Sequence[ImageRecord], names: Sequence[str], th: ClassThresholds, iou: float = 0.5
) -> tuple[list[ImageEntry], list[ItemEntry]]:
    """Images with at least one error and their error items (module rules)."""
    images: list[ImageEntry] = []
    items: list[ItemEntry] = []
    for rec in records:
        r = _kept(rec, th)
        e = image_errors(r, conf=0.0, iou=iou)
        gt = [_lab(names, c, b) for c, b in zip(r.gt_classes, r.gt_boxes, strict=True)]
        mine: list[ItemEntry] = []
        n = len(images)
        for fp in e["false_positives"]:
            det = _lab(names, fp["class"], fp["box"])
            common = dict(image=n, queue="errors", rank=fp["confidence"], cls=det["class"],
                          box=det["box"], confidence=fp["confidence"])  # fmt: skip
            if fp["kind"] == "class_confusion" and fp["takes_missed_gt"]:
                g = fp["gt"]
                mine.append(ItemEntry(
                    kind="class_confusion", label_index=g,
                    on_accept={"class": det["class"], "box": gt[g]["box"]}, on_reject=gt[g],
                    detail={"gt_class": gt[g]["class"], "iou": fp["iou"]}, **common))  # fmt: skip
            else:
                detail = {"fp_kind": fp["kind"]}
                if "gt" in fp:
                    detail.update(gt_class=gt[fp["gt"]]["class"], iou=fp["iou"])
                mine.append(ItemEntry(kind="false_positive", on_accept=det, on_reject=None,
                                      detail=detail, **common))  # fmt: skip
        for m in e["misses"]:
            if m["taken_by"] is not None:  # the class-confusion item covers it
                continue
            g = m["gt"]
            x1, y1, x2, y2 = gt[g]["box"]
            share = max(0.0, (x2 - x1) * (y2 - y1)) / max(1, r.width * r.height)
            mine.append(ItemEntry(image=n, queue="errors", kind="miss",
                                  rank=round(math.sqrt(min(1.0, share)), 6), cls=gt[g]["class"],
                                  box=gt[g]["box"], label_index=g, on_accept=gt[g],
                                  on_reject=None, detail={}))  # fmt: skip
        for t in e["matches"]:
            if t["iou"] >= POOR_IOU:
                continue
            g = t["gt"]
            pred = _lab(names, t["class"], t["pred_box"])
            mine.append(ItemEntry(
                image=n, queue="errors", kind="poor_localisation",
                rank=round(t["confidence"] * (POOR_IOU - t["iou"]) / (POOR_IOU - iou), 6),
                cls=pred["class"],
                box=pred["box"], confidence=t["confidence"], label_index=g,
                on_accept={"class": gt[g]["class"], "box": pred["box"]}, on_reject=gt[g],
                detail={"iou": t["iou"], "gt_box": gt[g]["box"]}))  # fmt: skip
        if mine:
            dets = [_det(names, c, s, b) for c, s, b in zip(r.classes, r.scores, r.boxes,
                                                            strict=True)]  # fmt: skip
            images.append(ImageEntry(rec.file, rec.width, rec.height, gt, "ground_truth", dets))
            items.extend(mine)
    return images, items


def _limits(th: ClassThresholds, classes: np.ndarray) -> np.ndarray:
    limit = np.full(len(classes), th.conf, dtype=float)
    for c, t in th.per_class.items():
        limit[classes == c] = t
    return limit


def _unlabelled(rec: ImageRecord, names, th: ClassThresholds, band: float):
    """Detections shown (score >= threshold - band), starting labels (>= threshold) and the
    index of each shown detection in those labels (or None)."""
    limit = _limits(th, rec.classes)
    shown = np.flatnonzero(rec.scores >= limit - band)
    dets, labels, where = [], [], {}
    for j in shown:
        dets.append(_det(names, rec.classes[j], rec.scores[j], rec.boxes[j]))
        if rec.scores[j] >= limit[j]:
            where[int(j)] = len(labels)
            labels.append(_lab(names, rec.classes[j], rec.boxes[j]))
    return ImageEntry(rec.file, rec.width, rec.height, labels, "model", dets), where, limit


def uncertain_queue(
    records: Sequence[ImageRecord], names: Sequence[str], th: ClassThresholds, band: float
) -> tuple[list[ImageEntry], list[ItemEntry]]:
    """Detections within ``band`` of their class threshold (module rules)."""
    images: list[ImageEntry] = []
    items: list[ItemEntry] = []
    for rec in records:
        im, where, limit = _unlabelled(rec, names, th, band)
        mine = []
        for j in range(len(rec.scores)):
            gap = abs(float(rec.scores[j]) - float(limit[j]))
            if gap > band + 1e-12:
                continue
            det = _lab(names, rec.classes[j], rec.boxes[j])
            mine.append(ItemEntry(
                image=len(images), queue="uncertain", kind="near_threshold",
                rank=round(1.0 - gap / band, 6) if band > 0 else 1.0, cls=det["class"],
                box=det["box"], confidence=round(float(rec.scores[j]), 5),
                label_index=where.get(j), on_accept=det, on_reject=None,
                detail={"threshold": round(float(limit[j]), 6)}))  # fmt: skip
        if mine:
            images.append(im)
            items.extend(mine)
    return images, items


def disagreement_queue(
    records_a: Sequence[ImageRecord],
    records_b: Sequence[ImageRecord],
    names: Sequence[str],
    th: ClassThresholds,
    model_b: tuple[str, str] = ("", ""),
    iou: float = 0.5,
) -> tuple[list[ImageEntry], list[ItemEntry]]:
    """Detections (at their thresholds) of model A that model B does not match, and the
    reverse; ``records_b`` are matched to ``records_a`` by file; ``model_b`` is B's (path,
    SHA-256), recorded on B's items (A's are filled in by the caller like every item)."""
    by_file = {r.file: r for r in records_b}
    images: list[ImageEntry] = []
    items: list[ItemEntry] = []
    for ra in records_a:
        rb = by_file.get(ra.file)
        if rb is None:
            continue
        a, b = _kept(ra, th), _kept(rb, th)
        im, where, _ = _unlabelled(ra, names, th, 0.0)
        mine = []
        for x, y, who in ((a, b, "a"), (b, a, "b")):
            found = np.zeros(len(x.scores), dtype=bool)
            for c in np.unique(x.classes):
                ix, iy = np.flatnonzero(x.classes == c), np.flatnonzero(y.classes == c)
                # y plays ground truth: x's detections it matches are found
                got = greedy_assign(x.boxes[ix], y.boxes[iy], y.scores[iy], iou)
                found[ix[got[got >= 0]]] = True
            for j in np.flatnonzero(~found):
                det = _lab(names, x.classes[j], x.boxes[j])
                index = None
                if who == "a":  # A's kept detections are the starting labels, in order
                    index = where[_orig(ra, th, int(j))]
                extra = {} if who == "a" else {"model_path": model_b[0],
                                               "model_sha256": model_b[1]}  # fmt: skip
                mine.append(ItemEntry(
                    image=len(images), queue="uncertain", kind="disagreement",
                    rank=round(float(x.scores[j]), 6), cls=det["class"], box=det["box"],
                    confidence=round(float(x.scores[j]), 5), label_index=index,
                    on_accept=det, on_reject=None, detail={"only_in": who}, **extra))  # fmt: skip
        if mine:
            images.append(im)
            items.extend(mine)
    return images, items


def _orig(rec: ImageRecord, th: ClassThresholds, j: int) -> int:
    """Index in ``rec`` of the ``j``-th detection kept by ``th``."""
    return int(np.flatnonzero(th.keep(rec.scores, rec.classes))[j])


def spot_queue(
    records: Sequence[ImageRecord],
    names: Sequence[str],
    th: ClassThresholds,
    fraction: float,
    band: float = 0.0,
    seed: int = 0,
) -> tuple[list[ImageEntry], list[ItemEntry]]:
    """A seeded sample of ``ceil(fraction * N)`` confident detections (module rules)."""
    pool = []
    for i, rec in enumerate(records):
        limit = _limits(th, rec.classes)
        pool += [(i, int(j)) for j in np.flatnonzero(rec.scores >= limit + band)]
    k = min(len(pool), math.ceil(fraction * len(pool) - 1e-9))
    drawn = np.random.default_rng(seed).choice(len(pool), size=k, replace=False) if k else []
    images: list[ImageEntry] = []
    items: list[ItemEntry] = []
    at: dict[int, tuple[int, dict]] = {}
    for n, p in enumerate(drawn):
        i, j = pool[int(p)]
        rec = records[i]
        if i not in at:
            im, where, _ = _unlabelled(rec, names, th, band)
            at[i] = (len(images), where)
            images.append(im)
        det = _lab(names, rec.classes[j], rec.boxes[j])
        items.append(ItemEntry(
            image=at[i][0], queue="spot", kind="spot", rank=round(1.0 - n / max(1, k), 6),
            cls=det["class"], box=det["box"], confidence=round(float(rec.scores[j]), 5),
            label_index=at[i][1][j], on_accept=det, on_reject=None,
            detail={"sampled": f"{k} of {len(pool)}", "seed": seed}))  # fmt: skip
    return images, items
