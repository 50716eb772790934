"""The Dataset tab's session (Qt-free): the open dataset, its filter and selected image, imports
and every problem found, the statistics.

Slow work (indexing a folder, importing NEU-DET/VOC, ``grace data stats``, decoding the large
image) runs through :class:`~grace_gui.sessions.jobs.Jobs`; results that arrive after a newer
request (another dataset opened, another image selected) are dropped. The problems are those of
:mod:`grace_gui.sessions.dataset_problems`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from psygnal import Signal

from grace.data.browse import DatasetIndex, folder_kind, index_dataset, pixel_boxes
from grace.data.output import check_out
from grace.errors import GraceError
from grace_gui.sessions.dataset_problems import (
    FoundProblem,
    ImportProblems,
    ProblemGroup,
    group_problems,
    previous_import,
    read_import_problems,
)
from grace_gui.sessions.jobs import Jobs

IMPORTABLE = ("neu-det", "voc")


@dataclass(frozen=True)
class ShownImage:
    """The image in the large view: ``image`` (BGR) and its boxes in pixels, or ``None`` and the
    ``reason`` it cannot be shown."""

    index: int
    path: Path
    split: str
    image: np.ndarray | None
    boxes: tuple[tuple[float, float, float, float, int], ...]
    labelled: bool
    reason: str = ""

    def caption(self) -> str:
        if self.image is None:
            return f"{self.path.name}: cannot be shown: {self.reason}"
        h, w = self.image.shape[:2]
        n = len(self.boxes)
        labels = f"{n} box{'es' if n != 1 else ''}" if self.labelled else "no label file"
        where = f"{self.split} · " if self.split else ""
        return f"{self.path.name} · {where}{w}×{h} · {labels}"


def scan(path: str) -> tuple[DatasetIndex | str, ImportProblems]:
    """Job: the index of ``path`` and its import's problems, or its kind when it must be
    imported first."""
    kind = folder_kind(path)
    if kind in IMPORTABLE:
        return kind, ImportProblems()
    index = index_dataset(path)
    found = read_import_problems(index.data_yaml.parent) if index.data_yaml else ImportProblems()
    return index, found


def load_image(path: str, boxes) -> tuple[np.ndarray | None, list, str]:
    """Job: the image (BGR, read by :func:`grace.images.try_read_image`: EXIF orientation
    applied, as the trainer and grace predict see it), its boxes in pixels and ``""``; or
    ``None, [], reason`` with the reader's one-line reason."""
    from grace.images import try_read_image

    image, reason = try_read_image(path)
    if image is None:
        return None, [], reason
    h, w = image.shape[:2]
    return image, pixel_boxes(boxes, w, h), ""


def run_import(src: str, out: str, kind: str) -> dict:
    """Job: the engine's importer for the ``kind`` folder ``src`` into ``out``; its report."""
    if kind == "neu-det":
        from grace.data.neu_det import import_neu_det

        return import_neu_det(src, out).to_dict()
    from grace.data.voc_import import import_voc

    return import_voc(src, out).to_dict()


def import_summary(report: dict) -> tuple[str, str]:
    """The one line and the details to show for an import's ``report``: counts of images and of
    problems per kind; the details start with the report's warnings (duplicates whose labels
    differ, class names that look like typos), then every problem."""
    images = ", ".join(f"{k} {v}" for k, v in report["images"].items())
    line = f"imported {images} images to {report['out']}"
    counts = report["problem_counts"]
    if counts:
        line += "; problems: " + ", ".join(f"{k} {v}" for k, v in counts.items())
        line += " (see the Problems tab)"
    problems = [f"{p['file']}: {p['kind']}: {p['detail']}" for p in report["problems"]]
    return line, "\n".join(report["warnings"] + problems)


def _stats(data_yaml: str) -> dict:
    from grace.data.stats import dataset_stats

    return dataset_stats(data_yaml)


class DatasetSession:
    """What the Dataset tab shows and runs. Requests are methods; results are signals."""

    opened = Signal(object)  # DatasetIndex: a dataset or an image folder is open
    import_needed = Signal(str, str)  # source folder, kind: ask where to import it
    imported = Signal(dict)  # the report of an import that ended well
    filtered = Signal(list)  # the index ids the filter lets through, in display order
    current_changed = Signal(int)  # the index id now selected
    image_shown = Signal(object)  # ShownImage, or None when the filter lets nothing through
    stats_changed = Signal(object)  # ``dataset_stats``' dict, or None
    problems_changed = Signal(list)  # list[ProblemGroup]
    activity_changed = Signal(str)  # what runs now ("" when nothing)
    message = Signal(str)  # a line for the status bar
    error = Signal(str, str)  # one line, details

    def __init__(self, jobs: Jobs | None = None) -> None:
        self.jobs = jobs or Jobs.inline()
        self.index: DatasetIndex | None = None
        self.rows: list[int] = []
        self.split = ""
        self.class_name = ""
        self.current: int | None = None
        self.stats: dict | None = None
        self.import_found = ImportProblems()
        self.check_problems: tuple[FoundProblem, ...] = ()
        self.importing: list[str] = []  # source folders being imported
        self.running = 0  # jobs started and not yet delivered
        self._open_gen = 0
        self._view_gen = 0
        self._closed = False
        self._by_stem: dict[str, list[int]] | None = None

    # running ---------------------------------------------------------------------------------
    def _run(self, fn, *args, on_result, on_error=None) -> None:
        self.running += 1
        self.activity_changed.emit(self.activity())

        def done(handler, *values) -> None:
            self.running -= 1
            if self._closed:
                return
            handler(*values)
            self.activity_changed.emit(self.activity())

        self.jobs.run(
            fn,
            *args,
            on_result=lambda v: done(on_result, v),
            on_error=lambda line, details: done(on_error or self.error.emit, line, details),
        )

    def close(self) -> None:
        """Drop every result still to come (the window is closing)."""
        self._closed = True

    def activity(self) -> str:
        """What runs now, for the status line: imports by name, else "Working…", else ``""``."""
        if self.importing:
            return "; ".join(f"Importing {s} …" for s in self.importing)
        return "Working…" if self.running else ""

    def busy(self) -> str:
        """Why closing now would lose work, or ``""``."""
        return "a dataset import is going on" if self.importing else ""

    # opening ---------------------------------------------------------------------------------
    def open(self, path: str | Path) -> None:
        """Open a data.yaml, a YOLO folder or a plain image folder; a NEU-DET/VOC folder
        announces :attr:`import_needed` instead."""
        path = Path(path).expanduser()
        if not path.exists():
            self.error.emit(f"{path}: not found", "")
            return
        self._open_gen += 1
        gen = self._open_gen
        self._run(scan, str(path), on_result=lambda r: self._scanned(gen, path, *r))

    def _scanned(self, gen: int, path: Path, found, imp: ImportProblems) -> None:
        if gen != self._open_gen:
            return  # a later open won
        if isinstance(found, str):
            self.import_needed.emit(str(path), found)
            return
        self.index, self.import_found, self._by_stem = found, imp, None
        self.split, self.class_name, self.current = "", "", None
        self.stats, self.check_problems = None, ()
        if imp.unreadable:
            self.message.emit(imp.unreadable)
        self.opened.emit(found)
        self.problems_changed.emit(self.problem_groups())
        if found.data_yaml is not None:
            self._run(_stats, str(found.data_yaml), on_result=self._stats_ready)
        else:
            self.stats_changed.emit(None)
        self.set_filter()

    def _stats_ready(self, stats: dict) -> None:
        if self.index is None or str(self.index.data_yaml) != stats["data"]:
            return  # another dataset is open now
        self.stats = stats
        root = str(self.index.source)
        self.check_problems = tuple(
            FoundProblem(p["file"], p["kind"], p["detail"], "check", root)
            for p in stats["problems"]
        )
        self.stats_changed.emit(stats)
        self.problems_changed.emit(self.problem_groups())

    # importing -------------------------------------------------------------------------------
    def import_folder(
        self, src: str | Path, out: str | Path, kind: str, replace: bool = False
    ) -> bool:
        """Import the NEU-DET/VOC folder ``src`` into ``out``, then open it. An earlier import
        in ``out`` is replaced only with ``replace``; ``False`` (and :attr:`error`) when the
        import cannot start."""
        src, out = Path(src), Path(out)
        try:
            check_out(out, src)
            earlier = previous_import(out)
            if earlier is not None and not replace:
                raise GraceError(f"{earlier.text()}; not replaced")
        except GraceError as e:
            self.error.emit(str(e), "")
            return False
        self.importing.append(str(src))

        def finished(handler, *values) -> None:
            self.importing.remove(str(src))
            handler(*values)

        self._run(
            run_import,
            str(src),
            str(out),
            kind,
            on_result=lambda r: finished(self._imported, r),
            on_error=lambda line, details: finished(self._import_failed, src, line, details),
        )
        return True

    def _imported(self, report: dict) -> None:
        n = sum(report["images"].values())
        problems = len(report["problems"])
        self.message.emit(f"Imported {n} images into {report['out']} ({problems} problems)")
        self.imported.emit(report)
        self.open(report["data_yaml"])

    def _import_failed(self, src: Path, line: str, details: str) -> None:
        self.message.emit(f"Import of {src} failed")
        self.error.emit(line, details)

    # filter and selection --------------------------------------------------------------------
    def set_filter(self, split: str = "", class_name: str = "") -> None:
        """Let through only ``split`` (``""``: all) and images with a ``class_name`` box
        (``""``: all); the selection stays when it passes, else moves to the first image."""
        if self.index is None:
            return
        self.split = split if split in self.index.splits else ""
        self.class_name = class_name if class_name in self.index.names else ""
        cls = self.index.names.index(self.class_name) if self.class_name else None
        self.rows = self.index.select(self.split, cls)
        self.filtered.emit(self.rows)
        if self.rows:
            self.select(self.current if self.current in self.rows else self.rows[0])
        else:
            self.current = None
            self.image_shown.emit(None)

    def show_images(self, paths) -> int:
        """Let through only the images at ``paths`` (e.g. a confusion-matrix cell's, from the
        Evaluate tab); how many of them the open dataset holds."""
        if self.index is None:
            return 0
        wanted = {Path(p).resolve() for p in paths}
        self.rows = [i for i, im in enumerate(self.index.images) if im.path.resolve() in wanted]
        self.filtered.emit(self.rows)
        if self.rows:
            self.select(self.rows[0])
        else:
            self.current = None
            self.image_shown.emit(None)
        return len(self.rows)

    def select(self, i: int) -> None:
        """Show image ``i`` of the index with its boxes (decoded in a job)."""
        if self.index is None or not 0 <= i < len(self.index.images):
            return
        self.current = i
        self._view_gen += 1
        gen = self._view_gen
        self.current_changed.emit(i)
        item = self.index.images[i]
        self._run(
            load_image, str(item.path), item.boxes, on_result=lambda r: self._loaded(gen, i, r)
        )

    def _loaded(self, gen: int, i: int, result: tuple) -> None:
        if gen != self._view_gen or self.index is None:
            return  # another image was selected meanwhile
        image, boxes, reason = result
        item = self.index.images[i]
        shown = ShownImage(
            i, item.path, item.split, image, tuple(boxes), item.boxes is not None, reason
        )
        self.image_shown.emit(shown)

    # problems --------------------------------------------------------------------------------
    def problems(self) -> list[FoundProblem]:
        """The import's problems, then those ``grace data stats`` found."""
        return [*self.import_found.problems, *self.check_problems]

    def problem_groups(self) -> list[ProblemGroup]:
        return group_problems(self.problems(), self.import_found.differing)

    def _image_of(self, problem: FoundProblem) -> int | None:
        """The index id of the image ``problem`` is about: its file or label file; for an
        import's problem (a source file) the one imported image of the same stem."""
        if self.index is None:
            return None
        i = self.index.image_of(problem.file)
        if i is not None or problem.origin != "import":
            return i
        if self._by_stem is None:
            by: dict[str, list[int]] = {}
            for k, im in enumerate(self.index.images):
                by.setdefault(im.path.stem, []).append(k)
            self._by_stem = by
        found = self._by_stem.get(Path(problem.file).stem, [])
        return found[0] if len(found) == 1 else None

    def select_problem(self, problem: FoundProblem) -> bool:
        """Select the image ``problem`` is about (the filter is cleared when it hides it);
        ``False`` with a :attr:`message` when it is no image of this dataset."""
        i = self._image_of(problem)
        if i is None:
            where = (
                " (a file of the import's source, not imported)"
                if problem.origin == "import"
                else ""
            )
            self.message.emit(f"{problem.file}: no image of this dataset to show{where}")
            return False
        if i not in self.rows:
            self.set_filter()
        self.select(i)
        return True
