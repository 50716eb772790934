"""File sources without a model: order, batching, parallel decoding, prefetching, skipping."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
from _infer_helpers import write_video

from grace.errors import GraceError
from grace.infer.files import FileSource
from grace.infer.sources import open_source, resolve_source


def _folder(tmp_path):
    for i in (1, 2, 10):
        cv2.imwrite(str(tmp_path / f"img{i}.png"), np.full((20, 30, 3), i, np.uint8))
    write_video(tmp_path / "img5.avi", n=5, size=32)  # sorts between img2 and img10
    (tmp_path / "img3.jpg").write_bytes(b"\xff\xd8 truncated")
    (tmp_path / "img4.gif").write_bytes(b"GIF89a nonsense")  # a video suffix OpenCV cannot open
    return tmp_path


@pytest.mark.parametrize("prefetch", [False, True])
@pytest.mark.parametrize("size", [1, 3, 8])
def test_folder_order_batches_and_skips(tmp_path, size, prefetch):
    before = set(threading.enumerate())
    src = open_source(resolve_source(_folder(tmp_path)))
    assert isinstance(src, FileSource)
    batches = list(src.batches(size, prefetch=prefetch))
    frames = [f for b in batches for f in b]
    assert all(len(b) == size for b in batches[:-1]) and 0 < len(batches[-1]) <= size
    got = [(f.source.rsplit("/", 1)[-1], f.index, f.is_video) for f in frames]
    assert got == (
        [("img1.png", 0, False), ("img2.png", 0, False)]
        + [("img5.avi", i, True) for i in range(5)]
        + [("img10.png", 0, False)]
    )
    assert frames[0].image.shape == (20, 30, 3) and int(frames[1].image[0, 0, 0]) == 2
    assert frames[2].fps == pytest.approx(30.0)
    reasons = {s.file.rsplit("/", 1)[-1]: s.reason for s in src.stats.skipped}
    assert set(reasons) == {"img3.jpg", "img4.gif"}
    assert src.end_reason == "end of source"
    assert not [t for t in set(threading.enumerate()) - before if t.is_alive()]


def test_stopping_early_ends_the_decoding_threads(tmp_path):
    for i in range(40):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), np.zeros((8, 8, 3), np.uint8))
    before = set(threading.enumerate())
    src = FileSource(resolve_source(tmp_path))
    gen = src.batches(4, halt=lambda: True, prefetch=True)
    assert len(next(gen)) == 4
    assert next(gen, None) is None  # halted after the first batch
    assert not [t for t in set(threading.enumerate()) - before if t.is_alive()]


def test_a_single_unreadable_video_is_one_line(tmp_path):
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(GraceError, match="clip.mp4: cannot open video"):
        list(FileSource(resolve_source(bad)).batches(4))
