"""Wiring shared by headless, record and (later) the GUI: where to connect, and who drains.

:func:`open_endpoint` resolves a :class:`FeedSpec` to a URL. With no URL it starts the
embedded synthetic server on its own thread and connects to it over a real socket, so the
offline demo takes exactly the code path of a remote feed.

Two ways to drain a :class:`FeedPipeline`:

- :class:`LoopDrainer` (headless default): the client hands each frame of a socket read to
  :meth:`LoopDrainer.push` from inside the websockets protocol and then calls
  :meth:`LoopDrainer.flush`, which drains at once: one evaluation per read (however many frames
  it held), no task wake-up, no loop round trip, no thread hop between receipt and estimate.
  A push that no flush follows (fragmented messages, other producers) is drained by a
  ``loop.call_soon`` scheduled on the first push of a burst.
- :class:`ThreadDrainer` (what a GUI does): a worker thread waits on the pipeline and drains,
  keeping decode and evaluation off the loop; the GIL and thread wake-up add latency.
"""
from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Callable

from core.feed.pipeline import FeedPipeline
from core.sim.server import EmbeddedServer, SyntheticSource
from core.params import OrderParams
from core.snapshot import Snapshot
from core.venues import DEFAULT_VENUE

SnapshotCallback = Callable[[Snapshot], None]


@dataclass(frozen=True)
class FeedSpec:
    feed: str = DEFAULT_VENUE  # a venue's name (core.venues)
    url: str | None = None  # None: the embedded synthetic server
    symbol: str = "BTC-USDT-SWAP"
    channel: str = "books"
    seed: int = 7  # embedded server only
    rate: float = 10.0  # embedded server only: steps per second
    rest_url: str | None = None  # REST base of a venue with a REST snapshot (None: the embedded server's or public)


@dataclass
class Endpoint:
    url: str
    server: EmbeddedServer | None  # the embedded server we started, if any
    source: str  # what the user is told the feed is
    synthetic: bool
    rest_url: str | None = None  # where the venue's REST snapshot is fetched (None: its public default)

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


def open_endpoint(spec: FeedSpec, source: SyntheticSource | None = None) -> Endpoint:
    """The URL for ``spec``; starts (and hands back) the embedded server when ``spec.url`` is None,
    serving ``source`` when given (several correlated venues), else the spec's own market."""
    if spec.url is not None:
        return Endpoint(spec.url, None, spec.url, False, spec.rest_url)
    server = EmbeddedServer(source or SyntheticSource((spec.symbol,), seed=spec.seed, rate=spec.rate, venue=spec.feed))
    urls = server.start()
    label = f"{server.source.label}, embedded"
    return Endpoint(urls.for_feed(spec.feed, spec.symbol), server, label, True, spec.rest_url or urls.rest)


class LoopDrainer:
    """Drains on the event loop, once per burst of frames: use :meth:`push` as the client's
    sink and :meth:`flush` as its ``on_burst``."""

    def __init__(self, pipeline: FeedPipeline, params: OrderParams | None = None,
                 on_snapshot: SnapshotCallback | None = None) -> None:
        self.pipeline = pipeline
        self.params = params
        self.on_snapshot = on_snapshot
        self.last: Snapshot | None = None
        self.drains = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduled = False

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()

    def push(self, raw: bytes | str, recv_ns: int) -> None:
        """Take a frame; a drain is scheduled with ``call_soon`` in case no :meth:`flush`
        follows (a producer without bursts); after a flush it finds nothing and does nothing."""
        self.pipeline.append(raw, recv_ns)
        if not self._scheduled:
            self._scheduled = True
            if self._loop is None:
                self._loop = asyncio.get_running_loop()
            self._loop.call_soon(self._scheduled_drain)

    def flush(self) -> None:
        """The producer's burst is in (one socket read): drain now, no loop round trip."""
        if self.pipeline.pending():
            self.drain()

    def _scheduled_drain(self) -> None:
        self._scheduled = False
        if self.pipeline.pending():
            self.drain()

    def drain(self) -> Snapshot | None:
        self.drains += 1
        snap = self.pipeline.drain(self.params)
        if snap is not None:
            self.last = snap
            if self.on_snapshot is not None:
                self.on_snapshot(snap)
        return snap

    def stop(self) -> None:
        self.drain()  # whatever arrived last


class ThreadDrainer:
    """Drains on a worker thread woken by the pipeline; ``push`` is the pipeline's own."""

    def __init__(self, pipeline: FeedPipeline, params: OrderParams | None = None,
                 on_snapshot: SnapshotCallback | None = None) -> None:
        self.pipeline = pipeline
        self.params = params
        self.on_snapshot = on_snapshot
        self.last: Snapshot | None = None
        self.drains = 0
        self.push = pipeline.push
        self._stop = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="slipscope-drain", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            if self.pipeline.wait(0.25) or self.pipeline.pending():
                self.drain()

    def drain(self) -> Snapshot | None:
        self.drains += 1
        snap = self.pipeline.drain(self.params)
        if snap is not None:
            self.last = snap
            if self.on_snapshot is not None:
                self.on_snapshot(snap)
        return snap

    def stop(self) -> None:
        self._stop = True
        self.pipeline.poke()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
        self.drain()
