"""The left side of the Inference tab: the image with its boxes, the run's state over it, the
caption (always the image shown, or why there is none), a watched folder's OK/NG counters and
*Follow the run*."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QCheckBox, QGridLayout, QLabel, QWidget

from grace_gui.widgets.image_view import Box, ImageView

OVERLAY_CSS = "background: rgba(0,0,0,150); color: white; padding: 3px 6px; border-radius: 3px;"
OK_COLOR, NG_COLOR = "#2e7d32", "#c62828"


def verdicts_html(tally) -> str:
    """The counters as the view shows them: OK in green, NG in red, then the files that could
    not be inspected and the latest file's verdict and latency.

    >>> from grace_gui.sessions.inference_watch import Tally
    >>> t = Tally({"OK": 2, "NG": 1, "corrupt": 0, "vanished": 0}, ("a.jpg", "NG", 12.0))
    >>> for part in verdicts_html(t).split(" &nbsp; "):
    ...     print(part)
    <b style="color:#2e7d32">OK 2</b>
    <b style="color:#c62828">NG 1</b>
    latest: a.jpg NG, 12 ms
    """
    c = tally.counts
    parts = [f'<b style="color:{OK_COLOR}">OK {c["OK"]}</b>',
             f'<b style="color:{NG_COLOR}">NG {c["NG"]}</b>',
             *(f"{c[k]} {k}" for k in ("corrupt", "vanished") if c[k])]  # fmt: skip
    if tally.last is not None:
        name, status, ms = tally.last
        parts.append(f"latest: {escape(name)} {status}" + (f", {ms:.0f} ms" if ms else ""))
    return " &nbsp; ".join(parts)


class InferenceView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = ImageView()
        self.overlay = QLabel(self.view)
        self.overlay.setStyleSheet(OVERLAY_CSS)
        self.overlay.hide()
        self.view.installEventFilter(self)
        self.follow = QCheckBox("Follow the run")
        self.follow.setChecked(True)
        self.follow.setToolTip("Show each new image as it is inspected; choosing a row turns "
                               "this off")  # fmt: skip
        self.caption = QLabel("")
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdicts = QLabel()
        self.verdicts.setToolTip("A watched folder's verdicts so far: OK (no detection at its "
                                 "class threshold), NG, and files that could not be inspected; "
                                 "every record is in the results store beside the "
                                 "folder")  # fmt: skip
        self.verdicts.setStyleSheet("font-size: 13pt;")
        self.verdicts.hide()
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.view, 0, 0, 1, 2)
        grid.addWidget(self.verdicts, 1, 0, 1, 2)
        grid.addWidget(self.caption, 2, 0)
        grid.addWidget(self.follow, 2, 1)
        self.clear("Choose a model and a source, then Run")

    def show_image(self, image, name: str, boxes: Sequence[Box], highlight: int | None) -> None:
        self.view.set_image(image)
        self.show_boxes(name, boxes, highlight)

    def show_boxes(self, name: str, boxes: Sequence[Box], highlight: int | None) -> None:
        self.view.set_boxes(boxes, highlight=highlight)
        n = len(boxes)
        self.caption.setText(f"{name} · {n} detection{'s' if n != 1 else ''}")

    def clear(self, text: str) -> None:
        """No image: ``text`` says why (or what to do), in the view and the caption."""
        self.view.set_placeholder(text)
        self.caption.setText(text)

    def show_verdicts(self, tally) -> None:
        """A watch's counters (a :class:`~grace_gui.sessions.inference_watch.Tally`), or none."""
        if tally is not None:
            self.verdicts.setText(verdicts_html(tally))
        self.verdicts.setVisible(tally is not None)

    def set_overlay(self, text: str, visible: bool) -> None:
        if text:
            self.overlay.setText(text)
            self.overlay.adjustSize()
            self._place()
        self.overlay.setVisible(visible)

    def _place(self) -> None:
        """Bottom left of the view, clear of the boxes' labels at the top."""
        self.overlay.move(8, max(8, self.view.height() - self.overlay.height() - 8))

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt)
        if obj is self.view and event.type() == QEvent.Type.Resize:
            self._place()
        return super().eventFilter(obj, event)
