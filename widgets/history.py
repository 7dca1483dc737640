"""The time series the plots draw and ``timeseries.csv`` exports, in bounded ring buffers.

Snapshots can arrive at 1,000 a second; a plot needs far fewer points. Samples are bucketed
(``bucket_s``): within a bucket the newest snapshot's row wins, except the spread, which keeps
the bucket's maximum so a one-message blow-out stays visible. A row is one priced decision
(:mod:`core.decision_series`): the inputs in force, the book cost now, the prediction and, once
the execution delay has passed, the realised label, written into the row when a book at or
after its fill time arrives. Memory is fixed by ``capacity``. Latency samples (receive ->
estimate, receive -> frame) are kept raw for the histogram.
"""
from __future__ import annotations

import math
import time

import numpy as np

from core import decision_series as ds
from core.snapshot import Snapshot
from widgets.estimate_view import Summary
from core.ringbuffer import RingBuffer

#: the exported columns, then what only the plots use
COLUMNS = ds.COLUMNS + ("exec_delay_s",)
COL = {name: i for i, name in enumerate(COLUMNS)}
#: the names the plots read: the book walk as shown, the headline prediction and its band
COL.update(t=COL["time_unix_s"], book_slippage_bps=COL["book_walk_bps"],
           model_slippage_bps=COL["predicted_mean_bps"], band_lo_bps=COL["predicted_q50_bps"],
           band_hi_bps=COL["predicted_q95_bps"])
_SPREAD = COL["spread_bps"]
_LABEL = (COL["label_bps"], COL["label_time_ms"], COL["label_seq"])


class History:
    """Ring-buffered series of what was seen, and raw latency samples."""

    def __init__(self, seconds: float = 600.0, bucket_s: float = 0.05, latency_samples: int = 4096) -> None:
        self.bucket_s = bucket_s
        self.series = RingBuffer(int(math.ceil(seconds / bucket_s)) + 1, len(COLUMNS))
        self.estimate_us = RingBuffer(latency_samples, 1)
        self.frame_us = RingBuffer(latency_samples, 1)
        self.decisions = ds.DecisionRows()
        self._open: ds.Pending | None = None  # the label to schedule when the open bucket closes
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
        for label in self.decisions.resolve(snap):
            self._write_label(label)
        row, pending = self.decisions.row(snap, now_s)
        row.append(snap.params.exec_delay_ms / 1000.0)
        if now_s - self._bucket_start < self.bucket_s and len(self.series):
            widest = float(self.series.last()[_SPREAD])
            if widest > row[_SPREAD] or row[_SPREAD] != row[_SPREAD]:
                row[_SPREAD] = widest  # (NaN never wins over a number)
            self.series.replace_last(row)  # the open bucket's decision is this one now
        else:
            self._bucket_start = now_s
            if self._open is not None:
                self.decisions.schedule(self.series.total - 1, self._open)
            self.series.append(row)
        self._open = pending
        if pending is not None and pending.due_ms <= snap.book.ts_ms:  # no delay: this very book
            self.decisions.schedule(self.series.total - 1, pending)
            self._open = None
            for label in self.decisions.resolve(snap):
                self._write_label(label)

    def _write_label(self, label: ds.Label) -> None:
        for col, value in zip(_LABEL, (label.label_bps, label.time_ms, label.seq)):
            self.series.set_value(label.row_id, col, value)

    def export_rows(self, snap: Snapshot) -> np.ndarray:
        """The exported columns of the rows decided up to ``snap``, with the labels known by
        then, ending with ``snap``'s own row (a copy). When a later snapshot of the same
        bucket replaced it, its row is rebuilt, stamped with that bucket's wall time."""
        view = self.series.view()
        rows = ds.until(view[:, :len(ds.COLUMNS)], snap.seq)
        seq = ds.COL["seq"]
        if rows.shape[0] and rows[-1, seq] == snap.seq:
            return rows
        later = view[view[:, seq] > snap.seq]
        wall = float(later[0, COL["t"]]) if later.shape[0] else time.time()
        own, _pending = self.decisions.row(snap, wall)
        return np.vstack((rows, np.array(own)[None, :]))

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
        self.decisions.clear()
        self._open = None
        self._bucket_start = -math.inf
        self.version += 1
