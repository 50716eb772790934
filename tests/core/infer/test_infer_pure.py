"""Pure parts of inference: thresholds, the multipart reader, the one-slot buffer, back-off and
the classification of source arguments."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest

from grace.errors import GraceError
from grace.infer.frames import Frame
from grace.infer.live import LatestFrame, ReconnectPolicy
from grace.infer.mjpeg import MultipartReader, boundary_of
from grace.infer.sources import redact, resolve_source
from grace.infer.thresholds import ClassThresholds, make_thresholds, parse_class_conf

NAMES = ["crazing", "inclusion", "patches", "scratches"]


def test_thresholds_floor_and_per_class_keep():
    t = ClassThresholds(0.25, {3: 0.4, 0: 0.1})
    assert t.floor == 0.1
    scores = np.array([0.3, 0.3, 0.12, 0.05, 0.45, 0.25])
    classes = np.array([3, 1, 0, 0, 3, 2])
    # scratches need 0.4, crazing 0.1, the others the global 0.25 (inclusive)
    assert t.keep(scores, classes).tolist() == [False, True, True, False, True, True]
    assert t.describe(NAMES) == {"crazing": 0.1, "scratches": 0.4}
    # a class at 1.01 disappears whatever its scores
    assert not ClassThresholds(0.0, {2: 1.01}).keep(np.ones(3), np.full(3, 2)).any()


def test_parse_class_conf_by_name_case_index_and_commas():
    got = parse_class_conf(["scratches=0.4", "PATCHES=0.3,1=0.6", " crazing = 0.2 "], NAMES)
    assert got == {3: 0.4, 2: 0.3, 1: 0.6, 0: 0.2}
    assert make_thresholds(0.5, {"inclusion": 0.7}, NAMES) == ClassThresholds(0.5, {1: 0.7})


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("pits=0.4", "no class 'pits' (crazing, inclusion, patches, scratches)"),
        ("scratches", "expected NAME=VALUE"),
        ("scratches=high", "'high' is not a number"),
        ("scratches=-0.1", "must be a number >= 0"),
        ("7=0.5", "no class '7'"),
    ],
)
def test_parse_class_conf_errors_are_one_line(item, message):
    with pytest.raises(GraceError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        parse_class_conf([item], NAMES)
    assert "\n" not in str(e.value)


def _part(body: bytes, boundary: str = "--frame", length: bool = True) -> bytes:
    head = f"{boundary}\r\nContent-Type: image/jpeg\r\n"
    if length:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body + b"\r\n"


@pytest.mark.parametrize("length", [True, False])
@pytest.mark.parametrize("declared", ["frame", "--frame"])
def test_multipart_reader_with_and_without_length(length, declared):
    bodies = [b"\xff\xd8one\r\n\xff\xd9", b"\xff\xd8two\xff\xd9", b"\xff\xd8\r\n\r\nthree\xff\xd9"]
    stream = b"".join(_part(b, length=length) for b in bodies) + b"--frame--\r\n"
    boundary = boundary_of(f"multipart/x-mixed-replace; boundary={declared}")
    reader = MultipartReader(io.BytesIO(stream), boundary)
    assert [reader.next_part() for _ in range(3)] == bodies
    assert reader.next_part() is None


def test_multipart_reader_without_a_first_boundary():
    stream = b"Content-Type: image/jpeg\r\nContent-Length: 3\r\n\r\nabc\r\n" + _part(b"defg")
    reader = MultipartReader(io.BytesIO(stream), b"frame")
    assert (reader.next_part(), reader.next_part(), reader.next_part()) == (b"abc", b"defg", None)
    assert boundary_of("image/jpeg") is None
    assert boundary_of('multipart/x-mixed-replace;boundary="--myboundary"') == b"myboundary"


def _frame(i: int) -> Frame:
    return Frame(np.zeros((2, 2, 3), np.uint8), "s", i)


def test_latest_frame_keeps_the_newest_and_counts_the_replaced():
    slot = LatestFrame()
    for i in range(5):
        slot.put(_frame(i))
    assert slot.take(0).index == 4 and slot.dropped == 4
    assert slot.take(0.01) is None  # each frame is taken once
    slot.put(_frame(5))
    assert slot.take(0).index == 5 and slot.dropped == 4
    # close wakes a waiting consumer at once
    got = []
    t = threading.Thread(target=lambda: got.append(slot.take(5)))
    t.start()
    slot.close("end")
    t.join(2)
    assert not t.is_alive() and got == [None] and slot.closed_reason == "end"


def test_reconnect_backoff_is_exponential_and_bounded():
    p = ReconnectPolicy(initial_delay=0.5, max_delay=8.0)
    assert [p.delay(k) for k in range(1, 8)] == [0.5, 1, 2, 4, 8, 8, 8]


def test_resolve_source_kinds(tmp_path):
    img = tmp_path / "a.png"
    img.write_bytes(b"x")
    (tmp_path / "v.MP4").write_bytes(b"x")
    (tmp_path / "b10.jpg").write_bytes(b"x")
    (tmp_path / "b9.jpg").write_bytes(b"x")
    (tmp_path / "readme.md").write_text("x")
    assert resolve_source(img).kind == "image"
    assert resolve_source(tmp_path / "v.MP4").kind == "video"
    folder = resolve_source(tmp_path)
    assert folder.kind == "folder"
    assert [p.name for p in folder.paths] == ["a.png", "b9.jpg", "b10.jpg", "v.MP4"]  # natural
    assert [s.file for s in folder.skipped] == [str(tmp_path / "readme.md")]
    glob = resolve_source(str(tmp_path / "b*.jpg"))
    assert glob.kind == "glob" and [p.name for p in glob.paths] == ["b9.jpg", "b10.jpg"]
    assert resolve_source("0").kind == "camera" and resolve_source("3").camera == 3
    for url in ("http://cam.local/video.mjpg", "rtsp://10.0.0.2:554/live"):
        assert resolve_source(url).kind == "stream"
    assert redact("rtsp://admin:secret@cam/x") == "rtsp://admin:***@cam/x"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.jpg", "missing.jpg: no such file or directory"),
        (lambda d: str(d / "*.bmp"), r"\*.bmp: no image or video files match"),
        (lambda d: d, "no image or video files in this folder"),
        (lambda d: "ftp://host/x", "unsupported URL scheme"),
    ],
)
def test_resolve_source_bad_input(tmp_path, make, message):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(GraceError, match=message):
        resolve_source(make(tmp_path))
