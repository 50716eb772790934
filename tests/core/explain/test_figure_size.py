"""The CAM figure drawn at the size it is shown: its shape is known before drawing, and the panel
height that fills a box is the largest that fits."""

from __future__ import annotations

import numpy as np
import pytest

from grace.explain.figure import figure_shape, fit_panel_height, render_figure


def _figure(image_hw, n, ph, value_range):
    image = np.full((*image_hw, 3), 128, np.uint8)
    maps = [np.linspace(0, 1, image_hw[0] * image_hw[1]).reshape(image_hw)] * n
    return render_figure(image, maps, [f"m{i}" for i in range(n)], panel_height=ph,
                         value_range=value_range, method="layercam")  # fmt: skip


@pytest.mark.parametrize("image_hw", [(200, 200), (120, 300)])
@pytest.mark.parametrize("n", [1, 4])
@pytest.mark.parametrize("ph", [40, 200, 257, 900])
@pytest.mark.parametrize("value_range", [None, (-0.0123, 45.6)])
def test_shape_is_the_drawn_figures(image_hw, n, ph, value_range):
    drawn = _figure(image_hw, n, ph, value_range).shape[:2]
    assert figure_shape(image_hw, n, ph, value_range, "layercam") == drawn


@pytest.mark.parametrize("box", [(700, 1500), (300, 2400), (1000, 600), (30, 30)])
def test_fit_is_the_largest_panel_that_fits(box):
    hw, n, vr = (200, 200), 2, (0.0, 1.5)
    ph = fit_panel_height(hw, n, box, vr, "eigencam")
    h, w = figure_shape(hw, n, ph, vr, "eigencam")
    if ph > 1:
        assert h <= box[0] and w <= box[1]
    h1, w1 = figure_shape(hw, n, ph + 1, vr, "eigencam")
    assert h1 > box[0] or w1 > box[1]
    # hand check of one case: 3 panels of 200 px + 3 gaps of 8 + a bar, under a 26 px title
    if box == (700, 1500):
        assert figure_shape(hw, n, 200, vr, "eigencam")[0] == 200 + 26
