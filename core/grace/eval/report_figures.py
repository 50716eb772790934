"""The report's figures as PNG bytes: matplotlib plots in the class colours, error thumbnails.

Plots are drawn on a matplotlib ``Figure`` with the Agg canvas directly (no pyplot, no global
backend or state changed; matplotlib's bundled fonts, nothing fetched). Class ``c`` is drawn in
:func:`grace.colors.class_rgb` everywhere. Thumbnails use :func:`grace.images.draw_detections`
for predictions (solid boxes, ``name 0.87`` labels) and :func:`draw_ground_truth` for the ground
truth (dashed boxes in the class colour, no label: the caption names them).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from grace.colors import class_color, class_rgb
from grace.errors import GraceError
from grace.images import draw_detections, draw_style

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
THUMB_SIDE = 256  # pixels of a thumbnail's longer side
DASH, GAP = 7, 4  # pixels of a dashed ground-truth line (thumbnail pixels)


def _rgb01(c: int) -> tuple[float, float, float]:
    r, g, b = class_rgb(c)
    return r / 255, g / 255, b / 255


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def pr_curves_png(pr: dict, names: Sequence[str]) -> bytes:
    """The paper's Figure 1: precision against recall per class at IoU 0.5 (COCO-interpolated
    envelope at the 101 recall points of ``pr_curves.json``), the mean over classes dashed.

    Parameters
    ----------
    pr
        ``pr_curves.json`` of ``grace val``.
    names
        Class names in id order (their colours).
    """
    fig = _figure(7.2, 4.6)
    ax = fig.add_subplot()
    recall = pr["recall_grid"]
    for c, name in enumerate(names):
        cl = pr["classes"].get(name) or {}
        if cl.get("AP50") is None:  # no ground truth in the split: no curve
            continue
        ax.plot(
            recall,
            cl["precision_at_recall"],
            color=_rgb01(c),
            lw=1.8,
            label=f"{name}  AP50 {100 * cl['AP50']:.1f}",
        )
    aps = [cl["AP50"] for cl in pr["classes"].values() if cl.get("AP50") is not None]
    mean = f"  mAP50 {100 * float(np.mean(aps)):.1f}" if aps else ""
    ax.plot(
        recall,
        pr["mean"]["precision_at_recall"],
        color="black",
        lw=2.2,
        ls="--",
        label=f"all classes{mean}",
    )
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1.02),
        xlabel="recall",
        ylabel="precision",
        title="Precision-recall per class at IoU 0.5",
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=9)
    return _png(fig)


def ap_bars_png(per_class: dict, names: Sequence[str]) -> bytes:
    """The paper's Figure 2: AP@0.5:0.95 (solid) and AP@0.5 (light) per class, in percent."""
    fig = _figure(7.2, 4.0)
    ax = fig.add_subplot()
    x = np.arange(len(names))
    for key, off, alpha, hatch in (("AP50-95", -0.2, 1.0, None), ("AP50", 0.2, 0.45, "//")):
        vals = [per_class.get(n, {}).get(key) for n in names]
        heights = [100 * v if v is not None else 0.0 for v in vals]
        bars = ax.bar(
            x + off,
            heights,
            0.38,
            color=[_rgb01(c) for c in range(len(names))],
            alpha=alpha,
            hatch=hatch,
            edgecolor=[_rgb01(c) for c in range(len(names))],
            label=key.replace("AP", "AP@0.").replace("50-95", "5:0.95"),
        )
        for b, v in zip(bars, vals, strict=True):
            text = "n/a" if v is None else f"{100 * v:.1f}"
            ax.annotate(
                text,
                (b.get_x() + b.get_width() / 2, b.get_height()),
                ha="center",
                va="bottom",
                fontsize=7,
                xytext=(0, 2),
                textcoords="offset points",
            )
    ax.set_xticks(x, list(names), rotation=20, ha="right")
    ax.set(ylabel="AP (%)", title="Average precision per class")
    top = max([100 * (per_class.get(n, {}).get("AP50") or 0) for n in names] + [1.0])
    ax.set_ylim(0, top * 1.12 + 3)  # room for the value above the tallest bar
    ax.set_yticks([t for t in ax.get_yticks() if 0 <= t <= 100])
    ax.legend(frameon=False, fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def confusion_png(cm: dict, subtitle: str = "") -> bytes:
    """The confusion matrix of ``errors.json`` (rows ground truth, columns predicted, the last of
    each ``background``) as a heatmap: colour the share of its row, text the count."""
    labels = list(cm["labels"])
    counts = np.asarray(cm["counts"], dtype=np.int64)
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    side = max(4.6, 0.6 * len(labels) + 2.0)
    fig = _figure(side + 1.2, side)
    ax = fig.add_subplot()
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            ax.text(
                j,
                i,
                str(counts[i, j]),
                ha="center",
                va="center",
                fontsize=9,
                color="white" if share[i, j] > 0.55 else "black",
            )
    ax.set_xticks(range(len(labels)), labels, rotation=35, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for k, tick in enumerate(ax.get_xticklabels()[:-1]):
        tick.set_color(_rgb01(k))
    for k, tick in enumerate(ax.get_yticklabels()[:-1]):
        tick.set_color(_rgb01(k))
    ax.set(xlabel="predicted", ylabel="ground truth")
    ax.set_title("Confusion matrix" + (f"\n{subtitle}" if subtitle else ""), fontsize=10)
    fig.colorbar(im, ax=ax, shrink=0.8, label="share of the row")
    return _png(fig)


def _dashed_segment(out: np.ndarray, p0, p1, col, width: int) -> None:
    import cv2

    length = float(np.hypot(p1[0] - p0[0], p1[1] - p0[1]))
    if length == 0:
        return
    d = (np.asarray(p1, float) - np.asarray(p0, float)) / length
    s = 0.0
    while s < length:
        e = min(s + DASH, length)
        a = tuple(int(round(v)) for v in np.asarray(p0) + d * s)
        b = tuple(int(round(v)) for v in np.asarray(p0) + d * e)
        cv2.line(out, a, b, col, width, cv2.LINE_8)
        s = e + GAP


def draw_ground_truth(
    image: np.ndarray,
    boxes: np.ndarray,
    classes: np.ndarray,
    scale: float = 1.0,
    emphasis: Sequence[int] = (),
) -> np.ndarray:
    """A copy of ``image`` (BGR) with each ground-truth box dashed in its class colour, over a
    thin dark line so that it reads on light and dark steel alike; the boxes at the indices in
    ``emphasis`` over a white line, their dashes twice as wide.

    Parameters
    ----------
    image
        BGR ``uint8``.
    boxes
        ``(G, 4)`` xyxy in pixels of the original image.
    classes
        ``(G,)`` class ids.
    scale
        Pixels of ``image`` per original pixel.
    emphasis
        Indices of the boxes to stand out (a miss).
    """
    import cv2

    out = np.ascontiguousarray(image).copy()
    width = draw_style(*out.shape[:2]).line_width
    boxes = np.asarray(boxes, float).reshape(-1, 4) * scale
    for i, (box, c) in enumerate(zip(boxes, classes, strict=True)):
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        strong = i in emphasis
        under = (255, 255, 255) if strong else (30, 30, 30)
        cv2.rectangle(out, (x1, y1), (x2, y2), under, 2 if strong else 1, cv2.LINE_8)
        corners = [(x1, y1), (x2, y1), (x2, y2), (x1, y2), (x1, y1)]
        for p0, p1 in zip(corners[:-1], corners[1:], strict=True):
            _dashed_segment(out, p0, p1, class_color(int(c)), 2 * width if strong else width)
    return out


def thumbnail(
    image: np.ndarray,
    gt_boxes: np.ndarray,
    gt_classes: np.ndarray,
    boxes: np.ndarray,
    classes: np.ndarray,
    scores: np.ndarray,
    names: Sequence[str],
    emphasis: Sequence[int] = (),
) -> np.ndarray:
    """``image`` resized to :data:`THUMB_SIDE` on its longer side, the ground truth dashed (the
    boxes at ``emphasis`` standing out) and the predictions solid with labels (BGR)."""
    import cv2

    h, w = image.shape[:2]
    s = THUMB_SIDE / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    small = cv2.resize(image, size, interpolation=interp)
    small = draw_ground_truth(small, gt_boxes, np.asarray(gt_classes, int), s, emphasis)
    return draw_detections(small, boxes, classes, scores, list(names), scale=s)


def png_bytes(image: np.ndarray) -> bytes:
    """PNG encoding of a BGR ``uint8`` image."""
    import cv2

    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise GraceError("could not encode a report figure as PNG")
    return buf.tobytes()
