"""The feed client: one websocket, reconnected forever, every frame handed on with its receive time.

It speaks every venue of the registry (:mod:`core.venues`) and knows none by name: it asks the
:class:`~core.venues.base.Venue` what to send after connecting (``subscribe``: OKX sends
``{"op":"subscribe",...}``, GoQuant's URL subscribes), which text pings the server
(``app_ping``; its answer ``pong`` is counted, not handed on), which frames are events
(acks, errors: ``is_event``/``describe_event``), what restores sync (``is_snapshot``), and how to
ask for a fresh book (``resync`` texts, or, for a venue with ``rest_snapshot_url``, a new GET of
the REST depth snapshot). A REST snapshot is fetched with aiohttp (its own timeout, retries with
backoff) after subscribing, and its body text goes unchanged into the same sink as the
websocket frames, so the pipeline, the recorder and replays see it like any frame. A venue with
``reconnect_every_s`` (Binance: 24 h) is left and reconnected on that schedule.

What it does per frame is as little as possible: stamp ``time.perf_counter_ns()``, count, and call
``sink(raw, recv_ns)`` (normally :meth:`FeedPipeline.push`, an O(1) append); never a task per
message. Whole frames are handed on from inside the websockets protocol's ``data_received``
(:class:`_DirectConnection`), stamped as the socket read reached it, before websockets parses
or inflates the frame; after each such read ``on_burst`` (if given) lets a consumer on the loop
evaluate at once. Fragmented messages take websockets' ``recv`` and are stamped when it
returns. Decoding, validation and the book live behind the sink, so bad input (binary garbage,
non-JSON, crossed books) is counted there by reason and never reaches the socket code.

What it survives: refused or dropped connections, DNS failures, 1006 abnormal closes, HTTP errors
in the handshake, frames larger than ``max_size`` (websockets closes with 1009; counted as
``oversized_closes``; frames under it but over the decoder's limit are rejected by the decoder
instead, so ``max_size`` is set above that limit), a silent server (no data frame for
``stale_after_s``: state ``stale``, counted, reconnect), a venue's ``error`` events (recorded in the
status detail; a subscription that never delivers goes stale and is retried). It reconnects with
exponential backoff and jitter, resetting the backoff once a connection delivered data, and
reports every state change (connecting, live, stale, reconnecting, resyncing, stopped) as a
:class:`FeedStatus`, plus a refresh of the counters every ``status_every_s``. A dead feed is not
opaque: every connect attempt is counted (``connect_attempts``; ``failed_connects`` for those
that never delivered data; ``attempt``, the attempts since the last connection that did), and
after each failure a status goes out at once with the attempt number and the time of the next
try (``FeedStatus.retry_at``), so a countdown can be shown while the client waits.

Everything runs on the event loop that runs :meth:`run`: plain asyncio headless, qasync in the GUI.
:meth:`request_resync` must be called on that loop; from another thread use
:meth:`request_resync_threadsafe` (``loop.call_soon_threadsafe`` underneath).
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

import aiohttp
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.frames import Frame, Opcode

from core.feed.pipeline import FeedStatus
from core.venues import DEFAULT_VENUE, Venue, get_venue

log = logging.getLogger(__name__)

CLOSE_TOO_BIG = 1009
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
RESYNC_PATIENCE_S = 2.0  # a resubscribe not answered by a snapshot this fast may be repeated

_CONNECT_TAKES_PROXY = "proxy" in inspect.signature(connect.__init__).parameters

Sink = Callable[[Any, int], None]
StatusCallback = Callable[[FeedStatus], None]


class _DirectConnection(ClientConnection):
    """A websockets connection that hands each whole data frame to ``deliver`` from inside
    ``data_received``, stamped when that socket read reached the protocol, then calls
    ``on_burst`` once per read that delivered any.

    The stock path puts the frame in an assembler queue, and the receiving task resumes a loop
    iteration later (a future, a wake-up, a task step) before the frame is even stamped. Here
    the frame is stamped before websockets parses (and inflates) it and goes to the sink with no
    loop round trip; the consumer can evaluate right after the read (``on_burst``), so a read
    holding several frames is still one evaluation. Whatever this does not handle goes the
    stock way, in order: fragments and control frames, a frame while the queue holds others,
    invalid UTF-8 (websockets then closes with 1007), a closed stream.
    """

    deliver: Callable[[str | bytes, int], None] | None = None
    on_burst: Callable[[], None] | None = None
    recv_ns = 0  # perf_counter_ns() as the current socket read reached data_received
    _delivered = False

    def supports_direct(self) -> bool:
        """The websockets internals this class reads are there (they are not public API: a
        release without them leaves ``deliver`` unset, and every frame takes the stock path)."""
        queue = getattr(getattr(self, "recv_messages", None), "frames", None)
        return (queue is not None and hasattr(queue, "__len__") and hasattr(self.recv_messages, "closed")
                and callable(getattr(super(), "process_event", None)))

    def data_received(self, data: bytes) -> None:
        self.recv_ns = time.perf_counter_ns()
        self._delivered = False
        super().data_received(data)
        if self._delivered and self.on_burst is not None:
            self.on_burst()

    def process_event(self, event: Any) -> None:
        deliver = self.deliver
        if (deliver is None or not isinstance(event, Frame) or not event.fin or self.response is None
                or (event.opcode is not Opcode.TEXT and event.opcode is not Opcode.BINARY)
                or self.recv_messages.closed or len(self.recv_messages.frames)):
            super().process_event(event)
            return
        if event.opcode is Opcode.TEXT:
            try:
                msg: str | bytes = str(event.data, "utf-8")
            except UnicodeDecodeError:
                super().process_event(event)  # recv() raises it and fails the connection (1007)
                return
        else:
            msg = bytes(event.data)
        self._delivered = True
        deliver(msg, self.recv_ns)


@dataclass(frozen=True)
class ClientConfig:
    stale_after_s: float = 5.0  # no data frame for this long: stale, reconnect
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    backoff_factor: float = 2.0
    jitter: float = 0.5  # each delay is scaled by a random factor in [1 - jitter, 1]
    open_timeout_s: float = 10.0
    close_timeout_s: float = 2.0
    ping_interval_s: float | None = 20.0  # websocket-level keepalive pings
    ping_timeout_s: float | None = 20.0
    app_ping_s: float | None = None  # the venue's text ping every this often (None: the venue's own interval)
    rest_timeout_s: float = 10.0  # one REST snapshot request, connect to last byte
    rest_retries: int = 3  # further tries of a failed REST snapshot, with backoff
    rest_backoff_s: float = 0.5  # first pause between REST tries (doubling)
    max_size: int = 8 * 1024 * 1024  # above the decoders' 4 MiB limit: they reject, not the socket
    max_queue: int = 64  # frames websockets buffers before it stops reading the socket
    status_every_s: float = 1.0
    compression: str | None = "deflate"

    def validated(self) -> "ClientConfig":
        if not self.stale_after_s > 0:
            raise ValueError(f"stale_after_s must be positive, not {self.stale_after_s!r}")
        if not (0 < self.backoff_initial_s <= self.backoff_max_s):
            raise ValueError("backoff must satisfy 0 < initial <= max")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        return self


class _Stale(Exception):
    """The connection delivered no data for ``stale_after_s``."""


class FeedClient:
    """A websocket feed that never dies; see the module docstring."""

    def __init__(self, url: str, sink: Sink, on_status: StatusCallback | None = None, *,
                 feed: str | Venue = DEFAULT_VENUE, inst_ids: tuple[str, ...] | list[str] = ("BTC-USDT-SWAP",),
                 channel: str | None = None, config: ClientConfig | None = None, source: str = "",
                 synthetic: bool = False, rng: random.Random | None = None, rest_url: str | None = None,
                 on_connect: Callable[[], None] | None = None,
                 on_burst: Callable[[], None] | None = None) -> None:
        venue = feed if isinstance(feed, Venue) else get_venue(feed)
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"not a websocket URL: {url!r}")
        if not inst_ids and not venue.full_snapshots:
            raise ValueError(f"a {venue.label or venue.name} feed needs at least one instrument to subscribe to")
        self.rest_url = rest_url or venue.default_rest_url
        if venue.rest_snapshot_url is not None and not self.rest_url:
            raise ValueError(f"{venue.name} needs a REST base URL for its depth snapshot")
        self.url = url
        self.venue = venue.with_channel(channel)
        self.feed = venue.name
        self.inst_ids = tuple(inst_ids)
        self.channel = channel
        self.config = (config or ClientConfig()).validated()
        self.source = source or url
        self.synthetic = synthetic
        self._sink = sink
        self._on_connect = on_connect  # called as each connection opens, before its first frame
        self._on_burst = on_burst  # called after each socket read that handed frames to the sink
        self._on_status = on_status
        self._rng = rng or random.Random()
        self._loopback = parts.hostname in LOOPBACK_HOSTS
        self.state = "stopped"
        self.detail = ""
        # counters (attributes, not a dict: the receive loop increments them per frame)
        self.received = 0
        self.bytes = 0
        self.connects = 0
        self.reconnects = 0
        self.connect_attempts = 0  # every attempt, the first included
        self.failed_connects = 0  # attempts whose connection never delivered data
        self.attempt = 0  # attempts since the last connection that delivered data
        self.retry_at: float | None = None  # time.monotonic() of the next attempt, while waiting
        self.stale_events = 0
        self.resyncs = 0
        self.oversized_closes = 0
        self.abnormal_closes = 0
        self.events = 0
        self.errors = 0
        self.pongs = 0
        self.scheduled_reconnects = 0  # connections closed on the venue's schedule (reconnect_every_s)
        self.rest_snapshots = 0  # REST depth snapshots fetched and handed on
        self.rest_failures = 0  # REST snapshot requests that failed (each retry counts)
        self._rest_task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._task: asyncio.Task | None = None
        self._ws: ClientConnection | None = None
        self._stopping = False
        self._wake = asyncio.Event()  # stop or resync requested
        self._resync_wanted = False
        self._resync_at = 0.0
        self._last_data_ns = 0
        self._went_live = False

    # --- public ----------------------------------------------------------------------
    def start(self) -> asyncio.Task:
        """Run on the current event loop in a task of its own; returns that task."""
        if self._task is not None and not self._task.done():
            raise RuntimeError("the client is already running")
        self._task = asyncio.get_running_loop().create_task(self.run(), name=f"feed-client {self.url}")
        return self._task

    async def stop(self) -> None:
        """Close the connection and end :meth:`run`; leaves no task behind."""
        self._stopping = True
        self._wake.set()
        ws = self._ws
        if ws is not None:
            try:
                await ws.close()
            except Exception:  # already broken: the run loop sees it too
                pass
        task = self._task
        if task is not None and not task.done():
            if ws is None:
                task.cancel()
            try:
                await asyncio.wait_for(asyncio.shield(task), self.config.close_timeout_s + 1.0)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._set_state("stopped")

    def request_resync(self) -> None:
        """Ask for a fresh snapshot (the venue's ``resync`` texts, or a new REST snapshot). Call on
        the client's loop.

        Ignored when one is on its way already: right after (re)subscribing (a book waiting for
        its first snapshot looks out of sync too), or within ``RESYNC_PATIENCE_S`` of the last
        resubscribe.
        """
        if self.venue.full_snapshots:
            log.debug("resync requested on a full-snapshot feed: every message is a snapshot already")
            return
        if self._ws is None or self._stopping or self.state in ("connecting", "reconnecting"):
            return  # the subscription just sent brings a snapshot
        if self.state == "resyncing" and time.monotonic() - self._resync_at < RESYNC_PATIENCE_S:
            return
        self._resync_wanted = True
        self._wake.set()

    def request_resync_threadsafe(self) -> None:
        """:meth:`request_resync` from any thread (directly when already on the loop's thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            self.request_resync()  # no cross-thread hop (under qasync that would be a Qt signal)
        else:
            loop.call_soon_threadsafe(self.request_resync)

    def counters(self) -> dict[str, int]:
        return {
            "received": self.received, "bytes": self.bytes, "connects": self.connects,
            "reconnects": self.reconnects, "connect_attempts": self.connect_attempts,
            "failed_connects": self.failed_connects, "attempt": self.attempt,
            "stale_events": self.stale_events, "resyncs": self.resyncs,
            "oversized_closes": self.oversized_closes, "abnormal_closes": self.abnormal_closes,
            "events": self.events, "errors": self.errors, "pongs": self.pongs,
            "rest_snapshots": self.rest_snapshots, "rest_failures": self.rest_failures,
            "scheduled_reconnects": self.scheduled_reconnects,
        }

    def status(self) -> FeedStatus:
        return FeedStatus(state=self.state, source=self.source, synthetic=self.synthetic,
                          url=self.url, counters=self.counters(), detail=self.detail,
                          attempt=self.attempt, retry_at=self.retry_at)

    # --- the loop --------------------------------------------------------------------
    async def run(self) -> None:
        """Connect, stream, reconnect with backoff, forever (until :meth:`stop`)."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._stopping = False
        self.attempt = 0
        first = True
        try:
            while not self._stopping:
                if not first:
                    self.reconnects += 1
                self.connect_attempts += 1
                self.attempt += 1
                self._went_live = False
                self._set_state("connecting" if first else "reconnecting", force=True)
                first = False
                try:
                    await self._session()
                except _Stale:
                    pass
                except ConnectionClosed as exc:
                    self._closed(exc)
                except InvalidStatus as exc:
                    self._error(f"handshake refused: HTTP {exc.response.status_code}")
                except (OSError, asyncio.TimeoutError, WebSocketException) as exc:
                    self._error(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a bug somewhere below: log it, keep the feed alive
                    log.exception("feed client %s: unexpected error", self.url)
                    self._error(f"unexpected {type(exc).__name__}: {exc}")
                if self._stopping:
                    break
                await self._wait_to_retry()
        finally:
            self._ws = None
            self.retry_at = None
            self._set_state("stopped")

    async def _session(self) -> None:
        cfg = self.config
        kwargs: dict[str, Any] = dict(
            open_timeout=cfg.open_timeout_s, close_timeout=cfg.close_timeout_s,
            ping_interval=cfg.ping_interval_s, ping_timeout=cfg.ping_timeout_s,
            max_size=cfg.max_size, max_queue=cfg.max_queue, compression=cfg.compression,
            create_connection=_DirectConnection,
        )
        if self._loopback and _CONNECT_TAKES_PROXY:
            kwargs["proxy"] = None  # never route loopback through a system proxy (websockets >= 15)
        async with connect(self.url, **kwargs) as ws:
            self._ws = ws
            if isinstance(ws, _DirectConnection) and ws.supports_direct():  # frames straight from the reads
                ws.on_burst = self._burst
                ws.deliver = self._frame
            self.connects += 1
            if self._on_connect is not None:
                self._on_connect()
            self._read_labels(ws)
            self._last_data_ns = time.perf_counter_ns()
            for text in self.venue.subscribe(self.inst_ids):
                await ws.send(text, text=True)
            self._fetch_rest_snapshot()
            watchdog = asyncio.get_running_loop().create_task(self._watch(ws))
            try:
                await self._receive(ws)
            finally:
                watchdog.cancel()
                rest = self._rest_task
                if rest is not None:
                    rest.cancel()
                await asyncio.gather(watchdog, *([rest] if rest is not None else []), return_exceptions=True)
                self._ws = None
            if watchdog.done() and not watchdog.cancelled() and isinstance(watchdog.exception(), _Stale):
                raise _Stale()

    async def _receive(self, ws: ClientConnection) -> None:
        """Frames come through :meth:`_frame`, straight from the socket read
        (:class:`_DirectConnection`); this loop takes the rest (fragmented messages, frames
        queued behind them) and ends when the connection closes normally."""
        clock, frame = time.perf_counter_ns, self._frame
        async for msg in ws:
            frame(msg, clock())

    def _frame(self, msg: str | bytes, now: int) -> None:
        """The hot path, per frame: count, note events and liveness, hand on with ``now``."""
        pong = self.venue.pong
        if pong is not None and msg == pong:
            self.pongs += 1
            return
        self.received += 1
        self.bytes += len(msg)
        is_event = self.venue.is_event
        if is_event is not None and is_event(msg):
            self._event(msg)
        else:
            self._last_data_ns = now
            if self.state != "live":
                self._maybe_live(msg)
        try:
            self._sink(msg, now)
        except Exception:  # the consumer's bug must not take the connection down
            self.errors += 1
            log.exception("feed sink failed on a %d-byte frame", len(msg))

    def _burst(self) -> None:
        """A socket read's frames are all in the sink: let the consumer evaluate now."""
        if self._on_burst is None:
            return
        try:
            self._on_burst()
        except Exception:  # the consumer's bug must not take the connection down
            self.errors += 1
            log.exception("feed consumer failed after a burst of frames")

    async def _watch(self, ws: ClientConnection) -> None:
        """Per connection: stale detection, the venue's text pings, resync requests, status refresh,
        and the venue's scheduled reconnect (Binance drops connections after 24 h: leave first)."""
        cfg = self.config
        renew_s = self.venue.reconnect_every_s
        ping = self.venue.app_ping
        ping_s = (cfg.app_ping_s or ping[0]) if ping is not None else None
        tick = min(cfg.stale_after_s / 4, cfg.status_every_s, 1.0)
        last_ping = last_status = opened = time.monotonic()
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), tick)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            if self._stopping:
                return
            now = time.monotonic()
            if self._resync_wanted:
                self._resync_wanted = False
                await self._resubscribe(ws)
            if ping is not None and now - last_ping >= ping_s:
                last_ping = now
                await ws.send(ping[1])
            silent_s = (time.perf_counter_ns() - self._last_data_ns) / 1e9
            if silent_s > cfg.stale_after_s:
                self.stale_events += 1
                self.detail = f"no data for {silent_s:.1f} s"
                log.warning("feed %s: stale (%s), reconnecting", self.url, self.detail)
                self._set_state("stale")
                await ws.close(1000, "stale")
                raise _Stale()
            if now - last_status >= cfg.status_every_s:
                last_status = now
                self._publish()
            if renew_s is not None and now - opened >= renew_s:
                self.scheduled_reconnects += 1
                self.detail = f"scheduled reconnect after {renew_s:g} s ({self.venue.name})"
                await ws.close(1000, "scheduled reconnect")
                return

    async def _resubscribe(self, ws: ClientConnection) -> None:
        self.resyncs += 1
        self._resync_at = time.monotonic()
        self._set_state("resyncing")
        if self.venue.resync is None:
            self._fetch_rest_snapshot()
            return
        for text in self.venue.resync(self.inst_ids):
            await ws.send(text, text=True)

    # --- REST snapshot (venues with rest_snapshot_url) ---------------------------------
    def _fetch_rest_snapshot(self) -> None:
        """Start fetching the REST depth snapshot(s) unless one fetch is under way already."""
        if self.venue.rest_snapshot_url is None:
            return
        if self._rest_task is not None and not self._rest_task.done():
            return
        self._rest_task = asyncio.get_running_loop().create_task(self._rest_snapshots())

    async def _rest_snapshots(self) -> None:
        """GET each symbol's snapshot; its body goes into the sink unchanged, stamped on arrival."""
        cfg = self.config
        timeout = aiohttp.ClientTimeout(total=cfg.rest_timeout_s)
        async with aiohttp.ClientSession(timeout=timeout, trust_env=not self._loopback) as http:
            for symbol in self.inst_ids:
                body = await self._get_with_retries(http, self.venue.rest_snapshot_url(self.rest_url, symbol))
                if body is None or self._stopping:
                    return
                self.rest_snapshots += 1
                self.received += 1
                self.bytes += len(body)
                try:
                    self._sink(body, time.perf_counter_ns())
                except Exception:
                    self.errors += 1
                    log.exception("feed sink failed on a %d-byte REST snapshot", len(body))

    async def _get_with_retries(self, http: aiohttp.ClientSession, url: str) -> str | None:
        """The body text of a 200 answer to ``url``; None after ``rest_retries`` further failures."""
        cfg = self.config
        for attempt in range(cfg.rest_retries + 1):
            if attempt:
                await asyncio.sleep(cfg.rest_backoff_s * 2 ** (attempt - 1))
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return await response.text()
                    failure = f"HTTP {response.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                failure = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self.rest_failures += 1
            self._error(f"REST snapshot {url}: {failure}")
        return None

    # --- per-frame helpers -----------------------------------------------------------
    def _maybe_live(self, msg: str | bytes) -> None:
        """Live on the first data frame; after a resync, only once a snapshot arrives."""
        if self.state == "resyncing" and not self.venue.is_snapshot(msg):
            return
        self._went_live = True
        self.attempt = 0
        self.detail = ""
        self._set_state("live")

    def _event(self, msg: str) -> None:
        self.events += 1
        described = self.venue.describe_event(msg) if self.venue.describe_event is not None else None
        if described is None:
            return
        kind, detail = described
        self.detail = detail[:300]
        if kind == "error":
            self.errors += 1
            log.warning("feed %s: %s", self.url, self.detail)
        self._publish()

    def _read_labels(self, ws: ClientConnection) -> None:
        """A slipscope server says in the handshake what it serves (synthetic or not)."""
        headers = ws.response.headers if ws.response is not None else {}
        label = headers.get("X-Slipscope-Source")
        if label:
            self.source = label
        if headers.get("X-Slipscope-Synthetic") == "1":
            self.synthetic = True

    # --- state, errors, backoff ------------------------------------------------------
    def _set_state(self, state: str, force: bool = False) -> None:
        """Publish a state change (``force``: publish even when the state stays the same)."""
        if state != self.state or force:
            self.state = state
            self._publish()

    def _publish(self) -> None:
        if self._on_status is None:
            return
        try:
            self._on_status(self.status())
        except Exception:
            log.exception("feed status callback failed")

    def _closed(self, exc: ConnectionClosed) -> None:
        codes = {frame.code for frame in (exc.sent, exc.rcvd) if frame is not None}
        code = exc.rcvd.code if exc.rcvd is not None else (exc.sent.code if exc.sent is not None else 1006)
        if CLOSE_TOO_BIG in codes:
            self.oversized_closes += 1
            self._error(f"a frame exceeded {self.config.max_size} bytes (close 1009)")
        elif code not in (1000, 1001):
            self.abnormal_closes += 1
            self._error(f"connection closed abnormally (code {code})")
        else:
            self.detail = f"connection closed by the server (code {code})"
            log.info("feed %s: %s", self.url, self.detail)

    def _error(self, text: str) -> None:
        self.errors += 1
        repeated = text[:300] == self.detail
        self.detail = text[:300]
        # the same failure on every retry is said once, then only at debug level
        log.log(logging.DEBUG if repeated else logging.WARNING, "feed %s: %s", self.url, self.detail)

    async def _wait_to_retry(self) -> None:
        """Count the attempt that just ended, say when the next one comes, and wait for it."""
        if self._went_live:
            self.attempt = 0  # a good connection: the backoff starts over
        else:
            self.failed_connects += 1
        delay = self._backoff(self.attempt)
        self.retry_at = time.monotonic() + delay
        self._publish()  # the state may not change (reconnecting -> reconnecting): say it anyway
        try:
            await self._sleep(delay)
        finally:
            self.retry_at = None

    def _backoff(self, attempt: int) -> float:
        cfg = self.config
        delay = min(cfg.backoff_max_s, cfg.backoff_initial_s * cfg.backoff_factor ** max(attempt - 1, 0))
        return delay * (1.0 - cfg.jitter * self._rng.random())

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when stopped."""
        self._wake.clear()
        if self._stopping:
            return
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except asyncio.TimeoutError:
            pass
        self._resync_wanted = False  # a new connection subscribes afresh anyway
