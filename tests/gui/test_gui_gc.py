"""Cyclic garbage is collected in the GUI thread only: a worker thread that allocates past every
threshold collects nothing (a Qt object's destructor there can deadlock with the GUI thread),
and the GUI thread's timer collects it."""

from __future__ import annotations

import gc
import threading
import weakref

from grace_gui.gui_gc import collect_due, collect_in_gui_thread


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_cycles_are_collected_by_the_gui_thread_not_by_a_worker(qtbot):
    timer = collect_in_gui_thread()
    assert collect_in_gui_thread() is timer and timer.isActive() and not gc.isenabled()
    obj = _Cycle()
    gone = weakref.ref(obj)
    del obj
    collected_in: list[str] = []

    def note(phase, _info):
        if phase == "start":
            collected_in.append(threading.current_thread().name)

    gc.callbacks.append(note)
    try:
        kept: list[list] = []  # alive: the worker's allocations pass the thresholds
        worker = threading.Thread(
            target=lambda: kept.extend([] for _ in range(20 * gc.get_threshold()[0])),
            name="worker",
        )
        worker.start()
        worker.join()
        assert gone() is not None and "worker" not in collected_in
        qtbot.waitUntil(lambda: gone() is None, timeout=5000)
        assert kept
    finally:
        gc.callbacks.remove(note)
    assert collected_in and set(collected_in) == {threading.main_thread().name}


def test_collect_due_follows_the_thresholds():
    gc.collect()
    assert collect_due() is None  # every count is back under its threshold
    junk = [[] for _ in range(gc.get_threshold()[0] + 10)]
    assert collect_due() == 0 and junk
