"""The Almgren-Chriss view: optimal holdings over the horizon against a straight-line (TWAP)
schedule, and the efficient frontier with the chosen risk aversion marked.

Everything drawn comes from the models' estimate (``Summary.schedule``); the straight line is
only the lambda -> 0 reference the paper starts from. Without a model the plot says so.
"""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from core.snapshot import Snapshot
from widgets import theme
from widgets.estimate_view import Summary
from widgets.format import compact, num, qty
from widgets.plot_base import CompactAxis, LivePlot


class SchedulePlot(LivePlot):
    refresh_hz = 2.0

    def __init__(self, parent=None) -> None:
        super().__init__("Almgren-Chriss schedule", parent)
        self.plot = self.add_plot(row=0, col=0, left="holdings left", bottom="time (s)",
                                  axis_items={"left": CompactAxis("left")})
        self.frontier_plot = self.add_plot(row=0, col=1, left="E[cost] (USD)", bottom="sd (USD)",
                                           axis_items={"left": CompactAxis("left"),
                                                       "bottom": CompactAxis("bottom")})
        self.frontier_plot.getAxis("left").setWidth(46)
        # an empty title row of the same height: both views start below the (long) title, which
        # runs on over this column without crossing the frontier's axis and grid
        self.frontier_plot.setTitle(" ", size="9pt")
        self.ci.layout.setColumnStretchFactor(0, 3)
        self.ci.layout.setColumnStretchFactor(1, 2)
        self.set_title("Almgren-Chriss schedule", force=True)
        self.twap = pg.PlotCurveItem(pen=theme.pen(theme.MUTED, Qt.PenStyle.DashLine))
        self.optimal = pg.PlotDataItem(pen=theme.pen(theme.MARKER), symbol="o", symbolSize=5,
                                       symbolBrush=theme.MARKER, symbolPen=None)
        self.frontier = pg.PlotCurveItem(pen=theme.pen(theme.MODEL))
        self.chosen = pg.ScatterPlotItem(size=8, brush=theme.brush(theme.MARKER), pen=None)
        self.plot.addItem(self.twap)
        self.plot.addItem(self.optimal)
        self.frontier_plot.addItem(self.frontier)
        self.frontier_plot.addItem(self.chosen)
        # bottom left: the schedules run from top left to bottom right, that corner stays empty
        self.legend = self.add_legend(self.plot, [(self.optimal, "optimal"), (self.twap, "straight line (λ→0)")],
                                      bottom=True)
        self.pending = pg.TextItem("model pending", color=theme.MUTED, anchor=(0.5, 0.5))
        self.plot.addItem(self.pending, ignoreBounds=True)
        self.enable_crosshair()
        self.snapshot: Snapshot | None = None
        self.summary: Summary | None = None
        self._key = None
        self._drawn_at = -1e9

    def draw(self, snap: Snapshot, summary: Summary) -> None:
        sched = summary.schedule
        # the schedule moves slowly with the book: redraw at once when the inputs change, else
        # at most ``refresh_hz`` times a second (each repaint of this view costs several ms)
        p = snap.params
        key = (p.ac_horizon_s, p.ac_lambda, p.ac_steps, p.quantity, p.unit, p.side, sched is None)
        now = time.perf_counter()
        if key == self._key and now - self._drawn_at < 1.0 / self.refresh_hz:
            return
        self._key, self._drawn_at = key, now
        self.snapshot, self.summary = snap, summary
        if sched is None:
            self.optimal.setData([], [])
            self.twap.setData([0.0, p.ac_horizon_s], [1.0, 0.0])
            self.frontier.setData([], [])
            self.chosen.setData([], [])
            self._legend_text(0, "optimal")
            self._legend_text(1, "straight line (λ→0)")
            self.pending.setPos(p.ac_horizon_s / 2, 0.3)
            self.pending.show()
            self.follow_range(0, "x", 0.0, p.ac_horizon_s, pad=0.03, shrink=0.9)
            self.follow_range(0, "y", 0.0, 1.0, pad=0.05, shrink=0.9)
            self.set_title(f"Almgren-Chriss  ·  T {num(p.ac_horizon_s, 0)} s  ·  λ {p.ac_lambda:.2g}", force=True)
            return
        self.pending.hide()
        t, x = sched.times_s, sched.holdings
        x0 = float(x[0])
        self.optimal.setData(t, x)
        self.twap.setData([float(t[0]), float(t[-1])], [x0, 0.0])
        self.follow_range(0, "x", float(t[0]), float(t[-1]), pad=0.03, shrink=0.9)
        self.follow_range(0, "y", 0.0, x0, pad=0.05, shrink=0.9, nice=True)
        if sched.frontier_std is not None and sched.frontier_mean is not None:
            self.frontier.setData(sched.frontier_std, sched.frontier_mean)
            fs, fm = sched.frontier_std, sched.frontier_mean
            self.follow_range(1, "x", float(np.nanmin(fs)), float(np.nanmax(fs)), pad=0.05, shrink=0.6, nice=True)
            self.follow_range(1, "y", float(np.nanmin(fm)), float(np.nanmax(fm)), pad=0.05, shrink=0.6, nice=True)
        if sched.std_cost_usd is not None and sched.expected_cost_usd is not None:
            self.chosen.setData([sched.std_cost_usd], [sched.expected_cost_usd])
        kappa = f" · κ {sched.kappa:.2g}/s" if sched.kappa is not None else ""
        self.set_title(f"Almgren-Chriss · T {num(p.ac_horizon_s, 0)} s · λ {p.ac_lambda:.2g}{kappa} · USD",
                       force=True)
        self._legend_text(0, f"optimal  E {compact(sched.expected_cost_usd)}  sd {compact(sched.std_cost_usd)}")
        self._legend_text(1, f"line  E {compact(sched.twap_cost_usd)}  sd {compact(sched.twap_std_usd)}")

    def _legend_text(self, i: int, text: str) -> None:
        self.relabel_legend(self.legend, i, text)

    def readout(self, plot_index: int, x: float, y: float) -> str | None:
        if plot_index == 1:
            return f"sd {compact(x)} USD\nE[cost] {compact(y)} USD"
        sched = self.summary.schedule if self.summary else None
        if sched is None:
            return None
        held = float(np.interp(x, sched.times_s, sched.holdings))
        return f"t {num(x, 1)} s\nholdings {qty(held)}"
