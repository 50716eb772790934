"""Overlay, titles and the side-by-side composite (pure OpenCV drawing)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from grace.explain.eigencam import global_range, normalize_global
from grace.explain.figure import render_figure
from grace.explain.render import (
    BACKGROUND,
    COLORMAPS,
    GAP,
    Detections,
    colorbar,
    compose,
    overlay,
    panel_shape,
    title_height,
)
from grace.images import draw_detections


def _expected_colour(grey: int, value01: float, colormap: str, opacity: float) -> np.ndarray:
    q = np.array([[round(value01 * 255)]], np.uint8)
    col = cv2.applyColorMap(q, COLORMAPS[colormap])[0, 0].astype(np.float32)
    return np.rint((1 - opacity) * grey + opacity * col).astype(np.uint8)


def test_overlay_blends_one_colormap():
    img = np.full((4, 5, 3), 100, np.uint8)
    heat = np.zeros((4, 5), np.float32)
    heat[1, 2] = 0.75
    out = overlay(img, heat, "inferno", 0.4)
    assert out.shape == img.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[1, 2], _expected_colour(100, 0.75, "inferno", 0.4))
    np.testing.assert_array_equal(out[0, 0], _expected_colour(100, 0.0, "inferno", 0.4))
    np.testing.assert_array_equal(overlay(img, heat, opacity=0.0), img)
    with pytest.raises(ValueError):
        overlay(img, heat, opacity=1.5)
    with pytest.raises(ValueError):
        overlay(img, heat[:3])
    with pytest.raises(ValueError):
        overlay(img, heat, colormap="rainbow-unicorn")


@pytest.mark.parametrize("n_models", [1, 2, 4])
def test_composite_has_input_plus_one_panel_per_model(n_models):
    image = np.full((40, 60, 3), 90, np.uint8)
    maps = [np.full((40, 60), i / max(1, n_models - 1), np.float32) for i in range(n_models)]
    fig = render_figure(image, maps, [f"model {i}" for i in range(n_models)])
    ph, pw = panel_shape(image.shape[:2])
    assert (ph, pw) == (256, 384)  # small images are scaled up, aspect kept
    assert fig.shape == (title_height(ph) + ph, (1 + n_models) * pw + n_models * GAP, 3)
    # panel k starts at k * (pw + GAP); the gaps are background
    for k in range(1, n_models + 1):
        gap = fig[title_height(ph) :, k * (pw + GAP) - GAP : k * (pw + GAP)]
        assert (gap == BACKGROUND).all()
    with_bar = render_figure(image, maps, [""] * n_models, value_range=(0.0, 2.0))
    bar = colorbar(ph, 0.0, 2.0, label="Eigen-CAM")  # the bar names the method (default)
    assert with_bar.shape[1] == fig.shape[1] + GAP + bar.shape[1]
    np.testing.assert_array_equal(with_bar[title_height(ph) :, -bar.shape[1] :], bar)
    layercam = render_figure(
        image, maps, [""] * n_models, value_range=(0.0, 2.0), method="layercam"
    )
    np.testing.assert_array_equal(
        layercam[title_height(ph) :, fig.shape[1] + GAP :],
        colorbar(ph, 0.0, 2.0, label="LayerCAM"),
    )


def test_same_activation_same_colour_in_every_panel():
    """Raw 0.8 appears in both maps; per-map min-max would colour it differently."""
    h, w, grey = 50, 80, 120
    a = np.full((h, w), 0.3, np.float32)
    a[:, w // 2 :] = 0.8
    a[0, 0] = 0.0  # global minimum
    b = np.full((h, w), 0.8, np.float32)
    b[:, w // 2 :] = 0.3
    b[0, 0] = 2.0  # global maximum
    lo, hi = global_range([a, b])
    maps = normalize_global([a, b])
    image = np.full((h, w, 3), grey, np.uint8)
    fig = render_figure(image, maps, ["A", "B"], colormap="plasma", opacity=0.6)
    ph, pw = panel_shape((h, w))
    top = title_height(ph)
    y = top + ph // 2

    def pixel(panel: int, frac: float) -> np.ndarray:
        return fig[y, panel * (pw + GAP) + int(frac * pw)]

    a_high, b_high = pixel(1, 0.75), pixel(2, 0.25)  # raw 0.8 in A and in B
    a_low, b_low = pixel(1, 0.25), pixel(2, 0.75)  # raw 0.3 in A and in B
    np.testing.assert_array_equal(a_high, b_high)
    np.testing.assert_array_equal(a_low, b_low)
    assert not np.array_equal(a_high, a_low)
    expected = _expected_colour(grey, (0.8 - lo) / (hi - lo), "plasma", 0.6)
    np.testing.assert_array_equal(a_high, expected)
    # the input panel is the plain image
    np.testing.assert_array_equal(pixel(0, 0.5), [grey] * 3)


def test_titles_stay_inside_their_panel():
    panels = [np.full((200, 150, 3), 200, np.uint8) for _ in range(3)]
    titles = ["input", "a very long run name/weights that cannot fit/best.pt", ""]
    fig = compose(panels, titles)
    th = title_height(200)
    strip = fig[:th]
    assert (strip[:, 150 : 150 + GAP] == BACKGROUND).all()  # nothing spills into the gaps
    assert (strip[:, 300 + GAP : 300 + 2 * GAP] == BACKGROUND).all()
    assert (strip[:, 2 * (150 + GAP) :] == BACKGROUND).all()  # empty title: empty strip
    assert (strip[:, :150] < 128).any() and (strip[:, 150 + GAP : 300 + GAP] < 128).any()
    assert (strip[0] == BACKGROUND).all() and (strip[-1] == BACKGROUND).all()  # not clipped
    with pytest.raises(ValueError):
        compose(panels, titles[:2])
    with pytest.raises(ValueError):
        compose([panels[0], np.zeros((10, 10, 3), np.uint8)], ["a", "b"])


def test_draw_detections_scales_boxes_and_leaves_the_input():
    panel = np.full((100, 100, 3), 128, np.uint8)
    dets = Detections(
        np.array([[10, 10, 30, 40]], np.float32), np.array([1]), np.array([0.9]), {1: "crazing"}
    )
    out = draw_detections(panel, dets.xyxy, dets.cls, dets.conf, dets.names, scale=2.0,
                          color=lambda i: (0, 0, 255))  # fmt: skip
    assert (panel == 128).all()
    # right edge at x = 30 * 2: the 2-pixel line lies inside the box, columns 58 and 59
    assert (out[20:80, 58:60] == (0, 0, 255)).all() and (out[20:80, 60] == 128).all()
    assert (out[50, 40] == 128).all()  # inside the box untouched
