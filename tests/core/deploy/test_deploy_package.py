"""``grace package``: one folder (or zip) whose manifest hashes every file, whose thresholds are
used unless the user sets others, and which works as ``--weights`` wherever a model goes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import DEMO_DATA, IMGSZ

pytestmark = pytest.mark.slow

THRESHOLDS = {"conf": 0.3, "per_class": {"scratches": 0.9, "patches": 0.2}}


@pytest.fixture(scope="module")
def package(demo_pt, tmp_path_factory) -> Path:
    from grace.deploy.build import build_package

    folder = tmp_path_factory.mktemp("pkg")
    th = folder / "thresholds.json"
    th.write_text(json.dumps(THRESHOLDS))
    build_package(demo_pt, folder / "line", thresholds=th, formats="pt,openvino", imgsz=IMGSZ,
                  data=str(DEMO_DATA))  # fmt: skip
    return folder / "line"


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_manifest_lists_every_file_with_its_hash(package, demo_pt):
    m = json.loads((package / "package.json").read_text())
    on_disk = {p.relative_to(package).as_posix(): _sha(p) for p in package.rglob("*")
               if p.is_file() and p.name != "package.json"}  # fmt: skip
    assert m["files"] == on_disk
    assert m["files"]["model.pt"] == _sha(demo_pt)  # the checkpoint, byte for byte
    assert m["formats"] == {"pt": "model.pt", "openvino": "model_openvino_model"}
    assert {"model_openvino_model/model.xml", "model_openvino_model/model.bin",
            "thresholds.json", "metrics.json", "README.md"} <= set(m["files"])  # fmt: skip
    assert m["classes"] == list(yaml.safe_load(DEMO_DATA.read_text())["names"].values())
    assert m["imgsz"] == IMGSZ and m["thresholds"] == THRESHOLDS
    # metrics with their protocol, from the metrics.json beside the checkpoint
    src = json.loads(demo_pt.with_name(f"{demo_pt.stem}.metrics.json").read_text())
    assert m["metrics"]["protocol"] == src["protocol"] == "deployed"
    assert m["metrics"]["mAP50-95"] == src["metrics"]["mAP50-95"]
    assert (package / "metrics.json").read_bytes() == demo_pt.with_name(
        f"{demo_pt.stem}.metrics.json"
    ).read_bytes()
    # the dataset hash, recomputed here from the files by the documented rule
    from grace.data.content_hash import dataset_content_hash

    assert m["dataset_hash"] == dataset_content_hash(DEMO_DATA) and len(m["dataset_hash"]) == 64
    readme = (package / "README.md").read_text()
    assert "scratches 0.9" in readme and f"{IMGSZ}x{IMGSZ}" in readme


def test_dataset_hash_follows_the_bytes(tmp_path):
    from grace.data.content_hash import dataset_content_hash

    for split in ("train", "val"):
        (tmp_path / "images" / split).mkdir(parents=True)
        (tmp_path / "labels" / split).mkdir(parents=True)
    (tmp_path / "images" / "val" / "a.jpg").write_bytes(
        sorted((DEMO_DATA.parent / "images" / "val").glob("*.jpg"))[0].read_bytes()
    )
    (tmp_path / "labels" / "val" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (tmp_path / "images" / "train" / "b.jpg").write_bytes(b"not decoded, only hashed")
    (tmp_path / "data.yaml").write_text("train: images/train\nval: images/val\nnames: [x]\n")
    h = lambda b: hashlib.sha256(b).hexdigest()  # noqa: E731
    img = (tmp_path / "images" / "val" / "a.jpg").read_bytes()
    label = h(b"0 0.5 0.5 0.2 0.2\n")
    lines = ["names x", f"train/b.jpg {h(b'not decoded, only hashed')}",
             f"val/a.jpg {h(img)}", f"val/a.jpg.txt {label}"]  # fmt: skip
    by_hand = h("\n".join(lines).encode())
    assert dataset_content_hash(tmp_path / "data.yaml") == by_hand
    (tmp_path / "labels" / "val" / "a.txt").write_text("0 0.5 0.5 0.2 0.3\n")
    assert dataset_content_hash(tmp_path / "data.yaml") != by_hand


def _predict(*args: str) -> tuple[int, dict, str]:
    r = subprocess.run([sys.executable, "-m", "grace.cli", "predict", *args, "--json"],
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    return r.returncode, (json.loads(r.stdout) if r.returncode == 0 else {}), r.stderr


def test_weights_pkg_predicts_with_the_package_thresholds(package, demo_pt, tmp_path):
    from grace.infer.run import PredictRequest, run_predict

    images = str(DEMO_DATA.parent / "images" / "val")
    rc, pkg, err = _predict("--weights", str(package), images)
    assert rc == 0, err[-2000:]
    assert pkg["settings"]["thresholds_from"] == "package"
    assert pkg["settings"]["conf"] == 0.3
    assert pkg["settings"]["class_conf"] == {"patches": 0.2, "scratches": 0.9}
    assert pkg["settings"]["imgsz"] == IMGSZ  # the package's input size
    # the same thresholds given by hand to the PyTorch checkpoint give the same detections
    by_hand = run_predict(PredictRequest(str(demo_pt), images, conf=0.3, imgsz=IMGSZ,
                                         class_conf={"scratches": 0.9, "patches": 0.2},
                                         device="cpu"), log=None)  # fmt: skip
    assert pkg["per_class"] == by_hand.as_dict()["per_class"]
    assert pkg["detections"] > 0 and pkg["per_class"]["scratches"] < by_hand.images
    # a user's threshold replaces the package's
    user = run_predict(PredictRequest(str(package), images, conf=0.6, device="cpu"), log=None)
    assert user.settings["thresholds_from"] == "user" and user.settings["class_conf"] == {}
    assert user.detections < pkg["detections"]


def test_zip_package_and_a_changed_file(package, demo_pt, tmp_path, capsys):
    import shutil

    from grace.cli import main
    from grace.deploy.build import build_package
    from grace.deploy.runtime import resolve_model

    z = Path(build_package(demo_pt, tmp_path / "line", formats="pt", zip_output=True)["path"])
    assert z.name == "line.zip"
    with zipfile.ZipFile(z) as f:
        listed = json.loads(f.read("package.json"))["files"]
        assert {n: hashlib.sha256(f.read(n)).hexdigest() for n in listed} == listed
        assert sorted(f.namelist()) == sorted([*listed, "package.json"])
    ref = resolve_model(z)
    assert ref.kind == "pt" and ref.thresholds == {"conf": 0.25, "per_class": {}}
    # a package whose file changed after packaging is refused, naming the file
    bad = tmp_path / "bad"
    shutil.copytree(package, bad)
    xml = bad / "model_openvino_model" / "model.xml"
    xml.write_bytes(xml.read_bytes().replace(b"</net>", b"</net> "))
    (bad / "metrics.json").unlink()
    images = str(DEMO_DATA.parent / "images" / "val")
    assert main(["predict", "--weights", str(bad), images]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == f"grace: error: {bad}: metrics.json is listed in package.json but missing"
    shutil.copy2(package / "metrics.json", bad / "metrics.json")
    assert main(["val", "--weights", str(bad), "--data", str(DEMO_DATA)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (f"grace: error: {bad}: model_openvino_model/model.xml does not match its "
                   "SHA-256 in package.json (changed or damaged)")  # fmt: skip
    assert main(["cam", images + "/crazing_198.jpg", "--weights", str(package), "--out",
                 str(tmp_path / "c.png")]) == 2  # fmt: skip
    assert "this needs the PyTorch checkpoint (.pt) (pass its model.pt)" in capsys.readouterr().err


def test_bad_thresholds_file_is_one_line(demo_pt, tmp_path, capsys):
    from grace.cli import main

    th = tmp_path / "t.json"
    th.write_text(json.dumps({"conf": 0.3, "per_class": {"rust": 0.5}}))
    out = tmp_path / "pkg"
    argv = ["package", "--weights", str(demo_pt), "--thresholds", str(th), "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"grace: error: {th}: the model has no class 'rust' (crazing, ")
    assert not out.exists() and os.listdir(tmp_path) == ["t.json"]
