"""The Eigen-CAM session without Qt: checkpoints and Recent, the job on the demo checkpoints, the
thresholds, an unreadable image, the figure drawn at any size and exported at full resolution.

Nothing here imports PySide6 or builds a QApplication (the first test checks the import in a
fresh interpreter)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from grace.errors import GraceError
from grace_gui.sessions.cam import CamSession
from grace_gui.sessions.cam_job import MAX_CHECKPOINTS, checkpoint_labels, refusal

ROOT = Path(__file__).resolve().parents[3]


class Recorder(list):
    """Every emission of the signals it is connected to, as ``(name, args)``."""

    def on(self, session: CamSession, *names: str) -> Recorder:
        for n in names:
            getattr(session, n).connect(lambda *a, n=n: self.append((n, a)))
        return self

    def of(self, name: str) -> list[tuple]:
        return [a for n, a in self if n == name]


def test_the_session_needs_no_qt():
    code = (
        "import sys, grace_gui.sessions.cam, grace_gui.sessions.cam_job;"
        "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'qtpy', 'superqt'))))"
    )
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'core'}{os.pathsep}{ROOT}"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_checkpoints_at_most_four_each_once(tmp_path):
    files = [tmp_path / f"m{i}.pt" for i in range(MAX_CHECKPOINTS + 1)]
    for f in files:
        f.write_bytes(b"x")
    (tmp_path / "link.pt").symlink_to(files[0])
    s = CamSession()
    rec = Recorder().on(s, "refused", "checkpoints_changed", "inputs_changed")
    for f in files[:MAX_CHECKPOINTS]:
        assert s.add_checkpoint(str(f)) == ""
    assert s.checkpoints == [str(f) for f in files[:MAX_CHECKPOINTS]]
    assert len(rec.of("checkpoints_changed")) == 4 and len(rec.of("inputs_changed")) == 4
    reason = s.add_checkpoint(str(files[-1]))
    assert reason == f"At most 4 checkpoints: remove one before adding {files[-1]}"
    s.remove_checkpoint(str(files[3]))
    # the same file under another name is the same checkpoint
    link = tmp_path / "link.pt"
    assert s.add_checkpoint(str(link)) == f"{link}: already in the comparison"
    assert s.add_checkpoint(str(tmp_path / "gone.pt")) == f"{tmp_path / 'gone.pt'}: file not found"
    assert [a[0] for a in rec.of("refused")] == [
        reason,
        f"{tmp_path / 'link.pt'}: already in the comparison",
        f"{tmp_path / 'gone.pt'}: file not found",
    ]
    assert refusal([], str(files[0])) == ""


def test_recent_lists_each_model_once_and_tells_them_apart(tmp_path, monkeypatch):
    a = tmp_path / "runs" / "exp" / "weights" / "best.pt"
    b = tmp_path / "other" / "exp" / "weights" / "best.pt"
    c = tmp_path / "runs" / "exp2" / "weights" / "best.pt"
    for f in (a, b, c):
        f.parent.mkdir(parents=True)
        f.write_bytes(b"x")
    s = CamSession()
    rec = Recorder().on(s, "recent_changed")
    monkeypatch.chdir(tmp_path)
    s.remember(str(a))
    s.remember("runs/exp/weights/best.pt")  # the same file, relative: stays once, first
    s.remember(str(c))
    s.remember(str(b))
    s.remember(str(a))
    assert s.recent == [str(a), str(b), str(c)]
    assert rec.of("recent_changed")[-1] == ([str(a), str(b), str(c)],)
    labels = checkpoint_labels(s.recent)
    assert labels == [
        f"exp/best.pt — {a.parent}",
        f"exp/best.pt — {b.parent}",
        "exp2/best.pt",
    ]
    b.unlink()
    s.set_recent(s.recent)
    assert s.recent == [str(a), str(c)]


@pytest.fixture(scope="module")
def demo():
    from grace_gui.demo import find_demo

    d = find_demo()
    assert d is not None, "the bundled demo is missing"
    return d


@pytest.fixture(scope="module")
def models(demo):
    from grace.explain.figure import load_models

    return load_models([str(p) for p in demo.models], "cpu")


def computed(session: CamSession) -> None:
    session.compute()
    assert session.wait(120), "the job did not end"


def test_demo_comparison_thresholds_and_full_resolution_export(demo, models, tmp_path):
    from grace.explain.cam import compute_cams, detect
    from grace.explain.render import title_height
    from grace.images import read_image

    s = CamSession()
    rec = Recorder().on(s, "started", "computed", "failed")
    s.set_checkpoints([str(p) for p in demo.models])
    image_path = demo.first_image
    s.set_image_path(str(image_path))
    names = models[1].model.names
    s.set_thresholds(0.1, {names[2]: 0.5, "not a class of these models": 0.9})
    computed(s)
    r = s.result
    assert [n for n, _ in rec] == ["started", "computed"]
    assert r.weights == [str(p) for p in demo.models]
    # independently: the engine's maps and predict's boxes at the same thresholds
    image = read_image(image_path)
    cams = compute_cams(image, models, imgsz=256)
    lo, hi = min(float(c.raw.min()) for c in cams), max(float(c.raw.max()) for c in cams)
    assert r.value_range == pytest.approx((lo, hi), rel=1e-5)
    for m, d in zip(models, r.detections, strict=True):
        low = detect(m, image, 256, 0.1)
        keep = ~((low.cls == 2) & (low.conf < 0.5))
        np.testing.assert_array_equal(d.xyxy, low.xyxy[keep])
    # at 0.1 the demo models find 11 and 9 patches here, of which one reaches 0.5 (0.59)
    assert [len(d) for d in r.detections] == [1, 0]
    assert r.layer_names == ["P3 input of the head", "P3 input of the head (after Lite-FEN)"]
    assert r.default_layer == "P3 input of the head (after Lite-FEN)"
    assert (9, "backbone P5 (SPPF)") in r.layers and len(r.layers) == 23

    # drawn at any panel height, the shape known beforehand
    for ph in (150, 480):
        fig = s.render(ph)
        assert fig.shape[:2] == s.figure_shape(ph)
        assert fig.shape[0] == ph + title_height(ph)
    assert s.fit((700, 1400)) > s.fit((350, 700))
    # exported at full resolution: the input panel is the image, pixel for pixel
    out = s.export(str(tmp_path / "sub" / "figure"))
    assert out == str(tmp_path / "sub" / "figure.png")
    written = cv2.imread(out)
    h, w = image.shape[:2]
    th = title_height(h)
    assert written.shape[:2] == s.figure_shape() and written.shape[0] == h + th
    np.testing.assert_array_equal(written[th:, :w], image)


def test_unreadable_image_clears_the_figure_and_names_the_file(demo, tmp_path):
    s = CamSession()
    s.set_checkpoints([str(demo.models[0])])
    s.set_image_path(str(demo.first_image))
    computed(s)
    assert s.result is not None
    bad = tmp_path / "scan_0042.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    rec = Recorder().on(s, "failed", "computed")
    s.set_image_path(str(bad))
    computed(s)
    assert s.result is None
    assert rec == [("failed", (f"{bad}: cannot decode image (corrupt or unsupported format)",))]
    with pytest.raises(GraceError, match="nothing computed"):
        s.render()


def test_a_bad_checkpoint_is_left_out_and_the_latest_choice_wins(demo, tmp_path):
    bad = tmp_path / "notes.pt"
    bad.write_text("these are notes, not weights\n")
    s = CamSession()
    rec = Recorder().on(s, "refused", "started", "computed", "checkpoints_changed")
    s.set_checkpoints([str(demo.models[0]), str(bad)])
    s.set_image_path(str(demo.first_image))
    s.compute()
    s.set_layer(9)  # while the first job runs
    s.compute()
    assert s.wait(120)
    refused = [a[0] for a in rec.of("refused")]
    assert len(refused) == 1 and refused[0].startswith(str(bad)) and "\n" not in refused[0]
    assert s.checkpoints == [str(demo.models[0])]
    assert s.result.request.layer == 9 and s.result.layer_names == ["backbone P5 (SPPF)"]
    assert [a[0].layer for a in rec.of("started")][-1] == 9
    assert len(rec.of("started")) == 2  # the second choice waited for the first job
    assert s.recent == [str(demo.models[0])]  # only what loaded is remembered


def test_display_choices_are_checked_and_redraw_only(demo):
    s = CamSession()
    rec = Recorder().on(s, "display_changed", "inputs_changed")
    s.set_display(opacity=0.2, colormap="jet", detections=False)
    s.set_display(opacity=0.2)  # no change, no signal
    assert rec == [("display_changed", ())]
    assert (s.opacity, s.colormap, s.show_detections) == (0.2, "jet", False)
    with pytest.raises(GraceError, match="rainbow: not a colormap"):
        s.set_display(colormap="rainbow")
    with pytest.raises(GraceError, match="opacity 1.5"):
        s.set_display(opacity=1.5)
    with pytest.raises(GraceError, match="gradcam: not a CAM method"):
        s.set_method("gradcam")


def test_a_copy_of_a_checkpoint_is_another_panel(demo, tmp_path):
    copy = tmp_path / "copy.pt"
    shutil.copy(demo.models[0], copy)
    s = CamSession()
    assert s.add_checkpoint(str(demo.models[0])) == ""
    assert s.add_checkpoint(str(copy)) == ""  # same bytes, another file: allowed


NEEDS_PT = "Eigen-CAM needs the PyTorch checkpoint (.pt)"


def test_an_exported_model_is_refused_in_one_line_and_never_recent(tmp_path):
    """An OpenVINO folder (or its .xml), an .onnx and a zipped package are told by their names
    (nothing is loaded): each is one refusal naming it, no panel, nothing under Recent."""
    ov = tmp_path / "best_openvino_model"
    ov.mkdir()
    for name in ("best.xml", "best.bin"):
        (ov / name).write_bytes(b"x")
    onnx, zipped, pt = tmp_path / "best.onnx", tmp_path / "line-3.zip", tmp_path / "best.pt"
    for f in (onnx, zipped, pt):
        f.write_bytes(b"x")
    s = CamSession()
    rec = Recorder().on(s, "refused", "checkpoints_changed", "recent_changed")
    expected = {
        ov: f"{ov}: an exported openvino model; {NEEDS_PT} it was exported from",
        ov / "best.xml": f"{ov / 'best.xml'}: an exported openvino model; {NEEDS_PT} it was "
                         "exported from",
        onnx: f"{onnx}: an exported onnx model; {NEEDS_PT} it was exported from",
        zipped: f"{zipped}: a zipped model package; {NEEDS_PT}: unzip it and choose its model.pt",
    }  # fmt: skip
    for path, line in expected.items():
        assert s.add_checkpoint(str(path)) == line
        assert s.remember(str(path)) == line  # File > Open model… offers it: not listed
    assert [a[0] for a in rec.of("refused")] == list(expected.values())
    assert s.checkpoints == [] and s.recent == [] and rec.of("checkpoints_changed") == []
    # restored settings that hold one: left out
    s.set_checkpoints([str(ov), str(pt), str(onnx)])
    s.set_recent([str(onnx), str(pt), str(zipped)])
    assert s.checkpoints == [str(pt)] and s.recent == [str(pt)]


def test_a_package_folder_is_its_model_pt_and_gives_the_checkpoints_cam(demo, tmp_path):
    """A package folder that holds its checkpoint is accepted as that model.pt (choice made for
    the GUI; grace cam asks for the model.pt itself): its panel is the checkpoint's, map for map."""
    from grace.deploy.build import build_package

    pkg = Path(build_package(demo.models[0], tmp_path / "line-3", formats="pt")["path"])
    zipped = Path(build_package(demo.models[0], tmp_path / "line-3z", formats="pt",
                                zip_output=True)["path"])  # fmt: skip
    s = CamSession()
    assert s.add_checkpoint(str(pkg)) == ""
    assert s.checkpoints == [str(pkg / "model.pt")]
    assert s.remember(str(pkg)) == "" and s.recent == [str(pkg / "model.pt")]
    inside = pkg / "model.pt"
    assert s.add_checkpoint(str(inside)) == f"{inside}: already in the comparison"
    assert s.add_checkpoint(str(zipped)).startswith(f"{zipped}: a zipped model package;")
    assert s.add_checkpoint(str(demo.models[0])) == ""
    s.set_image_path(str(demo.first_image))
    computed(s)
    r = s.result
    assert r.failed == [] and r.weights == [str(pkg / "model.pt"), str(demo.models[0])]
    np.testing.assert_array_equal(r.maps01[0], r.maps01[1])  # the same weights, the same map


@pytest.mark.slow
def test_a_package_without_its_pt_is_refused(tmp_path):
    from grace.deploy.build import build_package
    from grace.infer.bench import make_bench_checkpoint

    pt = make_bench_checkpoint(tmp_path / "tiny.pt", "n", nc=2, imgsz=64)
    pkg = Path(build_package(pt, tmp_path / "onnx-only", formats="onnx", imgsz=64)["path"])
    s = CamSession()
    line = f"{pkg}: a model package without its model.pt; {NEEDS_PT} it was built from"
    assert s.add_checkpoint(str(pkg)) == line and s.checkpoints == []
    assert s.remember(str(pkg)) == line and s.recent == []
