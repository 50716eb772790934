"""The Inference tab's sources and runs: bad sources and checkpoints, corrupt images, a video,
inference off the GUI thread, the demo, restore, a second run, a live stream."""

from __future__ import annotations

import shutil
import sys
import threading
from pathlib import Path

import pytest
from _inference_tab_helpers import (
    DEMO,
    RUN_MS,
    run_and_wait,
    table_rows,
)


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


def test_a_watched_folder_shows_each_new_image_and_counts_ok_and_ng(qtbot, tab, engine, tmp_path):
    """Watch folder: images dropped into an empty folder while it runs are shown and judged at
    the sliders (0.25: NG exactly where the engine finds a detection at 0.25), counted OK/NG
    under the view; Stop ends it with where the results are; a folder run hides the counters."""
    from grace_gui.sessions.inference_watch import WATCH

    watch = tmp_path / "line"
    watch.mkdir()
    tab.inputs.set_source(str(watch), WATCH)
    assert tab.inputs.kind() == WATCH and tab.inputs.source_browse.isEnabled()
    assert tab.session.thresholds.conf == 0.25 and not tab.session.thresholds.per_class
    tab.run(str(DEMO.models[1]))
    qtbot.waitUntil(lambda: tab.session.verdicts() is not None, timeout=RUN_MS)
    dropped = sorted(DEMO.images.glob("*.jpg"))[:4]
    for p in dropped:
        shutil.copy(p, watch / p.name)
    qtbot.waitUntil(lambda: tab.session.verdicts().files == 4, timeout=RUN_MS)
    qtbot.waitUntil(lambda: len(tab.session.results.frames) == 4, timeout=RUN_MS)
    ng = {f for f, _c, _s in engine(0.25) if f in {p.name for p in dropped}}
    counts = tab.session.verdicts().counts
    assert (counts["NG"], counts["OK"]) == (len(ng), 4 - len(ng)) and 0 < len(ng) < 4
    qtbot.waitUntil(lambda: f"OK {4 - len(ng)}</b>" in tab.live.verdicts.text(), timeout=RUN_MS)
    assert tab.live.verdicts.isVisible() and f"NG {len(ng)}</b>" in tab.live.verdicts.text()
    assert tab.live.overlay.text().startswith(f"running · watching line · OK {4 - len(ng)}")
    assert {f for f, _c, _s in table_rows(tab)} == ng  # the NG images' detections, in the table
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_MS) as blocker:
        tab.stop()
    assert blocker.args[0].inspect.taken == 4
    assert tab.live.overlay.text().endswith("results in line.inspect.sqlite")
    assert (tmp_path / "line.inspect.sqlite").is_file()
    note = tab.context.notifications.current  # where the results are, and how to review them
    assert note.level == "info" and str(tmp_path / "line.inspect.sqlite") in note.message
    assert note.message.count("line.inspect.sqlite") == 1  # said once, with its whole path
    assert "Review tab" in note.message
    assert run_and_wait(qtbot, tab, DEMO.images).images == 12
    assert not tab.live.verdicts.isVisible()
