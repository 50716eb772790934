"""The decision panel of the Review tab: one button per action with its key, the class of a
drawn box, "next open item after a decision", and the per-class tallies.

The keys themselves are the tab's shortcuts; the buttons say them and do the same.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from grace_gui.sessions.review_state import TALLY_COLUMNS, Counts

# action, button text, key, what it means to a quality engineer
ACTIONS = (
    ("accept", "Accept", "A", "A real defect: the box and class are right"),
    ("reject", "Reject", "R", "A false alarm (for a missed box: there is no defect there)"),
    ("ok", "Image OK", "O", "The whole image has no defect: every box on it is removed"),
    ("skip", "Skip", "S", "Looked at, no decision: it leaves the open queue, nothing changes"),
    ("undo", "Undo", "Z", "Take back the last decision (it is kept in the log as undone)"),
    ("prev", "◀ Previous", "Left", "The previous finding in the list"),
    ("next", "Next ▶", "Right", "The next finding in the list"),
    ("next_open", "Next open", "N", "The next finding nobody has decided yet"),
)
TALLY_HEADS = ("Class", "Done", "Acc.", "Rej.", "Fixed", "OK", "Skip")


class ReviewPanel(QWidget):
    """``action(name)`` when a button is pressed; the class for new boxes; the tallies."""

    action = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout()
        self.buttons: dict[str, QPushButton] = {}
        for n, (name, text, key, tip) in enumerate(ACTIONS):
            b = QPushButton(f"{text}  [{key.replace('Left', '←').replace('Right', '→')}]")
            b.setToolTip(f"{tip} (key {key})")
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys stay with the tab
            b.clicked.connect(lambda _=False, a=name: self.action.emit(a))
            grid.addWidget(b, n // 2, n % 2)
            self.buttons[name] = b
        self.new_class = QComboBox()
        self.new_class.setToolTip("The defect class given to a box you draw on the image (drag "
                                  "with the left button); keys 1–9 change the class of the "
                                  "finding under review instead")  # fmt: skip
        self.advance = QCheckBox("Next open finding after a decision")
        self.advance.setChecked(True)
        self.advance.setToolTip("After Accept, Reject, Image OK, Skip or a class key, show the "
                                "next finding still to review")  # fmt: skip
        self.others = QCheckBox("Show the model's other detections")
        self.others.setChecked(True)
        self.others.setToolTip("Draw every detection of the image (thin, with its confidence) "
                               "around the finding under review; off: only the finding and "
                               "the ground truth")  # fmt: skip
        form = QFormLayout()
        form.addRow("Drawn box class", self.new_class)
        self.classes = QLabel()
        self.classes.setWordWrap(True)
        self.classes.setToolTip("Press a number to say the finding is a defect of that class")
        self.tallies = QTableWidget(0, len(TALLY_HEADS))
        self.tallies.setHorizontalHeaderLabels(TALLY_HEADS)
        self.tallies.verticalHeader().setVisible(False)
        self.tallies.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.tallies.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.tallies.setToolTip(
            "Per defect class: findings reviewed (decided or skipped) of all, and what was "
            "decided: accepted, rejected, fixed (class or box corrected, a box added), image OK, "
            "skipped"
        )
        self.tallies.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid)
        layout.addWidget(self.classes)
        layout.addLayout(form)
        layout.addWidget(self.advance)
        layout.addWidget(self.others)
        layout.addWidget(self.tallies, 1)

    def set_names(self, names: tuple[str, ...]) -> None:
        self.new_class.clear()
        self.new_class.addItems(list(names))
        keys = [f"{k + 1} {n}" for k, n in enumerate(names[:9])]
        self.classes.setText("Class keys: " + " · ".join(keys))

    def set_enabled(self, can_decide: bool) -> None:
        for name in ("accept", "reject", "ok", "skip", "undo"):
            self.buttons[name].setEnabled(can_decide)

    def set_counts(self, counts: Counts) -> None:
        t = self.tallies
        t.setRowCount(len(counts.by_class))
        for r, tally in enumerate(counts.by_class):
            cells = [tally.cls, f"{tally.reviewed:,} / {tally.total:,}"]
            cells += [f"{tally.outcomes.get(c, 0):,}" for c in TALLY_COLUMNS]
            for c, text in enumerate(cells):
                item = t.item(r, c)
                if item is None:
                    item = QTableWidgetItem(text)
                    if c:
                        item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                    t.setItem(r, c, item)
                elif item.text() != text:  # a decision changes two or three cells: only those
                    item.setText(text)
