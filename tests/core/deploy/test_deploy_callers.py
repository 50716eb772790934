"""The commands that met the deploy runtime in the merge with main: ``grace calibrate`` and
``grace review new`` load an exported model through :mod:`grace.deploy.runtime` (its own input
size, its hash as a folder), and ``grace report`` reports one with its Eigen-CAM section saying
that it needs the checkpoint."""

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


def test_report_of_an_exported_model_says_eigen_cam_needs_the_pt(exports, tmp_path, capsys):
    """grace report evaluates an export as it is (its own size, its hash as a folder or file);
    the Eigen-CAM section, which needs a torch graph, says so in one line instead of failing."""
    from grace.cli import main
    from grace.deploy.runtime import model_sha256
    from grace.eval.validate import validate

    for kind, model in exports.items():
        out = tmp_path / f"{kind}.html"
        val = tmp_path / f"{kind}-val"
        argv = ["report", "--weights", str(model), "--data", str(DEMO_DATA), "--out", str(out),
                "--device", "cpu", "--json", "--val-out", str(val)]  # fmt: skip
        assert main(argv) == 0
        line = (f"{model}: an exported {kind} model; Eigen-CAM needs the PyTorch checkpoint (.pt) "
                "it was exported from")  # fmt: skip
        assert f"grace: warning: {line}" in capsys.readouterr().err.splitlines()
        html = out.read_text(encoding="utf-8")
        assert f"No Eigen-CAM: {line}." in html and model_sha256(model) in html
        m = json.loads((val / "metrics.json").read_text())
        assert m["format"] == kind and m["settings"]["imgsz"] == IMGSZ
        again = validate(str(model), str(DEMO_DATA), imgsz=IMGSZ, device="cpu",
                         out=tmp_path / f"{kind}-again")  # fmt: skip
        assert m["metrics"] == again["metrics"]  # the report's figures are grace val's
