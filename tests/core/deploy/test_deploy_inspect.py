"""``grace inspect`` on a folder the test fills while it runs: every image exactly once and never
before it is fully written, verdicts and NG copies equal to ``grace predict`` at the same
thresholds, a kill -9 mid-stream and a restart that neither repeats nor misses, SIGTERM, and
bad input recorded while the watch goes on. The demo model at 256 px on the demo images."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from _deploy_helpers import DEMO_DATA, REPO

pytestmark = pytest.mark.slow

IMGSZ = 256
THRESHOLDS = {"conf": 0.3, "per_class": {"scratches": 0.5, "patches": 0.25}}
BAND = 0.1
ENV = {**os.environ, "PYTHONPATH": f"{REPO / 'core'}{os.pathsep}{REPO}", "YOLO_OFFLINE": "1",
       "YOLO_AUTOINSTALL": "false", "OMP_NUM_THREADS": "1"}  # fmt: skip
GUARD = 600  # seconds: only so that a broken run cannot hang the suite (not a timing check)


@pytest.fixture(scope="module")
def package(demo_pt, tmp_path_factory) -> Path:
    from grace.deploy.build import build_package

    folder = tmp_path_factory.mktemp("pkg")
    th = folder / "thresholds.json"
    th.write_text(json.dumps(THRESHOLDS))
    build_package(demo_pt, folder / "line", thresholds=th, formats="pt", imgsz=IMGSZ,
                  data=str(DEMO_DATA))  # fmt: skip
    return folder / "line"


@pytest.fixture(scope="module")
def images(demo_val_images) -> list[Path]:
    assert len(demo_val_images) == 12
    return demo_val_images


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Run:
    """``grace inspect --json`` in a subprocess, its stdout lines collected as they come."""

    def __init__(self, package: Path, watch: Path, store: Path, ng: Path, *extra: str) -> None:
        cmd = [sys.executable, "-m", "grace", "inspect", "--model", str(package), "--watch",
               str(watch), "--results", str(store), "--ng-dir", str(ng), "--json", "--poll",
               "0.1", "--device", "cpu", *extra]  # fmt: skip
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=ENV)  # fmt: skip
        self.lines: list[dict] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.p.stdout:
            self.lines.append(json.loads(line))

    def wait_lines(self, n: int) -> None:
        end = time.monotonic() + GUARD
        while len(self.lines) < n:
            assert self.p.poll() is None, self.p.stderr.read()
            assert time.monotonic() < end, "no output"
            time.sleep(0.05)

    def finish(self) -> tuple[int, str]:
        rc = self.p.wait(GUARD)
        self._reader.join(GUARD)
        return rc, self.p.stderr.read()


def _rows(store: Path) -> list[dict]:
    conn = sqlite3.connect(store)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM inspections ORDER BY id")]
    finally:
        conn.close()


def _slow_write(path: Path, data: bytes, chunks: int = 5) -> None:
    with open(path, "wb") as f:
        for k in range(chunks):
            f.write(data[k * len(data) // chunks : (k + 1) * len(data) // chunks])
            f.flush()
            os.fsync(f.fileno())
            time.sleep(0.05)


@pytest.fixture(scope="module")
def filled(package, images, tmp_path_factory) -> dict:
    """A folder filled while ``grace inspect`` runs: one image first (the run is up once its
    line comes), then the others written slowly in chunks, through a temporary name renamed at
    the end, or at once, and a corrupt file."""
    root = tmp_path_factory.mktemp("filled")
    watch, ng, store = root / "line", root / "ng", root / "results.sqlite"
    watch.mkdir()
    run = Run(package, watch, store, ng, "--max-images", "13")
    shutil.copy(images[0], watch / images[0].name)
    run.wait_lines(1)
    for i, src in enumerate(images[1:]):
        data = src.read_bytes()
        if i % 3 == 0:
            _slow_write(watch / src.name, data)
        elif i % 3 == 1:
            _slow_write(watch / (src.name + ".part"), data)
            os.replace(watch / (src.name + ".part"), watch / src.name)
        else:
            (watch / src.name).write_bytes(data)
    (watch / "bad.jpg").write_bytes(b"this is not an image at all\n" * 10)
    rc, err = run.finish()
    return {"rc": rc, "err": err, "lines": run.lines, "store": store, "ng": ng, "watch": watch}


def test_each_image_once_and_never_before_it_is_fully_written(filled, images):
    assert filled["rc"] == 0, filled["err"]
    names = [d["name"] for d in filled["lines"]]
    assert Counter(names) == Counter([p.name for p in images] + ["bad.jpg"])
    for d in filled["lines"]:
        if d["name"] == "bad.jpg":
            assert d["status"] == "corrupt" and "cannot decode" in d["detail"]
            continue
        src = next(p for p in images if p.name == d["name"])
        assert d["status"] in ("OK", "NG")
        assert d["sha256"] == _sha(src.read_bytes())  # the whole file, not a part of it
        assert d["size"] == src.stat().st_size and isinstance(d["latency_ms"], float)
    rows = _rows(filled["store"])
    assert [Path(r["path"]).name for r in rows] == names  # committed as printed, once each
    assert not any(r["path"].endswith(".part") for r in rows)
    assert "13 files" in filled["err"] and "--max-images" in filled["err"]


def test_verdicts_and_ng_copies_equal_grace_predict(filled, package, images, tmp_path):
    src = images[0].parent
    out = tmp_path / "predict"
    r = subprocess.run([sys.executable, "-m", "grace", "predict", "--weights", str(package),
                        str(src), "--out", str(out), "--save-json", "--batch", "1", "--device",
                        "cpu"], capture_output=True, text=True, env=ENV)  # fmt: skip
    assert r.returncode == 0, r.stderr
    by_name: dict[str, list] = {p.name: [] for p in images}
    for d in json.loads((out / "predictions.json").read_text()):
        box = [d["x1"], d["y1"], d["x2"], d["y2"]]
        by_name[Path(d["source"]).name].append((d["class"], d["confidence"], box))
    rows = {Path(r["path"]).name: r for r in _rows(filled["store"])}
    ng = set()
    for name, dets in by_name.items():
        row = rows[name]
        assert row["status"] == ("NG" if dets else "OK"), name
        mine = [(d["class"], d["confidence"], d["box"]) for d in json.loads(row["detections"])]
        mine, dets = sorted(mine), sorted(dets)
        assert [d[0] for d in mine] == [d[0] for d in dets], name
        flat = [[c, *b] for _, c, b in mine]
        assert flat == [pytest.approx([c, *b], abs=0.011) for _, c, b in dets], name
        if dets:
            ng.add(name)
            assert (filled["ng"] / name).read_bytes() == (src / name).read_bytes()
            assert row["ng_copy"] == str(filled["ng"] / name)
    assert 0 < len(ng) < len(images)  # both verdicts occur on these images
    assert {p.name for p in filled["ng"].iterdir()} == ng
    # the uncertain items: predict at each threshold lowered by the band, counted here
    low = tmp_path / "low"
    args = [f"{c}={t - BAND:g}" for c, t in THRESHOLDS["per_class"].items()]
    r = subprocess.run([sys.executable, "-m", "grace", "predict", "--weights", str(package),
                        str(src), "--out", str(low), "--save-json", "--batch", "1", "--device",
                        "cpu", "--conf", f"{THRESHOLDS['conf'] - BAND:g}", "--class-conf", *args],
                       capture_output=True, text=True, env=ENV)  # fmt: skip
    assert r.returncode == 0, r.stderr
    near = Counter()
    for d in json.loads((low / "predictions.json").read_text()):
        t = THRESHOLDS["per_class"].get(d["class"], THRESHOLDS["conf"])
        if abs(d["confidence"] - t) <= BAND + 1e-9:
            near[Path(d["source"]).name] += 1
    assert sum(near.values()) > 0
    assert {n: rows[n]["uncertain"] for n in by_name if rows[n]["uncertain"]} == dict(near)
    r = subprocess.run([sys.executable, "-m", "grace", "review", "list", str(filled["store"]),
                        "--queue", "uncertain", "--json"], capture_output=True, text=True,
                       env=ENV)  # fmt: skip
    assert r.returncode == 0 and json.loads(r.stdout)["count"] == sum(near.values())


def test_kill_9_mid_stream_then_restart_neither_repeats_nor_misses(package, images, tmp_path):
    watch, ng, store = tmp_path / "line", tmp_path / "ng", tmp_path / "results.sqlite"
    watch.mkdir()
    first = Run(package, watch, store, ng)
    for src in images[:6]:
        shutil.copy(src, watch / src.name)
    first.wait_lines(2)
    first.p.kill()  # SIGKILL, mid-stream
    rc, _ = first.finish()
    assert rc == -signal.SIGKILL
    done_before = {d["name"] for d in first.lines}
    assert len(_rows(store)) < 12
    for src in images[6:]:
        shutil.copy(src, watch / src.name)
    second = Run(package, watch, store, ng, "--timeout", "2")
    rc, err = second.finish()
    assert rc == 0, err
    assert not done_before & {d["name"] for d in second.lines}  # nothing printed twice
    rows = _rows(store)
    assert Counter(Path(r["path"]).name for r in rows) == Counter(p.name for p in images)
    assert {r["status"] for r in rows} <= {"OK", "NG"}
    assert {Path(r["ng_copy"]).name for r in rows if r["status"] == "NG"} == {
        p.name for p in ng.iterdir()
    }


def test_sigterm_finishes_the_current_image_and_exits_130(package, images, tmp_path):
    watch, ng, store = tmp_path / "line", tmp_path / "ng", tmp_path / "results.sqlite"
    watch.mkdir()
    run = Run(package, watch, store, ng)
    for src in images:
        shutil.copy(src, watch / src.name)
    run.wait_lines(1)
    run.p.send_signal(signal.SIGTERM)
    rc, err = run.finish()
    assert rc == 130
    lines = err.strip().splitlines()
    assert lines[-1] == "grace: interrupted" and lines[-2].startswith("grace inspect: ")
    rows = _rows(store)
    assert [Path(r["path"]).name for r in rows] == [d["name"] for d in run.lines]  # all committed
    assert f"{len(rows)} files" in lines[-2] and len(rows) < len(images)


def test_corrupt_and_vanished_files_are_recorded_and_the_watch_goes_on(package, images, tmp_path):
    from grace.deploy.inspect import InspectRequest, run_inspect

    watch = tmp_path / "line"
    watch.mkdir()
    files = [("a.jpg", images[0].read_bytes()), ("bad.jpg", b"\x00garbage" * 50),
             ("z.jpg", images[1].read_bytes()), ("c.jpg", images[2].read_bytes())]  # fmt: skip
    for k, (name, data) in enumerate(files):  # taken in order of modification time
        (watch / name).write_bytes(data)
        os.utime(watch / name, ns=(10**18 + k * 10**9,) * 2)
    seen = []

    def on_result(row) -> None:
        seen.append(row)
        if row.name == "a.jpg":
            (watch / "z.jpg").unlink()  # gone after the watcher found it ready

    req = InspectRequest(str(package), str(watch), results=str(tmp_path / "r.sqlite"),
                         device="cpu", poll=0.05, max_images=4, timeout=GUARD)  # fmt: skip
    summary = run_inspect(req, on_result=on_result, log=None)
    got = [(r.name, r.status) for r in seen]
    assert got[1:3] == [("bad.jpg", "corrupt"), ("z.jpg", "vanished")]
    assert got[0][0] == "a.jpg" and got[3][0] == "c.jpg"  # the watch went on after them
    assert {got[0][1], got[3][1]} <= {"OK", "NG"}
    assert seen[1].detail == "cannot decode image (corrupt or unsupported format)"
    assert seen[1].sha256 == _sha(files[1][1])
    assert seen[2].detail == "gone before it could be read"
    assert summary.counts["corrupt"] == summary.counts["vanished"] == 1
    assert [r["status"] for r in _rows(tmp_path / "r.sqlite")] == [s for _, s in got]


def test_user_thresholds_replace_the_package_s_and_on_frame_gets_each_decoded_image(
    package, images, tmp_path
):
    """The GUI's sliders reach the verdict (``conf`` and ``class_conf`` over the package's own
    thresholds, as in ``grace predict``), and ``on_frame`` hands over each decoded image with
    every detection down to its threshold minus the band, before the record."""
    from grace.deploy.inspect import InspectRequest, run_inspect

    watch = tmp_path / "line"
    watch.mkdir()
    for k, src in enumerate([*images[:4], None]):
        target = watch / (src.name if src else "bad.jpg")
        target.write_bytes(src.read_bytes() if src else b"not an image" * 20)
        os.utime(target, ns=(10**18 + k * 10**9,) * 2)
    rows, frames, order = [], [], []
    req = InspectRequest(str(package), str(watch), results=str(tmp_path / "r.sqlite"),
                         device="cpu", poll=0.05, max_images=5, timeout=GUARD, conf=0.45,
                         class_conf={"scratches": 0.7})  # fmt: skip
    summary = run_inspect(req, on_result=lambda r: (rows.append(r), order.append("row")),
                          on_frame=lambda f: (frames.append(f), order.append("frame")),
                          log=None)  # fmt: skip
    names = ["crazing", "inclusion", "patches", "pitted_surface", "rolled-in_scale", "scratches"]
    assert summary.thresholds["conf"] == 0.45  # not the package's 0.3
    assert summary.runtime == "pt"  # what ran: the package holds only its model.pt
    assert summary.thresholds["per_class"].get("patches", 0.45) == 0.45  # nor its 0.25
    assert [r.status for r in rows][-1] == "corrupt" and len(frames) == 4
    assert order[:2] == ["frame", "row"]  # each image's frame before its record
    assert [Path(f.frame.source).name for f in frames] == [r.name for r in rows[:4]]
    seen_below = 0
    for f, row in zip(frames, rows[:4], strict=True):
        th = np.array([0.7 if names[c] == "scratches" else 0.45 for c in f.classes])
        assert (f.scores >= th - BAND - 1e-6).all()  # the model ran the band lower
        keep = f.scores >= th
        seen_below += int((~keep).sum())
        expected = sorted((names[c], round(float(s), 5)) for c, s in
                          zip(f.classes[keep], f.scores[keep], strict=True))  # fmt: skip
        assert sorted((d["class"], d["confidence"]) for d in row.detections) == expected
        assert row.status == ("NG" if keep.any() else "OK")
    assert seen_below > 0  # detections under their threshold reached on_frame, not the verdict


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--watch", "{tmp}/nowhere"], "{tmp}/nowhere: --watch must be an existing folder"),
        (["--review-band", "2"], "--review-band 2: must be between 0 and 1"),
        (["--ng-dir", "{tmp}"], "{tmp}: --ng-dir must not be the watched folder"),
        (["--model", "{tmp}/x.txt"], "{tmp}/x.txt: not a model"),
    ],
)
def test_bad_arguments_are_one_line(args, expected, package, tmp_path):
    (tmp_path / "x.txt").write_text("no")
    base = {"--model": str(package), "--watch": str(tmp_path)}
    for k in range(0, len(args), 2):
        base[args[k]] = args[k + 1].format(tmp=tmp_path)
    argv = ["inspect", *[x for kv in base.items() for x in kv], "--device", "cpu"]
    r = subprocess.run([sys.executable, "-m", "grace", *argv], capture_output=True, text=True,
                       env=ENV)  # fmt: skip
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("grace: error: ")
    assert expected.format(tmp=tmp_path) in r.stderr
