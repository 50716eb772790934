"""Reading images and drawing detections on them: one convention for predict, CAM, GUI, reports.

Images are **BGR** ``uint8`` arrays of shape ``(H, W, 3)`` (OpenCV's order, what Ultralytics'
loaders give the model).

Reading (:func:`read_image`, :func:`try_read_image`) decodes as Ultralytics'
``ultralytics.utils.patches.imread`` does for ``cv2.IMREAD_COLOR``, so what is drawn is what the
model saw (and what the trainer saw): ``cv2.imdecode`` of the file's bytes (non-ASCII paths
work), which applies the EXIF orientation tag; the first colour page of a TIFF; PIL (EXIF
applied) for AVIF/HEIC/HEIF; 16-bit pixels keep their high byte. Grey and 4-channel images become
3 channels. A file that cannot be read gives a one-line reason naming the problem, never an
OpenCV message.

Drawing (:func:`draw_detections`) has one style, scaled with the image (:func:`draw_style`):

- box lines ``max(2, round(0.003 * (H + W) / 2))`` pixels wide (200x200: 2, 2000x2000: 6),
  drawn inside the box;
- font scale ``max(0.35, (H + W) / 2 / 1000)`` of OpenCV's Hershey simplex font;
- boxes in the class colour of :mod:`grace.colors`; each label ``name 0.87`` on a tag of that
  colour, written in black or white, whichever has the higher WCAG contrast ratio against the
  tag (:func:`text_color`);
- labels laid out by :func:`label_boxes`: above the box, else inside its top, else below it;
  always inside the image, and moved down or up past labels already placed when they would
  overlap one (greedy, most confident detection first).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grace.colors import class_color
from grace.errors import GraceError

__all__ = [
    "DrawStyle",
    "draw_detections",
    "draw_style",
    "label_boxes",
    "label_text",
    "quiet_cv2",
    "read_image",
    "text_color",
    "try_read_image",
]

#: Suffixes Ultralytics decodes with PIL (OpenCV cannot).
PIL_SUFFIXES = (".avif", ".heic", ".heif")
NOT_FOUND = "image not found"
NOT_A_FILE = "not a file"
EMPTY = "empty file"
UNDECODABLE = "cannot decode image (corrupt or unsupported format)"
BLACK = (0, 0, 0)
WHITE = (255, 255, 255)


# reading ---------------------------------------------------------------------------------------
def try_read_image(path: str | Path) -> tuple[np.ndarray | None, str]:
    """Decode an image file to BGR ``uint8`` ``(H, W, 3)``, EXIF orientation applied.

    For callers that skip a bad file and go on (folders, streams, the GUI).

    Returns
    -------
    (numpy.ndarray, "") or (None, str)
        The image, or ``None`` and why it could not be read (one line, without the path).
    """
    import cv2

    from grace.data.images import LFS_POINTER_DETAIL, is_lfs_pointer

    p = Path(path)
    try:
        data = np.fromfile(str(p), np.uint8)
    except FileNotFoundError:
        return None, NOT_FOUND
    except IsADirectoryError:
        return None, NOT_A_FILE
    except OSError as e:
        if p.is_dir():
            return None, NOT_A_FILE
        return None, f"cannot read ({e.strerror or type(e).__name__})"
    if data.size == 0:
        return None, EMPTY
    if data.size <= 1024 and is_lfs_pointer(data.tobytes()):
        return None, LFS_POINTER_DETAIL
    img = None
    with quiet_cv2():
        suffix = p.suffix.lower()
        if suffix in (".tif", ".tiff"):  # the first colour page, as Ultralytics reads it
            ok, pages = cv2.imdecodemulti(data, cv2.IMREAD_UNCHANGED)
            if ok and pages and pages[0].ndim == 3:
                img = pages[0][..., :3]
        if img is None and suffix in PIL_SUFFIXES:
            img = _read_pil(p)
        if img is None:
            img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if img is None or img.size == 0:
        return None, UNDECODABLE
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype != np.uint8:
        return None, f"unsupported pixel type {img.dtype}"
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(img), ""


def read_image(path: str | Path) -> np.ndarray:
    """:func:`try_read_image` for one file that must be read.

    Raises
    ------
    GraceError
        ``"<path>: <reason>"`` when the file is missing, empty or not a decodable image.
    """
    img, reason = try_read_image(path)
    if img is None:
        raise GraceError(f"{path}: {reason}")
    return img


def _read_pil(path: Path) -> np.ndarray | None:
    from PIL import ImageOps

    from grace.data.images import open_image

    try:
        with open_image(path) as im:
            rgb = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    except Exception:  # PIL raises OSError, SyntaxError, ValueError... for a bad file
        return None
    return np.ascontiguousarray(rgb[..., ::-1])


_quiet_lock = threading.Lock()
_quiet_depth = 0
_quiet_saved: int | None = None


@contextlib.contextmanager
def quiet_cv2() -> Iterator[None]:
    """Silence OpenCV's own log lines (and FFmpeg's) while opening or decoding, so that a bad
    input ends with our one line rather than a screen of back-end warnings. Re-entrant and safe
    across threads: the level in force before the outermost entry comes back at the last exit."""
    global _quiet_depth, _quiet_saved
    import cv2

    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    log = getattr(getattr(cv2, "utils", None), "logging", None)
    if log is None:
        yield
        return
    with _quiet_lock:
        if _quiet_depth == 0:
            _quiet_saved = log.getLogLevel()
            log.setLogLevel(log.LOG_LEVEL_SILENT)
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0 and _quiet_saved is not None:
                log.setLogLevel(_quiet_saved)


# style -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DrawStyle:
    """Sizes of one drawing, in pixels of the image drawn on (see :func:`draw_style`)."""

    line_width: int
    font_scale: float
    font_thickness: int
    pad: int  # pixels between a label's text and its tag's edges


def draw_style(height: int, width: int) -> DrawStyle:
    """The style for an image of ``height`` x ``width`` pixels.

    With ``s = (height + width) / 2``: line width ``max(2, round(0.003 s))``, font scale
    ``max(0.35, s / 1000)``, font thickness ``max(1, round(1.5 * font scale))`` and a padding of
    ``max(1, round(2 * font scale))`` around the text.
    """
    s = (int(height) + int(width)) / 2
    scale = max(0.35, s / 1000)
    return DrawStyle(
        line_width=max(2, round(0.003 * s)),
        font_scale=scale,
        font_thickness=max(1, round(1.5 * scale)),
        pad=max(1, round(2 * scale)),
    )


def _linear(c: float) -> float:
    c = c / 255.0
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def text_color(bgr: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white (BGR), whichever has the higher WCAG 2 contrast ratio against ``bgr``.

    With the relative luminance ``L = 0.2126 R + 0.7152 G + 0.0722 B`` of the linearised sRGB
    channels, black wins when ``(L + 0.05) / 0.05 > 1.05 / (L + 0.05)``, i.e. ``L > 0.179``.
    """
    b, g, r = (float(v) for v in bgr)
    lum = 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)
    return BLACK if (lum + 0.05) / 0.05 > 1.05 / (lum + 0.05) else WHITE


def label_text(class_id: int, score: float, names: Sequence[str] | Mapping[int, str]) -> str:
    """``"name 0.87"``; the class index stands for a name the model does not have."""
    c = int(class_id)
    if isinstance(names, Mapping):
        name = names.get(c, str(c))
    else:
        name = names[c] if 0 <= c < len(names) else str(c)
    return f"{name} {float(score):.2f}"


# layout ----------------------------------------------------------------------------------------
def label_boxes(boxes: np.ndarray, sizes: np.ndarray, image_hw: tuple[int, int]) -> np.ndarray:
    """Where each detection's label goes: inside the image and clear of the labels before it.

    Labels are placed in the given order (put the most important first). Each is left-aligned
    with its box (shifted left where it would pass the right edge) and goes, in this order of
    preference, above the box, inside its top edge or below it, at the first of those spots
    that is inside the image and overlaps no label placed before. When none is free it is moved
    down or up to the nearest free spot in its column (just below or just above a placed label,
    or at the image's top or bottom edge). When even that fails (more labels than room), it
    keeps its first spot inside the image, overlapping.

    Parameters
    ----------
    boxes : numpy.ndarray, shape (N, 4)
        ``x1, y1, x2, y2`` in pixels of the image.
    sizes : numpy.ndarray, shape (N, 2)
        Each label's ``width, height`` in pixels (text and padding); clipped to the image.
    image_hw : (int, int)
        The image's height and width.

    Returns
    -------
    numpy.ndarray, shape (N, 4), int
        ``x1, y1, x2, y2`` of each label, half-open (the label covers columns ``x1 .. x2 - 1``
        and rows ``y1 .. y2 - 1``); ``0 <= x1 < x2 <= W`` and ``0 <= y1 < y2 <= H``.
    """
    h_img, w_img = int(image_hw[0]), int(image_hw[1])
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    sizes = np.asarray(sizes, np.int64).reshape(-1, 2)
    if len(boxes) != len(sizes):
        raise ValueError(f"{len(boxes)} boxes but {len(sizes)} label sizes")
    out = np.zeros((len(boxes), 4), np.int64)
    for i, (box, (lw, lh)) in enumerate(zip(boxes, sizes, strict=True)):
        lw, lh = int(min(max(lw, 1), w_img)), int(min(max(lh, 1), h_img))
        top, bottom = round(box[1]), round(box[3])
        x = int(min(max(round(box[0]), 0), w_img - lw))
        preferred = [y for y in (top - lh, top, bottom) if 0 <= y <= h_img - lh]
        first = preferred[0] if preferred else int(min(max(top - lh, 0), h_img - lh))
        placed = out[:i]
        col = placed[(placed[:, 0] < x + lw) & (x < placed[:, 2])]  # labels in its columns
        # the nearest spots next to a placed label, or at the top or bottom edge
        edges = np.concatenate([col[:, 3], col[:, 1] - lh, [0, h_img - lh]])
        edges = edges[(edges >= 0) & (edges <= h_img - lh)]
        edges = edges[np.argsort(np.abs(edges - first), kind="stable")]
        ys = np.concatenate([np.asarray(preferred, np.int64), edges.astype(np.int64)])
        hits = (ys[:, None] < col[None, :, 3]) & (col[None, :, 1] < ys[:, None] + lh)
        free = ~hits.any(axis=1)
        y = int(ys[free.argmax()]) if free.any() else first
        out[i] = (x, y, x + lw, y + lh)
    return out


# drawing ---------------------------------------------------------------------------------------
def _frame(out: np.ndarray, box: np.ndarray, width: int, col: tuple[int, int, int]) -> None:
    """A box's outline, ``width`` pixels wide, drawn inside the box (pixel-edge coordinates:
    ``0, 0, 10, 10`` covers pixels 0..9), so that it never hides the defect's border and a box
    at the image's edge keeps its whole line; clipped to the image."""
    h, w = out.shape[:2]
    x1, y1, x2, y2 = (round(float(v)) for v in box)
    x1, y1, x2, y2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
    if x2 <= x1 or y2 <= y1:
        return
    k = int(width)
    out[y1 : min(y1 + k, y2), x1:x2] = col
    out[max(y2 - k, y1) : y2, x1:x2] = col
    out[y1:y2, x1 : min(x1 + k, x2)] = col
    out[y1:y2, max(x2 - k, x1) : x2] = col


def draw_detections(
    image: np.ndarray,
    boxes: np.ndarray,
    classes: np.ndarray,
    scores: np.ndarray,
    names: Sequence[str] | Mapping[int, str],
    scale: float = 1.0,
    color: Callable[[int], tuple[int, int, int]] = class_color,
    style: DrawStyle | None = None,
) -> np.ndarray:
    """A copy of ``image`` with each detection's box and ``name 0.87`` label (module style).

    Parameters
    ----------
    image : numpy.ndarray
        BGR ``uint8`` ``(H, W, 3)`` (a grey ``(H, W)`` image is drawn on in colour).
    boxes : numpy.ndarray, shape (N, 4)
        ``x1, y1, x2, y2`` in pixels of the image the detections were made on.
    classes, scores : numpy.ndarray, shape (N,)
    names : sequence of str or mapping of int to str
        Class names by index.
    scale : float
        Pixels of ``image`` per pixel of ``boxes`` (``image`` is that image resized).
    color : callable
        Class index to BGR colour; the application's palette (:mod:`grace.colors`) by default.
    style : DrawStyle, optional
        :func:`draw_style` of ``image``'s size by default.

    Returns
    -------
    numpy.ndarray
        A new BGR ``uint8`` image; ``image`` is not modified.
    """
    import cv2

    out = np.ascontiguousarray(image).copy()
    if out.ndim == 2:
        out = cv2.cvtColor(out, cv2.COLOR_GRAY2BGR)
    h, w = out.shape[:2]
    st = style or draw_style(h, w)
    xyxy = np.asarray(boxes, np.float64).reshape(-1, 4) * float(scale)
    classes = np.asarray(classes).reshape(-1).astype(np.int64)
    scores = np.asarray(scores, np.float64).reshape(-1)
    if not len(xyxy) == len(classes) == len(scores):
        raise ValueError(f"{len(xyxy)} boxes, {len(classes)} classes, {len(scores)} scores")
    if len(xyxy) == 0:
        return out
    font = cv2.FONT_HERSHEY_SIMPLEX
    for box, c in zip(xyxy, classes, strict=True):
        _frame(out, box, st.line_width, color(int(c)))
    order = np.argsort(-scores, kind="stable")  # the most confident label gets its first spot
    texts = [label_text(classes[i], scores[i], names) for i in order]
    metrics = [cv2.getTextSize(t, font, st.font_scale, st.font_thickness) for t in texts]
    sizes = [(tw + 2 * st.pad, th + base + 2 * st.pad) for (tw, th), base in metrics]
    rects = label_boxes(xyxy[order], np.asarray(sizes), (h, w))
    for i, text, ((_, th), _), (lx1, ly1, lx2, ly2) in zip(order, texts, metrics, rects,
                                                             strict=True):  # fmt: skip
        col = color(int(classes[i]))
        cv2.rectangle(out, (int(lx1), int(ly1)), (int(lx2) - 1, int(ly2) - 1), col, -1)
        org = (int(lx1) + st.pad, int(ly1) + st.pad + th)
        cv2.putText(out, text, org, font, st.font_scale, text_color(col), st.font_thickness,
                    cv2.LINE_AA)  # fmt: skip
    return out
