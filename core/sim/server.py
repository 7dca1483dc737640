"""A local feed server: the synthetic market or a recording, over real websockets on 127.0.0.1.

Every venue of the registry on one port, at the path its ``stream_url`` gives (the venue's
public URL's path on this host):

- GoQuant L2 at ``/ws/l2-orderbook/okx/<SYMBOL>``: every message a full snapshot.
- OKX v5 public at ``/ws/v5/public``: ``{"op": "subscribe"|"unsubscribe", "args": [...]}`` with
  OKX-style ``event`` replies, text ``ping`` -> ``pong``, then a snapshot and updates whose
  ``prevSeqId``/``seqId`` chain and CRC32 checksums are real.
- any other venue: its encoder's texts (``snapshot_text`` on connecting unless the venue takes
  its snapshot over REST, then ``update_text`` per step); what the client sends is read and
  ignored. A venue with ``rest_snapshot_url`` gets its REST depth snapshot answered on the same
  port (a plain HTTP GET, through websockets' ``process_request``): ``rest_body`` of the current step.
  A replay serves every venue's recording the same way: its frames (REST bodies included) as recorded.

Sources. :class:`SyntheticSource` steps one :class:`SyntheticMarket` per instrument at ``rate``
steps per second and broadcasts each step to every connection (rendered once per format, the
same bytes for all). :class:`ReplaySource` serves a recording: every connection gets its own
replay from the start (at 1x, 10x, ... or as fast as the client reads), so a client always sees
exactly the recorded sequence; at the end the server closes the connection normally (code 1000)
unless ``loop`` is set. An OKX replay answers a resubscribe by continuing from where it is:
it cannot invent a snapshot, the next recorded one resyncs the client.

Slow clients never stall the others: the broadcaster only appends to per-connection queues and
each connection has its own sender task. A GoQuant queue keeps the newest few snapshots
(older ones are dropped and counted: each message is a full book, nothing is lost but staleness).
An OKX queue that reaches ``okx_queue`` messages is cleared and the client is re-snapshotted:
it gets a fresh snapshot of the current step followed by updates, so its book is exact again
without a reconnect (counted as ``resnapshots``).

Fault injection (:class:`Faults`, ``server.faults``) is public so tests and demos can make the
feed misbehave: a sequence gap, a wrong checksum, garbage frames, a crossed book, an oversized
message, silence, abrupt disconnects. :class:`EmbeddedServer` runs a server on its own thread and
event loop, so whoever embeds it (the GUI thread, headless) never pays for market generation.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Callable

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from urllib.parse import urlsplit

from core.recording.recorder import Recording, read_recording
from core.sim.market import MarketConfig, MarketStep, MidPath, SyntheticMarket, VenueProfile, iso_ms
from core.instruments import UnknownInstrument, get_instrument
from core.venues import Venue, get_venue, instrument_for, venue_names
from core.venues.goquant.session import PATH_PREFIX as GOQUANT_PREFIX
from core.venues.okx.protocol import BOOK_CHANNELS, SNAPSHOT_ONLY_CHANNELS
from core.venues.okx.session import inst_id as okx_inst_id

log = logging.getLogger(__name__)

OKX_PATH = urlsplit(get_venue("okx").default_url).path
SOURCE_HEADER = "X-Slipscope-Source"
SYNTHETIC_HEADER = "X-Slipscope-Synthetic"
OKX_CHANNELS = tuple(c for c in BOOK_CHANNELS if c not in SNAPSHOT_ONLY_CHANNELS)


@dataclass(frozen=True)
class ServerConfig:
    goquant_queue: int = 4  # per connection: newest snapshots kept, older dropped
    okx_queue: int = 2000  # per connection: beyond this the client is re-snapshotted
    write_limit: int = 1 << 18  # websockets write buffer high-water mark, bytes
    send_buffer: int | None = None  # SO_SNDBUF per connection (None: the kernel's autotuning)
    max_size: int = 1 << 16  # largest message a client may send (subscribe requests are tiny)
    ping_interval_s: float | None = 20.0
    ping_timeout_s: float | None = 20.0
    max_lag_s: float = 0.5  # a synthetic ticker further behind than this skips ahead


def local_url(venue: Venue, base: str, symbol: str) -> str:
    """Where ``venue`` streams ``symbol`` on a server at ``base`` (``ws://host:port``): its
    public URL's path, as its own ``stream_url`` completes it."""
    return venue.url_at(base, (symbol,))


@dataclass(frozen=True)
class ServerUrls:
    """Where the server listens: per venue served, the URL of each symbol."""

    port: int
    feeds: dict[str, dict[str, str]]  # venue name -> symbol -> websocket URL
    rest: str | None = None  # http://host:port, for venues that take a REST snapshot

    @property
    def goquant(self) -> dict[str, str]:
        return self.feeds.get("goquant", {})

    @property
    def okx(self) -> str | None:
        urls = self.feeds.get("okx")
        return next(iter(urls.values())) if urls else None

    def for_feed(self, feed: str, symbol: str) -> str:
        if feed not in self.feeds:
            raise KeyError(f"this server does not serve {feed!r} (serves {', '.join(self.feeds)})")
        urls = self.feeds[feed]
        if symbol not in urls:
            raise KeyError(f"this server does not serve {symbol!r} (serves {', '.join(urls)})")
        return urls[symbol]

    def lines(self) -> list[str]:
        out = []
        for feed, urls in self.feeds.items():
            distinct = sorted(set(urls.values()))
            if len(distinct) == 1 and len(urls) > 1:
                out.append(f"{feed}: {distinct[0]}")
            else:
                out += [f"{feed} {sym}: {url}" for sym, url in urls.items()]
        return out


# --- sources -------------------------------------------------------------------------------

class SyntheticSource:
    """One seeded synthetic market per instrument, stepped ``rate`` times a second (wall time).

    ``venue`` names the venue whose instruments the symbols are (its data files' specs, e.g.
    ``BTCUSDT`` on ``binance-usdm``) and the only venue served; without it the symbols are OKX's
    instruments and every venue that lists them is served. With ``path_seed`` the markets
    follow the common :class:`MidPath` of that seed with ``profile``'s depth and basis: one
    such source per venue gives venues whose mids move together (``slipscope headless
    --venues``)."""

    synthetic = True

    def __init__(self, inst_ids: tuple[str, ...] | list[str] = ("BTC-USDT-SWAP",), seed: int = 7,
                 rate: float = 10.0, levels: int = 400, venue: str | None = None,
                 path_seed: int | None = None, profile: VenueProfile | None = None) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be positive, not {rate!r}")
        self.inst_ids = tuple(inst_ids)
        self.seed = seed
        self.rate = float(rate)
        self.venue = venue
        served = get_venue(venue) if venue else None
        levels = served.server_levels if served is not None and served.server_levels else levels
        self.markets = {}
        for i, inst_id in enumerate(self.inst_ids):
            inst = instrument_for(venue, inst_id, infer=False) if venue else get_instrument(inst_id)
            if path_seed is None:
                config = MarketConfig.for_spec(inst, rate=self.rate, levels=levels)
                self.markets[inst_id] = SyntheticMarket(seed + i, config, inst)
            else:  # one of several correlated venues: the common mid path, this venue's profile
                config = (profile or VenueProfile()).config(inst, rate=self.rate, levels=levels)
                self.markets[inst_id] = SyntheticMarket(seed + i, config, inst, MidPath(path_seed, self.rate), profile)
        self.last: dict[str, MarketStep] = {inst: m.step() for inst, m in self.markets.items()}
        self.label = f"synthetic market (seed {seed}, {self.rate:g} steps/s)"
        if path_seed is not None:
            self.label = f"synthetic market (seed {path_seed}, {self.rate:g} steps/s, correlated venues)"

    @property
    def feeds(self) -> tuple[str, ...]:
        """The venue served, or every registered venue listing all the symbols (read when the
        server starts: a venue registered before counts)."""
        if self.venue:
            return (self.venue,)
        return tuple(name for name in venue_names() if all(_lists(name, s) for s in self.inst_ids))


def _lists(venue: str, symbol: str) -> bool:
    """Whether ``venue``'s data files list ``symbol``."""
    try:
        instrument_for(venue, symbol, infer=False)
    except UnknownInstrument:
        return False
    return True


class ReplaySource:
    """A recording served to each connection from its start; ``speed`` None = as fast as read."""

    synthetic = False

    def __init__(self, paths: str | Path | list[str | Path], speed: float | None = 1.0, loop: bool = False) -> None:
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be positive, not {speed!r}")
        self.recording: Recording = read_recording(paths if isinstance(paths, list) else [paths])
        header = self.recording.header
        if not header.inst_ids:
            raise ValueError(f"{self.recording.paths[0]}: the recording names no instrument")
        self.speed = speed
        self.loop = loop
        self.inst_ids = header.inst_ids
        self.feeds = (header.feed,)
        self.synthetic = header.synthetic
        pace = "as fast as possible" if speed is None else f"{speed:g}x"
        kind = "synthetic " if header.synthetic else ""
        self.label = f"replay of {kind}recording {self.recording.paths[0].name} at {pace}"


Source = SyntheticSource | ReplaySource


# --- per connection ------------------------------------------------------------------------

_conn_ids = itertools.count(1)


@dataclass(eq=False)
class _Peer:
    ws: ServerConnection
    kind: str  # "goquant", "okx" (their own protocols) or "stream" (any other venue's encoder)
    inst_id: str = ""  # goquant: the symbol of the path
    subs: dict[str, str] = field(default_factory=dict)  # okx: instId -> channel
    need_snapshot: set[str] = field(default_factory=set)
    data: deque = field(default_factory=deque)  # (payload, is_text)
    control: deque = field(default_factory=deque)  # never dropped: pongs, event replies
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    conn_id: str = field(default_factory=lambda: f"{next(_conn_ids):08x}")
    replay_task: asyncio.Task | None = None
    sent: int = 0
    dropped: int = 0
    resnapshots: int = 0
    streams: dict[str, Any] = field(default_factory=dict)  # "stream": symbol -> the venue's SyntheticEncoder
    session: Any = None  # "stream" of a venue that subscribes by message: its server_session


# --- fault injection -----------------------------------------------------------------------

class Faults:
    """Ways to make the feed misbehave on purpose. Call on the server's loop thread (or through
    :attr:`EmbeddedServer.faults`, which marshals the call there)."""

    def __init__(self, server: "FeedServer") -> None:
        self._server = server
        self.skip_updates = 0
        self.bad_checksums = 0
        self.crossed = 0
        self.silent_until = 0.0
        self.paused = False

    def gap(self, count: int = 1) -> None:
        """Withhold the next ``count`` OKX updates: subscribers see a prevSeqId gap."""
        self.skip_updates += count

    def bad_checksum(self, count: int = 1) -> None:
        """Send the next ``count`` OKX updates with a wrong checksum."""
        self.bad_checksums += count

    def crossed_book(self, count: int = 1) -> None:
        """Make the next ``count`` messages cross the book (best bid above best ask)."""
        self.crossed += count

    def garbage(self, count: int = 1, binary: bool = True) -> None:
        """Send ``count`` garbage frames now to every connection (binary noise or non-JSON text)."""
        for i in range(count):
            payload = (b"\x00\xff\xfe garbage " + bytes(range(i % 256)) if binary
                       else b"this is not json {" + str(i).encode())
            self._server._broadcast_raw(payload, is_text=not binary)

    def oversized(self, nbytes: int) -> None:
        """Send one text frame of ``nbytes`` bytes (valid JSON, no book) to every connection."""
        pad = max(0, nbytes - len(b'{"pad":""}'))
        self._server._broadcast_raw(b'{"pad":"' + b"x" * pad + b'"}', is_text=True)

    def silence(self, seconds: float) -> None:
        """Send nothing (and freeze the market) for ``seconds``; connections stay open."""
        self.silent_until = time.monotonic() + seconds

    def pause(self) -> None:
        """Freeze the synthetic market until :meth:`resume` (handy to compare books exactly)."""
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self.silent_until = 0.0

    @property
    def silent(self) -> bool:
        """Nothing but control replies goes out."""
        return time.monotonic() < self.silent_until

    @property
    def frozen(self) -> bool:
        """The market does not move (paused or silent)."""
        return self.paused or self.silent

    def drop_connections(self, abnormal: bool = True) -> int:
        """Cut every connection: abruptly (TCP abort: the client sees 1006) or with close 1011."""
        peers = list(self._server._peers)
        for peer in peers:
            if abnormal:
                peer.ws.transport.abort()
            else:
                self._server._spawn(peer.ws.close(1011, "server-side fault injection"))
        return len(peers)


# --- the server ----------------------------------------------------------------------------

class FeedServer:
    """The websockets server; all of it runs on the event loop that awaited :meth:`start`."""

    def __init__(self, source: Source, host: str = "127.0.0.1", port: int = 0,
                 config: ServerConfig | None = None) -> None:
        self.source = source
        self.host = host
        self.port = port
        self.config = config or ServerConfig()
        self.faults = Faults(self)
        self.urls: ServerUrls | None = None
        self._server: Server | None = None
        self._ticker: asyncio.Task | None = None
        self._peers: set[_Peer] = set()
        self._tasks: set[asyncio.Task] = set()
        self._snapshot_cache: dict[tuple[str, str], tuple[int, bytes]] = {}
        self._paths: dict[str, tuple[Venue, str]] = {}  # websocket path -> (venue, symbol)
        self._rest_paths: dict[str, tuple[Venue, str]] = {}  # REST path?query -> (venue, symbol)
        self._encoders: dict[tuple[str, str], Any] = {}
        self.steps = 0
        self.lagged_steps = 0
        self.connections_total = 0
        self._closed_totals = {"sent": 0, "dropped": 0, "resnapshots": 0}  # of connections gone

    # --- lifecycle -------------------------------------------------------------------
    async def start(self) -> ServerUrls:
        cfg = self.config
        self._server = await serve(
            self._handle, self.host, self.port, process_request=self._route,
            process_response=self._label, compression=None, max_size=cfg.max_size,
            write_limit=cfg.write_limit, ping_interval=cfg.ping_interval_s,
            ping_timeout=cfg.ping_timeout_s, close_timeout=2.0,
        )
        port = self._server.sockets[0].getsockname()[1]
        base = f"ws://{self.host}:{port}"
        self.urls = ServerUrls(port, self._route_venues(base, f"http://{self.host}:{port}"), f"http://{self.host}:{port}")
        if isinstance(self.source, SyntheticSource):
            self._ticker = asyncio.get_running_loop().create_task(self._tick_forever(self.source))
        log.info("feed server on %s (%s)", base, self.source.label)
        return self.urls

    async def stop(self) -> None:
        """Close every connection (1001 going away) and wait for every task of the server to end."""
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stats(self) -> dict[str, Any]:
        """Server-wide counts (connections past and present)."""
        peers = list(self._peers)
        totals = {k: v + sum(getattr(p, k) for p in peers) for k, v in self._closed_totals.items()}
        return {"source": self.source.label, "synthetic": self.source.synthetic, "steps": self.steps,
                "lagged_steps": self.lagged_steps, "connections": len(peers),
                "connections_total": self.connections_total, **totals}

    def peer_stats(self) -> list[dict[str, Any]]:
        """Per open connection: what it was sent, dropped, re-snapshotted, and has queued."""
        return [{"conn_id": p.conn_id, "kind": p.kind, "subs": sorted(p.subs) or sorted(p.streams) or [p.inst_id],
                 "sent": p.sent, "dropped": p.dropped, "resnapshots": p.resnapshots,
                 "queued": len(p.data)} for p in self._peers]

    def book_levels(self, inst_id: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The synthetic market's current book as exact (price, size) strings, best first."""
        source = self._synthetic()
        market, step = source.markets[inst_id], source.last[inst_id]
        return ([(market.px_text(t), market.sz_text(n)) for t, n in step.bids],
                [(market.px_text(t), market.sz_text(n)) for t, n in step.asks])

    def last_seq(self, inst_id: str) -> int:
        """The seqId of the synthetic market's current book."""
        return self._synthetic().last[inst_id].seq

    def _synthetic(self) -> SyntheticSource:
        if not isinstance(self.source, SyntheticSource):
            raise TypeError("only a synthetic source has a current book")
        return self.source

    # --- handshake -------------------------------------------------------------------
    def _route_venues(self, base: str, http_base: str) -> dict[str, dict[str, str]]:
        """Every served venue's URL per symbol; remembers the paths (and REST paths) to answer."""
        feeds: dict[str, dict[str, str]] = {}
        synthetic = isinstance(self.source, SyntheticSource)
        for name in self.source.feeds:
            venue = get_venue(name)
            feeds[name] = {}
            for symbol in self.source.inst_ids:
                url = local_url(venue, base, symbol)
                feeds[name][symbol] = url
                self._paths[urlsplit(url).path.rstrip("/")] = (venue, symbol)
                if venue.rest_snapshot_url is not None and synthetic:
                    rest = urlsplit(venue.rest_snapshot_url(http_base, symbol))
                    self._rest_paths[rest.path + (f"?{rest.query}" if rest.query else "")] = (venue, symbol)
        return feeds

    def _route(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path in self._rest_paths:
            venue, symbol = self._rest_paths[request.path]
            body = self._encoder(venue, symbol).rest_body(self._synthetic().last[symbol])
            response = connection.respond(HTTPStatus.OK, body.decode() if isinstance(body, bytes) else body)
            response.headers["Content-Type"] = "application/json"
            return response
        kind, _ = self._parse_path(request.path)
        if kind is None:
            return connection.respond(HTTPStatus.NOT_FOUND, f"no feed at {request.path}\n")
        return None

    def _encoder(self, venue: Venue, symbol: str) -> Any:
        key = (venue.name, symbol)
        if key not in self._encoders:
            self._encoders[key] = venue.encoder(self._synthetic().markets[symbol])
        return self._encoders[key]

    def _label(self, connection: ServerConnection, request: Request, response: Response) -> Response:
        """Say what this feed is in the handshake, so a client can tell the user it is synthetic."""
        response.headers[SOURCE_HEADER] = self.source.label.encode("ascii", "replace").decode()
        response.headers[SYNTHETIC_HEADER] = "1" if self.source.synthetic else "0"
        return response

    def _parse_path(self, path: str) -> tuple[str | None, str]:
        path = path.split("?", 1)[0].rstrip("/")
        if path == OKX_PATH and "okx" in self.source.feeds:
            return "okx", ""
        if path.startswith(GOQUANT_PREFIX) and "goquant" in self.source.feeds:
            symbol = path[len(GOQUANT_PREFIX):]
            if symbol in self.source.inst_ids:
                return "goquant", symbol
        found = self._paths.get(path)
        if found is not None:
            return "stream", found[1]
        return None, ""

    # --- connections -----------------------------------------------------------------
    async def _handle(self, ws: ServerConnection) -> None:
        kind, symbol = self._parse_path(ws.request.path)
        peer = _Peer(ws, kind or "goquant", symbol)
        if kind == "stream" and isinstance(self.source, SyntheticSource):
            venue = self._venue_of(ws)
            if venue.server_session is not None:  # the client subscribes by message
                peer.session = venue.server_session(self.source.inst_ids, peer.conn_id)
            else:  # the URL named the symbol
                peer.streams[symbol] = self._encoder(venue, symbol)
        if self.config.send_buffer:
            sock = ws.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.config.send_buffer)
        self.connections_total += 1
        self._peers.add(peer)
        sender = self._spawn(self._send_forever(peer))
        try:
            if kind == "okx":
                await self._okx_session(peer)
            elif isinstance(self.source, ReplaySource):  # the recording as it was, REST bodies included
                await self._replay(peer, self.source)
                await ws.close(1000, "end of recording")
            elif kind == "stream":
                await self._stream_session(peer)
            else:
                self._greet_goquant(peer)
                await ws.wait_closed()
        except ConnectionClosed:
            pass
        finally:
            self._peers.discard(peer)
            for key in self._closed_totals:
                self._closed_totals[key] += getattr(peer, key)
            for task in (sender, peer.replay_task):
                if task is not None:
                    task.cancel()

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _send_forever(self, peer: _Peer) -> None:
        """One connection's sender: control frames first, then data; a slow socket only slows this task."""
        ws, control, data = peer.ws, peer.control, peer.data
        try:
            while True:
                await peer.wake.wait()
                peer.wake.clear()
                while control or data:
                    if control:
                        payload, is_text = control.popleft()
                    elif self.faults.silent:
                        break
                    else:
                        payload, is_text = data.popleft()
                    await ws.send(payload, text=is_text)
                    peer.sent += 1
        except ConnectionClosed:
            pass

    def _greet_goquant(self, peer: _Peer) -> None:
        """A new GoQuant connection gets the current book at once, not at the next step."""
        source = self._synthetic()
        if not self.faults.silent:
            market, step = source.markets[peer.inst_id], source.last[peer.inst_id]
            self._push_goquant(peer, market.goquant_message(step))

    def _push_control(self, peer: _Peer, payload: bytes | str) -> None:
        peer.control.append((payload, True))
        peer.wake.set()

    def _push_goquant(self, peer: _Peer, payload: bytes) -> None:
        if len(peer.data) >= self.config.goquant_queue:
            peer.data.popleft()
            peer.dropped += 1
        peer.data.append((payload, True))
        peer.wake.set()

    def _push_okx(self, peer: _Peer, inst_id: str, payload: bytes) -> None:
        if len(peer.data) >= self.config.okx_queue:
            # too far behind to catch up on deltas: forget them and queue a fresh book of each
            # subscription instead (it includes this update); later updates chain from it
            peer.data.clear()
            for inst, channel in peer.subs.items():
                peer.data.append((self._okx_snapshot(inst, channel), True))
            peer.resnapshots += 1
            peer.wake.set()
            return
        peer.data.append((payload, True))
        peer.wake.set()

    def _broadcast_raw(self, payload: bytes, is_text: bool) -> None:
        for peer in self._peers:
            peer.data.append((payload, is_text))
            peer.wake.set()

    # --- any other venue: its encoder's texts -----------------------------------------
    async def _stream_session(self, peer: _Peer) -> None:
        """A venue whose URL subscribes: a snapshot now (unless its snapshot comes over REST),
        then each step's update, what the client sends read and ignored. A venue that subscribes
        by message: its ``server_session`` answers each text (acks, pongs, refusals), and each
        symbol it subscribes gets a snapshot, then updates until unsubscribed."""
        if peer.session is None:
            if self._venue_of(peer.ws).rest_snapshot_url is None and not self.faults.silent:
                self._snapshot_streams(peer)
            async for _ in peer.ws:
                pass
            return
        venue = self._venue_of(peer.ws)
        async for message in peer.ws:
            answer = peer.session.answer(message, int(time.time() * 1000))
            for reply in answer.replies:
                self._push_control(peer, reply)
            for symbol in answer.unsubscribed:
                peer.streams.pop(symbol, None)
            for symbol in answer.subscribed:
                peer.streams[symbol] = encoder = self._encoder(venue, symbol)
                if not self.faults.silent:
                    self._push_stream(peer, encoder.snapshot_text(self._synthetic().last[symbol]))

    def _venue_of(self, ws: ServerConnection) -> Venue:
        return self._paths[ws.request.path.split("?", 1)[0].rstrip("/")][0]

    def _snapshot_streams(self, peer: _Peer) -> None:
        for symbol, encoder in peer.streams.items():
            peer.data.append((encoder.snapshot_text(self._synthetic().last[symbol]), True))
        peer.wake.set()

    def _push_stream(self, peer: _Peer, payload: bytes) -> None:
        """Queue one text; a client too far behind gets fresh snapshots instead of the backlog."""
        if len(peer.data) >= self.config.okx_queue:
            peer.data.clear()
            self._snapshot_streams(peer)
            peer.resnapshots += 1
            return
        peer.data.append((payload, True))
        peer.wake.set()

    # --- OKX protocol ----------------------------------------------------------------
    async def _okx_session(self, peer: _Peer) -> None:
        async for message in peer.ws:
            if message == "ping":
                self._push_control(peer, "pong")
                continue
            try:
                request = orjson.loads(message)
                op, args = request["op"], request["args"]
                if op not in ("subscribe", "unsubscribe") or not isinstance(args, list) or not args:
                    raise ValueError
                pairs = [(a["channel"], a["instId"]) for a in args]
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                self._okx_error(peer, "60012", f"Invalid request: {str(message)[:200]}")
                continue
            for channel, inst_id in pairs:
                if channel not in OKX_CHANNELS or inst_id not in self.source.inst_ids:
                    self._okx_error(peer, "60018", f"Wrong URL or channel:{channel},instId:{inst_id} doesn't exist")
                    continue
                arg = {"channel": channel, "instId": inst_id}
                self._push_control(peer, orjson.dumps({"event": op, "arg": arg, "connId": peer.conn_id}))
                if op == "subscribe":
                    self._subscribe(peer, inst_id, channel)
                else:
                    self._unsubscribe(peer, inst_id)

    def _okx_error(self, peer: _Peer, code: str, msg: str) -> None:
        self._push_control(peer, orjson.dumps({"event": "error", "code": code, "msg": msg,
                                               "connId": peer.conn_id}))

    def _subscribe(self, peer: _Peer, inst_id: str, channel: str) -> None:
        peer.subs[inst_id] = channel
        if isinstance(self.source, ReplaySource):
            if peer.replay_task is None:
                peer.replay_task = self._spawn(self._replay_then_close(peer, self.source))
            return
        # a fresh book now (of the current step: updates of later steps chain from its seqId)
        _drop_queued(peer, inst_id)
        peer.need_snapshot.discard(inst_id)
        if self.faults.silent:
            peer.need_snapshot.add(inst_id)
        else:
            peer.data.append((self._okx_snapshot(inst_id, channel), True))
            peer.wake.set()

    def _unsubscribe(self, peer: _Peer, inst_id: str) -> None:
        peer.subs.pop(inst_id, None)
        peer.need_snapshot.discard(inst_id)
        _drop_queued(peer, inst_id)

    def _okx_snapshot(self, inst_id: str, channel: str) -> bytes:
        """The current step as a snapshot, rendered once per step however many clients ask."""
        source = self._synthetic()
        step = source.last[inst_id]
        cached = self._snapshot_cache.get((inst_id, channel))
        if cached is None or cached[0] != step.seq:
            cached = (step.seq, source.markets[inst_id].okx_snapshot(step, channel))
            self._snapshot_cache[(inst_id, channel)] = cached
        return cached[1]

    # --- synthetic broadcast ---------------------------------------------------------
    async def _tick_forever(self, source: SyntheticSource) -> None:
        """Step every market ``rate`` times a second on average, catching up in small bursts."""
        loop = asyncio.get_running_loop()
        period = 1.0 / source.rate
        max_lag = max(1, int(self.config.max_lag_s * source.rate))
        start, done = loop.time(), 0
        while True:
            if self.faults.frozen:
                await asyncio.sleep(min(0.02, period))
                start = loop.time() - done * period  # resume in step, without a burst
                continue
            due = int((loop.time() - start) * source.rate) - done
            if due > max_lag:  # fell far behind (a stalled machine): skip ahead, don't flood
                self.lagged_steps += due - 1
                start += (due - 1) * period
                due = 1
            for i in range(due):
                self._step(source)
                done += 1
                if i + 1 < due:
                    await asyncio.sleep(0)  # let senders run between steps of a burst
            await asyncio.sleep(max(0.0, start + (done + 1) * period - loop.time()))

    def _step(self, source: SyntheticSource) -> None:
        self.steps += 1
        faults = self.faults
        for inst_id, market in source.markets.items():
            step = market.step()
            source.last[inst_id] = step
            crossed = faults.crossed > 0
            if crossed:
                faults.crossed -= 1
            goquant = None
            for peer in self._peers:
                if peer.kind == "goquant" and peer.inst_id == inst_id:
                    if goquant is None:
                        goquant = _crossed_goquant(market, step) if crossed else market.goquant_message(step)
                    self._push_goquant(peer, goquant)
            self._broadcast_okx(inst_id, market, step, crossed)
            rendered: dict[int, bytes] = {}  # one rendering per encoder (venue, symbol) and step
            for peer in self._peers:
                encoder = peer.streams.get(inst_id) if peer.kind == "stream" else None
                if encoder is not None:
                    if id(encoder) not in rendered:
                        rendered[id(encoder)] = encoder.update_text(step)
                    self._push_stream(peer, rendered[id(encoder)])

    def _broadcast_okx(self, inst_id: str, market: SyntheticMarket, step: MarketStep, crossed: bool) -> None:
        peers = [p for p in self._peers if p.kind == "okx" and inst_id in p.subs]
        if not peers:
            return
        faults = self.faults
        if faults.skip_updates > 0:
            faults.skip_updates -= 1
            peers = [p for p in peers if inst_id in p.need_snapshot]  # they get a snapshot anyway
        bad = faults.bad_checksums > 0
        if bad:
            faults.bad_checksums -= 1
        rendered: dict[str, bytes] = {}
        for peer in peers:
            channel = peer.subs[inst_id]
            if inst_id in peer.need_snapshot:
                peer.need_snapshot.discard(inst_id)
                peer.data.append((self._okx_snapshot(inst_id, channel), True))
                peer.wake.set()
                continue
            update = rendered.get(channel)
            if update is None:
                update = market.okx_update(step, channel)
                if bad:
                    update = _with_wrong_checksum(update)
                if crossed:
                    update = _crossing_update(update, market, step)
                rendered[channel] = update
            self._push_okx(peer, inst_id, update)

    # --- replay ----------------------------------------------------------------------
    async def _replay_then_close(self, peer: _Peer, source: ReplaySource) -> None:
        try:
            await self._replay(peer, source)
            await peer.ws.close(1000, "end of recording")
        except ConnectionClosed:
            pass

    async def _replay(self, peer: _Peer, source: ReplaySource) -> None:
        """This connection's own pass (or passes) over the recording, paced by its timestamps."""
        okx = peer.kind == "okx"
        loop = asyncio.get_running_loop()
        while True:
            first_t: int | None = None
            started = loop.time()
            for n, frame in enumerate(source.recording.frames()):
                raw = frame.raw
                if okx:
                    head = raw[:32] if isinstance(raw, str) else raw[:32].decode("utf-8", "replace")
                    if '"event"' in head:
                        continue  # recorded acknowledgements: this server makes its own
                    inst = okx_inst_id(raw)
                    if inst is not None and inst not in peer.subs:
                        continue
                while self.faults.frozen:
                    await asyncio.sleep(0.02)
                if source.speed is not None:
                    first_t = frame.t_ns if first_t is None else first_t
                    delay = started + (frame.t_ns - first_t) / 1e9 / source.speed - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                elif n % 64 == 63:
                    await asyncio.sleep(0)  # as fast as possible, but let others breathe
                is_text = isinstance(raw, str)
                await peer.ws.send(raw if is_text else bytes(raw), text=is_text)
                peer.sent += 1
            if not source.loop:
                return
            log.info("replay of %s: looping", source.recording.paths[0])


def _drop_queued(peer: _Peer, inst_id: str) -> None:
    """Forget queued data of one instrument (in place: the sender holds the same deque)."""
    keep = [item for item in peer.data if okx_inst_id(item[0]) != inst_id]
    peer.data.clear()
    peer.data.extend(keep)


# --- crafted bad messages ------------------------------------------------------------------

def _crossed_goquant(market: SyntheticMarket, step: MarketStep) -> bytes:
    """A GoQuant snapshot whose best bid sits one tick above the best ask."""
    bids = list(step.bids)
    bids[0] = (step.asks[0][0] + 1, bids[0][1])
    return orjson.dumps({
        "timestamp": iso_ms(step.ts_ms), "exchange": market.instrument.exchange,
        "symbol": market.instrument.inst_id, "asks": market.levels_text(step.asks),
        "bids": market.levels_text(bids),
    })


def _with_wrong_checksum(update: bytes) -> bytes:
    obj = orjson.loads(update)
    data = obj["data"][0]
    data["checksum"] = (data["checksum"] or 0) + 1 or 2
    return orjson.dumps(obj)


def _crossing_update(update: bytes, market: SyntheticMarket, step: MarketStep) -> bytes:
    """The step's update plus a bid one tick above the best ask: applied, it would cross."""
    obj = orjson.loads(update)
    data = obj["data"][0]
    tick = step.asks[0][0] + 1
    data["bids"] = [[market.px_text(tick), "1", "0", "1"]] + [b for b in data["bids"] if b[0] != market.px_text(tick)]
    return orjson.dumps(obj)


# --- a server on its own thread ------------------------------------------------------------

class _LoopProxy:
    """Calls methods of an object living on another thread's event loop, waiting for the result."""

    def __init__(self, target: Any, runner: Callable[..., Any]) -> None:
        self._target = target
        self._runner = runner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return self._runner(lambda: getattr(self._target, name))
        return lambda *args, **kwargs: self._runner(lambda: attr(*args, **kwargs))


class EmbeddedServer:
    """A :class:`FeedServer` on a background thread with its own event loop.

    ``start()`` returns the URLs once the socket listens (or raises why it could not);
    ``stop()`` closes every connection and joins the thread. Everything else that touches the
    server goes through :meth:`call` (or the :attr:`faults` proxy), which runs on its loop.
    """

    def __init__(self, source: Source, host: str = "127.0.0.1", port: int = 0,
                 config: ServerConfig | None = None, name: str = "slipscope-feed-server") -> None:
        self.server = FeedServer(source, host, port, config)
        self._name = name
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop_event: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def urls(self) -> ServerUrls:
        if self.server.urls is None:
            raise RuntimeError("the server has not started")
        return self.server.urls

    @property
    def source(self) -> Source:
        return self.server.source

    @property
    def faults(self) -> Faults:
        return _LoopProxy(self.server.faults, self.call)  # type: ignore[return-value]

    def start(self, timeout: float = 10.0) -> ServerUrls:
        if self._thread is not None:
            raise RuntimeError("already started")
        self._thread = threading.Thread(target=self._main, name=self._name, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the feed server did not start in time")
        if self._error is not None:
            self._thread.join(timeout)
            raise self._error
        return self.urls

    def stop(self, timeout: float = 10.0) -> None:
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None and self._stop_event is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._stop_event.set)
            except RuntimeError:  # the loop closed meanwhile
                pass
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError("the feed server thread did not stop")
        self._thread = None

    def call(self, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Run ``fn()`` on the server's loop and return its result (or raise its exception)."""
        if self._loop is None:
            raise RuntimeError("the server has not started")

        async def run() -> Any:
            return fn()
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def __enter__(self) -> "EmbeddedServer":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _main(self) -> None:
        # a plain selector loop, whatever event-loop policy the host process installed (qasync)
        loop = asyncio.SelectorEventLoop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stop_event = asyncio.Event()
        try:
            await self.server.start()
        except BaseException as exc:  # noqa: BLE001 - handed to start()'s caller
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop_event.wait()
        finally:
            await self.server.stop()
