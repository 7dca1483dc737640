"""The time series the plots draw, kept in bounded ring buffers on the GUI side.

Snapshots can arrive at 1,000 a second; a plot needs far fewer points. Samples are bucketed
(``bucket_s``): within a bucket the newest values win, except the spread, which keeps the
bucket's maximum so a one-message blow-out stays visible. Memory is fixed by ``capacity``.
Latency samples (receive -> estimate, receive -> frame) are kept raw for the histogram.
"""
from __future__ import annotations

import math

import numpy as np

from core.snapshot import Snapshot
from widgets.estimate_view import Summary
from widgets.ringbuffer import RingBuffer

COLUMNS = ("t", "mid", "spread_bps", "best_bid", "best_ask", "book_slippage_bps",
           "model_slippage_bps", "band_lo_bps", "band_hi_bps", "net_cost_bps", "exec_delay_s")
COL = {name: i for i, name in enumerate(COLUMNS)}


class History:
    """Ring-buffered series of what was seen, and raw latency samples."""

    def __init__(self, seconds: float = 600.0, bucket_s: float = 0.05, latency_samples: int = 4096) -> None:
        self.bucket_s = bucket_s
        self.series = RingBuffer(int(math.ceil(seconds / bucket_s)) + 1, len(COLUMNS))
        self.estimate_us = RingBuffer(latency_samples, 1)
        self.frame_us = RingBuffer(latency_samples, 1)
        self._bucket_start = -math.inf
        self._last_recv_ns = 0
        self.snapshots = 0
        self.version = 0  # bumps on every change: views redraw only when it moved

    def add(self, snap: Snapshot, summary: Summary, now_s: float) -> None:
        """Record one snapshot seen at wall time ``now_s``."""
        self.snapshots += 1
        self.version += 1
        if snap.recv_ns != self._last_recv_ns and snap.ready_ns > snap.recv_ns:
            # a new message behind it (not just new inputs): its receive -> estimate counts
            self._last_recv_ns = snap.recv_ns
            self.estimate_us.append(((snap.ready_ns - snap.recv_ns) / 1000.0,))
        f, band = snap.features, summary.band
        row = np.array((
            now_s, f.mid, f.spread_bps, snap.book.best_bid, snap.book.best_ask,
            _nan(summary.book_slippage_bps), _nan(summary.model_slippage_bps),
            band.lo_bps if band else math.nan, band.hi_bps if band else math.nan,
            _nan(summary.net_cost_bps), snap.params.exec_delay_ms / 1000.0,
        ))
        if now_s - self._bucket_start < self.bucket_s:
            prev = self.series.last()
            row[COL["spread_bps"]] = np.fmax(prev[COL["spread_bps"]], row[COL["spread_bps"]])
            self.series.replace_last(row)
        else:
            self._bucket_start = now_s
            self.series.append(row)

    def add_frame_latency(self, us: float) -> None:
        self.frame_us.append((us,))

    def window(self, seconds: float, now_s: float) -> np.ndarray:
        """Rows of the last ``seconds`` (a view; oldest first)."""
        n = min(len(self.series), int(seconds / self.bucket_s) + 2)
        rows = self.series.view(n)
        if rows.shape[0] and rows[0, 0] < now_s - seconds:
            rows = rows[np.searchsorted(rows[:, 0], now_s - seconds):]
        return rows

    def column(self, rows: np.ndarray, name: str) -> np.ndarray:
        return rows[:, COL[name]]

    def clear(self) -> None:
        for buf in (self.series, self.estimate_us, self.frame_us):
            buf.clear()
        self._bucket_start = -math.inf
        self.version += 1


def _nan(x: float | None) -> float:
    return math.nan if x is None else x
