"""Render every tab to PNG with the demo loaded: ``python -m grace_gui.screenshots OUT``.

Runs headless (``QT_QPA_PLATFORM=offscreen``, set here when no display is given) or under Xvfb
(``xvfb-run python -m grace_gui.screenshots OUT``). Each tab is shown once its background work
(thumbnails, inference, CAM) has settled, then grabbed to ``OUT/<n>_<tab>.png``.
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
        for path in render_tabs(window, args.out, args.timeout):
            print(path)
        for tab in window.all_tabs():
            tab.shutdown()
        window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
