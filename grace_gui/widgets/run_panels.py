"""Two small views of the Train tab: the run box (folder, progress, status, settings) and the
run's log that keeps its end in view."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QLabel, QPlainTextEdit, QProgressBar, QVBoxLayout

from grace_gui.sessions.train_run import TrainRunSession


class RunBox(QGroupBox):
    """Where the shown run is, and what it was started with (its start event's settings)."""

    def __init__(self) -> None:
        super().__init__("Run")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setToolTip("epochs done of those planned since the run (re)started")
        self.status_label = QLabel("No run opened")
        self.run_label = QLabel("")
        self.run_label.setStyleSheet("color:#555")
        self.settings_label = QLabel("")
        self.settings_label.setToolTip("what the run was started with (its start event)")
        layout = QVBoxLayout(self)
        for w in (self.run_label, self.progress, self.status_label, self.settings_label):
            if isinstance(w, QLabel):
                w.setWordWrap(True)
                w.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(w)

    def render(self, session: TrainRunSession) -> None:
        """Show ``session``'s run (call with ``session.lock`` held)."""
        s = session.series
        done, total = s.progress()
        self.progress.setValue(int(1000 * done / total) if total else 0)
        self.status_label.setText(session.status_text())
        self.run_label.setText("" if session.run_dir is None else str(session.run_dir))
        self.settings_label.setText("\n".join(f"{k}: {v}" for k, v in s.config.items()))


class RunLog(QPlainTextEdit):
    """``train.log`` as it grows; it follows the end unless the user scrolled up."""

    def __init__(self) -> None:
        super().__init__()
        self.setReadOnly(True)
        self.setMaximumBlockCount(3000)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setPlaceholderText(
            "train.log of the run appears here (runs started from the command line have none: "
            "their output went to the terminal)"
        )

    def append_following(self, text: str) -> None:
        bar = self.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        self.appendPlainText(text.rstrip("\n"))
        if at_end:
            bar.setValue(bar.maximum())
