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


#: the title's key to the curves, in their colours (solid: optimal; dashed: the straight line,
#: TWAP, the lambda -> 0 schedule)
OPTIMAL_KEY = f'<span style="color:{theme.MARKER}">━ optimal</span>'
TWAP_KEY = f'<span style="color:{theme.MUTED}">┄ TWAP</span>'


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
        # an empty title row of the same height (two lines): both views start below the (long)
        # title, which runs on over this column without crossing the frontier's axis and grid
        self.frontier_plot.setTitle("&nbsp;<br>&nbsp;", size="9pt")
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
        # no legend in the view: in a corner it covered part of a trajectory (bottom left, the
        # optimal one's tail along the axis) or, in a small plot, most of both. The title's
        # second line is the key, in the curves' colours, with each schedule's expected cost
        # ± its standard deviation (E and sd, the frontier's axes)
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
            self.pending.setPos(p.ac_horizon_s / 2, 0.3)
            self.pending.show()
            self.follow_range(0, "x", 0.0, p.ac_horizon_s, pad=0.03, shrink=0.9)
            self.follow_range(0, "y", 0.0, 1.0, pad=0.05, shrink=0.9)
            self.set_title(f"Almgren-Chriss · T {num(p.ac_horizon_s, 0)} s · λ {p.ac_lambda:.2g}<br>"
                           f"{TWAP_KEY} · optimal: model pending", force=True)
            return
        self.pending.hide()
        t, x = sched.times_s, sched.holdings
        x0 = float(x[0])
        self.optimal.setData(t, x)
        self.twap.setData([float(t[0]), float(t[-1])], [x0, 0.0])
        self.follow_range(0, "x", float(t[0]), float(t[-1]), pad=0.03, shrink=0.9)
        self.follow_range(0, "y", 0.0, x0, pad=0.05, shrink=0.9, nice=True)
        chosen = (sched.std_cost_usd, sched.expected_cost_usd)
        if None in chosen:
            self.chosen.setData([], [])
        else:
            self.chosen.setData([chosen[0]], [chosen[1]])
        if sched.frontier_std is not None and sched.frontier_mean is not None:
            self.frontier.setData(sched.frontier_std, sched.frontier_mean)
            # the chosen point stays in view: the frontier is sampled over a range of lambdas
            # that need not hold the user's (T 10,000 s, N 500 put it far outside)
            xs = [float(np.nanmin(sched.frontier_std)), float(np.nanmax(sched.frontier_std))]
            ys = [float(np.nanmin(sched.frontier_mean)), float(np.nanmax(sched.frontier_mean))]
            if None not in chosen:
                xs.append(chosen[0])
                ys.append(chosen[1])
            self.follow_range(1, "x", min(xs), max(xs), pad=0.05, shrink=0.6, nice=True)
            self.follow_range(1, "y", min(ys), max(ys), pad=0.05, shrink=0.6, nice=True)
        kappa = f" · κ {sched.kappa:.2g}/s" if sched.kappa is not None else ""
        self.set_title(f"Almgren-Chriss · T {num(p.ac_horizon_s, 0)} s · λ {p.ac_lambda:.2g}{kappa}<br>"
                       f"{OPTIMAL_KEY} {compact(sched.expected_cost_usd)} ± {compact(sched.std_cost_usd)}"
                       f" · {TWAP_KEY} {compact(sched.twap_cost_usd)} ± {compact(sched.twap_std_usd)} USD",
                       force=True)

    def readout(self, plot_index: int, x: float, y: float) -> str | None:
        if plot_index == 1:
            return f"sd {compact(x)} USD\nE[cost] {compact(y)} USD"
        sched = self.summary.schedule if self.summary else None
        if sched is None:
            return None
        held = float(np.interp(x, sched.times_s, sched.holdings))
        return f"t {num(x, 1)} s\nholdings {qty(held)}"
