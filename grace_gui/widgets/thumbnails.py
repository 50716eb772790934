"""A thumbnail grid that stays smooth with tens of thousands of images.

:class:`ThumbnailModel` lists image paths; its ``DecorationRole`` answers a cached pixmap, or a
placeholder while it asks :class:`ThumbnailLoader` for the thumbnail. The view asks only for
the items it paints (the visible ones), so only those are decoded: in the loader's own two
threads, at thumbnail size (PIL ``draft``: JPEGs decode through the DCT at a fraction of their
size), newest request first. Requests that fell far behind (a fast scroll) are dropped before
they run, and every request of an old list is cancelled when the list changes. Decoded arrays
come back through a queue drained by a GUI-thread timer; pixmaps are made on the GUI thread,
kept in a bounded LRU cache, and repaints are coalesced per tick.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict, deque
from pathlib import Path

import numpy as np
from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView

THUMB = 96  # thumbnail side in pixels


class LruCache:
    """A bounded mapping that forgets the least recently used entry first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._d: OrderedDict = OrderedDict()

    def get(self, key):
        value = self._d.get(key)
        if value is not None:
            self._d.move_to_end(key)
        return value

    def put(self, key, value) -> None:
        self._d[key] = value
        self._d.move_to_end(key)
        while len(self._d) > self.capacity:
            self._d.popitem(last=False)

    def clear(self) -> None:
        self._d.clear()

    def __contains__(self, key) -> bool:
        return key in self._d

    def __len__(self) -> int:
        return len(self._d)


def thumbnail_or_reason(path: str, side: int = THUMB) -> np.ndarray | str:
    """``path`` decoded at most ``side`` pixels a side, as an RGB array turned as its EXIF
    orientation says (as the large view and the trainer see it), or the one-line reason it
    cannot be. JPEGs decode through the DCT at a fraction of their size (PIL ``draft``); a file
    PIL cannot open goes to the engine's reader (:func:`grace.images.try_read_image`), so the
    grid shows whatever the large view shows and says why in the reader's words otherwise."""
    from PIL import ImageOps

    from grace.data.images import open_image

    try:
        with open_image(path) as im:
            im.draft("RGB", (side, side))
            im = ImageOps.exif_transpose(im).convert("RGB")
            im.thumbnail((side, side))
            return np.asarray(im)
    except Exception:  # PIL raises OSError, SyntaxError, ValueError... for a bad file
        pass
    return _read_thumbnail(path, side)


def _read_thumbnail(path: str, side: int) -> np.ndarray | str:
    import cv2

    from grace.images import try_read_image

    bgr, reason = try_read_image(path)
    if bgr is None:
        return reason
    h, w = bgr.shape[:2]
    f = min(1.0, side / max(h, w))
    if f < 1.0:
        size = (max(1, round(w * f)), max(1, round(h * f)))
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(bgr[..., ::-1])


def decode_thumbnail(path: str, side: int = THUMB) -> np.ndarray | None:
    """:func:`thumbnail_or_reason`'s array, ``None`` when unreadable."""
    rgb = thumbnail_or_reason(path, side)
    return None if isinstance(rgb, str) else rgb


def shown_name(path: str) -> str:
    """The file name with a break opportunity (a zero-width space) after each ``_``, ``-`` and
    ``.``, so a long name wraps onto a second line instead of losing its middle."""
    name = os.path.basename(path)
    for c in "_-.":
        name = name.replace(c, c + "\u200b")
    return name


def rgb_to_pixmap(rgb: np.ndarray, side: int = THUMB) -> QPixmap:
    """An RGB ``uint8`` array centred on a transparent ``side`` square (every grid cell has
    the same size; GUI thread only)."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    pixmap = QPixmap(side, side)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.drawImage((side - w) // 2, (side - h) // 2, image)
    painter.end()
    return pixmap


class ThumbnailLoader(QObject):
    """Decodes thumbnails in its own few threads; ``ready(paths)`` on the GUI thread.

    The decoding threads touch no Qt object: they take the newest waiting request, decode it
    with PIL and leave the array in a queue that a GUI-thread timer drains (making the pixmaps,
    a bounded number per tick), so results are coalesced into one repaint per tick. A newer
    request pushes out the oldest one still waiting once ``max_pending`` wait (it belongs to
    items scrolled past); :meth:`cancel_all` drops every waiting request and result.
    """

    ready = Signal(list)  # paths whose thumbnails are now cached

    def __init__(
        self,
        threads: int = 2,
        capacity: int = 3000,
        max_pending: int = 200,
        side: int = THUMB,
        per_tick: int = 64,
    ) -> None:
        super().__init__()
        self.side = side
        self.cache = LruCache(capacity)
        self.failed: dict[str, str] = {}  # path -> why it cannot be read
        self.max_pending = max_pending
        self.per_tick = per_tick
        self.decoded_count = 0
        self._cv = threading.Condition()
        self._pending: OrderedDict[str, int] = OrderedDict()  # path -> generation, oldest first
        self._done: deque[tuple[str, np.ndarray | str]] = deque()
        self._generation = 0
        self._busy = 0
        self._stopping = False
        self._timer = QTimer(self)
        self._timer.setInterval(25)
        self._timer.timeout.connect(self._drain)
        self._threads = [
            threading.Thread(target=self._work, name=f"thumbnails-{i}", daemon=True)
            for i in range(threads)
        ]
        for t in self._threads:
            t.start()

    def request(self, path: str) -> None:
        """Decode ``path`` unless it is cached, failed or already waiting."""
        if path in self.cache or path in self.failed:
            return
        with self._cv:
            if path in self._pending:
                self._pending.move_to_end(path)
                return
            self._pending[path] = self._generation
            while len(self._pending) > self.max_pending:
                self._pending.popitem(last=False)
            self._cv.notify()
        if not self._timer.isActive():
            self._timer.start()

    def cancel_all(self) -> None:
        """Forget every waiting request and undelivered result (the list changed)."""
        with self._cv:
            self._generation += 1
            self._pending.clear()
            self._done.clear()

    def pending(self) -> int:
        with self._cv:
            return len(self._pending)

    def idle(self) -> bool:
        with self._cv:
            return not (self._pending or self._done or self._busy)

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._pending and not self._stopping:
                    self._cv.wait()
                if self._stopping:
                    return
                path, generation = self._pending.popitem(last=True)  # newest first
                self._busy += 1
            rgb = thumbnail_or_reason(path, self.side)
            with self._cv:
                self._busy -= 1
                self.decoded_count += 1
                if generation == self._generation:
                    self._done.append((path, rgb))

    def _drain(self) -> None:
        with self._cv:
            n = min(len(self._done), self.per_tick)
            batch = [self._done.popleft() for _ in range(n)]
            quiet = not (self._pending or self._done or self._busy)
        paths = []
        for path, rgb in batch:
            if isinstance(rgb, str):
                self.failed[path] = rgb
            else:
                self.cache.put(path, rgb_to_pixmap(rgb, self.side))
            paths.append(path)
        if paths:
            self.ready.emit(paths)
        if quiet:
            self._timer.stop()

    def shutdown(self) -> None:
        """Stop the threads (a decode under way finishes first)."""
        with self._cv:
            self._stopping = True
            self._pending.clear()
            self._cv.notify_all()
        self._timer.stop()
        for t in self._threads:
            t.join(timeout=2)


def _placeholder(side: int, color: QColor, text: str = "") -> QPixmap:
    pixmap = QPixmap(side, side)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.fillRect(4, 4, side - 8, side - 8, color)
    if text:
        painter.setPen(QColor(255, 255, 255))
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
        painter.drawText(QRect(8, 8, side - 16, side - 16), flags, text)
    painter.end()
    return pixmap


class ThumbnailModel(QAbstractListModel):
    """Image paths as a list model: file name (wrapping, never cut in the middle), thumbnail
    (lazy; an unreadable image is a tile saying so, its reason in the tooltip), full path as
    tooltip and in ``Qt.UserRole``."""

    def __init__(self, loader: ThumbnailLoader, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.loader = loader
        self.paths: list[str] = []
        self._rows: dict[str, int] = {}
        self._waiting = _placeholder(loader.side, QColor(70, 70, 70))
        self._broken = _placeholder(loader.side, QColor(150, 40, 40), "cannot be read")
        self.cell = QSize(loader.side + 24, loader.side + 36)
        loader.ready.connect(self._on_ready)

    def set_paths(self, paths: list[str | Path]) -> None:
        """Show ``paths``; waiting decodes of the previous list are cancelled."""
        self.loader.cancel_all()
        self.beginResetModel()
        self.paths = [str(p) for p in paths]
        self._rows = {p: i for i, p in enumerate(self.paths)}
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802 (Qt)
        return 0 if parent.isValid() else len(self.paths)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        path = self.paths[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            pixmap = self.loader.cache.get(path)
            if pixmap is not None:
                return pixmap
            if path in self.loader.failed:
                return self._broken
            self.loader.request(path)
            return self._waiting
        if role == Qt.ItemDataRole.DisplayRole:
            return shown_name(path)
        if role == Qt.ItemDataRole.SizeHintRole:  # room for two lines of name, for every item
            return self.cell

        if role == Qt.ItemDataRole.ToolTipRole and path in self.loader.failed:
            return f"{path}\ncannot be read: {self.loader.failed[path]}"
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.UserRole):
            return path
        return None

    def _on_ready(self, paths: list[str]) -> None:
        rows = [r for r in map(self._rows.get, paths) if r is not None]
        if rows:
            role = [Qt.ItemDataRole.DecorationRole]
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)), role)


class ThumbnailGrid(QListView):
    """The grid: icon mode, uniform item sizes, static layout."""

    def __init__(self, model: ThumbnailModel, parent=None) -> None:
        super().__init__(parent)
        side = model.loader.side
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setWrapping(True)
        self.setIconSize(QSize(side, side))
        self.setGridSize(model.cell + QSize(4, 4))  # two lines of name under the image
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setSpacing(2)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setLayoutMode(QListView.LayoutMode.Batched)  # 10,000 items: laid out in steps
        self.setBatchSize(1500)
        self.setModel(model)
