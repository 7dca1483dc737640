"""The History view: a ``slipscope analyze`` result (``costs.parquet``) drawn as the report
draws it, but zoomable: net cost p50/p90/p99 over time per size, and the depth within 10 and
50 bps, for one instrument and side at a time.

It is given the columns (``core.history.outputs.read_parquet``) by its owner; it reads no file.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from core.history.outputs import binned
from widgets import theme

PERCENTILES = ((50, pg.QtCore.Qt.PenStyle.SolidLine), (90, pg.QtCore.Qt.PenStyle.DashLine),
               (99, pg.QtCore.Qt.PenStyle.DotLine))
#: the time axis' unit by the span shown: (shortest span in ms, ms per unit, name)
TIME_UNITS = ((2 * 3_600_000.0, 3_600_000.0, "hours"), (2 * 60_000.0, 60_000.0, "minutes"), (0.0, 1000.0, "seconds"))


def time_unit(span_ms: float) -> tuple[float, str]:
    """(ms per unit, unit) for a time axis spanning ``span_ms``: hours for a day of books,
    seconds for a short capture (no "x0.001" scale on the axis)."""
    return next((per, name) for least, per, name in TIME_UNITS if span_ms >= least)


class AnalysisView(QtWidgets.QWidget):
    """Pick an instrument and a side; the plots show that slice of the analysis."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("History")
        self.columns: dict[str, np.ndarray] = {}
        self.title = QtWidgets.QLabel("No analysis open")
        self.title.setAccessibleName("No analysis open")
        self.instrument = self._combo("Instrument")
        self.side = self._combo("Side")
        self.cost = pg.PlotWidget(title="Net cost over time")
        self.cost.setAccessibleName("Net cost over time")
        self.cost.setLabel("left", "net cost (bps)")
        self.cost.setLabel("bottom", "hours since the first book")
        self.cost.addLegend(offset=(-10, 10), brush=theme.brush(theme.PANEL, 220), pen=theme.pen(theme.BORDER))
        self.depth = pg.PlotWidget(title="Depth within 10 and 50 bps")
        self.depth.setAccessibleName("Depth within 10 and 50 bps")
        self.depth.setLabel("left", "depth (USD)")
        self.depth.setLabel("bottom", "hours since the first book")
        self.depth.setXLink(self.cost)
        self.depth.addLegend(offset=(-10, 10), brush=theme.brush(theme.PANEL, 220), pen=theme.pen(theme.BORDER))
        pick = QtWidgets.QHBoxLayout()
        for name, box in (("Instrument", self.instrument), ("Side", self.side)):
            label = QtWidgets.QLabel(name)
            label.setAccessibleName(name)
            label.setBuddy(box)
            pick.addWidget(label)
            pick.addWidget(box)
        pick.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(pick)
        layout.addWidget(self.cost, 2)
        layout.addWidget(self.depth, 1)
        self.instrument.currentIndexChanged.connect(self.redraw)
        self.side.currentIndexChanged.connect(self.redraw)

    def _combo(self, name: str) -> QtWidgets.QComboBox:
        box = QtWidgets.QComboBox()
        box.setAccessibleName(name)
        return box

    def show_analysis(self, columns: dict[str, np.ndarray], title: str) -> None:
        """Show ``costs.parquet``'s columns; the first instrument and side are picked."""
        self.columns = columns
        self.title.setText(title)
        self.title.setAccessibleName(title)
        for box, values in ((self.instrument, _instruments(columns)), (self.side, list(dict.fromkeys(columns["side"])))):
            box.blockSignals(True)
            box.clear()
            box.addItems(values)
            box.blockSignals(False)
        self.redraw()

    def selection(self) -> np.ndarray:
        """Rows of the picked instrument and side (a boolean mask)."""
        cols = self.columns
        inst = np.array([f"{s} on {v}" for v, s in zip(cols["venue"], cols["symbol"])])
        return (inst == self.instrument.currentText()) & (cols["side"] == self.side.currentText())

    def redraw(self) -> None:
        self.cost.clear()
        self.depth.clear()
        if not self.columns or not len(self.columns["book_ts_ms"]):
            return
        cols, sel = self.columns, self.selection()
        if not sel.any():
            return
        ts = cols["book_ts_ms"][sel]
        per, unit = time_unit(float(np.nanmax(ts) - np.nanmin(ts)))
        hours = (ts - np.nanmin(ts)) / per  # in ``unit``
        for plot in (self.cost, self.depth):
            plot.setLabel("bottom", f"{unit} since the first book")
            plot.getAxis("bottom").enableAutoSIPrefix(False)
        for k, qty in enumerate(sorted(set(cols["quantity"][sel].tolist()))):
            rows = cols["quantity"][sel] == qty
            for q, style in PERCENTILES:
                x, y = binned(hours[rows], cols["net_cost_bps"][sel][rows], q)
                self.cost.plot(x, y, pen=pg.mkPen(pg.intColor(k), style=style), name=f"{qty:g} p{q}")
        first = cols["quantity"][sel] == cols["quantity"][sel][0]  # depth is the same for every size
        for k, name in enumerate(("depth_10bps_usd", "depth_50bps_usd")):
            self.depth.plot(hours[first], cols[name][sel][first], pen=pg.mkPen(pg.intColor(k)),
                            name=name.removeprefix("depth_").removesuffix("_usd").replace("bps", " bps"))


def _instruments(columns: dict[str, np.ndarray]) -> list[str]:
    return list(dict.fromkeys(f"{s} on {v}" for v, s in zip(columns["venue"], columns["symbol"])))
