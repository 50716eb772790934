"""The ``grace data stats`` numbers as pyqtgraph bar charts: instances per class (bars in the
class colours, names on the axis) and COCO size buckets, for one split or the total (chosen by
the tab's one Split control, which also filters the images)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from grace_gui.widgets.colors import class_qcolor

SIZE_COLORS = ((120, 170, 230), (90, 130, 200), (50, 80, 160))


class BarChart(pg.PlotWidget):
    """Horizontal bars with a label per bar on the left axis (long class names stay readable)."""

    def __init__(self, title: str, parent=None) -> None:
        super().__init__(parent, background="w")
        self.setTitle(title, color="#222", size="10pt")
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.getPlotItem().invertY(True)
        for name in ("left", "bottom"):
            axis = self.getAxis(name)
            axis.setTextPen("#222")
            axis.setPen("#888")
        self.labels: list[str] = []
        self.values: list[float] = []
        self._bars: pg.BarGraphItem | None = None
        self._texts: list[pg.TextItem] = []

    def set_bars(self, labels: list[str], values: list[float], colors: list[QColor]) -> None:
        """Show one bar per label, its value written at its end."""
        plot = self.getPlotItem()
        if self._bars is not None:
            plot.removeItem(self._bars)
        for t in self._texts:
            plot.removeItem(t)
        self.labels, self.values = list(labels), [float(v) for v in values]
        self._bars, self._texts = None, []
        self.getAxis("left").setTicks([[]])
        if not labels:  # pyqtgraph's BarGraphItem cannot draw zero bars
            return
        ys = list(range(len(labels)))
        self._bars = pg.BarGraphItem(
            x0=[0] * len(ys), y=ys, height=0.7, width=self.values, brushes=colors, pens=colors
        )
        plot.addItem(self._bars)
        for y, v in zip(ys, self.values, strict=True):
            text = pg.TextItem(f"{v:g}", color="#222", anchor=(0, 0.5))
            text.setPos(v, y)
            plot.addItem(text)
            self._texts.append(text)
        left = self.getAxis("left")
        left.setTicks([list(zip(ys, labels, strict=True))])
        metrics = QFontMetrics(left.style.get("tickFont") or self.font())
        left.setWidth(max((metrics.horizontalAdvance(s) for s in labels), default=20) + 12)
        top = max(self.values, default=0) or 1
        plot.setXRange(0, top * 1.18, padding=0)
        plot.setYRange(-0.6, len(ys) - 0.4, padding=0)

    def bar_heights(self) -> dict[str, float]:
        """label -> value as drawn (read back from the bar item)."""
        if self._bars is None:
            return {}
        widths = self._bars.opts["width"]
        return dict(zip(self.labels, (float(w) for w in widths), strict=True))


class DatasetCharts(QWidget):
    """Both charts and the split they show; :meth:`set_stats` takes ``dataset_stats``' dict."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.split = "total"
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.classes = BarChart("Instances per class")
        self.sizes = BarChart("Box sizes (COCO buckets)")
        self.sizes.setToolTip(
            "COCO size buckets of the boxes: small < 32×32 pixels, medium up to 96×96, large above"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.classes, 3)
        layout.addWidget(self.sizes, 2)
        self.stats: dict | None = None

    def set_stats(self, stats: dict | None) -> None:
        self.stats = stats
        self._show()

    def set_split(self, split: str) -> None:
        """Show ``split`` (a split name; ``""`` or ``"total"``: every split)."""
        self.split = split or "total"
        self._show()

    def _show(self) -> None:
        if not self.stats:
            self.classes.set_bars([], [], [])
            self.sizes.set_bars([], [], [])
            self.summary.setText("No statistics (a plain image folder has no labels).")
            return
        key = self.split if self.split in self.stats["splits"] else "total"
        part = self.stats["total"] if key == "total" else self.stats["splits"][key]
        names = self.stats["names"]
        per_class = part["instances_per_class"]
        self.classes.set_bars(
            names, [per_class[n] for n in names], [class_qcolor(i) for i in range(len(names))]
        )
        sizes = part["sizes"]
        self.sizes.set_bars(list(sizes), list(sizes.values()), [QColor(*c) for c in SIZE_COLORS])
        where = "All splits" if key == "total" else key
        self.summary.setText(
            f"{where}: {part['images']} images ({part['background_images']} background), "
            f"{part['instances']} instances"
        )
