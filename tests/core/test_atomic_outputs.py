"""Reports and exports outside training replace their file only once the new one is whole: a
write that fails (disk full, injected here) leaves the previous file byte for byte and names it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from grace.errors import GraceError
from grace.eval.validate import write_json
from grace.explain.figure import write_figure
from grace.infer.predictor import RECORD_FIELDS
from grace.infer.writers import CsvWriter, JsonWriter

VALUES = ["a.jpg", 0, "crack", 0, 0.5, 1, 2, 3, 4, 2, 2, "m", "/m.pt", "ab", 0.25, None, "t"]
RECORD = dict(zip(RECORD_FIELDS, VALUES, strict=True))


@pytest.fixture
def disk_full(monkeypatch):
    """From now on, moving a file into place fails with ENOSPC."""

    def enable() -> None:
        def replace(src, dst, *args, **kwargs):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "replace", replace)

    return enable


def _previous(path: Path, data: bytes) -> bytes:
    path.write_bytes(data)
    return data


def _only(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())  # no temporary file left behind


@pytest.mark.parametrize("writer", [CsvWriter, JsonWriter])
def test_prediction_files_stream_into_place(tmp_path, disk_full, writer):
    path = tmp_path / ("predictions.csv" if writer is CsvWriter else "predictions.json")
    old = _previous(path, b"previous run\n")
    w = writer(path)
    w.write([RECORD, RECORD])
    assert path.read_bytes() == old  # while streaming, the previous file is untouched
    w.close()
    if writer is CsvWriter:
        assert path.read_text().splitlines()[0] == ",".join(RECORD_FIELDS)
        assert len(path.read_text().splitlines()) == 3
    else:
        assert json.loads(path.read_text()) == [RECORD, RECORD]

    old = path.read_bytes()
    w = writer(path)
    w.write([RECORD])
    disk_full()
    with pytest.raises(GraceError) as e:
        w.close()
    assert str(e.value) == f"{path}: could not write (No space left on device)"
    assert path.read_bytes() == old and _only(tmp_path) == [path.name]


def test_figure_keeps_the_previous_file(tmp_path, disk_full):
    png = tmp_path / "cam.png"
    old = _previous(png, b"old figure")
    disk_full()
    with pytest.raises(GraceError) as e:
        write_figure(np.zeros((8, 8, 3), np.uint8), png)
    assert str(e.value) == f"{png}: could not write (No space left on device)"
    assert png.read_bytes() == old and _only(tmp_path) == ["cam.png"]


def test_figure_is_written_whole(tmp_path):
    import cv2

    png = tmp_path / "cam.png"
    fig = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    write_figure(fig, png)
    assert np.array_equal(cv2.imread(str(png)), fig)


def test_metrics_json(tmp_path, disk_full):
    path = tmp_path / "val" / "metrics.json"
    write_json(path, {"mAP50": 0.5})
    assert json.loads(path.read_text()) == {"mAP50": 0.5}
    old = path.read_bytes()
    disk_full()
    with pytest.raises(GraceError) as e:
        write_json(path, {"mAP50": 0.75})
    assert str(e.value) == f"{path}: could not write (No space left on device)"
    assert path.read_bytes() == old and _only(path.parent) == ["metrics.json"]
