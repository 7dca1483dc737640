"""The window's several-venue side (issue 12): a :class:`VenueSet` and the thread that prices the
user's order on all of its books, beside the single-venue :class:`~app.gui.controller.Session`.

    VenueSet clients (qasync loop) --push--> per-venue drain threads (decode, engine)
    drain threads --VenueSet.wait--> VenuesWorker --evaluate--> VenuesSnapshot
    VenuesWorker --with_curves--> the snapshot and its cost curves (made on the worker's thread)
    VenuesWorker --queued signal--> MainWindow.on_venues --frame timer--> VenuesView

The worker imitates :class:`~app.gui.worker.ComputeWorker`: it sleeps in ``VenueSet.wait`` until
some venue's book or state changed, or the window pokes it (the order changed), evaluates once on
the newest books (a burst of changes costs one evaluation) and hands the immutable snapshot to the
GUI thread through a queued signal; the frame timer draws only the newest. The order is posted by
replacing one reference (atomic under the GIL) and poking.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Sequence

from PySide6.QtCore import QObject, Signal

from app.gui.worker import PokedWorker
from dataclasses import replace

from core.compute.best_execution import Order
from core.feed.venue_set import VenueSet, VenueSpec, parse_venues
from core.instruments import Instrument
from core.params import OrderParams
from widgets.venues_view import curve_grid, curves_on

log = logging.getLogger(__name__)

#: what the Venues tab starts, on the embedded synthetic market, when no --venues was given
DEFAULT_VENUES = "okx:BTC-USDT-SWAP,binance-usdm:BTCUSDT,bybit-linear:BTCUSDT"


def default_venues() -> tuple[VenueSpec, ...]:
    return tuple(parse_venues(DEFAULT_VENUES))


def order_for(params: OrderParams, instrument: Instrument) -> Order:
    """The window's inputs as the split's order: USD or base as typed; contracts converted
    through the window's current instrument (its contract value: one place,
    ``OrderParams.in_book_terms``), refused (InvalidParams naming the unit) where it has none."""
    p = params.in_book_terms(instrument)
    return Order(p.side, p.quantity, p.unit == "usd")


class VenuesSignals(QObject):
    """Created in the GUI thread; emitted from the worker (queued to GUI-thread slots)."""

    snapshot = Signal(object)  # core.feed.venue_set.VenuesSnapshot
    failed = Signal(str)  # one line: an unexpected error while pricing (counted, the loop goes on)


class VenuesWorker(PokedWorker):
    """Prices ``order`` on every venue's newest books on its own thread; ``stop_async`` joins
    it. No order (the inputs could not be one): nothing is priced until one is posted."""

    def __init__(self, venues: VenueSet, signals: VenuesSignals, order: Order | None,
                 idle_timeout_s: float = 0.25) -> None:
        super().__init__("slipscope-venues", venues.poke, idle_timeout_s)
        self.venues = venues
        self.signals = signals
        self._order = order
        self._applied: Order | None = None
        # the curves last made and what they were made from (engine snapshots, states, side, grid)
        self._curves = None
        self._curves_from: tuple = ((), None, None)  # (books, side, grid) the curves were made on

    # --- GUI thread ----------------------------------------------------------------------
    @property
    def order(self) -> Order | None:
        return self._order

    def post_order(self, order: Order) -> None:
        """A new order: priced on the newest books as soon as the worker wakes (now)."""
        self._order = order
        self.venues.poke()

    # --- worker thread -------------------------------------------------------------------
    def _run(self) -> None:
        venues, signals = self.venues, self.signals
        seen = -1
        while not self._stop.is_set():
            woke = venues.wait(self.idle_timeout_s)
            if self._stop.is_set():
                break
            order, version = self._order, venues.version
            if order is None or (not woke and version == seen and order is self._applied):
                continue
            try:
                snap = venues.evaluate(order)
            except Exception as exc:
                self._failed("venues pricing", exc, signals.failed)
                continue
            seen, self._applied = version, order
            try:
                snap = self.with_curves(snap)
            except Exception as exc:  # the table and split still go out; the view computes them
                self._failed("venues curves", exc, signals.failed)
            self.snapshots += 1
            signals.snapshot.emit(snap)

    def with_curves(self, snap):
        """``snap`` with its cost curves, made here rather than on the GUI thread, and only
        when the books, a venue's state, the side or the grid changed: a new order size alone
        moves the view's marker and reuses the same curves object (the view then redraws no
        line)."""
        r = snap.result
        if r is None:  # no consolidated mid: no curves
            return snap
        books, side, old_grid = self._curves_from
        grid = curve_grid(r.quantity_usd, old_grid)
        # a venue's VenueBook is rebuilt only when its snapshot or its state changed
        # (VenueFeed.book), so the same book objects mean the same books and states
        same = (side == r.side and grid is old_grid and len(books) == len(snap.books)
                and all(a is b for a, b in zip(books, snap.books)))
        if not same:
            self._curves = curves_on(snap.books, r.side, grid)
            self._curves_from = (snap.books, r.side, grid)
        return replace(snap, curves=self._curves)


class VenuesSession:
    """The VenueSet and its worker, started and stopped in order (one per window)."""

    def __init__(self, specs: Sequence[VenueSpec], order: Order | None, signals: VenuesSignals, *, seed: int = 7,
                 rate: float = 10.0, fee_tiers: dict[str, str] | None = None) -> None:
        # drain="thread": decoding and the engines stay off the GUI thread's loop
        self.venues = VenueSet(specs, seed=seed, rate=rate, fee_tiers=fee_tiers, drain="thread")
        self.worker = VenuesWorker(self.venues, signals, order)
        self.synthetic = all(s.url is None for s in specs)
        self.embedded = any(s.url is None for s in specs)
        self.stopped = False

    @property
    def label(self) -> tuple[str, str]:
        """(title, detail) of where the books come from: SYNTHETIC when every venue is on the
        embedded market, and each venue's source."""
        title = "SYNTHETIC (embedded market)" if self.synthetic else \
            ("partly SYNTHETIC" if self.embedded else "live feeds")
        detail = "; ".join(f"{f.spec.name}: {f.spec.url or 'embedded synthetic server'}" for f in self.venues.feeds)
        return title, detail

    def post_order(self, order: Order) -> None:
        self.worker.post_order(order)

    async def start(self) -> None:
        self.worker.start()
        await self.venues.start()

    async def stop(self) -> None:
        """The worker (joined: nothing is priced on stopping feeds), then every client, drain
        thread and embedded server; each step bounded so a close never hangs."""
        if self.stopped:
            return
        self.stopped = True
        if not await self.worker.stop_async(30.0):
            log.warning("venues worker did not stop within 30 s")
        try:
            await asyncio.wait_for(self.venues.stop(), 10.0)
        except (asyncio.TimeoutError, Exception) as exc:  # noqa: BLE001 (report, keep closing)
            log.warning("venues did not stop cleanly: %s", exc)
