"""The Review tab's session (Qt-free): the open review store, the queue filter (kind, class,
status), the item under review, the decisions, the counters, export and fine-tuning requests.

Every decision goes through the engine (:meth:`grace.review.store.ReviewStore.decide`), which
commits it before it returns; only then does the session move on. After ``accept``, ``reject``,
``ok``, ``skip`` and a class change it shows the next open item of the filter (when
:attr:`ReviewSession.advance` is on); a box adjusted or added keeps the item on screen. ``undo``
takes back this session's last decision (else the current item's) and shows its item again.

Images are decoded in jobs (:func:`grace.images.try_read_image`); while the reviewer looks at one
item, the images of the next items are decoded ahead into a small cache, so the next item
shows at once. Listing a store, making one, and exporting run as jobs too; their results come
back through :class:`~grace_gui.sessions.jobs.Jobs` on the session's thread, and results of an
earlier request are dropped (a listing of a store no longer open, an image of an item no longer
shown: it stays in the cache). The open store's
SQLite connection belongs to the session's thread: the jobs open their own.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from psygnal import Signal

from grace.errors import GraceError
from grace.review.export import export_store
from grace.review.new import NewStore, make_store
from grace.review.store import Item, ReviewStore
from grace_gui.sessions.jobs import Jobs
from grace_gui.sessions.review_state import (
    Counts,
    ShownItem,
    count,
    store_beside_folder,
    store_in_val_dir,
)

ADVANCING = ("accept", "reject", "ok", "skip", "class")  # then the next open item shows
CACHE_SIZE = 8  # decoded images kept (the current one, the ones ahead, a few behind)


@dataclass(frozen=True)
class StoreInfo:
    """An open store: its file, class names, queue, model, kinds of items and whether it is
    read-only."""

    path: Path
    names: tuple[str, ...]
    queue: str
    model: str
    kinds: tuple[str, ...]
    read_only: bool


def list_items(path: str) -> list[Item]:
    """Job: every item of the store at ``path`` in review order (its own connection)."""
    with ReviewStore(path) as st:
        return st.items()


def decode(path: str):
    """Job: ``(image, reason)`` of :func:`grace.images.try_read_image`."""
    from grace.images import try_read_image

    return try_read_image(path)


def build_store(req: NewStore) -> str:
    """Job: make the store ``req`` asks for (:func:`grace.review.new.make_store`); its path."""
    make_store(req, log=lambda _line: None)
    return req.store


def build_demo_store(weights: str, data: str, folder: str) -> str:
    """Job: the demo's review store in ``folder`` (made once; opened when there): ``grace val``
    of the demo model on the demo's val split, then its errors queue."""
    from grace.eval.validate import METRICS_FILE, validate

    store = Path(folder) / "demo-review.db"
    if store.is_file():
        return str(store)
    Path(folder).mkdir(parents=True, exist_ok=True)
    val = Path(folder) / "demo-val"
    if not (val / METRICS_FILE).is_file():
        validate(weights, data, out=val)
    make_store(NewStore(str(store), weights, data=data, val_dir=str(val)), log=lambda _l: None)
    return str(store)


class ReviewSession:
    """What the Review tab shows and runs. Requests are methods; results are signals."""

    opened = Signal(object)  # StoreInfo
    items_changed = Signal(list)  # the items the filter lets through (list[Item]), in order
    item_changed = Signal(int, object)  # row, Item: a row's state changed (a decision)
    current_changed = Signal(object)  # ShownItem, or None when the filter lets nothing through
    counts_changed = Signal(object, object)  # Counts of the store, Counts of the filter
    decided = Signal(object)  # the committed grace.review.decisions.Decision
    exported = Signal(dict)  # the export's manifest, plus "out" and "data_yaml"
    fine_tune = Signal(str, str)  # data.yaml, weights
    activity_changed = Signal(str)  # what runs now ("" when nothing)
    message = Signal(str)  # a line for the status bar
    error = Signal(str, str)  # one line, details

    def __init__(self, jobs: Jobs | None = None, ahead: int = 2) -> None:
        self.jobs = jobs or Jobs.inline()
        self.ahead = ahead  # images decoded ahead of the one shown
        self.advance = True  # show the next open item after a decision
        self.store: ReviewStore | None = None
        self.info: StoreInfo | None = None
        self.all: dict[int, Item] = {}  # every item, review order
        self.rows: list[int] = []  # the item ids the filter lets through
        self.kind = self.cls = self.status = ""
        self.row: int | None = None
        self.history: list[int] = []  # items decided in this session, last last
        self.last_export: Path | None = None  # its data.yaml
        self.cache: OrderedDict[str, tuple] = OrderedDict()  # image path -> (image, reason)
        self.decoding: set[str] = set()
        self.building = ""  # the store being made
        self.running = 0
        self._of_image: dict[int, list[int]] = {}  # image id -> its item ids
        self._row_of: dict[int, int] = {}  # item id -> its row in the filter
        self._open_gen = 0
        self._closed = False

    # running ---------------------------------------------------------------------------------
    def _run(self, fn, *args, on_result, on_error=None) -> None:
        self.running += 1
        self.activity_changed.emit(self.activity())

        def done(handler, *values) -> None:
            self.running -= 1
            if not self._closed:
                handler(*values)
                self.activity_changed.emit(self.activity())

        self.jobs.run(fn, *args, on_result=lambda v: done(on_result, v),
                      on_error=lambda ln, d: done(on_error or self.error.emit, ln, d))  # fmt: skip

    def activity(self) -> str:
        if self.building:
            return f"Making the review store {self.building} …"
        return "Working…" if self.running > len(self.decoding) else ""

    def busy(self) -> str:
        return f"a review store is being made ({self.building})" if self.building else ""

    def close(self) -> None:
        """Drop every result still to come and close the store (the window is closing)."""
        self._closed = True
        if self.store is not None:
            self.store.close()
            self.store = None

    # opening and making ----------------------------------------------------------------------
    def open_store(self, path: str | Path) -> bool:
        """Open the store at ``path`` and list its items (in a job); ``False`` (and
        :attr:`error`) when it cannot be opened."""
        try:
            store = ReviewStore(Path(path).expanduser())
        except GraceError as e:
            self.error.emit(str(e), "")
            return False
        if self.store is not None:
            self.store.close()
        self.store, self.all, self.rows, self.row, self._row_of = store, {}, [], None, {}
        self.history, self.last_export = [], None
        self.cache.clear()
        self.kind = self.cls = self.status = ""
        model = (store.meta.get("model") or {}).get("path", "")
        self.info = StoreInfo(store.path, tuple(store.names), str(store.meta.get("queue", "")),
                              str(model), (), store.read_only)  # fmt: skip
        self._open_gen += 1
        gen = self._open_gen
        self._run(list_items, str(store.path), on_result=lambda r: self._listed(gen, r))
        return True

    def _listed(self, gen: int, items: list[Item]) -> None:
        if gen != self._open_gen or self.store is None:
            return
        self.all = {it.id: it for it in items}
        self._of_image = {}
        for it in items:
            self._of_image.setdefault(it.image_id, []).append(it.id)
        kinds = tuple(dict.fromkeys(it.kind for it in items))
        self.info = StoreInfo(**{**self.info.__dict__, "kinds": kinds})
        self.opened.emit(self.info)
        if self.info.read_only:
            self.message.emit(f"{self.info.path}: read-only; you can look, not decide")
        missing = len({it.image for it in items if it.missing})
        if missing:
            self.message.emit(f"{missing} images of this store are missing from disk")
        self.set_filter()

    def create(self, req: NewStore) -> None:
        """Make the store ``req`` asks for (a job: it may run a model), then open it."""
        self.building = req.store
        self._run(build_store, req, on_result=self._built, on_error=self._build_failed)

    def create_from_folder(self, images: str, weights: str, store: str | None = None) -> None:
        """A store of the uncertain detections of ``weights`` on the images in ``images``
        (default: beside that folder)."""
        path = store or str(store_beside_folder(images))
        self.create(NewStore(path, weights, images=images))

    def create_from_val(self, weights: str, data: str, val_dir: str,
                        store: str | None = None) -> None:  # fmt: skip
        """A store of the errors in a ``grace val`` output ``val_dir`` of ``weights`` on
        ``data`` (default: in that folder)."""
        path = store or str(store_in_val_dir(val_dir))
        self.create(NewStore(path, weights, data=data, val_dir=val_dir))

    def create_demo(self, weights: str, data: str, folder: str) -> None:
        """The demo's store in ``folder`` (made on first use), then open it."""
        self.building = str(Path(folder) / "demo-review.db")
        self._run(build_demo_store, weights, data, folder, on_result=self._built,
                  on_error=self._build_failed)  # fmt: skip

    def _built(self, path: str) -> None:
        self.building = ""
        self.message.emit(f"Review store made: {path}")
        self.open_store(path)

    def _build_failed(self, line: str, details: str) -> None:
        self.building = ""
        self.error.emit(line, details)

    # filter and moving -----------------------------------------------------------------------
    def set_filter(self, kind: str = "", cls: str = "", status: str = "") -> None:
        """Let through the items of ``kind``, ``cls`` and ``status`` (``""``: all); the item
        shown stays when it passes, else the first open item of the filter shows."""
        current = self.current()
        self.kind, self.cls, self.status = kind, cls, status
        self.rows = [i for i, it in self.all.items() if self._passes(it)]
        self._row_of = {i: r for r, i in enumerate(self.rows)}
        self.items_changed.emit([self.all[i] for i in self.rows])
        self._emit_counts()
        if current is not None and current.id in self._row_of:
            self.select(self._row_of[current.id])
        elif self.rows:
            self.select(self._next_open_row(-1) or 0)
        else:
            self.row = None
            self.current_changed.emit(None)

    def _passes(self, it: Item) -> bool:
        return ((not self.kind or it.kind == self.kind) and (not self.cls or it.cls == self.cls)
                and (not self.status or it.status == self.status))  # fmt: skip

    def current(self) -> Item | None:
        return self.all[self.rows[self.row]] if self.row is not None else None

    def select(self, row: int) -> None:
        """Show the item in ``row`` of the filter (at once when its image is decoded)."""
        if not 0 <= row < len(self.rows):
            return
        self.row = row
        self._show()
        self._prefetch()

    def next(self) -> None:
        if self.row is not None:
            self.select(min(self.row + 1, len(self.rows) - 1))

    def prev(self) -> None:
        if self.row is not None:
            self.select(max(self.row - 1, 0))

    def next_open(self) -> bool:
        """Show the next open item of the filter after the one shown (wrapping round);
        ``False`` with a :attr:`message` when every item of the filter is reviewed."""
        row = self._next_open_row(self.row if self.row is not None else -1)
        if row is None:
            self.message.emit(f"Every item of this filter is reviewed ({self._counts()[1].line()})")
            return False
        self.select(row)
        return True

    def _next_open_row(self, after: int) -> int | None:
        n = len(self.rows)
        for k in range(1, n + 1):
            row = (after + k) % n
            if self.all[self.rows[row]].status == "open":
                return row
        return None

    # images ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Announce the item shown again (the view changed how it draws it)."""
        self._show()

    def _show(self) -> None:
        it = self.current()
        if it is None or self.store is None:
            return
        cached = self.cache.get(it.image)
        self.current_changed.emit(self._shown(it, cached))
        if cached is None:
            self._decode(it.image)  # shown again when decoded

    def _shown(self, it: Item, decoded: tuple | None) -> ShownItem:
        im = self.store.image(it.image_id)
        image, reason = decoded if decoded is not None else (None, "")
        return ShownItem(it, self.row, len(self.rows), image, tuple(im["labels"]),
                         im["labels_source"], tuple(im["detections"] or ()),
                         tuple(im["labels_now"]), decoded is None, reason)  # fmt: skip

    def _decode(self, path: str) -> None:
        if path in self.decoding or path in self.cache:
            return
        self.decoding.add(path)
        self._run(decode, path, on_result=lambda r: self._decoded(path, r),
                  on_error=lambda ln, _d: self._decoded(path, (None, ln)))  # fmt: skip

    def _decoded(self, path: str, result: tuple) -> None:
        """An image decoded (kept whichever store asked: a path's pixels are the same); shown
        only when it is the current item's."""
        self.decoding.discard(path)
        self.cache[path] = result
        self.cache.move_to_end(path)
        while len(self.cache) > CACHE_SIZE:
            self.cache.popitem(last=False)
        it = self.current()
        if it is not None and it.image == path:
            self.current_changed.emit(self._shown(it, result))

    def _prefetch(self) -> None:
        """Decode ahead the images of the next items of the filter (the next open one first:
        it is what a decision shows next) and keep the shown one in the cache."""
        it = self.current()
        if it is None:
            return
        if it.image in self.cache:
            self.cache.move_to_end(it.image)
        rows = [r for r in (self._next_open_row(self.row),) if r is not None]
        rows += range(self.row + 1, min(self.row + 1 + 4 * self.ahead, len(self.rows)))
        wanted: list[str] = []
        for r in rows:
            path = self.all[self.rows[r]].image
            if path != it.image and path not in wanted:
                wanted.append(path)
            if len(wanted) >= self.ahead:
                break
        for path in wanted:
            self._decode(path)

    # deciding --------------------------------------------------------------------------------
    def decide(self, action: str, cls: str | None = None, box: list[float] | None = None) -> bool:
        """Record ``action`` on the item shown (committed by the engine), then show the next
        open item (:data:`ADVANCING` actions) or the item again; ``False`` (and
        :attr:`error`) when the engine refuses."""
        it = self.current()
        if it is None or self.store is None:
            return False
        try:
            decision = self.store.decide(it.id, action, cls=cls, box=box)
        except GraceError as e:
            self.error.emit(str(e), "")
            return False
        self.history.append(it.id)
        self._after_decision(it, decision)
        if not (self.advance and action in ADVANCING and self.next_open()):
            self._show()
        return True

    def set_class(self, number: int) -> bool:
        """Key ``number`` (1-9): the item's object is a defect of class ``names[number - 1]``."""
        names = self.info.names if self.info else ()
        if not 1 <= number <= len(names):
            self.message.emit(f"{number}: no class {number} (this store has {len(names)})")
            return False
        return self.decide("class", cls=names[number - 1])

    def adjust_box(self, box: list[float]) -> bool:
        return self.decide("box", box=box)

    def add_box(self, cls: str, box: list[float]) -> bool:
        return self.decide("add", cls=cls, box=box)

    def undo(self) -> bool:
        """Take back this session's last decision (else the shown item's) and show its item."""
        if self.store is None:
            return False
        shown = self.current()
        target = self.history[-1] if self.history else (shown.id if shown else None)
        if target is None:
            return False
        try:
            decision = self.store.decide(target, "undo")
        except GraceError as e:
            self.message.emit(str(e))
            return False
        if self.history:
            self.history.pop()
        self._after_decision(self.all[target], decision)
        if target in self._row_of:
            self.select(self._row_of[target])
        else:
            self._show()
        return True

    def _after_decision(self, it: Item, decision) -> None:
        """The committed ``decision`` on ``it``: refresh the item, and every item of its image
        after an ``ok`` or an undo (which may take one back), their rows and the counts."""
        image_wide = decision.action in ("ok", "undo")
        for i in self._of_image.get(it.image_id, [it.id]) if image_wide else [it.id]:
            self.all[i] = self.store.item(i)
            if i in self._row_of:
                self.item_changed.emit(self._row_of[i], self.all[i])
        self.decided.emit(decision)
        self._emit_counts()

    def _counts(self) -> tuple[Counts, Counts]:
        names = self.info.names if self.info else ()
        return count(self.all.values(), names), count((self.all[i] for i in self.rows), names)

    def _emit_counts(self) -> None:
        self.counts_changed.emit(*self._counts())

    # export and fine-tuning ------------------------------------------------------------------
    def export(self, out: str | Path, merge: str | None = None) -> bool:
        """Write the reviewed images as a new YOLO dataset in ``out`` (a job; the engine's
        :func:`grace.review.export.export_store`)."""
        if self.store is None:
            self.error.emit("no review store is open", "")
            return False
        store = str(self.store.path)
        self._run(export_store, store, str(out), merge,
                  on_result=lambda m: self._exported(Path(out), m))  # fmt: skip
        return True

    def _exported(self, out: Path, manifest: dict) -> None:
        self.last_export = out / "data.yaml"
        self.message.emit(f"Exported {manifest['images_exported']} reviewed images to {out}")
        self.exported.emit({**manifest, "out": str(out), "data_yaml": str(self.last_export)})

    def request_fine_tune(self) -> bool:
        """Announce :attr:`fine_tune` with the last export's data.yaml and the store's model (for
        an exported model, the checkpoint it came from where it is known)."""
        if self.last_export is None or self.info is None:
            self.error.emit("export the reviewed images first (Export reviewed → dataset…)", "")
            return False
        from grace.deploy.runtime import pytorch_source

        model = self.info.model
        if model and not Path(model).exists():
            self.message.emit(f"{model}: the store's model is not on disk any more")
        elif model and (pt := pytorch_source(model)) != Path(model):
            # an exported model: training starts from the .pt it came from, where it is known
            if pt is None:
                self.message.emit(f"{model}: an exported model; fine-tuning starts from the "
                                  "PyTorch checkpoint (.pt) it was exported from: choose it "
                                  "in the Train tab")  # fmt: skip
            model = str(pt) if pt is not None else ""
        self.fine_tune.emit(str(self.last_export), model)
        return True
