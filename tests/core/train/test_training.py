"""One-epoch training of every variant on a tiny synthetic set, and what the run directory holds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from grace.config import VARIANTS
from grace.train.api import build_overrides, train
from grace.train.events import read_events

pytestmark = pytest.mark.slow
CLASSES = ["scratch", "patch", "pit"]


@pytest.fixture(scope="module")
def runs(tiny_run) -> dict[str, Path]:
    return {v: tiny_run(v) for v in VARIANTS}


def _train_class_counts(data_yaml: Path) -> np.ndarray:
    counts = np.zeros(len(CLASSES))
    for f in (data_yaml.parent / "labels" / "train").glob("*.txt"):
        for line in f.read_text().split("\n"):
            if line.strip():
                counts[int(line.split()[0])] += 1
    return counts


@pytest.mark.parametrize("variant", VARIANTS)
def test_run_directory_events(runs, variant, tiny_data):
    events = read_events(runs[variant])
    types = [e["type"] for e in events]
    assert types[0] == "start" and types[-1] == "end"
    assert "batch" in types and "epoch" in types and "error" not in types
    assert all("time" in e for e in events)
    start, end = events[0], events[-1]
    assert start["classes"] == CLASSES
    assert start["dataset"] == {"train": 16, "val": 4}
    assert start["variant"] == variant
    assert end["stopped"] is False and Path(end["best"]).is_file()

    epoch = next(e for e in events if e["type"] == "epoch")
    assert set(epoch["metrics"]) >= {"precision", "recall", "mAP50", "mAP50-95"}
    uses_fen, uses_ds = variant in ("fen", "grace"), variant in ("ds", "grace")
    # s_e at epoch 0: 0.20 * 1/30 = 0.00667, clipped up to s_min = 0.05
    assert epoch["s_e"] == (pytest.approx(0.05) if uses_fen else None)

    sampler = [e for e in events if e["type"] == "sampler"]
    assert bool(sampler) == uses_ds
    if uses_ds:
        s = sampler[0]
        assert set(s) >= {"w_base", "w_dyn", "w_final", "g_ema", "c_ema", "gamma", "epoch"}
        f = _train_class_counts(tiny_data)
        f = f / f.sum()
        w = 1 / np.sqrt(f + 1e-6)
        assert s["w_base"] == pytest.approx(list(w / w.mean()), rel=1e-6)
        assert s["gamma"] == pytest.approx(0.60 * 1 / 30)
        expected = (1 - s["gamma"]) * np.array(s["w_base"]) + s["gamma"] * np.array(s["w_dyn"])
        assert s["w_final"] == pytest.approx(list(expected), rel=1e-9)
        assert all(0.85 - 1e-9 <= x <= 1.35 + 1e-9 for x in s["w_dyn"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_checkpoint_carries_lite_fen_strength(runs, variant):
    import grace.nn  # noqa: F401

    ckpt = torch.load(runs[variant] / "weights" / "last.pt", map_location="cpu", weights_only=False)
    head = (ckpt.get("ema") or ckpt["model"]).model[-1]  # final checkpoints keep the EMA as model
    if variant in ("fen", "grace"):
        assert float(head.fen.s_hat) == pytest.approx(0.05, abs=1e-3)
    else:
        assert not hasattr(head, "fen")


@pytest.mark.parametrize("variant", VARIANTS)
def test_best_reloads_in_fresh_process_and_validates(runs, variant, tiny_data, tmp_path):
    best = runs[variant] / "weights" / "best.pt"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "grace.cli",
            "val",
            "--weights",
            str(best),
            "--data",
            str(tiny_data),
            "--imgsz",
            "64",
            "--device",
            "cpu",
            "--out",
            str(tmp_path),  # not into the run, which other tests share
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.loads(r.stdout)  # stdout holds exactly one JSON object
    assert set(result["metrics"]) == {
        "mAP50-95", "mAP50", "precision", "recall", "f1_dataset", "f1_mean_over_classes"
    }  # fmt: skip
    assert all(0.0 <= v <= 1.0 for v in result["metrics"].values())
    assert result["images"] == 4


def test_crash_leaves_last_pt_and_error_event(tiny_request, tmp_path):
    from grace.sampling import DynamicClassSampler
    from grace.train.trainer import GraceTrainer

    overrides, grace = build_overrides(tiny_request(tmp_path, "crash", epochs=3))
    trainer = GraceTrainer(overrides=overrides, grace=grace)

    def fail_in_second_epoch(tr):
        if tr.epoch == 1 and tr._batch_in_epoch == 2:
            raise RuntimeError("simulated failure")

    trainer.add_callback("on_train_batch_end", fail_in_second_epoch)
    with pytest.raises(RuntimeError, match="simulated failure"):
        trainer.train()
    assert isinstance(trainer.train_loader.sampler, DynamicClassSampler)
    error = read_events(trainer.save_dir)[-1]
    assert error["type"] == "error"
    assert "simulated failure" in error["message"] and "Traceback" in error["traceback"]
    assert error["epoch"] == 1
    assert (trainer.save_dir / "weights" / "last.pt").is_file()


PLAIN_ULTRALYTICS = """
import sys
import numpy as np
from ultralytics import YOLO  # grace is importable (installed), not imported: unpickling finds it

model = YOLO(sys.argv[1])
head = model.model.model[-1]
fen = type(getattr(head, "fen", None)).__name__
model.val(data=sys.argv[2], imgsz=64, batch=4, device="cpu", plots=False, verbose=False)
image = np.full((64, 64, 3), 128, np.uint8)
result = model.predict(image, imgsz=64, device="cpu", verbose=False)[0]
model.fuse()
onnx_path = model.export(format="onnx", imgsz=64, simplify=False, device="cpu")
import onnx
onnx.checker.check_model(onnx.load(onnx_path))
print(fen, len(result.boxes), onnx_path)
"""


@pytest.mark.parametrize("variant", VARIANTS)
def test_plain_ultralytics_reloads_predicts_fuses_and_exports(runs, variant, tiny_data, tmp_path):
    import shutil

    best = tmp_path / "best.pt"
    shutil.copy(runs[variant] / "weights" / "best.pt", best)
    r = subprocess.run(
        [sys.executable, "-c", PLAIN_ULTRALYTICS, str(best), str(tiny_data)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    fen, _, onnx_path = r.stdout.strip().splitlines()[-1].split()
    assert fen == ("LiteFEN" if variant in ("fen", "grace") else "NoneType")
    assert Path(onnx_path).is_file()


def test_weights_transfer_every_original_layer_and_only_lite_fen_is_new(
    runs, tiny_request, tmp_path
):
    """A baseline checkpoint (as a user's yolo11 .pt would be) into the GRACE model."""
    run = train(tiny_request(tmp_path, "t", weights=str(runs["baseline"] / "weights" / "best.pt")))
    start = read_events(run)[0]
    transfer = start["transfer"]
    assert transfer["skipped"] == []
    assert transfer["new"] and all(".fen." in k for k in transfer["new"])
    counts = transfer["counts"]
    assert counts["transferred"] + counts["new"] == counts["total"]


def test_ultralytics_cls_pw_stays_available_as_comparator(tiny_data, tiny_request, tmp_path):
    """--cls-pw 0.5: Ultralytics' own 1/sqrt(f) class weights in the BCE, mean 1."""
    import grace.nn  # noqa: F401

    run = train(tiny_request(tmp_path, "pw", variant="baseline", cls_pw=0.5))
    ckpt = torch.load(run / "weights" / "last.pt", map_location="cpu", weights_only=False)
    model = ckpt.get("ema") or ckpt["model"]
    w = 1 / np.sqrt(_train_class_counts(tiny_data))
    assert model.class_weights.float().cpu().numpy() == pytest.approx(w / w.mean(), rel=1e-3)
