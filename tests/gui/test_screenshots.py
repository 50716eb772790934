"""Every tab renders to a PNG with something on it (the demo), at the window's size."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from grace_gui.screenshots import render_tabs


def test_each_tab_renders_to_a_png_with_content(make_window, tmp_path):
    window = make_window()
    window.resize(1280, 820)
    paths = render_tabs(window, tmp_path, timeout=90)
    assert [p.name for p in paths] == [
        "1_dataset.png", "2_train.png", "3_inference.png", "4_evaluate.png", "5_review.png",
        "6_eigen-cam.png",
    ]  # fmt: skip
    for path in paths:
        image = QImage(str(path)).convertToFormat(QImage.Format.Format_Grayscale8)
        assert (image.width(), image.height()) == (window.width(), window.height())
        pixels = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
        assert pixels.std() > 10, f"{path.name} is almost uniform: an empty tab?"


def test_menus_guide_and_about_render_to_pngs(make_window, tmp_path):
    from grace_gui.screenshots import render_help

    window = make_window()
    window.resize(1280, 820)
    paths = render_help(window, tmp_path)
    assert [p.name for p in paths] == ["menus.png", "help.png", "about.png"]
    menus, guide, about = (QImage(str(p)) for p in paths)
    assert (menus.width(), menus.height()) == (window.width(), window.height())
    plain = window.grab().toImage().convertToFormat(menus.format())
    assert menus != plain  # the open menus are drawn over the window
    for name, dialog in [("guide", guide), ("about", about)]:
        shown = window.menus.dialogs[name]
        assert (dialog.width(), dialog.height()) == (shown.width(), shown.height())
        gray = dialog.convertToFormat(QImage.Format.Format_Grayscale8)
        pixels = np.frombuffer(gray.constBits(), np.uint8, gray.sizeInBytes())
        assert (pixels < 128).mean() > 0.005, f"{name}: no text on it?"
