"""``python -m grace_gui.bench --weights W FOLDER``: the tab against the engine by the shared
harness; the figures are checked only for what does not depend on the machine."""

from __future__ import annotations

import json

from grace.infer.bench import make_bench_checkpoint, make_bench_folder
from grace_gui.bench import TARGET_RATIO, main


def test_gui_bench_reports_the_ratio_with_its_quartiles_and_rounds(qtbot, tmp_path, capsys):
    weights = make_bench_checkpoint(tmp_path / "w.pt", "n", nc=3, imgsz=64)
    folder = make_bench_folder(tmp_path / "images", n=3, size=64)
    code = main([str(folder), "--weights", str(weights), "--rounds", "2", "--json"])
    r = json.loads(capsys.readouterr().out)
    assert r["images"] == 3 and r["rounds"] == 2 and r["ratio_n"] == 2
    assert 0 < r["ratio_q1"] <= r["ratio"] <= r["ratio_q3"]
    assert r["ratio_ok"] == (r["ratio"] >= TARGET_RATIO)
    assert code == (0 if r["ratio_ok"] and r["stall_ok"] else 1)
