"""FeedPipeline: thread-safe hand-over, one evaluation per drain, resync requests throttled."""
from __future__ import annotations

import threading

from core.engine import Engine
from core.feed.pipeline import FeedPipeline, FeedStatus
from core.instruments import get_instrument
from core.sim.market import SyntheticMarket


def test_push_from_another_thread_drains_and_coalesces():
    market = SyntheticMarket(seed=1)
    messages = [market.goquant_message(market.step()) for _ in range(50)]
    pipe = FeedPipeline(Engine(get_instrument("BTC-USDT-SWAP")))
    producer = threading.Thread(target=lambda: [pipe.push(m) for m in messages])
    producer.start()
    producer.join()
    assert pipe.wait(1.0)
    pipe.set_status(FeedStatus(state="live", source="test", synthetic=True))
    snap = pipe.drain()
    assert snap is not None and snap.counters["applied"] == 50
    assert snap.counters["coalesced"] == 49 and snap.counters["evaluations"] == 1
    assert snap.feed["state"] == "live" and snap.feed["synthetic"] is True
    assert pipe.pending() == 0
    pipe.wait(0.0)  # consume the wake-up set_status gave
    assert not pipe.wait(0.01)


def test_out_of_sync_book_requests_one_resync_per_retry_window():
    market = SyntheticMarket(seed=2)
    asked = []
    pipe = FeedPipeline(Engine(get_instrument("BTC-USDT-SWAP"), "okx"), lambda: asked.append(1),
                        resync_retry_s=60)
    pipe.push(market.okx_snapshot(market.step()))
    market.okx_update(market.step())  # skipped: the next update leaves a gap
    for _ in range(3):
        pipe.push(market.okx_update(market.step()))
        pipe.drain()
    assert asked == [1]
    pipe.push(market.okx_snapshot(market.step()))
    snap = pipe.drain()
    assert snap.feed["needs_resync"] is False and snap.feed["resync_requests"] == 1


def test_no_resync_is_asked_while_the_first_snapshot_is_on_its_way():
    market = SyntheticMarket(seed=3)
    asked = []
    pipe = FeedPipeline(Engine(get_instrument("BTC-USDT-SWAP"), "okx"), lambda: asked.append(1))
    pipe.set_status(FeedStatus(state="live"))
    assert pipe.drain() is None and asked == []  # subscribed, nothing arrived yet
    market.step()
    pipe.push(market.okx_update(market.step()))  # an update before any snapshot: out of sync
    pipe.drain()
    assert asked == [1]
