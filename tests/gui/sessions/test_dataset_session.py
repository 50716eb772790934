"""The Dataset session without Qt: opening, natural order, filters, unreadable images with their
reason, import problems grouped (serious first, differing duplicates on top) and found again on
reopening, re-imports that never replace silently, the activity line ending with the import,
and late results dropped. Expected values are counted from the files each test writes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from grace_gui.sessions.dataset import DatasetSession, import_summary
from grace_gui.sessions.dataset_problems import DIFFERING, previous_import
from grace_gui.sessions.jobs import Jobs

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "core" / "data"))
from _data_builders import write_image, write_xml  # noqa: E402

REPO = Path(__file__).resolve().parents[3]


class Record:
    """Every emission of every signal of a session, as (signal name, args)."""

    NAMES = (
        "opened", "import_needed", "imported", "filtered", "current_changed", "image_shown",
        "stats_changed", "problems_changed", "activity_changed", "message", "error",
    )  # fmt: skip

    def __init__(self, session: DatasetSession) -> None:
        self.events: list[tuple] = []
        for name in self.NAMES:
            getattr(session, name).connect(lambda *a, n=name: self.events.append((n, *a)))

    def of(self, name: str) -> list[tuple]:
        return [e[1:] for e in self.events if e[0] == name]


class Deferred(Jobs):
    """Jobs that wait in a list until the test runs them, in the order it chooses."""

    def __init__(self) -> None:
        self.waiting: list = []
        super().__init__(start=self.waiting.append)

    def run_all(self) -> None:
        while self.waiting:
            self.waiting.pop(0)()


def test_the_session_imports_no_qt():
    code = (
        "import sys, grace_gui.sessions.dataset, grace_gui.sessions.dataset_problems;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'shiboken6', 'qtpy', 'PyQt5', 'PyQt6')))"
    )
    env = {"PYTHONPATH": f"{REPO / 'core'}:{REPO}", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def _yolo(root: Path) -> Path:
    """train: t_1, t_2, t_10 (t_10 unreadable), val: v_3; class 0 'a' in t_1 and v_3, class 1
    'b' in t_2; t_2's label also has a class-7 line (dropped: class_out_of_range)."""
    for name, split in (("t_1", "train"), ("t_2", "train"), ("v_3", "val")):
        write_image(root / "images" / split / f"{name}.jpg", 64, 48, seed=len(name) + ord(name[-1]))
    (root / "images" / "train" / "t_10.jpg").write_bytes(b"not a jpeg at all")
    labels = {
        "train/t_1": "0 0.5 0.5 0.5 0.5\n",
        "train/t_2": "1 0.5 0.5 0.25 0.25\n7 0.5 0.5 0.1 0.1\n",
        "train/t_10": "0 0.5 0.5 0.5 0.5\n",
        "val/v_3": "0 0.25 0.25 0.5 0.5\n0 0.75 0.75 0.5 0.5\n",
    }
    for rel, text in labels.items():
        (root / "labels" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "labels" / f"{rel}.txt").write_text(text)
    data = {"train": "images/train", "val": "images/val", "names": {0: "a", 1: "b"}}
    (root / "data.yaml").write_text(yaml.safe_dump(data))
    return root / "data.yaml"


def test_open_filter_and_select_with_reasons(tmp_path):
    data = _yolo(tmp_path / "ds")
    session = DatasetSession()  # inline jobs: every result arrives before the call returns
    rec = Record(session)
    session.open(data)
    names = [session.index.images[i].path.stem for i in session.rows]
    assert names == ["t_1", "t_2", "t_10", "v_3"]  # natural order: t_2 before t_10
    assert rec.of("opened")[0][0].data_yaml == data
    # the first image is selected and shown with its one box, 64x48 -> (16, 12, 48, 36)
    shown = rec.of("image_shown")[-1][0]
    assert shown.path.name == "t_1.jpg" and shown.boxes == ((16.0, 12.0, 48.0, 36.0, 0),)
    assert shown.caption() == "t_1.jpg · train · 64×48 · 1 box"

    session.set_filter("val", "a")
    assert [session.index.images[i].path.stem for i in session.rows] == ["v_3"]
    assert rec.of("image_shown")[-1][0].boxes == ((0, 0, 32, 24, 0), (32, 24, 64, 48, 0))
    session.set_filter("", "b")
    assert [session.index.images[i].path.stem for i in session.rows] == ["t_2"]
    session.set_filter("test", "nope")  # not in this dataset: no filter
    assert (session.split, session.class_name, len(session.rows)) == ("", "", 4)

    session.select(session.rows[2])  # t_10: garbage bytes
    broken = rec.of("image_shown")[-1][0]
    assert broken.image is None and broken.path.name == "t_10.jpg"
    assert broken.reason == "cannot decode image (corrupt or unsupported format)"  # the reader's
    assert broken.caption() == f"t_10.jpg: cannot be shown: {broken.reason}"

    stats = rec.of("stats_changed")[-1][0]
    assert stats["total"]["images"] == 4
    groups = rec.of("problems_changed")[-1][0]
    kinds = {g.key: [p.file for p in g.problems] for g in groups}
    assert kinds["class_out_of_range"] == [str(tmp_path / "ds" / "labels" / "train" / "t_2.txt")]
    assert kinds["unreadable_image"] == [str(tmp_path / "ds" / "images" / "train" / "t_10.jpg")]
    assert [g.key for g in groups] == ["unreadable_image", "class_out_of_range"]  # HANDLING order
    assert all(g.level == "serious" for g in groups)
    # a problem leads to its image, clearing a filter that hides it
    session.set_filter("val")
    assert session.select_problem(groups[1].problems[0]) is True
    assert session.split == "" and session.index.images[session.current].path.stem == "t_2"
    assert rec.of("error") == []


def _voc(root: Path, n: int) -> None:
    """``n`` images img_0..; img_0 also copied to img_dup with a different box (a duplicate
    whose labels differ); every third image grey stored as RGB."""
    for i in range(n):
        write_image(root / "JPEGImages" / f"img_{i}.jpg", 100, 80, seed=i, gray=i % 3 == 0)
        write_xml(root / "Annotations" / f"img_{i}.xml", f"img_{i}.jpg", [("pit", 10, 10, 50, 40)])
    shutil.copy(root / "JPEGImages" / "img_0.jpg", root / "JPEGImages" / "img_dup.jpg")
    write_xml(root / "Annotations" / "img_dup.xml", "img_dup.jpg", [("pit", 20, 20, 60, 70)])


def test_import_problems_are_grouped_serious_first_and_found_again(tmp_path):
    src, out = tmp_path / "voc", tmp_path / "out"
    _voc(src, 7)
    session = DatasetSession()
    rec = Record(session)
    session.open(src)
    assert rec.of("import_needed") == [(str(src), "voc")] and session.index is None
    assert session.import_folder(src, out, "voc") is True
    report = rec.of("imported")[0][0]
    assert sum(report["images"].values()) == 7  # 8 files, the duplicate dropped
    assert session.index.data_yaml == out / "data.yaml"
    groups = session.problem_groups()
    # img_0 and img_dup have the same bytes; the kept one is the first by name (img_0)
    assert groups[0].key == DIFFERING and groups[0].title == "duplicate_image: labels differ"
    assert [p.file for p in groups[0].problems] == [str(src / "JPEGImages" / "img_dup.jpg")]
    grey = [g for g in groups if g.key == "grayscale_as_rgb"][0]
    assert len(grey.problems) == 3 and grey.level == "note"  # img_0, img_3, img_6
    assert [g.level for g in groups] == sorted(
        (g.level for g in groups), key=("serious", "fixed", "note").index
    )
    assert groups[0].problems[0].shown == "JPEGImages/img_dup.jpg"
    line, details = import_summary(report)
    assert line == (f"imported train 6, val 1 images to {out}; problems: duplicate_image 1, "
                    "grayscale_as_rgb 3 (see the Problems tab)")  # fmt: skip
    assert details.splitlines()[0].startswith("duplicate images with different annotations")
    # a problem in the import's source is no image of the dataset: said, nothing selected
    current = session.current
    assert session.select_problem(groups[0].problems[0]) is False
    assert rec.of("message")[-1][0] == (
        f"{src / 'JPEGImages' / 'img_dup.jpg'}: no image of this dataset to show "
        "(a file of the import's source, not imported)"
    )
    assert session.current == current
    # ... but one that was imported leads to the imported image of the same stem
    assert session.select_problem(grey.problems[1]) is True  # img_3
    assert session.index.images[session.current].path.name == "img_3.jpg"
    assert session.index.images[session.current].path.parent.parent.parent == out

    again = DatasetSession()  # reopened later: the import's problems are there again
    again.open(out / "data.yaml")
    assert [(g.key, len(g.problems)) for g in again.problem_groups()] == [
        (g.key, len(g.problems)) for g in groups
    ]
    (out / "import_report.json").write_text("{broken")
    third = DatasetSession()
    said = Record(third)
    third.open(out)
    assert said.of("message")[0][0].startswith(f"{out / 'import_report.json'}: cannot be read")


def test_an_earlier_import_is_never_replaced_without_asking(tmp_path):
    src, out = tmp_path / "voc", tmp_path / "out"
    _voc(src, 4)
    session = DatasetSession()
    rec = Record(session)
    assert previous_import(out) is None
    session.import_folder(src, out, "voc")
    before = (out / "data.yaml").read_bytes(), (out / "import_report.json").read_bytes()
    earlier = previous_import(out)
    assert (earlier.source, earlier.images) == (str(src), 4)
    write_image(src / "JPEGImages" / "img_9.jpg", seed=9)
    write_xml(src / "Annotations" / "img_9.xml", "img_9.jpg", [("pit", 1, 1, 30, 30)])
    assert session.import_folder(src, out, "voc") is False
    line = rec.of("error")[-1][0]
    assert line.startswith(f"{out} already holds an import of {src} (4 images, ")
    assert line.endswith("; not replaced") and "\n" not in line
    assert ((out / "data.yaml").read_bytes(), (out / "import_report.json").read_bytes()) == before
    assert session.import_folder(src, out, "voc", replace=True) is True
    assert json.loads((out / "import_report.json").read_text())["images"] == {"train": 4, "val": 1}
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert session.import_folder(src, foreign, "voc") is False
    assert rec.of("error")[-1] == (
        f"{foreign}: not empty (notes.txt); give a new or empty output folder",
        "",
    )
    assert (foreign / "notes.txt").read_text() == "mine" and len(list(foreign.iterdir())) == 1


def test_the_activity_line_ends_with_the_import(tmp_path):
    src, out = tmp_path / "voc", tmp_path / "out"
    _voc(src, 3)
    jobs = Deferred()
    session = DatasetSession(jobs)
    rec = Record(session)
    session.import_folder(src, out, "voc")
    assert session.busy() == "a dataset import is going on"
    assert rec.of("activity_changed")[-1] == (f"Importing {src} …",)
    jobs.run_all()  # the import, then opening its data.yaml, the stats and the first image
    assert session.busy() == "" and session.activity() == ""
    assert rec.of("activity_changed")[-1] == ("",)
    assert rec.of("message")[0] == (f"Imported 3 images into {out} (2 problems)",)
    # an import that fails (no image at all) ends the same way, with one line
    empty = tmp_path / "empty"
    (empty / "Annotations").mkdir(parents=True)
    write_xml(empty / "Annotations" / "x.xml", "x.jpg", [("pit", 1, 1, 9, 9)])
    session.import_folder(empty, tmp_path / "out2", "voc")
    jobs.run_all()
    line, details = rec.of("error")[-1]
    assert "\n" not in line and str(tmp_path / "out2") in line and "Traceback" in details
    assert rec.of("message")[-1] == (f"Import of {empty} failed",)
    assert session.busy() == "" and rec.of("activity_changed")[-1] == ("",)


def test_late_results_are_dropped(tmp_path):
    a = _yolo(tmp_path / "a")
    for i in range(3):
        write_image(tmp_path / "plain" / f"p{i}.png", 40, 30, seed=i)
    jobs = Deferred()
    session = DatasetSession(jobs)
    rec = Record(session)
    session.open(a)
    session.open(tmp_path / "plain")
    first, second = jobs.waiting
    jobs.waiting.clear()
    second()  # the later open answers first ...
    first()  # ... and the earlier one's answer is dropped
    assert session.index.source == tmp_path / "plain" and session.index.data_yaml is None
    assert len(rec.of("opened")) == 1 and rec.of("stats_changed") == [(None,)]
    jobs.run_all()
    session.select(1)
    session.select(2)
    one, two = jobs.waiting
    jobs.waiting.clear()
    two()
    one()
    assert rec.of("image_shown")[-1][0].path.name == "p2.png"
    session.close()
    session.select(0)
    jobs.run_all()
    assert rec.of("image_shown")[-1][0].path.name == "p2.png"  # closed: nothing more arrives
    missing = tmp_path / "gone"
    session.open(missing)
    assert rec.of("error")[-1] == (f"{missing}: not found", "")
