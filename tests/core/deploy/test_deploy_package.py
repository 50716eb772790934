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
from _deploy_helpers import DEMO_DATA, IMGSZ

pytestmark = pytest.mark.slow

THRESHOLDS = {"conf": 0.3, "per_class": {"scratches": 0.9, "patches": 0.2}}


@pytest.fixture(scope="module")
def package(demo_pt, tmp_path_factory) -> Path:
    from grace.deploy.build import build_package

    folder = tmp_path_factory.mktemp("pkg")
    th = folder / "thresholds.json"
    th.write_text(json.dumps(THRESHOLDS))
    build_package(demo_pt, folder / "line", thresholds=th, formats="pt,openvino", imgsz=IMGSZ,
                  data=str(DEMO_DATA), precision="f32")  # fmt: skip
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
            "model_openvino_model/grace_precision.json", "thresholds.json", "metrics.json",
            "README.md"} <= set(m["files"])  # fmt: skip
    assert m["openvino_precision"] == "f32"  # chosen at build, written beside the model
    assert m["classes"] == list(yaml.safe_load(DEMO_DATA.read_text())["names"].values())
    assert m["imgsz"] == IMGSZ and m["thresholds"] == THRESHOLDS
    # metrics with their protocol, from the metrics.json beside the checkpoint
    src = json.loads(demo_pt.with_name(f"{demo_pt.stem}.metrics.json").read_text())
    assert m["metrics"]["protocol"] == src["protocol"] == "deployed"
    assert m["metrics"]["mAP50-95"] == src["metrics"]["mAP50-95"]
    assert (package / "metrics.json").read_bytes() == demo_pt.with_name(
        f"{demo_pt.stem}.metrics.json"
    ).read_bytes()
    # the dataset hash per split, by the one rule (grace.data.content_hash), as grace report
    from grace.data.content_hash import split_content_hash
    from grace.data.yolo_layout import read_yolo_dataset

    ds = read_yolo_dataset(DEMO_DATA)
    assert set(m["dataset_hash"]) == set(ds.splits) and m["dataset_problems"] == []
    for split, h in m["dataset_hash"].items():
        assert h["sha256"] == split_content_hash(ds, split).sha256 and len(h["sha256"]) == 64
    # the package's thresholds.json is the thresholds-file format, read by the one reader
    from grace.infer.threshold_file import FORMAT, read_thresholds

    doc = json.loads((package / "thresholds.json").read_text())
    assert doc["format"] == FORMAT and doc["conf"] == 0.3
    th = read_thresholds(package / "thresholds.json", m["classes"])
    assert th.describe(m["classes"]) == THRESHOLDS["per_class"]
    readme = (package / "README.md").read_text()
    assert "scratches 0.9" in readme and f"{IMGSZ}x{IMGSZ}" in readme


def test_dataset_hash_follows_the_bytes(tmp_path):
    """Each split's entry is the documented manifest (sorted ``sha256sum`` lines of its images
    and labels), recomputed here by hand."""
    from grace.deploy.build import dataset_hashes

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
    val = h(f"{h(img)}  images/a.jpg\n{label}  labels/a.txt\n".encode())
    train = h(f"{h(b'not decoded, only hashed')}  images/b.jpg\n".encode())
    hashes, problems = dataset_hashes(tmp_path / "data.yaml")
    assert problems == []
    assert hashes == {"train": {"sha256": train, "images": 1, "labels": 0},
                      "val": {"sha256": val, "images": 1, "labels": 1}}  # fmt: skip
    (tmp_path / "labels" / "val" / "a.txt").write_text("0 0.5 0.5 0.2 0.3\n")
    assert dataset_hashes(tmp_path / "data.yaml")[0]["val"]["sha256"] != val


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
    # what ran: the package's OpenVINO model, at the precision chosen when it was built
    assert (pkg["settings"]["format"], pkg["settings"]["precision"]) == ("openvino", "f32")
    # the same thresholds given by hand to the PyTorch checkpoint give the same detections
    by_hand = run_predict(PredictRequest(str(demo_pt), images, conf=0.3, imgsz=IMGSZ,
                                         class_conf={"scratches": 0.9, "patches": 0.2},
                                         device="cpu"), log=None)  # fmt: skip
    assert pkg["per_class"] == by_hand.as_dict()["per_class"]
    assert (by_hand.settings["format"], by_hand.settings["precision"]) == ("pt", None)
    assert pkg["detections"] > 0 and pkg["per_class"]["scratches"] < by_hand.images
    # a user's threshold replaces the package's
    user = run_predict(PredictRequest(str(package), images, conf=0.6, device="cpu"), log=None)
    assert user.settings["thresholds_from"] == "user" and user.settings["class_conf"] == {}
    assert user.detections < pkg["detections"]


def test_thresholds_precedence_user_file_package_default(package, demo_pt, tmp_path):
    """--conf/--class-conf over --thresholds FILE|auto over the package's own over 0.25, every
    file read by the one reader (grace.infer.threshold_file)."""
    from grace.deploy.runtime import resolve_model
    from grace.infer.run import PredictRequest, request_thresholds
    from grace.infer.threshold_file import default_path, write_thresholds
    from grace.infer.thresholds import ClassThresholds

    names = json.loads((package / "package.json").read_text())["classes"]
    ref, pt_ref = resolve_model(package), resolve_model(demo_pt)
    cal = write_thresholds(tmp_path / "cal.json", {"conf": 0.5, "per_class": {"crazing": 0.7}})
    c = names.index("crazing")

    def th(weights=package, r=ref, **kw):
        return request_thresholds(PredictRequest(str(weights), "x", **kw), names, lambda m: None, r)

    own = ClassThresholds(0.3, {names.index("scratches"): 0.9, names.index("patches"): 0.2})
    assert th() == (own, "package")
    assert th(thresholds=str(cal)) == (ClassThresholds(0.5, {c: 0.7}), "file")
    assert th(thresholds=str(cal), conf=0.1) == (ClassThresholds(0.1, {c: 0.7}), "file+user")
    assert th(conf=0.1) == (ClassThresholds(0.1), "user")  # the package's are not used at all
    assert th(class_conf=["crazing=0.6"]) == (ClassThresholds(0.25, {c: 0.6}), "user")
    assert th(weights=demo_pt, r=pt_ref) == (ClassThresholds(0.25), "default")
    write_thresholds(default_path(package), {"conf": 0.4})  # auto: <PKG>.thresholds.json
    assert th(thresholds="auto") == (ClassThresholds(0.4), "file")


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
    from grace.deploy.runtime import package_thresholds
    from grace.infer.thresholds import ClassThresholds

    assert ref.kind == "pt" and package_thresholds(ref, ["x"]) == ClassThresholds(0.25)
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
    assert err.startswith(f"grace: error: {th}: ")
    assert "the model has no class 'rust' (crazing, " in err
    assert not out.exists() and os.listdir(tmp_path) == ["t.json"]


def test_a_model_file_s_hash_follows_its_bytes_when_it_is_rewritten(tmp_path):
    """The hash of a model file is remembered between runs, but a file written again (new
    bytes, same size) is hashed again: the stamp always names the bytes that ran."""
    import hashlib
    import os

    from grace.deploy.runtime import model_sha256

    model = tmp_path / "m.onnx"
    model.write_bytes(b"A" * 4096)
    first = model_sha256(model)
    assert first == hashlib.sha256(b"A" * 4096).hexdigest() == model_sha256(model)
    st = model.stat()
    model.write_bytes(b"B" * 4096)  # same size
    os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # a later write
    assert model_sha256(model) == hashlib.sha256(b"B" * 4096).hexdigest()
