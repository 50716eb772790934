"""``grace export``: exported models (OpenVINO, ONNX, OpenVINO INT8 calibrated on our own images)
predict what the PyTorch checkpoint predicts, evaluate with ``grace val`` recording their format,
and every bad input is one line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from _deploy_helpers import DEMO_DATA, IMGSZ

pytestmark = pytest.mark.slow

FLOOR = 0.05  # detections compared at and above this confidence
MARGIN = 0.01  # a detection this close to FLOOR may fall on either side in another runtime


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area = lambda x: np.prod(x[:, 2:] - x[:, :2], axis=1)  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


def _detections(weights, images):
    from grace.images import read_image
    from grace.infer.frames import Frame
    from grace.infer.predictor import Predictor
    from grace.infer.thresholds import ClassThresholds

    p = Predictor(weights, ClassThresholds(FLOOR), imgsz=IMGSZ, device="cpu")
    p.warmup()
    return p, p.predict([Frame(read_image(i), str(i)) for i in images])


def _assert_same(reference, other, box_tol=1.0, score_tol=0.01):
    """Every detection of ``reference`` clear of the floor has a twin in ``other`` (same class,
    IoU >= 0.9, corners within ``box_tol`` px, score within ``score_tol``), and vice versa."""
    compared = 0
    for ra, rb in ((reference, other), (other, reference)):
        for a, b in zip(ra, rb, strict=True):
            for i in np.flatnonzero(a.scores >= FLOOR + MARGIN):
                same = np.flatnonzero(b.classes == a.classes[i])
                assert same.size, f"{a.frame.source}: class {a.classes[i]} has no twin"
                j = same[np.argmax(_iou(a.boxes[i : i + 1], b.boxes[same])[0])]
                assert np.abs(a.boxes[i] - b.boxes[j]).max() <= box_tol
                assert abs(a.scores[i] - b.scores[j]) <= score_tol
                compared += 1
    assert compared >= 10  # the check compared real detections, not an empty set


@pytest.mark.parametrize("fmt", ["openvino", "onnx"])
def test_exported_model_predicts_like_pytorch(fmt, demo_pt, exports, demo_val_images):
    _, ref = _detections(demo_pt, demo_val_images)
    p, got = _detections(exports[fmt], demo_val_images)
    assert p.ref.kind == fmt and p.ref.imgsz == IMGSZ  # read from the export's own metadata
    assert p.names == list(yaml.safe_load(DEMO_DATA.read_text())["names"].values())
    _assert_same(ref, got)


def test_val_on_an_exported_model_records_its_format(demo_pt, exports, tmp_path):
    from grace.eval.validate import validate

    pt = validate(str(demo_pt), str(DEMO_DATA), imgsz=IMGSZ, batch=4, device="cpu",
                  out=tmp_path / "pt")  # fmt: skip
    ov = validate(str(exports["openvino"]), str(DEMO_DATA), batch=4, device="cpu",
                  out=tmp_path / "ov")  # imgsz from the export  # fmt: skip
    on_disk = json.loads((tmp_path / "ov" / "metrics.json").read_text())
    assert on_disk["format"] == "openvino" and pt["format"] == "pt"
    assert on_disk["settings"]["imgsz"] == IMGSZ and on_disk["images"] == 12
    assert ov["cost"] is None  # no torch graph to count in an exported model
    # OpenVINO computes in FP32 (exported --precision f32): PyTorch's mAP to 1/100 of a point
    assert on_disk["precision"] == "f32" and pt["precision"] is None
    assert abs(ov["metrics"]["mAP50-95"] - pt["metrics"]["mAP50-95"]) < 1e-4
    assert pt["metrics"]["mAP50-95"] > 0.05  # a real model, not an empty comparison


def test_int8_calibrates_on_our_own_images_offline(demo_pt, exports, tmp_path, demo_val_images):
    """A dataset of four images made here: the exporter must calibrate on exactly those (a
    download would fail offline), and the INT8 model must still find the defects."""
    from grace.deploy.export import export_model

    root = tmp_path / "calib"
    src = DEMO_DATA.parent
    for split, n in (("train", 4), ("val", 2)):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for img in sorted((src / "images" / split).glob("*.jpg"))[:n]:
            (root / "images" / split / img.name).write_bytes(img.read_bytes())
            lbl = src / "labels" / split / f"{img.stem}.txt"
            (root / "labels" / split / lbl.name).write_bytes(lbl.read_bytes())
    names = yaml.safe_load(DEMO_DATA.read_text())["names"]
    (root / "data.yaml").write_text(yaml.safe_dump({"train": "images/train", "val": "images/val",
                                                    "names": names}))  # fmt: skip
    e = export_model(demo_pt, "openvino", int8=True, data=root / "data.yaml", imgsz=IMGSZ,
                     out=tmp_path / "out")  # fmt: skip
    assert e.calibration == {"data": str(root / "data.yaml"), "split": "train", "images": 4}
    folder = Path(e.path)
    assert folder.name == f"{demo_pt.stem}_int8_openvino_model"
    assert sorted(p.suffix for p in folder.iterdir()) == [".bin", ".xml", ".yaml"]
    assert [p.name for p in (tmp_path / "out").iterdir()] == [folder.name]  # no staging left
    fp32 = exports["openvino"] / f"{demo_pt.stem}.bin"
    assert (folder / fp32.name).stat().st_size < 0.5 * fp32.stat().st_size  # 1-byte weights
    _, ref = _detections(demo_pt, demo_val_images)
    _, got = _detections(folder, demo_val_images)
    found = sum(len(r) for r in got)
    assert found > 0.5 * sum(len(r) for r in ref)


def test_a_failed_export_keeps_the_previous_one(demo_pt, exports, tmp_path, monkeypatch):
    import shutil

    from ultralytics.engine.model import Model

    from grace.deploy.export import export_model
    from grace.errors import GraceError

    out = tmp_path / "out"
    shutil.copytree(exports["openvino"], out / exports["openvino"].name)
    before = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (out / exports["openvino"].name).iterdir()
    }

    def broken(self, **kw):  # the exporter dies after writing part of its folder
        half = Path(self.ckpt_path).with_name(f"{Path(self.ckpt_path).stem}_openvino_model")
        half.mkdir()
        (half / "partial.xml").write_text("<net")
        raise RuntimeError("disk full")

    monkeypatch.setattr(Model, "export", broken)
    with pytest.raises(GraceError, match=r"export to openvino failed \(RuntimeError: disk full\)"):
        export_model(demo_pt, "openvino", imgsz=IMGSZ, out=out)
    after = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (out / exports["openvino"].name).iterdir()
    }
    assert after == before
    assert [p.name for p in out.iterdir()] == [exports["openvino"].name]


def test_one_line_errors(demo_pt, exports, tmp_path, capsys):
    from grace.cli import main

    no_xml = tmp_path / "best_openvino_model"
    no_xml.mkdir()
    (no_xml / "metadata.yaml").write_text("imgsz: [128, 128]\n")
    no_bin = tmp_path / "nobin_openvino_model"
    no_bin.mkdir()
    (no_bin / "m.xml").write_text("<net/>")
    bad_onnx = tmp_path / "bad.onnx"
    bad_onnx.write_bytes(b"\x08\x07garbage" * 40)
    img = str(DEMO_DATA.parent / "images" / "val")
    ov = str(exports["openvino"])
    cases = [
        (
            ["predict", "--weights", str(no_xml), img],
            f"{no_xml}: an OpenVINO model folder without its .xml file",
        ),
        (
            ["val", "--weights", str(no_xml), "--data", str(DEMO_DATA)],
            f"{no_xml}: an OpenVINO model folder without its .xml file",
        ),
        (["predict", "--weights", str(no_bin), img], f"{no_bin}: m.xml without its weights m.bin"),
        (["predict", "--weights", str(bad_onnx), img], f"{bad_onnx}: not a readable ONNX model"),
        (
            ["export", "--weights", str(tmp_path / "gone.pt"), "--format", "onnx"],
            f"{tmp_path / 'gone.pt'}: weights file not found",
        ),
        (
            ["export", "--weights", ov, "--format", "onnx"],
            f"{ov}: an exported openvino model; this needs the PyTorch checkpoint (.pt)",
        ),
        (
            ["cam", img + "/crazing_198.jpg", "--weights", ov, "--out", str(tmp_path / "c.png")],
            f"{ov}: an exported openvino model; this needs the PyTorch checkpoint (.pt)",
        ),
        (
            ["train", "--data", str(DEMO_DATA), "--weights", ov],
            f"{ov}: an exported openvino model; this needs the PyTorch checkpoint (.pt)",
        ),
        (
            ["export", "--weights", str(demo_pt), "--format", "openvino", "--int8"],
            "--int8 needs --data D.yaml: INT8 calibrates on your own images",
        ),
        (
            [
                "export",
                "--weights",
                str(demo_pt),
                "--format",
                "onnx",
                "--int8",
                "--data",
                str(DEMO_DATA),
            ],
            "--int8: INT8 export is offered for --format openvino only",
        ),
        (
            ["predict", "--weights", ov, img, "--imgsz", "320"],
            f"{ov}: exported for a 128x128 input; --imgsz 320 needs a new export at that size",
        ),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith(f"grace: error: {message}"), (argv, err[-3:])
        assert not any("Traceback" in line for line in err)


def test_export_command_evaluates_next_to_pytorch(demo_pt, tmp_path, capsys):
    """``grace export --data``: both models go through ``grace val``; the printed mAPs and delta
    are those of the two metrics.json files it wrote."""
    from grace.cli import main

    out = tmp_path / "out"
    argv = ["export", "--weights", str(demo_pt), "--format", "onnx", "--imgsz", str(IMGSZ),
            "--data", str(DEMO_DATA), "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    ev = out / f"{demo_pt.stem}_eval"
    pt = json.loads((ev / "val_pytorch" / "metrics.json").read_text())
    ex = json.loads((ev / "val_exported" / "metrics.json").read_text())
    assert (pt["format"], ex["format"]) == ("pt", "onnx")
    assert ex["settings"]["imgsz"] == pt["settings"]["imgsz"] == IMGSZ
    a, b = 100 * pt["metrics"]["mAP50-95"], 100 * ex["metrics"]["mAP50-95"]
    assert f"PyTorch {a:.2f}%  onnx {b:.2f}%" in stdout
    delta = round(100 * (ex["metrics"]["mAP50-95"] - pt["metrics"]["mAP50-95"]), 3)
    assert f"(delta {delta} points)" in stdout
    assert "ratio " in stdout and (out / f"{demo_pt.stem}.onnx").is_file()


def test_openvino_precision_is_chosen_at_export_and_honoured_by_the_loader(demo_pt, tmp_path):
    """``auto`` leaves OpenVINO's default for this CPU (what its CPU plug-in reports, bfloat16
    on a CPU with AMX); ``f32`` is written beside the model and every loader computes in FP32;
    a damaged choice is one line."""
    import openvino as ov

    from grace.deploy.export import export_model
    from grace.deploy.runtime import PRECISION_FILE
    from grace.errors import GraceError
    from grace.infer.predictor import Predictor

    hint = str(ov.Core().get_property("CPU", "INFERENCE_PRECISION_HINT")).lower()
    default = "bf16" if "bf" in hint else "f16" if "16" in hint else "f32"
    auto = Path(export_model(demo_pt, "openvino", imgsz=64, out=tmp_path / "a").path)
    f32 = Path(export_model(demo_pt, "openvino", imgsz=64, out=tmp_path / "b",
                            precision="f32").path)  # fmt: skip
    assert not (auto / PRECISION_FILE).exists()
    assert json.loads((f32 / PRECISION_FILE).read_text()) == {"inference_precision": "f32"}
    got = {}
    for name, folder in (("auto", auto), ("f32", f32)):
        p = Predictor(folder, device="cpu")
        p.warmup()
        got[name] = p.precision
    assert got == {"auto": default, "f32": "f32"}
    (f32 / PRECISION_FILE).write_text('{"inference_precision": "f8"}')
    with pytest.raises(GraceError, match="not a precision file"):
        Predictor(f32, device="cpu")
    with pytest.raises(GraceError, match="--precision f32: chooses OpenVINO's precision"):
        export_model(demo_pt, "onnx", imgsz=64, out=tmp_path / "c", precision="f32")
