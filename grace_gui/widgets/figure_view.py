"""A figure drawn at the size it is shown: never a small bitmap scaled up (and blurred).

The view asks its source for the figure at a *panel height* in screen pixels: the height that
fills the view (fit), or that times the zoom. Zooming draws the figure again at the new size
(text, boxes and labels stay sharp) and keeps the point under the mouse in place; the view's own
transform stays 1:1. The wheel zooms, dragging pans, a double click fits again.

A source has ``fit(box_hw) -> panel height``, ``figure_shape(panel height) -> (h, w)``,
``render(panel height) -> BGR array`` and ``native_panel_height()`` (the image's own height:
100 %); :class:`grace_gui.sessions.cam.CamSession` has them.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QPixmap
from PySide6.QtWidgets import (
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from grace_gui.widgets.images import bgr_to_qimage

MAX_SIDE = 12_000  # device pixels: the largest figure drawn (Qt's pixmaps stop at 32k)
MIN_PANEL = 32


class FigureSource(Protocol):
    def fit(self, box_hw: tuple[int, int]) -> int: ...
    def figure_shape(self, panel_height: int | None = None) -> tuple[int, int]: ...
    def render(self, panel_height: int | None = None) -> np.ndarray: ...
    def native_panel_height(self) -> int: ...


class FigureView(QGraphicsView):
    """Shows ``source``'s figure at the panel height of the view's size (or a zoom of it)."""

    ZOOM_STEP = 1.25
    zoomed = Signal(int)  # the panel height drawn, in device pixels

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setBackgroundBrush(QBrush(QColor(40, 40, 40)))
        self.setMinimumSize(200, 200)
        self._item = QGraphicsPixmapItem()
        self.scene().addItem(self._item)
        self._placeholder = self.scene().addSimpleText("")
        self._placeholder.setBrush(QBrush(QColor(200, 200, 200)))
        self.source: FigureSource | None = None
        self.panel_height = 0  # of the figure drawn
        self.fitted = True
        self.figure: np.ndarray | None = None  # the pixels on screen (BGR)
        self._refit = QTimer(self, singleShot=True, interval=0)
        self._refit.timeout.connect(self.fit)

    def set_source(self, source: FigureSource | None) -> None:
        """Show ``source``'s figure (``None``: nothing); keeps the zoom unless fitted."""
        self.source = source
        if source is None:
            self._show(None)
        elif self.fitted or not self.panel_height:
            self.fit()
        else:
            self.redraw()

    def set_placeholder(self, text: str) -> None:
        """A line of text instead of a figure (what to do to get one, or what went wrong)."""
        self.set_source(None)
        self._placeholder.setText(text)
        self.scene().setSceneRect(self._placeholder.boundingRect())

    # sizes -------------------------------------------------------------------------------------
    def _box(self) -> tuple[int, int]:
        """The viewport in device pixels (less a margin, so that no scroll bar appears)."""
        r, dpr = self.viewport().size(), self.devicePixelRatioF()
        return max(1, int((r.height() - 4) * dpr)), max(1, int((r.width() - 4) * dpr))

    def fit(self) -> None:
        """Draw the figure as large as the view shows whole."""
        self.fitted = True
        if self.source is not None:
            self._draw(self.source.fit(self._box()))

    def one_to_one(self) -> None:
        """Draw each panel at the image's own size (the export's resolution)."""
        if self.source is not None:
            self.fitted = False
            self._draw(self.source.native_panel_height())

    def zoom(self, factor: float, at: QPointF | None = None) -> None:
        """Draw the figure ``factor`` times larger, the point ``at`` (viewport) kept in place."""
        if self.source is None or not self.panel_height:
            return
        self.fitted = False
        self._draw(round(self.panel_height * factor), keep=at)

    def redraw(self) -> None:
        """Draw again at the same size (the source's display changed)."""
        if self.source is not None and self.panel_height:
            self._draw(self.panel_height)

    def _draw(self, panel_height: int, keep: QPointF | None = None) -> None:
        ph = max(MIN_PANEL, int(panel_height))
        h, w = self.source.figure_shape(ph)
        if max(h, w) > MAX_SIDE:  # shrink to the largest figure drawn
            ph = max(MIN_PANEL, int(ph * MAX_SIDE / max(h, w)))
        old = self._item.pixmap().size()
        if keep is None:
            at = self.viewport().rect().center()
        else:
            at = keep.toPoint() if isinstance(keep, QPointF) else keep
        before = self.mapToScene(at)
        self._show(self.source.render(ph))
        self.panel_height = ph
        if not old.isEmpty():  # the same point of the figure stays under ``at``
            new = self._item.pixmap().size()
            target = QPointF(before.x() * new.width() / max(1, old.width()),
                             before.y() * new.height() / max(1, old.height()))  # fmt: skip
            delta = target - self.mapToScene(at)
            h, v = self.horizontalScrollBar(), self.verticalScrollBar()
            h.setValue(h.value() + round(delta.x()))
            v.setValue(v.value() + round(delta.y()))
        self.zoomed.emit(ph)

    def _show(self, figure: np.ndarray | None) -> None:
        self.figure = figure
        if figure is None:
            self._item.setPixmap(QPixmap())
            self.panel_height = 0
            return
        pixmap = QPixmap.fromImage(bgr_to_qimage(figure))
        pixmap.setDevicePixelRatio(self.devicePixelRatioF())  # one figure pixel, one screen's
        self._item.setPixmap(pixmap)
        self._placeholder.setText("")
        self.scene().setSceneRect(QRectF(self._item.boundingRect()))

    # events ------------------------------------------------------------------------------------
    def wheelEvent(self, event) -> None:  # noqa: N802 (Qt)
        step = self.ZOOM_STEP if event.angleDelta().y() > 0 else 1 / self.ZOOM_STEP
        self.zoom(step, event.position())

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 (Qt)
        self.fit()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().resizeEvent(event)
        if self.fitted and self.source is not None:
            self._refit.start()  # once per burst of resizes


class FigureBox(QWidget):
    """A :class:`FigureView` under a bar that makes zooming discoverable: *Fit*, *1:1* (each
    panel at the image's own size) and the zoom in percent of that."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = FigureView()
        self.fit_button = QPushButton("Fit", toolTip="Show the whole figure (double click)")
        self.fit_button.clicked.connect(self.view.fit)
        self.one_button = QPushButton(
            "1:1", toolTip="Each panel at the image's own size; the wheel zooms, dragging pans"
        )
        self.one_button.clicked.connect(self.view.one_to_one)
        self.zoom_label = QLabel()
        self.view.zoomed.connect(self._zoomed)
        bar = QHBoxLayout()
        for w in (self.fit_button, self.one_button, self.zoom_label):
            bar.addWidget(w)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

    def _zoomed(self, panel_height: int) -> None:
        native = self.view.source.native_panel_height() if self.view.source else 0
        self.zoom_label.setText(f"{100 * panel_height / max(1, native):.0f} %")
