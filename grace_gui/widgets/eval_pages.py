"""The Evaluate tab's result pages, drawn from an
:class:`~grace_gui.sessions.evaluation.EvaluationSession`: Metrics (Tables 1/2 with Δ and
intervals), PR curves (Figure 1), AP per class (Figure 2), AP by size, the confusion matrix and
the calibration panel; and what each page exports (its widget as PNG, its numbers as CSV)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QTabWidget, QVBoxLayout, QWidget

from grace.eval.bootstrap import NOT_DISTINGUISHABLE
from grace_gui.sessions import evaluation_tables as tables
from grace_gui.sessions.evaluation import EvaluationSession
from grace_gui.widgets.eval_calibration import CalibrationPanel
from grace_gui.widgets.eval_plots import BarPlot, PRPlot
from grace_gui.widgets.eval_tables import ConfusionTable, TextTable

PAGES = ("metrics", "pr", "per_class", "size", "confusion", "calibration")
TITLES = ("Metrics", "PR curves", "AP per class", "AP by size", "Confusion matrix", "Calibration")
AP_KEYS = (("AP@0.5", "AP50"), ("AP@0.5:0.95", "AP50-95"))


def _page(*widgets, stretch: int = -1) -> QWidget:
    page = QWidget()
    layout = QVBoxLayout(page)
    for i, w in enumerate(widgets):
        (layout.addLayout if isinstance(w, QHBoxLayout) else layout.addWidget)(w)
        layout.setStretch(i, 1 if i == (stretch % len(widgets)) else 0)
    return page


def _row(*widgets) -> QHBoxLayout:
    row = QHBoxLayout()
    for w in widgets:
        row.addWidget(w)
    row.addStretch(1)
    return row


def _combo(tip: str) -> QComboBox:
    c = QComboBox()
    c.setToolTip(tip)
    c.setMinimumContentsLength(18)
    return c


def verdict_text(s: EvaluationSession) -> str:
    """One line under the metrics: what Δ means and how many are distinguishable."""
    n = len(s.results)
    iv = [v for i, v in enumerate(s.intervals) if i != s.reference and v]
    if not iv:
        return "Add a second model to see Δ with confidence intervals." if n == 1 else ""
    same = sum(x["verdict"] == NOT_DISTINGUISHABLE for v in iv for x in v.values())
    return (f"Δ: percentage points against {s.labels[s.reference]}; intervals: 95 % paired "
            f"bootstrap over the {s.results[0].metrics.get('images')} val images ({same} of "
            f"{sum(len(v) for v in iv)} Δ not distinguishable from 0).")  # fmt: skip


class EvalPages(QTabWidget):
    def __init__(self, session: EvaluationSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.metrics = TextTable("Each model's figures on the val split; Δ: against the "
                                 "reference, with its 95 % interval over the images")  # fmt: skip
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.pr_model = _combo("The model whose curves are drawn")
        self.pr = PRPlot()
        self.ap_key = _combo("AP at IoU 0.5 (the paper's Figure 2) or averaged over IoU 0.5–0.95")
        for text, key in AP_KEYS:
            self.ap_key.addItem(text, key)
        self.ap_bars = BarPlot("AP per class", "AP (%)", "class")
        self.size_bars = BarPlot("AP by object size (COCO buckets)", "AP@0.5:0.95 (%)", "size")
        self.cm_model = _combo("The model whose confusion matrix is shown")
        self.confusion = ConfusionTable()
        self.cell_note = QLabel("Click a cell to list its images.")
        self.cell_note.setWordWrap(True)
        self.calibration = CalibrationPanel()
        for page, title in zip((
            _page(self.metrics, self.verdict, QWidget(), stretch=2),
            _page(_row(QLabel("Model"), self.pr_model), self.pr.widget),
            _page(_row(QLabel("Figure"), self.ap_key), self.ap_bars.widget),
            _page(self.size_bars.widget),
            _page(_row(QLabel("Model"), self.cm_model), self.confusion, self.cell_note, stretch=1),
            self.calibration,
        ), TITLES, strict=True):  # fmt: skip
            self.addTab(page, title)
        self.pr_model.currentIndexChanged.connect(self.show_pr)
        self.ap_key.currentIndexChanged.connect(self.show_bars)
        self.cm_model.currentIndexChanged.connect(self.show_confusion)

    @property
    def page(self) -> str:
        return PAGES[self.currentIndex()]

    def show_all(self) -> None:
        s = self.session
        self.metrics.show_rows(*s.metrics_table())
        rows = self.metrics.verticalHeader().length() + self.metrics.horizontalHeader().height()
        self.metrics.setMaximumHeight(rows + 24)  # no empty table below a few models
        self.verdict.setText(verdict_text(s))
        n = len(s.results)
        for combo in (self.pr_model, self.cm_model):
            keep = max(combo.currentIndex(), 0)
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(s.labels)
            combo.setCurrentIndex(min(keep, n - 1))
            combo.blockSignals(False)
        self.calibration.set_models(s.labels, s.results[0].names if n else [])
        self.show_pr()
        self.show_bars()
        self.show_confusion()

    def show_pr(self) -> None:
        i = self.pr_model.currentIndex()
        ok = 0 <= i < len(self.session.results)
        self.pr.show(self.session.results[i].curves if ok else None, self.pr_model.currentText())

    def show_bars(self) -> None:
        s = self.session
        metrics = [r.metrics for r in s.results]
        key = self.ap_key.currentData()
        names = list(metrics[0]["per_class"]) if metrics else []
        values = [[m["per_class"][n].get(key) for n in names] for m in metrics]
        self.ap_bars.show(names, s.labels, values, by_class=True)
        sizes = [[(m.get("size", {}).get(k) or {}).get("AP") for k in tables.SIZES]
                 for m in metrics]  # fmt: skip
        self.size_bars.show(list(tables.SIZES), s.labels, sizes, by_class=False)

    def show_confusion(self) -> None:
        i = self.cm_model.currentIndex()
        if 0 <= i < len(self.session.results):
            cm = self.session.results[i].metrics["confusion_matrix"]
            self.confusion.show_matrix(cm["labels"], cm["counts"])

    def show_calibration(self, doc) -> None:
        table = self.session.calibration_table() if doc is not None else None
        self.calibration.show_calibration(table, (doc or {}).get("warnings"))

    # exports ----------------------------------------------------------------------------------
    def table_of(self, page: str) -> tables.Table:
        """The numbers of ``page`` as shown (its CSV)."""
        s = self.session
        return {
            "metrics": s.metrics_table,
            "pr": lambda: tables.pr_table(s.results[self.pr_model.currentIndex()].curves),
            "per_class": lambda: s.per_class_table(self.ap_key.currentData()),
            "size": s.size_table,
            "confusion": lambda: s.confusion_table(self.cm_model.currentIndex()),
            "calibration": s.calibration_table,
        }[page]()

    def widget_of(self, page: str) -> QWidget:
        """What ``page`` exports as PNG: its plot, or its table."""
        return {"pr": self.pr.widget, "per_class": self.ap_bars.widget,
                "size": self.size_bars.widget, "metrics": self.metrics,
                "confusion": self.confusion, "calibration": self.calibration}[page]  # fmt: skip
