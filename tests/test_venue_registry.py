"""The venue registry, and the REST snapshot path a venue like Binance needs.

The REST test registers a fake venue: GoQuant's websocket protocol plus a REST depth snapshot
(``rest_snapshot_url``). A real embedded server answers the GET on its websocket port, a real
FeedClient fetches it with aiohttp on 127.0.0.1, and the body reaches the sink unchanged; a
resync request fetches it again.
"""
from __future__ import annotations

import asyncio
import dataclasses

import pytest

from core.engine import Engine
from core.feed.client import FeedClient
from core.instruments import get_instrument
from core.sim.server import EmbeddedServer, SyntheticSource
from core.venues import REGISTRY, Venue, get_venue, register, venue_names
from tests.feed_support import FAST, SYMBOL, no_thread_leaks, run_async  # noqa: F401

REST_MARK = b'{"restSnapshot":'


def test_every_shipped_venue_is_registered_and_an_unknown_name_lists_them():
    assert {"okx", "goquant"} <= set(venue_names())
    with pytest.raises(ValueError) as err:
        get_venue("nasdaq")
    text = str(err.value)
    assert "\n" not in text and "'nasdaq'" in text and "okx" in text and "goquant" in text
    with pytest.raises(ValueError, match="nasdaq"):
        Engine(get_instrument(SYMBOL), "nasdaq")


class _RestEncoder:
    """GoQuant's texts, plus a REST body that marks itself and the step it was rendered for."""

    def __init__(self, market) -> None:
        self.inner = get_venue("goquant").encoder(market)
        self.snapshot_text = self.inner.snapshot_text
        self.update_text = self.inner.update_text

    def rest_body(self, step) -> bytes:
        return REST_MARK + str(step.seq).encode() + b',"book":' + self.inner.snapshot_text(step) + b"}"


@pytest.fixture
def rest_venue():
    base = get_venue("goquant")
    venue = dataclasses.replace(
        base, name="test-rest", encoder=_RestEncoder, resync=None, full_snapshots=False,
        rest_snapshot_url=lambda rest, symbol: f"{rest}/api/depth?symbol={symbol}&limit=1000",
        default_rest_url="http://127.0.0.1:9", is_snapshot=lambda raw: True)
    register(venue)
    yield venue
    REGISTRY.pop(venue.name, None)


def test_a_rest_snapshot_is_fetched_over_http_and_reaches_the_sink_unchanged(rest_venue, no_thread_leaks):
    with EmbeddedServer(SyntheticSource((SYMBOL,), seed=3, rate=20.0)) as srv:
        urls = srv.urls
        assert "test-rest" in urls.feeds and urls.rest.startswith("http://127.0.0.1:")

        async def main():
            frames: list = []
            client = FeedClient(urls.for_feed("test-rest", SYMBOL), lambda raw, t: frames.append(raw),
                                feed="test-rest", inst_ids=(SYMBOL,), config=FAST, rest_url=urls.rest)
            client.start()
            try:
                for _ in range(200):
                    await asyncio.sleep(0.02)
                    if client.rest_snapshots >= 1 and len(frames) >= 3:
                        break
                rest = [f for f in frames if isinstance(f, str) and f.startswith(REST_MARK.decode())]
                assert len(rest) == 1 and client.rest_snapshots == 1 and client.rest_failures == 0
                assert rest[0].endswith("}") and '"book":{"timestamp"' in rest[0]  # the body, as served
                assert any(not (isinstance(f, str) and f.startswith(REST_MARK.decode())) for f in frames)
                client.request_resync()  # a REST venue resyncs by fetching again
                for _ in range(200):
                    await asyncio.sleep(0.02)
                    if client.rest_snapshots >= 2:
                        break
                assert client.rest_snapshots == 2 and client.resyncs == 1
            finally:
                await client.stop()
        run_async(main)


def test_a_failing_rest_snapshot_is_retried_counted_and_said(rest_venue, no_thread_leaks):
    with EmbeddedServer(SyntheticSource((SYMBOL,), seed=3, rate=20.0)) as srv:
        urls = srv.urls

        async def main():
            config = dataclasses.replace(FAST, rest_retries=2, rest_backoff_s=0.01, rest_timeout_s=2.0)
            client = FeedClient(urls.for_feed("test-rest", SYMBOL), lambda raw, t: None, feed="test-rest",
                                inst_ids=(SYMBOL,), config=config, rest_url=urls.rest + "/nowhere")
            client.start()
            try:
                for _ in range(200):
                    await asyncio.sleep(0.02)
                    if client.rest_failures >= 3:
                        break
                assert client.rest_failures == 3 and client.rest_snapshots == 0
                assert "REST snapshot" in client.detail and "HTTP 404" in client.detail
            finally:
                await client.stop()
        run_async(main)


def test_a_venue_with_a_reconnect_schedule_is_reconnected_on_it(no_thread_leaks):
    venue = register(dataclasses.replace(get_venue("goquant"), name="test-renew", reconnect_every_s=0.3))
    try:
        with EmbeddedServer(SyntheticSource((SYMBOL,), seed=3, rate=20.0)) as srv:
            url = srv.urls.for_feed("test-renew", SYMBOL)

            async def main():
                frames: list = []
                client = FeedClient(url, lambda raw, t: frames.append(raw), feed=venue.name,
                                    inst_ids=(SYMBOL,), config=FAST)
                client.start()
                try:
                    for _ in range(300):
                        await asyncio.sleep(0.02)
                        if client.connects >= 3:
                            break
                    assert client.connects >= 3 and client.scheduled_reconnects >= 2
                    assert client.abnormal_closes == 0 and frames
                finally:
                    await client.stop()
            run_async(main)
    finally:
        REGISTRY.pop(venue.name, None)
