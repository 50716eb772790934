"""grace.images: reading with EXIF orientation, one-line read errors, one drawing style, label
layout that keeps labels inside the image and off each other."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from grace.errors import GraceError
from grace.images import (
    BLACK,
    WHITE,
    draw_detections,
    draw_style,
    label_boxes,
    read_image,
    text_color,
    try_read_image,
)

RED_RGB = (230, 20, 20)


def _exif_jpeg(path, orientation: int):
    """A 60 x 40 (W x H) stored JPEG, black with a 10 x 10 red block at the stored top-left."""
    a = np.zeros((40, 60, 3), np.uint8)
    a[0:10, 0:10] = RED_RGB
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(a).save(path, quality=95, exif=exif.tobytes())
    return path


def _is_red(bgr) -> bool:
    b, g, r = (int(v) for v in bgr)
    return r > 180 and g < 70 and b < 70


# reading -----------------------------------------------------------------------------------------
def test_exif_rotated_jpeg_reads_rotated_with_the_block_where_the_viewer_shows_it(tmp_path):
    img = read_image(_exif_jpeg(tmp_path / "rot6.jpg", 6))
    # orientation 6 turns the stored 60 x 40 image 90 degrees clockwise: 40 wide, 60 high, and
    # stored (x, y) goes to (H - y, x) = (40 - y, x); the block's centre (5, 5) lands at (35, 5)
    assert img.shape == (60, 40, 3) and img.dtype == np.uint8
    assert _is_red(img[5, 35])  # row 5, column 35
    assert not _is_red(img[5, 5]) and not _is_red(img[55, 35])
    # orientation 3 (180 degrees): same size, (x, y) -> (60 - x, 40 - y): centre at (55, 35)
    img3 = read_image(_exif_jpeg(tmp_path / "rot3.jpg", 3))
    assert img3.shape == (40, 60, 3) and _is_red(img3[35, 55]) and not _is_red(img3[5, 5])


def test_reads_what_ultralytics_reads(tmp_path):
    """Byte-equal to the loader the model is trained and run through, for the awkward cases."""
    from ultralytics.utils.patches import imread

    grey = np.arange(0, 240, dtype=np.uint8).reshape(12, 20)
    deep = (np.arange(12 * 20 * 3, dtype=np.uint16).reshape(12, 20, 3) * 90).astype(np.uint16)
    rgba = np.dstack([np.full((12, 20, 3), (10, 120, 250), np.uint8), np.full((12, 20), 7)])
    cv2.imwrite(str(tmp_path / "grey.png"), grey)
    cv2.imwrite(str(tmp_path / "deep.png"), deep)
    cv2.imwrite(str(tmp_path / "deep.tif"), deep)
    cv2.imwrite(str(tmp_path / "rgba.png"), rgba.astype(np.uint8))
    files = ["grey.png", "deep.png", "deep.tif", "rgba.png"]
    files += [_exif_jpeg(tmp_path / f"o{o}.jpg", o).name for o in (2, 5, 6, 8)]
    for name in files:
        ours, theirs = read_image(tmp_path / name), imread(str(tmp_path / name))
        assert ours.shape == theirs.shape[:2] + (3,), name
        assert np.array_equal(ours, np.broadcast_to(theirs, ours.shape)), name
    # hand-checked values: 16-bit keeps its high byte; grey is copied into B, G and R
    assert read_image(tmp_path / "deep.png")[0, 1].tolist() == [int(v) >> 8 for v in deep[0, 1]]
    assert read_image(tmp_path / "grey.png")[0, 13].tolist() == [13, 13, 13]


def test_the_dataset_probe_reports_the_size_the_reader_gives(tmp_path):
    """data.images keeps PIL's own opener (stored size) but its shown size is the reader's."""
    from ultralytics.data.utils import exif_size

    from grace.data.check import _image_for_trainer
    from grace.data.images import open_image, probe_image

    path = _exif_jpeg(tmp_path / "rot6.jpg", 6)
    probe = probe_image(path)
    assert (probe.width, probe.height, probe.orientation) == (60, 40, 6)  # stored
    h, w = read_image(path).shape[:2]
    with open_image(path) as im:
        assert probe.shown_size == (w, h) == exif_size(im) == (40, 60)
    # the trainer's size rule names the size it sees: stored 20 x 8, shown 8 x 20
    a = np.zeros((8, 20, 3), np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(a).save(tmp_path / "thin.jpg", exif=exif.tobytes())
    assert _image_for_trainer(tmp_path / "thin.jpg", 1) == (0, "image 8x20 smaller than 10 px")


def test_a_non_ascii_path_reads(tmp_path):
    path = tmp_path / "acier_rayé_表面.png"
    cv2.imencode(".png", np.full((5, 7, 3), 9, np.uint8))[1].tofile(str(path))
    assert read_image(path).shape == (5, 7, 3)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("corrupt.jpg", b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 20,
         "cannot decode image (corrupt or unsupported format)"),
        ("text.png", b"hello\n", "cannot decode image (corrupt or unsupported format)"),
        ("empty.png", b"", "empty file"),
        ("lfs.jpg", b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 12\n",
         "Git LFS pointer, not an image (run `git lfs pull` in the source repository)"),
        ("missing.png", None, "image not found"),
        ("folder.png", "dir", "not a file"),
    ],
)  # fmt: skip
def test_a_bad_file_is_one_line_naming_it(tmp_path, name, content, reason):
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    assert try_read_image(path) == (None, reason)
    with pytest.raises(GraceError) as e:
        read_image(path)
    assert str(e.value) == f"{path}: {reason}"


def test_a_good_file_reads_with_no_reason(tmp_path):
    path = tmp_path / "ok.png"
    cv2.imwrite(str(path), np.full((3, 4, 3), (1, 2, 3), np.uint8))
    img, reason = try_read_image(path)
    assert reason == "" and img[2, 3].tolist() == [1, 2, 3]


# style -------------------------------------------------------------------------------------------
def test_style_by_the_documented_rule():
    # s = (H + W) / 2; line width max(2, round(0.003 s)); font scale max(0.35, s / 1000)
    small, large = draw_style(200, 200), draw_style(2000, 2000)
    assert (small.line_width, small.font_scale) == (2, 0.35)  # round(0.6) = 1 -> floor of 2
    assert (large.line_width, large.font_scale) == (6, 2.0)  # round(6.0), 2000 / 1000


@pytest.mark.parametrize(("side", "width"), [(200, 2), (2000, 6)])
def test_drawn_box_line_has_the_documented_width(side, width):
    img = np.zeros((side, side, 3), np.uint8)
    q = side // 4
    out = draw_detections(img, np.array([[q, q, 3 * q, 3 * q]]), np.array([0]), np.array([0.5]),
                          ["a"], color=lambda c: (0, 255, 0))  # fmt: skip
    row = out[side // 2]  # through the middle of the box's left and right edges
    painted = np.flatnonzero((row == (0, 255, 0)).all(axis=1))
    # the line lies inside the box: columns q .. q + width - 1 and 3q - width .. 3q - 1
    assert painted.tolist() == [*range(q, q + width), *range(3 * q - width, 3 * q)]


def test_text_colour_is_the_one_of_higher_contrast():
    # WCAG relative luminance of the linearised sRGB channels, computed by hand:
    # cyan (23, 190, 207): 0.2126*0.0086 + 0.7152*0.5149 + 0.0722*0.6239 = 0.415 -> black
    # red (214, 39, 40):   0.2126*0.6724 + 0.7152*0.0203 + 0.0722*0.0212 = 0.159 -> white
    # grey 127:            0.2122 > 0.179 -> black; blue (31, 119, 180): 0.168 -> white
    assert text_color((207, 190, 23)) == BLACK  # BGR
    assert text_color((40, 39, 214)) == WHITE
    assert text_color((127, 127, 127)) == BLACK
    assert text_color((180, 119, 31)) == WHITE
    assert text_color((255, 255, 255)) == BLACK and text_color((0, 0, 0)) == WHITE


# layout ------------------------------------------------------------------------------------------
def _disjoint(a, b) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def test_two_overlapping_detections_get_labels_that_do_not_overlap():
    boxes = np.array([[20, 40, 80, 90], [30, 45, 90, 95]])
    rects = label_boxes(boxes, np.array([[50, 12], [50, 12]]), (100, 200))
    # the first goes above its box: rows 28..39; the second's spot above (rows 33..44) would
    # cover it, so it goes inside its own box's top: rows 45..56
    assert rects.tolist() == [[20, 28, 70, 40], [30, 45, 80, 57]]
    assert _disjoint(*rects)


def test_a_third_label_on_the_same_box_is_moved_up_past_the_others():
    boxes = np.array([[50, 50, 150, 90]] * 3)
    rects = label_boxes(boxes, np.array([[60, 12]] * 3), (100, 200))
    # above (38), inside (50); below (90..101) would leave the 100-row image, so the third
    # goes to the nearest free spot from 38: just above the first label, at 26
    assert rects.tolist() == [[50, 38, 110, 50], [50, 50, 110, 62], [50, 26, 110, 38]]


def test_labels_at_the_edges_stay_inside_the_image():
    boxes = np.array([[10, 0, 60, 30], [180, 50, 199, 80], [5, 90, 40, 100]])
    rects = label_boxes(boxes, np.array([[40, 12], [50, 12], [30, 12]]), (100, 200))
    assert rects[0].tolist() == [10, 0, 50, 12]  # box at the top edge: label inside the box
    assert rects[1].tolist() == [150, 38, 200, 50]  # pushed left of the right edge
    assert rects[2].tolist() == [5, 78, 35, 90]  # above a box at the bottom edge


def test_many_labels_in_a_crowd_stay_inside_and_apart():
    rng = np.random.default_rng(0)
    xy = rng.integers(0, 380, size=(12, 2))
    boxes = np.hstack([xy, xy + rng.integers(10, 60, size=(12, 2))])
    rects = label_boxes(boxes, np.tile([70, 14], (12, 1)), (400, 400))
    assert ((rects[:, 0] >= 0) & (rects[:, 1] >= 0)).all()
    assert ((rects[:, 2] <= 400) & (rects[:, 3] <= 400)).all()
    assert all(_disjoint(rects[i], rects[j]) for i in range(12) for j in range(i))


def test_drawn_labels_are_the_laid_out_rectangles_and_the_input_is_kept():
    img = np.full((200, 200, 3), 128, np.uint8)
    boxes = np.array([[20.0, 0.0, 120.0, 60.0], [30.0, 5.0, 130.0, 70.0]])
    colours = {0: (0, 0, 255), 1: (255, 0, 0)}
    out = draw_detections(img, boxes, np.array([0, 1]), np.array([0.9, 0.8]), ["pit", "scratch"],
                          color=colours.__getitem__)  # fmt: skip
    assert (img == 128).all()
    st = draw_style(200, 200)
    sizes = []
    for text in ("pit 0.90", "scratch 0.80"):
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, st.font_scale,
                                         st.font_thickness)  # fmt: skip
        sizes.append((tw + 2 * st.pad, th + base + 2 * st.pad))
    rects = label_boxes(boxes, np.array(sizes), (200, 200))
    assert rects[0][1] == 0 and _disjoint(*rects)  # both boxes touch the top: labels inside
    for (x1, y1, x2, y2), c in zip(rects.tolist(), (0, 1), strict=True):
        tag = out[y1:y2, x1:x2]
        # the tag's padding rows are the class colour; the text is the contrasting colour
        assert (tag[0] == colours[c]).all() and (tag[-1] == colours[c]).all()
        assert (tag == text_color(colours[c])).all(axis=2).any()
    # nothing is drawn outside the boxes' lines and the two tags
    lines = np.zeros((200, 200), bool)
    for x1, y1, x2, y2 in boxes.astype(int).tolist():  # 2-pixel lines inside each box
        ring = np.zeros((200, 200), bool)
        ring[y1:y2, x1:x2] = True
        ring[y1 + 2 : y2 - 2, x1 + 2 : x2 - 2] = False
        lines |= ring
    tags = np.zeros((200, 200), bool)
    for x1, y1, x2, y2 in rects.tolist():
        tags[y1:y2, x1:x2] = True
    assert (out[~(lines | tags)] == 128).all()
    assert (out[lines & ~tags] != 128).any(axis=1).all()


def test_unknown_class_and_mapping_names():
    img = np.zeros((50, 50, 3), np.uint8)
    a = draw_detections(img, [[5, 20, 40, 45]], [3], [0.5], {3: "3"})
    b = draw_detections(img, [[5, 20, 40, 45]], [3], [0.5], ["only", "two"])
    assert np.array_equal(a, b)  # a class the model has no name for is written as its index
