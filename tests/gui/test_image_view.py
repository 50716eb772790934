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


def _tags(view: ImageView) -> dict[str, tuple]:
    """Each label's text, its tag's rectangle in viewport pixels and the text's colour."""
    from PySide6.QtWidgets import QGraphicsSimpleTextItem

    out = {}
    for item in view.scene().items():
        if isinstance(item, QGraphicsSimpleTextItem) and item.text() and item.childItems():
            tag = item.childItems()[0]
            r = tag.deviceTransform(view.viewportTransform()).mapRect(tag.boundingRect())
            out[item.text()] = ((r.left(), r.top(), r.right(), r.bottom()), item.brush().color())
    return out


def test_labels_stay_inside_the_image_and_off_each_other_at_every_zoom(qtbot):
    from PySide6.QtGui import QColor

    view = ImageView()
    qtbot.addWidget(view)
    view.resize(400, 400)
    view.show()
    view.set_image(np.full((200, 300, 3), 90, np.uint8))
    # two boxes on the same spot and one at the top edge
    boxes = [Box(100, 60, 200, 150, 0, "crazing 0.91"), Box(105, 62, 205, 152, 1, "inclusion 0.5"),
             Box(10, 0, 80, 40, 9, "scratches 0.7")]  # fmt: skip
    view.set_boxes(boxes)
    for zoom in (1.0, 2.0, 0.5):
        view.zoom(zoom)
        tags = _tags(view)
        assert set(tags) == {b.label for b in boxes}
        img = view.mapFromScene(0, 0), view.mapFromScene(300, 200)
        rects = [r for r, _ in tags.values()]
        for x1, y1, x2, y2 in rects:  # inside the image's on-screen rectangle (1 px rounding)
            assert img[0].x() - 1 <= x1 and x2 <= img[1].x() + 1
            assert img[0].y() - 1 <= y1 and y2 <= img[1].y() + 1
        for i, a in enumerate(rects):
            for b in rects[:i]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    # the engine's text colour: white on class 0's blue, black on 1's orange and 9's cyan
    colours = {t: c.name() for t, (_, c) in _tags(view).items()}
    assert colours == {"crazing 0.91": QColor(255, 255, 255).name(),
                       "inclusion 0.5": QColor(0, 0, 0).name(),
                       "scratches 0.7": QColor(0, 0, 0).name()}  # fmt: skip


def test_zoom_bar_lays_labels_out_again_and_its_switch_hides_them_with_the_boxes(qtbot):
    """The ZoomBar's buttons go through the same zoom as the wheel, so labels are laid out at
    the new zoom; labels are items of their own (above every box), so the boxes switch must
    hide and show them too, for new boxes as well."""
    from PySide6.QtWidgets import QGraphicsSimpleTextItem

    from grace_gui.widgets.image_view import ZoomBar

    view = ImageView()
    qtbot.addWidget(view)
    view.resize(400, 400)
    bar = ZoomBar(view)
    qtbot.addWidget(bar)
    view.show()
    view.set_image(np.full((200, 300, 3), 90, np.uint8))
    boxes = [Box(100, 60, 200, 150, 0, "crazing 0.91"), Box(105, 62, 205, 152, 1, "inclusion 0.5")]
    view.set_boxes(boxes)
    bar.buttons["100 %"].click()
    at_100 = {t: r for t, (r, _) in _tags(view).items()}
    bar.buttons["+"].click()
    assert bar.percent.text() == "125 %"
    at_125 = {t: r for t, (r, _) in _tags(view).items()}
    for a in at_125.values():  # still off each other at the new zoom
        for b in at_125.values():
            assert a is b or a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
    assert at_125 != at_100

    def shown() -> list[bool]:
        items = view.scene().items()
        labels = [i for i in items if isinstance(i, QGraphicsSimpleTextItem) and i.childItems()]
        return [i.isVisible() for i in items if i.zValue() == 1] + [i.isVisible() for i in labels]

    assert len(shown()) == 4 and all(shown())
    bar.boxes.setChecked(False)
    assert not any(shown())
    view.set_boxes(list(reversed(boxes)))  # new boxes follow the switch
    assert len(shown()) == 4 and not any(shown())
    bar.boxes.setChecked(True)
    assert all(shown())


def test_thumbnail_is_turned_like_the_large_view(tmp_path):
    """The grid's thumbnail (PIL) and the large view (grace.images) show an EXIF-rotated image
    the same way up: stored 60 x 40 with a red block top-left, orientation 6 (90 degrees
    clockwise) shows 40 x 60 with the block top-right."""
    from PIL import Image

    from grace.images import read_image
    from grace_gui.widgets.thumbnails import decode_thumbnail

    a = np.zeros((40, 60, 3), np.uint8)
    a[0:10, 0:10] = (230, 20, 20)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rot6.jpg"
    Image.fromarray(a).save(path, quality=95, exif=exif.tobytes())
    thumb, large = decode_thumbnail(str(path), 96), read_image(path)
    assert thumb.shape == large.shape == (60, 40, 3)
    assert thumb[5, 35, 0] > 180 and large[5, 35, 2] > 180  # red: RGB vs BGR
    assert thumb[5, 5, 0] < 70 and large[5, 5, 2] < 70
