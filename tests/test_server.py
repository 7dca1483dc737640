"""The embedded feed server and the feed client, for real, over 127.0.0.1.

Each test starts an :class:`EmbeddedServer` (its own thread and loop) and connects a real
:class:`FeedClient` feeding a real Engine; faults are injected through the server's public
hooks. No test leaves a thread or a task behind.
"""
from __future__ import annotations

import asyncio
import socket

import orjson
import pytest
from websockets.asyncio.client import connect

from core.feed.client import ClientConfig
from core.sim.server import EmbeddedServer, ServerConfig, SyntheticSource
from tests.feed_support import FAST, SYMBOL, Harness, book_equals_server, no_thread_leaks, run_async, settle_on_server_book  # noqa: F401

pytestmark = pytest.mark.usefixtures("no_thread_leaks")


def server(rate: float = 100.0, config: ServerConfig | None = None, port: int = 0, seed: int = 7) -> EmbeddedServer:
    s = EmbeddedServer(SyntheticSource((SYMBOL,), seed=seed, rate=rate), port=port, config=config)
    s.start()
    return s


@pytest.mark.parametrize("feed", ["goquant", "okx"])
def test_streams_exact_books_in_both_formats(feed):
    srv = server(rate=100)

    async def main():
        h = await Harness(srv.urls.for_feed(feed, SYMBOL), feed).start()
        try:
            await h.wait_for(lambda: h.engine.applied >= 20, what="20 books")
            await settle_on_server_book(h, srv)
            assert h.rejected == {}
            assert h.client.state == "live" and h.client.synthetic
            assert "synthetic" in h.client.source
            if feed == "okx":
                counters = h.engine.counters()
                assert counters["checksums_verified"] >= 20  # real checksums, verified
                assert counters["control_frames"] >= 1  # the subscribe acknowledgement
        finally:
            await h.stop()
        assert h.client.state == "stopped"
        assert h.states[:2] == ["connecting", "live"]

    try:
        run_async(main)
    finally:
        srv.stop()


def test_okx_protocol_pong_errors_and_unsubscribe():
    srv = server(rate=50)

    async def main():
        async with connect(srv.urls.okx, proxy=None) as ws:
            await ws.send("ping")
            assert await ws.recv() == "pong"
            await ws.send("{not json")
            err = orjson.loads(await ws.recv())
            assert err["event"] == "error" and err["code"] == "60012"
            await ws.send(orjson.dumps({"op": "subscribe", "args": [{"channel": "books", "instId": "NOPE-USDT"}]}).decode())
            err = orjson.loads(await ws.recv())
            assert err["event"] == "error" and err["code"] == "60018"
            await ws.send(orjson.dumps({"op": "subscribe", "args": [{"channel": "books", "instId": SYMBOL}]}).decode())
            ack = orjson.loads(await ws.recv())
            assert ack == {"event": "subscribe", "arg": {"channel": "books", "instId": SYMBOL}, "connId": ack["connId"]}
            snap = orjson.loads(await ws.recv())
            assert snap["action"] == "snapshot" and snap["data"][0]["prevSeqId"] == -1
            update = orjson.loads(await ws.recv())
            assert update["action"] == "update"
            assert update["data"][0]["prevSeqId"] == snap["data"][0]["seqId"]
            await ws.send(orjson.dumps({"op": "unsubscribe", "args": [{"channel": "books", "instId": SYMBOL}]}).decode())
            while (msg := orjson.loads(await ws.recv())).get("event") != "unsubscribe":
                assert msg["action"] == "update"  # already on its way
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.3)  # nothing after the unsubscribe

    try:
        run_async(main)
    finally:
        srv.stop()


def test_unknown_path_is_refused_and_client_keeps_retrying():
    srv = server(rate=10)

    async def main():
        url = srv.urls.goquant[SYMBOL].replace(SYMBOL, "ETH-USDT-SWAP")
        h = await Harness(url, "goquant", symbol="ETH-USDT-SWAP").start()
        try:
            await h.wait_for(lambda: h.client.errors >= 2 and h.client.reconnects >= 1, what="refusals")
            assert "HTTP 404" in h.client.detail
            assert h.client.state in ("connecting", "reconnecting")
        finally:
            await h.stop()

    try:
        run_async(main)
    finally:
        srv.stop()


@pytest.mark.parametrize("feed", ["goquant", "okx"])
def test_server_killed_and_restarted_client_resumes(feed):
    srv = server(rate=100)
    port = srv.urls.port

    async def main():
        nonlocal srv
        h = await Harness(srv.urls.for_feed(feed, SYMBOL), feed).start()
        try:
            await h.wait_for(lambda: h.engine.applied >= 5, what="first books")
            srv.faults.drop_connections(abnormal=True)  # as if the process died: no close frame
            srv.stop()
            await h.wait_for(lambda: h.client.state == "reconnecting", what="reconnecting")
            applied_before = h.engine.applied
            await asyncio.sleep(0.3)  # a few failed attempts against nothing
            srv = server(rate=100, port=port, seed=8)  # a different market on the same port
            await h.wait_for(lambda: h.engine.applied >= applied_before + 5, what="books from the new server")
            await settle_on_server_book(h, srv)
            assert h.client.abnormal_closes >= 1 and h.client.reconnects >= 1 and h.client.connects >= 2
            assert h.client.state == "live"
        finally:
            await h.stop()

    try:
        run_async(main)
    finally:
        srv.stop()


@pytest.mark.parametrize("fault,reason", [("gap", "sequence_gap"), ("bad_checksum", "checksum_mismatch"),
                                          ("crossed_book", "crossed_book")])
def test_okx_fault_triggers_resync_and_book_matches_server(fault, reason):
    srv = server(rate=100)

    async def main():
        h = await Harness(srv.urls.okx, "okx").start()
        try:
            await h.wait_for(lambda: h.engine.applied >= 5, what="first books")
            getattr(srv.faults, fault)()
            await h.wait_for(lambda: h.rejected.get(reason, 0) == 1, what=reason)
            await h.wait_for(lambda: h.client.resyncs >= 1 and not h.engine.needs_resync
                             and h.client.state == "live", what="resync")
            await settle_on_server_book(h, srv)
            assert "resyncing" in h.states
            assert set(h.rejected) <= {reason, "out_of_sync"}  # nothing else went wrong
            assert h.client.reconnects == 0  # resubscribed on the same connection
        finally:
            await h.stop()

    try:
        run_async(main)
    finally:
        srv.stop()


@pytest.mark.parametrize("feed", ["goquant", "okx"])
def test_garbage_crossed_and_oversized_are_rejected_and_counted(feed):
    srv = server(rate=50)

    async def main():
        h = await Harness(srv.urls.for_feed(feed, SYMBOL), feed).start()
        try:
            await h.wait_for(lambda: h.engine.applied >= 3, what="first books")
            srv.faults.garbage(3, binary=True)
            srv.faults.garbage(2, binary=False)
            srv.faults.oversized(5 * 1024 * 1024)  # over the decoders' 4 MiB, under the socket's 8 MiB
            srv.faults.crossed_book()
            await h.wait_for(lambda: h.rejected.get("crossed_book") == 1, what="the crossed book")
            applied = h.engine.applied
            await h.wait_for(lambda: h.engine.applied >= applied + 2, what="books after the crossed one")
            await settle_on_server_book(h, srv)
            assert h.rejected["malformed_json"] == 5
            assert h.rejected["oversized_message"] == 1
            assert h.client.reconnects == 0 and h.client.oversized_closes == 0
        finally:
            await h.stop()

    try:
        run_async(main)
    finally:
        srv.stop()


def test_frame_over_the_socket_limit_closes_counts_and_reconnects():
    srv = server(rate=50)
    config = ClientConfig(stale_after_s=2.0, backoff_initial_s=0.05, backoff_max_s=0.2,
                          max_size=256 * 1024)

    async def main():
        h = await Harness(srv.urls.goquant[SYMBOL], "goquant", config=config).start()
        try:
            await h.wait_for(lambda: h.engine.applied >= 3, what="first books")
            srv.faults.oversized(1024 * 1024)
            await h.wait_for(lambda: h.client.oversized_closes == 1, what="the 1009 close")
            applied = h.engine.applied
            await h.wait_for(lambda: h.engine.applied >= applied + 3 and h.client.state == "live",
                             what="books after reconnecting")
            assert h.client.reconnects >= 1 and h.rejected == {}
            await settle_on_server_book(h, srv)
        finally:
            await h.stop()

    try:
        run_async(main)
    finally:
        srv.stop()


@pytest.mark.parametrize("feed", ["goquant", "okx"])
def test_silent_server_goes_stale_and_client_reconnects(feed):
    srv = server(rate=50)
    config = ClientConfig(stale_after_s=0.3, backoff_initial_s=0.05, backoff_max_s=0.2, close_timeout_s=0.5)

    async def main():
        h = await Harness(srv.urls.for_feed(feed, SYMBOL), feed, config=config).start()
        try:
            await h.wait_for(lambda: h.engine.applied >= 3, what="first books")
            srv.faults.silence(1.2)
            await h.wait_for(lambda: h.client.stale_events >= 1, what="stale")
            applied = h.engine.applied
            await h.wait_for(lambda: h.engine.applied > applied + 3 and h.client.state == "live",
                             timeout=6, what="books after the silence")
            assert "stale" in h.states and h.client.reconnects >= 1
            await settle_on_server_book(h, srv)
        finally:
            await h.stop()

    try:
        run_async(main)
    finally:
        srv.stop()


def test_nothing_listening_and_dns_failure_never_kill_the_client():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = ClientConfig(stale_after_s=1.0, backoff_initial_s=0.02, backoff_max_s=0.1, open_timeout_s=2.0)

    async def main():
        refused = Harness(f"ws://127.0.0.1:{port}/ws/l2-orderbook/okx/{SYMBOL}", config=config)
        no_dns = Harness("ws://nonexistent.invalid:9/ws/v5/public", "okx", config=config)
        await refused.start()
        await no_dns.start()
        try:
            for h in (refused, no_dns):
                await h.wait_for(lambda: h.client.errors >= 3 and h.client.reconnects >= 2, what="retries")
                assert not h.client._task.done()
                assert h.engine.received == 0
        finally:
            await refused.stop()
            await no_dns.stop()
        assert refused.client.state == no_dns.client.state == "stopped"

    run_async(main)


def test_okx_subscribe_error_is_visible_in_status_not_a_crash():
    srv = server(rate=20)
    config = ClientConfig(stale_after_s=0.4, backoff_initial_s=0.05, backoff_max_s=0.1)

    async def main():
        h = await Harness(srv.urls.okx, "okx", symbol="ETH-USDT-SWAP", config=config).start()
        try:
            await h.wait_for(lambda: "60018" in h.pipeline.status.detail or "60018" in h.client.detail,
                             what="the error event in the status")
            await h.wait_for(lambda: h.client.stale_events >= 1, what="stale: the subscription delivers nothing")
            assert h.client.events >= 1 and h.client.errors >= 1
            assert h.engine.applied == 0
        finally:
            await h.stop()

    try:
        run_async(main)
    finally:
        srv.stop()


def test_resync_can_be_requested_from_another_thread():
    srv = server(rate=100)

    async def main():
        h = await Harness(srv.urls.okx, "okx").start()
        try:
            await h.wait_for(lambda: h.engine.applied >= 3, what="first books")
            await asyncio.to_thread(h.client.request_resync_threadsafe)
            await h.wait_for(lambda: h.client.resyncs == 1 and h.client.state == "live", what="resync")
            assert h.states[-2:] == ["resyncing", "live"]
            await settle_on_server_book(h, srv)
            assert h.rejected.keys() <= {"out_of_sync"}
        finally:
            await h.stop()

    try:
        run_async(main)
    finally:
        srv.stop()


def _slow_socket(port: int) -> socket.socket:
    """A TCP socket with a tiny receive buffer: a client that reads very slowly."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


@pytest.mark.parametrize("feed", ["goquant", "okx"])
def test_a_slow_client_does_not_stall_the_others(feed):
    # OKX deltas are small: shrink the socket buffers so "slow" shows within a second
    # (the kernel would otherwise absorb them for a long while)
    config = ServerConfig(okx_queue=40, write_limit=16384, send_buffer=8192) if feed == "okx" else None
    srv = server(rate=200, config=config)

    async def main():
        url = srv.urls.for_feed(feed, SYMBOL)
        fast = [await Harness(url, feed).start() for _ in range(2)]
        slow_frames: list = []
        slow = await connect(url, sock=_slow_socket(srv.urls.port), max_queue=1, proxy=None,
                             ping_interval=None, compression=None)
        try:
            if feed == "okx":
                await slow.send(orjson.dumps({"op": "subscribe", "args": [{"channel": "books", "instId": SYMBOL}]}).decode())
            steps0 = srv.call(lambda: srv.server.steps)
            await asyncio.sleep(1.5)  # the slow one reads nothing meanwhile
            steps = srv.call(lambda: srv.server.steps) - steps0
            peers = {p["sent"]: p for p in srv.call(srv.server.peer_stats)}
            laggard = min(peers.values(), key=lambda p: p["sent"])
            for h in fast:
                assert h.engine.received >= 0.8 * steps, (h.engine.received, steps)
            if feed == "goquant":
                # once its socket is full the newest snapshot waits and older ones go (the kernel
                # buffers the first second or so, hence not more)
                assert laggard["dropped"] >= 0.2 * steps
            else:
                assert laggard["resnapshots"] >= 1  # fell behind: queue dropped, fresh book next
            # the slow client reads at last: an Engine fed its frames ends on the exact book
            from core.engine import Engine
            from core.instruments import get_instrument
            engine = Engine(get_instrument(SYMBOL), feed)
            srv.faults.pause()
            await asyncio.sleep(0.1)
            while True:
                try:
                    frame = await asyncio.wait_for(slow.recv(), 1.0)
                except asyncio.TimeoutError:
                    break
                slow_frames.append(frame)
                engine.ingest(frame)
            assert book_equals_server(engine, srv)
            assert set(engine.rejections) <= {"out_of_sync"} and not engine.needs_resync
            for h in fast:
                await settle_on_server_book(h, srv)
                assert h.rejected == {}
        finally:
            await slow.close()
            for h in fast:
                await h.stop()

    try:
        run_async(main, timeout=40)
    finally:
        srv.stop()


def test_okx_text_pings_are_answered_and_not_counted_as_data():
    srv = server(rate=20)
    config = ClientConfig(stale_after_s=2.0, backoff_initial_s=0.05, app_ping_s=0.1)

    async def main():
        h = await Harness(srv.urls.okx, "okx", config=config).start()
        try:
            # pongs never reach the decoder: the engine sees exactly the client's data frames
            await h.wait_for(lambda: h.client.pongs >= 3 and h.engine.received == h.client.received,
                             what="three pongs")
            assert h.rejected == {}
        finally:
            await h.stop()

    try:
        run_async(main)
    finally:
        srv.stop()
