"""The notification area: errors from any worker, readable, with the details one click away.

A bar above the tabs shows the latest message (one line) with *Details…* (the traceback or the
full text in a non-modal dialog) and *Dismiss*; the window stays usable meanwhile. Every
message is kept in :attr:`NotificationBar.history`.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget


@dataclass(frozen=True)
class Notice:
    title: str  # where it came from: "Inference", "Training", ...
    message: str  # one line
    details: str = ""
    level: str = "error"  # "error" | "warning" | "info"


_STYLE = {
    "error": "background:#fdecea; color:#611a15; border:1px solid #f5c2c0;",
    "warning": "background:#fff4e5; color:#663c00; border:1px solid #ffd8a8;",
    "info": "background:#e8f4fd; color:#0d3c61; border:1px solid #b6dcfb;",
}


class NotificationBar(QFrame):
    """Connect workers' ``error(str, str)`` through :meth:`reporter`."""

    notified = Signal(object)  # Notice

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history: list[Notice] = []
        self.current: Notice | None = None
        self._label = QLabel()
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._label.setWordWrap(True)
        self._details = QPushButton("Details…")
        self._details.clicked.connect(self.show_details)
        close = QPushButton("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self._label, 1)
        layout.addWidget(self._details)
        layout.addWidget(close)
        self._dialog: QMessageBox | None = None
        self.hide()

    def notify(self, notice: Notice) -> None:
        self.history.append(notice)
        self.current = notice
        self.setStyleSheet(f"NotificationBar {{{_STYLE.get(notice.level, _STYLE['error'])}}}")
        self._label.setText(f"<b>{notice.title}:</b> {notice.message}")
        self._details.setVisible(bool(notice.details))
        self.show()
        self.notified.emit(notice)

    def error(self, title: str, message: str, details: str = "") -> None:
        self.notify(Notice(title, message, details, "error"))

    def warning(self, title: str, message: str, details: str = "") -> None:
        self.notify(Notice(title, message, details, "warning"))

    def info(self, title: str, message: str) -> None:
        self.notify(Notice(title, message, "", "info"))

    def reporter(self, title: str):
        """A slot for a worker's ``error(message, details)`` signal."""
        return lambda message, details="": self.error(title, message, details)

    def show_details(self) -> None:
        if self.current is None:
            return
        box = QMessageBox(self.window())
        box.setIcon(
            QMessageBox.Icon.Warning
            if self.current.level != "info"
            else QMessageBox.Icon.Information
        )
        box.setWindowTitle(f"GRACE Inspector: {self.current.title}")
        box.setText(self.current.message)
        box.setDetailedText(self.current.details)
        box.setModal(False)
        box.open()
        self._dialog = box
