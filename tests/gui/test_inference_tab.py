"""The Inference tab: folder inference equal to the engine's, thresholds applied at once, the
table selecting its image, exports, pause / stop, errors, a video, and the GUI thread's stall."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from grace_gui.demo import find_demo

DEMO = find_demo()
assert DEMO is not None, "the bundled demo is missing from resources/ (part of the repository)"
RUN_MS = 90_000
DIGEST = hashlib.sha256(DEMO.models[1].read_bytes()).hexdigest()


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


def test_buffer_keeps_every_record_but_only_the_latest_frame():
    from grace_gui.sessions.inference_job import ResultBuffer, fps_from

    buf = ResultBuffer()
    for i in range(50):  # 50 frames arrive before the GUI looks once
        buf.push([_result("cam", [0.9, 0.2][: i % 3], [1, 2][: i % 3], index=i, video=True)])
    d = buf.drain()
    assert len(d.frames) == 50 and buf.frames_total == 50
    assert len(d) == sum(min(i % 3, 2) for i in range(50))
    assert d.latest.frame_id == 49 and int(d.latest.image[0, 0, 0]) == 49
    assert buf.replaced == 49  # 49 frames were never shown: replaced, not queued
    assert len(buf.drain().frames) == 0 and buf.drain().latest is None
    assert fps_from([(0.0, 8), (1.0, 8), (2.0, 8)], now=2.0) == 8.0
    assert fps_from([(0.0, 8), (5.0, 8)], now=5.0) == 0.0  # one arrival in the window


def test_results_rows_follow_global_and_class_thresholds():
    from grace.infer.thresholds import ClassThresholds
    from grace_gui.sessions.inference_job import ResultBuffer
    from grace_gui.sessions.inference_results import Results

    rng = np.random.default_rng(0)
    scores, classes = rng.uniform(0.05, 1, 5000), rng.integers(0, 3, 5000)
    buf = ResultBuffer()
    for k in range(0, 5000, 50):
        buf.push([_result(f"img{k}.jpg", scores[k : k + 50], classes[k : k + 50])])
    buf.push([_result("clean.jpg", [], [])])  # a frame without detections
    d = buf.drain()
    res = Results()
    res.reset(["a", "b", "c"])
    res.add(d)
    assert res.record_count == 5000 and len(res.frames) == 101
    assert len(res) == int((scores >= 0.25).sum()) + 1  # + the clean frame's row
    res.set_thresholds(ClassThresholds(0.5, {2: 0.9}))
    kept = scores >= np.where(classes == 2, 0.9, 0.5)
    assert len(res) == int(kept.sum()) + 1
    assert len(res.frame_records(0)) == int(kept[:50].sum())
    assert res.class_counts() == {n: int((kept & (classes == i)).sum()) for i, n in
                                  enumerate("abc")}  # fmt: skip
    last = res.row(len(res) - 1)
    assert (res.frames[last.frame_id].source, last.record, last.in_frame) == ("clean.jpg", -1, 0)


# the tab -------------------------------------------------------------------------------------
def test_folder_inference_table_equals_run_predict(qtbot, tab, engine):
    tab.thresholds.set_conf(0.25)
    summary = run_and_wait(qtbot, tab, DEMO.images)
    assert summary.images == len(list(DEMO.images.glob("*.jpg")))
    assert len(tab.session.results.frames) == summary.images
    same_detections(table_rows(tab), engine(0.25))
    assert tab.current_frame() is not None  # the last image is on display
    assert tab.view.has_image()
    # an image without detections is a row too, with 0 in "In image"
    found = {f for f, _, _ in engine(0.25)}
    clean = sorted(p.name for p in DEMO.images.glob("*.jpg") if p.name not in found)
    assert clean and sorted(f for f, c, _ in table_rows(tab, empty=True) if c == "") == clean
    model = tab.panel.rows
    counts = {model.index(r, 0).data(): model.index(r, 4).data() for r in range(model.rowCount())}
    assert all(counts[c] == "0" for c in clean)
    assert tab.panel.counts.text().count("■") == len(engine.names)


def test_sliders_filter_the_table_at_once_without_a_rerun(qtbot, tab, engine):
    summary = run_and_wait(qtbot, tab, DEMO.images)
    held = tab.session.results.record_count
    floor = engine(0.05)
    assert held == len(floor)  # the run predicted at the floor, 0.05

    tab.thresholds.set_conf(0.5)  # applied at once, no waiting
    assert len(table_rows(tab)) == sum(s >= 0.5 for *_, s in floor)
    same_detections(table_rows(tab), [r for r in floor if r[2] >= 0.5])

    names = list(engine.names)
    cls = max(set(c for _, c, _ in floor), key=lambda c: sum(x[1] == c for x in floor))
    tab.thresholds.set_class_conf(names.index(cls), 0.7)
    expected = [r for r in floor if r[2] >= (0.7 if r[1] == cls else 0.5)]
    assert len(table_rows(tab)) == len(expected)
    same_detections(table_rows(tab), expected)
    tab.thresholds.set_conf(0.3)  # the class keeps its own threshold
    expected = [r for r in floor if r[2] >= (0.7 if r[1] == cls else 0.3)]
    assert len(table_rows(tab)) == len(expected)
    assert tab.summary is summary and not tab.running  # no re-run
    assert tab.session.results.record_count == held
    assert not tab.thresholds.note.isVisibleTo(tab)
    tab.thresholds.set_conf(0.02)  # below the floor: the tab says a re-run is needed
    assert tab.thresholds.note.isVisibleTo(tab)


def test_selecting_a_row_shows_its_image_with_the_detection_highlighted(qtbot, tab):
    from grace.images import read_image
    from grace_gui.widgets.image_view import HIGHLIGHT_WIDTH

    tab.thresholds.set_conf(0.25)
    run_and_wait(qtbot, tab, DEMO.images)
    rows = table_rows(tab, empty=True)  # indexed as the table's rows
    counts = {f: sum(r[0] == f and r[1] != "" for r in rows) for f, _, _ in rows}
    name = min(counts, key=lambda f: (-counts[f], f != tab.current_frame()[1]))
    assert counts[name] >= 2  # a detection among others
    mine = [i for i, r in enumerate(rows) if r[0] == name]
    if tab.current_frame()[1] == name:  # make the selection change the view
        other = next(i for i, r in enumerate(rows) if r[0] != name)
        with qtbot.waitSignal(tab.frame_available, timeout=10_000):
            tab.table.setCurrentIndex(tab.panel.rows.index(other, 0))
    with qtbot.waitSignal(tab.frame_available, timeout=10_000):
        tab.table.setCurrentIndex(tab.panel.rows.index(mine[1], 0))
    image, shown = tab.current_frame()
    assert shown == name and tab.caption.text().startswith(f"{name} · {counts[name]} detections")
    assert image.shape == read_image(DEMO.images / name).shape
    assert tab.view.box_count() == counts[name]
    assert tab.view.highlighted() == 1  # the second detection of that image, as in the table
    widths = tab.view.box_widths()
    assert widths[1] == HIGHLIGHT_WIDTH and all(w < HIGHLIGHT_WIDTH for i, w in
                                                enumerate(widths) if i != 1)  # fmt: skip
    tab.table.setCurrentIndex(tab.panel.rows.index(mine[0], 0))  # same image: at once
    assert tab.view.highlighted() == 0 and not tab.follow.isChecked()


def test_the_table_sorts_and_filters_by_class_confidence_and_file(qtbot, tab, engine):
    tab.thresholds.set_conf(0.25)
    run_and_wait(qtbot, tab, DEMO.images)
    everything = table_rows(tab)
    tab.table.sortByColumn(3, Qt.SortOrder.DescendingOrder)  # confidence, as numbers
    scores = [s for *_, s in table_rows(tab)]
    assert scores == sorted((s for *_, s in everything), reverse=True)
    cls = max({c for _, c, _ in everything}, key=lambda c: sum(r[1] == c for r in everything))
    tab.panel.filters.set_class(list(engine.names).index(cls))
    assert sorted(table_rows(tab, empty=True)) == sorted(r for r in everything if r[1] == cls)
    tab.panel.filters.set_class(-1)
    tab.panel.filters.range.setValue((0.3, 0.6))
    assert sorted(table_rows(tab, empty=True)) == sorted(
        r for r in everything if 0.3 <= r[2] <= 0.6
    )
    tab.panel.filters.range.setValue((0.0, 1.0))
    tab.panel.filters.text.setText("PATCHES")  # case does not matter
    assert sorted(table_rows(tab)) == sorted(r for r in everything if "patches" in r[0])
    tab.panel.filters.text.setText("")
    tab.panel.filters.set_class(-2)  # only the images where nothing was found
    clean = table_rows(tab, empty=True)
    assert clean and all(c == "" for _, c, _ in clean)
    assert {f for f, _, _ in clean}.isdisjoint({f for f, _, _ in everything})


def test_export_csv_json_and_annotated_images(qtbot, tab, tmp_path):
    run_and_wait(qtbot, tab, DEMO.images)
    tab.thresholds.set_conf(0.3)
    expected = table_rows(tab)
    assert expected
    for suffix in ("csv", "json"):
        path = tmp_path / f"detections.{suffix}"
        with qtbot.waitSignal(tab.exported, timeout=10_000) as blocker:
            tab.export_records(str(path))
        assert blocker.args[0] == len(expected)
        if suffix == "csv":
            with open(path, newline="", encoding="utf-8") as f:
                got = list(csv.DictReader(f))
        else:
            got = json.loads(path.read_text(encoding="utf-8"))
        rows = [(Path(r["source"]).name, r["class"], float(r["confidence"])) for r in got]
        assert rows == expected  # same rows, same order as the table
        assert {r["model_path"] for r in got} == {str(DEMO.models[1].resolve())}
        assert {r["model_sha256"] for r in got} == {DIGEST}
        assert {float(r["threshold"]) for r in got} == {0.3}
    out = tmp_path / "annotated"
    with qtbot.waitSignal(tab.exported, timeout=30_000) as blocker:
        tab.export_images(str(out))
    assert blocker.args[0] == len(list(DEMO.images.glob("*.jpg")))
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in DEMO.images.iterdir())
    errors = []
    tab.context.notifications.notified.connect(errors.append)
    with qtbot.waitSignal(tab.exported, timeout=10_000) as blocker:
        tab.export_images(str(DEMO.images))  # never over the source images
    assert blocker.args[0] is None
    assert errors and "overwrite" in errors[-1].message


def test_pause_holds_and_stop_ends_a_run_early(qtbot, tab, big_folder):
    n = len(list(big_folder.iterdir()))
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_MS) as blocker:
        tab.run(str(DEMO.models[1]), str(big_folder))
        qtbot.waitUntil(lambda: len(tab.session.results.frames) > 0, timeout=RUN_MS)
        tab.pause_button.setChecked(True)
        qtbot.waitUntil(tab.session.holding, timeout=RUN_MS)  # the batch in flight landed
        tab.session.poll()
        held = len(tab.session.results.frames)
        qtbot.wait(500)
        assert len(tab.session.results.frames) == held and tab.running
        assert "paused" in tab.live.overlay.text()
        tab.pause_button.setChecked(False)
        qtbot.waitUntil(lambda: len(tab.session.results.frames) > held, timeout=RUN_MS)
        tab.stop_button.click()
    summary = blocker.args[0]
    assert summary.stop_reason == "stopped"
    assert held < summary.images < n
    assert len(tab.session.results.frames) == summary.images  # every frame the engine did is in


def test_bad_source_and_bad_checkpoint_are_one_line_errors(qtbot, tab, tmp_path):
    bar = tab.context.notifications
    assert run_and_wait(qtbot, tab, DEMO.images).images > 0
    assert tab.current_frame() is not None
    assert run_and_wait(qtbot, tab, tmp_path / "no_such_folder") is None
    assert "no_such_folder" in bar.current.message and "\n" not in bar.current.message
    # the old image went: the view and the caption say what went wrong
    assert tab.current_frame() is None and not tab.view.has_image()
    assert tab.caption.text() == f"No results: {bar.current.message}"
    assert len(table_rows(tab, empty=True)) == 0
    notes = tmp_path / "notes.txt"
    notes.write_text("not a model")
    assert run_and_wait(qtbot, tab, DEMO.images, weights=notes) is None
    assert "not a model (expected a PyTorch .pt" in bar.current.message
    assert "notes.txt" in bar.current.message and "\n" not in bar.current.message
    fake = tmp_path / "fake.pt"
    fake.write_bytes(b"\x00garbage" * 10)
    assert run_and_wait(qtbot, tab, DEMO.images, weights=fake) is None
    assert "fake.pt" in bar.current.message and "\n" not in bar.current.message
    assert tab.run_button.isEnabled() and not tab.running  # still usable
    assert run_and_wait(qtbot, tab, DEMO.images).images > 0


def test_corrupt_images_in_a_folder_are_skipped_and_named(qtbot, tab, tmp_path):
    folder = tmp_path / "mixed"
    shutil.copytree(DEMO.images, folder)
    good = len(list(folder.iterdir()))
    (folder / "aaa_truncated.jpg").write_bytes((DEMO.images / "patches_292.jpg").read_bytes()[:300])
    (folder / "bbb_empty.jpg").write_bytes(b"")
    summary = run_and_wait(qtbot, tab, folder)
    assert summary.images == good  # the others all ran
    bar = tab.context.notifications
    assert bar.current.level == "warning"
    assert bar.current.message == "2 file(s) skipped: aaa_truncated.jpg, bbb_empty.jpg"
    assert [line.split(": ", 1)[0] for line in bar.current.details.splitlines()] == [
        str(folder / "aaa_truncated.jpg"), str(folder / "bbb_empty.jpg")
    ]  # fmt: skip


def test_a_video_plays_with_frames_counted(qtbot, tab, tmp_path):
    import cv2

    from grace.images import read_image

    images = [read_image(p) for p in sorted(DEMO.images.glob("*.jpg"))]
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (200, 200))
    n = 24
    for i in range(n):
        writer.write(cv2.resize(images[i % len(images)], (200, 200)))
    writer.release()
    tab.thresholds.set_conf(0.25)
    shown = []
    tab.frame_available.connect(lambda: shown.append(tab.current_frame()[1]))
    summary = run_and_wait(qtbot, tab, path)
    assert summary.images == n and summary.kind == "video"
    assert [f.index for f in tab.session.results.frames] == list(range(n))
    assert all(f.is_video and f.name == f"clip.avi #{f.index}" for f in tab.session.results.frames)
    assert shown and shown[-1] == f"clip.avi #{n - 1}"
    assert "FPS" in tab.live.overlay.text() and f"{n} frames" in tab.live.overlay.text()
    res, rows = tab.session.results, tab.panel.rows
    assert rows.rowCount() == len(res) > 0
    # each row's time in the video: frame index / 10 fps
    assert [rows.index(r, 1).data() for r in range(rows.rowCount())] == [
        f"{res.row_frame(rows.source_row(r)) / 10:.3f}" for r in range(rows.rowCount())
    ]
    row = next(r for r in range(rows.rowCount()) if res.row_record(rows.source_row(r)) >= 0)
    fid = res.row_frame(rows.source_row(row))
    with qtbot.waitSignal(tab.frame_available, timeout=5000):
        tab.select_row(row)  # a kept frame shows at once
    assert tab.current_frame()[1] == f"clip.avi #{fid}"
    assert tab.view.box_count() == len(res.frame_records(fid))


def test_folder_inference_runs_off_the_gui_thread(qtbot, tab, big_folder, monkeypatch):
    """Every batch is predicted on a worker thread and its results reach the table while the
    GUI thread keeps serving events. The GUI thread's longest stall is a benchmark figure
    (``python -m grace_gui.bench --weights W FOLDER``: ``stall_ms``), not asserted here."""
    from grace.infer.predictor import Predictor

    real, on_gui_thread = Predictor.predict, []

    def predict(self, frames):
        on_gui_thread.append(threading.current_thread() is threading.main_thread())
        return real(self, frames)

    monkeypatch.setattr(Predictor, "predict", predict)
    add_frames, shown = tab.session.results.add, []

    def add(drained):  # on the GUI thread, as results arrive
        shown.append(threading.current_thread() is threading.main_thread())
        return add_frames(drained)

    monkeypatch.setattr(tab.session.results, "add", add)
    summary = run_and_wait(qtbot, tab, big_folder)
    assert summary.images == len(list(big_folder.iterdir())) == len(tab.session.results.frames)
    assert on_gui_thread and not any(on_gui_thread)
    # results reach the table in several steps while the run goes on, not once at its end
    assert len(shown) > 1 and all(shown)


def test_demo_in_the_window_and_a_training_checkpoint_never_switches_the_model(
    qtbot, make_window, tmp_path
):
    window = make_window()
    tab = window.inference_tab
    qtbot.waitUntil(lambda: tab.summary is not None, timeout=RUN_MS)
    assert tab.inputs.model_path() == str(DEMO.models[1])
    assert str(DEMO.models[0]) in tab.inputs.models()
    rows = table_rows(tab, empty=True)
    new = []
    for run_name in ("exp", "exp2"):  # two trainings end, each with its best.pt
        best = tmp_path / "runs" / run_name / "weights" / "best.pt"
        best.parent.mkdir(parents=True)
        shutil.copy(DEMO.models[0], best)
        window.train_tab.checkpoint_ready.emit(str(best))
        new.append(best)
    assert tab.inputs.model_path() == str(DEMO.models[1])  # the user's model stays chosen
    assert table_rows(tab, empty=True) == rows  # and its results with it
    combo = tab.inputs.model_combo
    texts = [combo.itemText(i) for i in range(combo.count())]
    assert texts[0].startswith("exp2 · best.pt") and texts[1].startswith("exp · best.pt")
    assert str(new[0].parent.relative_to(tmp_path)) in texts[1] and len(set(texts)) == len(texts)
    assert len(table_rows(tab)) > 0 and tab.current_frame() is not None
    assert len(tab.session.results.frames) == len(list(DEMO.images.glob("*.jpg")))


def test_restore_shows_the_last_setup_without_running_it(qtbot, make_tab, tmp_path):
    first = make_tab()
    assert not first.restore()  # nothing remembered yet
    folder = tmp_path / "few"
    folder.mkdir()
    for p in sorted(DEMO.images.glob("*.jpg"))[:3]:
        shutil.copy(p, folder / p.name)
    first.thresholds.set_conf(0.4)
    first.add_checkpoint(str(DEMO.models[0]))
    run_and_wait(qtbot, first, folder, weights=DEMO.models[0])
    first.save_state()
    again = make_tab()
    finished = []
    again.run_finished.connect(finished.append)
    assert again.restore()
    qtbot.waitUntil(lambda: again.thresholds.names == list(first.session.names), timeout=RUN_MS)
    assert again.inputs.model_path() == str(DEMO.models[0])
    assert again.inputs.source() == str(folder) and again.inputs.kind() == "Folder"
    assert again.thresholds.conf == pytest.approx(0.4)
    qtbot.wait(300)
    assert not again.running and finished == [] and again.session.results.frames == []
    assert again.caption.text() == f"Press Run to inspect {folder}"
    assert run_and_wait(qtbot, again, folder, weights=DEMO.models[0]).images == 3
    assert first.settings.get("inference/models")[0] == str(DEMO.models[0])
    shutil.rmtree(folder)
    assert not make_tab().restore()  # the source is gone: the window shows the demo instead


def test_a_second_run_waits_for_the_first_to_stop(qtbot, tab, big_folder):
    done = []
    tab.run_finished.connect(done.append)
    tab.run(str(DEMO.models[1]), str(big_folder))
    qtbot.waitUntil(lambda: len(tab.session.results.frames) > 0, timeout=RUN_MS)
    tab.run(str(DEMO.models[1]), str(DEMO.images))  # while the first is running
    qtbot.waitUntil(lambda: len(done) == 2, timeout=RUN_MS)
    assert done[0].stop_reason == "stopped" and done[1].stop_reason == "end of source"
    assert len(tab.session.results.frames) == done[1].images == 12
    assert threading.active_count() < 50


def test_a_live_stream_shows_the_latest_frame_with_a_bounded_lag(qtbot, tab):
    """An MJPEG stream at 30 fps: the frame on display stays within a few frames of what the
    server sends now, at the start and seconds later (frames are dropped, never queued)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core" / "infer"))
    from _mjpeg_server import MjpegServer, decode_counter

    server = MjpegServer(fps=30.0)
    server.start()
    try:
        tab.run(str(DEMO.models[1]), server.url)
        assert tab.inputs.kind() == "Stream URL"
        lags = []
        for wait_ms in (1500, 2500):
            qtbot.wait(wait_ms)
            shown = tab.current_frame()
            assert shown is not None, "no frame on display from the stream"
            lags.append(server.counter() - decode_counter(shown[0]))
        with qtbot.waitSignal(tab.run_finished, timeout=RUN_MS):
            tab.stop()
    finally:
        server.stop()
    print(f"\nstream lag behind the server (frames at 30 fps): {lags}")
    assert all(0 <= lag <= 15 for lag in lags), lags  # 15 frames = 0.5 s; a queue grows far past
