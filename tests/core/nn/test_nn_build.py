"""build_model: names, validation and weight transfer from local checkpoints only."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
import ultralytics

from grace.errors import GraceError
from grace.nn import build_model, count_parameters, has_fen, transfer_report

CLS_OUT = {f"model.23.cv3.{i}.2.{p}" for i in range(3) for p in ("weight", "bias")}


@pytest.fixture(scope="module")
def plain_ckpt(tmp_path_factory, ckpt_saver):
    """A plain yolo11n (nc=3) saved as an Ultralytics checkpoint, and the model it came from."""
    torch.manual_seed(0)
    m = build_model("yolo11n", nc=3, use_fen=False, names={0: "a", 1: "b", 2: "c"})
    path = ckpt_saver(m, tmp_path_factory.mktemp("w") / "plain.pt")
    return path, m


def test_unknown_model_is_a_one_line_error():
    """One resolver for training and the factory (it raised ValueError here and GraceError in
    grace train, with different words)."""
    for bad in ("yolo11q", "resnet50", "missing/dir/yolo11n_custom.yaml"):
        with pytest.raises(GraceError) as e:
            build_model(bad, nc=3, use_fen=True)
        msg = str(e.value)
        assert "\n" not in msg and bad in msg
        assert all(f"yolo11{s}" in msg for s in "nsmlx")
    with pytest.raises(GraceError, match="a checkpoint is not a model name"):
        build_model("yolo11n.pt", nc=3, use_fen=True)


def test_bad_nc_and_names():
    with pytest.raises(ValueError):
        build_model("yolo11n", nc=0, use_fen=False)
    with pytest.raises(ValueError):
        build_model("yolo11n", nc=3, use_fen=False, names={0: "a", 1: "b"})


def test_names_suffix_and_yaml_path(tmp_path):
    m = build_model("yolo11n.yaml", nc=2, use_fen=True, names={0: "crazing", 1: "patches"})
    assert m.names == {0: "crazing", 1: "patches"} and m.model[-1].nc == 2 and m.training
    src = Path(ultralytics.__file__).parent / "cfg" / "models" / "11" / "yolo11.yaml"
    local = tmp_path / "yolo11n.yaml"
    shutil.copy(src, local)
    from_path = build_model(local, nc=2, use_fen=True)
    assert count_parameters(from_path) == count_parameters(m)
    assert m.names != from_path.names  # default names are placeholders


def test_missing_weights_are_named_never_downloaded(tmp_path, monkeypatch):
    import ultralytics.utils.downloads as dl

    def no_download(*a, **k):  # the check must happen before Ultralytics sees the path
        raise AssertionError("attempted a download")

    monkeypatch.setattr(dl, "attempt_download_asset", no_download)
    missing = tmp_path / "nowhere" / "yolo11s.pt"
    with pytest.raises(GraceError, match="yolo11s.pt: weights file not found") as e:
        build_model("yolo11n", nc=3, use_fen=True, weights=missing)
    assert str(missing) in str(e.value)
    with pytest.raises(GraceError, match="yolo11n.pt"):
        build_model("yolo11n", nc=3, use_fen=True, weights="yolo11n.pt")  # bare official name


def test_transfer_into_grace_same_nc(plain_ckpt):
    path, src = plain_ckpt
    m = build_model("yolo11n", nc=3, use_fen=True, weights=path, names={0: "a", 1: "b", 2: "c"})
    rep = m.transfer_report
    base_keys = set(src.state_dict())
    assert set(rep["transferred"]) == base_keys
    assert rep["new"] and all(".fen." in k for k in rep["new"])
    assert set(rep["new"]) == set(m.state_dict()) - base_keys
    assert rep["skipped"] == [] and rep["unused"] == []
    assert rep["counts"]["transferred"] + rep["counts"]["new"] == rep["counts"]["total"]
    sd = m.state_dict()
    for k in ("model.0.conv.weight", "model.23.cv3.0.2.weight", "model.23.cv2.2.1.bn.running_var"):
        torch.testing.assert_close(sd[k], src.state_dict()[k].half().float())  # values via FP16
    assert float(m.model[-1].fen.s_hat) == pytest.approx(0.05)  # fen keeps its fresh init


def test_transfer_with_other_nc_skips_only_class_convs(plain_ckpt):
    path, src = plain_ckpt
    m = build_model("yolo11n", nc=5, use_fen=True, weights=path)
    rep = m.transfer_report
    assert set(rep["skipped"]) == CLS_OUT
    assert all(".fen." in k for k in rep["new"]) and rep["unused"] == []
    assert set(rep["transferred"]) == set(src.state_dict()) - CLS_OUT
    assert m.model[-1].cv3[0][2].weight.shape[0] == 5


def test_transfer_report_both_directions(plain_ckpt, grace_ckpt):
    _, plain = plain_ckpt
    path = grace_ckpt
    # GRACE checkpoint into a GRACE model: everything, including s_hat, transfers
    g2 = build_model("yolo11n", nc=3, use_fen=True, weights=path)
    assert g2.transfer_report["new"] == [] and g2.transfer_report["skipped"] == []
    assert float(g2.model[-1].fen.s_hat) == pytest.approx(0.17, abs=1e-3)
    # ... and into a baseline model: the fen tensors are reported unused
    b2 = build_model("yolo11n", nc=3, use_fen=False, weights=path)
    assert not has_fen(b2) and b2.transfer_report["unused"]
    assert all(".fen." in k for k in b2.transfer_report["unused"])
    # the pure function on two in-memory models
    rep = transfer_report(g2, plain)
    assert set(rep["new"]) == set(g2.state_dict()) - set(plain.state_dict())
    assert rep["transferred"] == sorted(plain.state_dict()) and rep["skipped"] == []
    assert transfer_report(plain, g2)["unused"] == rep["new"]
