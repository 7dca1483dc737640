"""One partition through the live Engine: one row per (time, side, quantity).

Each book is priced by ``Engine.evaluate`` with the order's params: the same decoder, book,
``book_state`` features and ``price_order`` kernel as the window and ``headless --replay``, so
a row's walk equals theirs bit for bit. Without ``every_ns`` every frame that changed the book
gives rows (stamped with its receive time); with it, each tick ``k * every_ns`` (epoch) gets the
rows of the last book received at or before it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np

from core import errors
from core.decision_series import DecisionRows
from core.book.order_book import V_OK, OrderBook, check_not_crossed, raise_validation, validate_book
from core.engine import Engine, EngineConfig
from core.history.inputs import (RECORDING, TARDIS_INCREMENTAL, TardisBook, TardisIncrementalReader,
                                 TardisMessage, TardisReader)
from core.history.partition import Partition
from core.history.resume import lines_from
from core.venues import instrument_for
from core.models.fees import fee_rate
from core.params import OrderParams
from core.recording.recorder import read_recording
from core.snapshot import DEPTH_BANDS_BPS, Snapshot

BPS = 1e4
FILLABLE_BPS = (5.0, 10.0, 25.0)  # summary: the largest size fillable within these of the mid
DEPTH_COLUMNS = {"depth_10bps_usd": DEPTH_BANDS_BPS.index(10.0), "depth_50bps_usd": DEPTH_BANDS_BPS.index(50.0)}
FLOAT_COLUMNS = ("book_ts_ms", "quantity", "mid", "spread_bps", "slippage_bps", "fees_bps",
                 "net_cost_bps", "filled_usd", *DEPTH_COLUMNS,
                 *(f"fillable_{b:g}bps_usd" for b in FILLABLE_BPS))
COLUMNS = ("time_ns", "venue", "symbol", "side", "unit", "levels", "exhausted", *FLOAT_COLUMNS)
#: with --models: the cost models' estimate for the same order on the same book (Estimate fields)
MODEL_COLUMNS = {"impact_bps": "impact_bps", "model_slippage_bps": "slippage_bps",
                 "model_net_cost_bps": "net_cost_bps", "slippage_weight": "slippage_weight",
                 "predicted_mean_bps": "predicted_mean_bps", "predicted_q50_bps": "predicted_q50_bps",
                 "predicted_q90_bps": "predicted_q90_bps", "predicted_q95_bps": "predicted_q95_bps"}
#: with --models, after them: the realised label (``core.decision_series``, as headless exports it)
LABEL_COLUMN = "label_bps"


class _BookAt(NamedTuple):
    """What :meth:`DecisionRows.resolve` reads of a Snapshot: the book view and a sequence."""

    book: object
    seq: int


@dataclass(frozen=True)
class EvalSpec:
    """What every partition prices: the same for all, sent once per task."""

    quantities: tuple[float, ...]
    unit: str = "usd"
    sides: tuple[str, ...] = ("buy", "sell")
    every_ns: int = 0  # 0: every book; else the book as of each tick
    fee_tier: str = "Lv1"
    models: bool = False  # run the cost models (core.models) beside the exact walk

    def params(self) -> list[OrderParams]:
        return [OrderParams(side=s, quantity=q, unit=self.unit, fee_tier=self.fee_tier).validated()
                for s in self.sides for q in self.quantities]


@dataclass
class PartitionResult:
    index: int
    columns: dict[str, np.ndarray]
    frames: int  # frames (rows) read
    books: int  # books evaluated
    rejected: int
    rejected_by_reason: dict[str, int]

    @property
    def rows(self) -> int:
        return len(self.columns["time_ns"])


def evaluate_partition(part: Partition, spec: EvalSpec) -> PartitionResult:
    """Price every book of ``part`` (or the book as of each tick) for every (side, quantity)."""
    instrument = instrument_for(part.source.venue, part.source.symbol)
    models = None
    if spec.models:
        from core.models.suite import CostModels

        models = CostModels(instrument)
    engine = Engine(instrument, part.source.venue, config=EngineConfig(latency_window=16), models=models)
    fees_bps = fee_rate(instrument.exchange, instrument.kind, spec.fee_tier).taker * BPS
    pricer = _Pricer(engine, spec.params(), fees_bps, labels=spec.models)
    rows: list[tuple] = []
    next_tick = -(-part.start_t_ns // spec.every_ns) * spec.every_ns if spec.every_ns else 0
    frames = 0
    for t_ns, item in _frames(part):
        frames += 1
        if spec.every_ns:  # the ticks before this frame see the book as it was
            next_tick = _ticks_before(t_ns, next_tick, spec.every_ns, pricer, rows)
        changed = _apply(engine, item, t_ns)
        if changed:
            pricer.resolve()  # every new book realises the labels due by its time, ticked or not
            if not spec.every_ns:
                rows += pricer.rows(t_ns)
    if spec.every_ns:
        _ticks_before(part.end_t_ns, next_tick, spec.every_ns, pricer, rows)
    if spec.models:
        rows = pricer.with_labels(rows)
    return PartitionResult(part.index, _columns(rows, part, spec.models), frames, pricer.books,
                           sum(engine.rejections.values()), dict(engine.rejections))


def _ticks_before(t_ns: int, tick: int, every: int, pricer: "_Pricer", rows: list[tuple]) -> int:
    """Rows for the ticks before ``t_ns`` on the current book; returns the next tick."""
    while tick < t_ns:
        if pricer.engine.has_book:
            rows += pricer.rows(tick)
        tick += every
    return tick


class _Pricer:
    """The rows of the Engine's current book, computed once per book version.

    With ``labels``, each (side, quantity) has its own :class:`DecisionRows` (the live label
    logic: the walk of the first book at or after decision + delay against the decision's mid);
    a row carries its decision's id last until :meth:`with_labels` swaps in the label. Labels
    resolve on every book the partition receives (:meth:`resolve`), not only on the books that
    were priced, so ``--every`` rows are labelled by the books between the ticks too. Ticks on
    one book share its decision (decision time is the book's exchange time, as live).
    """

    def __init__(self, engine: Engine, params: list[OrderParams], fees_bps: float, labels: bool = False) -> None:
        self.engine, self.params, self.fees_bps = engine, params, fees_bps
        self.books = 0
        self._version = -1
        self._rows: list[tuple] = []
        self._decisions = [DecisionRows() for _ in params] if labels else None
        self._labels: dict[int, float] = {}
        self._next_id = 0

    def rows(self, t_ns: int) -> list[tuple]:
        if self.engine.book.version != self._version:
            self._version = self.engine.book.version
            snaps = [self.engine.evaluate(p) for p in self.params]
            self._rows = [self._row(snap) + self._decide(i, snap) for i, snap in enumerate(snaps)]
            self.books += 1
        return [(t_ns, *row) for row in self._rows]

    def resolve(self) -> None:
        """Realise the labels due by the current book's exchange time (the Engine's book view,
        as the Snapshot of that book would carry it; the models are not run for it)."""
        if self._decisions is None or not self.engine.has_book or not any(d.pending for d in self._decisions):
            return
        at = _BookAt(self.engine._book_state()[0], -1)  # noqa: SLF001 - the view evaluate() uses
        for decisions in self._decisions:
            self._take(decisions.resolve(at))

    def _take(self, labels) -> None:
        for label in labels:
            self._labels[label.row_id] = label.label_bps

    def _decide(self, i: int, snap: Snapshot) -> tuple:
        """Schedule this book's decision for order ``i`` (earlier ones resolved in :meth:`resolve`)."""
        if self.engine.models is None:
            return ()
        row_id = self._next_id
        self._next_id += 1
        if self._decisions is not None:
            decisions = self._decisions[i]
            self._take(decisions.resolve(snap))
            _row, pending = decisions.row(snap, 0.0)
            decisions.schedule(row_id, pending)
            if pending is not None and pending.due_ms <= snap.book.ts_ms:  # no delay: this very book
                self._take(decisions.resolve(snap))
        return (row_id,)

    def with_labels(self, rows: list[tuple]) -> list[tuple]:
        """Rows with their decision id replaced by the label (NaN: not resolved in this partition)."""
        return [(*row[:-1], self._labels.get(row[-1], math.nan)) for row in rows]

    def _row(self, snap: Snapshot) -> tuple:
        f, feat, book = snap.fill, snap.features, snap.book
        buy = f.side == "buy"
        depth = feat.ask_depth_usd if buy else feat.bid_depth_usd
        px, qty = (book.ask_px, book.ask_qty) if buy else (book.bid_px, book.bid_qty)
        sign = 1.0 if buy else -1.0
        fillable = [fillable_usd(px, qty, feat.mid, sign, b) for b in FILLABLE_BPS]
        est = snap.estimate
        model = tuple(float(getattr(est, name)) if est is not None else math.nan
                      for name in MODEL_COLUMNS.values()) if self.engine.models is not None else ()
        return (f.side, f.unit, f.levels, f.exhausted, book.ts_ms, f.quantity, feat.mid,
                feat.spread_bps, f.slippage_mid_bps, self.fees_bps, f.slippage_mid_bps + self.fees_bps,
                f.filled_usd, *(depth[i] for i in DEPTH_COLUMNS.values()), *fillable, *model)


def fillable_usd(px: np.ndarray, qty: np.ndarray, mid: float, sign: float, bps: float) -> float:
    """The largest notional whose average price is within ``bps`` of ``mid`` (walking from the touch).

    The average price after each whole level is monotonic, so the whole levels within the bound
    are a prefix; the next level is taken in part, solving (Q + p x) / (B + x) = bound for x.
    """
    if px.shape[0] == 0 or not math.isfinite(mid):
        return 0.0
    bound = mid * (1.0 + sign * bps / BPS)
    cum_b, cum_q = np.cumsum(qty), np.cumsum(px * qty)
    within = sign * (cum_q / cum_b - bound) <= 0.0
    n = int(np.argmin(within)) if not within.all() else within.shape[0]
    if n == px.shape[0]:
        return float(cum_q[-1])
    b, q = (float(cum_b[n - 1]), float(cum_q[n - 1])) if n else (0.0, 0.0)
    p = float(px[n])
    x = min(max((bound * b - q) / (p - bound), 0.0), float(qty[n]))
    return q + p * x


def _frames(part: Partition) -> Iterator[tuple[int, object]]:
    """(receive time ns, frame or book) of the partition, in order."""
    if part.source.kind == RECORDING:
        yield from _recording_frames(part)
        return
    if part.source.kind == TARDIS_INCREMENTAL:
        for message in TardisIncrementalReader(part.source.path).messages(part.start, part.stop):
            yield message.t_ns, message
        return
    for book in TardisReader(part.source.path).books(part.start, part.stop):
        yield book.t_ns, book


def _recording_frames(part: Partition) -> Iterator[tuple[int, object]]:
    """Frames ``start`` .. ``stop`` read from the partition's resume point (no head re-read),
    parsed by the recording reader itself (``Recording._frame``), numbered as the planner did."""
    rec = read_recording(Path(part.source.path))
    if part.resume is None:  # a partition made by hand: read from the start
        for i, frame in enumerate(rec.frames()):
            if i >= part.stop:
                return
            if i >= part.start:
                yield frame.t_ns, frame
        return
    index = part.start
    for line in lines_from(part.source.path, part.resume, part.skip):
        if index >= part.stop:
            return
        frame = rec._frame(line, index)  # noqa: SLF001 - the reader's own parse of one line
        if frame is not None:
            index += 1
            yield frame.t_ns, frame


def _apply(engine: Engine, item: object, t_ns: int) -> bool:
    """Apply one frame (or Tardis book) to the Engine; True when the book changed."""
    if isinstance(item, TardisBook) or (isinstance(item, TardisMessage) and item.snapshot):
        return engine.ingest_decoded(lambda book: apply_snapshot_row(book, item), t_ns)
    if isinstance(item, TardisMessage):
        return engine.ingest_decoded(lambda book: apply_delta_message(book, item), t_ns)
    return engine.ingest(item.raw, t_ns)


def apply_snapshot_row(book: OrderBook, row: TardisBook | TardisMessage) -> None:
    """A whole book from a snapshot row, validated and applied as a snapshot frame is
    (``validate_book`` then ``OrderBook.apply_snapshot``); a bad row raises its FeedError."""
    code, side, idx, n_bid, n_ask = validate_book(row.bid_px, row.bid_sz, row.bid_px.shape[0],
                                                  row.ask_px, row.ask_sz, row.ask_px.shape[0])
    if code != V_OK:
        check_not_crossed(row.bid_px[:1], row.ask_px[:1])
        raise_validation(code, idx, "ask" if side else "bid")
    book.apply_snapshot(row.bid_px[:n_bid], row.bid_sz[:n_bid], row.ask_px[:n_ask],
                        row.ask_sz[:n_ask], row.ts_ms)


def apply_delta_message(book: OrderBook, msg: TardisMessage) -> None:
    """Absolute level updates merged as a venue's delta frame is (``OrderBook.apply_delta``:
    all or nothing); before any snapshot there is no book to update (OutOfSync)."""
    if book.version == 0 or book.empty:
        raise errors.OutOfSync("an incremental update before the first snapshot")
    book.apply_delta(msg.bid_px, msg.bid_sz, msg.ask_px, msg.ask_sz, msg.ts_ms)


def _columns(rows: list[tuple], part: Partition, models: bool) -> dict[str, np.ndarray]:
    """Rows -> named column arrays (empty arrays of the right types when there are none)."""
    n = len(rows)
    floats = FLOAT_COLUMNS + ((*MODEL_COLUMNS, LABEL_COLUMN) if models else ())
    cols = list(zip(*rows)) if rows else [()] * (5 + len(floats))
    out: dict[str, np.ndarray] = {
        "time_ns": np.array(cols[0], dtype=np.int64),
        "venue": np.array([part.source.venue] * n, dtype=object),
        "symbol": np.array([part.source.symbol] * n, dtype=object),
        "side": np.array(cols[1], dtype=object),
        "unit": np.array(cols[2], dtype=object),
        "levels": np.array(cols[3], dtype=np.int64),
        "exhausted": np.array(cols[4], dtype=bool),
    }
    for k, name in enumerate(floats):
        out[name] = np.array(cols[5 + k], dtype=np.float64)
    return out
