"""Dataset tab: open a data.yaml / NEU-DET / VOC / image folder, browse, statistics, problems.

Everything slow runs in workers: detecting and indexing the folder (:mod:`grace.data.browse`),
importing NEU-DET/VOC (the engine's importers), ``grace data stats`` and decoding the image of
the large view; thumbnails decode lazily in the grid's own pool
(:mod:`grace_gui.widgets.thumbnails`). Methods tests can call without dialogs:
:meth:`open_path`, :meth:`import_folder`, :meth:`set_filter`, :meth:`select_image`,
:meth:`select_problem`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from grace.data.browse import DatasetIndex, folder_kind, index_dataset, pixel_boxes
from grace.images import try_read_image
from grace_gui.demo import Demo
from grace_gui.tabs.base import Tab
from grace_gui.widgets.dataset_charts import DatasetCharts
from grace_gui.widgets.image_view import Box, ImageView
from grace_gui.widgets.thumbnails import ThumbnailGrid, ThumbnailLoader, ThumbnailModel
from grace_gui.workers.qthreading import Worker

IMPORTABLE = ("neu-det", "voc")


def _scan(path: str) -> DatasetIndex | str:
    """Worker job: the index of ``path``, or its kind when it must be imported first."""
    kind = folder_kind(path)
    return kind if kind in IMPORTABLE else index_dataset(path)


def _import(src: str, out: str, kind: str | None):
    """Worker job: run the engine's importer for ``src`` into ``out``."""
    kind = kind or folder_kind(src)
    if kind == "neu-det":
        from grace.data.neu_det import import_neu_det

        return import_neu_det(src, out)
    from grace.data.voc_import import import_voc

    return import_voc(src, out)


def _load_image(path: str, boxes) -> tuple:
    """Worker job: the image (BGR, EXIF orientation applied as the trainer sees it) and its
    boxes in pixels; ``(None, why)`` when unreadable."""
    image, reason = try_read_image(path)
    if image is None:
        return None, reason
    h, w = image.shape[:2]
    return image, pixel_boxes(boxes, w, h)


class DatasetTab(Tab):
    title = "Dataset"
    dataset_loaded = Signal(str)  # the data.yaml now open ("" for a plain image folder)
    image_selected = Signal(str)  # the image in the large view
    stats_shown = Signal(object)  # the ``dataset_stats`` dict now in the charts (None: none)

    def __init__(self, context, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.index: DatasetIndex | None = None
        self.rows: list[int] = []  # index ids of the grid's items
        self.stats: dict | None = None
        self.current: int | None = None  # index id in the large view
        self._open_gen = 0
        self._view_gen = 0
        self._importing = False
        self._jobs = 0
        self._build()

    # layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        open_yaml = QPushButton("Open data.yaml…")
        open_yaml.clicked.connect(self._choose_yaml)
        open_dir = QPushButton("Open folder…")
        open_dir.setToolTip("A YOLO dataset, a NEU-DET or VOC folder (imported), or images")
        open_dir.clicked.connect(self._choose_folder)
        self.path_label = QLabel("No dataset")
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.split_combo = QComboBox()
        self.class_combo = QComboBox()
        self.class_combo.setMinimumContentsLength(14)
        for combo in (self.split_combo, self.class_combo):
            combo.currentIndexChanged.connect(self._apply_filter)
        self.count_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(120)
        self.progress.hide()
        bar = QHBoxLayout()
        for w in (open_yaml, open_dir):
            bar.addWidget(w)
        bar.addWidget(self.path_label, 1)
        bar.addWidget(self.progress)
        for w in (QLabel("Split:"), self.split_combo, QLabel("Class:"), self.class_combo):
            bar.addWidget(w)
        bar.addWidget(self.count_label)

        self.loader = ThumbnailLoader()
        self.model = ThumbnailModel(self.loader, self)
        self.grid = ThumbnailGrid(self.model)
        self.grid.selectionModel().currentChanged.connect(self._on_current)

        self.view = ImageView()
        self.view.set_placeholder("Open a data.yaml or a folder")
        self.caption = QLabel()
        center = QWidget()
        cl = QVBoxLayout(center)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.view, 1)
        cl.addWidget(self.caption)

        self.charts = DatasetCharts()
        self.problems = QTableWidget(0, 3)
        self.problems.setHorizontalHeaderLabels(["File", "Kind", "Detail"])
        self.problems.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.problems.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.problems.verticalHeader().hide()
        header = self.problems.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.problems.cellClicked.connect(lambda row, _col: self.select_problem(row))
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
        layout.addLayout(bar)
        layout.addWidget(self.splitter, 1)

    # opening ---------------------------------------------------------------------------------
    def open_path(self, path: str | Path) -> None:
        """Open a data.yaml, a YOLO/NEU-DET/VOC folder (offering the import) or images."""
        path = Path(path).expanduser()
        if not path.exists():
            self.context.notifications.error("Dataset", f"{path}: not found")
            return
        self._open_gen += 1
        gen = self._open_gen
        self._run(Worker.call(_scan, str(path)), lambda r: self._scanned(gen, path, r))

    def _scanned(self, gen: int, path: Path, result: DatasetIndex | str) -> None:
        if gen != self._open_gen:
            return  # a later open_path won
        if isinstance(result, str):
            out = self.ask_import_out(path, result)
            if out:
                self.import_folder(path, out, result)
            return
        self._show_index(result)

    def ask_import_out(self, src: Path, kind: str) -> str | None:
        """Ask where to import the ``kind`` folder ``src`` (default: a sibling
        ``<name>-yolo``); ``None`` when the user declines."""
        default = src.parent / f"{src.name}-yolo"
        box = QMessageBox(self)
        box.setWindowTitle("Import dataset")
        box.setText(f"{src} is a {kind.upper()} folder.\nImport it to YOLO in\n{default} ?")
        ok = box.addButton("Import", QMessageBox.ButtonRole.AcceptRole)
        other = box.addButton("Choose folder…", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        if box.clickedButton() is ok:
            return str(default)
        if box.clickedButton() is other:
            chosen = QFileDialog.getExistingDirectory(self, "Import into (new or empty folder)")
            return chosen or None
        return None

    def import_folder(self, src: str | Path, out: str | Path, kind: str | None = None) -> Worker:
        """Import the NEU-DET/VOC folder ``src`` into ``out`` in a worker, report its problems,
        then open the data.yaml it wrote."""
        self._importing = True
        worker = Worker.call(_import, str(src), str(out), kind)
        worker.finished.connect(lambda: setattr(self, "_importing", False))
        self.context.status(f"Importing {src} …")
        return self._run(worker, self._imported)

    def _imported(self, report) -> None:
        d = report.to_dict()
        images = ", ".join(f"{k} {v}" for k, v in d["images"].items())
        counts = d["problem_counts"]
        if counts:
            summary = ", ".join(f"{k} {v}" for k, v in counts.items())
            details = "\n".join(f"{p['file']}: {p['kind']}: {p['detail']}" for p in d["problems"])
            self.context.notifications.notify(
                _notice(f"imported {images} images to {d['out']}; problems: {summary}", details)
            )
        else:
            self.context.notifications.info("Dataset", f"imported {images} images to {d['out']}")
        self.open_path(d["data_yaml"])

    def _show_index(self, index: DatasetIndex) -> None:
        self.index = index
        shown = index.data_yaml or index.source
        self.settings.set("dataset/last_path", str(shown))
        self.path_label.setText(str(shown))
        self.path_label.setToolTip(str(shown))
        for combo, items in (
            (self.split_combo, ["All splits", *index.splits]),
            (self.class_combo, ["All classes", *index.names]),
        ):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(items)
            combo.blockSignals(False)
        self.current = None
        self._apply_filter()
        self._set_problems([])
        self.stats = None
        if index.data_yaml is not None:
            from grace.data.stats import dataset_stats

            self.charts.summary.setText("Computing statistics…")
            self._run(Worker.call(dataset_stats, str(index.data_yaml)), self._show_stats)
        else:
            self.charts.set_stats(None)
            self.stats_shown.emit(None)
        self.dataset_loaded.emit(str(index.data_yaml or ""))

    def _show_stats(self, stats: dict) -> None:
        if self.index is None or str(self.index.data_yaml) != stats["data"]:
            return  # stale
        self.stats = stats
        self.charts.set_stats(stats)
        self._set_problems(stats["problems"])
        self.stats_shown.emit(stats)

    # filters and grid ------------------------------------------------------------------------
    def set_filter(self, split: str = "", class_name: str = "") -> None:
        """Show only ``split`` (``""``: all) and images with a ``class_name`` box (``""``: all)."""
        self.split_combo.setCurrentIndex(max(0, self.split_combo.findText(split or "All splits")))
        self.class_combo.setCurrentIndex(
            max(0, self.class_combo.findText(class_name or "All classes"))
        )
        self._apply_filter()

    def _apply_filter(self) -> None:
        if self.index is None:
            return
        split = self.split_combo.currentText() if self.split_combo.currentIndex() > 0 else ""
        cls = self.class_combo.currentIndex() - 1
        self.rows = self.index.select(split, cls if cls >= 0 else None)
        self.model.set_paths([self.index.images[i].path for i in self.rows])
        self.count_label.setText(f"{len(self.rows)} of {len(self.index.images)} images")
        if self.rows:
            keep = self.current if self.current in self.rows else self.rows[0]
            self._select_row(self.rows.index(keep))

    def _select_row(self, row: int) -> None:
        index = self.model.index(row)
        if self.grid.currentIndex() == index:
            self.select_image(self.rows[row])
        else:
            self.grid.setCurrentIndex(index)
        self.grid.scrollTo(index)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and current.row() < len(self.rows):
            self.select_image(self.rows[current.row()])

    # the large view --------------------------------------------------------------------------
    def select_image(self, i: int) -> None:
        """Show image ``i`` of the index with its boxes (decoded in a worker)."""
        if self.index is None:
            return
        self.current = i
        self._view_gen += 1
        gen = self._view_gen
        item = self.index.images[i]
        worker = Worker.call(_load_image, str(item.path), item.boxes)
        self._run(worker, lambda r: self._show_image(gen, i, r), busy=False)

    def _show_image(self, gen: int, i: int, result: tuple) -> None:
        if gen != self._view_gen or self.index is None:
            return
        image, boxes = result
        item = self.index.images[i]
        if image is None:
            reason = boxes  # in place of the boxes when the image cannot be read
            self.view.set_placeholder(f"{item.path.name}: {reason}")
            self.caption.setText(f"{item.path}: {reason}")
            return
        names = self.index.names
        self.view.set_image(image, refit=True)
        self.view.set_boxes(
            [Box(*b[:4], b[4], names[b[4]] if b[4] < len(names) else str(b[4])) for b in boxes]
        )
        where = f"{item.split} · " if item.split else ""
        labels = (
            "no label file"
            if item.boxes is None
            else f"{len(boxes)} box{'es' if len(boxes) != 1 else ''}"
        )
        h, w = image.shape[:2]
        self.caption.setText(f"{item.path.name} · {where}{w}×{h} · {labels}")
        self.caption.setToolTip(str(item.path))
        self.image_selected.emit(str(item.path))

    # problems --------------------------------------------------------------------------------
    def _set_problems(self, problems: list[dict]) -> None:
        root = self.index.source if self.index else None
        self.problems.setRowCount(len(problems))
        for r, p in enumerate(problems):
            file = Path(p["file"])
            shown = str(file.relative_to(root)) if root and file.is_relative_to(root) else p["file"]
            cells = [shown, p["kind"], p["detail"]]
            for c, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                cell.setToolTip(p["file"] if c == 0 else text)
                cell.setData(Qt.ItemDataRole.UserRole, p["file"])
                self.problems.setItem(r, c, cell)
        self.problems.resizeColumnsToContents()
        self.side.setTabText(1, f"Problems ({len(problems)})")

    def select_problem(self, row: int) -> None:
        """Show the image problem ``row`` is about (its own file or its label file)."""
        cell = self.problems.item(row, 0)
        if cell is None or self.index is None:
            return
        file = cell.data(Qt.ItemDataRole.UserRole)
        i = self.index.image_of(file)
        if i is None:
            self.context.status(f"{file}: no image of this dataset to show")
            return
        if i not in self.rows:
            self.set_filter()
        self.current = i
        self._select_row(self.rows.index(i))

    # workers ---------------------------------------------------------------------------------
    def _run(self, worker: Worker, on_result, busy: bool = True) -> Worker:
        worker.result.connect(on_result)
        worker.error.connect(self.context.report(self.title))
        if busy:
            self._jobs += 1
            self.progress.show()
            worker.finished.connect(self._job_done)
        return worker.start(self.context.pool)

    def _job_done(self) -> None:
        self._jobs -= 1
        self.progress.setVisible(self._jobs > 0)

    # dialogs ---------------------------------------------------------------------------------
    def _choose_yaml(self) -> None:
        start = self.settings.get("dataset/last_dir", "")
        path, _ = QFileDialog.getOpenFileName(self, "Open data.yaml", start, "YAML (*.yaml *.yml)")
        if path:
            self.settings.set("dataset/last_dir", str(Path(path).parent))
            self.open_path(path)

    def _choose_folder(self) -> None:
        start = self.settings.get("dataset/last_dir", "")
        path = QFileDialog.getExistingDirectory(self, "Open dataset or image folder", start)
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
        return "a dataset import is going on" if self._importing else ""

    def shutdown(self) -> None:
        self.loader.shutdown()


def _notice(message: str, details: str):
    from grace_gui.widgets.notifications import Notice

    return Notice("Dataset", message, details, "warning")
