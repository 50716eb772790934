"""The Inference tab's results: folder inference equal to the engine's, thresholds applied at
once, sorting and filtering, the selected detection, exports, pause / stop."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from _inference_tab_helpers import (
    DEMO,
    DIGEST,
    RUN_MS,
    _result,
    run_and_wait,
    same_detections,
    table_rows,
)
from PySide6.QtCore import Qt


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
