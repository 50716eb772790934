"""GUI-thread stall figures (DESIGN "Performance": the GUI thread never blocked more than
100 ms): measured here, by ``python -m grace_gui.bench --stall``, not asserted by the tests (a
busy machine stalls any thread, so a timing target in a test fails for reasons of its own).

- ``thumbnails_*``: the Dataset tab opens a folder of 10,000 images (hard links to 4 small
  JPEGs) and its grid is scrolled top to bottom in 80 steps; the longest stall over the open and
  the scroll, the time to open, and how many thumbnails were decoded.
- ``train_*``: the Train tab starts a real 1-epoch-per-half-second training (yolo11n, 64 px,
  batch 4, CPU, on the bundled demo dataset) in its own process and streams ``epochs`` epochs
  into its plots; the longest stall while they stream, then from Stop to 1 s after the end.
- ``review_*``: the Review tab on the demo's review store: from a decision (A or R) to the next
  item's image painted, median and longest over 40 decisions (target < 50 ms), how many of
  those next images had been decoded ahead, and the longest stall over the loop.
- the Inference tab's stall while inferring on a folder is :func:`grace_gui.bench.bench`'s
  ``stall_ms`` (with ``--weights`` and a folder).

Each figure comes with ``*_ok`` against :data:`TARGET_STALL_MS`. Needs a QApplication.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TARGET_STALL_MS = 100.0
TARGET_NEXT_MS = 50.0  # the Review tab: from a decision to the next image shown


def wait_ms(ms: int) -> None:
    """Run the event loop for ``ms`` milliseconds (the GUI thread stays free)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Run the event loop until ``condition()``; a :class:`GraceError` after ``timeout_s``."""
    from PySide6.QtCore import QEventLoop, QTimer

    from grace.errors import GraceError

    deadline = time.monotonic() + timeout_s
    loop, timer = QEventLoop(), QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: (condition() or time.monotonic() > deadline) and loop.quit())
    if not condition():
        timer.start()
        loop.exec()
        timer.stop()
    if not condition():
        raise GraceError(f"stall bench: timed out after {timeout_s:.0f} s waiting for {what}")


def _ten_thousand(folder: Path, n: int) -> None:
    import cv2
    import numpy as np

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    sources = []
    for k in range(4):
        src = folder.parent / f"src{k}.jpg"
        cv2.imwrite(str(src), rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
        sources.append(src)
    for i in range(n):
        os.link(sources[i % 4], folder / f"img_{i:05d}.jpg")


def thumbnails_stall(n: int = 10_000, steps: int = 80, timeout_s: float = 60.0) -> dict:
    """The Dataset tab's longest stall while opening and scrolling a folder of ``n`` images."""
    from grace_gui.context import AppContext
    from grace_gui.settings import open_settings
    from grace_gui.stall import StallMeter
    from grace_gui.tabs.dataset_tab import DatasetTab
    from grace_gui.widgets.notifications import NotificationBar
    from grace_gui.workers.qthreading import long_job_pool

    with tempfile.TemporaryDirectory(prefix="grace-stall-") as tmp:
        folder = Path(tmp) / "many"
        _ten_thousand(folder, n)
        context = AppContext(settings=open_settings(str(Path(tmp) / "settings.ini")),
                             notifications=NotificationBar(), pool=long_job_pool())  # fmt: skip
        tab = DatasetTab(context)
        tab.resize(1280, 780)
        tab.show()
        loaded: list = []
        tab.shown.connect(loaded.append)  # a plain folder is no dataset
        meter = StallMeter()
        meter.start()
        t0 = time.perf_counter()
        tab.open_path(folder)
        wait_until(lambda: bool(loaded), timeout_s, f"{folder} to open")
        opened_s = time.perf_counter() - t0
        bar = tab.grid.verticalScrollBar()
        wait_until(lambda: bar.maximum() > 0, timeout_s, "the grid to lay out")
        for k in range(steps + 1):
            bar.setValue(bar.maximum() * k // steps)
            wait_ms(15)
        last = tab.model.paths[-1]
        wait_until(lambda: last in tab.loader.cache, timeout_s, "the last thumbnail")
        stall = meter.stop()
        decoded = tab.loader.decoded_count
        tab.shutdown()
        context.pool.waitForDone(5000)
        tab.close()
    return {
        "thumbnails_images": n,
        "thumbnails_open_s": round(opened_s, 3),
        "thumbnails_stall_ms": round(stall, 1),
        "thumbnails_decoded": decoded,
        "thumbnails_ok": stall < TARGET_STALL_MS,
    }


def training_stall(epochs: int = 6, timeout_s: float = 300.0) -> dict:
    """The Train tab's longest stall while a real training streams ``epochs`` epochs in, and
    from Stop to one second after the run ended."""
    from grace_gui.app import build_window
    from grace_gui.demo import find_demo
    from grace_gui.stall import StallMeter

    with tempfile.TemporaryDirectory(prefix="grace-stall-") as tmp:
        demo = find_demo()
        if demo is None:
            raise SystemExit("the training stall needs the bundled demo dataset (resources/demo)")
        data = demo.data_yaml  # 24 NEU-DET images trained at 64 px: fast, and real
        window = build_window(settings_path=str(Path(tmp) / "settings.ini"), gpus=[])
        window.resize(1280, 820)
        window.show()
        tab = window.train_tab
        window.tabs.setCurrentWidget(tab)  # the plots are painted while it is measured
        f = tab.form
        f.data.setText(str(data))
        f.model.setCurrentIndex(f.model.findData("yolo11n"))
        f.variant.setCurrentIndex(f.variant.findData("grace"))
        f.epochs.setValue(500)  # ends through Stop
        f.imgsz.setValue(64)
        f.batch.setValue(4)
        f.device.setCurrentIndex(f.device.findData("cpu"))
        f.workers.setValue(0)
        f.project.setText(str(Path(tmp) / "runs"))
        wait_ms(3000)  # the other tabs open the demo at start: let them settle
        try:
            meter = StallMeter()
            meter.start()
            t0 = time.perf_counter()
            run = tab.start_training()
            session = tab.session
            wait_until(lambda: session.run_dir == run and session.series.epochs_done >= epochs,
                       timeout_s, f"{epochs} epochs")  # fmt: skip
            stall = meter.stop()
            train_s = time.perf_counter() - t0
            end_meter = StallMeter()
            end_meter.start()
            tab.stop_training()
            wait_until(lambda: tab.session.proc.poll() is not None and tab.session.series.finished,
                       timeout_s, "the run to stop")  # fmt: skip
            wait_ms(1000)  # what the end of a run sets off in the other tabs
            end_stall = end_meter.stop()
        finally:
            proc = tab.session.proc
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(30)
            for t in window.all_tabs():
                t.shutdown()
            window.close()
    return {
        "train_epochs": epochs,
        "train_s": round(train_s, 2),
        "train_stall_ms": round(stall, 1),
        "train_end_stall_ms": round(end_stall, 1),
        "train_ok": max(stall, end_stall) < TARGET_STALL_MS,
    }


def review_stall(decisions: int = 40, look_ms: int = 200, store: str | None = None) -> dict:
    """The Review tab on the demo's review store (made first in a temporary folder: grace val
    of the demo model on the demo val split, its errors queue; or ``store``): for each of
    ``decisions`` decisions (accept and reject in turn, as the A and R keys do) the time from
    the decision to the next item's image painted in the view, the reviewer looking at each
    item for ``look_ms`` ms meanwhile (the next image is decoded ahead then); and the longest
    GUI stall over the loop."""
    import statistics

    from grace.review.store import ReviewStore
    from grace_gui.context import AppContext
    from grace_gui.sessions.review import build_demo_store
    from grace_gui.settings import open_settings
    from grace_gui.stall import StallMeter
    from grace_gui.tabs.review_tab import ReviewTab
    from grace_gui.widgets.notifications import NotificationBar
    from grace_gui.workers.qthreading import long_job_pool

    with tempfile.TemporaryDirectory(prefix="grace-stall-") as tmp:
        if store is None:
            demo = find_demo_or_exit("the review stall")
            store = build_demo_store(str(demo.models[-1]), str(demo.data_yaml), tmp)
        with ReviewStore(store) as st:
            open_items = len(st.items(status="open"))
        context = AppContext(settings=open_settings(str(Path(tmp) / "settings.ini")),
                             notifications=NotificationBar(), pool=long_job_pool())  # fmt: skip
        tab = ReviewTab(context)
        tab.resize(1280, 780)
        tab.show()
        tab.open_store(store)
        s = tab.session
        wait_until(lambda: s.row is not None and tab.view.has_image(), 30, "the first image")
        times, cached = [], 0
        meter = StallMeter()
        meter.start()
        for k in range(min(decisions, open_items - 1)):
            wait_ms(look_ms)
            before = s.current().id
            nxt = s.rows[s._next_open_row(s.row)]
            cached += s.all[nxt].image in s.cache
            t0 = time.perf_counter()
            tab.act("accept" if k % 2 == 0 else "reject")
            wait_until(lambda b=before: s.current().id != b and tab.view.has_image()
                       and tab._image == s.current().image, 30, "the next image")  # fmt: skip
            tab.view.viewport().repaint()  # painted, not only scheduled
            times.append((time.perf_counter() - t0) * 1000)
        stall = meter.stop()
        tab.shutdown()
        context.pool.waitForDone(5000)
        tab.close()
    return {
        "review_decisions": len(times),
        "review_next_ms_median": round(statistics.median(times), 1),
        "review_next_ms_max": round(max(times), 1),
        "review_next_prefetched": cached,
        "review_stall_ms": round(stall, 1),
        "review_ok": max(times) < TARGET_NEXT_MS and stall < TARGET_STALL_MS,
    }


def find_demo_or_exit(what: str):
    from grace_gui.demo import find_demo

    demo = find_demo()
    if demo is None:
        raise SystemExit(f"{what} needs the bundled demo (resources/demo, resources/models)")
    return demo


def stall_figures(parts: tuple[str, ...] = ("thumbnails", "train")) -> dict:
    """The figures of ``parts`` (``thumbnails``, ``train``, ``review``) in one JSON-able dict."""
    runs = {"thumbnails": thumbnails_stall, "train": training_stall, "review": review_stall}
    out: dict = {"target_stall_ms": TARGET_STALL_MS}
    for part in parts:
        out.update(runs[part]())
    return out
