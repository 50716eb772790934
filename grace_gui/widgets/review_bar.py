"""The Review tab's bar (open or make a store, the counter, export, fine-tune) and the page shown
while no store is open (what the tab is for, and one button for each way to start)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

STORE_FILES = "Review stores (*.db *.sqlite);;All files (*)"  # .sqlite: grace inspect's results
STARTS = (
    ("open", "Open review store…", "Continue a review: open a store made earlier (.db), or "
     "a watched folder's results (<folder>.inspect.sqlite) to review its uncertain "
     "detections"),
    ("new_folder", "New from a folder of images…", "Run a model over a folder of unlabelled "
     "images and review the detections it is unsure of (near its threshold)"),
    ("new_val", "New from a grace val output…", "Review a model's errors on a labelled split "
     "(false alarms, misses, class confusions, poorly placed boxes) from grace val's output"),
    ("demo", "Try it on the demo", "Validate the demo model on the demo images and review its "
     "errors (takes about half a minute the first time)"),
)  # fmt: skip


def _button(text: str, tip: str, signal, name: str) -> QPushButton:
    b = QPushButton(text)
    b.setToolTip(tip)
    b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    b.clicked.connect(lambda _=False: signal.emit(name))
    return b


class ReviewBar(QWidget):
    """``requested(name)``: ``open``, ``new``, ``export`` or ``fine_tune``."""

    requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.buttons = {
            "open": _button("Open store…", STARTS[0][2], self.requested, "open"),
            "new": _button(
                "New store…",
                "Make a review store from a folder of images or a grace val output, with a model",
                self.requested,
                "new",
            ),  # fmt: skip
        }
        self.path = QLabel("No review store open")
        self.path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.counter = QLabel()
        font = QFont()
        font.setPointSize(font.pointSize() + 3)
        font.setBold(True)
        self.counter.setFont(font)
        self.counter.setToolTip("Findings reviewed (decided or skipped) of all in the store")
        self.buttons["export"] = _button(
            "Export reviewed → dataset…", "Write the reviewed images with their corrected "
            "labels as a new YOLO dataset (the source is never changed)", self.requested,
            "export")  # fmt: skip
        self.buttons["fine_tune"] = _button(
            "Fine-tune on it", "Fill the Train tab with the exported dataset and this store's "
            "model as the starting weights", self.requested, "fine_tune")  # fmt: skip
        layout.addWidget(self.buttons["open"])
        layout.addWidget(self.buttons["new"])
        layout.addWidget(self.path, 1)
        layout.addWidget(self.counter)
        layout.addWidget(self.buttons["export"])
        layout.addWidget(self.buttons["fine_tune"])
        self.set_open(False)

    def set_open(self, is_open: bool, can_fine_tune: bool = False) -> None:
        self.buttons["export"].setEnabled(is_open)
        self.buttons["fine_tune"].setEnabled(is_open and can_fine_tune)


class StartPage(QWidget):
    """Shown while no store is open: ``requested(name)`` for each of :data:`STARTS`."""

    requested = Signal(str)

    def __init__(self, demo: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("Review what a model found")
        font = QFont()
        font.setPointSize(font.pointSize() + 6)
        font.setBold(True)
        title.setFont(font)
        text = QLabel(
            "Accept or reject each finding, correct its class or box, add what the model "
            "missed, mark images with no defect; then export the reviewed images as a dataset "
            "and fine-tune the model on it.\nKeys: A accept · R reject · O image OK · S skip · "
            "1–9 class · Z undo · ← → previous/next · N next open · drag to draw a box."
        )
        text.setWordWrap(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for w in (title, text):
            layout.addWidget(w)
        self.buttons = {}
        for name, label, tip in STARTS:
            if name == "demo" and not demo:
                continue
            b = _button(label, tip, self.requested, name)
            b.setMinimumHeight(34)
            layout.addWidget(b)
            self.buttons[name] = b
        layout.addWidget(self.status)
        layout.addStretch(2)
        layout.setContentsMargins(160, 20, 160, 20)
