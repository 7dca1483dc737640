"""Wiring of the desktop app: one asyncio loop (qasync) in the GUI thread, one compute thread.

    websocket client (asyncio, GUI thread) --push--> FeedPipeline --wait/drain--> ComputeWorker
    ComputeWorker --queued signal (Snapshot)--> MainWindow.on_snapshot --frame timer--> plots

- The feed client runs on the qasync loop; it pushes raw frames into the pipeline (O(1), no
  task per message). The worker thread is the pipeline's only consumer.
- A resync request comes from the worker thread (the pipeline notices the gap there); it is
  handed to the client on the loop with ``loop.call_soon_threadsafe``.
- New inputs go to the worker by reference and a poke: priced on the newest book at once.
- A new feed (the feed dialog) or instrument: the running session stops (client, worker joined,
  embedded server), the snapshots it had already queued are delivered and forgotten, and the new
  one starts; one switch at a time.
- Another exchange picked in the inputs: on the embedded synthetic market, the same market
  served in that venue's protocol (same seed and rate); on a URL or a replay, the feed dialog
  asks for that venue's feed, and Cancel puts the exchange and instrument back.
- Several venues at once (the Venues tab, ``app.gui.venues``): a VenuesSession beside the
  single-venue session, started with the window (``--venues``) or when the tab is first opened
  (the default venues on the embedded synthetic market); the window's order goes to its worker
  by reference and a poke, as the session's parameters do.
- Shutdown, in order: frame timer, feed client, worker thread (joined), embedded server, then the
  venues (their worker joined, every client, drain thread and embedded server); then the window
  closes for real and the loop returns, so ``app.exec`` ends normally.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Callable, Protocol

from core.engine import Engine
from core.feed.pipeline import FeedPipeline, FeedStatus
from core.instruments import Instrument, UnknownInstrument
from core.params import InvalidParams, OrderParams
from core.venues import get_venue, instrument_for, venue_symbols

log = logging.getLogger(__name__)


class FeedSource(Protocol):
    """Where frames come from: a websocket client (and the embedded server it may own)."""

    label: str  # shown in the window: URL or "synthetic market (embedded ...)"
    synthetic: bool
    feed_format: str  # a venue name (core.venues): how the Engine decodes what is pushed

    async def start(self, pipeline: FeedPipeline, instrument: Instrument) -> None:
        """Begin pushing frames (returns once started; runs on the loop)."""

    def request_resync(self) -> None:
        """Ask for a fresh snapshot (called on the loop)."""

    async def stop_client(self) -> None:
        """Stop reading: no push after this returns."""

    async def stop_server(self) -> None:
        """Stop whatever serves the frames (embedded server); no-op for a remote feed."""


def make_models(instrument: Instrument):
    """The cost-model suite of one instrument (fresh for each session: models learn per feed)."""
    from core.models.suite import CostModels

    return CostModels(instrument)


def fee_tiers(instrument: Instrument) -> list[str]:
    """The fee tiers the models know for this instrument's exchange and kind (spot, swap): each
    venue's own table (OKX and GoQuant: OKX's; Binance's; Bybit's)."""
    from core.models import fees

    try:
        return fees.known_tiers(instrument.exchange, instrument.kind)
    except fees.UnknownFeeSchedule:
        return []


def check_params(params: OrderParams, instrument: Instrument) -> None:
    """What the Engine's models would refuse (an unknown fee tier), refused at the input."""
    from core.models import fees

    fees.fee_rate(params.exchange, instrument.kind, params.fee_tier)


class Session:
    """One instrument on one feed: Engine + pipeline + worker + source, started and stopped in order."""

    def __init__(self, instrument: Instrument, params: OrderParams, source: FeedSource, signals,
                 loop: asyncio.AbstractEventLoop) -> None:
        from app.gui.worker import ComputeWorker

        self.instrument = instrument
        self.source = source
        self.loop = loop
        self.engine = Engine(instrument, source.feed_format, params, models=make_models(instrument))
        self.pipeline = FeedPipeline(self.engine, request_resync=self._resync_from_worker)
        self.pipeline.set_status(FeedStatus(state="connecting", source=source.label,
                                            synthetic=source.synthetic))
        self.worker = ComputeWorker(self.pipeline, signals, params)
        self.stopped = False

    def _resync_from_worker(self) -> None:
        # runs in the worker thread: the client lives on the loop
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.source.request_resync)

    async def start(self) -> None:
        self.worker.start()
        await self.source.start(self.pipeline, self.instrument)

    def post_params(self, params: OrderParams) -> None:
        self.worker.post_params(params)

    async def stop(self) -> None:
        """Feed client, then worker, then server; each step bounded so a close never hangs."""
        if self.stopped:
            return
        self.stopped = True
        try:
            await asyncio.wait_for(self.source.stop_client(), 5.0)
        except (asyncio.TimeoutError, Exception) as exc:  # noqa: BLE001 (report, keep closing)
            log.warning("feed client did not stop cleanly: %s", exc)
        # a cold Numba cache can hold the worker in a compile for many seconds on first use
        if not await self.worker.stop_async(30.0):
            log.warning("compute worker did not stop within 30 s")
        try:
            await asyncio.wait_for(self.source.stop_server(), 5.0)
        except (asyncio.TimeoutError, Exception) as exc:  # noqa: BLE001
            log.warning("embedded server did not stop cleanly: %s", exc)


class Controller:
    """Owns the window and the running session; reacts to inputs, instrument and feed changes,
    and close. Sessions are opened and stopped one at a time (``_switching``)."""

    def __init__(self, window, source_factory: Callable[[str], FeedSource], choice=None,
                 feed_factory: Callable[[object, str], FeedSource] | None = None) -> None:
        from app.gui.worker import WorkerSignals

        self.window = window
        self.source_factory = source_factory
        self.choice = choice  # the FeedChoice behind source_factory, when there is one
        self.feed_factory = feed_factory or websocket_feed
        self.signals = WorkerSignals()
        self.signals.snapshot.connect(window.on_snapshot)
        self.signals.status.connect(window.on_status)
        self.signals.failed.connect(window.on_worker_failed)
        self.signals.repriced.connect(window.on_repriced)
        self.session: Session | None = None
        self.closed: asyncio.Future | None = None
        self.closing = False
        self.switches = 0  # feed switches completed
        self._following_feed = False  # the instrument changes because the feed did: no reopen of its own
        self._switching: asyncio.Lock | None = None
        self._tasks: set[asyncio.Task] = set()
        from app.gui.venues import VenuesSignals

        self.venues = None  # the running app.gui.venues.VenuesSession
        self.venues_config: dict | None = None  # use_venues' arguments: started with the window
        self.venues_signals = VenuesSignals()
        self.venues_signals.snapshot.connect(window.on_venues)
        self.venues_signals.failed.connect(window.on_worker_failed)
        self._venues_lock: asyncio.Lock | None = None
        window.venuesRequested.connect(self._on_venues_requested)
        window.paramsChanged.connect(self._on_params)
        window.freezeChanged.connect(self._on_freeze)
        window.instrumentChanged.connect(self._on_instrument)
        window.shutdownRequested.connect(self._on_shutdown)
        window.feedRequested.connect(self.switch_feed)
        window.venueChanged.connect(self._on_venue)
        if choice is not None:
            window.feed_form = choice.to_form()
            # the window shows the feed's exchange; a recording's (or a URL's) own instrument
            fixed = choice.instrument if (choice.replay or choice.url) else None
            self._follow_market(choice.feed, fixed or window.inputs.instrument_id, choice.instrument)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.closed = loop.create_future()
        self._switching = asyncio.Lock()
        self._venues_lock = asyncio.Lock()
        await self._open(self.window.inputs.instrument_id)
        if self.venues_config is not None:
            await self.open_venues(**self.venues_config)
            self.window.show_venues()
        self.window.start_frames()

    # --- several venues --------------------------------------------------------------------
    def use_venues(self, specs, *, seed: int = 7, rate: float = 10.0, fee_tiers=None) -> None:
        """Start these venues with the window and show the Venues tab (``gui --venues``)."""
        self.venues_config = {"specs": tuple(specs), "seed": seed, "rate": rate, "fee_tiers": dict(fee_tiers or {})}

    def _on_venues_requested(self) -> None:
        """The Venues tab opened with no venues running: the default three on the embedded
        synthetic market, at the single-venue synthetic feed's seed and rate."""
        if self.venues is None and not self.closing and self._venues_lock is not None:
            from app.gui.venues import default_venues

            choice = self.choice
            self._spawn(self.open_venues(default_venues(), seed=getattr(choice, "seed", 7),
                                         rate=getattr(choice, "rate", 10.0)))

    async def open_venues(self, specs, *, seed: int = 7, rate: float = 10.0, fee_tiers=None) -> None:
        from app.gui.venues import VenuesSession

        async with self._venues_lock:
            if self.venues is not None or self.closing:
                return
            self.window.venues_running = True
            order = self._venues_order(self.window.inputs.params)
            session = VenuesSession(specs, order, self.venues_signals, seed=seed, rate=rate, fee_tiers=fee_tiers)
            self.window.set_venues_source(*session.label)
            self.venues = session
            await session.start()

    def _venues_order(self, params: OrderParams):
        """The inputs as the venues' order; None (said in the status bar) when they cannot be:
        contracts of an instrument that has none."""
        from app.gui.venues import order_for

        try:
            return order_for(params, self.window.inputs.instrument_spec)
        except (InvalidParams, ValueError) as exc:
            self.window.show_message(f"Venues: input refused: {exc}", error=True)
            return None

    def _post_venues_order(self) -> None:
        if self.venues is not None:
            order = self._venues_order(self.window.inputs.params)
            if order is not None:
                self.venues.post_order(order)

    async def _open(self, inst_id: str) -> None:
        loop = asyncio.get_running_loop()
        source = self.source_factory(inst_id)
        instrument = instrument_for(source.feed_format, inst_id)
        self.session = Session(instrument, self.window.inputs.params, source, self.signals, loop)
        await self.session.start()
        self.window.set_source(("SYNTHETIC · " if source.synthetic else "") + source.label)

    async def _reopen(self, inst_id: str, forget: bool = False) -> None:
        """Stop the running session, then open one on ``inst_id`` (unless closing)."""
        async with self._switching:
            old, self.session = self.session, None
            if old is not None:
                await old.stop()
            if forget:
                # what the old worker queued before it stopped, delivered now and then dropped
                from PySide6.QtCore import QCoreApplication, QEvent
                QCoreApplication.sendPostedEvents(self.window, QEvent.Type.MetaCall)
                self.window.reset_data()
            if not self.closing:
                await self._open(inst_id)

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)

    def _on_params(self, params: OrderParams) -> None:
        if self.session is not None:
            self.session.post_params(params)
        self._post_venues_order()

    def _on_freeze(self, snap) -> None:
        if self.session is not None:
            self.session.worker.freeze_on(snap)

    def _on_instrument(self, inst_id: str) -> None:
        self._post_venues_order()  # an order in contracts is worth the new instrument's
        if not self._following_feed:
            self._spawn(self._instrument_switch(inst_id))

    async def _instrument_switch(self, inst_id: str) -> None:
        try:
            await self._reopen(inst_id)
        except Exception as exc:  # noqa: BLE001 (e.g. a replay that holds another instrument)
            log.warning("could not open %s: %s", inst_id, exc)
            self.window.show_message(f"Could not open {inst_id} on this feed: {exc}", error=True)
            return
        if self.choice is not None and not self.choice.replay:
            self.choice = replace(self.choice, instrument=inst_id)
            self.window.feed_form = self.choice.to_form()
            from app.gui import settings as store
            saved = store.load_feed_form(self.window.settings) or {}
            if all(saved.get(k) == self.window.feed_form[k] for k in ("source", "feed", "url")):
                store.save_feed_form(self.window.settings, self.window.feed_form)  # the remembered feed, on it

    def _on_venue(self, venue: str, symbol: str) -> None:
        """Another exchange picked in the inputs: the synthetic market in its protocol at once;
        a URL or a replay cannot be carried over, so the feed dialog asks for the venue's feed."""
        from app.gui.feed_source import FeedChoice

        current = self.choice or FeedChoice()
        if current.source == "synthetic":
            self.window.set_frozen(False)  # the frozen book belongs to the old venue
            self.window.request_feed(replace(current, feed=venue, instrument=symbol))
            return
        running = self._running_market()
        v = get_venue(venue)
        form = {"source": "url", "feed": venue, "instrument": symbol, "url": v.default_url,
                "rest_url": v.default_rest_url or "", "rate": current.rate, "seed": current.seed,
                "speed": current.speed}
        from widgets.inputs_panel import venue_label

        label, was = venue_label(venue), venue_label(running[0])
        dialog = self.window.open_feed_dialog(
            form, note=f"The running feed ({'a URL' if current.url else 'a replay'}) cannot follow the "
                       f"exchange: choose {label}'s feed (its public URL is filled in, or the embedded "
                       f"synthetic market), or Cancel to stay on {was}.")
        dialog.rejected.connect(lambda: self._follow_market(*running))

    def switch_feed(self, choice) -> None:
        """Stop the running feed and start ``choice`` (an accepted FeedChoice): same window,
        same inputs; the instrument becomes the choice's."""
        self._spawn(self._switch_feed(choice))

    async def _switch_feed(self, choice) -> None:
        inputs = self.window.inputs
        previous = (self.source_factory, self.choice, *self._running_market())
        self.source_factory = lambda inst_id: self.feed_factory(choice, inst_id)
        self.choice = choice
        self.window.feed_form = choice.to_form()
        inst_id = choice.instrument or inputs.instrument_id
        self._follow_market(choice.feed, inst_id)
        inst_id = inputs.instrument_id
        try:
            await self._reopen(inst_id, forget=True)
        except Exception as exc:  # noqa: BLE001 (say so, go back to the feed that worked)
            log.warning("feed switch failed: %s", exc)
            self.window.show_message(f"Could not start the new feed ({exc}); back on the previous one", error=True)
            self.source_factory, self.choice, venue, inst_id = previous
            if self.choice is not None:
                self.window.feed_form = self.choice.to_form()
            self._follow_market(venue, inst_id)
            await self._reopen(inst_id, forget=True)
            return
        from app.gui import settings as store
        store.save_feed_form(self.window.settings, choice.to_form())  # a feed that started: the next launch's
        self.switches += 1
        self.window.show_message(f"Feed: {self.session.source.label}" if self.session else "")

    def _running_market(self) -> tuple[str, str]:
        """(venue, symbol) of the running session: what the inputs go back to when a switch is
        cancelled or fails (they may already show the exchange just picked)."""
        if self.session is not None:
            return self.session.source.feed_format, self.session.instrument.inst_id
        return self.window.inputs.venue, self.window.inputs.instrument_id

    def _follow_market(self, venue: str, inst_id: str, fallback: str | None = None) -> None:
        """Show ``inst_id`` of ``venue`` in the inputs (units, fee tiers, the venue's symbols)
        without the reopen a pick there otherwise asks for: the caller (re)opens the feed.
        A symbol the venue cannot price becomes ``fallback``, else the venue's nearest one."""
        inputs = self.window.inputs
        if (venue, inst_id) == (inputs.venue, inputs.instrument_id):
            return
        listed = venue_symbols(venue)
        if not self._can_price(venue, inst_id, listed):
            from widgets.inputs_panel import matching_symbol
            inst_id = fallback if fallback in listed else matching_symbol(inputs.instrument_spec, listed, venue)
        self._following_feed = True
        try:
            inputs.show_market(venue, inst_id)
        finally:
            self._following_feed = False
        self.window.settings.setValue("feed/instrument", inst_id)

    def _can_price(self, venue: str, inst_id: str, listed: list[str]) -> bool:
        """A listed symbol always; another only on a URL feed of a venue that infers specs (the
        embedded server serves the data files' symbols only)."""
        if inst_id in listed:
            return True
        if self.choice is None or self.choice.url is None:
            return False
        try:
            instrument_for(venue, inst_id)
        except UnknownInstrument:
            return False
        return True

    def _on_shutdown(self) -> None:
        self._spawn(self.shutdown())

    async def shutdown(self) -> None:
        self.closing = True
        self.window.stop_frames()
        if self._switching is not None:
            async with self._switching:
                await self._stop_session()
        else:
            await self._stop_session()
        await self._stop_venues()
        self.window.finish_close()
        if self.closed is not None and not self.closed.done():
            self.closed.set_result(0)

    async def _stop_venues(self) -> None:
        if self._venues_lock is None:
            return
        async with self._venues_lock:
            if self.venues is not None:
                venues, self.venues = self.venues, None
                await venues.stop()

    async def _stop_session(self) -> None:
        if self.session is not None:
            session, self.session = self.session, None
            await session.stop()


def websocket_feed(choice, inst_id: str) -> FeedSource:
    from app.gui.feed_source import WebsocketFeed

    return WebsocketFeed(choice, inst_id)


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task failed", exc_info=task.exception())
