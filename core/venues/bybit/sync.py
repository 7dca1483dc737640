"""Keeping one Bybit book in sync: the ``u`` chain, snapshots that reset, and the BookFeed.

Rules (Bybit v5 docs, "Orderbook"): after subscribing, a snapshot comes first, then deltas.
Each delta's ``u`` is the previous ``u`` + 1; anything else is a gap, after which no delta is
applied until a fresh snapshot (the client unsubscribes and subscribes again: Bybit answers a
subscribe with a snapshot). A snapshot may also arrive unasked at any time and always replaces
the book, and a frame with ``u == 1`` (a restart of Bybit's service) carries a full book that
overwrites ours whatever its ``type``.

A rejected delta (bad numbers, a crossed result) leaves the book unchanged and its ``u`` is
not taken, so the next delta shows a gap and triggers the resync: a book that missed a change
never takes later deltas.
"""
from __future__ import annotations

from core import errors
from core.book.order_book import DEFAULT_CAPACITY, OrderBook, raise_validation, validate_side
from core.venues.bybit.frames import DEFAULT_MAX_BYTES, BybitBookMessage, BybitControl, BybitLevels, parse_frame
from core.venues.bybit.scan import BybitScanner

RESTART_U = 1  # Bybit's service restarted: this frame is a full book


class BybitBookSync:
    """Applies one symbol's pushes to an :class:`OrderBook`, all or nothing."""

    def __init__(self, symbol: str, book: OrderBook) -> None:
        self.symbol = symbol
        self.book = book
        self.synced = False
        self.seen_push = False  # before the first push, waiting for a snapshot is no resync
        self.last_u: int | None = None
        self.last_seq: int | None = None
        self.snapshots = 0
        self.restarts = 0  # frames with u == 1
        self.gaps = 0

    @property
    def needs_resync(self) -> bool:
        """A delta broke the chain (or came before any snapshot): ask for a fresh snapshot."""
        return self.seen_push and not self.synced

    def apply(self, msg: BybitBookMessage) -> bool:
        """Apply one push; True when the book changed (False for an empty delta)."""
        if msg.symbol != self.symbol:
            raise errors.WrongInstrument(f"push for {msg.symbol!r}, syncing {self.symbol!r}")
        self.seen_push = True
        if msg.kind == "snapshot" or msg.u == RESTART_U:
            self._apply_snapshot(msg)
            return True
        return self._apply_delta(msg)

    def _apply_snapshot(self, msg: BybitBookMessage) -> None:
        bids = _snapshot_side(msg.bids, "bid", descending=True)
        asks = _snapshot_side(msg.asks, "ask", descending=False)
        self.book.apply_snapshot(bids.px, bids.sz, asks.px, asks.sz, msg.ts_ms)
        self.restarts += msg.u == RESTART_U
        self.snapshots += 1
        self.last_u, self.last_seq = msg.u, msg.seq
        self.synced = True

    def _apply_delta(self, msg: BybitBookMessage) -> bool:
        if not self.synced:
            raise errors.OutOfSync(f"delta u={msg.u} while waiting for a snapshot")
        if msg.u != self.last_u + 1:
            self.synced = False
            self.gaps += 1
            raise errors.SequenceGap(f"delta u={msg.u} does not follow u={self.last_u}")
        if msg.bids.px.shape[0] == 0 and msg.asks.px.shape[0] == 0:
            self.last_u, self.last_seq = msg.u, msg.seq
            return False  # nothing changed (the chain moved on)
        self.book.apply_delta(msg.bids.px, msg.bids.sz, msg.asks.px, msg.asks.sz, msg.ts_ms)
        self.last_u, self.last_seq = msg.u, msg.seq
        return True


def _snapshot_side(levels: BybitLevels, side: str, descending: bool) -> BybitLevels:
    """Validate a snapshot side (sorted best first, finite, no duplicates); drop zero sizes."""
    px, sz = levels.px.copy(), levels.sz.copy()
    code, idx, kept = validate_side(px, sz, px.shape[0], descending)
    raise_validation(code, idx, side)
    return BybitLevels(px[:kept], sz[:kept])


class BybitFeed:
    """The Engine's BookFeed for a Bybit ``orderbook`` topic (linear or spot alike)."""

    checksums_verified = 0  # Bybit's book carries no checksum: the u chain is the guard

    def __init__(self, symbol: str, book: OrderBook, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_levels: int = DEFAULT_CAPACITY) -> None:
        self.sync = BybitBookSync(symbol, book)
        self.scanner = BybitScanner(max_levels)
        self.max_bytes = max_bytes
        self.control = 0
        self.heartbeats = 0
        self.fast_path_misses = 0  # book pushes the compiled scan left to the general path
        self.failed_requests: list[str] = []  # ret_msg of answers with success false (last few)

    @classmethod
    def for_engine(cls, instrument, book: OrderBook, config) -> "BybitFeed":
        """``Venue.make_feed``: (Instrument, OrderBook, EngineConfig) -> BookFeed."""
        return cls(instrument.inst_id, book, config.max_bytes, config.max_levels)

    @property
    def needs_resync(self) -> bool:
        return self.sync.needs_resync

    def apply(self, raw: bytes | str) -> bool:
        """Apply one raw frame; True when the book changed. Bad input raises a FeedError
        naming the reason and leaves the book unchanged."""
        frame = self.scanner.scan(raw) if len(raw) <= self.max_bytes else None
        if frame is None:  # control frames, anything unusual or wrong: the general path names it
            frame = parse_frame(raw, self.max_bytes)
            self.fast_path_misses += isinstance(frame, BybitBookMessage)
        if isinstance(frame, BybitControl):
            self.control += 1
            if not frame.success:
                self.failed_requests = (self.failed_requests + [f"{frame.op}: {frame.message}"])[-8:]
            return False
        changed = self.sync.apply(frame)
        self.heartbeats += not changed
        return changed
