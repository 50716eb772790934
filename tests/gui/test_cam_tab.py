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

    img = tab.view._pixmap.pixmap().toImage().convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes())
    return arr.reshape(img.height(), img.bytesPerLine())[:, : img.width() * 3].copy()


def test_demo_comparison_is_grace_cams_figure_on_one_global_scale(
    qtbot, make_window, calls, engine_models, tmp_path
):
    from grace.explain.figure import default_imgsz, run_cam
    from grace.explain.render import GAP, panel_shape
    from grace.images import read_image

    demo, models = engine_models
    window = make_window()
    tab = window.cam_tab
    settle(qtbot, tab)
    r = tab.result
    assert calls == [None]  # the tab computed once (run_cam below counts too)
    assert calls.methods == ["eigencam"] and tab.method_combo.currentText() == "Eigen-CAM"
    assert r.weights == [str(p) for p in demo.models]
    assert r.request.image_path == str(demo.first_image)
    # independent: the engine's maps of the same image and models
    image = read_image(demo.first_image)
    cams = calls.original(image, models, layer=None, imgsz=default_imgsz(models[0]))
    lo = min(float(c.raw.min()) for c in cams)
    hi = max(float(c.raw.max()) for c in cams)
    assert r.value_range == pytest.approx((lo, hi), rel=1e-5)
    for mine, theirs in zip(r.cams, cams, strict=True):
        np.testing.assert_allclose(mine.raw, theirs.raw, rtol=1e-4, atol=1e-4 * hi)
    assert f"[{lo:.4g}, {hi:.4g}]" in tab.info.text()
    # input + two heatmap panels + colour bar, the same pixels as `grace cam` writes
    ph, pw = panel_shape(image.shape[:2])
    assert tab.figure.shape[1] > 3 * pw + 3 * GAP
    out = tmp_path / "cli.png"
    run_cam(str(demo.first_image), [str(p) for p in demo.models], out, detections=True)
    cli = cv2.imread(str(out))
    assert cli.shape == tab.figure.shape
    assert np.abs(cli.astype(int) - tab.figure.astype(int)).mean() < 0.5
    pix = tab.view._pixmap.pixmap()
    assert (pix.width(), pix.height()) == (tab.figure.shape[1], tab.figure.shape[0])
    # the heatmap panels are not the input: the overlays changed them
    x0, x1 = pw + GAP, 2 * pw + GAP
    assert not np.array_equal(tab.figure[-ph:, :pw], tab.figure[-ph:, x0:x1])


def test_opacity_and_detections_rerender_without_recomputing(
    qtbot, make_window, calls, engine_models
):
    from grace.explain.cam import detect

    demo, models = engine_models
    window = make_window()
    tab = window.cam_tab
    settle(qtbot, tab)
    loads = tab.cache.loads
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
    assert tab.cache.loads == loads  # a new image does not reload the models
    assert [len(d) for d in tab.result.detections] == expected

    before = shown(tab)
    for v in (10, 40, 90):
        tab.opacity.setValue(v)
        qtbot.wait(10)
    after = shown(tab)
    assert before.shape == after.shape and not np.array_equal(before, after)
    # a new opacity re-blends the maps it has: no CAM computed, no model loaded again (how
    # long the re-render takes is a figure, tab.render_ms, not asserted)
    assert len(calls) == 2 and tab.cache.loads == loads
    tab.detections.setChecked(False)
    without = shown(tab)
    assert not np.array_equal(after, without)  # the boxes are gone
    tab.detections.setChecked(True)
    assert np.array_equal(after, shown(tab))
    qtbot.wait(50)
    assert len(calls) == 2  # nothing was recomputed


def test_layer_change_recomputes_and_is_remembered(qtbot, make_window, calls, engine_models):
    from grace.images import read_image

    demo, models = engine_models
    window = make_window()
    tab = window.cam_tab
    settle(qtbot, tab)
    offered = [tab.layer_combo.itemData(i) for i in range(tab.layer_combo.count())]
    assert offered[0] is None and offered[1:] == list(range(24))
    pos = tab.layer_combo.findData(13)
    assert tab.layer_combo.itemText(pos) == "model.13 (C3k2)"
    tab.layer_combo.setCurrentIndex(pos)
    qtbot.waitUntil(lambda: tab.result.cams[0].layer_index == 13, timeout=60_000)
    settle(qtbot, tab)
    assert calls == [None, 13]
    assert [c.layer_index for c in tab.result.cams] == [13, 13]
    theirs = calls.original(read_image(demo.first_image), models, layer=13, imgsz=256)
    hi = max(float(c.raw.max()) for c in theirs)
    for mine, ref in zip(tab.result.cams, theirs, strict=True):
        np.testing.assert_allclose(mine.raw, ref.raw, rtol=1e-3, atol=1e-3 * hi)
    assert "model.13 (C3k2)" in tab.info.text()
    window.close()

    again = make_window()  # the next launch reopens the same comparison
    tab2 = again.cam_tab
    settle(qtbot, tab2)
    assert tab2.layer_combo.currentData() == 13
    assert tab2.result.weights == [str(p) for p in demo.models]
    assert tab2.result.request.image_path == str(demo.first_image)
    recent = again.context.settings.get("cam/models")
    assert set(recent) == {str(p) for p in demo.models}


def test_method_choice_recomputes_records_and_is_remembered(
    qtbot, make_window, calls, engine_models
):
    from grace.explain.cam import detect
    from grace.explain.figure import read_image
    from grace.explain.render import colorbar, panel_shape, title_height

    demo, models = engine_models
    window = make_window()
    tab = window.cam_tab
    settle(qtbot, tab)
    offered = [tab.method_combo.itemData(i) for i in range(tab.method_combo.count())]
    assert offered == ["eigencam", "eigengradcam", "layercam", "gradcam++"]
    tab.method_combo.setCurrentIndex(offered.index("gradcam++"))
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
    text = tab.info.text()
    assert "raw Grad-CAM++" in text and "class scores of the detections" in text
    empty = [t for t, c in zip(r.titles, r.cams, strict=True) if c.targets == 0]
    assert ("No detection" in text) == bool(empty)
    # the colour bar of the figure names the method
    ph, _ = panel_shape(image.shape[:2])
    bar = colorbar(ph, *r.value_range, label="Grad-CAM++")
    np.testing.assert_array_equal(tab.figure[title_height(ph) :, -bar.shape[1] :], bar)
    window.close()

    again = make_window()
    tab2 = again.cam_tab
    settle(qtbot, tab2)
    assert tab2.method_combo.currentData() == "gradcam++"
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
    assert "copy2.pt" in bar.current.message
    assert len(tab.checkpoints.paths()) == 4
    qtbot.waitUntil(lambda: len(tab.result.cams) == 4, timeout=60_000)
    settle(qtbot, tab)
    assert len(tab.result.titles) == 4 and tab.cache.loads == 4


def test_export_writes_the_displayed_composite(qtbot, make_window, tmp_path):
    window = make_window()
    tab = window.cam_tab
    settle(qtbot, tab)
    target = tmp_path / "out" / "figure"  # no suffix: .png is added
    with qtbot.waitSignal(tab.exported, timeout=10_000) as sig:
        tab.export_png(str(target))
    assert sig.args == [str(target) + ".png"]
    written = cv2.imread(str(target) + ".png")
    assert written is not None and written.shape == tab.figure.shape
    assert np.array_equal(written, tab.figure)
    pix = tab.view._pixmap.pixmap()
    assert (written.shape[1], written.shape[0]) == (pix.width(), pix.height())


def test_images_from_inference_and_dataset_are_used(qtbot, make_window, engine_models):
    demo, _ = engine_models
    window = make_window()
    tab = window.cam_tab
    settle(qtbot, tab)
    bar = window.context.notifications
    tab.set_frame_provider(lambda: None)
    tab.frame_button.click()
    assert "no frame yet" in bar.current.message

    images = sorted(demo.images.glob("*.jpg"))
    frame = cv2.flip(cv2.imread(str(images[1])), 1)
    tab.set_frame_provider(lambda: (frame, "frame 7"))
    tab.frame_button.click()
    qtbot.waitUntil(lambda: tab.result.request.name == "frame 7", timeout=60_000)
    settle(qtbot, tab)
    assert np.array_equal(tab.result.image, frame)

    tab.set_dataset_image(str(images[2]))
    tab.dataset_button.click()
    qtbot.waitUntil(lambda: tab.result.request.image_path == str(images[2]), timeout=60_000)
    settle(qtbot, tab)
    assert tab.result.image.shape == cv2.imread(str(images[2])).shape
    assert tab.image_label.text() == images[2].name


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
    assert str(bad) not in tab.checkpoints.paths()
    assert len(tab.result.cams) == 2  # the other panels still compare
    assert window.tabs.isEnabled() and tab.export_button.isEnabled()


def test_refusal_rules(tmp_path):
    from grace_gui.widgets.cam_job import MAX_CHECKPOINTS, refusal

    files = [tmp_path / f"m{i}.pt" for i in range(MAX_CHECKPOINTS + 1)]
    for f in files:
        f.write_bytes(b"x")
    chosen = [str(f) for f in files[:MAX_CHECKPOINTS]]
    assert refusal(chosen[:2], chosen[2]) == ""
    assert "already" in refusal(chosen[:2], chosen[0])
    assert "At most 4" in refusal(chosen, str(files[-1]))
    assert "not found" in refusal([], str(tmp_path / "gone.pt"))
