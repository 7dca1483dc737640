"""The Engine: raw messages in, immutable :class:`Snapshot` out.

It owns one instrument's book and decoder and the live volatility estimate. ``ingest``
applies a message (or counts why not); ``evaluate`` prices the current order on the newest
book. A caller that receives messages in batches ingests them all and evaluates once: for
full-snapshot feeds only the newest book matters, and deltas must all be applied anyway.
Nothing here blocks or touches Qt; the kernels release the GIL.
"""
from __future__ import annotations

import logging
import math
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol

import numpy as np

from core import errors
from core.book.order_book import OrderBook
from core.compute.features import book_state
from core.instruments import Instrument
from core.compute.kernels import N_FILL, price_order
from core.params import OrderParams
from core.snapshot import (
    DEPTH_BANDS_BPS, BookView, CostCurve, Features, Fill, Latency, Snapshot, build,
)
from core.compute.volatility import LiveVolatility
from core.venues import DEFAULT_VENUE, BookFeed, get_venue

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EngineConfig:
    curve_points: int = 96
    imbalance_levels: int = 10
    vol_tau_s: float = 120.0
    latency_window: int = 4096
    latency_refresh_s: float = 0.25  # percentiles are recomputed at most this often
    max_levels: int = 5000
    max_bytes: int = 4 * 1024 * 1024


class Models(Protocol):
    """What the Engine needs from the cost models (``core.models``)."""

    def observe(self, snapshot: Snapshot) -> None:
        """Learn from a freshly evaluated book (labels resolve as time passes)."""

    def estimate(self, snapshot: Snapshot) -> Any:
        """The full cost estimate for ``snapshot.params`` on ``snapshot.book``."""

    def check(self, params: OrderParams) -> None:
        """Raise a ValueError when ``params`` name something the models do not know (a fee tier)."""


class Engine:
    """One instrument: decode -> book -> features -> cost. Not thread-safe: one owner thread."""

    def __init__(self, instrument: Instrument, feed_format: str = DEFAULT_VENUE,
                 params: OrderParams | None = None, config: EngineConfig | None = None,
                 models: Models | None = None) -> None:
        venue = get_venue(feed_format)  # a ValueError naming the venues for an unknown one
        self.instrument = instrument
        self.feed_format = feed_format
        self.config = config or EngineConfig()
        self.params = (params or OrderParams()).validated()
        self.models = models
        self.book = OrderBook(self.config.max_levels)
        self._feed: BookFeed = venue.make_feed(instrument, self.book, self.config)
        self.volatility = LiveVolatility(self.config.vol_tau_s)
        self.rejections: Counter[str] = Counter()
        self.last_error: str = ""
        self.model_errors = 0
        self.last_model_error = ""
        self.received = 0
        self.applied = 0
        self.evaluations = 0
        self.coalesced = 0
        self._changes_since_eval = 0
        self._last_recv_ns = 0
        self._seq = 0
        self._bands = np.array(DEPTH_BANDS_BPS)
        self._scalars = np.empty(6)  # scratch rows the kernels write and the Engine reads at once
        self._depth = np.empty((4, len(DEPTH_BANDS_BPS)))
        self._fill_row = np.empty(N_FILL)
        self._state_cache: tuple[int, BookView, Features] | None = None
        self._lat = np.zeros(self.config.latency_window)
        self._lat_n = 0
        self._lat_stats = Latency(math.nan, math.nan, math.nan, math.nan, 0)
        self._lat_stats_at = 0.0
        self._last_snapshot: Snapshot | None = None

    # --- input -----------------------------------------------------------------------
    @property
    def needs_resync(self) -> bool:
        """True when the book missed an update (a gap, a bad checksum) and a fresh snapshot must be requested."""
        return self._feed.needs_resync

    @property
    def has_book(self) -> bool:
        return self.book.version > 0 and not self.book.empty

    def ingest(self, raw: bytes | str, recv_ns: int | None = None) -> bool:
        """Apply one raw message. True when the book changed; rejections are counted, never raised."""
        self.received += 1
        self._last_recv_ns = recv_ns if recv_ns is not None else time.perf_counter_ns()
        try:
            changed = self._feed.apply(raw)
        except errors.FeedError as exc:
            return self._rejected(exc)
        return changed and self._changed()

    def ingest_decoded(self, update: Callable[[OrderBook], None], recv_ns: int | None = None) -> bool:
        """Apply a book change decoded outside a venue feed (``slipscope analyze``'s Tardis rows:
        ``update`` raises a FeedError or changes the book), with ``ingest``'s counters and the
        live volatility, so such a book is priced exactly as the same book sent as frames."""
        self.received += 1
        self._last_recv_ns = recv_ns if recv_ns is not None else time.perf_counter_ns()
        try:
            update(self.book)
        except errors.FeedError as exc:
            return self._rejected(exc)
        return self._changed()

    def _rejected(self, exc: errors.FeedError) -> bool:
        self.rejections[exc.reason] += 1
        self.last_error = f"{exc.reason}: {exc}"
        return False

    def _changed(self) -> bool:
        """Bookkeeping for a changed book: counted, due for evaluation, read by the volatility."""
        self.applied += 1
        self._changes_since_eval += 1
        self.volatility.update(self.book.ts_ms / 1000.0, 0.5 * (self.book.best_bid + self.book.best_ask))
        return True

    def connection_opened(self) -> None:
        """The client opened a new connection: a venue whose sync spans frames (Binance's
        buffered procedure) restarts it without counting a gap (its optional ``reconnected``)."""
        reconnected = getattr(self._feed, "reconnected", None)
        if reconnected is not None:
            reconnected()

    def ingest_many(self, frames: Iterable[tuple[bytes | str, int]]) -> int:
        """Apply a batch of (raw, receive time ns); returns how many changed the book."""
        return sum(self.ingest(raw, recv_ns) for raw, recv_ns in frames)

    def set_params(self, params: OrderParams) -> None:
        """Validate (inputs, then what the models must know, e.g. the fee tier) before keeping."""
        self.params = self._checked(params)

    def _checked(self, params: OrderParams) -> OrderParams:
        params = params.validated()
        params.in_book_terms(self.instrument)  # a size in contracts needs contracts to exist
        if self.models is not None:
            self.models.check(params)
        return params

    def reset_book(self) -> None:
        """Forget the book (before a resync) but keep counters and the volatility estimate."""
        self.book.clear()
        self._state_cache = None

    # --- evaluation ------------------------------------------------------------------
    def evaluate(self, params: OrderParams | None = None, feed: dict[str, Any] | None = None) -> Snapshot | None:
        """Price ``params`` (default: the current ones) on the newest book; None before any book."""
        if params is not None:
            self.set_params(params)
        if not self.has_book:
            return None
        view, features = self._book_state()
        fresh = self._changes_since_eval > 0  # a new book, not just new inputs: latency counts
        self.coalesced += max(self._changes_since_eval - 1, 0)
        self._changes_since_eval = 0
        snap = self._last_snapshot = self._snapshot(view, features, self.params, fresh, feed, self._last_recv_ns)
        return snap

    def reprice(self, on: Snapshot, params: OrderParams) -> Snapshot:
        """Price ``params`` on the book of an earlier snapshot ``on`` (a frozen view) while
        the live book moves on. The models estimate with what they know but never learn from
        it (they saw that book when it was new), and no latency is recorded."""
        params = self._checked(params)
        return self._snapshot(on.book, on.features, params, False, on.feed, on.recv_ns, on.latency)

    def _snapshot(self, view: BookView, features: Features, p: OrderParams, fresh: bool,
                  feed: dict[str, Any] | None, recv_ns: int, latency: Latency | None = None) -> Snapshot:
        """One snapshot of ``p`` on ``view``; sizes in contracts are priced in book terms
        (the snapshot keeps ``p`` as the user gave it, its fill and curve are in book terms)."""
        priced = p.in_book_terms(self.instrument)
        fill, curve = self._price(view, features.mid, priced)
        self.evaluations += 1
        self._seq += 1
        fields = {"seq": self._seq, "instrument": self.instrument, "params": priced, "book": view,
                  "features": features, "fill": fill, "curve": curve,
                  "latency": self._lat_stats if latency is None else latency, "counters": {},
                  "feed": dict(feed) if feed else {}, "recv_ns": recv_ns,
                  "ready_ns": 0, "estimate": None, "extras": {}}
        if self.models is not None:
            draft = build(Snapshot, fields.copy())  # what the models see: no estimate yet
            fields["estimate"] = self._estimate(draft, fresh)
            fields["extras"] = {}
        fields["params"] = p
        ready = time.perf_counter_ns()
        if fresh:
            fields["latency"] = self._record_latency(ready)
        fields["ready_ns"] = ready
        fields["counters"] = self.counters()
        return build(Snapshot, fields)

    def _estimate(self, draft: Snapshot, fresh: bool) -> Any:
        """Run the models; a model failure is counted and logged, and never stops the feed."""
        try:
            if fresh:
                self.models.observe(draft)
            return self.models.estimate(draft)
        except Exception as exc:  # noqa: BLE001 - a model bug must not kill the worker thread
            self.model_errors += 1
            text = f"{type(exc).__name__}: {exc}"
            if text != self.last_model_error:
                log.exception("cost models failed (estimate left empty)")
            self.last_model_error = text
            return None

    @property
    def last_snapshot(self) -> Snapshot | None:
        return self._last_snapshot

    def counters(self) -> dict[str, Any]:
        """Engine-side counters (the feed adds its own: reconnects, stale events...)."""
        feed = self._feed
        return {
            "received": self.received,
            "applied": self.applied,
            "rejected": sum(self.rejections.values()),
            "rejected_by_reason": dict(self.rejections),
            "heartbeats": feed.heartbeats,
            "control_frames": feed.control,
            "coalesced": self.coalesced,
            "evaluations": self.evaluations,
            "fast_path_misses": feed.fast_path_misses,
            "checksums_verified": feed.checksums_verified,
            "last_error": self.last_error,
            "model_errors": self.model_errors,
            "last_model_error": self.last_model_error,
            **self._venue_counters(),
        }

    def _venue_counters(self) -> dict[str, Any]:
        """The venue feed's own counters (optional ``counters()``: Binance's buffered events,
        chain breaks, ...), under ``venue``."""
        counters = getattr(self._feed, "counters", None)
        return {"venue": counters()} if counters is not None else {}

    # --- pieces ----------------------------------------------------------------------
    def _book_state(self) -> tuple[BookView, Features]:
        """The book's read-only view (with base-unit sizes) and its features, once per version."""
        version = self.book.version
        if self._state_cache is not None and self._state_cache[0] == version:
            return self._state_cache[1], self._state_cache[2]
        book, inst = self.book, self.instrument
        inverse = inst.inverse and inst.size_unit == "contracts"
        bid_qty, ask_qty = np.empty(book.bid_px.shape[0]), np.empty(book.ask_px.shape[0])
        scalars, depth = self._scalars, self._depth
        k = self.config.imbalance_levels
        book_state(book.bid_px, book.bid_sz, book.ask_px, book.ask_sz, inst.linear_multiplier, inverse,
                   k, self._bands, bid_qty, ask_qty, scalars, depth)
        bid_qty.setflags(write=False)
        ask_qty.setflags(write=False)
        view = build(BookView, {"bid_px": book.bid_px, "bid_sz": book.bid_sz, "bid_qty": bid_qty,
                                "ask_px": book.ask_px, "ask_sz": book.ask_sz, "ask_qty": ask_qty,
                                "version": version, "ts_ms": book.ts_ms})
        mid, micro, spread, spread_bps, imb, wimb = scalars.tolist()
        bb, bq, ab, aq = depth.tolist()
        vol = self.volatility
        features = build(Features, {
            "mid": mid, "microprice": micro, "spread": spread, "spread_bps": spread_bps,
            "imbalance_top": imb, "imbalance_weighted": wimb, "imbalance_levels": k,
            "depth_bands_bps": DEPTH_BANDS_BPS, "bid_depth_base": tuple(bb), "ask_depth_base": tuple(ab),
            "bid_depth_usd": tuple(bq), "ask_depth_usd": tuple(aq), "vol_per_s": vol.per_second,
            "vol_annual": vol.annualised, "vol_updates": vol.updates, "vol_state": vol.state,
            "vol_seconds": vol.seconds,
        })
        self._state_cache = (version, view, features)
        return view, features

    def _price(self, view: BookView, mid: float, p: OrderParams) -> tuple[Fill, CostCurve]:
        """The exact walk and the cost curve for ``p`` on its side: one kernel call."""
        buy = p.side == "buy"
        px, qty = (view.ask_px, view.ask_qty) if buy else (view.bid_px, view.bid_qty)
        m = self.config.curve_points
        curve, levels = np.empty((7, m)), np.empty(m, dtype=np.int64)
        max_fill = price_order(px, qty, p.quantity, p.unit == "usd", mid, 1.0 if buy else -1.0,
                               self._fill_row, curve, levels)
        base, quote, worst, n_levels, avg, best, unfilled, smb, smu, sbb, sbu = self._fill_row.tolist()
        fill = build(Fill, {
            "side": p.side, "unit": p.unit, "quantity": p.quantity, "filled_base": base,
            "filled_usd": quote, "unfilled": unfilled, "avg_px": avg, "worst_px": worst,
            "best_px": best, "levels": int(n_levels), "slippage_mid_bps": smb,
            "slippage_mid_usd": smu, "slippage_best_bps": sbb, "slippage_best_usd": sbu,
        })
        curve.setflags(write=False)  # the row views below inherit read-only
        levels.setflags(write=False)
        quantities, filled_base, filled_usd, _worst, avg_px, slip_mid, slip_best = curve
        return fill, build(CostCurve, {
            "unit": p.unit, "quantities": quantities, "filled_base": filled_base,
            "filled_usd": filled_usd, "avg_px": avg_px, "slippage_mid_bps": slip_mid,
            "slippage_best_bps": slip_best, "levels": levels, "max_fill": max_fill,
        })

    def _record_latency(self, ready_ns: int) -> Latency:
        last_us = (ready_ns - self._last_recv_ns) / 1000.0
        w = self._lat.shape[0]
        self._lat[self._lat_n % w] = last_us
        self._lat_n += 1
        now = ready_ns / 1e9
        if now - self._lat_stats_at >= self.config.latency_refresh_s or self._lat_n <= 2:
            self._lat_stats_at = now
            window = self._lat[: min(self._lat_n, w)]
            p50, p99 = np.percentile(window, (50, 99))
            self._lat_stats = Latency(last_us, float(p50), float(p99), float(window.max()), self._lat_n)
        stats = self._lat_stats
        return build(Latency, {"last_us": last_us, "p50_us": stats.p50_us, "p99_us": stats.p99_us,
                               "max_us": stats.max_us, "samples": self._lat_n})

    def latency_samples(self) -> np.ndarray:
        """Copy of the recent receive -> ready latencies (us), oldest first not guaranteed."""
        return self._lat[: min(self._lat_n, self._lat.shape[0])].copy()


def slippage(side: str, avg_px: float, ref_px: float, filled_base: float) -> tuple[float, float]:
    """Cost of filling at ``avg_px`` instead of ``ref_px``: (bps of ref, quote currency).

    Positive is a cost: buying above the reference or selling below it.
    """
    if not (filled_base > 0 and ref_px > 0 and math.isfinite(avg_px)):
        return math.nan, math.nan
    sign = 1.0 if side == "buy" else -1.0
    diff = sign * (avg_px - ref_px)
    return diff / ref_px * 1e4, diff * filled_base
