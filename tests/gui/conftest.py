"""Qt fixtures: a main window on a throw-away settings file, with the bundled demo."""

from __future__ import annotations

import pytest
from _inference_tab_helpers import (  # noqa: F401 (fixtures)
    big_folder,
    context,
    engine,
    make_tab,
    settle_pools,
    tab,
)


@pytest.fixture(scope="session", autouse=True)
def preloaded_engine(qapp):
    """What ``grace-gui`` does before its window shows (imports, gc.freeze, the GUI-thread
    invoker and garbage collector): the GUI tests run under the same conditions as the
    application."""
    from grace_gui.gui_thread import start_gui_thread_services
    from grace_gui.warmup import preload_engine

    assert preload_engine() == []
    start_gui_thread_services()


@pytest.fixture
def settings_path(tmp_path):
    return str(tmp_path / "settings.ini")


@pytest.fixture
def make_window(qtbot, settings_path):
    """Build (and show) the main window; call again to relaunch on the same settings."""
    from grace_gui.app import build_window

    windows = []

    def make(**kwargs):
        window = build_window(settings_path=settings_path, gpus=[], **kwargs)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for w in windows:
        for each in w.all_tabs():
            each.shutdown()
    settle_pools([w.context.pool for w in windows])
