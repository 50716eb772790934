"""A zoomable image with labelled boxes in the class colours (dataset ground truth, detections).

Wheel zooms about the mouse, dragging pans, a double click fits the image to the view again.
Boxes are cosmetic (their lines keep their screen width at every zoom); one box may be
highlighted (the selected detection: a thicker line under a white dashed outline, above the
others). Labels keep their screen size; they are laid out as the engine lays out its drawings
(:func:`grace.images.label_boxes`, in screen pixels at the current zoom: above the box, else
inside or below it, inside the image and off each other) and written in the engine's text colour
(:func:`grace.images.text_color`). :class:`ZoomBar` puts zooming within reach as buttons (zoom
out/in, fit, 100 %), the zoom in percent and a boxes on/off switch (boxes and their labels).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QWidget,
)

from grace.images import label_boxes, text_color
from grace_gui.widgets.colors import class_qcolor
from grace_gui.widgets.images import bgr_to_qimage

_TAG_X, _TAG_Y = 2, 1  # screen pixels of the label's tag left and right, above and below
HIGHLIGHT_WIDTH = 4.0  # screen pixels of the highlighted box's line (the others: 2)


@dataclass(frozen=True)
class Box:
    """A box in image pixels, its class index and the text shown on it."""

    x1: float
    y1: float
    x2: float
    y2: float
    class_id: int
    label: str = ""


class ImageView(QGraphicsView):
    """Shows one image and its boxes; :meth:`set_image` then :meth:`set_boxes`."""

    ZOOM_STEP = 1.25
    zoom_changed = Signal(float)  # the scale now (1.0: one image pixel per screen pixel)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform
        )
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setBackgroundBrush(QBrush(QColor(40, 40, 40)))
        self.setMinimumSize(200, 200)
        self._pixmap = QGraphicsPixmapItem()
        self._pixmap.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._pixmap)
        self._boxes: list[QGraphicsRectItem] = []
        self._labels: list[tuple[Box, QGraphicsSimpleTextItem]] = []
        self._boxes_visible = True
        self._outline: list[QGraphicsRectItem] = []
        self._highlight: int | None = None
        self._fitted = True
        self._placeholder = self.scene().addSimpleText("")
        self._placeholder.setBrush(QBrush(QColor(200, 200, 200)))

    # image and boxes ---------------------------------------------------------------------------
    def set_image(self, image: QImage | QPixmap | np.ndarray | None, refit: bool = False) -> None:
        """Show ``image`` (a QImage, QPixmap or BGR array); ``None`` clears the view. The zoom is
        kept when the new image has the size of the old one (a video), unless ``refit``."""
        if image is None:
            self._pixmap.setPixmap(QPixmap())
            self.set_boxes([])
            return
        if isinstance(image, np.ndarray):
            image = bgr_to_qimage(image)
        pixmap = QPixmap.fromImage(image) if isinstance(image, QImage) else image
        same_size = pixmap.size() == self._pixmap.pixmap().size()
        self._pixmap.setPixmap(pixmap)
        self._placeholder.setText("")
        self.scene().setSceneRect(QRectF(pixmap.rect()))
        if refit or not same_size or self._fitted:
            self.fit()

    def set_placeholder(self, text: str) -> None:
        """A line of text shown while there is no image (what to do to get one)."""
        self.set_image(None)
        self._placeholder.setText(text)
        self.scene().setSceneRect(self._placeholder.boundingRect())
        self.resetTransform()
        self.zoom_changed.emit(1.0)

    def has_image(self) -> bool:
        return not self._pixmap.pixmap().isNull()

    def set_boxes(self, boxes: Sequence[Box], highlight: int | None = None) -> None:
        """Show ``boxes``; ``highlight`` is the index of the one to stand out (or ``None``)."""
        for item in [*self._boxes, *(text for _, text in self._labels), *self._outline]:
            self.scene().removeItem(item)
        self._labels, self._outline = [], []
        self._boxes = [self._add_box(b) for b in boxes]
        valid = highlight is not None and 0 <= highlight < len(boxes)
        self._highlight = highlight if valid else None
        if self._highlight is not None:
            self._outline = self._add_outline(self._boxes[self._highlight])
        self._layout_labels()
        self.set_boxes_visible(self._boxes_visible)

    def set_boxes_visible(self, visible: bool) -> None:
        """Show or hide the boxes and their labels (they are kept, and new ones follow the
        switch). Labels are items of their own (above every box), so they follow explicitly."""
        self._boxes_visible = visible
        for item in [*self._boxes, *(text for _, text in self._labels)]:
            item.setVisible(visible)

    def boxes_visible(self) -> bool:
        return self._boxes_visible

    def box_count(self) -> int:
        return len(self._boxes)

    def highlighted(self) -> int | None:
        """The index of the highlighted box, or ``None``."""
        return self._highlight

    def box_widths(self) -> list[float]:
        """Each box's line width in screen pixels (the highlighted one is thicker)."""
        return [item.pen().widthF() for item in self._boxes]

    def _add_outline(self, rect: QGraphicsRectItem) -> list[QGraphicsRectItem]:
        """Thicken the highlighted box and ring it in black and white dashes (seen on a dark
        and on a light image alike)."""
        pen = rect.pen()
        pen.setWidthF(HIGHLIGHT_WIDTH)
        rect.setPen(pen)
        rect.setZValue(1.5)
        items = []
        for color, style in ((QColor(0, 0, 0), Qt.PenStyle.SolidLine),
                             (QColor(255, 255, 255), Qt.PenStyle.DashLine)):  # fmt: skip
            ring = QPen(color, 1.5, style)
            ring.setCosmetic(True)
            item = QGraphicsRectItem(rect.rect())
            item.setPen(ring)
            item.setZValue(1.6)
            self.scene().addItem(item)
            items.append(item)
        return items

    def _add_box(self, box: Box) -> QGraphicsRectItem:
        color = class_qcolor(box.class_id)
        pen = QPen(color, 2)
        pen.setCosmetic(True)
        rect = QGraphicsRectItem(QRectF(box.x1, box.y1, box.x2 - box.x1, box.y2 - box.y1))
        rect.setPen(pen)
        rect.setZValue(1)
        if box.label:
            # a top-level item above every box, so that no other box's line crosses a label
            text = QGraphicsSimpleTextItem(box.label)
            text.setZValue(2)
            font = QFont()
            font.setPointSize(9)
            text.setFont(font)
            text.setBrush(QBrush(QColor(*text_color((color.blue(), color.green(), color.red())))))
            # the label keeps its screen size at every zoom, on a tag of the class colour
            text.setFlag(QGraphicsSimpleTextItem.GraphicsItemFlag.ItemIgnoresTransformations)
            tag = QGraphicsRectItem(
                text.boundingRect().adjusted(-_TAG_X, -_TAG_Y, _TAG_X, _TAG_Y), text
            )
            tag.setBrush(QBrush(color))
            tag.setPen(QPen(Qt.PenStyle.NoPen))
            tag.setFlag(QGraphicsRectItem.GraphicsItemFlag.ItemStacksBehindParent)
            text.setPos(box.x1, box.y1)
            self.scene().addItem(text)
            self._labels.append((box, text))
        self.scene().addItem(rect)
        return rect

    def _layout_labels(self) -> None:
        """Place the labels for the current zoom (they keep their screen size, so their room in
        image pixels changes with it)."""
        if not self._labels or not self.has_image():
            return
        s = self.transform().m11() or 1.0
        size = self._pixmap.pixmap().size()
        boxes = [(b.x1 * s, b.y1 * s, b.x2 * s, b.y2 * s) for b, _ in self._labels]
        sizes = [
            (t.boundingRect().width() + 2 * _TAG_X + 1, t.boundingRect().height() + 2 * _TAG_Y + 1)
            for _, t in self._labels
        ]
        hw = (size.height() * s, size.width() * s)
        for (_, text), (x1, y1, _, _) in zip(self._labels, label_boxes(boxes, sizes, hw),
                                             strict=True):  # fmt: skip
            text.setPos((x1 + _TAG_X) / s, (y1 + _TAG_Y) / s)

    # zoom ------------------------------------------------------------------------------------
    def fit(self) -> None:
        if self.has_image():
            self.fitInView(self._pixmap, Qt.AspectRatioMode.KeepAspectRatio)
        self._fitted = True
        self._layout_labels()
        self.zoom_changed.emit(self.scale_factor())

    def zoom(self, factor: float) -> None:
        self.scale(factor, factor)
        self._fitted = False
        self._layout_labels()
        self.zoom_changed.emit(self.scale_factor())

    def set_scale(self, scale: float) -> None:
        """Show the image at ``scale`` (1.0: 100 %, one image pixel per screen pixel)."""
        self.zoom(scale / self.scale_factor())

    def scale_factor(self) -> float:
        return self.transform().m11()

    def wheelEvent(self, event) -> None:  # noqa: N802 (Qt)
        if not self.has_image():
            return
        self.zoom(self.ZOOM_STEP if event.angleDelta().y() > 0 else 1 / self.ZOOM_STEP)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 (Qt)
        self.fit()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().resizeEvent(event)
        if self._fitted:
            self.fit()


class ZoomBar(QWidget):
    """Zoom out, zoom in, fit, 100 %, the zoom in percent and a boxes on/off switch for
    ``view``."""

    def __init__(self, view: ImageView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        buttons = (
            ("−", "Zoom out (or turn the mouse wheel over the image)", self._zoom_out),
            ("+", "Zoom in (or turn the mouse wheel over the image)", self._zoom_in),
            ("Fit", "Fit the whole image in the view (or double-click the image)", view.fit),
            ("100 %", "One image pixel per screen pixel, to judge fine defects", self._actual),
        )
        self.buttons: dict[str, QToolButton] = {}
        for text, tip, slot in buttons:
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            layout.addWidget(b)
            self.buttons[text] = b
        self.percent = QLabel()
        self.percent.setMinimumWidth(48)
        self.percent.setToolTip("The zoom: 100 % shows every image pixel as one screen pixel")
        layout.addWidget(self.percent)
        self.boxes = QCheckBox("Boxes")
        self.boxes.setChecked(view.boxes_visible())
        self.boxes.setToolTip("Show or hide the labelled boxes to see the surface under them")
        self.boxes.toggled.connect(view.set_boxes_visible)
        layout.addWidget(self.boxes)
        layout.addStretch(1)
        view.zoom_changed.connect(self._show_zoom)
        self._show_zoom(view.scale_factor())

    def _zoom_in(self) -> None:
        if self.view.has_image():
            self.view.zoom(ImageView.ZOOM_STEP)

    def _zoom_out(self) -> None:
        if self.view.has_image():
            self.view.zoom(1 / ImageView.ZOOM_STEP)

    def _actual(self) -> None:
        if self.view.has_image():
            self.view.set_scale(1.0)

    def _show_zoom(self, scale: float) -> None:
        self.percent.setText(f"{scale * 100:.0f} %" if self.view.has_image() else "")
