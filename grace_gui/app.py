"""``grace-gui``: start the application.

With no arguments every tab opens what the last session left open, or the bundled demo on the
first launch. Headless (CI, a server): ``QT_QPA_PLATFORM=offscreen grace-gui``, or under Xvfb
with ``xvfb-run grace-gui``.
"""

from __future__ import annotations

import argparse
import os
import sys

from grace_gui.settings import SETTINGS_ENV


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="grace-gui", description="GRACE Inspector")
    p.add_argument(
        "--demo", action="store_true", help="open the bundled demo, not the last session"
    )
    p.add_argument(
        "--settings", metavar="INI", help=f"settings file (default: the user's; env {SETTINGS_ENV})"
    )
    return p.parse_args(argv)


def build_window(
    settings_path: str | None = None, demo: bool = False, gpus: list[str] | None = None
):
    """The main window with its context, tabs opened (last session or demo), not yet shown."""
    from grace_gui.context import AppContext
    from grace_gui.demo import find_demo
    from grace_gui.device import cuda_devices
    from grace_gui.gui_thread import start_gui_thread_services
    from grace_gui.main_window import MainWindow
    from grace_gui.settings import open_settings
    from grace_gui.widgets.notifications import NotificationBar
    from grace_gui.workers.qthreading import long_job_pool

    start_gui_thread_services()  # the GUI-thread invoker, and garbage collection only there
    settings = open_settings(settings_path)
    if demo:
        settings.clear()
    context = AppContext(
        settings=settings,
        notifications=NotificationBar(),
        pool=long_job_pool(),
        demo=find_demo(),
        gpus=cuda_devices() if gpus is None else gpus,
    )
    window = MainWindow(context)
    window.restore_geometry()
    window.open_initial()
    return window


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("YOLO_OFFLINE", "1")  # nothing downloads at run time
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("GRACE Inspector")
    app.setOrganizationName("GRACE")
    from grace_gui.warmup import preload_engine

    preload_engine()  # before the window: a first import in a worker would stall the GUI
    window = build_window(args.settings, args.demo)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
