"""Render every tab to PNG with the demo loaded: ``python -m grace_gui.screenshots OUT``.

Runs headless (``QT_QPA_PLATFORM=offscreen``, set here when no display is given) or under Xvfb
(``xvfb-run python -m grace_gui.screenshots OUT``). Each tab is shown once its background work
(thumbnails, inference, evaluation, CAM) has settled, then grabbed to ``OUT/<n>_<tab>.png``;
then the Evaluate tab's other pages (``4_evaluate_<page>.png``), the menus (``menus.png``: the
window with File, View and Help drawn open side by side), the Help guide (``help.png``) and
About (``about.png``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

OFFSCREEN_SCREEN = (
    '{"screens": [{"name": "screen", "x": 0, "y": 0, "width": 1920, "height": 1080,'
    ' "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}'
)


def wait_until_idle(window, timeout: float = 60.0, quiet_for: float = 1.0) -> bool:
    """Process events until no worker has run for ``quiet_for`` seconds (or ``timeout``)."""
    from PySide6.QtCore import QThreadPool
    from PySide6.QtWidgets import QApplication

    pools = [window.context.pool, QThreadPool.globalInstance()]
    deadline = time.monotonic() + timeout
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if any(p.activeThreadCount() for p in pools):
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_for:
            return True
        time.sleep(0.02)
    return False


def render_tabs(window, out: str | Path, timeout: float = 60.0) -> list[Path]:
    """Grab each tab of ``window`` to ``out``; returns the PNG paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, tab in enumerate(window.all_tabs()):
        window.tabs.setCurrentIndex(i)
        wait_until_idle(window, timeout)
        slug = tab.title.lower().replace(" ", "-")
        path = out / f"{i + 1}_{slug}.png"
        if not window.grab().save(str(path)):
            raise OSError(f"{path}: could not write the screenshot")
        paths.append(path)
    return paths


def render_evaluate_pages(window, out: str | Path) -> list[Path]:
    """Each result page of the Evaluate tab (``4_evaluate_<page>.png``; Metrics is the tab's
    own screenshot)."""
    from PySide6.QtWidgets import QApplication

    from grace_gui.widgets.eval_pages import PAGES

    tab, out = window.evaluate_tab, Path(out)
    window.tabs.setCurrentWidget(tab)
    paths = []
    for i, page in enumerate(PAGES[1:], 1):
        tab.pages.setCurrentIndex(i)
        QApplication.processEvents()
        paths.append(_save(window.grab(), out / f"4_evaluate_{page}.png"))
    tab.pages.setCurrentIndex(0)
    return paths


def _save(pixmap, path: Path) -> Path:
    if not pixmap.save(str(path)):
        raise OSError(f"{path}: could not write the screenshot")
    return path


def render_menus(window, path: str | Path) -> Path:
    """The window with every menu of its menu bar drawn open below its title (side by side
    where they would overlap): what a reader sees when opening each menu."""
    from PySide6.QtGui import QPainter

    pixmap = window.grab()
    bar = window.menuBar()
    painter = QPainter(pixmap)
    right = 0
    for action in bar.actions():
        menu = action.menu()
        if menu is None:
            continue
        menu.ensurePolished()
        menu.adjustSize()
        at = bar.mapTo(window, bar.actionGeometry(action).bottomLeft())
        at.setX(max(at.x(), right + 8 if right else 0))
        painter.drawPixmap(at, menu.grab())
        right = at.x() + menu.width()
    painter.end()
    return _save(pixmap, Path(path))


def render_help(window, out: str | Path) -> list[Path]:
    """``menus.png``, ``help.png`` (the Guide) and ``about.png`` in ``out``."""
    from PySide6.QtWidgets import QApplication

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [render_menus(window, out / "menus.png")]
    for name, file in (("guide", "help.png"), ("about", "about.png")):
        dialog = window.menus.show_dialog(name)
        QApplication.processEvents()
        paths.append(_save(dialog.grab(), out / file))
        dialog.close()
    return paths


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m grace_gui.screenshots", description=__doc__)
    p.add_argument("out", help="folder for the PNG files")
    p.add_argument("--size", default="1280x820", help="window size, WxH")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait per tab")
    args = p.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    if not os.environ.get("DISPLAY") and "QT_QPA_PLATFORM" not in os.environ:
        config = Path(tempfile.mkdtemp()) / "offscreen.json"
        config.write_text(OFFSCREEN_SCREEN)  # a screen large enough for the window
        os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    from PySide6.QtWidgets import QApplication

    from grace_gui.app import build_window
    from grace_gui.warmup import preload_engine

    app = QApplication.instance() or QApplication([sys.argv[0]])
    preload_engine()  # as grace-gui does
    with tempfile.TemporaryDirectory() as tmp:
        window = build_window(settings_path=str(Path(tmp) / "settings.ini"), demo=True)
        window.resize(width, height)
        window.show()
        window.review_tab.open_demo()  # the Review tab's demo store is made on request
        paths = render_tabs(window, args.out, args.timeout)
        paths += render_evaluate_pages(window, args.out) + render_help(window, args.out)
        for path in paths:
            print(path)
        for tab in window.all_tabs():
            tab.shutdown()
        window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
