"""Review tab: a view over :class:`~grace_gui.sessions.review.ReviewSession`.

Open a review store or make one (a folder of images and a model, a ``grace val`` output, the
demo); the queue with its filters on the left, the image large in the middle (the model's other
detections thin in their class colour with their confidence, ground truth dashed on white, the
finding under review thick on a yellow halo with corner handles), the decision panel and the
per-class tallies on the right. Keyboard first (:data:`KEYS`); a drag on the image draws a
missed box. "Export reviewed → dataset…" writes the reviewed images as a dataset; "Fine-tune on
it" sends it and the store's model to the Train tab (:attr:`ReviewTab.fine_tune_requested`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from grace_gui.demo import Demo
from grace_gui.gui_thread import on_gui_thread
from grace_gui.sessions.jobs import Jobs
from grace_gui.sessions.review import ReviewSession, StoreInfo
from grace_gui.sessions.review_state import Counts, ShownItem
from grace_gui.settings import app_data_dir
from grace_gui.tabs.base import Tab
from grace_gui.widgets.notifications import Notice
from grace_gui.widgets.review_bar import STORE_FILES, ReviewBar, StartPage
from grace_gui.widgets.review_new import NewChoice, ask_new
from grace_gui.widgets.review_panel import ReviewPanel
from grace_gui.widgets.review_queue import ReviewQueue
from grace_gui.widgets.review_view import ImagePane, review_boxes

KEYS = {"A": "accept", "R": "reject", "O": "ok", "S": "skip", "Z": "undo", "Ctrl+Z": "undo",
        "Left": "prev", "Right": "next", "N": "next_open"}  # fmt: skip


@on_gui_thread
def _on_gui_thread(fn) -> None:
    fn()


class ReviewTab(Tab):
    title = "Review"
    fine_tune_requested = Signal(str, str)  # the exported data.yaml, the store's model

    def __init__(self, context, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.session = s = ReviewSession(Jobs(start=context.pool.start, deliver=_on_gui_thread))
        self._image = ""  # the path of the image on screen
        self._build()
        s.opened.connect(self._opened)
        s.items_changed.connect(self.queue.set_items)
        s.item_changed.connect(self.queue.model.set_item)
        s.current_changed.connect(self._show)
        s.counts_changed.connect(self._counts)
        s.exported.connect(self._exported)
        s.fine_tune.connect(self.fine_tune_requested.emit)
        s.activity_changed.connect(self._activity)
        s.message.connect(lambda line: self.context.status(line))
        s.error.connect(lambda line, d: self.context.notifications.error(self.title, line, d))
        for key, name in {**KEYS, **{str(k): f"class {k}" for k in range(1, 10)}}.items():
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda n=name: self.act(n))

    def _build(self) -> None:
        self.bar = ReviewBar()
        self.bar.requested.connect(self._request)
        self.start = StartPage(demo=self.context.demo is not None)
        self.start.requested.connect(self._request)
        self.queue = ReviewQueue()
        self.queue.filter_chosen.connect(self.session.set_filter)
        self.queue.row_chosen.connect(lambda r: r != self.session.row and self.session.select(r))
        center = ImagePane()
        self.view, self.caption = center.view, center.caption
        self.view.box_drawn.connect(
            lambda box: self.session.add_box(self.panel.new_class.currentText(), box)
        )
        self.view.box_adjusted.connect(self.session.adjust_box)
        self.panel = ReviewPanel()
        self.panel.action.connect(self.act)
        self.panel.advance.toggled.connect(lambda on: setattr(self.session, "advance", on))
        self.panel.others.toggled.connect(lambda _on: self.session.refresh())
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        for w in (self.queue, center, self.panel):
            self.splitter.addWidget(w)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([380, 520, 380])
        state = self.settings.get_bytes("review/splitter")
        if state is not None:
            self.splitter.restoreState(state)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.start)
        self.pages.addWidget(self.splitter)
        layout = QVBoxLayout(self)
        layout.addWidget(self.bar)
        layout.addWidget(self.pages, 1)

    # requests --------------------------------------------------------------------------------
    def open_store(self, path: str | Path) -> bool:
        """Open a review store (the Evaluate tab calls this with a store it made)."""
        return self.session.open_store(path)

    def create_from_val(self, weights: str, data: str, val_dir: str) -> None:
        """Make a store of the errors in the ``grace val`` output ``val_dir``, then open it."""
        self.session.create_from_val(weights, data, val_dir)

    def act(self, name: str) -> None:
        """A key or a button: a decision, undo, or moving in the queue."""
        s = self.session
        if name.startswith("class "):
            s.set_class(int(name.split()[1]))
        elif name in ("accept", "reject", "ok", "skip"):
            s.decide(name)
        else:
            {"undo": s.undo, "prev": s.prev, "next": s.next, "next_open": s.next_open}[name]()

    def _request(self, name: str) -> None:
        if name == "open":
            path = self.ask_open()
            if path:
                self.open_store(path)
        elif name in ("new", "new_folder", "new_val"):
            choice = self.ask_new("val" if name == "new_val" else "folder")
            if choice is not None and choice.source == "val":
                self.session.create_from_val(choice.weights, choice.data, choice.val_dir,
                                             choice.store)  # fmt: skip
            elif choice is not None:
                self.session.create_from_folder(choice.images, choice.weights, choice.store)
        elif name == "demo":
            self.open_demo()
        elif name == "export":
            out = self.ask_export()
            if out:
                self.session.export(out)
        elif name == "fine_tune":
            self.session.request_fine_tune()

    def ask_open(self) -> str:
        """The store to open (a dialog; tests replace it)."""
        start = self.settings.get("review/last_store", "")
        path, _ = QFileDialog.getOpenFileName(self, "Open review store", start, STORE_FILES)
        return path

    def ask_new(self, source: str) -> NewChoice | None:
        """What store to make (a dialog; tests replace it)."""
        return ask_new(self, source, self.session.info.model if self.session.info else "")

    def ask_export(self) -> str:
        """A new folder for the exported dataset (a dialog; tests replace it)."""
        start = str(self.session.info.path.parent) if self.session.info else ""
        path, _ = QFileDialog.getSaveFileName(self, "Export reviewed images as a dataset in "
                                              "the new folder", start)  # fmt: skip
        return path

    # rendering the session -------------------------------------------------------------------
    def _opened(self, info: StoreInfo) -> None:
        self.settings.set("review/last_store", str(info.path))
        self.pages.setCurrentWidget(self.splitter)
        ro = " (read-only: you can look, not decide)" if info.read_only else ""
        self.bar.path.setText(f"{info.path.name} · {info.queue} queue{ro}")
        self.bar.path.setToolTip(f"{info.path}\nmodel: {info.model}")
        self.bar.set_open(True)
        self.queue.set_choices(info.kinds, info.names)
        self.panel.set_names(info.names)
        self.panel.set_enabled(not info.read_only)
        self._image = ""

    def _show(self, shown: ShownItem | None) -> None:
        if shown is None:
            self.view.set_placeholder("No finding matches the filter")
            self.view.set_review([], None)
            self.caption.setText("")
            self._image = ""
            return
        self.queue.show_row(shown.row)
        self.caption.setText(shown.caption())
        self.caption.setToolTip(shown.item.image)
        if shown.image is None:
            name = Path(shown.item.image).name
            why = "loading …" if shown.loading else f"cannot be shown\n{shown.reason}"
            self.view.set_placeholder(f"{name}: {why}")
            self.view.set_review([], None)
            self._image = ""
            return
        if shown.item.image != self._image:
            self.view.set_image(shown.image, refit=True)
            self._image = shown.item.image
        self.view.set_review(
            *review_boxes(shown, self.session.info.names, self.panel.others.isChecked())
        )

    def _counts(self, everything: Counts, filtered: Counts) -> None:
        narrowed = filtered.total != everything.total
        extra = f"  (filter: {filtered.reviewed:,} / {filtered.total:,})" if narrowed else ""
        self.bar.counter.setText(everything.line() + extra)
        self.panel.set_counts(everything)

    def _activity(self, line: str) -> None:
        self.start.status.setText(line)
        if self.session.building:
            self.context.status(line)

    def _exported(self, manifest: dict) -> None:
        self.bar.set_open(True, can_fine_tune=True)
        line = (f"Exported {manifest['images_exported']} reviewed images to {manifest['out']}; "
                "Fine-tune on it fills the Train tab")  # fmt: skip
        self.context.notifications.notify(Notice(self.title, line, "", "info"))

    # Tab -------------------------------------------------------------------------------------
    def restore(self) -> bool:
        last = self.settings.get("review/last_store")
        return bool(last) and Path(last).is_file() and self.open_store(last)

    def open_demo(self) -> None:
        """Open the demo's review store, made first (a job) when it is not there yet."""
        demo, folder = self.context.demo, app_data_dir(self.settings)
        if (folder / "demo-review.db").is_file():
            self.open_store(folder / "demo-review.db")
        elif demo is not None:
            self.session.create_demo(str(demo.models[-1]), str(demo.data_yaml), str(folder))

    def load_demo(self, demo: Demo) -> None:
        """Open the demo's store when it was made before; else the start page offers it
        (making it runs grace val: too long to start unasked at every first launch)."""
        if (app_data_dir(self.settings) / "demo-review.db").is_file():
            self.open_demo()

    def save_state(self) -> None:
        self.settings.set_bytes("review/splitter", self.splitter.saveState())

    def busy(self) -> str:
        return self.session.busy()

    def shutdown(self) -> None:
        self.session.close()
