"""The rows of ``timeseries.csv``: one priced decision per row, with what it was and how it came out.

Each row says which order was priced (side, quantity and unit, order type, limit offset,
exchange, fee tier, reference, execution delay: the inputs in force), when (wall clock and the
book's exchange time, the models' clock), on which book (sequence number and book version),
what the visible book costs for it now, what the slippage model predicted (mean and
quantiles) and, once the delay has elapsed, the realised label.

The label is the slippage model's own (``core.models.slippage_model``): the exact cost of
walking the first book whose exchange time is at or after decision time + delay, against the
mid *at decision time*, in bps of the order's notional, and against the order's reference (the
exact spread crossing at decision is taken off for "best", as the model's prediction does).
``book_now_bps`` is the same walk on the decision's own book: the naive prediction, on the
label's basis. ``book_walk_bps`` is the book walk as the window shows it (bps of the reference
price, as ``snapshot.json``'s fill). A row resolves against the books its owner saw: the window
sees the books its worker priced (bursts coalesce), headless sees every evaluation.

Rows are float arrays so they fit a ring buffer; text columns are stored as codes into
:attr:`DecisionRows.texts` and decoded by :meth:`DecisionRows.columns`. The caller owns the
storage: it builds a row with :meth:`row`, schedules the label with :meth:`schedule` once the
row is final, and writes what :meth:`resolve` hands back.
"""
from __future__ import annotations

import heapq
import math
from typing import NamedTuple

import numpy as np

from core.models.book_cost import walk_cost_bps
from core.snapshot import Snapshot

COLUMNS = (
    "time_unix_s", "decision_time_ms", "seq", "book_version",
    "side", "quantity", "unit", "order_type", "limit_offset_bps", "exchange", "fee_tier",
    "reference", "exec_delay_ms",
    "mid", "best_bid", "best_ask", "spread_bps",
    "book_walk_bps", "book_now_bps",
    "predicted_mean_bps", "predicted_q50_bps", "predicted_q90_bps", "predicted_q95_bps",
    "net_cost_bps",
    "label_bps", "label_time_ms", "label_seq",
)
COL = {name: i for i, name in enumerate(COLUMNS)}
TEXT_COLUMNS = ("side", "unit", "order_type", "exchange", "fee_tier", "reference")
INT_COLUMNS = ("seq", "book_version", "label_seq")
_PREDICTED = ("predicted_mean_bps", "predicted_q50_bps", "predicted_q90_bps", "predicted_q95_bps",
              "net_cost_bps")
_LABEL = COL["label_bps"]
NAN = math.nan


class Pending(NamedTuple):
    """What resolving one row's label needs, kept until its fill time has come."""

    due_ms: float
    row_id: int
    sign: float
    target: float
    in_quote: bool
    mid: float
    notional: float
    shift_bps: float  # taken off for the "best" reference (the exact spread crossing)


class Label(NamedTuple):
    row_id: int
    label_bps: float
    time_ms: float
    seq: int


class DecisionRows:
    """Builds decision rows and resolves their labels; the rows live in the caller's storage."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self._codes: dict[str, float] = {}
        self._pending: list[Pending] = []  # a heap on the fill time
        self._last_ts = -math.inf

    def code(self, text: str) -> float:
        code = self._codes.get(text)
        if code is None:
            code = self._codes[text] = float(len(self.texts))
            self.texts.append(text)
        return code

    def row(self, snap: Snapshot, wall_s: float) -> tuple[list[float], Pending | None]:
        """The row of ``snap`` (labels empty; a list, for the caller's storage to convert
        once) and what will resolve its label (None: never)."""
        p, f, b, fill, est = snap.params, snap.features, snap.book, snap.fill, snap.estimate
        sign = 1.0 if p.side == "buy" else -1.0
        px, qty = (b.ask_px, b.ask_qty) if sign > 0 else (b.bid_px, b.bid_qty)
        mid = f.mid
        pending = None
        book_now = NAN
        if p.unit in ("usd", "base") and px.size and math.isfinite(mid):
            in_quote = p.unit == "usd"
            target = float(p.quantity)
            notional = target if in_quote else target * mid
            shift = 0.0 if p.reference == "mid" else sign * (fill.best_px - mid) * fill.filled_base / notional * 1e4
            book_now = walk_cost_bps(px, qty, target, in_quote, mid, sign, notional) - shift
            pending = Pending(b.ts_ms + p.exec_delay_ms, -1, sign, target, in_quote, mid, notional, shift)
        book_walk = fill.slippage_mid_bps if p.reference == "mid" else fill.slippage_best_bps
        code = self.code
        row = [
            wall_s, b.ts_ms, snap.seq, b.version,
            sign, p.quantity, code(p.unit), code(p.order_type), p.limit_offset_bps,
            code(p.exchange), code(p.fee_tier), code(p.reference), p.exec_delay_ms,
            mid, b.best_bid, b.best_ask, f.spread_bps,
            book_walk, book_now,
        ]
        row.extend([_value(est, name) for name in _PREDICTED])
        row.extend((NAN, NAN, NAN))
        return row, pending

    def schedule(self, row_id: int, pending: Pending | None) -> None:
        """Resolve row ``row_id``'s label once a book at or after its fill time arrives."""
        if pending is not None:
            heapq.heappush(self._pending, pending._replace(row_id=row_id))

    def resolve(self, snap: Snapshot) -> list[Label]:
        """Labels of every scheduled row whose fill time ``snap``'s book has reached."""
        b = snap.book
        ts = b.ts_ms
        if ts < self._last_ts:
            self._pending.clear()  # time went back (a replay started over): nothing can resolve
        self._last_ts = ts
        out: list[Label] = []
        heap = self._pending
        while heap and heap[0].due_ms <= ts:
            d = heapq.heappop(heap)
            px, qty = (b.ask_px, b.ask_qty) if d.sign > 0 else (b.bid_px, b.bid_qty)
            y = walk_cost_bps(px, qty, d.target, d.in_quote, d.mid, d.sign, d.notional) - d.shift_bps \
                if px.size else NAN
            out.append(Label(d.row_id, y, ts, snap.seq))
        return out

    @property
    def pending(self) -> int:
        return len(self._pending)

    def clear(self) -> None:
        self._pending.clear()
        self._last_ts = -math.inf

    def columns(self, rows: np.ndarray) -> dict[str, list | np.ndarray]:
        """``rows`` (as built here) as named columns for ``timeseries.csv``: text decoded,
        counters as integers, NaN left for the writer to leave empty."""
        out: dict[str, list | np.ndarray] = {}
        for name in COLUMNS:
            col = rows[:, COL[name]]
            if name == "side":
                out[name] = ["buy" if v > 0 else "sell" for v in col.tolist()]
            elif name in TEXT_COLUMNS:
                out[name] = [self.texts[int(v)] if v == v else "" for v in col.tolist()]
            elif name in INT_COLUMNS:
                out[name] = [int(v) if v == v else "" for v in col.tolist()]
            else:
                out[name] = col
        return out


def until(rows: np.ndarray, seq: int) -> np.ndarray:
    """The rows decided at or before snapshot ``seq``, with only the labels known by then: what
    an export of snapshot ``seq`` may say (a copy)."""
    rows = np.array(rows[rows[:, COL["seq"]] <= seq])
    late = ~(rows[:, COL["label_seq"]] <= seq)
    rows[late, _LABEL:] = NAN
    return rows


def _value(obj, name: str) -> float:
    v = getattr(obj, name, None) if obj is not None else None
    try:
        v = float(v)
    except (TypeError, ValueError):
        return NAN
    return v if math.isfinite(v) else NAN
