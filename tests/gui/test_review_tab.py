"""The Review tab driven as a reviewer would: a store made by the engine (the hand-made store of
``tests/core/review``), the keyboard loop, a box drawn and a box adjusted with the mouse (image
pixels computed by hand from the view's scale and scroll), export and "Fine-tune on it", the
start page, the demo store opened at launch, tooltips on every field."""

from __future__ import annotations

import shutil
import sys
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QPushButton

from grace.review.store import ReviewStore
from grace_gui.settings import app_data_dir
from grace_gui.widgets.review_new import NewStoreDialog

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core" / "review"))
from _review_helpers import hand_store, lab  # noqa: E402

SCALE = 12  # the test's zoom: image pixel x is at view x = SCALE * x - horizontal scroll


def log_of(store: Path) -> list[tuple]:
    with ReviewStore(store) as st:
        return [(d.item, d.action) for d in st.decisions()]


def review(qtbot, make_window, tmp_path):
    """The window with the Review tab shown on the hand-made store, its first image on screen."""
    store, files = hand_store(tmp_path)
    window = make_window()
    tab = window.review_tab
    window.tabs.setCurrentWidget(tab)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    assert tab.open_store(store)
    qtbot.waitUntil(lambda: tab.queue.model.rowCount() == 7, timeout=10000)
    qtbot.waitUntil(tab.view.has_image, timeout=10000)
    tab.view.setFocus()
    return window, tab, store, files


def zoomed(qtbot, tab):
    """The image view, large, at exactly :data:`SCALE` (image A, 100x80, is 1200x960 on
    screen: both scroll bars work)."""
    tab.splitter.setSizes([150, 1000, 150])
    qtbot.wait(50)  # the resize (which fits the image) is done
    view = tab.view
    view.resetTransform()
    view.zoom(SCALE)
    assert view.transform().m11() == SCALE and view.transform().m22() == SCALE
    return view


def scroll(view, h: int, v: int) -> None:
    view.horizontalScrollBar().setValue(h)
    view.verticalScrollBar().setValue(v)
    assert (view.horizontalScrollBar().value(), view.verticalScrollBar().value()) == (h, v)


def shown_id(tab) -> int:
    return tab.session.current().id


def test_the_keyboard_loop_commits_each_decision_before_the_next_item_shows(
    qtbot, make_window, tmp_path
):
    window, tab, store, _ = review(qtbot, make_window, tmp_path)
    assert window.tabs.tabText(window.tabs.indexOf(tab)) == "Review"
    seen = []  # (item shown, decisions in the store at that moment, read by another connection)
    tab.session.current_changed.connect(
        lambda shown: shown and seen.append((shown.item.id, len(log_of(store))))
    )
    keys = [Qt.Key.Key_A, Qt.Key.Key_R, Qt.Key.Key_O, Qt.Key.Key_2, Qt.Key.Key_Z,
            Qt.Key.Key_Right, Qt.Key.Key_N]  # fmt: skip
    shown = []
    for key in keys:
        qtbot.keyClick(tab.view, key)
        shown.append(shown_id(tab))
    # A on 1 -> 2; R on 2 -> 4; O on 4 (image B: 4 and 5 done) -> 3; 2 (dent) on 3 -> 6;
    # Z takes 3's class back -> 3; Right -> 6 (the next row); N -> 7 (the next open item)
    assert shown == [2, 4, 3, 6, 3, 6, 7]
    assert log_of(store) == [(1, "accept"), (2, "reject"), (4, "ok"), (3, "class"), (3, "undo")]
    with ReviewStore(store) as st:
        # key 2: the 2nd class on the object as it stands (its ground truth box)
        assert st.decisions()[3].after == lab("dent", 10, 10, 40, 30)
    firsts = {}
    for item, n in seen:
        firsts.setdefault(item, n)
    assert firsts[2] >= 1 and firsts[4] >= 2 and firsts[6] >= 4  # committed, then shown
    assert tab.bar.counter.text() == "4 / 7 reviewed"  # 1, 2, 4 and 5 (OK on its image)
    rows = {tab.panel.tallies.item(r, 0).text(): tab.panel.tallies.item(r, 1).text()
            for r in range(tab.panel.tallies.rowCount())}  # fmt: skip
    assert rows == {"crack": "1 / 3", "dent": "3 / 4"}
    assert tab.queue.model.items[0].status == "done"  # the list follows the decisions
    assert tab.queue.table.currentIndex().row() == 6  # and the item shown


def test_a_drawn_box_is_added_in_image_pixels(qtbot, make_window, tmp_path):
    window, tab, store, _ = review(qtbot, make_window, tmp_path)
    view = zoomed(qtbot, tab)
    scroll(view, 300, 300)
    assert view.viewport().width() > 300 and view.viewport().height() > 240
    # by hand: view (60, 60) -> image ((60+300)/12, (60+300)/12) = (30, 30);
    # view (300, 240) -> ((300+300)/12, (240+300)/12) = (50, 45)
    tab.panel.new_class.setCurrentText("dent")
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(60, 60))
    qtbot.mouseMove(view.viewport(), QPoint(200, 200))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(300, 240))
    with ReviewStore(store) as st:
        (d,) = st.decisions()
        assert (d.item, d.action, d.after) == (1, "add", lab("dent", 30, 30, 50, 45))
    assert shown_id(tab) == 1  # adding a box keeps the item on screen
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    assert len(log_of(store)) == 1  # a click draws nothing


def test_dragging_a_handle_adjusts_the_box_under_review(qtbot, make_window, tmp_path):
    window, tab, store, _ = review(qtbot, make_window, tmp_path)
    view = zoomed(qtbot, tab)
    scroll(view, 450, 0)
    assert view.target() == [60.0, 5.0, 80.0, 20.0]  # item 1, the false positive
    # by hand: its bottom-right corner (80, 20) is at view (80*12-450, 20*12-0) = (510, 240);
    # dragged to view (570, 300): image ((570+450)/12, (300+0)/12) = (85, 25)
    assert view.viewport().width() > 570 and view.viewport().height() > 300
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(510, 240))
    qtbot.mouseMove(view.viewport(), QPoint(570, 300))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(570, 300))
    with ReviewStore(store) as st:
        (d,) = st.decisions()
        assert (d.item, d.action, d.after) == (1, "box", lab("dent", 60, 5, 85, 25))
    assert view.target() == [60.0, 5.0, 85.0, 25.0]


def test_filters_narrow_the_queue_and_the_counter_says_so(qtbot, make_window, tmp_path):
    window, tab, store, _ = review(qtbot, make_window, tmp_path)
    q = tab.queue
    q.cls.setCurrentIndex(q.cls.findData("crack"))
    assert [it.id for it in q.model.items] == [4, 3, 6]
    q.kind.setCurrentIndex(q.kind.findData("false_positive"))
    assert [it.id for it in q.model.items] == [6] and shown_id(tab) == 6
    assert tab.bar.counter.text() == "0 / 7 reviewed  (filter: 0 / 1)"
    qtbot.keyClick(tab.view, Qt.Key.Key_R)
    assert log_of(store) == [(6, "reject")]
    assert tab.bar.counter.text() == "1 / 7 reviewed  (filter: 1 / 1)"
    q.status.setCurrentIndex(q.status.findData("open"))
    assert q.model.items == [] and not tab.view.has_image()


def test_export_and_fine_tune_fill_the_train_form(qtbot, make_window, tmp_path, monkeypatch):
    import grace_gui.sessions.review as review_session

    calls = []

    def fake_export(store, out, merge=None):
        calls.append((store, out, merge))
        return {"images_exported": 2, "decisions": {"accept": 1}}

    monkeypatch.setattr(review_session, "export_store", fake_export)
    window, tab, store, _ = review(qtbot, make_window, tmp_path)
    tab.session.info = replace(tab.session.info, model="/runs/a/weights/best.pt")  # its model
    assert not tab.bar.buttons["fine_tune"].isEnabled()  # nothing exported yet
    out = tmp_path / "reviewed"
    tab.ask_export = lambda: str(out)
    tab.bar.buttons["export"].click()
    qtbot.waitUntil(lambda: tab.bar.buttons["fine_tune"].isEnabled(), timeout=10000)
    assert calls == [(str(store), str(out), None)]
    assert window.context.notifications.current.message.startswith(
        f"Exported 2 reviewed images to {out}"
    )
    tab.bar.buttons["fine_tune"].click()
    assert window.train_tab.form.data.text() == str(out / "data.yaml")
    assert window.train_tab.form.weights.text() == "/runs/a/weights/best.pt"


def test_the_start_page_offers_every_way_in_and_the_demo_store_opens_at_launch(
    qtbot, make_window, tmp_path, settings_path
):
    window = make_window(demo=True)
    tab = window.review_tab
    assert tab.pages.currentWidget() is tab.start
    assert list(tab.start.buttons) == ["open", "new_folder", "new_val", "demo"]
    assert tab.session.building == "" and tab.session.store is None  # nothing made unasked
    chosen = []
    tab.ask_new = lambda source: chosen.append(source)
    tab.start.buttons["new_val"].click()
    tab.start.buttons["new_folder"].click()
    assert chosen == ["val", "folder"]
    for tab_ in window.all_tabs():
        tab_.shutdown()
    window.close()

    folder = app_data_dir(window.context.settings)
    folder.mkdir(parents=True, exist_ok=True)
    store, _ = hand_store(tmp_path / "made")  # stands for the demo store made earlier
    shutil.copy(store, folder / "demo-review.db")
    again = make_window(demo=True)
    tab = again.review_tab
    qtbot.waitUntil(lambda: tab.queue.model.rowCount() == 7, timeout=10000)
    assert tab.pages.currentWidget() is tab.splitter
    assert tab.bar.path.text().startswith("demo-review.db")


def test_the_last_store_opens_again_at_the_next_launch(qtbot, make_window, tmp_path):
    window, tab, store, _ = review(qtbot, make_window, tmp_path)
    window.close()
    again = make_window()
    qtbot.waitUntil(lambda: again.review_tab.queue.model.rowCount() == 7, timeout=10000)
    assert again.review_tab.session.info.path == store


def test_every_field_of_the_tab_and_its_dialog_says_what_it_does(qtbot, make_window, tmp_path):
    window, tab, _, _ = review(qtbot, make_window, tmp_path)
    dialog = NewStoreDialog()
    qtbot.addWidget(dialog)
    kinds = (QComboBox, QCheckBox, QPushButton, QLineEdit)
    fields = [w for k in kinds for w in tab.findChildren(k)]
    fields += [w for k in (QComboBox, QLineEdit) for w in dialog.findChildren(k)]
    assert len(fields) > 20
    missing = [f"{type(w).__name__} {getattr(w, 'text', lambda: '')()!r}" for w in fields
               if not w.toolTip()]  # fmt: skip
    assert missing == []


def test_the_finding_is_drawn_apart_from_ground_truth_and_other_detections(
    qtbot, make_window, tmp_path
):
    from grace_gui.widgets.review_view import review_boxes

    window, tab, _, _ = review(qtbot, make_window, tmp_path)
    shown = replace(
        tab.session._shown(tab.session.current(), None),
        detections=({**lab("dent", 60, 5, 80, 20), "confidence": 0.9},),
    )
    boxes, target = review_boxes(shown, ("crack", "dent"))
    assert [(b.label, b.style, b.class_id) for b in boxes] == [
        ("GT crack", "dashed", 0), ("GT dent", "dashed", 1), ("0.90", "thin", 1)]  # fmt: skip
    assert (target.x1, target.y1, target.x2, target.y2) == (60, 5, 80, 20)
    assert (target.label, target.style) == ("false positive: dent 0.90", "target")
    assert review_boxes(shown, ("crack", "dent"), others=False)[0] == boxes[:2]
    assert tab.view.box_count() == 3  # item 1 on screen: its two ground truth boxes and itself
    tab.panel.others.setChecked(False)
    assert tab.view.box_count() == 3 and tab.view.target() == [60.0, 5.0, 80.0, 20.0]
