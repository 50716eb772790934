"""What the main window expects of a tab."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from grace_gui.context import AppContext
from grace_gui.demo import Demo
from grace_gui.gui_thread import install_invoker


class Tab(QWidget):
    """A tab: built from the context; restores what it remembered or opens the demo."""

    title = "Tab"

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        install_invoker()  # built on the GUI thread: workers hand results back through it
        self.context = context
        self.settings = context.settings

    def restore(self) -> bool:
        """Open what the last session left open; ``False`` when there was nothing (or it is
        gone), and the main window then calls :meth:`load_demo`."""
        return False

    def load_demo(self, demo: Demo) -> None:
        """Show the bundled demo."""

    def save_state(self) -> None:
        """Remember what :meth:`restore` needs (called when the window closes)."""

    def busy(self) -> str:
        """Why closing now would lose work ("a training run is going on"), or ``""``."""
        return ""

    def shutdown(self) -> None:
        """Stop this tab's workers (the window is closing)."""
