"""The application window opens (offscreen) and tells which device the engine will use."""

from __future__ import annotations

from grace_gui.app import build_window, device_label


def test_main_window_shows_device_in_status_bar(qtbot, tmp_path):
    window = build_window()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle() == "GRACE Inspector"
    assert window.statusBar().currentMessage() == f"Device: {device_label()}"
    assert window.grab().save(str(tmp_path / "main_window.png"))
