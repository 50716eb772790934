"""The Dataset tab: the demo with the `grace data stats` numbers, filters, boxes of the selected
image, problems that lead to their image, NEU-DET/VOC import (its problems in the Problems tab,
grouped, an earlier import never replaced unasked, no stale "Importing"), plain folders that
leave the Train tab's dataset alone, unreadable images with their reason, one Split control,
zoom buttons, a missing path, and a smooth 10,000-image grid. Expected numbers are counted from
the files in each test."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from PIL import Image
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QComboBox, QMessageBox

from grace.data.boxes import size_bucket
from grace_gui.context import AppContext
from grace_gui.settings import open_settings
from grace_gui.tabs.dataset_tab import DatasetTab
from grace_gui.widgets.import_dialog import ImportChoice
from grace_gui.widgets.notifications import NotificationBar
from grace_gui.widgets.thumbnails import (
    LruCache,
    ThumbnailLoader,
    ThumbnailModel,
    decode_thumbnail,
)
from grace_gui.workers.qthreading import long_job_pool

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core" / "data"))
from _data_builders import write_image, write_xml  # noqa: E402

WAIT = 15000


@pytest.fixture
def tab(qtbot, tmp_path):
    """A Dataset tab alone (own context, no demo), shown at the application's size."""
    context = AppContext(
        settings=open_settings(str(tmp_path / "settings.ini")),
        notifications=NotificationBar(),
        pool=long_job_pool(),
    )
    t = DatasetTab(context)
    t.context.notifications.setParent(t)
    qtbot.addWidget(t)
    t.resize(1280, 780)
    t.show()
    qtbot.waitExposed(t)
    yield t
    t.shutdown()
    context.pool.waitForDone(5000)


def _labels(data_yaml: Path, names: list[str]) -> dict[Path, list[tuple[int, float, float]]]:
    """image -> [(class id, w px, h px)] read straight from the label files and image sizes."""
    out = {}
    for split in ("train", "val", "test"):
        for img in sorted((data_yaml.parent / "images" / split).glob("*")):
            label = data_yaml.parent / "labels" / split / f"{img.stem}.txt"
            W, H = Image.open(img).size
            rows = [ln.split() for ln in label.read_text().splitlines() if ln.strip()]
            out[img] = [(int(r[0]), float(r[3]) * W, float(r[4]) * H) for r in rows]
    return out


def _open(qtbot, tab, path):
    with qtbot.waitSignal(tab.shown, timeout=WAIT) as blocker:
        tab.open_path(path)
    return blocker.args[0]


def _wait_stats(qtbot, tab):
    qtbot.waitUntil(lambda: tab.session.stats is not None, timeout=WAIT)


def _select(qtbot, tab, row):
    with qtbot.waitSignal(tab.image_selected, timeout=WAIT) as blocker:
        tab.grid.setCurrentIndex(tab.model.index(row))
    return Path(blocker.args[0])


def test_demo_shows_the_stats_numbers_and_its_first_image(qtbot, make_window):
    window = make_window()
    tab = window.dataset_tab
    demo = window.context.demo
    _wait_stats(qtbot, tab)
    qtbot.waitUntil(lambda: tab.view.has_image(), timeout=WAIT)
    names = yaml.safe_load(demo.data_yaml.read_text())["names"]
    names = [names[k] for k in sorted(names)]
    truth = _labels(demo.data_yaml, names)
    assert tab.model.rowCount() == len(truth) == 36
    per_class = Counter(names[c] for boxes in truth.values() for c, _, _ in boxes)
    sizes = Counter(size_bucket(round(w, 2) * round(h, 2)) for b in truth.values() for _, w, h in b)
    assert tab.charts.classes.bar_heights() == {n: per_class[n] for n in names}
    assert tab.charts.classes.bar_heights() == {
        "crazing": 14, "inclusion": 17, "patches": 19, "pitted_surface": 8,
        "rolled-in_scale": 18, "scratches": 8,
    }  # fmt: skip
    assert tab.charts.sizes.bar_heights() == {k: sizes[k] for k in ("small", "medium", "large")}
    assert tab.charts.sizes.bar_heights() == {"small": 11, "medium": 58, "large": 15}
    tab.charts.set_split("val")
    val = Counter(names[c] for p, b in truth.items() if p.parent.name == "val" for c, _, _ in b)
    assert tab.charts.classes.bar_heights() == {n: val[n] for n in names}
    first = tab.session.index.images[tab.session.rows[0]].path
    assert tab.session.current == tab.session.rows[0]
    assert tab.view.box_count() == len(truth[first])
    assert window.context.settings.get("dataset/last_path") == str(demo.data_yaml)

    window.close()  # relaunch: the tab restores the same dataset
    again = make_window()
    _wait_stats(qtbot, again.dataset_tab)
    assert again.dataset_tab.session.index.data_yaml == demo.data_yaml


def test_filters_and_selected_image_boxes(qtbot, tab, tiny_data):
    assert _open(qtbot, tab, tiny_data) == str(tiny_data)
    names = ["scratch", "patch", "pit"]
    truth = _labels(tiny_data, names)
    assert tab.model.rowCount() == len(truth)
    for split in ("", "train", "val"):
        for c, name in [(None, ""), *enumerate(names)]:
            tab.set_filter(split, name)
            expected = [
                p
                for p, b in truth.items()
                if (not split or p.parent.name == split) and (c is None or c in {x[0] for x in b})
            ]
            assert sorted(tab.model.paths) == sorted(map(str, expected)), (split, name)
            assert tab.bar.count.text().startswith(f"{len(expected)} of {len(truth)}")
    tab.set_filter()
    for row in (3, len(truth) - 1):
        path = _select(qtbot, tab, row)
        assert path == Path(tab.model.paths[row])
        assert tab.view.box_count() == len(truth[path])
        items = [i for i in tab.view.scene().items() if hasattr(i, "rect") and i.zValue() == 1]
        assert len(items) == len(truth[path])


def _dirty_dataset(root: Path) -> Path:
    for split, n in (("train", 3), ("val", 1)):
        for i in range(n):
            write_image(root / "images" / split / f"{split}{i}.jpg", 64, 64, seed=i + 10 * n)
            (root / "labels" / split).mkdir(parents=True, exist_ok=True)
            (root / "labels" / split / f"{split}{i}.txt").write_text("0 0.5 0.5 0.25 0.25\n")
    (root / "labels" / "train" / "train1.txt").write_text("7 0.5 0.5 0.2 0.2\n1 0.3 0.3 0.2 0.2\n")
    (root / "labels" / "train" / "train2.txt").write_text("0 1.8 1.8 0.1 0.1\n")
    (root / "images" / "val" / "broken.jpg").write_bytes(b"not a jpeg at all")
    (root / "labels" / "val" / "broken.txt").write_text("1 0.5 0.5 0.5 0.5\n")
    data = {"train": "images/train", "val": "images/val", "names": {0: "a", 1: "b"}}
    (root / "data.yaml").write_text(yaml.safe_dump(data))
    return root / "data.yaml"


def test_dirty_dataset_lists_problems_that_lead_to_their_image(qtbot, tab, tmp_path):
    data = _dirty_dataset(tmp_path / "dirty")
    _open(qtbot, tab, data)
    _wait_stats(qtbot, tab)
    tops = [tab.problems.tree.topLevelItem(i).text(0) for i in range(3)]
    # serious kinds, in HANDLING's order, each with its count
    assert tops == ["unreadable_image (1)", "box_outside (1)", "class_out_of_range (1)"]
    assert tab.side.tabText(1) == "Problems (3, 3 serious)"
    assert tab.problems.problem_items("class_out_of_range")[0].text(0) == "labels/train/train1.txt"

    for kind, image, boxes in [
        ("class_out_of_range", "train1.jpg", 1),  # the line with class 7 is dropped
        ("box_outside", "train2.jpg", 0),
    ]:
        with qtbot.waitSignal(tab.image_selected, timeout=WAIT) as blocker:
            tab.set_filter("val")  # the image is not in the grid: the filter is reset
            tab.problems.tree.setCurrentItem(tab.problems.problem_items(kind)[0])
        assert Path(blocker.args[0]).name == image
        assert Path(tab.model.paths[tab.grid.currentIndex().row()]).name == image
        assert tab.view.box_count() == boxes
        assert tab.problems.detail.toPlainText().startswith(str(tmp_path / "dirty"))
    tab.problems.tree.setCurrentItem(tab.problems.problem_items("unreadable_image")[0])
    qtbot.waitUntil(lambda: "cannot be shown" in tab.caption.text(), timeout=WAIT)
    # the reason, in the caption and in the view: the engine's reader's line (grace.images)
    reason = "cannot decode image (corrupt or unsupported format)"
    assert tab.caption.text() == f"broken.jpg: cannot be shown: {reason}"
    assert reason in tab.view._placeholder.text()
    assert tab.session.index.images[tab.session.current].path.name == "broken.jpg"
    assert not tab.view.has_image()
    broken = str(tmp_path / "dirty" / "images" / "val" / "broken.jpg")
    qtbot.waitUntil(lambda: broken in tab.loader.failed, timeout=WAIT)  # its thumbnail tile
    row = tab.model.index(tab.model.paths.index(broken))
    assert f"cannot be read: {reason}" in tab.model.data(row, Qt.ToolTipRole)  # the same line
    assert tab.model.data(row, Qt.DecorationRole) is tab.model._broken


def _voc_folder(root: Path, images: str, annotations: str, n: int) -> Counter:
    classes = ["scratch", "pit"]
    expected = Counter()
    for i in range(n):
        name = f"img_{i}.jpg"
        write_image(root / images / name, 100, 80, seed=i)
        boxes = [(classes[(i + k) % 2], 10 + k, 10, 40 + k, 50) for k in range(i % 3 + 1)]
        expected.update(b[0] for b in boxes)
        write_xml(root / annotations / f"img_{i}.xml", name, boxes)
    return expected


@pytest.mark.parametrize("kind", ["neu-det", "voc"])
def test_neu_det_and_voc_folders_are_detected_and_imported(qtbot, tab, tmp_path, kind):
    src = tmp_path / f"src-{kind}"
    folders = ("IMAGES", "ANNOTATIONS") if kind == "neu-det" else ("JPEGImages", "Annotations")
    expected = _voc_folder(src, *folders, n=10)
    asked = []
    tab.ask_import = lambda path, k: asked.append((path, k)) or ImportChoice(str(tmp_path / "out"))
    data_yaml = _open(qtbot, tab, src)
    assert asked == [(src, kind)]
    assert data_yaml == str(tmp_path / "out" / "data.yaml")
    _wait_stats(qtbot, tab)
    assert tab.model.rowCount() == 10
    assert tab.session.index.splits == ["train", "val"]
    assert tab.charts.classes.bar_heights() == {k: expected[k] for k in ("pit", "scratch")}
    assert tab.context.notifications.current.message.startswith("imported train 8, val 2")
    assert not tab.busy()


def test_plain_folder_opens_without_labels(qtbot, tab, tmp_path):
    for i in range(5):
        write_image(tmp_path / "imgs" / f"p{i}.png", 50, 40, seed=i)
    loaded = []
    tab.dataset_loaded.connect(loaded.append)
    assert _open(qtbot, tab, tmp_path / "imgs") == str(tmp_path / "imgs")
    assert loaded == []  # no dataset: the Train tab keeps its own
    assert tab.model.rowCount() == 5 and tab.bar.split.count() == 1
    qtbot.waitUntil(lambda: tab.view.has_image(), timeout=WAIT)
    assert tab.view.box_count() == 0 and "no label file" in tab.caption.text()
    assert tab.charts.classes.bar_heights() == {} and tab.problems.count() == 0


def test_missing_path_is_one_line_in_the_notification_bar(qtbot, tab, tmp_path):
    missing = tmp_path / "nope" / "data.yaml"
    tab.open_path(missing)
    bar = tab.context.notifications
    assert bar.current.title == "Dataset" and bar.current.message == f"{missing}: not found"
    (tmp_path / "empty").mkdir()
    with qtbot.waitSignal(bar.notified, timeout=WAIT):
        tab.open_path(tmp_path / "empty")
    assert bar.current.message.startswith(f"{tmp_path / 'empty'}: no data.yaml")
    assert "\n" not in bar.current.message and tab.isEnabled()
    tab.settings.set("dataset/last_path", str(missing))
    assert tab.restore() is False


def _ten_thousand(folder: Path, n: int = 10_000) -> None:
    folder.mkdir()
    sources = [write_image(folder.parent / f"src{k}.jpg", 64, 64, seed=k) for k in range(4)]
    for i in range(n):
        os.link(sources[i % 4], folder / f"img_{i:05d}.jpg")


def test_ten_thousand_thumbnails_decode_only_what_is_shown(qtbot, tab, tmp_path):
    """Scrolling a 10,000-image grid top to bottom decodes a bounded number of thumbnails (what
    was painted), never the folder. The GUI stall while doing it is a benchmark figure
    (``python -m grace_gui.bench --stall thumbnails``), not asserted here."""
    folder = tmp_path / "many"
    _ten_thousand(folder)
    _open(qtbot, tab, folder)
    assert tab.model.rowCount() == 10_000
    bar = tab.grid.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=WAIT)
    steps = 80
    for k in range(steps + 1):
        bar.setValue(bar.maximum() * k // steps)
        qtbot.wait(15)
    last = tab.model.index(tab.model.rowCount() - 1)
    qtbot.waitUntil(lambda: tab.model.paths[-1] in tab.loader.cache, timeout=WAIT)
    decoded = tab.loader.decoded_count
    viewport = tab.grid.viewport().rect()
    on_screen = sum(
        tab.grid.visualRect(tab.model.index(r)).intersects(viewport) for r in range(9_000, 10_000)
    )
    print(f"\n10,000-image grid: thumbnails decoded {decoded}, {on_screen} on screen")
    assert tab.grid.visualRect(last).intersects(viewport)
    # only what was painted is decoded: at most a screenful per scroll step, never the folder
    assert 0 < decoded <= (steps + 2) * on_screen * 1.5
    assert decoded < 10_000 / 3


def test_loader_queue_is_bounded_newest_first_and_cancelled(qtbot, tmp_path):
    loader = ThumbnailLoader(threads=0, max_pending=200)  # no threads: requests only wait
    model = ThumbnailModel(loader)
    paths = [str(tmp_path / f"{i}.jpg") for i in range(300)]
    model.set_paths(paths)
    for row in range(300):
        assert model.data(model.index(row), Qt.ItemDataRole.DecorationRole) is not None
    assert loader.pending() == 200 and list(loader._pending) == paths[100:]  # oldest dropped
    model.set_paths(paths[:10])  # a new list cancels every waiting request
    assert loader.pending() == 0
    cache = LruCache(2)
    cache.put("a", 1), cache.put("b", 2), cache.get("a"), cache.put("c", 3)
    assert "b" not in cache and "a" in cache and len(cache) == 2
    img = write_image(tmp_path / "big.jpg", 400, 200)
    assert decode_thumbnail(str(img)).shape == (48, 96, 3)
    (tmp_path / "bad.jpg").write_bytes(b"nope")
    assert decode_thumbnail(str(tmp_path / "bad.jpg")) is None
    loader.shutdown()


def _voc_dirty(root: Path, n: int) -> None:
    """``n`` VOC images (every third grey stored as RGB) and img_dup, a byte copy of img_0 with
    a different box: a duplicate whose labels differ."""
    for i in range(n):
        write_image(root / "JPEGImages" / f"img_{i}.jpg", 100, 80, seed=i, gray=i % 3 == 0)
        write_xml(root / "Annotations" / f"img_{i}.xml", f"img_{i}.jpg", [("pit", 10, 10, 50, 40)])
    (root / "JPEGImages" / "img_dup.jpg").write_bytes(
        (root / "JPEGImages" / "img_0.jpg").read_bytes()
    )
    write_xml(root / "Annotations" / "img_dup.xml", "img_dup.jpg", [("pit", 20, 20, 60, 70)])


def _wait_stats_of(qtbot, tab, data_yaml: Path) -> None:
    stats = lambda: tab.session.stats and tab.session.stats["data"] == str(data_yaml)  # noqa: E731
    qtbot.waitUntil(lambda: bool(stats()), timeout=WAIT)


def test_import_problems_reach_the_problems_tab_grouped(qtbot, make_window, tmp_path):
    window = make_window()
    tab = window.dataset_tab
    _wait_stats(qtbot, tab)  # the demo
    src, out = tmp_path / "voc", tmp_path / "out"
    _voc_dirty(src, 7)
    tab.ask_import = lambda path, kind: ImportChoice(str(out))
    with qtbot.waitSignal(tab.dataset_loaded, timeout=WAIT) as blocker:
        tab.open_path(src)
    assert blocker.args[0] == str(out / "data.yaml")
    _wait_stats_of(qtbot, tab, out / "data.yaml")
    # 7 images kept (img_dup dropped); problems: 1 duplicate + img_0, img_3, img_6 grey
    assert window.statusBar().currentMessage() == f"Imported 7 images into {out} (4 problems)"
    assert tab.bar.activity.text() == "" and not tab.bar.progress.isVisible()
    assert tab.side.tabText(1) == "Problems (4, 1 serious)"
    tree = tab.problems.tree
    tops = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    assert tops == ["duplicate_image: labels differ (1)", "grayscale_as_rgb (3)"]
    row = tab.problems.problem_items("duplicate_image:labels_differ")[0]
    detail = (
        f"same bytes as {src / 'JPEGImages' / 'img_0.jpg'} ({src / 'Annotations' / 'img_0.xml'}); "
        f"dropped with its XML {src / 'Annotations' / 'img_dup.xml'}; labels differ"
    )
    assert (row.text(0), row.text(1), row.toolTip(1)) == ("JPEGImages/img_dup.jpg", detail, detail)
    tree.setCurrentItem(row)  # the whole detail underneath, with what was done about it
    full = tab.problems.detail.toPlainText()
    assert detail in full and "found by the import" in full and "one copy is kept" in full
    assert window.train_tab.form.data.text() == str(out / "data.yaml")
    notice = window.context.notifications.current
    assert notice.message.startswith("imported train 6, val 1 images")
    assert notice.details.startswith("duplicate images with different annotations: kept ")


def _answer(qtbot, button: str, seen: list) -> None:
    """Click ``button`` of the next message box once it shows; its text goes to ``seen``."""

    def poll() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, poll)
            return
        seen.append(box.text())
        next(b for b in box.buttons() if b.text() == button).click()

    QTimer.singleShot(0, poll)


def test_an_earlier_import_is_offered_before_it_is_replaced(qtbot, tab, tmp_path):
    src = tmp_path / "voc"
    out = tmp_path / "voc-yolo"  # the default the dialog offers
    _voc_dirty(src, 4)
    with qtbot.waitSignal(tab.dataset_loaded, timeout=WAIT):
        tab.session.import_folder(src, out, "voc")
    before = (out / "data.yaml").read_bytes(), (out / "data.yaml").stat().st_mtime_ns
    seen: list[str] = []
    _answer(qtbot, "Open the earlier import", seen)
    with qtbot.waitSignal(tab.dataset_loaded, timeout=WAIT) as blocker:
        tab.open_path(src)
    assert blocker.args[0] == str(out / "data.yaml")
    assert f"{out} already holds an import of {src} (4 images, " in seen[0]
    assert ((out / "data.yaml").read_bytes(), (out / "data.yaml").stat().st_mtime_ns) == before

    write_image(src / "JPEGImages" / "img_9.jpg", seed=9)
    write_xml(src / "Annotations" / "img_9.xml", "img_9.jpg", [("pit", 1, 1, 30, 30)])
    _answer(qtbot, "Import again (replace it)", seen)
    with qtbot.waitSignal(tab.dataset_loaded, timeout=WAIT):
        tab.open_path(src)
    qtbot.waitUntil(lambda: tab.model.rowCount() == 5, timeout=WAIT)
    report = json.loads((out / "import_report.json").read_text())
    assert sum(report["images"].values()) == 5


def test_zoom_buttons_percent_and_boxes_switch(qtbot, tab, tiny_data):
    _open(qtbot, tab, tiny_data)
    qtbot.waitUntil(lambda: tab.view.has_image(), timeout=WAIT)
    view, bar = tab.view, tab.zoom_bar
    fitted = view.scale_factor()
    assert bar.percent.text() == f"{fitted * 100:.0f} %"
    bar.buttons["+"].click()
    assert view.scale_factor() == pytest.approx(fitted * 1.25)
    assert bar.percent.text() == f"{fitted * 125:.0f} %"
    bar.buttons["100 %"].click()
    assert view.scale_factor() == pytest.approx(1.0) and bar.percent.text() == "100 %"
    bar.buttons["−"].click()
    assert bar.percent.text() == "80 %"
    bar.buttons["Fit"].click()
    assert view.scale_factor() == pytest.approx(fitted)
    boxed = [
        r
        for r in range(tab.model.rowCount())
        if tab.session.index.images[tab.session.rows[r]].boxes
    ]
    _select(qtbot, tab, boxed[1])  # (row 0 is shown already)
    boxes = lambda: [i for i in view.scene().items() if i.zValue() == 1]  # noqa: E731
    assert boxes() and all(i.isVisible() for i in boxes())
    bar.boxes.setChecked(False)
    assert not any(i.isVisible() for i in boxes())
    _select(qtbot, tab, boxed[2])  # the next image keeps the switch
    assert boxes() and not any(i.isVisible() for i in boxes())
    bar.boxes.setChecked(True)
    assert all(i.isVisible() for i in boxes())


def test_one_split_control_filters_the_grid_and_the_charts(qtbot, tab, tiny_data):
    _open(qtbot, tab, tiny_data)
    _wait_stats(qtbot, tab)
    combos = tab.findChildren(QComboBox)
    assert sorted(c.itemText(0) for c in combos) == ["All classes", "All splits"]
    split = tab.bar.split
    split.setCurrentText("val")
    split.activated.emit(split.currentIndex())  # as a user's pick
    truth = _labels(tiny_data, ["scratch", "patch", "pit"])
    val = {p: b for p, b in truth.items() if p.parent.name == "val"}
    assert sorted(tab.model.paths) == sorted(map(str, val))
    n = sum(len(b) for b in val.values())
    assert tab.charts.summary.text().startswith(f"val: {len(val)} images")
    assert tab.charts.summary.text().endswith(f"{n} instances")
    per = Counter(["scratch", "patch", "pit"][c] for b in val.values() for c, _, _ in b)
    assert tab.charts.classes.bar_heights() == {k: per[k] for k in ("scratch", "patch", "pit")}


def test_names_are_whole_and_in_natural_order(qtbot, tab, tmp_path):
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QFontMetrics

    names = ["crazing_10.jpg", "crazing_2.jpg", "rolled-in_scale_100.jpg", "crazing_1.jpg"]
    for i, n in enumerate(names):
        write_image(tmp_path / "imgs" / n, 40, 30, seed=i)
    _open(qtbot, tab, tmp_path / "imgs")
    assert [Path(p).name for p in tab.model.paths] == [
        "crazing_1.jpg", "crazing_2.jpg", "crazing_10.jpg", "rolled-in_scale_100.jpg",
    ]  # fmt: skip
    metrics = QFontMetrics(tab.grid.font())
    width = tab.grid.gridSize().width() - 8
    for r in range(4):
        text = tab.model.data(tab.model.index(r), Qt.DisplayRole)
        assert text.replace("\u200b", "") == Path(tab.model.paths[r]).name
        wrapped = metrics.boundingRect(QRect(0, 0, width, 1000), Qt.TextWordWrap, text)
        assert wrapped.width() <= width and wrapped.height() <= 2 * metrics.lineSpacing()
    assert tab.grid.wordWrap()


def test_a_plain_folder_leaves_the_train_tabs_dataset(qtbot, make_window, tmp_path):
    window = make_window()
    _wait_stats(qtbot, window.dataset_tab)
    demo_yaml = str(window.context.demo.data_yaml)
    assert window.train_tab.form.data.text() == demo_yaml
    for i in range(3):
        write_image(tmp_path / "imgs" / f"p{i}.png", 50, 40, seed=i)
    _open(qtbot, window.dataset_tab, tmp_path / "imgs")
    assert window.dataset_tab.model.rowCount() == 3
    assert window.train_tab.form.data.text() == demo_yaml
