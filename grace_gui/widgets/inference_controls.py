"""The Inference tab's buttons: Run, Stop, Pause / Resume and the Export menu, and the dialog
that asks where an export goes."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QGridLayout, QMenu, QPushButton, QToolButton, QWidget

EXPORTS = (("Detections as CSV…", "csv"), ("Detections as JSON…", "json"),
           ("Annotated images…", "images"))  # fmt: skip


def ask_export_path(parent: QWidget, what: str, start: str) -> str:
    """A file (``csv``, ``json``) or folder (``images``) chosen by the user, or ``""``."""
    if what == "images":
        return QFileDialog.getExistingDirectory(parent, "Annotated images into", start)
    path, _ = QFileDialog.getSaveFileName(
        parent, f"Export detections as {what.upper()}", str(Path(start) / f"detections.{what}"),
        f"{what.upper()} (*.{what})",
    )  # fmt: skip
    return path


class RunControls(QWidget):
    """``run``, ``stop``, ``paused(bool)`` and ``export(what)`` as the user asks;
    :meth:`show_state` renders a run state (idle, running, paused, stopping)."""

    run = Signal()
    stop = Signal()
    paused = Signal(bool)
    export = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Inspect the source with the chosen model")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("End the run; what it found so far stays")
        self.stop_button.clicked.connect(self.stop)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Hold the run; Resume goes on where it stopped")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self.paused)
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setToolTip(
            "Save the rows shown in the table (with the model's path, "
            "hash and thresholds), or the images with their boxes"
        )
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        for text, what in EXPORTS:
            menu.addAction(text, lambda w=what: self.export.emit(w))
        self.export_button.setMenu(menu)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        for i, b in enumerate((self.run_button, self.stop_button, self.pause_button,
                               self.export_button)):  # fmt: skip
            grid.addWidget(b, i // 2, i % 2)
        self.show_state("idle")

    def show_state(self, state: str) -> None:
        for b in (self.pause_button, self.stop_button):
            b.setEnabled(state in ("running", "paused"))
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(state == "paused")
        self.pause_button.blockSignals(False)
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
