"""The Help dialogs: the Guide (tabs and terms), the keyboard shortcuts and About.

Each is a non-modal page of text the user can select and copy (a version for a bug report, a
term's sentence); the words come from :mod:`grace_gui.help_texts` and :mod:`grace_gui.about`.
"""

from __future__ import annotations

from html import escape

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from grace_gui.about import about_facts
from grace_gui.help_texts import guide_html

ABOUT_LINE = (
    "Steel-surface defect inspection on Ultralytics YOLO11, "
    "with GRACE: the DS-CBSM++ sampler and the Lite-FEN attention block."
)


class TextDialog(QDialog):
    """A titled page of HTML with a Close button."""

    def __init__(self, title: str, html: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.browser.setHtml(html)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addWidget(buttons)

    def text(self) -> str:
        """What the page says, as plain text."""
        return self.browser.toPlainText()


def table_html(rows: list[tuple[str, str]], head: str = "") -> str:
    cells = "".join(
        f"<tr><td style='padding:2px 16px 2px 0'><b>{escape(a)}</b></td><td>{escape(b)}</td></tr>"
        for a, b in rows
    )
    return f"{head}<table>{cells}</table>"


def guide_dialog(parent: QWidget | None = None) -> TextDialog:
    dialog = TextDialog("GRACE Inspector: Guide", guide_html(), parent)
    dialog.resize(680, 720)
    return dialog


def shortcut_rows(actions: list[QAction]) -> list[tuple[str, str]]:
    """``(shortcut, what it does)`` of every action that has a shortcut, in menu order."""
    return [
        (a.shortcut().toString(), a.text().replace("&", "").rstrip("…"))
        for a in actions
        if not a.shortcut().isEmpty()
    ]


def shortcuts_dialog(actions: list[QAction], parent: QWidget | None = None) -> TextDialog:
    html = table_html(shortcut_rows(actions), "<h3>Keyboard shortcuts</h3>")
    dialog = TextDialog("GRACE Inspector: Keyboard shortcuts", html, parent)
    dialog.resize(420, 380)
    return dialog


def about_dialog(gpus: list[str], parent: QWidget | None = None) -> TextDialog:
    line = "<br>".join(escape(part) for part in ABOUT_LINE.split(", "))  # DS-CBSM++ whole
    head = f"<h2>GRACE Inspector</h2><p>{line}</p>"
    dialog = TextDialog("About GRACE Inspector", table_html(about_facts(gpus), head), parent)
    dialog.resize(520, 420)
    return dialog
