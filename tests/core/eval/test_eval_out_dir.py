"""Where ``grace val`` writes by default: a run's checkpoint into ``<run>/val`` (what the report
and the Evaluate tab reuse), an export of it beside, never over it."""

from __future__ import annotations

from pathlib import Path

from grace.eval.validate import default_out_dir


def test_an_export_in_a_run_gets_its_own_folder_beside_the_checkpoint_s(tmp_path):
    run = tmp_path / "runs" / "exp"
    (run / "weights" / "best_openvino_model").mkdir(parents=True)
    (run / "args.yaml").write_text("imgsz: 256\n")
    w = run / "weights"
    assert default_out_dir(w / "best.pt") == run.resolve() / "val"
    assert default_out_dir(w / "last.pt") == run.resolve() / "val"
    assert default_out_dir(w / "best_openvino_model") == run.resolve() / "val_best_openvino_model"
    assert default_out_dir(w / "best.onnx") == run.resolve() / "val_best.onnx"
    loose = tmp_path / "models"  # not a run: runs/val/<name> under the current folder
    assert default_out_dir(loose / "m.pt") == Path("runs") / "val" / "m"
    assert default_out_dir(loose / "m_openvino_model") == Path("runs/val/m_openvino_model")
