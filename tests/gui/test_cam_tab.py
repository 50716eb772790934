"""The Eigen-CAM tab: a CAM comparison of the demo checkpoints, computed in a worker, re-rendered
from the cached maps, exported as the figure ``grace cam`` writes."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

pytest.importorskip("ultralytics")


class Calls(list):
    """The ``layer`` of each call, its ``method`` in ``methods``, and the unpatched function in
    ``original``."""

    original = None

    def __init__(self) -> None:
        super().__init__()
        self.methods: list[str] = []


@pytest.fixture
def calls(monkeypatch):
    """Every ``compute_cams`` call the tab makes, as the ``layer`` it asked for."""
    from grace.explain import figure  # where compare_models looks compute_cams up

    seen = Calls()
    original = figure.compute_cams

    def counting(image, models, layer=None, imgsz=640, **kw):
        seen.append(layer)
        seen.methods.append(kw.get("method", "eigencam"))
        return original(image, models, layer=layer, imgsz=imgsz, **kw)

    monkeypatch.setattr(figure, "compute_cams", counting)
    seen.original = original
    return seen


@pytest.fixture(scope="module")
def engine_models():
    """The demo checkpoints opened by the engine, apart from the tab's cache."""
    from grace.explain.figure import load_models
    from grace_gui.demo import find_demo

    demo = find_demo()
    assert demo is not None, "the bundled demo is missing"
    return demo, load_models([str(p) for p in demo.models], "cpu")


def settle(qtbot, tab, timeout: int = 60_000) -> None:
    """Wait until the tab has a result and nothing is computing or scheduled."""
    qtbot.waitUntil(lambda: tab.result is not None and not tab.busy_computing(), timeout=timeout)


def shown(tab) -> np.ndarray:
    """The pixels in the image view (RGB), to see that what is displayed changed."""
    from PySide6.QtGui import QImage

    img = tab.view._item.pixmap().toImage().convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes())
    return arr.reshape(img.height(), img.bytesPerLine())[:, : img.width() * 3].copy()


def test_demo_comparison_is_grace_cams_figure_on_one_global_scale(
    qtbot, make_window, calls, engine_models, tmp_path
):
    from grace.explain.figure import compare_models, default_imgsz, render_figure
    from grace.explain.render import GAP
    from grace.images import read_image

    demo, models = engine_models
    window = make_window()
    tab = window.cam_tab
    window.tabs.setCurrentWidget(tab)
    settle(qtbot, tab)
    r = tab.result
    assert calls == [None]  # the tab computed once (compare_models below counts too)
    assert calls.methods == ["eigencam"] and tab.controls.method_combo.currentText() == "Eigen-CAM"
    assert r.weights == [str(p) for p in demo.models]
    assert r.request.image_path == str(demo.first_image)
    # independent: the engine's maps of the same image and models
    image_path = demo.first_image
    image = read_image(image_path)
    cams = calls.original(image, models, layer=None, imgsz=default_imgsz(models[0]))
    lo = min(float(c.raw.min()) for c in cams)
    hi = max(float(c.raw.max()) for c in cams)
    assert r.value_range == pytest.approx((lo, hi), rel=1e-5)
    for mine, theirs in zip(r.cams, cams, strict=True):
        np.testing.assert_allclose(mine.raw, theirs.raw, rtol=1e-4, atol=1e-4 * hi)
    assert f"[{lo:.4g}, {hi:.4g}]" in tab.controls.info.text()
    # drawn at the size it is shown: the panel height that fills the view, not a fixed bitmap
    vp = tab.view.viewport().size()
    ph = tab.view.panel_height
    assert ph == tab.session.fit((vp.height() - 4, vp.width() - 4))
    h, w = tab.session.figure_shape(ph)
    assert h <= vp.height() and w <= vp.width()
    assert h > vp.height() - 60 or w > vp.width() - 60  # it fills one side of the view
    pix = tab.view._item.pixmap()
    assert (pix.width(), pix.height()) == (w, h) and tab.view.transform().isIdentity()
    # the same pixels as the engine's figure at that size (`grace cam`'s renderer)
    comparison = compare_models(image, models, detections=True)
    engine = render_figure(image, comparison.maps01, r.titles, input_title=image_path.name,
                           detections=comparison.detections, panel_height=ph,
                           value_range=comparison.value_range)  # fmt: skip
    assert engine.shape == tab.view.figure.shape
    assert np.abs(engine.astype(int) - tab.view.figure.astype(int)).mean() < 0.5
    # the heatmap panels are not the input: the overlays changed them
    pw = round(ph * image.shape[1] / image.shape[0])
    fig = tab.view.figure
    assert not np.array_equal(fig[-ph:, :pw], fig[-ph:, pw + GAP : 2 * pw + GAP])


def test_zoom_draws_the_figure_again_at_the_new_size(qtbot, make_window):
    window = make_window()
    tab = window.cam_tab
    window.tabs.setCurrentWidget(tab)
    settle(qtbot, tab)
    view, ph = tab.view, tab.view.panel_height
    view.zoom(2.0)
    assert view.panel_height == 2 * ph and view.transform().isIdentity()
    pix = view._item.pixmap()
    assert (pix.height(), pix.width()) == tab.session.figure_shape(2 * ph)
    assert np.array_equal(view.figure, tab.session.render(2 * ph))  # drawn, not scaled
    assert view.horizontalScrollBar().maximum() > 0  # larger than the view: it pans
    tab.figure_box.one_button.click()  # 1:1, each panel at the image's own height
    assert view.panel_height == tab.result.image.shape[0]
    assert tab.figure_box.zoom_label.text() == "100 %"
    tab.figure_box.fit_button.click()
    assert view.panel_height == ph and view.fitted


def test_opacity_and_detections_rerender_without_recomputing(
    qtbot, make_window, calls, engine_models
):
    from grace.explain.cam import detect

    demo, models = engine_models
    window = make_window()
    tab = window.cam_tab
    settle(qtbot, tab)
    loads = tab.session.cache.loads
    assert loads == 2
    # an image on which the engine finds defects (independently of the tab)
    image_path = next(
        p
        for p in sorted(demo.images.glob("*.jpg"))
        if sum(len(detect(m, cv2.imread(str(p)), 256)) for m in models) > 0
    )
    expected = [len(detect(m, cv2.imread(str(image_path)), 256)) for m in models]
    tab.set_image_path(str(image_path))
    qtbot.waitUntil(lambda: tab.result.request.image_path == str(image_path), timeout=60_000)
    settle(qtbot, tab)
    assert len(calls) == 2
    assert tab.session.cache.loads == loads  # a new image does not reload the models
    assert [len(d) for d in tab.result.detections] == expected

    before = shown(tab)
    for v in (10, 40, 90):
        tab.controls.opacity.setValue(v)
        qtbot.wait(10)
    after = shown(tab)
    assert before.shape == after.shape and not np.array_equal(before, after)
    # a new opacity re-blends the maps it has: no CAM computed, no model loaded again (how
    # long the re-render takes is a figure, tab.render_ms, not asserted)
    assert len(calls) == 2 and tab.session.cache.loads == loads
    tab.controls.detections.setChecked(False)
    without = shown(tab)
    assert not np.array_equal(after, without)  # the boxes are gone
    tab.controls.detections.setChecked(True)
    assert np.array_equal(after, shown(tab))
    qtbot.wait(50)
    assert len(calls) == 2  # nothing was recomputed


def test_layer_change_recomputes_and_is_remembered(qtbot, make_window, calls, engine_models):
    from grace.images import read_image

    demo, models = engine_models
    window = make_window()
    tab = window.cam_tab
    settle(qtbot, tab)
    combo = tab.controls.layer_combo
    offered = [combo.itemData(i) for i in range(combo.count())]
    assert offered[0] is None and offered[1:] == list(range(23))  # not the head itself
    assert combo.itemText(0) == "P3 input of the head (after Lite-FEN)"
    texts = {combo.itemData(i): combo.itemText(i) for i in range(1, combo.count())}
    assert texts[9] == "backbone P5 (SPPF)" and texts[22] == "P5 input of the head"
    assert texts[16] == "P3 input of the head"  # the first model's (the baseline's) name
    pos = combo.findData(13)
    assert combo.itemText(pos) == "neck P4 top-down (C3k2)"
    tab.controls.layer_combo.setCurrentIndex(pos)
    qtbot.waitUntil(lambda: tab.result.cams[0].layer_index == 13, timeout=60_000)
    settle(qtbot, tab)
    assert calls == [None, 13]
    assert [c.layer_index for c in tab.result.cams] == [13, 13]
    theirs = calls.original(read_image(demo.first_image), models, layer=13, imgsz=256)
    hi = max(float(c.raw.max()) for c in theirs)
    for mine, ref in zip(tab.result.cams, theirs, strict=True):
        np.testing.assert_allclose(mine.raw, ref.raw, rtol=1e-3, atol=1e-3 * hi)
    assert "Layer: neck P4 top-down (C3k2)\n" in tab.controls.info.text()
    window.close()

    again = make_window()  # the next launch reopens the same comparison
    tab2 = again.cam_tab
    settle(qtbot, tab2)
    assert tab2.controls.layer_combo.currentData() == 13
    assert tab2.result.weights == [str(p) for p in demo.models]
    assert tab2.result.request.image_path == str(demo.first_image)
    recent = again.context.settings.get("cam/models")
    assert set(recent) == {str(p) for p in demo.models}


def test_method_choice_recomputes_records_and_is_remembered(
    qtbot, make_window, calls, engine_models
):
    from grace.explain.cam import detect
    from grace.explain.figure import read_image
    from grace.explain.render import colorbar, title_height

    demo, models = engine_models
    window = make_window()
    tab = window.cam_tab
    settle(qtbot, tab)
    combo = tab.controls.method_combo
    offered = [combo.itemData(i) for i in range(combo.count())]
    assert offered == ["eigencam", "eigengradcam", "layercam", "gradcam++"]
    tab.controls.method_combo.setCurrentIndex(offered.index("gradcam++"))
    qtbot.waitUntil(lambda: tab.result.request.method == "gradcam++", timeout=60_000)
    settle(qtbot, tab)
    assert calls.methods == ["eigencam", "gradcam++"] and calls == [None, None]
    r = tab.result
    assert [c.method for c in r.cams] == ["gradcam++", "gradcam++"]
    # independent: the engine's maps and predict's boxes on the same image at the same conf
    image = read_image(demo.first_image)
    theirs = calls.original(image, models, imgsz=256, method="gradcam++", conf=r.request.conf)
    hi = max(float(c.raw.max()) for c in theirs)
    assert hi > 0
    for mine, ref, model in zip(r.cams, theirs, models, strict=True):
        np.testing.assert_allclose(mine.raw, ref.raw, rtol=1e-3, atol=1e-3 * hi)
        assert mine.targets == len(detect(model, image, 256, r.request.conf))
    text = tab.controls.info.text()
    assert "raw Grad-CAM++" in text and "class scores of these detections" in text
    empty = [t for t, c in zip(r.titles, r.cams, strict=True) if c.targets == 0]
    assert ("No detection" in text) == bool(empty)
    # the colour bar of the figure names the method
    ph = image.shape[0]  # the full-resolution figure
    bar = colorbar(ph, *r.value_range, label="Grad-CAM++")
    np.testing.assert_array_equal(tab.session.render()[title_height(ph) :, -bar.shape[1] :], bar)
    window.close()

    again = make_window()
    tab2 = again.cam_tab
    settle(qtbot, tab2)
    assert tab2.controls.method_combo.currentData() == "gradcam++"
    assert tab2.result.request.method == "gradcam++"


def test_a_fifth_checkpoint_is_refused(qtbot, make_window, engine_models, tmp_path):
    demo, _ = engine_models
    window = make_window()
    tab = window.cam_tab
    settle(qtbot, tab)
    copies = [shutil.copy(demo.models[0], tmp_path / f"copy{i}.pt") for i in range(3)]
    tab.add_checkpoint(str(copies[0]))
    tab.add_checkpoint(str(copies[1]))
    tab.add_checkpoint(str(copies[2]))
    bar = window.context.notifications
    assert bar.current.level == "warning" and "At most 4 checkpoints" in bar.current.message
    assert bar.current.message.endswith(f"before adding {copies[2]}")
    assert len(tab.session.checkpoints) == 4 and tab.controls.checkpoints.paths() == [
        *[str(p) for p in demo.models], str(copies[0]), str(copies[1])]
    qtbot.waitUntil(lambda: len(tab.result.cams) == 4, timeout=60_000)
    settle(qtbot, tab)
    assert len(tab.result.titles) == 4 and tab.session.cache.loads == 4


def test_export_writes_the_figure_at_full_resolution(qtbot, make_window, tmp_path):
    from grace.explain.render import title_height

    window = make_window()
    tab = window.cam_tab
    settle(qtbot, tab)
    target = tmp_path / "out" / "figure"  # no suffix: .png is added
    with qtbot.waitSignal(tab.exported, timeout=10_000) as sig:
        tab.export_png(str(target))
    assert sig.args == [str(target) + ".png"]
    written = cv2.imread(str(target) + ".png")
    image = tab.result.image
    h, w = image.shape[:2]
    th = title_height(h)
    # each panel at the image's own size: the input panel is the image, pixel for pixel
    assert written.shape[0] == th + h and written.shape[:2] == tab.session.figure_shape()
    np.testing.assert_array_equal(written[th:, :w], image)
    assert np.array_equal(written, tab.session.render())


def test_images_from_inference_and_dataset_are_used(qtbot, make_window, engine_models):
    demo, _ = engine_models
    window = make_window()
    tab = window.cam_tab
    settle(qtbot, tab)
    bar = window.context.notifications
    tab.set_frame_provider(lambda: None)
    tab.controls.frame_button.click()
    assert "no frame yet" in bar.current.message

    images = sorted(demo.images.glob("*.jpg"))
    frame = cv2.flip(cv2.imread(str(images[1])), 1)
    tab.set_frame_provider(lambda: (frame, "frame 7"))
    tab.controls.frame_button.click()
    qtbot.waitUntil(lambda: tab.result.request.name == "frame 7", timeout=60_000)
    settle(qtbot, tab)
    assert np.array_equal(tab.result.image, frame)

    tab.set_dataset_image(str(images[2]))
    tab.controls.dataset_button.click()
    qtbot.waitUntil(lambda: tab.result.request.image_path == str(images[2]), timeout=60_000)
    settle(qtbot, tab)
    assert tab.result.image.shape == cv2.imread(str(images[2])).shape
    assert tab.controls.image_label.text() == images[2].name


def test_a_file_that_is_no_checkpoint_gives_one_line_error(qtbot, make_window, tmp_path):
    window = make_window()
    tab = window.cam_tab
    settle(qtbot, tab)
    bad = tmp_path / "notes.pt"
    bad.write_text("these are notes, not weights\n")
    tab.add_checkpoint(str(bad))
    bar = window.context.notifications
    qtbot.waitUntil(lambda: bar.current and bar.current.level == "error", timeout=60_000)
    settle(qtbot, tab)
    assert bar.isVisible() and bar.current.title == "Eigen-CAM"
    assert str(bad) in bar.current.message and "\n" not in bar.current.message
    assert str(bad) not in tab.session.checkpoints
    assert len(tab.result.cams) == 2  # the other panels still compare
    assert window.tabs.isEnabled() and tab.controls.export_button.isEnabled()


def test_unreadable_image_clears_the_old_figure_and_names_the_file(qtbot, make_window, tmp_path):
    window = make_window()
    tab = window.cam_tab
    settle(qtbot, tab)
    assert tab.view.figure is not None
    bad = tmp_path / "coil_0042.png"
    bad.write_bytes(b"\x89PNG truncated")
    tab.set_image_path(str(bad))
    bar = window.context.notifications
    qtbot.waitUntil(lambda: tab.result is None and not tab.busy_computing(), timeout=60_000)
    message = f"{bad}: cannot decode image (corrupt or unsupported format)"
    qtbot.waitUntil(lambda: bar.current is not None and bar.current.message == message)
    assert tab.view.figure is None and tab.view._item.pixmap().isNull()  # the old one is gone
    assert tab.view._placeholder.text() == message and tab.controls.info.text() == message
    assert not tab.controls.export_button.isEnabled()


def test_detections_follow_the_inference_tabs_thresholds(qtbot, make_window, engine_models):
    from grace.explain.cam import detect
    from grace.images import read_image

    demo, models = engine_models
    window = make_window()
    tab = window.cam_tab
    settle(qtbot, tab)
    assert tab.result.request.conf == 0.25
    window.inference_tab.thresholds.set_conf(0.1)  # the Inference tab's global slider
    qtbot.waitUntil(lambda: tab.result.request.conf == 0.1, timeout=60_000)
    settle(qtbot, tab)
    panel = window.inference_tab.thresholds
    panel.set_classes(list(models[0].model.names.values()))
    panel.set_class_conf(2, 0.5)  # patches' own slider
    qtbot.waitUntil(lambda: tab.result.request.class_conf == {"patches": 0.5}, timeout=60_000)
    settle(qtbot, tab)
    image = read_image(demo.first_image)
    for m, d in zip(models, tab.result.detections, strict=True):
        low = detect(m, image, 256, 0.1)
        keep = (low.cls != 2) | (low.conf >= 0.5)  # class 2 is patches
        np.testing.assert_array_equal(d.xyxy, low.xyxy[keep])
    assert [len(d) for d in tab.result.detections] == [1, 0]  # see test_cam_session
    assert "thresholds (0.10; patches 0.50)" in tab.controls.info.text()


def test_recent_lists_each_model_once_told_apart(qtbot, make_window, engine_models, tmp_path):
    demo, _ = engine_models
    window = make_window()
    tab = window.cam_tab
    settle(qtbot, tab)
    runs = [tmp_path / p / "exp" / "weights" / "best.pt" for p in ("a", "b")]
    for r in runs:
        r.parent.mkdir(parents=True)
        shutil.copy(demo.models[0], r)
    for r in runs:
        tab.offer_checkpoint(str(r))
    tab.offer_checkpoint(str(runs[0].parent / ".." / "weights" / "best.pt"))  # same file again
    tab.controls.checkpoints.fill_recent()
    actions = tab.controls.checkpoints.recent_menu.actions()
    assert [a.text() for a in actions] == [
        f"exp/best.pt — {runs[0].parent}",
        f"exp/best.pt — {runs[1].parent}",
        *[p.name for p in demo.models],
    ]
    assert window.context.settings.get("cam/models")[:2] == [str(runs[0]), str(runs[1])]
    actions[1].trigger()
    assert tab.session.checkpoints[-1] == str(runs[1])


def test_every_field_has_a_tooltip(make_window):
    from PySide6.QtWidgets import QAbstractButton, QComboBox, QListWidget
    from superqt import QLabeledDoubleSlider

    tab = make_window().cam_tab
    kinds = (QComboBox, QAbstractButton, QListWidget, QLabeledDoubleSlider)
    fields = [f for kind in kinds for f in tab.findChildren(kind)]
    fields = [f for f in fields if f.isVisibleTo(tab) and f.parent() is not None
              and not isinstance(f.parent(), QLabeledDoubleSlider)]  # fmt: skip
    assert len(fields) >= 12
    missing = [f.text() if hasattr(f, "text") else type(f).__name__ for f in fields
               if not f.toolTip()]  # fmt: skip
    assert missing == []
    assert "Lite-FEN" in tab.controls.layer_combo.toolTip()
