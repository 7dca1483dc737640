"""The Bybit protocol end to end over a real websocket on 127.0.0.1: a small server built from
the adapter's server-side pieces (BybitServerSession + BybitEncoder), and a client that speaks
only through the venue entry (subscribe, resync, app ping) into a BybitFeed. A withheld delta
must be noticed, resynced, and the client must end on the server's exact book."""
from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from core import errors
from core.book.order_book import OrderBook
from core.venues.bybit.sync import BybitFeed
from core.venues.bybit.synthetic import BybitServerSession
from tests.bybit_support import expected_levels, synthetic_market
from core.venues.bybit.venue import by_name

STEP_S = 0.004


class LoopbackBybit:
    """One market stepped every STEP_S; each connection gets Bybit's answers and pushes."""

    def __init__(self, category: str, symbol: str) -> None:
        self.category, self.symbol = category, symbol
        self.market = synthetic_market(category, symbol, seed=21)
        self.encoder = by_name(f"bybit-{category}").encoder(self.market)
        self.step = self.market.step()
        self.withhold = 0  # deltas not sent (a gap the client must notice)
        self.frozen = False
        self.queues: list[tuple[BybitServerSession, asyncio.Queue]] = []

    async def handler(self, ws) -> None:
        session = BybitServerSession(self.category, (self.symbol,), self.encoder.depth, conn_id=f"c{len(self.queues)}")
        queue: asyncio.Queue = asyncio.Queue()
        self.queues.append((session, queue))
        sender = asyncio.create_task(self._send(ws, queue))
        try:
            async for text in ws:
                answer = session.answer(text, self.step.ts_ms)
                for reply in answer.replies:
                    queue.put_nowait(reply)
                for _ in answer.subscribed:
                    queue.put_nowait(self.encoder.snapshot_text(self.step))
        except ConnectionClosed:
            pass
        finally:
            sender.cancel()

    @staticmethod
    async def _send(ws, queue: asyncio.Queue) -> None:
        while True:
            await ws.send((await queue.get()).decode())

    async def run(self) -> None:
        while True:
            await asyncio.sleep(STEP_S)
            if self.frozen:
                continue
            self.step = self.market.step()
            delta = self.encoder.update_text(self.step)
            if self.withhold > 0:
                self.withhold -= 1
                continue
            for session, queue in self.queues:
                if session.topics:
                    queue.put_nowait(delta)


@pytest.mark.parametrize("name", ["bybit-linear", "bybit-spot"])
def test_subscribe_gap_resync_and_ping_over_a_real_socket(name):
    venue = by_name(name)
    category = name.removeprefix("bybit-")

    async def main():
        server = LoopbackBybit(category, "BTCUSDT")
        stepper = asyncio.create_task(server.run())
        async with serve(server.handler, "127.0.0.1", 0) as ws_server:
            port = ws_server.sockets[0].getsockname()[1]
            book = OrderBook()
            feed = BybitFeed("BTCUSDT", book)
            rejected: list[str] = []
            resyncs = 0
            gap_made = False
            async with connect(venue.stream_url(f"ws://127.0.0.1:{port}", ("BTCUSDT",)), proxy=None) as ws:
                for text in venue.subscribe(("BTCUSDT",)):
                    await ws.send(text)
                await ws.send(venue.app_ping[1])
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 20.0
                applied = 0
                while loop.time() < deadline:
                    raw = await asyncio.wait_for(ws.recv(), 5.0)
                    try:
                        applied += feed.apply(raw)
                    except errors.FeedError as exc:
                        rejected.append(exc.reason)
                        if exc.reason == "sequence_gap":  # as the client does: ask once per break
                            resyncs += 1
                            for text in venue.resync(("BTCUSDT",)):
                                await ws.send(text)
                    if applied >= 30 and not gap_made:
                        server.withhold, gap_made = 1, True
                    if resyncs and not feed.needs_resync and applied > 80:
                        break
                server.frozen = True
                await asyncio.sleep(0.05)
                while True:  # drain what is on its way, then compare
                    try:
                        feed.apply(await asyncio.wait_for(ws.recv(), 0.3))
                    except asyncio.TimeoutError:
                        break
                    except errors.FeedError as exc:
                        rejected.append(exc.reason)
        stepper.cancel()
        assert resyncs == 1 and rejected[0] == "sequence_gap"
        assert set(rejected) <= {"sequence_gap", "out_of_sync"}  # deltas in flight before the fresh snapshot
        assert feed.control >= 4  # subscribe ack, pong, unsubscribe ack, subscribe ack
        assert feed.sync.snapshots == 2 and not feed.needs_resync
        want = expected_levels(server.market, server.step.bids), expected_levels(server.market, server.step.asks)
        assert (list(zip(book.bid_px.tolist(), book.bid_sz.tolist())),
                list(zip(book.ask_px.tolist(), book.ask_sz.tolist()))) == want

    asyncio.run(main())
