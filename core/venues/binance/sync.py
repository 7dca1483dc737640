"""Keeping one Binance book in sync: Binance's "How to manage a local order book correctly".

The diff-depth stream carries no snapshot. The client opens the stream, fetches the REST depth
snapshot and pushes its body into the same stream of frames; this class then runs Binance's
procedure on what arrives, in arrival order:

1. buffer every event until a REST snapshot (``lastUpdateId``) arrives; apply the snapshot;
2. drop stale events: futures ``u < lastUpdateId``, spot ``u <= lastUpdateId``;
3. the first event applied must straddle the snapshot: futures ``U <= lastUpdateId <= u``,
   spot ``U <= lastUpdateId + 1 <= u``; an event past it means the snapshot is too old;
4. then continuity: futures ``pu`` == the previous event's ``u`` (futures ids are shared
   across symbols, so ``U == u + 1`` does not hold there); spot ``U`` == previous ``u + 1``.

A break (3 or 4) is a :class:`core.errors.SequenceGap`: the book keeps its last good state
and is not updated from the broken chain, ``needs_resync`` turns true (the client fetches a
new snapshot) and events are buffered again (bounded, oldest dropped first) for the next
snapshot, which re-runs the procedure from step 2 over the buffer. Which events are stale is
decided by update ids, never by arrival time: in the real recordings more events are stale
than arrived before the snapshot.
"""
from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from core import errors
from core.book.order_book import OrderBook, raise_validation, validate_side
from core.venues.binance.decode import DEFAULT_MAX_BYTES, BinanceControl, DepthEvent, DepthSnapshot, FrameDecoder

DEFAULT_MAX_BUFFER = 2_000  # events kept while waiting for a snapshot (200 s of a 100 ms stream)

WAITING = "waiting"  # no usable snapshot: events are buffered
PRIMED = "primed"  # a snapshot is applied, no event yet: the next kept event must straddle it
LIVE = "live"  # events chain


class BinanceBookSync:
    """One symbol of one market (``futures`` True: USDⓈ-M rules, False: spot rules).

    Implements the BookFeed protocol: ``apply(raw)`` takes websocket frames and REST bodies
    alike and returns True when the book changed. Counters: ``control``, ``heartbeats``
    (applied events with no levels), plus ``snapshots``, ``applied`` (events), ``dropped``
    (stale events), ``buffered``, ``buffer_overflows``, ``chain_breaks``,
    ``stale_snapshots`` (a snapshot older than the live book, ignored) and
    ``buffered_rejections`` (a buffered event the book refused while replaying).
    """

    checksums_verified = 0  # Binance sends no checksum

    def __init__(self, symbol: str, book: OrderBook, futures: bool, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_buffer: int = DEFAULT_MAX_BUFFER) -> None:
        self.symbol = symbol
        self.book = book
        self.futures = futures
        self.decoder = FrameDecoder(book.capacity, max_bytes)
        self.state = WAITING
        self.last_id: int | None = None  # the snapshot's lastUpdateId (PRIMED) or last applied u (LIVE)
        self._buffer: deque[DepthEvent] = deque(maxlen=max_buffer)
        self._resync_wanted = False
        self.control = self.heartbeats = 0
        self.snapshots = self.applied = self.dropped = self.buffered = 0
        self.buffer_overflows = self.chain_breaks = self.stale_snapshots = self.buffered_rejections = 0
        self.last_break = ""

    @property
    def needs_resync(self) -> bool:
        """True after a break (or a snapshot too old to bridge) until a snapshot restores the
        chain; False while the first snapshot of a connection is on its way."""
        return self.state == WAITING and self._resync_wanted

    @property
    def fast_path_misses(self) -> int:
        return self.decoder.fast_path_misses

    def counters(self) -> dict[str, Any]:
        return {"snapshots": self.snapshots, "events_applied": self.applied, "events_dropped": self.dropped,
                "events_buffered": self.buffered, "buffer_overflows": self.buffer_overflows,
                "chain_breaks": self.chain_breaks, "stale_snapshots": self.stale_snapshots,
                "buffered_rejections": self.buffered_rejections, "pending": len(self._buffer)}

    def reconnected(self) -> None:
        """A new connection: its events do not continue the old chain, and the client fetches
        a snapshot on connecting anyway. Forget the chain and buffer until that snapshot,
        without a chain break or a resync request; the book keeps its last state meanwhile."""
        self.state, self.last_id, self._resync_wanted = WAITING, None, False
        self._buffer.clear()

    # --- frames ----------------------------------------------------------------------
    def apply(self, raw: bytes | str) -> bool:
        """Apply one frame; True when the book changed. Raises a FeedError naming the reason
        (bad input, wrong symbol, a chain break) and leaves the book unchanged."""
        frame = self.decoder.decode(raw)
        if isinstance(frame, BinanceControl):
            self.control += 1
            return False
        if isinstance(frame, DepthSnapshot):
            return self.apply_snapshot(frame)
        return self.apply_event(frame)

    def apply_snapshot(self, snap: DepthSnapshot) -> bool:
        """Step 1: apply the REST book, then replay the buffered events over it."""
        if self.state == LIVE and self.last_id is not None and snap.last_update_id <= self.last_id:
            self.stale_snapshots += 1  # a late answer to an earlier request: the book is newer
            return False
        bid_px, bid_sz = _clean_side(snap.bid_px, snap.bid_sz, "bid", True)
        ask_px, ask_sz = _clean_side(snap.ask_px, snap.ask_sz, "ask", False)
        self.book.apply_snapshot(bid_px, bid_sz, ask_px, ask_sz, snap.ts_ms)
        self.snapshots += 1
        self.state, self.last_id = PRIMED, snap.last_update_id
        self._resync_wanted = False
        self._replay()
        return True

    def apply_event(self, event: DepthEvent) -> bool:
        """Steps 2-4 for one event (or buffer it while no snapshot is usable)."""
        if event.symbol != self.symbol:
            raise errors.WrongInstrument(f"depthUpdate for {event.symbol!r}, syncing {self.symbol!r}")
        if self.futures and event.prev_final_id is None:
            raise errors.MissingField("futures depthUpdate lacks 'pu'")
        if self.state == WAITING:
            self._buffer_event(event)
            return False
        return self._step(event)

    # --- the procedure ---------------------------------------------------------------
    def _step(self, event: DepthEvent) -> bool:
        """Drop, apply, or break on one event; the state is PRIMED or LIVE."""
        last = self.last_id
        if self.state == PRIMED:
            if self._stale(event, last):
                self.dropped += 1
                return False
            if not self._straddles(event, last):
                self._break(event, f"first event U {event.first_id}..u {event.final_id} does not straddle "
                                   f"the snapshot's lastUpdateId {last}")
        elif not self._continues(event, last):
            self._break(event, self._continuity_text(event, last))
        try:
            self.book.apply_delta(event.bid_px, event.bid_sz, event.ask_px, event.ask_sz, float(event.event_ms))
        except errors.FeedError:
            self.state, self._resync_wanted = WAITING, True  # the venue moved on without us
            raise
        self.state, self.last_id = LIVE, event.final_id
        self.applied += 1
        if event.empty:
            self.heartbeats += 1
            return False
        return True

    def _stale(self, event: DepthEvent, last: int) -> bool:
        return event.final_id < last if self.futures else event.final_id <= last

    def _straddles(self, event: DepthEvent, last: int) -> bool:
        target = last if self.futures else last + 1
        return event.first_id <= target <= event.final_id

    def _continues(self, event: DepthEvent, last: int) -> bool:
        return event.prev_final_id == last if self.futures else event.first_id == last + 1

    def _continuity_text(self, event: DepthEvent, last: int) -> str:
        if self.futures:
            return f"pu {event.prev_final_id} is not the previous u {last}"
        return f"U {event.first_id} is not the previous u {last} + 1"

    def _break(self, event: DepthEvent, why: str) -> None:
        """The chain is broken at ``event``: keep the book, buffer from here, ask for a snapshot."""
        self.chain_breaks += 1
        self.last_break = why
        self.state, self._resync_wanted, self.last_id = WAITING, True, None
        self._buffer.appendleft(event)  # first of what the next snapshot replays (the buffer
        self.buffered += 1              # is empty when live; while replaying, it just left it)
        raise errors.SequenceGap(why)

    def _buffer_event(self, event: DepthEvent) -> None:
        if len(self._buffer) == self._buffer.maxlen:
            self.buffer_overflows += 1  # the oldest goes: a snapshot older than it cannot be bridged
        self._buffer.append(event)
        self.buffered += 1

    def _replay(self) -> None:
        """Run the buffered events through steps 2-4 after a snapshot. A break or a rejected
        event stops the replay (the rest stay buffered for the next snapshot); it is counted,
        not raised, because the snapshot frame itself was good."""
        buffer = self._buffer
        while buffer and self.state != WAITING:
            event = buffer.popleft()
            try:
                self._step(event)
            except errors.SequenceGap:
                pass  # counted by _break, which re-buffered the event
            except errors.FeedError as exc:
                self.buffered_rejections += 1
                self.last_break = f"buffered event U {event.first_id}..u {event.final_id}: {exc}"


def _clean_side(px: np.ndarray, sz: np.ndarray, side: str, descending: bool) -> tuple[np.ndarray, np.ndarray]:
    """A REST side validated best-first (sorted, finite, no duplicates), zero sizes dropped."""
    px, sz = px.copy(), sz.copy()
    code, idx, kept = validate_side(px, sz, px.shape[0], descending)
    raise_validation(code, idx, side)
    return px[:kept], sz[:kept]

