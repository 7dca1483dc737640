"""The client's receive path: whole frames handed on from the socket read itself, stamped there,
one ``on_burst`` per read; fragmented messages and bad UTF-8 still take websockets' own path."""
from __future__ import annotations

import asyncio
import threading

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import serve

from core.feed.client import ClientConfig, FeedClient
from tests.feed_support import no_thread_leaks, run_async  # noqa: F401 (fixture)

CONFIG = ClientConfig(stale_after_s=5.0, backoff_initial_s=0.05, backoff_max_s=0.3, close_timeout_s=1.0)


class _Server:
    """A websockets server on its own thread running ``script(ws)`` for each connection."""

    def __init__(self, script) -> None:
        self._server = serve(script, "127.0.0.1", 0, compression=None)
        self.url = f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/ws/l2-orderbook/okx/BTC-USDT-SWAP"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "_Server":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._thread.join(5.0)


def _until_closed(ws) -> None:
    try:
        ws.recv()
    except ConnectionClosed:
        pass


def test_frames_of_one_read_share_its_stamp_and_one_burst_and_fragments_keep_their_order(no_thread_leaks):
    go_on = threading.Event()

    def script(ws):
        ws.send("a")
        go_on.wait(5.0)  # the client's loop is blocked now: "c" and "d" arrive in one read
        ws.send("c")
        ws.send("d")
        ws.send(["f1", "f2"])  # a fragmented message: websockets' recv reassembles it
        ws.send("e")
        _until_closed(ws)

    got: list[tuple[str, int, int]] = []
    bursts = [0]

    def sink(raw, recv_ns):
        got.append((raw, recv_ns, bursts[0]))
        if raw == "a":
            go_on.set()
            threading.Event().wait(0.3)  # block the loop while the server sends

    def burst():
        bursts[0] += 1

    async def main():
        with _Server(script) as server:
            client = FeedClient(server.url, sink, feed="goquant", config=CONFIG, on_burst=burst)
            client.start()
            for _ in range(500):
                if len(got) == 5:
                    break
                await asyncio.sleep(0.01)
            await client.stop()
            return client

    client = run_async(main)
    assert [m for m, _, _ in got] == ["a", "c", "d", "f1f2", "e"]
    (_, t_a, b_a), (_, t_c, b_c), (_, t_d, b_d), _, (_, t_e, _) = got
    assert t_c == t_d and b_c == b_d  # one socket read: one stamp, handed on before its burst ended
    assert t_a < t_c and t_d <= t_e
    assert bursts[0] > b_d  # ... and the burst ended after them
    assert client.received == 5 and client.errors == 0


def test_invalid_utf8_text_still_fails_the_connection_with_1007(no_thread_leaks):
    def script(ws):
        with ws.send_context():
            ws.protocol.send_text(b"\xff\xfe not utf-8")
        _until_closed(ws)

    got = []

    async def main():
        with _Server(script) as server:
            client = FeedClient(server.url, lambda raw, ns: got.append(raw), feed="goquant", config=CONFIG)
            client.start()
            for _ in range(300):
                if client.abnormal_closes:
                    break
                await asyncio.sleep(0.01)
            await client.stop()
            return client

    client = run_async(main)
    assert got == [] and client.abnormal_closes >= 1 and "1007" in client.detail


def test_without_the_internals_every_frame_takes_the_stock_path(no_thread_leaks, monkeypatch):
    """A websockets release without the internals the direct path reads: the same frames, in
    order, through websockets' own recv (no burst callback, nothing lost)."""
    from core.feed import client as client_module

    monkeypatch.setattr(client_module._DirectConnection, "supports_direct", lambda self: False)

    def script(ws):
        for text in ("a", "b", ["f1", "f2"], "c"):
            ws.send(text)
        _until_closed(ws)

    got: list[str] = []
    bursts = [0]

    async def main():
        with _Server(script) as server:
            client = FeedClient(server.url, lambda raw, ns: got.append(raw), feed="goquant", config=CONFIG,
                                on_burst=lambda: bursts.__setitem__(0, bursts[0] + 1))
            client.start()
            for _ in range(500):
                if len(got) == 4:
                    break
                await asyncio.sleep(0.01)
            await client.stop()
            return client

    client = run_async(main)
    assert got == ["a", "b", "f1f2", "c"] and bursts[0] == 0 and client.received == 4
