"""FeedPipeline: thread-safe hand-over, one evaluation per drain, resync requests throttled."""
from __future__ import annotations

import asyncio
import dataclasses
import threading
import time

from core.engine import Engine
from core.feed.pipeline import FeedPipeline, FeedStatus
from core.feed.session import LoopDrainer
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


def test_feed_status_as_dict_is_asdict_without_the_deep_copy():
    counters = {"received": 3, "reconnects": 1}
    status = FeedStatus(state="live", source="s", synthetic=True, url="ws://x", counters=counters,
                        detail="d", attempt=2, retry_at=1.5)
    out = status.as_dict()
    assert out == dataclasses.asdict(status)
    assert list(out) == [f.name for f in dataclasses.fields(FeedStatus)]  # a new field must be added here too
    assert out["counters"] is not counters  # a snapshot's copy, as before


def test_loop_drainer_flush_evaluates_at_once_and_the_safety_drain_adds_nothing():
    market = SyntheticMarket(seed=1)
    messages = [market.goquant_message(market.step()).decode() for _ in range(3)]
    pipe = FeedPipeline(Engine(get_instrument("BTC-USDT-SWAP")))
    seen = []
    drainer = LoopDrainer(pipe, on_snapshot=seen.append)

    async def main():
        drainer.start()
        for m in messages[:2]:  # one socket read: two frames, then the burst ends
            drainer.push(m, time.perf_counter_ns())
        drainer.flush()
        assert len(seen) == 1 and seen[0].counters["applied"] == 2  # at once, one evaluation
        await asyncio.sleep(0)  # the call_soon drain scheduled by the first push runs: nothing new
        await asyncio.sleep(0)
        assert len(seen) == 1
        drainer.push(messages[2], time.perf_counter_ns())  # a producer that never flushes
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert len(seen) == 2 and seen[1].counters["applied"] == 3

    asyncio.run(main())
    assert drainer.drains == 2 and pipe.pending() == 0
