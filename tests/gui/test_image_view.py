"""The shared image view: boxes in class colours, zoom and fit."""

from __future__ import annotations

import numpy as np

from grace.colors import class_rgb
from grace_gui.widgets.image_view import Box, ImageView


def test_boxes_take_the_class_colours_and_zoom_keeps_them(qtbot):
    view = ImageView()
    qtbot.addWidget(view)
    view.resize(400, 400)
    view.show()
    image = np.full((200, 300, 3), 90, np.uint8)
    view.set_image(image)
    view.set_boxes([Box(10, 20, 110, 80, 0, "crazing 0.91"), Box(150, 40, 290, 190, 3, "pitted")])
    assert view.box_count() == 2
    frame = view.grab().toImage()
    # the first box's left edge has the class-0 colour (up to antialiasing)
    p = view.mapFromScene(10, 50)
    c = frame.pixelColor(p.x(), p.y())
    rgb = (c.red(), c.green(), c.blue())
    assert max(abs(a - b) for a, b in zip(rgb, class_rgb(0), strict=True)) < 20
    scale0 = view.transform().m11()
    view.zoom(2.0)
    assert abs(view.transform().m11() - 2 * scale0) < 1e-9
    view.fit()
    assert abs(view.transform().m11() - scale0) < 1e-9
    view.set_boxes([])
    assert view.box_count() == 0
