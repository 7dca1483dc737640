"""Helpers for the feed tests: a real client + Engine on loopback, and leak checks.

Nothing here stands in for the socket: :class:`Harness` is a :class:`FeedClient` connected to
a real server, feeding a real Engine through a real :class:`FeedPipeline`.
"""
from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Awaitable, Callable

import numpy as np
import pytest

from core.engine import Engine, EngineConfig
from core.feed.client import ClientConfig, FeedClient
from core.feed.pipeline import FeedPipeline, FeedStatus
from core.sim.server import EmbeddedServer
from core.feed.session import LoopDrainer
from core.instruments import get_instrument

SYMBOL = "BTC-USDT-SWAP"
FAST = ClientConfig(stale_after_s=2.0, backoff_initial_s=0.05, backoff_max_s=0.3, close_timeout_s=1.0)


def run_async(main: Callable[[], Awaitable[Any]], timeout: float = 30.0) -> Any:
    """Run ``main()`` on a fresh loop; fail if it leaves any task behind."""
    async def wrapper() -> Any:
        result = await asyncio.wait_for(main(), timeout)
        await asyncio.sleep(0)
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert not left, f"tasks left running: {left}"
        return result
    return asyncio.run(wrapper())


@pytest.fixture
def no_thread_leaks():
    """Every thread a test starts (embedded servers, drainers) must be gone when it ends."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra:
            return
        time.sleep(0.05)
    raise AssertionError(f"threads left running: {extra}")


class Harness:
    """FeedClient -> FeedPipeline -> Engine, drained on the loop once per burst of frames."""

    def __init__(self, url: str, feed: str = "goquant", symbol: str = SYMBOL,
                 config: ClientConfig = FAST, engine_config: EngineConfig | None = None,
                 on_frame: Callable[[Any, int], None] | None = None) -> None:
        self.engine = Engine(get_instrument(symbol), feed, config=engine_config)
        self.pipeline = FeedPipeline(self.engine, resync_retry_s=0.5)
        self.drainer = LoopDrainer(self.pipeline)
        self.states: list[str] = []
        self.on_frame = on_frame
        self.client = FeedClient(url, self._sink, self._status, feed=feed, inst_ids=(symbol,), config=config)
        self.pipeline.request_resync = self.client.request_resync_threadsafe

    def _sink(self, raw: Any, recv_ns: int) -> None:
        if self.on_frame is not None:
            self.on_frame(raw, recv_ns)
        self.drainer.push(raw, recv_ns)

    def _status(self, status: FeedStatus) -> None:
        if not self.states or self.states[-1] != status.state:
            self.states.append(status.state)
        self.pipeline.set_status(status)

    async def start(self) -> "Harness":
        self.drainer.start()
        self.client.start()
        return self

    async def stop(self) -> None:
        await self.client.stop()
        self.drainer.stop()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 8.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or predicate}: "
                                     f"engine {self.engine.counters()}, client {self.client.counters()}, "
                                     f"states {self.states}, detail {self.client.detail!r}")
            await asyncio.sleep(0.01)

    @property
    def rejected(self) -> dict[str, int]:
        return dict(self.engine.rejections)


def book_equals_server(engine: Engine, server: EmbeddedServer, symbol: str = SYMBOL) -> bool:
    """The engine's book is exactly the server's current synthetic book (every level)."""
    bids, asks = server.call(lambda: server.server.book_levels(symbol))
    book = engine.book
    return (np.array_equal(book.bid_px, [float(p) for p, _ in bids])
            and np.array_equal(book.bid_sz, [float(s) for _, s in bids])
            and np.array_equal(book.ask_px, [float(p) for p, _ in asks])
            and np.array_equal(book.ask_sz, [float(s) for _, s in asks]))


async def settle_on_server_book(h: Harness, server: EmbeddedServer, symbol: str = SYMBOL) -> None:
    """Freeze the market, let everything in flight arrive, then demand the exact same book."""
    server.faults.pause()
    await h.wait_for(lambda: h.engine.has_book and not h.engine.needs_resync
                     and book_equals_server(h.engine, server, symbol),
                     what="the server's current book")
    assert book_equals_server(h.engine, server, symbol)
