"""Plots over time drawn from the ring-buffered :class:`History`: spread and mid, and predicted
versus realised slippage. They follow the newest ``window_s`` seconds unless the user zooms,
pans or freezes; history keeps filling either way.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from widgets import theme
from widgets.format import bps, num
from widgets.history import COL, History
from widgets.plot_base import LivePlot, settle


def _time_axis() -> pg.DateAxisItem:
    return pg.DateAxisItem(orientation="bottom", utcOffset=None)


class _TimePlot(LivePlot):
    window_s = 120.0

    def __init__(self, title: str, parent=None) -> None:
        super().__init__(title, parent)
        self.history: History | None = None
        self.drawn_version = -1

    def _rows(self, history: History, now_s: float) -> np.ndarray:
        return history.window(self.window_s * 1.5, now_s)

    def _follow_time(self, now_s: float, first_s: float) -> None:
        """Show the newest ``window_s`` seconds (less while the history is shorter)."""
        # a moving window always changes: set it directly rather than through sticky ranges
        if self.following:
            start = max(now_s - self.window_s, min(first_s, now_s - 5.0))
            self._setting_range = True
            try:
                vb = self.plots[0].getViewBox()
                vb.setXRange(start, now_s, padding=0)
                for pi in self.plots:
                    settle(pi.getViewBox())
            finally:
                self._setting_range = False

    def _row_at(self, x: float) -> np.ndarray | None:
        if self.history is None or not len(self.history.series):
            return None
        rows = self.history.series.view()
        i = int(np.searchsorted(rows[:, 0], x))
        i = min(max(i, 0), rows.shape[0] - 1)
        return rows[i]


class SpreadMidPlot(_TimePlot):
    """Mid price (top) and spread in bps (bottom), x linked, local wall-clock time."""

    def __init__(self, parent=None) -> None:
        super().__init__("Spread and mid", parent)
        self.top = self.add_plot(row=0, col=0, left="mid", axis_items={"bottom": _time_axis()})
        self.bottom = self.add_plot(row=1, col=0, left="spread (bps)", axis_items={"bottom": _time_axis()})
        self.bottom.setXLink(self.top)
        self.top.getAxis("bottom").setStyle(showValues=False)
        self.ci.layout.setRowStretchFactor(0, 3)
        self.ci.layout.setRowStretchFactor(1, 2)
        self.set_title("Mid and spread", force=True)
        self.mid = pg.PlotCurveItem(pen=theme.pen(theme.ACCENT))
        self.bid = pg.PlotCurveItem(pen=theme.pen(theme.BID, Qt.PenStyle.DotLine))
        self.ask = pg.PlotCurveItem(pen=theme.pen(theme.ASK, Qt.PenStyle.DotLine))
        self.spread = pg.PlotCurveItem(pen=theme.pen(theme.WARN), stepMode=None)
        for item in (self.bid, self.ask, self.mid):
            self.top.addItem(item)
        self.bottom.addItem(self.spread)
        self.enable_crosshair()
        self.tick = 0.1

    def draw(self, history: History, now_s: float, tick: float = 0.1) -> None:
        self.history, self.tick = history, tick
        rows = self._rows(history, now_s)
        if rows.shape[0] < 1:
            return
        t = rows[:, COL["t"]]
        self.mid.setData(t, rows[:, COL["mid"]], connect="finite")
        self.bid.setData(t, rows[:, COL["best_bid"]], connect="finite")
        self.ask.setData(t, rows[:, COL["best_ask"]], connect="finite")
        self.spread.setData(t, rows[:, COL["spread_bps"]], connect="finite")
        self._follow_time(now_s, float(t[0]))
        vis = rows[t >= now_s - self.window_s]
        if vis.shape[0]:
            lo, hi = np.nanmin(vis[:, COL["best_bid"]]), np.nanmax(vis[:, COL["best_ask"]])
            self.follow_range(0, "y", float(lo), float(hi), pad=0.08, shrink=0.35)
            self.follow_range(1, "y", 0.0, float(np.nanmax(vis[:, COL["spread_bps"]])), pad=0.1, shrink=0.35)
        self.drawn_version = history.version

    def readout(self, plot_index: int, x: float, y: float) -> str | None:
        row = self._row_at(x)
        if row is None:
            return None
        from widgets.format import price
        return (f"mid {price(row[COL['mid']], self.tick)}\n"
                f"bid {price(row[COL['best_bid']], self.tick)}  ask {price(row[COL['best_ask']], self.tick)}\n"
                f"spread {bps(row[COL['spread_bps']])} bps")


class SlippageHistoryPlot(_TimePlot):
    """Realised (exact book walk at that time) vs predicted (model, drawn at decision + delay)."""

    def __init__(self, parent=None) -> None:
        super().__init__("Predicted vs realised", parent)
        self.plot = self.add_plot(left="slippage (bps)", axis_items={"bottom": _time_axis()})
        self.set_title("Predicted vs realised slippage", force=True)
        self.realised = pg.PlotCurveItem(pen=theme.pen(theme.ACCENT))
        self.predicted = pg.PlotCurveItem(pen=theme.pen(theme.MODEL))
        self.lo = pg.PlotCurveItem(pen=theme.pen(theme.MODEL, Qt.PenStyle.DotLine))
        self.hi = pg.PlotCurveItem(pen=theme.pen(theme.MODEL, Qt.PenStyle.DotLine))
        for item in (self.lo, self.hi, self.predicted, self.realised):
            self.plot.addItem(item)
        self.add_legend(self.plot, [(self.realised, "realised (book walk)"), (self.predicted, "predicted"),
                                    (self.lo, "predicted band")])
        self.enable_crosshair()

    def draw(self, history: History, now_s: float) -> None:
        self.history = history
        rows = self._rows(history, now_s)
        if rows.shape[0] < 1:
            return
        t = rows[:, COL["t"]]
        # a prediction made at t is about the fill at t + delay: draw it where it lands
        t_pred = t + rows[:, COL["exec_delay_s"]]
        self.realised.setData(t, rows[:, COL["book_slippage_bps"]], connect="finite")
        pred = rows[:, COL["model_slippage_bps"]]
        has_model = bool(np.isfinite(pred).any())
        self.predicted.setData(t_pred, pred, connect="finite")
        self.lo.setData(t_pred, rows[:, COL["band_lo_bps"]], connect="finite")
        self.hi.setData(t_pred, rows[:, COL["band_hi_bps"]], connect="finite")
        ahead = float(rows[-1, COL["exec_delay_s"]]) if has_model else 0.0
        self._follow_time(now_s + ahead, float(t[0]))
        vis = rows[t >= now_s - self.window_s]
        cols = [COL["book_slippage_bps"], COL["band_lo_bps"], COL["band_hi_bps"], COL["model_slippage_bps"]]
        values = vis[:, cols]
        if np.isfinite(values).any():
            self.follow_range(0, "y", min(0.0, float(np.nanmin(values))), float(np.nanmax(values)),
                              pad=0.1, shrink=0.35)
        self.set_title("Predicted vs realised slippage" + ("" if has_model else "  ·  model pending"))
        self.drawn_version = history.version

    def readout(self, plot_index: int, x: float, y: float) -> str | None:
        row = self._row_at(x)
        if row is None:
            return None
        return (f"realised {bps(row[COL['book_slippage_bps']])} bps\n"
                f"predicted {bps(row[COL['model_slippage_bps']])} bps "
                f"[{bps(row[COL['band_lo_bps']])}, {bps(row[COL['band_hi_bps']])}]\n"
                f"delay {num(row[COL['exec_delay_s']] * 1000, 0)} ms")
