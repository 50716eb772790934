"""Dataset tab: a view over :class:`~grace_gui.sessions.dataset.DatasetSession`.

Open a data.yaml, a YOLO / NEU-DET / VOC folder (imported first) or a folder of images; browse
the images in natural order with one Split and one Class filter, see the selected image with
its boxes (zoom, fit, 100 %, boxes on/off), the ``grace data stats`` charts of the split shown,
and every problem of the import and of the dataset grouped by kind. Thumbnails decode lazily in
the grid's own threads (:mod:`grace_gui.widgets.thumbnails`); everything else slow runs in the
session's jobs, whose results ``grace_gui.gui_thread.on_gui_thread`` brings back to the GUI thread.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from grace_gui.demo import Demo
from grace_gui.gui_thread import on_gui_thread
from grace_gui.sessions.dataset import DatasetSession, ShownImage, import_summary
from grace_gui.sessions.jobs import Jobs
from grace_gui.tabs.base import Tab
from grace_gui.widgets.dataset_bar import DatasetBar
from grace_gui.widgets.dataset_charts import DatasetCharts
from grace_gui.widgets.image_view import Box, ImageView, ZoomBar
from grace_gui.widgets.import_dialog import ImportChoice, ask_import
from grace_gui.widgets.notifications import Notice
from grace_gui.widgets.problems_panel import ProblemsPanel
from grace_gui.widgets.thumbnails import ThumbnailGrid, ThumbnailLoader, ThumbnailModel


@on_gui_thread
def _on_gui_thread(fn) -> None:
    fn()


class DatasetTab(Tab):
    title = "Dataset"
    dataset_loaded = Signal(str)  # a data.yaml is open (never sent for a plain image folder)
    shown = Signal(str)  # whatever is open now: its data.yaml or its image folder
    image_selected = Signal(str)  # the image in the large view
    stats_shown = Signal(object)  # the ``dataset_stats`` dict now in the charts (None: none)

    def __init__(self, context, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.session = DatasetSession(Jobs(start=context.pool.start, deliver=_on_gui_thread))
        self._build()
        s = self.session
        s.opened.connect(self._opened)
        s.import_needed.connect(self._import_needed)
        s.imported.connect(self._imported)
        s.filtered.connect(self._filtered)
        s.current_changed.connect(self._current_changed)
        s.image_shown.connect(self._show_image)
        s.stats_changed.connect(self._show_stats)
        s.problems_changed.connect(self._show_problems)
        s.activity_changed.connect(self.bar.set_activity)
        s.message.connect(lambda line: self.context.status(line))
        s.error.connect(
            lambda line, details: self.context.notifications.error(self.title, line, details)
        )

    # layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.bar = DatasetBar()
        self.bar.open_yaml.connect(self._choose_yaml)
        self.bar.open_folder.connect(self._choose_folder)
        self.bar.filter_chosen.connect(self.session.set_filter)
        self.loader = ThumbnailLoader()
        self.model = ThumbnailModel(self.loader, self)
        self.grid = ThumbnailGrid(self.model)
        self.grid.setToolTip("The images in the filter; click one to see it large with its boxes")
        self.grid.selectionModel().currentChanged.connect(self._on_current)
        self.view = ImageView()
        self.view.set_placeholder("Open a data.yaml or a folder")
        self.zoom_bar = ZoomBar(self.view)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        center = QWidget()
        cl = QVBoxLayout(center)
        cl.setContentsMargins(0, 0, 0, 0)
        for w, stretch in ((self.zoom_bar, 0), (self.view, 1), (self.caption, 0)):
            cl.addWidget(w, stretch)

        self.charts = DatasetCharts()
        self.problems = ProblemsPanel()
        self.problems.chosen.connect(self.session.select_problem)
        self.side = QTabWidget()
        self.side.addTab(self.charts, "Statistics")
        self.side.addTab(self.problems, "Problems")
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for w in (self.grid, center, self.side):
            self.splitter.addWidget(w)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([400, 480, 400])
        state = self.settings.get_bytes("dataset/splitter")
        if state is not None:
            self.splitter.restoreState(state)
        layout = QVBoxLayout(self)
        layout.addWidget(self.bar)
        layout.addWidget(self.splitter, 1)

    # requests --------------------------------------------------------------------------------
    def open_path(self, path: str | Path) -> None:
        """Open a data.yaml, a YOLO/NEU-DET/VOC folder (offering the import) or images."""
        self.session.open(path)

    def set_filter(self, split: str = "", class_name: str = "") -> None:
        self.session.set_filter(split, class_name)

    def show_images(self, paths: list[str]) -> None:
        """Only ``paths`` in the grid (the images of a confusion-matrix cell)."""
        if (n := self.session.show_images(paths)) < len(paths):
            missing = len(paths) - n
            self.context.status(f"{missing} of {len(paths)} images are not in the open dataset")

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        rows = self.session.rows
        if (
            current.isValid()
            and current.row() < len(rows)
            and rows[current.row()] != self.session.current
        ):
            self.session.select(rows[current.row()])

    def ask_import(self, src: Path, kind: str) -> ImportChoice | None:
        """Where to import the ``kind`` folder ``src`` (a dialog; tests replace it)."""
        return ask_import(self, src, kind)

    def _import_needed(self, src: str, kind: str) -> None:
        choice = self.ask_import(Path(src), kind)
        if choice is not None and choice.open:
            self.session.open(choice.out)
        elif choice is not None:
            self.context.status(f"Importing {src} into {choice.out} …")
            self.session.import_folder(src, choice.out, kind, replace=choice.replace)

    # rendering the session -------------------------------------------------------------------
    def _opened(self, index) -> None:
        shown = str(index.data_yaml or index.source)
        self.settings.set("dataset/last_path", shown)
        self.bar.set_path(shown)
        self.bar.set_choices(index.splits, index.names)
        if index.data_yaml is not None:  # an image folder leaves the other tabs' dataset alone
            self.charts.summary.setText("Computing statistics…")
            self.dataset_loaded.emit(str(index.data_yaml))
        self.shown.emit(shown)

    def _filtered(self, rows: list[int]) -> None:
        s = self.session
        self.model.set_paths([s.index.images[i].path for i in rows])
        self.bar.show_filter(s.split, s.class_name, len(rows), len(s.index.images))
        self.charts.set_split(s.split)

    def _current_changed(self, i: int) -> None:
        row = self.model.index(self.session.rows.index(i))
        if self.grid.currentIndex() != row:
            self.grid.setCurrentIndex(row)
        self.grid.scrollTo(row)

    def _show_image(self, shown: ShownImage | None) -> None:
        if shown is None:
            self.view.set_placeholder("No image matches the filter")
            self.caption.setText("")
            return
        self.caption.setText(shown.caption())
        self.caption.setToolTip(str(shown.path))
        if shown.image is None:
            self.view.set_placeholder(f"{shown.path.name}: cannot be shown\n{shown.reason}")
            return
        names = self.session.index.names
        self.view.set_image(shown.image, refit=True)
        self.view.set_boxes(
            [
                Box(*b[:4], b[4], names[b[4]] if b[4] < len(names) else str(b[4]))
                for b in shown.boxes
            ]
        )
        self.image_selected.emit(str(shown.path))

    def _show_stats(self, stats: dict | None) -> None:
        self.charts.set_stats(stats)
        self.stats_shown.emit(stats)

    def _show_problems(self, groups) -> None:
        self.problems.set_groups(groups)
        serious = sum(len(g.problems) for g in groups if g.level == "serious")
        extra = f", {serious} serious" if serious else ""
        self.side.setTabText(1, f"Problems ({self.problems.count()}{extra})")

    def _imported(self, report: dict) -> None:
        line, details = import_summary(report)
        level = "warning" if report["problem_counts"] else "info"
        self.context.notifications.notify(Notice(self.title, line, details, level))

    # dialogs ---------------------------------------------------------------------------------
    def _choose_yaml(self) -> None:
        start = self.settings.get("dataset/last_dir", "")
        path, _ = QFileDialog.getOpenFileName(self, "Open data.yaml", start, "YAML (*.yaml *.yml)")
        self._chosen(path)

    def _choose_folder(self) -> None:
        start = self.settings.get("dataset/last_dir", "")
        self._chosen(QFileDialog.getExistingDirectory(self, "Open dataset or image folder", start))

    def _chosen(self, path: str) -> None:
        if path:
            self.settings.set("dataset/last_dir", str(Path(path).parent))
            self.open_path(path)

    # Tab -------------------------------------------------------------------------------------
    def restore(self) -> bool:
        last = self.settings.get("dataset/last_path")
        if not last or not Path(last).exists():
            return False
        self.open_path(last)
        return True

    def load_demo(self, demo: Demo) -> None:
        self.open_path(demo.data_yaml)

    def save_state(self) -> None:
        self.settings.set_bytes("dataset/splitter", self.splitter.saveState())

    def busy(self) -> str:
        return self.session.busy()

    def shutdown(self) -> None:
        self.session.close()
        self.loader.shutdown()
