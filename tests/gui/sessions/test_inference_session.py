"""The Inference session without Qt: its rows (clean images included), thresholds, models, a
training's checkpoint, exports with the model's path, hash, thresholds and time, video timestamps,
a failed run, and a restored setup that does not run. A fake predictor stands in for the model,
so every expected number is written down here from the fixture, not taken from the code."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from grace.infer.predictor import FrameResult
from grace.infer.thresholds import ClassThresholds
from grace_gui.sessions.inference import InferenceSession, RunState

NAMES = ["crack", "pit"]
# file name (or video frame index) -> detections (class id, confidence, box)
DETECTIONS = {
    "a.png": [(0, 0.9, (1, 2, 10, 12)), (1, 0.3, (5, 5, 20, 20))],
    "b.png": [],
    "c.png": [(1, 0.6, (0, 0, 8, 8))],
}


class FakePredictor:
    """What run_predict needs of a predictor: detections looked up by file name or frame."""

    def __init__(self, weights: str) -> None:
        self.names, self.model_name, self.thresholds = list(NAMES), Path(weights).name, None

    def predict(self, frames):
        out = []
        for f in frames:
            key = f.index if f.is_video else Path(f.source).name
            dets = DETECTIONS.get(key, [(0, 0.5, (1, 1, 4, 4))] if f.is_video else [])
            classes = np.array([d[0] for d in dets], np.int64)
            scores = np.array([d[1] for d in dets], np.float32)
            boxes = np.array([d[2] for d in dets], np.float32).reshape(-1, 4)
            keep = self.thresholds.keep(scores, classes)
            out.append(FrameResult(f, boxes[keep], scores[keep], classes[keep]))
        return out


class FakeCache:
    def __init__(self) -> None:
        self.loads: list[str] = []

    def get(self, weights, device="", imgsz=None, iou=0.7):
        if not Path(weights).is_file():
            raise FileNotFoundError(f"{weights}: no such checkpoint")
        self.loads.append(str(weights))
        return FakePredictor(weights)


@pytest.fixture
def weights(tmp_path) -> Path:
    path = tmp_path / "runs" / "exp1" / "weights" / "best.pt"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not really a model, but hashed like one")
    return path


@pytest.fixture
def folder(tmp_path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    for name in DETECTIONS:
        cv2.imwrite(str(folder / name), np.full((24, 32, 3), 128, np.uint8))
    (folder / "d_broken.png").write_bytes(b"\x89PNG broken")
    return folder


@pytest.fixture
def session() -> InferenceSession:
    return InferenceSession(cache=FakeCache())


def run(session: InferenceSession, source, weights) -> list:
    done: list = []
    session.finished.connect(done.append)
    assert session.start(str(source), str(weights))
    assert session.wait(60)
    assert len(done) == 1 and session.state is RunState.IDLE
    return done


def rows(session) -> list[tuple[str, str, float | None, int]]:
    """(file, class or "", confidence or None, detections in its image) per row."""
    res, out = session.results, []
    for i in range(len(res)):
        r = res.row(i)
        name = res.frames[r.frame_id].name
        cls = res.class_name(r.class_id) if r.record >= 0 else ""
        out.append((name, cls, round(r.score, 3) if r.record >= 0 else None, r.in_frame))
    return out


def test_no_qt_is_imported_by_a_session_run(tmp_path):
    code = (
        "import sys; from grace_gui.sessions.inference import InferenceSession; "
        "s = InferenceSession(); s.set_thresholds(s.thresholds); s.poll(); "
        "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'qtpy', 'superqt'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_image_has_a_row_and_thresholds_refilter_without_a_rerun(session, folder, weights):
    summary = run(session, folder, weights)[0]
    assert summary.images == 3 and [s["file"] for s in summary.skipped] == [
        str(folder / "d_broken.png")
    ]
    # conf 0.25: a has 0.9 and 0.3, b nothing (a row with 0), c 0.6
    assert rows(session) == [
        ("a.png", "crack", 0.9, 2), ("a.png", "pit", 0.3, 2), ("b.png", "", None, 0),
        ("c.png", "pit", 0.6, 1),
    ]  # fmt: skip
    assert session.results.class_counts() == {"crack": 1, "pit": 2}
    assert session.results.frames_with_detections() == 2
    loads = len(session.cache.loads)
    session.set_thresholds(ClassThresholds(0.5))
    assert rows(session) == [
        ("a.png", "crack", 0.9, 1), ("b.png", "", None, 0), ("c.png", "pit", 0.6, 1)
    ]  # fmt: skip
    session.set_thresholds(ClassThresholds(0.5, {1: 0.7}))  # pit needs 0.7: c is clean now
    assert rows(session) == [("a.png", "crack", 0.9, 1), ("b.png", "", None, 0),
                             ("c.png", "", None, 0)]  # fmt: skip
    assert session.results.class_counts() == {"crack": 1, "pit": 0}
    assert session.class_conf_by_name() == {"pit": 0.7}
    assert len(session.cache.loads) == loads and session.state is RunState.IDLE  # no re-run


def test_models_are_named_by_run_and_a_new_checkpoint_never_replaces_the_chosen(session, tmp_path):
    paths = []
    for run_name in ("exp1", "exp2", "exp3"):
        p = tmp_path / "runs" / run_name / "weights" / "best.pt"
        p.parent.mkdir(parents=True)
        p.write_bytes(b"x")
        paths.append(p)
    changed: list = []
    session.model_changed.connect(changed.append)
    session.add_model(paths[0], select=True)
    session.add_model(paths[1])  # a training ended: offered, not chosen
    session.add_model(paths[2])
    assert session.model.path == str(paths[0]) and len(changed) == 1
    assert [m.name for m in session.models] == ["exp3 · best.pt", "exp2 · best.pt",
                                                "exp1 · best.pt"]  # fmt: skip
    labels = [m.label(home=tmp_path) for m in session.models]
    assert labels[2] == f"exp1 · best.pt   ({Path('~') / 'runs' / 'exp1' / 'weights'})"
    assert len(set(labels)) == 3


def test_exports_carry_the_model_path_hash_thresholds_and_time(session, folder, weights, tmp_path):
    before = datetime.now().astimezone().replace(microsecond=0)  # the time may be in seconds
    run(session, folder, weights)
    after = datetime.now().astimezone()
    session.set_thresholds(ClassThresholds(0.25, {1: 0.5}))  # a's pit (0.3) is dropped
    written: list = []
    session.exported.connect(written.append)
    session.export_records(tmp_path / "out.csv")
    session.export_records(tmp_path / "out.json")
    assert session.wait(30) and written == [2, 2]
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as f:
        got_csv = list(csv.DictReader(f))
    got_json = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256(b"not really a model, but hashed like one").hexdigest()
    expected = [("a.png", "crack", 0.9, 0.25), ("c.png", "pit", 0.6, 0.5)]
    for got in (got_csv, got_json):
        assert [(Path(r["source"]).name, r["class"], round(float(r["confidence"]), 3),
                 float(r["threshold"])) for r in got] == expected  # fmt: skip
        assert {r["model_path"] for r in got} == {str(weights.resolve())}
        assert {r["model_sha256"] for r in got} == {digest}
        assert {r["model"] for r in got} == {"best.pt"}
        when = datetime.fromisoformat(got[0]["time"])  # ISO 8601 with its offset
        assert when.tzinfo is not None and before <= when <= after  # read during the run
    assert [r["timestamp_s"] for r in got_csv] == ["", ""]  # still images have no position
    assert [r["timestamp_s"] for r in got_json] == [None, None]


def test_video_rows_have_their_time_in_the_video(session, tmp_path, weights):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (32, 24))
    for i in range(10):
        writer.write(np.full((24, 32, 3), 20 * i, np.uint8))
    writer.release()
    run(session, path, weights)
    frames = session.results.frames
    assert [f.index for f in frames] == list(range(10))
    assert [f.seconds for f in frames] == [i / 5 for i in range(10)]  # index / 5 fps
    session.export_records(tmp_path / "v.json")
    assert session.wait(30)
    got = json.loads((tmp_path / "v.json").read_text(encoding="utf-8"))
    assert [(r["frame"], r["timestamp_s"]) for r in got] == [(i, i / 5) for i in range(10)]


def test_a_failed_run_says_why_in_one_line_and_leaves_no_results(session, folder, weights):
    run(session, folder, weights)
    assert len(session.results) == 4
    failures: list = []
    session.failed.connect(lambda message, _details: failures.append(message))
    done = run(session, folder / "missing", weights)
    assert done == [None] and session.summary is None and len(session.results) == 0
    assert len(failures) == 1 and "missing" in failures[0] and "\n" not in failures[0]
    session.set_source("")
    assert session.start() is False and "a source" in failures[-1]


def test_a_restored_setup_is_shown_but_not_run(session, folder, weights, tmp_path):
    other = tmp_path / "other.pt"
    other.write_bytes(b"y")
    session.add_model(other)
    session.set_source(str(folder), "Folder")
    session.add_model(weights, select=True)
    assert session.wait(10) and session.names == NAMES
    session.set_thresholds(ClassThresholds(0.4, {1: 0.8}))
    setup = json.loads(json.dumps(session.setup()))  # as the settings keep it
    assert setup == {"models": [str(weights), str(other)], "model": str(weights),
                     "source": str(folder), "source_kind": "Folder", "conf": 0.4,
                     "class_conf": {"pit": 0.8}}  # fmt: skip

    again = InferenceSession(cache=FakeCache())
    states: list = []
    again.state_changed.connect(states.append)
    assert again.restore_setup(setup)
    assert again.wait(10)  # only the model's classes are read
    assert states == [] and again.summary is None and len(again.results) == 0
    assert [m.path for m in again.models] == [str(weights), str(other)]
    assert (again.model.path, again.source, again.kind) == (str(weights), str(folder), "Folder")
    assert again.thresholds == ClassThresholds(0.4, {1: 0.8})
    gone = dict(setup, source=str(tmp_path / "gone"))
    assert not InferenceSession(cache=FakeCache()).restore_setup(gone)


@pytest.mark.slow
def test_an_openvino_export_runs_in_the_session(folder, tmp_path):
    """The real predictor cache resolves --weights with grace.deploy.runtime: an OpenVINO folder
    (a tiny random yolo11n exported at 64 here) loads, runs at its own input size, and stamps
    its rows with the folder's path and hash."""
    from grace.deploy.export import export_model
    from grace.deploy.runtime import model_sha256
    from grace.errors import GraceError
    from grace.infer.bench import make_bench_checkpoint
    from grace.nn.checkpoint import check_checkpoint_path
    from grace_gui.sessions.inference_job import PredictorCache

    pt = make_bench_checkpoint(tmp_path / "tiny.pt", "n", nc=2, imgsz=64)
    ov = Path(export_model(pt, "openvino", imgsz=64, out=tmp_path / "export").path)
    assert ov.is_dir() and ov.name == "tiny_openvino_model"
    with pytest.raises(GraceError, match="needs the PyTorch checkpoint"):
        check_checkpoint_path(ov)  # what the session called before: it refused every export
    session = InferenceSession(cache=PredictorCache(size=1))
    summary = run(session, folder, ov)[0]
    assert summary.images == 3 and [s["file"] for s in summary.skipped] == [
        str(folder / "d_broken.png")
    ]
    assert session.names == ["class0", "class1"]
    assert summary.settings["imgsz"] == 64  # the export's own size
    assert sorted({session.results.frames[r.frame_id].name for r in
                   map(session.results.row, range(len(session.results)))}) == [
        "a.png", "b.png", "c.png"
    ]  # fmt: skip
    assert session.stamp.model_path == str(ov.resolve())
    assert session.stamp.model_sha256 == model_sha256(ov) != ""


@pytest.mark.slow
def test_a_restored_export_or_package_is_shown_and_runs(folder, tmp_path):
    """A setup kept with an OpenVINO folder and a package folder as models (folders, not files)
    is restored: both offered, the chosen one selected, its classes read, and it runs at its
    own input size."""
    from grace.deploy.build import build_package
    from grace.deploy.export import export_model
    from grace.infer.bench import make_bench_checkpoint
    from grace_gui.sessions.inference_job import PredictorCache

    pt = make_bench_checkpoint(tmp_path / "tiny.pt", "n", nc=2, imgsz=64)
    ov = Path(export_model(pt, "openvino", imgsz=64, out=tmp_path / "export").path)
    pkg = Path(build_package(pt, tmp_path / "line-3", formats="openvino", imgsz=64)["path"])
    first = InferenceSession(cache=PredictorCache(size=1))
    first.add_model(ov)
    first.add_model(pkg, select=True)
    first.set_source(str(folder), "Folder")
    assert first.wait(60) and first.names == ["class0", "class1"]
    setup = json.loads(json.dumps(first.setup()))  # as the settings keep it
    assert setup["models"] == [str(pkg), str(ov)] and setup["model"] == str(pkg)

    for chosen in (pkg, ov):
        again = InferenceSession(cache=PredictorCache(size=1))
        assert again.restore_setup(dict(setup, model=str(chosen)))
        assert [m.path for m in again.models] == [str(pkg), str(ov)]
        assert again.model.path == str(chosen) and again.model.name == chosen.name
        assert again.wait(60) and again.names == ["class0", "class1"]
        summary = run(again, folder, chosen)[0]
        assert summary.images == 3 and summary.settings["imgsz"] == 64
        assert again.stamp.model_path == str(chosen.resolve())


def poll_until(session: InferenceSession, condition, guard: float = 120.0) -> None:
    """Poll as the tab's timer does until ``condition()``; ``guard`` only keeps a broken watch
    from hanging the suite (not a timing check)."""
    assert session._jobs.wait(session.poll, condition, guard), session.status_text()


def test_a_watched_folder_is_judged_at_the_sliders_counted_and_never_taken_twice(
    session, folder, weights
):
    """The "Watch folder" source runs grace inspect's loop: verdicts at the session's thresholds
    (pit 0.65: c.png's 0.6 is OK but near its threshold, so a review item), OK/NG counters, the
    broken file counted and reported, the frames in the table at the floor of the band, the
    store beside the folder; a second watch takes only the file that is new."""
    import sqlite3

    from grace_gui.sessions.inference_watch import WATCH, WatchSummary

    done: list = []
    session.finished.connect(done.append)
    session.add_model(weights, select=True)
    assert session.wait(10) and session.names == NAMES  # class sliders exist from here on
    session.set_thresholds(ClassThresholds(0.5, {1: 0.65}))
    session.set_source(str(folder), WATCH)
    assert session.start()
    poll_until(session, lambda: session.verdicts().files == 4)
    assert session.verdicts().counts == {"OK": 2, "NG": 1, "corrupt": 1, "vanished": 0}
    assert session.status_text() == f"running · watching {folder.name} · OK 2 · NG 1 · 1 corrupt"
    # the table: a's pit (0.3) is under 0.5 - 0.1 and was never returned; c's pit (0.6) was
    assert rows(session) == [("a.png", "crack", 0.9, 1), ("b.png", "", None, 0),
                             ("c.png", "", None, 0)]  # fmt: skip
    session.set_thresholds(ClassThresholds(0.5, {1: 0.6}))  # the slider shows it, no re-run
    assert rows(session)[-1] == ("c.png", "pit", 0.6, 1)
    session.stop()
    assert session.wait(60) and len(done) == 1
    summary = done[0]
    assert isinstance(summary, WatchSummary) and summary.inspect.stop_reason == "stopped"
    assert [s["file"] for s in summary.skipped] == [str(folder / "d_broken.png")]
    store = folder.parent / "images.inspect.sqlite"
    assert session.status_text().startswith("stopped · 4 files in ")
    assert session.status_text().endswith("OK 2 · NG 1 · 1 corrupt · results in "
                                          "images.inspect.sqlite")  # fmt: skip
    conn = sqlite3.connect(store)
    got = dict(conn.execute("SELECT path, status FROM inspections"))
    uncertain = dict(conn.execute("SELECT path, uncertain FROM inspections"))
    conn.close()
    assert {Path(p).name: s for p, s in got.items()} == {
        "a.png": "NG", "b.png": "OK", "c.png": "OK", "d_broken.png": "corrupt"}  # fmt: skip
    assert uncertain[str(folder / "c.png")] == 1 and uncertain[str(folder / "a.png")] == 0

    cv2.imwrite(str(folder / "e.png"), np.full((24, 32, 3), 90, np.uint8))  # new while stopped
    assert session.start()
    poll_until(session, lambda: session.verdicts().files >= 1)
    session.stop()
    assert session.wait(60)
    assert done[-1].inspect.taken == 1 and [f.name for f in session.results.frames] == ["e.png"]


def test_watching_a_folder_that_is_not_there_fails_in_one_line(session, weights, tmp_path):
    from grace_gui.sessions.inference_watch import WATCH

    failures: list = []
    session.failed.connect(lambda message, _details: failures.append(message))
    session.add_model(weights, select=True)
    assert session.wait(10)
    loads = len(session.cache.loads)  # the class names, read when the model was chosen
    session.set_source(str(tmp_path / "nowhere"), WATCH)
    assert session.start()
    assert session.wait(60) and session.summary is None
    assert failures == [f"{tmp_path / 'nowhere'}: not a folder (Watch folder needs the folder "
                        "the line writes its images into)"]  # fmt: skip
    assert len(session.cache.loads) == loads  # checked before the model loads


def test_a_run_wakes_its_owner_from_the_job_thread_when_its_end_can_be_delivered(
    session, folder, weights
):
    """The tab polls 25 times a second; ``wake`` lets it deliver a run's end at once: it is
    called in the job's thread, and one poll after it delivers ``finished``."""
    import threading
    import time

    session.add_model(weights, select=True)
    assert session.wait(10)
    woke: list = []
    session.set_wake(lambda: woke.append(threading.current_thread().name))
    done: list = []
    session.finished.connect(done.append)
    session.set_source(str(folder), "Folder")
    assert session.start()
    deadline = time.monotonic() + 60  # a guard against a hang, not a timing check
    while not woke and time.monotonic() < deadline:
        time.sleep(0.01)  # no poll here: only the job can make ``woke`` non-empty
    assert woke == ["grace-session-job"] and done == []
    session.poll()
    assert len(done) == 1 and done[0].images == 3


def test_a_model_chosen_while_another_runs_keeps_its_own_classes(folder, weights, tmp_path):
    """The run's classes name its rows; they never replace the classes (and the sliders) of a
    model the user chose meanwhile (the run's model load is held until the choice is made)."""
    import threading

    other = tmp_path / "other.pt"
    other.write_bytes(b"another model")
    gate = threading.Event()

    class TwoModels(FakeCache):
        def get(self, weights, device="", imgsz=None, iou=0.7):
            predictor = super().get(weights, device, imgsz, iou)
            if Path(weights).name == "other.pt":
                predictor.names = ["dent", "rust", "hole"]
            elif self.loads.count(str(weights)) > 1:  # the run's load, not the names' read
                assert gate.wait(60)
            return predictor

    s = InferenceSession(cache=TwoModels())
    s.add_model(other)
    s.add_model(weights, select=True)
    assert s.wait(10) and s.names == NAMES
    assert s.start(str(folder))  # `weights` runs ...
    s.select_model(other)  # ... and the user chooses the other model
    poll_until(s, lambda: s.names == ["dent", "rust", "hole"])
    gate.set()
    assert s.wait(60) and s.summary.images == 3
    assert s.names == ["dent", "rust", "hole"] and s.model.path == str(other)
    assert s.results.names == NAMES  # the rows: the run's model's classes
    assert {r[1] for r in rows(s) if r[1]} == {"crack", "pit"}


def test_a_chosen_package_brings_its_own_thresholds_unless_the_user_set_them(tmp_path):
    """Choosing a package sets the sliders to its thresholds.json (what grace predict and
    grace inspect judge by, so a watched folder's OK/NG in the tab is the line's); calibrated
    thresholds sent by the Evaluate tab and a restored setup's thresholds are kept instead."""
    from grace.deploy.build import build_package
    from grace.infer.bench import make_bench_checkpoint
    from grace_gui.sessions.inference_job import PredictorCache

    pt = make_bench_checkpoint(tmp_path / "tiny.pt", "n", nc=2, imgsz=64)
    th = tmp_path / "line.thresholds.json"
    th.write_text(json.dumps({"conf": 0.4, "per_class": {"class1": 0.7}}), encoding="utf-8")
    pkg = build_package(pt, tmp_path / "line-3", thresholds=th, formats="pt", imgsz=64)["path"]
    cache = PredictorCache(size=1)

    chosen = InferenceSession(cache=cache)
    chosen.add_model(pkg, select=True)
    assert chosen.wait(60) and chosen.names == ["class0", "class1"]
    assert chosen.thresholds == ClassThresholds(0.4, {1: 0.7})

    calibrated = InferenceSession(cache=cache)
    calibrated.use_calibrated(pkg, 0.3, {"class0": 0.2})
    assert calibrated.wait(60) and calibrated.thresholds == ClassThresholds(0.3, {0: 0.2})

    restored = InferenceSession(cache=cache)
    setup = {"models": [pkg], "model": pkg, "source": str(tmp_path), "source_kind": "Folder",
             "conf": 0.6, "class_conf": {}}  # fmt: skip
    assert restored.restore_setup(setup)
    assert restored.wait(60) and restored.thresholds == ClassThresholds(0.6, {})


def test_a_watch_says_it_waits_and_counts_a_corrupt_file_that_brings_no_frame(
    session, weights, tmp_path
):
    """An empty watched folder: once the model is loaded the status says it waits for images
    (not "0 frames · 0.0 FPS"); a corrupt file, which brings no frame to the view, is still
    announced (``verdicts_changed``) and counted in the status."""
    from grace_gui.sessions.inference_watch import WATCH

    line = tmp_path / "line"
    line.mkdir()
    announced: list = []
    states: list = []
    session.verdicts_changed.connect(lambda: announced.append(session.status_text()))
    session.state_changed.connect(lambda _s: states.append(session.status_text()))
    session.add_model(weights, select=True)
    assert session.wait(10)
    session.set_source(str(line), WATCH)
    assert "then watching" in session.placeholder() and str(line) in session.placeholder()
    assert session.start()
    assert states == ["running · watching line · loading"]
    poll_until(session, lambda: bool(announced))
    assert announced == ["running · watching line · waiting for new images"]
    (line / "broken.png").write_bytes(b"\x89PNG broken")
    poll_until(session, lambda: len(announced) == 2)
    assert announced[-1] == "running · watching line · OK 0 · NG 0 · 1 corrupt"
    assert len(session.results.frames) == 0
    session.stop()
    assert session.wait(60)
