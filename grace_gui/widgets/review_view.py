"""The image under review: an :class:`~grace_gui.widgets.image_view.ImageView` where the box
under review has corner handles and a drag on the image draws a new box.

- Drag with the left button on the image: a new box (``box_drawn``, image pixels, clamped to
  the image); a drag shorter than :data:`MIN_DRAG` screen pixels is a click and draws nothing.
- Drag a corner handle of the target box: its new box (``box_adjusted``) on release.
- The middle button pans; the wheel zooms; a double click fits (as in every image view).

Image pixels are scene coordinates (the image lies at the scene's origin), so a view point
``p`` is the image point ``mapToScene(p)``.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsView,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from grace_gui.sessions.review_state import ShownItem
from grace_gui.widgets.image_view import Box, ImageView, ZoomBar

MIN_DRAG = 4  # screen pixels: below this a press and release is a click
HANDLE = 9  # screen pixels: the side of a corner handle


def _box(rect: QRectF) -> list[float]:
    return [round(v, 2) for v in (rect.left(), rect.top(), rect.right(), rect.bottom())]


def review_boxes(
    shown: ShownItem, names: tuple[str, ...], others: bool = True
) -> tuple[list[Box], Box | None]:
    """The ground truth (dashed), the model's other detections (thin, with their confidence;
    none unless ``others``) and the target under review (its kind, class and confidence)."""
    cid = {n: k for k, n in enumerate(names)}
    gt = [Box(*g["box"], cid.get(g["class"], 0), f"GT {g['class']}", "dashed")
          for g in shown.ground_truth]  # fmt: skip
    dets = [Box(*d["box"], cid.get(d["class"], 0), f"{d.get('confidence', 0):.2f}", "thin")
            for d in shown.detections] if others else []  # fmt: skip
    t, it = shown.target(), shown.item
    conf = f" {it.confidence:.2f}" if it.confidence is not None else ""
    label = f"{it.kind.replace('_', ' ')}: {t['class'] if t else ''}{conf}"
    target = Box(*t["box"], cid.get(t["class"], 0), label, "target") if t else None
    return gt + dets, target


class _Handle(QGraphicsRectItem):
    """One corner of the target box; dragging it moves that corner."""

    def __init__(self, view: ReviewView, corner: int) -> None:
        super().__init__(-HANDLE / 2, -HANDLE / 2, HANDLE, HANDLE)
        self.view, self.corner = view, corner
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setBrush(QBrush(QColor(255, 255, 255)))
        self.setPen(QPen(QColor(0, 0, 0), 1))
        self.setZValue(3)
        diagonal = corner in (0, 2)
        self.setCursor(
            Qt.CursorShape.SizeFDiagCursor if diagonal else Qt.CursorShape.SizeBDiagCursor
        )
        self.setToolTip("Drag to adjust the box under review; the change is recorded on release")

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt)
        event.accept()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt)
        self.view.move_corner(self.corner, event.scenePos())

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt)
        self.view.finish_adjust()


class ReviewView(ImageView):
    """The image with its boxes, the target under review editable, new boxes drawn by drag."""

    box_drawn = Signal(list)  # [x1, y1, x2, y2] image pixels
    box_adjusted = Signal(list)  # the target's new [x1, y1, x2, y2]

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setDragMode(QGraphicsView.DragMode.NoDrag)
        self.viewport().setCursor(Qt.CursorShape.CrossCursor)
        self._target: QRectF | None = None
        self._target_item: QGraphicsRectItem | None = None
        self._handles = [_Handle(self, k) for k in range(4)]
        for h in self._handles:
            self.scene().addItem(h)
            h.setVisible(False)
        self._rubber = QGraphicsRectItem()
        pen = QPen(QColor(255, 255, 255), 1, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self._rubber.setPen(pen)
        self._rubber.setZValue(4)
        self._rubber.setVisible(False)
        self.scene().addItem(self._rubber)
        self._press = None  # where a draw started (view point)
        self._pan = None  # where a pan started (view point)

    def set_review(self, boxes: Sequence[Box], target: Box | None) -> None:
        """``boxes`` (detections, ground truth) and the ``target`` under review, with handles."""
        self.set_boxes([*([target] if target else []), *boxes])  # its label is placed first
        self._target = QRectF(QPointF(target.x1, target.y1), QPointF(target.x2, target.y2)) \
            if target else None  # fmt: skip
        self._target_item = self._boxes[0] if target else None
        self._place_handles()

    def target(self) -> list[float] | None:
        return _box(self._target) if self._target is not None else None

    def _place_handles(self) -> None:
        r = self._target
        corners = [r.topLeft(), r.topRight(), r.bottomRight(), r.bottomLeft()] if r else []
        for h, c in zip(self._handles, corners, strict=False):
            h.setPos(c)
        for h in self._handles:
            h.setVisible(r is not None and self.boxes_visible())

    def set_boxes_visible(self, visible: bool) -> None:
        super().set_boxes_visible(visible)
        if hasattr(self, "_handles"):
            self._place_handles()

    def _clamp(self, p: QPointF) -> QPointF:
        size = self._pixmap.pixmap().size()
        return QPointF(min(max(p.x(), 0.0), size.width()), min(max(p.y(), 0.0), size.height()))

    # adjusting -------------------------------------------------------------------------------
    def move_corner(self, corner: int, scene: QPointF) -> None:
        if self._target is None:
            return
        p, r = self._clamp(scene), QRectF(self._target)
        setters = (r.setTopLeft, r.setTopRight, r.setBottomRight, r.setBottomLeft)
        setters[corner](p)
        self._target = r
        if self._target_item is not None:
            area = r.normalized()
            self._target_item.setRect(area)
            for child in self._target_item.childItems():
                if isinstance(child, QGraphicsRectItem):
                    child.setRect(area)
        self._place_handles()

    def finish_adjust(self) -> None:
        if self._target is None:
            return
        self._target = self._target.normalized()
        r = self._target
        if r.width() > 0 and r.height() > 0:
            self.box_adjusted.emit(_box(r))

    # drawing and panning ---------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt)
        if isinstance(self.itemAt(event.position().toPoint()), _Handle):
            super().mousePressEvent(event)  # the handle takes it
        elif event.button() == Qt.MouseButton.MiddleButton:
            self._pan = event.position()
        elif event.button() == Qt.MouseButton.LeftButton and self.has_image():
            self._press = event.position()
            self._rubber.setRect(QRectF())
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt)
        if self._pan is not None:
            d = event.position() - self._pan
            self._pan = event.position()
            h, v = self.horizontalScrollBar(), self.verticalScrollBar()
            h.setValue(h.value() - int(d.x()))
            v.setValue(v.value() - int(d.y()))
        elif self._press is not None:
            a = self._clamp(self.mapToScene(self._press.toPoint()))
            b = self._clamp(self.mapToScene(event.position().toPoint()))
            self._rubber.setRect(QRectF(a, b).normalized())
            self._rubber.setVisible(True)
        else:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt)
        if self._pan is not None:
            self._pan = None
        elif self._press is not None:
            start, self._press = self._press, None
            self._rubber.setVisible(False)
            d = event.position() - start
            if max(abs(d.x()), abs(d.y())) >= MIN_DRAG:
                a = self._clamp(self.mapToScene(start.toPoint()))
                b = self._clamp(self.mapToScene(event.position().toPoint()))
                r = QRectF(a, b).normalized()
                if r.width() > 0 and r.height() > 0:
                    self.box_drawn.emit(_box(r))
        else:
            super().mouseReleaseEvent(event)


class ImagePane(QWidget):
    """The zoom bar, the :class:`ReviewView` and the caption under it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = ReviewView()
        self.zoom_bar = ZoomBar(self.view)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w, stretch in ((self.zoom_bar, 0), (self.view, 1), (self.caption, 0)):
            layout.addWidget(w, stretch)
