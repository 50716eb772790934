"""A GRACE checkpoint in Ultralytics' format loads, predicts, fuses, exports in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import onnx
    import torch
    from onnx.reference import ReferenceEvaluator
    from ultralytics import YOLO

    assert "grace" not in sys.modules  # no explicit import: unpickling must find grace.nn.fen
    m = YOLO(sys.argv[1])
    out = {"auto_imported": "grace.nn.fen" in sys.modules}
    head = m.model.model[-1]
    out["head"] = type(head).__module__ + "." + type(head).__name__
    out["s_hat"] = float(head.fen.s_hat)
    out["names"] = m.names
    img = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    res = m.predict(img, imgsz=64, conf=0.0, verbose=False)
    out["n_boxes"] = len(res[0].boxes)
    m.fuse()
    out["fused"] = m.model.is_fused()
    f = m.export(format="onnx", imgsz=64, simplify=False, verbose=False)
    model = onnx.load(f)
    onnx.checker.check_model(model)
    out["onnx"] = f
    out["fen_nodes"] = sum("/fen/" in n.name for n in model.graph.node)
    x = np.random.default_rng(1).random((1, 3, 64, 64), dtype=np.float32)
    y_onnx = ReferenceEvaluator(model).run(None, {"images": x})[0]
    net = m.model.float().eval()
    with torch.no_grad():
        y_pt = net(torch.from_numpy(x))[0].numpy()
    out["onnx_shape"] = list(y_onnx.shape)
    out["max_abs_diff"] = float(np.abs(y_onnx - y_pt).max())
    out["max_abs"] = float(np.abs(y_pt).max())
    print("RESULT " + json.dumps(out))
    """
)


@pytest.mark.slow
def test_checkpoint_round_trip_in_fresh_process(tmp_path, grace_ckpt):
    env = {**os.environ, "YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "false", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(grace_ckpt)],
        cwd=tmp_path,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line[len("RESULT ") :])
    assert out["auto_imported"] and out["head"] == "grace.nn.fen.FenDetect"
    assert out["s_hat"] == pytest.approx(0.17, abs=1e-3)  # FP16 in the checkpoint
    assert out["names"] == {"0": "a", "1": "b", "2": "c"}
    assert out["n_boxes"] > 0 and out["fused"]
    assert out["onnx"].endswith(".onnx") and os.path.isfile(out["onnx"])
    assert out["fen_nodes"] >= 8  # GAP, 2 convs, SiLU/sigmoids, depthwise, pointwise, residual
    assert out["onnx_shape"] == [1, 4 + 3, 8 * 8 + 4 * 4 + 2 * 2]
    assert out["max_abs_diff"] <= 1e-4 * max(1.0, out["max_abs"])
