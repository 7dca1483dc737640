"""Cumulative bid and ask depth around the mid, in bps from mid, with the order's reach marked:
its limit price for a limit order, the worst price of its walk for a market order (labelled).

The x axis is distance from mid in bps rather than price: it does not scroll as the mid moves,
so the axes are not re-ticked every frame (the costliest part of a repaint after fills), and
the reader sees at once how far an order walks. The hover readout gives the price.
"""
from __future__ import annotations


import numpy as np
from PySide6.QtCore import Qt

from core.models.maker_taker import limit_price
from core.snapshot import Snapshot
from widgets import theme
from widgets.estimate_view import Summary
from widgets.format import bps, price, qty, usd
from widgets.marks import LineCurve, VLines
from widgets.plot_base import CompactAxis, LivePlot


def step_xy(dist_bps: np.ndarray, cum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points of a staircase from (0, 0) through each level's (distance, cumulative size)."""
    n = dist_bps.shape[0]
    x = np.empty(2 * n + 1)
    y = np.empty(2 * n + 1)
    x[0] = 0.0
    y[0] = 0.0
    x[1::2] = dist_bps
    x[2::2] = dist_bps
    y[1::2] = np.concatenate(((0.0,), cum[:-1])) if n else cum
    y[2::2] = cum
    return x, y


class DepthChart(LivePlot):
    """Bids left (negative bps), asks right; y = cumulative size in base units."""

    def __init__(self, parent=None, fill: bool = False) -> None:
        super().__init__("Depth", parent)
        self.plot = self.add_plot(axis_items={"left": CompactAxis("left")},
                                  left="cumulative size", bottom="distance from mid (bps)")
        self.set_title("Depth around mid", force=True)
        # one reused polyline per side (no path rebuilt, no data bounds recomputed per frame)
        self.bids = LineCurve(theme.pen(theme.BID), fill=theme.brush(theme.BID, 40) if fill else None)
        self.asks = LineCurve(theme.pen(theme.ASK), fill=theme.brush(theme.ASK, 40) if fill else None)
        # the mid (dashed) and the order's reach (the order's colour): one batched item
        self.lines = VLines([theme.pen(theme.MUTED, Qt.PenStyle.DashLine), theme.pen(theme.MARKER)])
        self.lines.set(0, 0.0)
        for item in (self.bids, self.asks):
            self.plot.addItem(item, ignoreBounds=True)  # the ranges follow the data by hand
        self.plot.addItem(self.lines, ignoreBounds=True)
        self.enable_crosshair()
        self.snapshot: Snapshot | None = None
        self._cum = (np.zeros(0), np.zeros(0))

    def draw(self, snap: Snapshot, summary: Summary | None = None) -> None:
        self.snapshot = snap
        b, f = snap.book, snap.features
        mid = f.mid
        if not (mid > 0):
            return
        bid_d = (b.bid_px / mid - 1.0) * 1e4
        ask_d = (b.ask_px / mid - 1.0) * 1e4
        bid_c = np.cumsum(b.bid_qty)
        ask_c = np.cumsum(b.ask_qty)
        self._cum = (bid_c, ask_c)
        self.bids.setData(*step_xy(bid_d, bid_c))
        self.asks.setData(*step_xy(ask_d, ask_c))
        reach, label = order_reach(snap, summary)
        self.lines.set(1, (reach / mid - 1.0) * 1e4 if reach is not None else None, label)
        self.set_axis_label(0, "left", f"cumulative size ({snap.instrument.base})")
        self.set_title(f"Depth · mid {price(mid, snap.instrument.tick_size)} · spread {bps(f.spread_bps)} bps"
                       f" · {b.bid_px.size}/{b.ask_px.size} levels")
        # both sides over the same distance: the nearer far end of the two
        ext = min(-bid_d[-1] if bid_d.size else 0.0, ask_d[-1] if ask_d.size else 0.0)
        if ext > 0:
            before = self._ranges.get((0, "x"))
            self.follow_range(0, "x", -ext, ext, pad=0.02, shrink=0.6, nice=True)
            shown = self._ranges.get((0, "x"), (-ext, ext))[1]  # what the x axis shows
            top = max(_cum_within(bid_d, bid_c, -shown), _cum_within(ask_d, ask_c, shown))
            self.follow_range(0, "y", 0.0, top, pad=0.05, shrink=0.6, nice=True)
            if self.following and self._ranges.get((0, "x")) != before:
                self.plot.getViewBox().setLimits(xMin=-4 * ext, xMax=4 * ext, yMin=0)

    def readout(self, plot_index: int, x: float, y: float) -> str | None:
        snap = self.snapshot
        if snap is None:
            return None
        b, mid, inst = snap.book, snap.features.mid, snap.instrument
        px_at = mid * (1.0 + x / 1e4)
        if x < 0:
            px, qty_, book_sz, cum_all, label = b.bid_px, b.bid_qty, b.bid_sz, self._cum[0], "bids ≥"
            n = int(np.searchsorted(-px, -px_at, side="right"))
        else:
            px, qty_, book_sz, cum_all, label = b.ask_px, b.ask_qty, b.ask_sz, self._cum[1], "asks ≤"
            n = int(np.searchsorted(px, px_at, side="right"))
        if n == 0 or cum_all.size < n:
            return (f"price {price(px_at, inst.tick_size)}  ({bps(x, 2)} bps)\n"
                    f"no {label.split()[0]} within")
        cum_base = float(cum_all[n - 1])
        notional = float(np.dot(px[:n], qty_[:n]))
        in_book_units = float(np.sum(book_sz[:n]))
        return (f"price {price(px_at, inst.tick_size)}   {bps(x, 2)} bps from mid\n"
                f"{label} {price(float(px[n - 1]), inst.tick_size)}: {n} levels\n"
                f"cum size {qty(cum_base, inst.base)}  ({qty(in_book_units)} {inst.unit_label})\n"
                f"notional {usd(notional, 0)} {inst.quote}")


def order_reach(snap: Snapshot, summary: Summary | None = None) -> tuple[float | None, str]:
    """The price the order's line marks and its label: a limit order's limit price (the
    models' ``Estimate.limit_price``, else the same rule on this book:
    ``core.models.maker_taker.limit_price``), a market order's worst fill on the visible book."""
    p = snap.params
    if p.order_type == "limit":
        lim = summary.limit_price if summary is not None else None
        if lim is None:
            b = snap.book
            if not (b.bid_px.size and b.ask_px.size):
                return None, "limit"
            sign = 1.0 if p.side == "buy" else -1.0
            lim = float(limit_price(sign, b.best_bid, b.best_ask, p.limit_offset_bps,
                                    snap.instrument.tick_size))
        return lim, "limit"
    fill = snap.fill
    return (fill.worst_px if fill.filled_base > 0 else None), "worst fill"


def _cum_within(dist: np.ndarray, cum: np.ndarray, edge: float) -> float:
    """Cumulative size at the last level inside ``edge`` bps."""
    if not dist.size:
        return 0.0
    inside = np.abs(dist) <= abs(edge)
    return float(cum[inside][-1]) if inside.any() else float(cum[0])
