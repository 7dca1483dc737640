"""Several books at once: one Engine per (venue, symbol), each on its own feed connection, all
on one asyncio loop, and the order priced on all of them together (issue 12).

A :class:`VenueSet` owns, per (venue, symbol), the parts one venue's live path already has:
a :class:`FeedClient` (its own websocket), a :class:`FeedPipeline`, an :class:`Engine` and a
drainer (``LoopDrainer`` headless; ``ThreadDrainer`` keeps decoding off a GUI's loop). Each
engine evaluates only when its own book changed, and only its newest book (the pipeline
coalesces a burst). :meth:`VenueSet.evaluate` then reads the newest snapshot of every venue,
converts it to a :class:`VenueBook` (base units through the instrument's contract value; lot
from the instrument spec; taker rate at the user's tier from the venue's fee schedule; the
state from the client's :class:`FeedStatus` and the engine's sync) and prices the order on
every venue and split across the live ones (``core.compute.best_execution``). A venue that is
not live keeps its last book in the result, marked ``stale`` or ``resyncing``, and gets
nothing in the split.

Threads: everything that changes a book runs on the loop (or the venue's drain thread);
:meth:`evaluate` only reads immutable snapshots (each book version has its own read-only
arrays) and may run on any thread, e.g. a GUI's compute worker woken by :meth:`wait`.

Without a URL a venue gets the embedded synthetic server (one per (venue, symbol), each on its
own thread, as ``open_endpoint`` starts it), every one following the same mid path of
``seed`` with its own basis, noise and depth profile (``core.sim.market.VENUE_PROFILES``,
handed out in (venue, symbol) order), so the same seed gives the same market whatever order
the venues are listed in.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from core.compute.best_execution import (
    LIVE, RESYNCING, STALE, BestExecution, NoConsolidatedMid, Order, VenueBook, best_execution,
)
from core.engine import Engine, EngineConfig
from core.feed.client import ClientConfig, FeedClient
from core.feed.pipeline import FeedPipeline, FeedStatus
from core.feed.session import Endpoint, FeedSpec, LoopDrainer, ThreadDrainer, open_endpoint
from core.instruments import Instrument, UnknownInstrument
from core.models.fees import FeeRate, UnknownFeeSchedule, fee_rate
from core.params import OrderParams
from core.sim.market import VENUE_PROFILES
from core.sim.server import EmbeddedServer, SyntheticSource
from core.snapshot import Snapshot
from core.venues import Venue, get_venue, instrument_for, venue_symbols

DRAINS = ("loop", "thread")
#: per (venue, symbol), how far apart the embedded markets' own seeds are (depth, churn)
SEED_STRIDE = 101


@dataclass(frozen=True)
class VenueSpec:
    """One ``VENUE:SYMBOL`` of ``--venues``, with where to connect (None: the embedded server)."""

    venue: str
    symbol: str
    url: str | None = None
    rest_url: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.venue, self.symbol

    @property
    def name(self) -> str:
        return f"{self.venue}:{self.symbol}"


def parse_venues(text: str) -> list[VenueSpec]:
    """``"okx:BTC-USDT-SWAP,binance-usdm:BTCUSDT"`` -> specs in the order given.

    A ValueError naming the bad item: not VENUE:SYMBOL, an unknown venue, a symbol the venue
    does not know, the same pair twice."""
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or not all(items):
        raise ValueError(f"expected VENUE:SYMBOL[,VENUE:SYMBOL...], not {text!r}")
    specs: list[VenueSpec] = []
    for item in items:
        venue_name, colon, symbol = item.partition(":")
        venue_name, symbol = venue_name.strip(), symbol.strip()
        if not colon or not venue_name or not symbol:
            raise ValueError(f"{item!r} is not VENUE:SYMBOL")
        try:
            venue = get_venue(venue_name)
            instrument_for(venue, symbol)
        except (ValueError, UnknownInstrument) as exc:
            raise ValueError(f"{item!r}: {exc}") from None
        spec = VenueSpec(venue.name, symbol)
        if spec in specs:
            raise ValueError(f"{item!r} is listed twice")
        specs.append(spec)
    return specs


@dataclass(frozen=True)
class VenuesSnapshot:
    """Every venue's newest book and the order priced on them, from one moment: what headless
    prints and exports and the window draws. Immutable."""

    time_ns: int
    order: Order
    books: tuple[VenueBook, ...]  # every venue, sorted by (venue, symbol), state live/stale/resyncing
    result: BestExecution | None  # None when no consolidated mid (then ``note`` says why)
    note: str = ""
    feeds: tuple[dict, ...] = ()  # FeedStatus.as_dict() per book (+ needs_resync), same order as books
    specs: tuple[dict, ...] = ()  # per book: taker_rate, maker_rate, contract_value, size_unit, lot_base...
    snapshots: tuple[Snapshot | None, ...] = ()  # the engine snapshot each book comes from (export)
    #: the cost curves over these books (core.compute.venue_curves.VenueCurves), when the GUI's
    #: venues worker made them off the GUI thread; None: not computed (the view computes them)
    curves: object | None = None


def venue_state(feed_state: str, needs_resync: bool, has_book: bool) -> str:
    """A venue's state for the split: resyncing while a fresh snapshot is awaited, live when the
    client is live and a book exists, stale otherwise (connecting, reconnecting, stale, stopped)."""
    if needs_resync or feed_state == "resyncing":
        return RESYNCING
    if feed_state == "live" and has_book:
        return LIVE
    return STALE


def lot_base(instrument: Instrument, mid: float) -> float:
    """The instrument's size step in base units (a coin-margined contract's at ``mid``). The
    spec files hold no separate minimum order size: the minimum is one lot."""
    if instrument.inverse and instrument.size_unit == "contracts":
        return instrument.lot_size * instrument.contract_value / mid if mid > 0 else math.nan
    return instrument.lot_size * instrument.linear_multiplier


class VenueFeed:
    """One (venue, symbol): its endpoint, client, pipeline, engine and drainer, and the newest
    snapshot its engine produced. Built by :class:`VenueSet`."""

    def __init__(self, spec: VenueSpec, fee: FeeRate, instrument: Instrument, drain: str,
                 stale_after_s: float, on_change: Callable[[], None]) -> None:
        self.spec = spec
        self.venue: Venue = get_venue(spec.venue)
        self.instrument = instrument
        self.fee = fee
        params = OrderParams(exchange=instrument.exchange, fee_tier=fee.tier)
        self.engine = Engine(instrument, self.venue.name, params, EngineConfig(latency_window=1 << 14))
        self.pipeline = FeedPipeline(self.engine)
        drainer_class = ThreadDrainer if drain == "thread" else LoopDrainer
        self.drainer = drainer_class(self.pipeline, None, self._on_snapshot)
        self.stale_after_s = stale_after_s
        self.endpoint: Endpoint | None = None
        self.client: FeedClient | None = None
        self.last: Snapshot | None = None
        self._on_change = on_change
        self._cache: tuple[int, str, VenueBook] | None = None  # (snapshot seq, state, book)
        self._status: tuple[FeedStatus, dict[str, Any]] | None = None  # (status, as a dict)

    @property
    def key(self) -> tuple[str, str]:
        return self.spec.key

    @property
    def server(self) -> EmbeddedServer | None:
        """The embedded server this venue connects to (None: a URL was given)."""
        return self.endpoint.server if self.endpoint is not None else None

    def open(self, source: SyntheticSource | None) -> None:
        """Start the embedded server (when no URL) and the client on the running loop."""
        spec, venue = self.spec, self.venue
        channel = venue.channels[0] if venue.channels else "books"
        feed_spec = FeedSpec(feed=venue.name, url=spec.url, symbol=spec.symbol, channel=channel,
                             rest_url=spec.rest_url)
        self.endpoint = endpoint = open_endpoint(feed_spec, source)
        self.client = FeedClient(endpoint.url, self.drainer.push, self._on_status, feed=venue.name,
                                 inst_ids=(spec.symbol,), channel=channel,
                                 config=ClientConfig(stale_after_s=self.stale_after_s),
                                 source=endpoint.source, synthetic=endpoint.synthetic,
                                 rest_url=endpoint.rest_url, on_connect=self.pipeline.connection_opened)
        self.pipeline.request_resync = self.client.request_resync_threadsafe
        self.drainer.start()
        self.client.start()

    async def close(self) -> None:
        """Stop the client, drain what arrived, stop the embedded server; leaves nothing running."""
        try:
            if self.client is not None:
                await self.client.stop()
            self.drainer.stop()
        finally:
            if self.endpoint is not None:
                self.endpoint.close()

    def _on_status(self, status: FeedStatus) -> None:
        self.pipeline.set_status(status)
        self._on_change()

    def _on_snapshot(self, snap: Snapshot) -> None:
        self.last = snap
        self._on_change()

    # --- read side (any thread) ----------------------------------------------------------
    def state(self) -> str:
        return venue_state(self.pipeline.status.state, self.engine.needs_resync, self.last is not None)

    def book(self, snap: Snapshot | None) -> VenueBook:
        """``snap`` (this venue's newest snapshot, read once by the caller) as the split sees it;
        rebuilt only when the snapshot or the state changed."""
        state = self.state()
        seq = snap.seq if snap is not None else -1
        cached = self._cache
        if cached is not None and cached[0] == seq and cached[1] == state:
            return cached[2]
        spec = self.spec
        if snap is None:
            empty = np.zeros(0)
            lot = lot_base(self.instrument, math.nan)
            lot = lot if math.isfinite(lot) else 1.0  # no book, no price: nothing is sized anyway
            book = VenueBook(spec.venue, spec.symbol, empty, empty, empty, empty, self.fee.taker, lot, lot, state)
        else:
            v = snap.book
            lot = lot_base(self.instrument, 0.5 * (v.best_bid + v.best_ask))
            book = VenueBook(spec.venue, spec.symbol, v.bid_px, v.bid_qty, v.ask_px, v.ask_qty,
                             self.fee.taker, lot, lot, state)
        self._cache = (seq, state, book)
        return book

    def feed_info(self) -> dict[str, Any]:
        """The client's status as a dict (converted once per status: ``asdict`` would cost
        more than the split itself), with the engine's sync."""
        status = self.pipeline.status
        if self._status is None or self._status[0] is not status:
            self._status = (status, status.as_dict())
        info = dict(self._status[1])
        info.update(venue=self.spec.venue, symbol=self.spec.symbol, needs_resync=self.engine.needs_resync,
                    embedded=self.server is not None)
        return info

    def spec_info(self, book: VenueBook) -> dict[str, Any]:
        inst = self.instrument
        return {"venue": self.spec.venue, "symbol": self.spec.symbol, "exchange": inst.exchange,
                "kind": inst.kind, "fee_tier": self.fee.tier, "taker_rate": self.fee.taker,
                "maker_rate": self.fee.maker, "contract_value": inst.contract_value,
                "contract_type": inst.contract_type, "size_unit": inst.size_unit,
                "unit_label": inst.unit_label, "lot_size": inst.lot_size, "lot_base": book.lot_base,
                "min_base": book.min_base, "tick_size": inst.tick_size,
                "instrument_inferred": inst.inferred}


class VenueSet:
    """Several (venue, symbol) feeds in one process on one asyncio loop, priced together.

    ``start()``/``stop()`` are coroutines on the loop that runs the clients; ``evaluate(order)``
    is callable from any thread; ``wait(timeout)`` blocks a worker thread until some venue's
    book or state changed; ``on_change`` (optional) is called on the thread that changed it
    (the loop, or a venue's drain thread with ``drain="thread"``).
    """

    def __init__(self, specs: Sequence[VenueSpec], *, seed: int = 7, rate: float = 10.0,
                 fee_tiers: Mapping[str, str] | None = None, stale_after_s: float = 5.0,
                 drain: str = "loop", on_change: Callable[[], None] | None = None) -> None:
        if drain not in DRAINS:
            raise ValueError(f"drain must be one of {', '.join(DRAINS)}, not {drain!r}")
        ordered = sorted(specs, key=lambda s: s.key)
        if not ordered:
            raise ValueError("at least one VENUE:SYMBOL is needed")
        if len({s.key for s in ordered}) != len(ordered):
            raise ValueError("each VENUE:SYMBOL may be listed once")
        self.seed = seed
        self.rate = rate
        self.on_change = on_change
        self.version = 0
        self._changed = threading.Event()
        tiers = dict(fee_tiers or {})
        unknown = sorted(set(tiers) - {s.venue for s in ordered})
        if unknown:
            raise ValueError(f"fee tier given for {', '.join(unknown)}, which is not among the venues")
        instruments = [_instrument(s) for s in ordered]
        _same_base(ordered, instruments)
        self.feeds: tuple[VenueFeed, ...] = tuple(
            VenueFeed(s, _fee(s, inst, tiers.get(s.venue)), inst, drain, stale_after_s, self._changed_now)
            for s, inst in zip(ordered, instruments))
        self.started = False

    # --- lifecycle (on the loop) ---------------------------------------------------------
    async def start(self) -> None:
        """Start every embedded server needed and every client; returns once they are started
        (books arrive afterwards: :meth:`wait` or ``on_change`` say when)."""
        self.started = True
        try:
            for i, feed in enumerate(self.feeds):
                feed.open(self._source(i, feed.spec) if feed.spec.url is None else None)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop every client and embedded server (each one even when another fails)."""
        errors: list[BaseException] = []
        for feed in self.feeds:
            try:
                await feed.close()
            except Exception as exc:  # noqa: BLE001 - the others must still stop
                errors.append(exc)
        self.started = False
        if errors:
            raise errors[0]

    def _source(self, index: int, spec: VenueSpec) -> SyntheticSource:
        """The embedded market of the ``index``-th venue (in (venue, symbol) order): the common
        mid path of ``seed``, this venue's own seed and depth profile."""
        profile = VENUE_PROFILES[index % len(VENUE_PROFILES)]
        return SyntheticSource((spec.symbol,), seed=self.seed + SEED_STRIDE * (index + 1), rate=self.rate,
                               venue=spec.venue, path_seed=self.seed, profile=profile)

    # --- change notification -------------------------------------------------------------
    def _changed_now(self) -> None:
        self.version += 1
        self._changed.set()
        if self.on_change is not None:
            self.on_change()

    def poke(self) -> None:
        """Wake a thread in :meth:`wait` without a change (its order changed, or it should stop)."""
        self._changed.set()

    def wait(self, timeout: float) -> bool:
        """Block until some venue's book or state changed (True) or ``timeout`` s pass (False)."""
        woke = self._changed.wait(timeout)
        self._changed.clear()
        return woke

    # --- read side (any thread) ------------------------------------------------------------
    @property
    def keys(self) -> tuple[tuple[str, str], ...]:
        return tuple(f.key for f in self.feeds)

    def feed(self, venue: str, symbol: str) -> VenueFeed:
        for f in self.feeds:
            if f.key == (venue, symbol):
                return f
        raise KeyError(f"{venue}:{symbol} is not in this set")

    def states(self) -> dict[tuple[str, str], str]:
        return {f.key: f.state() for f in self.feeds}

    def evaluate(self, order: Order) -> VenuesSnapshot:
        """``order`` on every venue's newest book and split across the live ones, now."""
        snaps = tuple(f.last for f in self.feeds)
        books = tuple(f.book(snap) for f, snap in zip(self.feeds, snaps))
        result, note = None, ""
        try:
            result = best_execution(books, order)
        except NoConsolidatedMid as exc:
            note = str(exc)
        left_out = [f"{b.venue}:{b.symbol} {b.state}" for b in books if b.state != LIVE]
        if left_out:
            note = "; ".join(filter(None, (note, "left out of the split: " + ", ".join(left_out))))
        return VenuesSnapshot(time.time_ns(), order, books, result, note,
                              tuple(f.feed_info() for f in self.feeds),
                              tuple(f.spec_info(b) for f, b in zip(self.feeds, books)), snaps)


def _instrument(spec: VenueSpec) -> Instrument:
    """The spec's instrument; the embedded server serves only the symbols the data files list."""
    try:
        return instrument_for(spec.venue, spec.symbol, infer=spec.url is not None)
    except UnknownInstrument:
        raise ValueError(f"{spec.name}: the embedded synthetic server serves only "
                         f"{', '.join(venue_symbols(spec.venue))} on {spec.venue} (give its URL for a live feed)") from None


def _same_base(specs: Sequence[VenueSpec], instruments: Sequence[Instrument]) -> None:
    """One order is split across venues only if every venue trades the same base asset."""
    bases = {inst.base for inst in instruments}
    if len(bases) > 1:
        listed = ", ".join(f"{s.name} ({inst.base})" for s, inst in zip(specs, instruments))
        raise ValueError(f"every venue must trade the same base asset, not {listed}")


def _fee(spec: VenueSpec, instrument: Instrument, tier: str | None) -> FeeRate:
    """The taker and maker rates at ``tier`` (default: the venue's regular tier)."""
    venue = get_venue(spec.venue)
    try:
        return fee_rate(instrument.exchange, instrument.kind, tier or venue.fee_tier)
    except UnknownFeeSchedule as exc:
        raise ValueError(f"{spec.name}: {exc}") from None
