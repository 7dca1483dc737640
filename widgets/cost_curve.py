"""Slippage (and net cost) against order size on a log size axis, with the chosen order marked.

The curve is the exact walk of the visible book over a geometric size grid (``snapshot.curve``).
The chosen quantity is a vertical line and a point; the model's predicted quantile band is an
error bar at that point; the size where the visible depth runs out is a dashed line with the
region beyond it shaded: past it the book cannot fill the order.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from core.snapshot import Snapshot
from widgets import theme
from widgets.estimate_view import Summary
from widgets.format import bps, compact, qty
from widgets.marks import LimitRegion, LineCurve, OrderMark
from widgets.plot_base import CompactAxis, LivePlot


def unit_name(snap: Snapshot) -> str:
    """The curve's size unit: the order's, in book terms (a size in contracts is priced in base)."""
    return "USD" if snap.curve.unit == "usd" else snap.instrument.base


class CostCurvePlot(LivePlot):
    def __init__(self, parent=None) -> None:
        super().__init__("Cost curve", parent)
        bottom = CompactAxis("bottom")
        bottom.setLogMode(True)
        self.plot = self.add_plot(axis_items={"bottom": bottom}, left="slippage (bps)",
                                  bottom="order size")
        self.set_title("Cost vs order size", force=True)
        # reused polylines, NaN breaking the line (no path rebuilt, no bounds recomputed per frame)
        self.slip = LineCurve(theme.pen(theme.ACCENT))
        self.net = LineCurve(theme.pen(theme.MODEL, Qt.PenStyle.DashLine))
        # the order (line, exact dot, model diamond and band) and the exhausted region are two
        # batched items: one paint call each instead of six items
        self.limit = LimitRegion("book exhausted →", theme.ERROR, theme.EXHAUSTED)
        self.limit.setZValue(-10)
        self.mark = OrderMark()
        self.mark.setZValue(20)
        band_sample = pg.PlotDataItem(pen=theme.pen(theme.MODEL), symbol="d", symbolSize=8,
                                      symbolBrush=theme.MODEL, symbolPen=None)
        self.plot.addItem(self.limit, ignoreBounds=True)
        self.plot.addItem(self.slip, ignoreBounds=True)  # the ranges follow the data by hand
        self.plot.addItem(self.net, ignoreBounds=True)
        self.plot.addItem(self.mark, ignoreBounds=True)
        self.legend = self.add_legend(self.plot, [(self.slip, "book walk (exact)"),
                                                  (self.net, "net cost (anchored at order)"),
                                                  (band_sample, "model mean, q50–q95")])
        self.enable_crosshair()
        self.snapshot: Snapshot | None = None
        self.marker_x = math.nan  # the chosen quantity as drawn (for tests and readouts)

    def draw(self, snap: Snapshot, summary: Summary) -> None:
        self.snapshot = snap
        c = snap.curve
        ok = c.quantities > 0
        lx = np.log10(c.quantities[ok])
        ref = c.slippage_mid_bps if snap.params.reference == "mid" else c.slippage_best_bps
        y = ref[ok]
        self.slip.setData(lx, y)
        net = _net_curve(summary, y)
        if net is None:
            self.net.setData([], [])
        else:
            self.net.setData(lx, net)
        q = snap.fill.quantity  # in the curve's unit
        qx = math.log10(q)
        self.marker_x = q
        band, mean = summary.band, summary.model_slippage_bps
        if band is not None and mean is not None:
            # the band of the prediction (q50 .. q95) with the model's mean, at the order
            self.mark.set(qx, summary.book_slippage_bps, mean, min(band.lo_bps, mean), max(band.hi_bps, mean))
        else:
            self.mark.set(qx, summary.book_slippage_bps)
        lo_x, hi_x = (float(lx[0]), float(lx[-1])) if lx.size else (qx - 1, qx + 1)
        # a sub-pixel move of the depth limit is not worth a repaint of its own
        self.limit.set(round(math.log10(c.max_fill), 4) if c.max_fill > 0 else None)
        unit = unit_name(snap)
        self.set_axis_label(0, "bottom", f"order size ({unit}, log)")
        self.set_title(f"Cost vs order size · {snap.params.side} · visible book fills up to "
                       f"{compact(c.max_fill)} {unit}")
        self.follow_range(0, "x", min(lo_x, qx), max(hi_x, qx), pad=0.02, shrink=0.7)
        finite = y[np.isfinite(y)]
        if finite.size:
            extra = [v for v in (summary.book_slippage_bps, band.hi_bps if band else None) if v is not None]
            if net is not None and np.isfinite(net).any():
                extra.append(float(np.nanmax(net)))  # the net cost line stays in view too
            self.follow_range(0, "y", min(0.0, float(finite.min())), max([float(finite.max())] + extra),
                              pad=0.06, shrink=0.5, nice=True)

    def readout(self, plot_index: int, x: float, y: float) -> str | None:
        snap = self.snapshot
        if snap is None:
            return None
        c, q = snap.curve, 10.0 ** x
        ref = c.slippage_mid_bps if snap.params.reference == "mid" else c.slippage_best_bps
        ok = np.isfinite(ref) & (c.quantities > 0)
        if not ok.any():
            return None
        at = float(np.interp(x, np.log10(c.quantities[ok]), ref[ok]))
        beyond = "  (beyond visible depth)" if q > c.max_fill else ""
        return (f"size {qty(q, unit_name(snap))}{beyond}\n"
                f"slippage {bps(at)} bps vs {snap.params.reference}\n"
                f"≈ {compact(at * 1e-4 * _usd(snap, q))} USD")


def _usd(snap: Snapshot, q: float) -> float:
    return q if snap.curve.unit == "usd" else q * snap.features.mid


def _net_curve(summary: Summary, slip_bps: np.ndarray) -> np.ndarray | None:
    """Net cost over the size grid, anchored on the models' net cost at the chosen size.

    The models price one size; the rest of the curve is the exact book walk shifted by what
    the net cost adds to it at that size (fees, execution-delay term): near the chosen size
    those vary slowly with size (fees are a fixed rate), so the line reads as "book walk +
    the rest", exact at the marker.
    """
    if summary.net_cost_bps is None or summary.book_slippage_bps is None:
        return None
    return slip_bps + (summary.net_cost_bps - summary.book_slippage_bps)
