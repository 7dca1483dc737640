"""Plots over time drawn from the ring-buffered :class:`History`: spread and mid, and predicted
versus realised slippage.

The x axis is "seconds ago" (0 = the newest data drawn), not wall-clock time: a clock axis
scrolls, so every redraw re-ticks and re-renders its labels, which costs more than the curves.
Here the data move and the axis stays; the hover readout gives the wall-clock time. The view
spans the newest ``window_s`` seconds (15, 30, 60 or 120 while the history is shorter) unless
the user zooms, pans or freezes; history keeps filling either way.
"""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from widgets import theme
from widgets.format import bps, num, price
from widgets.history import COL, History
from widgets.plot_base import LivePlot

SPANS_S = (15.0, 30.0, 60.0, 120.0)


class _TimePlot(LivePlot):
    window_s = SPANS_S[-1]

    def __init__(self, title: str, parent=None) -> None:
        super().__init__(title, parent)
        self.history: History | None = None
        self.drawn_version = -1
        self.now_s = 0.0  # wall time that x = 0 stands for

    def _rows(self, history: History, now_s: float) -> np.ndarray:
        self.history, self.now_s = history, now_s
        return history.window(self.window_s + 5.0, now_s)

    def _follow_time(self, oldest_ago: float, ahead_s: float = 0.0) -> None:
        """Show the smallest standard span that holds the history (range changes are rare)."""
        span = next((s for s in SPANS_S if s >= oldest_ago), SPANS_S[-1])
        self.follow_range(0, "x", -span, ahead_s, pad=0.0, shrink=0.0)

    def _row_at(self, x: float) -> np.ndarray | None:
        if self.history is None or not len(self.history.series):
            return None
        rows = self.history.series.view()
        i = int(np.searchsorted(rows[:, 0], self.now_s + x))
        i = min(max(i, 0), rows.shape[0] - 1)
        return rows[i]

    def _clock(self, row: np.ndarray) -> str:
        t = float(row[COL["t"]])
        return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"


class SpreadMidPlot(_TimePlot):
    """Mid price (top, with best bid and ask) and spread in bps (bottom), x linked."""

    def __init__(self, parent=None) -> None:
        super().__init__("Spread and mid", parent)
        self.top = self.add_plot(row=0, col=0, left="mid")
        self.bottom = self.add_plot(row=1, col=0, left="spread (bps)", bottom="seconds ago")
        self.bottom.setXLink(self.top)
        self.top.getAxis("bottom").setStyle(showValues=False)
        self.ci.layout.setRowStretchFactor(0, 3)
        self.ci.layout.setRowStretchFactor(1, 2)
        self.set_title("Mid and spread", force=True)
        self.mid = pg.PlotCurveItem(pen=theme.pen(theme.ACCENT))
        self.bid = pg.PlotCurveItem(pen=theme.pen(theme.BID, Qt.PenStyle.DotLine))
        self.ask = pg.PlotCurveItem(pen=theme.pen(theme.ASK, Qt.PenStyle.DotLine))
        self.spread = pg.PlotCurveItem(pen=theme.pen(theme.WARN))
        for item in (self.bid, self.ask, self.mid):
            self.top.addItem(item)
        self.bottom.addItem(self.spread)
        self.enable_crosshair()
        self.tick = 0.1

    def draw(self, history: History, now_s: float, tick: float = 0.1) -> None:
        self.tick = tick
        rows = self._rows(history, now_s)
        if rows.shape[0] < 1:
            return
        x = rows[:, COL["t"]] - now_s
        self.mid.setData(x, rows[:, COL["mid"]], connect="finite")
        self.bid.setData(x, rows[:, COL["best_bid"]], connect="finite")
        self.ask.setData(x, rows[:, COL["best_ask"]], connect="finite")
        self.spread.setData(x, rows[:, COL["spread_bps"]], connect="finite")
        self._follow_time(-float(x[0]))
        vis = rows[x >= -self.window_s]
        if vis.shape[0]:
            lo, hi = np.nanmin(vis[:, COL["best_bid"]]), np.nanmax(vis[:, COL["best_ask"]])
            self.follow_range(0, "y", float(lo), float(hi), pad=0.08, shrink=0.35, nice=True)
            self.follow_range(1, "y", 0.0, float(np.nanmax(vis[:, COL["spread_bps"]])), pad=0.1, shrink=0.35, nice=True)
        mid = rows[-1, COL["mid"]]
        self.set_title(f"Mid {price(mid, tick)} and spread {bps(rows[-1, COL['spread_bps']])} bps")
        self.drawn_version = history.version

    def readout(self, plot_index: int, x: float, y: float) -> str | None:
        row = self._row_at(x)
        if row is None:
            return None
        return (f"{self._clock(row)}  ({num(-x, 1)} s ago)\n"
                f"mid {price(row[COL['mid']], self.tick)}\n"
                f"bid {price(row[COL['best_bid']], self.tick)}  ask {price(row[COL['best_ask']], self.tick)}\n"
                f"spread {bps(row[COL['spread_bps']])} bps")


class SlippageHistoryPlot(_TimePlot):
    """Realised (exact book walk at that time) vs predicted (model, drawn at decision + delay)."""

    def __init__(self, parent=None) -> None:
        super().__init__("Predicted vs realised", parent)
        self.plot = self.add_plot(left="slippage (bps)", bottom="seconds ago")
        self.set_title("Predicted vs realised slippage", force=True)
        self.realised = pg.PlotCurveItem(pen=theme.pen(theme.ACCENT))
        self.predicted = pg.PlotCurveItem(pen=theme.pen(theme.MODEL))
        self.lo = pg.PlotCurveItem(pen=theme.pen(theme.MODEL, Qt.PenStyle.DotLine))
        self.hi = pg.PlotCurveItem(pen=theme.pen(theme.MODEL, Qt.PenStyle.DotLine))
        for item in (self.lo, self.hi, self.predicted, self.realised):
            self.plot.addItem(item)
        self.add_legend(self.plot, [(self.realised, "realised (book walk)"), (self.predicted, "predicted mean"),
                                    (self.lo, "predicted q50 / q95")])
        self.enable_crosshair()

    def draw(self, history: History, now_s: float) -> None:
        rows = self._rows(history, now_s)
        if rows.shape[0] < 1:
            return
        x = rows[:, COL["t"]] - now_s
        # a prediction made at t is about the fill at t + delay: draw it where it lands
        x_pred = x + rows[:, COL["exec_delay_s"]]
        self.realised.setData(x, rows[:, COL["book_slippage_bps"]], connect="finite")
        pred = rows[:, COL["model_slippage_bps"]]
        has_model = bool(np.isfinite(pred).any())
        self.predicted.setData(x_pred, pred, connect="finite")
        self.lo.setData(x_pred, rows[:, COL["band_lo_bps"]], connect="finite")
        self.hi.setData(x_pred, rows[:, COL["band_hi_bps"]], connect="finite")
        ahead = float(rows[-1, COL["exec_delay_s"]]) if has_model else 0.0
        self._follow_time(-float(x[0]), ahead)
        vis = rows[x >= -self.window_s]
        cols = [COL["book_slippage_bps"], COL["band_lo_bps"], COL["band_hi_bps"], COL["model_slippage_bps"]]
        values = vis[:, cols]
        if np.isfinite(values).any():
            self.follow_range(0, "y", min(0.0, float(np.nanmin(values))), float(np.nanmax(values)),
                              pad=0.1, shrink=0.35, nice=True)
        self.set_title("Predicted vs realised slippage" + ("" if has_model else "  ·  model pending"))
        self.drawn_version = history.version

    def readout(self, plot_index: int, x: float, y: float) -> str | None:
        row = self._row_at(x)
        if row is None:
            return None
        return (f"{self._clock(row)}  ({num(-x, 1)} s ago)\n"
                f"realised {bps(row[COL['book_slippage_bps']])} bps\n"
                f"predicted {bps(row[COL['model_slippage_bps']])} bps "
                f"[{bps(row[COL['band_lo_bps']])}, {bps(row[COL['band_hi_bps']])}]\n"
                f"delay {num(row[COL['exec_delay_s']] * 1000, 0)} ms")
