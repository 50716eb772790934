"""``grace report`` end to end on a real 1-epoch tiny run: the HTML is parsed (stdlib
html.parser) and every section, figure and number is checked against the files it came from."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SECTIONS = ["model", "dataset", "metrics", "per-class", "pr-curves", "ap-bars", "confusion",
            "errors", "eigencam", "problems"]  # fmt: skip
PNG = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """Sections, images, links and table cells of the report."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.images: list[dict] = []
        self.urls: list[tuple[str, str, str]] = []
        self.tags: set[str] = set()
        self.tables: dict[str, list[dict]] = {}
        self._table: str | None = None
        self._row: dict | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        for k, v in attrs:
            if k in ("src", "href", "action", "data", "poster") and v is not None:
                self.urls.append((tag, k, v))
        if tag == "section":
            self.sections.append(a["id"])
        elif tag == "img":
            self.images.append({**a, "section": self.sections[-1] if self.sections else None})
        elif tag == "table" and a.get("id"):
            self._table = a["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = {"attrs": a, "cells": []}
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._row["cells"].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row["cells"]:
                self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _grace(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grace.cli", *args], capture_output=True,
                          text=True, timeout=600)  # fmt: skip


def _parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.2f}"


@pytest.fixture(scope="module")
def reported(tiny_run, tmp_path_factory):
    """A copy of the tiny GRACE run (the report evaluates into RUN/val) and its report."""
    run = Path(shutil.copytree(tiny_run("grace"), tmp_path_factory.mktemp("rep") / "grace"))
    out = run.parent / "report.html"
    r = _grace("report", str(run), "--out", str(out), "--device", "cpu", "--json")
    assert r.returncode == 0, r.stderr[-3000:]
    return run, out, json.loads(r.stdout), r.stderr


def test_report_json_and_files(reported):
    run, out, result, stderr = reported
    assert result == {"out": str(out), "sections": SECTIONS}
    for f in ("metrics.json", "pr_curves.json", "errors.json", "predictions.npz"):
        assert (run / "val" / f).is_file()  # no val/ in a fresh run: evaluated into it
    assert "Traceback" not in stderr


def test_every_section_and_figure_is_there_and_self_contained(reported):
    run, out, _, _ = reported
    page = _parse(out)
    assert page.sections == SECTIONS
    errors = json.loads((run / "val" / "errors.json").read_text())
    with_fp = sum(1 for e in errors["images"] if e["false_positives"])
    with_fn = sum(1 for e in errors["images"] if e["misses"])
    by_section: dict[str, int] = {}
    for im in page.images:
        src = im["src"]
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert png.startswith(PNG) and len(png) > 1000
        by_section[im["section"]] = by_section.get(im["section"], 0) + 1
    assert by_section == {
        "pr-curves": 1, "ap-bars": 1, "confusion": 1, "eigencam": 1,
        **({"errors": min(6, with_fp) + min(6, with_fn)} if with_fp + with_fn else {}),
    }  # fmt: skip
    # nothing outside the file: only data: images and in-page anchors; no script, no stylesheet
    for tag, attr, url in page.urls:
        assert url.startswith(("data:image/png;base64,", "#")), (tag, attr, url[:60])
    assert not page.tags & {"script", "link", "iframe", "object", "embed"}
    assert not re.search(r"url\(|@import|https?://", out.read_text().split("<body>")[0])


def test_metrics_table_equals_metrics_json_and_intervals(reported):
    run, out, _, _ = reported
    m = json.loads((run / "val" / "metrics.json").read_text())
    rows = {r["attrs"]["data-key"]: r["cells"] for r in _parse(out).tables["metrics-table"]}
    for key in ("mAP50-95", "mAP50", "f1_dataset", "precision", "recall", "f1_mean_over_classes"):
        assert rows[key][1] == _pct(m["metrics"][key]), key
    for key in ("AP_small", "AP_medium", "AP_large"):
        assert rows[key][1] == _pct(m["coco"][key]), key
    assert rows["mAP75"][1] == _pct(m["mAP75"])
    # the interval: 1,000 resamples with seed 0 over the val images of predictions.npz
    from grace.eval.bootstrap import run_intervals
    from grace.eval.records import load_records

    records, names, _ = load_records(run / "val" / "predictions.npz")
    iv = run_intervals(records, len(names), 1000, 0)
    for key in ("mAP50-95", "mAP50", "f1_dataset"):
        assert rows[key][2] == f"[{_pct(iv[key].low)}, {_pct(iv[key].high)}]", key
        assert iv[key].value == pytest.approx(m["metrics"][key], abs=1e-12)


def test_per_class_table_at_the_global_point_equals_grace_val(reported):
    """Without thresholds.json the table is at grace val's operating point, so its P, R and F1
    are metrics.json's per-class figures."""
    run, out, _, _ = reported
    m = json.loads((run / "val" / "metrics.json").read_text())
    rows = _parse(out).tables["class-table"]
    assert [r["cells"][0] for r in rows] == [*m["per_class"], "all classes (pooled)"]
    for r in rows[:-1]:
        c = m["per_class"][r["cells"][0]]
        assert r["cells"][1] == str(c["instances"])
        assert r["cells"][2:4] == [_pct(c["AP50-95"]), _pct(c["AP50"])]
        assert r["cells"][4] == f"{m['f1_confidence']:.3f}"
        assert r["cells"][8:11] == [_pct(c["precision"]), _pct(c["recall"]), _pct(c["f1"])]
    assert "global operating point" in out.read_text()


def test_model_and_dataset_identity(reported, tiny_data):
    run, out, _, _ = reported
    text = out.read_text()
    best = run / "weights" / "best.pt"
    assert hashlib.sha256(best.read_bytes()).hexdigest() in text
    assert html_escaped(str(best.resolve())) in text
    # the val content hash, recomputed from the bytes by the documented rule
    root = tiny_data.parent
    lines = []
    for p in sorted((root / "images" / "val").iterdir()):
        lines.append((f"images/{p.name}", p.read_bytes()))
        label = root / "labels" / "val" / f"{p.stem}.txt"
        lines.append((f"labels/{label.name}", label.read_bytes()))
    manifest = "".join(f"{hashlib.sha256(b).hexdigest()}  {n}\n" for n, b in sorted(lines))
    assert hashlib.sha256(manifest.encode()).hexdigest() in text
    assert ">grace<" in text  # the variant from grace.json


def html_escaped(s: str) -> str:
    import html

    return html.escape(s, quote=True)


def test_second_report_reuses_val_and_applies_thresholds_beside_weights(reported, tmp_path):
    """best.thresholds.json (grace calibrate's name) beside best.pt is used; RUN/val is current,
    so it is not re-evaluated;
    each class's TP/FP/FN at its threshold agrees with the per-image error rules
    (grace.eval.errors, a second implementation of the matching)."""
    run, _, _, _ = reported
    from grace.eval.errors import image_errors
    from grace.eval.records import load_records

    records, names, _ = load_records(run / "val" / "predictions.npz")
    thresholds = {names[0]: 0.05, names[1]: 0.2}  # the third class takes "conf" 0.3
    (run / "weights" / "best.thresholds.json").write_text(
        json.dumps({"conf": 0.3, "per_class": thresholds})
    )
    stamp = (run / "val" / "metrics.json").stat().st_mtime_ns
    out = tmp_path / "again.html"
    r = _grace("report", str(run), "--out", str(out), "--device", "cpu")
    assert r.returncode == 0, r.stderr[-3000:]
    assert (run / "val" / "metrics.json").stat().st_mtime_ns == stamp  # reused, not re-run
    assert f"reused {run / 'val'}" in r.stdout
    rows = {r["cells"][0]: r["cells"] for r in _parse(out).tables["class-table"]}
    for c, name in enumerate(names):
        t = thresholds.get(name, 0.3)
        tp = fp = 0
        for rec in records:
            e = image_errors(rec, t)
            tp += sum(1 for x in e["matches"] if x["class"] == c)
            fp += sum(1 for x in e["false_positives"] if x["class"] == c)
        gt = sum(int((rec.gt_classes == c).sum()) for rec in records)
        assert rows[name][4:8] == [f"{t:.3f}", str(tp), str(fp), str(gt - tp)], name
    assert "Calibrated per-class thresholds from" in out.read_text()


def test_failed_write_keeps_the_previous_report(reported, tmp_path, monkeypatch):
    """Disk full while writing: a one-line error naming the file, the old report intact."""
    run, _, _, _ = reported
    from grace.errors import GraceError
    from grace.eval.report import build_report

    out = tmp_path / "r.html"
    out.write_bytes(b"previous good report")

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(GraceError, match=f"^{re.escape(str(out))}: could not write"):
        build_report(out, run=str(run), device="cpu")
    assert out.read_bytes() == b"previous good report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]  # no temporary left


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["RUN", "--weights", "W"], "give a run directory or --weights with --data (not both)"),
        (["--out-only"], "give a run directory or --weights with --data (not both)"),
        (["--weights", "W"], "--weights needs --data"),
        (["MISSING"], "MISSING: not a run directory"),
        (["RUN", "--thresholds", "BAD"], "the model has no class"),
        (
            ["--weights", "W", "--data", "D", "--thresholds", "BAD", "--val-out", "VAL"],
            "the model has no class",
        ),  # refused before any evaluation
    ],
)
def test_cli_errors_are_one_line(reported, tiny_data, tmp_path, args, message):
    run, _, _, _ = reported
    bad = tmp_path / "bad_thresholds.json"
    bad.write_text('{"per_class": {"no_such_class": 0.5}}')
    subst = {"RUN": str(run), "W": str(run / "weights" / "best.pt"), "BAD": str(bad),
             "MISSING": str(tmp_path / "MISSING"), "D": str(tiny_data),
             "VAL": str(tmp_path / "val")}  # fmt: skip
    argv = [subst.get(a, a) for a in args if a != "--out-only"]
    out = tmp_path / "x.html"
    r = _grace("report", *argv, "--out", str(out), "--device", "cpu", "--json")
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("grace: error: "), r.stderr
    assert message.replace("MISSING", str(tmp_path / "MISSING")) in lines[0]
    assert not out.exists() and not (tmp_path / "val").exists()


def test_out_must_be_html(reported, tmp_path):
    run, _, _, _ = reported
    r = _grace("report", str(run), "--out", str(tmp_path / "r.pdf"))
    assert r.returncode == 2
    want = f"grace: error: --out {tmp_path / 'r.pdf'}: the report must be an .html file"
    assert r.stderr.strip() == want


def test_dirty_dataset_is_reported_not_hidden(reported, tiny_data, tmp_path):
    """A corrupt val image and a bad label line: the report is still written (exit 0), both
    files are named on stderr and under Problems and notes, the image is counted in the split
    but not evaluated, and the protocol table says 3 of 4."""
    run, _, _, _ = reported
    dirty = Path(shutil.copytree(tiny_data.parent, tmp_path / "dirty"))
    data = dirty / "data.yaml"
    data.write_text(data.read_text().replace(str(tiny_data.parent.resolve()), str(dirty)))
    images = sorted((dirty / "images" / "val").iterdir())
    images[0].write_bytes(b"\xff\xd8 not really a jpeg")
    label = dirty / "labels" / "val" / f"{images[1].stem}.txt"
    label.write_text(label.read_text() + "7 0.5 0.5 0.1 0.1\n")  # class 7 of 3
    out = tmp_path / "dirty.html"
    weights = str(run / "weights" / "best.pt")
    r = _grace("report", "--weights", weights, "--data", str(data), "--out", str(out),
               "--device", "cpu", "--val-out", str(tmp_path / "val"))  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    warned = [ln for ln in r.stderr.splitlines() if ln.startswith("grace: warning: ")]
    assert any(str(images[0]) in ln and "unreadable_image" in ln for ln in warned), r.stderr
    assert any(str(label) in ln and "class_out_of_range" in ln for ln in warned), r.stderr
    page = out.read_text()
    problems = page.split('<section id="problems">', 1)[1]
    assert html_escaped(str(images[0])) in problems and html_escaped(str(label)) in problems
    m = json.loads((tmp_path / "val" / "metrics.json").read_text())
    assert (m["images"], m["images_in_split"]) == (3, 4)
    assert "3 evaluated of 4 in the split" in page
    assert "4 images and 4 label files" in page  # the hash covers every file as stored
