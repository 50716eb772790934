"""The main window: four tabs, the device in the status bar, remembered state, worker errors."""

from __future__ import annotations

import time

from PySide6.QtCore import QSize

from grace_gui.settings import open_settings
from grace_gui.stall import StallMeter
from grace_gui.workers.qthreading import Worker


def test_main_window_has_the_four_tabs_and_the_device(make_window):
    window = make_window()
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert titles == ["Dataset", "Train", "Inference", "Evaluate", "Review", "Eigen-CAM"]
    assert window.device_label.text() == "Device: CPU"
    assert window.context.demo is not None, "the bundled demo is missing from resources/"


def test_window_state_is_remembered_between_launches(make_window):
    window = make_window()
    window.resize(window.minimumSizeHint().expandedTo(window.minimumSize()) + QSize(7, 5))
    size = window.size()
    assert size != QSize(1280, 820)  # not the default size
    window.tabs.setCurrentIndex(2)
    window.close()
    again = make_window()
    assert again.tabs.currentIndex() == 2
    assert again.size() == size


def test_settings_keep_recent_lists_in_order(settings_path):
    s = open_settings(settings_path)
    for v in ["a", "b", "a", "c"]:
        s.remember("inference/models", v, limit=2)
    assert open_settings(settings_path).get("inference/models") == ["c", "a"]


def test_worker_delivers_progress_result_and_errors_as_signals(qtbot, make_window):
    window = make_window()
    progress, results = [], []

    def job(w):
        for i in range(3):
            w.progress.emit(i)
        return "done"

    worker = Worker(job)
    worker.progress.connect(progress.append)
    worker.result.connect(results.append)
    with qtbot.waitSignal(worker.finished, timeout=5000):
        worker.start(window.context.pool)
    assert progress == [0, 1, 2] and results == ["done"]

    failing = Worker.call(open, "/no/such/file.jpg")
    failing.error.connect(window.context.report("Dataset"))
    with qtbot.waitSignal(failing.finished, timeout=5000):
        failing.start(window.context.pool)
    bar = window.context.notifications
    assert bar.isVisible()
    assert bar.current.title == "Dataset"
    assert bar.current.message.startswith("FileNotFoundError:")
    assert "/no/such/file.jpg" in bar.current.message
    assert "Traceback" in bar.current.details
    assert window.tabs.isEnabled()  # the window stays usable


def test_stall_meter_sees_a_blocked_gui_thread(qtbot):
    """The meter reports at least the time the GUI thread was blocked (a lower bound that a
    busy machine cannot break; an upper bound on an idle GUI thread would be a timing target)."""
    block_ms = 250
    meter = StallMeter()
    meter.start()
    qtbot.wait(100)
    time.sleep(block_ms / 1000)  # the GUI thread does something slow
    qtbot.wait(50)
    longest = meter.stop()
    assert meter.ticks > 1
    assert longest >= block_ms - meter.interval_ms
