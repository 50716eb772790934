"""Asking where a NEU-DET/VOC folder is imported to, and never replacing an earlier import
without asking.

The engine replaces an earlier import in the output folder at once and whole (and refuses a
folder holding anything else); here the user sees that earlier import first and chooses: open
it, import again over it, or import elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from grace_gui.sessions.dataset import previous_import


@dataclass(frozen=True)
class ImportChoice:
    """``open``: open the earlier import in ``out``; else import into ``out`` (``replace``:
    over the earlier import there, which the user agreed to)."""

    out: str
    open: bool = False
    replace: bool = False


def default_out(src: Path) -> Path:
    return src.parent / f"{src.name}-yolo"


def ask_import(parent: QWidget, src: Path, kind: str) -> ImportChoice | None:
    """Ask what to do with the ``kind`` folder ``src``; ``None`` when the user declines."""
    out = default_out(src)
    earlier = previous_import(out)
    box = QMessageBox(parent)
    box.setWindowTitle("Import dataset")
    if earlier is None:
        box.setText(f"{src} is a {kind.upper()} folder.\nImport it to YOLO in\n{out} ?")
        here = box.addButton("Import", QMessageBox.ButtonRole.AcceptRole)
        opened = None
    else:
        box.setText(f"{src} is a {kind.upper()} folder.\n{earlier.text()}.")
        opened = box.addButton("Open the earlier import", QMessageBox.ButtonRole.AcceptRole)
        here = box.addButton("Import again (replace it)", QMessageBox.ButtonRole.DestructiveRole)
    other = box.addButton("Import elsewhere…", QMessageBox.ButtonRole.ActionRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    clicked = box.clickedButton()
    if opened is not None and clicked is opened:
        return ImportChoice(str(out), open=True)
    if clicked is here:
        return ImportChoice(str(out), replace=earlier is not None)
    if clicked is other:
        chosen = QFileDialog.getExistingDirectory(parent, "Import into (new or empty folder)")
        if not chosen:
            return None
        again = previous_import(chosen)
        if again is None:
            return ImportChoice(chosen)
        if confirm_replace(parent, again.text()):
            return ImportChoice(chosen, replace=True)
    return None


def confirm_replace(parent: QWidget, earlier: str) -> bool:
    answer = QMessageBox.question(
        parent, "Replace the earlier import?", f"{earlier}.\nReplace it with a new import?"
    )
    return answer == QMessageBox.StandardButton.Yes
