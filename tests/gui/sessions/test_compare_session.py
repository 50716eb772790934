"""CompareSession without Qt: every row says its protocol, Δ only against a reference of the
same protocol (else — and why), the reference can be changed, sort keys are numbers, and a
comparison the engine refuses is shown with its reason instead of figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grace_gui.sessions.compare import DELTA_COLUMNS, HEADERS, CompareSession

COL = {h: i for i, h in enumerate(HEADERS)}


def _val_run(run: Path, map5095: float, map50: float, protocol: str | None) -> str:
    (run / "val").mkdir(parents=True)
    (run / "events.jsonl").write_text(json.dumps({"type": "start", "time": 0}) + "\n")
    doc = {"metrics": {"mAP50-95": map5095, "mAP50": map50}, "cost": {"parameters": 2_590_000}}
    if protocol is not None:
        doc["protocol"] = protocol
    (run / "val" / "metrics.json").write_text(json.dumps(doc))
    return str(run)


def _trained_run(run: Path, map5095: float, map50: float) -> str:
    run.mkdir(parents=True)
    end = {"type": "end", "time": 1, "metrics": {"mAP50-95": map5095, "mAP50": map50}}
    (run / "events.jsonl").write_text(json.dumps(end) + "\n")
    return str(run)


@pytest.fixture
def session(tmp_path):
    paths = [
        _val_run(tmp_path / "base", 0.40, 0.70, None),  # older grace val: ultralytics
        _trained_run(tmp_path / "trained", 0.47, 0.80),  # end of training: another protocol
        _val_run(tmp_path / "grace", 0.4325, 0.7110, "ultralytics"),
        # grace val runs of another protocol would be refused (see the last test); a second
        # training log is of the same protocol as "trained"
        _trained_run(tmp_path / "early", 0.31, 0.60),
    ]
    s = CompareSession()
    changes: list[int] = []
    s.changed.connect(lambda: changes.append(1))
    s.set_runs(paths)
    assert s.wait(120) and changes
    return s


def _texts(s: CompareSession, column: str) -> list[str]:
    return [row[COL[column]].text for row in s.rows]


def test_rows_say_their_protocol_and_delta_stays_within_it(session):
    s = session
    assert len(s.rows) == 4  # every row
    assert _texts(s, "Protocol") == [
        "ultralytics", "ultralytics (training)", "ultralytics", "ultralytics (training)"
    ]  # fmt: skip
    d5095, d50 = DELTA_COLUMNS
    rows = s.rows
    assert [rows[0][d5095].text, rows[0][d50].text] == ["ref", "ref"]
    # grace - base: 43.25 - 40.00 = +3.25 pp, 71.10 - 70.00 = +1.10 pp
    assert [rows[2][d5095].text, rows[2][d50].text] == ["+3.25", "+1.10"]
    for i in (1, 3):  # other protocols: no Δ, and the tooltip says why
        assert rows[i][d5095].text == "—"
        assert "not comparable" in rows[i][d5095].tooltip
    assert "ultralytics (training)" in rows[1][d5095].tooltip
    assert _texts(s, "Source")[1] == "events.jsonl end (Ultralytics)"
    assert rows[0][COL["Run"]].tooltip == s.paths[0]


def test_choosing_the_reference_recomputes_delta_in_its_protocol(session):
    s = session
    s.set_reference(1)  # an end-of-training row: only the other training log is of its protocol
    assert s.wait(120)
    d5095, _ = DELTA_COLUMNS
    assert [r[d5095].text for r in s.rows] == ["—", "ref", "—", "-16.00"]  # 31.00 - 47.00
    s.set_reference(2)
    assert s.wait(120)
    assert [r[d5095].text for r in s.rows] == ["-3.25", "—", "ref", "—"]  # 40.00 - 43.25
    s.add_run(s.paths[0])  # already there: nothing changes
    assert len(s.paths) == 4 and s.reference == 2
    s.remove({0})  # the reference stays the same run
    assert s.wait(120)
    assert s.reference == 1 and s.names()[1] == "grace"
    assert [r[d5095].text for r in s.rows] == ["—", "ref", "—"]


def test_sort_keys_are_numbers_unknown_last(session):
    s = session
    col = COL["mAP@0.5:0.95 (%)"]
    order = sorted(range(4), key=lambda i: s.rows[i][col].key)
    assert [s.rows[i][COL["Run"]].text for i in order] == ["early", "base", "grace", "trained"]
    params = [r[COL["Param (M)"]] for r in s.rows]
    assert params[1].text == "—" and params[1].key > params[0].key  # unknown sorts last


def test_a_refused_comparison_keeps_the_runs_and_says_why(session, tmp_path):
    """grace val runs of different protocols: the engine refuses in one line; the session shows
    that line and the runs (so one can be removed), emits no failure, and recovers."""
    s = session
    failures: list[str] = []
    s.failed.connect(lambda line, _details: failures.append(line))
    s.add_run(_val_run(tmp_path / "dep", 0.31, 0.60, "deployed"))
    assert s.wait(120)
    assert s.error.startswith("runs evaluated under different grace val protocols (base: ")
    assert "dep: deployed" in s.error and failures == []
    assert s.result is None and s.markdown == ""
    assert _texts(s, "Run") == ["base", "trained", "grace", "early", "dep"]
    assert {c.text for row in s.rows for c in row[1:]} == {"—"}
    assert s.rows[4][COL["Protocol"]].tooltip == s.error
    s.remove({4})
    assert s.wait(120)
    assert s.error == "" and len(s.rows) == 4 and s.result is not None
    assert _texts(s, "Δ mAP@0.5:0.95 (pp)") == ["ref", "—", "+3.25", "—"]
