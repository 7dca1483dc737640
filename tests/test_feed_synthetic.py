"""The synthetic market's renderers: byte-exact formats and a seqId chain that belongs to steps."""
from __future__ import annotations

import orjson
import pytest

from core.engine import Engine
from core.instruments import get_instrument
from core.venues.okx.protocol import book_checksum, frame_from_levels
from core.sim.market import MarketConfig, SyntheticMarket, iso_ms


@pytest.mark.parametrize("inst_id", ["BTC-USDT-SWAP", "ETH-USDT-SWAP", "BTC-USDT", "UNI-USD-SWAP", "ELON-USDT"])
def test_fast_renderers_match_the_plain_json_ones_byte_for_byte(inst_id):
    market = SyntheticMarket(seed=4, config=MarketConfig.for_instrument(inst_id))
    for _ in range(60):
        step = market.step()
        inst = market.instrument
        plain = orjson.dumps({"timestamp": iso_ms(step.ts_ms), "exchange": inst.exchange, "symbol": inst.inst_id,
                              "asks": market.levels_text(step.asks), "bids": market.levels_text(step.bids)})
        assert market.goquant_message(step) == plain
        bids = [level + ["0", "1"] for level in market.levels_text(step.bids)]
        asks = [level + ["0", "1"] for level in market.levels_text(step.asks)]
        checksum = book_checksum([tuple(b[:2]) for b in bids[:25]], [tuple(a[:2]) for a in asks[:25]])
        assert market.okx_snapshot(step) == frame_from_levels("books", inst.inst_id, "snapshot", bids, asks,
                                                              step.ts_ms, checksum, step.seq, None)


@pytest.mark.parametrize("inst_id", ["ETH-USDT-SWAP", "UNI-USD-SWAP", "BTC-USDT"])
def test_every_instrument_streams_cleanly_through_the_engine(inst_id):
    market = SyntheticMarket(seed=2, config=MarketConfig.for_instrument(inst_id))
    engine = Engine(get_instrument(inst_id), "okx")
    assert engine.ingest(market.okx_snapshot(market.step()))
    for _ in range(100):
        engine.ingest(market.okx_update(market.step()))
    assert engine.counters()["rejected"] == 0 and engine.counters()["checksums_verified"] == 101
    snap = engine.evaluate()
    assert snap.book.bid_px.size == snap.book.ask_px.size == 400
    touch_usd = snap.book.ask_qty[0] * snap.book.best_ask
    assert 100 < touch_usd < 1_000_000  # a plausible size at the touch, whatever the unit


def test_a_late_snapshot_does_not_disturb_the_chain_other_subscribers_follow():
    market = SyntheticMarket(seed=6)
    early = Engine(get_instrument("BTC-USDT-SWAP"), "okx")
    late = Engine(get_instrument("BTC-USDT-SWAP"), "okx")
    early.ingest(market.okx_snapshot(market.step()))
    for i in range(50):
        step = market.step()
        if i == 20:
            late.ingest(market.okx_snapshot(step))  # a new subscriber, mid-stream
            early.ingest(market.okx_update(step))
            continue
        update = market.okx_update(step)
        early.ingest(update)
        if i > 20:
            late.ingest(update)
    for engine in (early, late):
        assert engine.counters()["rejected"] == 0
    assert (early.book.bid_px == late.book.bid_px).all() and (early.book.ask_sz == late.book.ask_sz).all()


def test_an_update_not_sent_is_a_gap():
    market = SyntheticMarket(seed=6)
    engine = Engine(get_instrument("BTC-USDT-SWAP"), "okx")
    engine.ingest(market.okx_snapshot(market.step()))
    market.step()  # never rendered: its changes are lost to the subscriber
    assert not engine.ingest(market.okx_update(market.step()))
    assert engine.rejections["sequence_gap"] == 1 and engine.needs_resync


def test_same_seed_same_market_for_any_instrument():
    a = SyntheticMarket(seed=11, config=MarketConfig.for_instrument("SOL-USDT-SWAP"))
    b = SyntheticMarket(seed=11, config=MarketConfig.for_instrument("SOL-USDT-SWAP"))
    for _ in range(30):
        sa, sb = a.step(), b.step()
        assert a.goquant_message(sa) == b.goquant_message(sb) and a.okx_update(sa) == b.okx_update(sb)
