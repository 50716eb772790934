"""``grace-gui``: start the application.

For now the window shows the engine and the device it will use; the Dataset, Train, Inference
and Eigen-CAM tabs arrive with the application issue. Headless: ``QT_QPA_PLATFORM=offscreen``.
"""

from __future__ import annotations

import sys


def device_label() -> str:
    """'CPU' or the name of the first CUDA GPU."""
    import torch

    if torch.cuda.is_available():
        return f"GPU 0: {torch.cuda.get_device_name(0)}"
    return "CPU"


def build_window():
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QLabel, QMainWindow

    window = QMainWindow()
    window.setWindowTitle("GRACE Inspector")
    text = QLabel(
        "<h2>GRACE Inspector</h2>"
        "<p>Steel-surface defect inspection on YOLO11 with DS-CBSM++ and Lite-FEN.</p>"
        "<p>The engine is ready on the command line: <code>grace train</code>, "
        "<code>grace val</code>, <code>grace bench</code>, <code>grace data import</code>.</p>"
    )
    text.setAlignment(Qt.AlignmentFlag.AlignCenter)
    text.setWordWrap(True)
    window.setCentralWidget(text)
    window.statusBar().showMessage(f"Device: {device_label()}")
    window.resize(900, 600)
    return window


def main(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv if argv is None else argv)
    window = build_window()
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
