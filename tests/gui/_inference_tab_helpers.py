"""Fixtures and helpers shared by the Inference tab tests (imported by name, so pytest
sees the fixtures)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from grace_gui.demo import find_demo

DEMO = find_demo()
assert DEMO is not None, "the bundled demo is missing from resources/ (part of the repository)"
RUN_MS = 90_000
DIGEST = hashlib.sha256(DEMO.models[1].read_bytes()).hexdigest()


def settle_pools(pools) -> None:
    """Wait for the jobs still running in ``pools`` and the global pool (an evaluation the demo
    started, a thumbnail batch) before the next test, and so before the interpreter exits:
    a job that outlives its window at exit could hang the test process on its way out."""
    from PySide6.QtCore import QThreadPool
    from PySide6.QtWidgets import QApplication

    for pool in [*pools, QThreadPool.globalInstance()]:
        pool.waitForDone(600_000)  # a guard, not a timing check
    QApplication.processEvents()  # the outcomes queued meanwhile (their sessions ignore them)


# fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def engine():
    """The engine alone on the demo folder: ``records(conf)`` → ``(file name, class,
    confidence)`` per detection, from ``run_predict`` with its own predictor."""
    from grace.infer.predictor import Predictor
    from grace.infer.run import PredictRequest, run_predict

    weights = str(DEMO.models[1])
    predictor = Predictor(weights)
    predictor.warmup()
    cache: dict[float, list] = {}

    def records(conf: float) -> list[tuple[str, str, float]]:
        if conf not in cache:
            out: list = []
            req = PredictRequest(weights, str(DEMO.images), conf=conf, progress_every=0)
            run_predict(req, predictor, on_results=out.extend, log=None)
            cache[conf] = [
                (Path(r["source"]).name, r["class"], r["confidence"])
                for res in out
                for r in res.records(predictor.names, predictor.model_name)
            ]
        return cache[conf]

    records.names = predictor.names
    return records


@pytest.fixture
def context(tmp_path):
    from grace_gui.context import AppContext
    from grace_gui.settings import open_settings
    from grace_gui.widgets.notifications import NotificationBar
    from grace_gui.workers.qthreading import long_job_pool

    settings = open_settings(str(tmp_path / "settings.ini"))
    return AppContext(settings, NotificationBar(), long_job_pool(), DEMO, gpus=[])


@pytest.fixture
def make_tab(qtbot, context):
    from grace_gui.tabs.inference_tab import InferenceTab

    tabs = []

    def make():
        tab = InferenceTab(context)
        qtbot.addWidget(tab)
        tab.resize(1200, 760)
        tab.show()
        tabs.append(tab)
        return tab

    yield make
    for t in tabs:
        t.shutdown()
    settle_pools([context.pool])


@pytest.fixture
def tab(make_tab):
    return make_tab()


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory):
    """204 images: 17 copies of the 12 demo images."""
    folder = tmp_path_factory.mktemp("big")
    for k in range(17):
        for p in sorted(DEMO.images.glob("*.jpg")):
            shutil.copy(p, folder / f"{k:02d}_{p.name}")
    return folder


def run_and_wait(qtbot, tab, source, weights=None, timeout=RUN_MS):
    with qtbot.waitSignal(tab.run_finished, timeout=timeout) as blocker:
        tab.run(str(weights or DEMO.models[1]), str(source))
    return blocker.args[0]


def table_rows(tab, empty=False) -> list[tuple]:
    """(file, class, confidence) of each detection row in table order (sorted, filtered);
    with ``empty``, rows without a detection too (class "", confidence None)."""
    res, rows, out = tab.session.results, tab.panel.rows, []
    for r in range(rows.rowCount()):
        row = res.row(rows.source_row(r))
        name = Path(res.frames[row.frame_id].source).name
        if row.record >= 0:
            out.append((name, res.class_name(row.class_id), round(row.score, 5)))
        elif empty:
            out.append((name, "", None))
    return out


def same_detections(a, b) -> None:
    assert len(a) == len(b)
    a, b = sorted(a), sorted(b)
    assert [(f, c) for f, c, _ in a] == [(f, c) for f, c, _ in b]
    assert np.allclose([s for *_, s in a], [s for *_, s in b], atol=1e-4)


# pure parts ----------------------------------------------------------------------------------
def _result(source: str, scores, classes, index=0, video=False, size=32):
    from grace.infer.frames import Frame
    from grace.infer.predictor import FrameResult

    n = len(scores)
    img = np.full((size, size, 3), index % 255, np.uint8)
    boxes = np.tile(np.array([1, 2, 10, 12], np.float32), (n, 1))
    return FrameResult(Frame(img, source, index, is_video=video), boxes,
                       np.asarray(scores, np.float32), np.asarray(classes, np.int64))  # fmt: skip
