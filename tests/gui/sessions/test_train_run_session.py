"""TrainRunSession without Qt: form checks, a failed start, following a run, Resume's log, the
buttons at the end event, the CPU estimate (numbers worked out by hand)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grace.errors import GraceError
from grace_gui.sessions.train_estimate import CPU_S_PER_IMAGE, cpu_estimate, on_cpu
from grace_gui.sessions.train_run import TrainRunSession, form_problem
from grace_gui.sessions.training_process import LOG_FILE, TrainForm, pending_log

REPO = Path(__file__).resolve().parents[3]
DEMO_RUN = REPO / "resources" / "demo" / "runs" / "grace"


def _until(predicate, timeout: float = 120.0) -> None:
    """Wait for ``predicate`` (a deadline against hanging, not a measurement)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


def _unlabelled_dataset(root: Path) -> Path:
    """A data.yaml the form accepts (folders and images exist) but with no label at all: the
    engine refuses it before it makes a run folder."""
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True)
        Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(root / "images" / split / "a.jpg")
    data = root / "data.yaml"
    data.write_text(f"path: {root}\ntrain: images/train\nval: images/val\nnames: [scratch]\n")
    return data


class Recorder:
    """Collects what a session announces (from its watcher thread)."""

    def __init__(self, session: TrainRunSession) -> None:
        self.log: list[str] = []
        self.failed: list[tuple[str, str]] = []
        self.started: list[str] = []
        self.lock = threading.Lock()
        session.log_added.connect(self._log)
        session.failed.connect(lambda line, details: self.failed.append((line, details)))
        session.started.connect(self.started.append)

    def _log(self, text: str) -> None:
        with self.lock:
            self.log.append(text)

    def text(self) -> str:
        with self.lock:
            return "".join(self.log)


def test_sessions_import_no_qt():
    code = (
        "import sys, grace_gui.sessions.train_run, grace_gui.sessions.compare;"
        "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken', 'pyqtgraph',"
        " 'superqt'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_form_refuses_what_the_engine_would_refuse(tmp_path, tiny_data):
    form = TrainForm(data=str(tiny_data))
    assert form_problem(form) == ""
    assert form_problem(TrainForm(data="")) == "no dataset: choose a data.yaml"
    gone = tmp_path / "gone.yaml"
    assert form_problem(TrainForm(data=str(gone))) == f"{gone}: dataset file not found"
    text = tmp_path / "notes.pt"
    text.write_text("not a model\n")
    assert form_problem(TrainForm(data=str(tiny_data), weights=str(text))) == (
        f"{text}: not a PyTorch checkpoint"
    )
    csv = tmp_path / "results.csv"
    csv.write_text("epoch\n1\n")
    assert form_problem(TrainForm(data=str(tiny_data), weights=str(csv))) == (
        f"{csv}: not a checkpoint (expected a PyTorch .pt file)"
    )
    assert form_problem(TrainForm(data=str(tiny_data), weights=str(tmp_path))) == (
        f"{tmp_path}: a folder, not a checkpoint (expected a PyTorch .pt file)"
    )
    assert form_problem(TrainForm(data=str(tiny_data), imgsz=16)) == (
        "--imgsz 16: must be at least 32 (the model's largest stride)"
    )
    session = TrainRunSession()
    with pytest.raises(GraceError, match="not a PyTorch checkpoint"):
        session.start(TrainForm(data=str(tiny_data), weights=str(text)), tmp_path / "runs")
    assert session.proc is None and not (tmp_path / "runs").exists()


def test_failed_start_leaves_no_folder_no_log_and_no_started(tmp_path):
    data = _unlabelled_dataset(tmp_path / "ds")
    session = TrainRunSession()
    seen = Recorder(session)
    form = TrainForm(data=str(data), model="yolo11n", epochs=1, imgsz=64, batch=2,
                     device="cpu", workers=0)  # fmt: skip
    assert form_problem(form) == ""  # the form cannot know: the engine reads the labels
    run = session.start(form, tmp_path / "runs")
    assert run == (tmp_path / "runs" / "grace-yolo11n").resolve()
    assert "starting the training process" in session.status_text()
    assert session.wait_idle(300)
    assert session.proc is None and session.run_dir is None
    line, details = seen.failed[0]
    assert line.startswith(f"grace: error: {data}: no instances to train on")
    assert "\n" not in line and line in details
    assert seen.started == []  # no "Training started"
    assert not run.exists() and not pending_log(run).exists()
    assert list((tmp_path / "runs").iterdir()) == []
    assert session.status_text() == f"not started: {line}"
    assert session.can_start() and not session.can_stop() and not session.can_resume()


def _run_folder(run: Path, events: list[dict], log: str = "") -> Path:
    run.mkdir(parents=True, exist_ok=True)
    (run / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    if log:
        (run / LOG_FILE).write_text(log)
    return run


START = {"type": "start", "time": 1.0, "epochs": 2, "start_epoch": 0, "batches_per_epoch": 24,
         "variant": "baseline", "classes": ["a"], "config": {"model": "yolo11n.yaml",
         "epochs": 2, "imgsz": 64, "batch": 4, "data": "/d/data.yaml"}}  # fmt: skip


def test_opened_run_is_followed_then_resume_log_follows(tmp_path):
    run = _run_folder(tmp_path / "r", [START], log="epoch 1 line\n")
    session = TrainRunSession()
    seen = Recorder(session)
    session.open_run(run)
    _until(lambda: session.series.start_time == 1.0 and "epoch 1 line" in seen.text())
    assert session.series.config["model"] == "yolo11n.yaml"  # its settings, for the view
    assert session.can_stop()  # a run of another session: Stop writes its STOP file
    with open(run / "events.jsonl", "a") as f:
        f.write(json.dumps({"type": "batch", "time": 2.0, "epoch": 0, "batch": 0, "batches": 24,
                            "losses": {"box_loss": 1.5}}) + "\n")  # fmt: skip
        f.write(json.dumps({"type": "end", "time": 3.0, "stopped": True, "epochs_completed": 0,
                            "epoch_batches_done": 1, "batches": 24}) + "\n")  # fmt: skip
    with open(run / LOG_FILE, "a") as f:
        f.write("appended later\n")
    assert session.wait_idle(60)  # the end event ends the watch of a run without a process
    assert "appended later" in seen.text()
    assert session.status_text().startswith("stopped in epoch 1 after 1 of 24 batches")

    # Resume spawns `grace train --resume`; this last.pt is not a checkpoint, so the engine
    # says so in one line in train.log, which the session follows (as it follows training)
    (run / "weights").mkdir()
    (run / "weights" / "last.pt").write_text("not a checkpoint")
    assert session.can_resume()
    before = len(seen.text())
    session.resume("cpu")
    assert session.wait_idle(300)
    after = seen.text()[before:]
    assert f"$ grace train --resume {run} --device cpu" in after
    assert f"grace: error: {run / 'weights' / 'last.pt'}: not a PyTorch checkpoint" in after
    assert seen.failed[-1][0].endswith("last.pt: not a PyTorch checkpoint")
    assert session.run_dir == run.resolve()  # the folder exists: it stays shown


def test_buttons_follow_the_end_event_not_the_process_exit(tmp_path):
    end = {"type": "end", "time": 3.0, "stopped": True, "epochs_completed": 1,
           "epoch_batches_done": 24, "batches": 24}  # fmt: skip
    run = _run_folder(tmp_path / "r", [START])
    (run / "weights").mkdir()
    (run / "weights" / "last.pt").write_bytes(b"x")
    lingering = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        session = TrainRunSession()
        session.open_run(run, lingering)
        _until(lambda: session.series.start_time is not None)
        assert session.running and not session.can_start() and not session.can_resume()
        assert "keeps running in the background" in session.busy_text()
        with open(run / "events.jsonl", "a") as f:
            f.write(json.dumps(end) + "\n")
        _until(lambda: session.series.finished)
        assert lingering.poll() is None  # the process is still exiting...
        assert session.can_start() and session.can_resume()  # ...and nothing waits for it
        assert not session.can_stop() and session.busy_text() == ""
    finally:
        lingering.kill()
        lingering.wait()


def test_cpu_estimate_of_the_paper_defaults_by_hand():
    # the demo's pace: mean epoch_time of its 12 epochs / 1439 train images
    events = [json.loads(x) for x in (DEMO_RUN / "events.jsonl").read_text().splitlines()]
    times = [e["epoch_time"] for e in events if e["type"] == "epoch"]
    assert CPU_S_PER_IMAGE == pytest.approx(sum(times) / len(times) / 1439, abs=5e-5)
    form = TrainForm(data="d", model="yolo11s", epochs=200, imgsz=640)
    est = cpu_estimate(form, 1439)
    # 0.0754 s x 21.5/6.5 GFLOPs x (640/256)^2 = 1.558750 s per image; x 1439 x 200 = 448,608 s
    assert est.s_per_image == pytest.approx(1.558750, rel=1e-6)
    assert est.seconds == pytest.approx(448_608.25, rel=1e-6)
    assert est.needs_confirmation
    assert est.text().startswith("about 5.2 days on the CPU (estimate: 1439 images × 200 epochs")
    tiny = cpu_estimate(TrainForm(data="d", model="yolo11n", epochs=10, imgsz=64), 16)
    assert tiny.seconds == pytest.approx(16 * 10 * 0.0754 / 16)  # (64/256)^2 = 1/16
    assert not tiny.needs_confirmation
    assert on_cpu("", []) and on_cpu("cpu", ["0: GPU"]) and not on_cpu("", ["0: GPU"])
