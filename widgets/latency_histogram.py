"""Histogram of internal latency on log-spaced bins: receive -> estimate ready (worker) and
receive -> frame painted (GUI). Redrawn a couple of times a second: it summarises thousands
of samples, so redrawing it every frame would only cost CPU.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from widgets import theme
from widgets.format import micros, num
from widgets.history import History
from widgets.plot_base import CompactAxis, LivePlot

EDGES_US = np.logspace(0, 5, 61)  # 1 us .. 100 ms


def percentiles(samples: np.ndarray) -> tuple[float, float]:
    s = samples[np.isfinite(samples)]
    if not s.size:
        return float("nan"), float("nan")
    p50, p99 = np.percentile(s, (50, 99))
    return float(p50), float(p99)


class LatencyHistogram(LivePlot):
    def __init__(self, parent=None) -> None:
        super().__init__("Latency", parent)
        bottom = CompactAxis("bottom")
        bottom.setLogMode(True)
        self.plot = self.add_plot(axis_items={"bottom": bottom}, left="share of samples (%)",
                                  bottom="latency (µs, log)")
        self.set_title("Internal latency", force=True)
        x = np.log10(EDGES_US)
        self.estimate = pg.PlotCurveItem(x, np.zeros(x.size - 1), stepMode="center",
                                         pen=theme.pen(theme.ACCENT))
        self.frame = pg.PlotCurveItem(x, np.zeros(x.size - 1), stepMode="center",
                                      pen=theme.pen(theme.MARKER))
        self.plot.addItem(self.estimate)
        self.plot.addItem(self.frame)
        self.add_legend(self.plot, [(self.estimate, "receive → estimate"), (self.frame, "receive → frame")],
                        right=True)
        self.enable_crosshair()
        self._x = x
        self.stats: dict[str, tuple[float, float]] = {}
        self.follow_range(0, "x", x[0] + 1, x[-1], pad=0.0, shrink=0.0)

    def draw(self, history: History) -> None:
        est = history.estimate_us.view()[:, 0]
        frm = history.frame_us.view()[:, 0]
        top = 1.0
        for curve, samples in ((self.estimate, est), (self.frame, frm)):
            counts, _ = np.histogram(samples, bins=EDGES_US)
            share = counts * (100.0 / max(samples.size, 1))
            curve.setData(self._x, share, stepMode="center")
            top = max(top, float(share.max()) if share.size else 0.0)
        self.stats = {"estimate": percentiles(est), "frame": percentiles(frm)}
        lo = self._lowest(est, frm)
        self.follow_range(0, "x", lo, self._x[-1], pad=0.0, shrink=0.5)
        self.follow_range(0, "y", 0.0, top * 1.25, pad=0.0, shrink=0.4)  # room for the legend
        e50, e99 = self.stats["estimate"]
        f50, f99 = self.stats["frame"]
        self.set_title(f"Latency p50/p99 · estimate {micros(e50)}/{micros(e99)} · "
                       f"frame {micros(f50)}/{micros(f99)}")

    def _lowest(self, *arrays: np.ndarray) -> float:
        lows = [float(np.nanmin(a)) for a in arrays if a.size and np.isfinite(a).any()]
        low = min(lows) if lows else 10.0
        return float(np.log10(max(low / 2.0, 1.0)))

    def readout(self, plot_index: int, x: float, y: float) -> str | None:
        i = int(np.searchsorted(self._x, x)) - 1
        if not 0 <= i < self._x.size - 1:
            return None
        lo, hi = EDGES_US[i], EDGES_US[i + 1]
        e = self.estimate.getData()[1]
        f = self.frame.getData()[1]
        return (f"{micros(lo)} – {micros(hi)}\n"
                f"estimate {num(e[i] if e is not None and i < len(e) else 0, 1)} %   "
                f"frame {num(f[i] if f is not None and i < len(f) else 0, 1)} %")
