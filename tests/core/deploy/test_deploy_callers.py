"""The commands that met the deploy runtime in the merge with main: ``grace calibrate`` and
``grace review new`` load an exported model through :mod:`grace.deploy.runtime` (its own input
size, its hash as a folder), and ``grace report``, which needs the checkpoint, refuses one in one
line."""

from __future__ import annotations

import json

import pytest
from _deploy_helpers import DEMO_DATA, IMGSZ

pytestmark = pytest.mark.slow


def test_calibrate_an_openvino_export_and_predict_with_its_file(exports, tmp_path):
    from grace.deploy.runtime import model_sha256
    from grace.eval.calibrate import calibrate
    from grace.infer.run import PredictRequest, run_predict
    from grace.infer.threshold_file import default_path

    ov = exports["openvino"]
    r = calibrate(str(ov), str(DEMO_DATA), device="cpu", batch=4)
    path = default_path(ov)  # <folder>.thresholds.json beside the folder
    assert r["file"] == str(path) and path.is_file()
    doc = json.loads(path.read_text())
    assert doc["imgsz"] == IMGSZ  # the export's own size, not the 640 default
    assert doc["model_sha256"] == model_sha256(ov) and len(doc["model_sha256"]) == 64
    logged: list[str] = []
    images = str(DEMO_DATA.parent / "images" / "val")
    s = run_predict(PredictRequest(str(ov), images, thresholds="auto", device="cpu"),
                    log=logged.append)  # fmt: skip
    assert s.settings["thresholds_from"] == "file" and s.settings["conf"] == doc["conf"]
    assert not [m for m in logged if "calibrated for another model" in m]


def test_review_new_on_an_openvino_export(exports, tmp_path):
    from grace.deploy.runtime import model_sha256
    from grace.review.new import NewStore, make_store
    from grace.review.store import ReviewStore

    ov = exports["openvino"]
    images = str(DEMO_DATA.parent / "images" / "val")
    req = NewStore(str(tmp_path / "r.db"), str(ov), images=images, queue="spot", fraction=1.0,
                   band=0.0, device="cpu")  # fmt: skip
    res = make_store(req, log=lambda m: None)
    assert res["items"] > 0 and res["thresholds"] == {"conf": 0.25, "per_class": {}}
    with ReviewStore(tmp_path / "r.db") as st:
        assert {it.model_sha256 for it in st.items()} == {model_sha256(ov)}
    # the GRACE checkpoint's own file is not a model of any kind the runtime knows: one line
    from grace.errors import GraceError

    with pytest.raises(GraceError, match="not a model"):
        make_store(NewStore(str(tmp_path / "s.db"), str(DEMO_DATA), images=images))


def test_report_refuses_an_exported_model_in_one_line(exports, tmp_path, capsys):
    from grace.cli import main

    out = tmp_path / "r.html"
    for model in exports.values():
        argv = ["report", "--weights", str(model), "--data", str(DEMO_DATA), "--out", str(out)]
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].endswith("this needs the PyTorch checkpoint (.pt)")
    assert not out.exists()
