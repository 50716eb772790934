"""The Dataset tab: the demo with the `grace data stats` numbers, filters, boxes of the selected
image, problems that lead to their image, NEU-DET/VOC import, plain folders, a missing path,
and a smooth 10,000-image grid. Expected numbers are counted from the files in each test."""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from PIL import Image
from PySide6.QtCore import Qt

from grace.data.boxes import size_bucket
from grace_gui.context import AppContext
from grace_gui.settings import open_settings
from grace_gui.tabs.dataset_tab import DatasetTab
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
    with qtbot.waitSignal(tab.dataset_loaded, timeout=WAIT) as blocker:
        tab.open_path(path)
    return blocker.args[0]


def _wait_stats(qtbot, tab):
    qtbot.waitUntil(lambda: tab.stats is not None, timeout=WAIT)


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
    first = tab.index.images[tab.rows[0]].path
    assert tab.current == tab.rows[0] and tab.view.box_count() == len(truth[first])
    assert window.context.settings.get("dataset/last_path") == str(demo.data_yaml)

    window.close()  # relaunch: the tab restores the same dataset
    again = make_window()
    _wait_stats(qtbot, again.dataset_tab)
    assert again.dataset_tab.index.data_yaml == demo.data_yaml


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
            assert tab.count_label.text().startswith(f"{len(expected)} of {len(truth)}")
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
    rows = {
        tab.problems.item(r, 1).text(): r for r in range(tab.problems.rowCount())
    }  # kind -> row
    assert {"class_out_of_range", "box_outside", "unreadable_image"} <= set(rows)
    assert tab.side.tabText(1) == f"Problems ({tab.problems.rowCount()})"
    assert tab.problems.item(rows["class_out_of_range"], 0).text() == "labels/train/train1.txt"

    for kind, image, boxes in [
        ("class_out_of_range", "train1.jpg", 1),  # the line with class 7 is dropped
        ("box_outside", "train2.jpg", 0),
    ]:
        with qtbot.waitSignal(tab.image_selected, timeout=WAIT) as blocker:
            tab.set_filter("val")  # the image is not in the grid: the filter is reset
            tab.select_problem(rows[kind])
        assert Path(blocker.args[0]).name == image
        assert Path(tab.model.paths[tab.grid.currentIndex().row()]).name == image
        assert tab.view.box_count() == boxes
    tab.select_problem(rows["unreadable_image"])
    broken = data.parent / "images" / "val" / "broken.jpg"
    reason = "cannot decode image (corrupt or unsupported format)"  # the engine's reader's line
    qtbot.waitUntil(lambda: tab.caption.text() == f"{broken}: {reason}", timeout=WAIT)
    assert tab.index.images[tab.current].path.name == "broken.jpg"
    assert not tab.view.has_image()


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
    tab.ask_import_out = lambda path, k: asked.append((path, k)) or str(tmp_path / "out")
    data_yaml = _open(qtbot, tab, src)
    assert asked == [(src, kind)]
    assert data_yaml == str(tmp_path / "out" / "data.yaml")
    _wait_stats(qtbot, tab)
    assert tab.model.rowCount() == 10
    assert tab.index.splits == ["train", "val"]
    assert tab.charts.classes.bar_heights() == {k: expected[k] for k in ("pit", "scratch")}
    assert tab.context.notifications.current.message.startswith("imported train 8, val 2")
    assert not tab.busy()


def test_plain_folder_opens_without_labels(qtbot, tab, tmp_path):
    for i in range(5):
        write_image(tmp_path / "imgs" / f"p{i}.png", 50, 40, seed=i)
    assert _open(qtbot, tab, tmp_path / "imgs") == ""
    assert tab.model.rowCount() == 5 and tab.split_combo.count() == 1
    qtbot.waitUntil(lambda: tab.view.has_image(), timeout=WAIT)
    assert tab.view.box_count() == 0 and "no label file" in tab.caption.text()
    assert tab.charts.classes.bar_heights() == {} and tab.problems.rowCount() == 0


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
