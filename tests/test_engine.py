"""The Engine end to end on the synthetic market: both feed formats, snapshots, inputs."""
from __future__ import annotations

import math

import numpy as np
import pytest

from core.engine import Engine
from core.instruments import UnknownInstrument, get_instrument
from core.params import InvalidParams, OrderParams
from core.sim.market import SyntheticMarket


def _run(steps: int = 300, seed: int = 5):
    market = SyntheticMarket(seed=seed)
    inst = get_instrument("BTC-USDT-SWAP")
    gq, okx = Engine(inst, "goquant"), Engine(inst, "okx")
    first = market.step()
    okx.ingest(market.okx_snapshot(first))
    gq.ingest(market.goquant_message(first))
    for _ in range(steps):
        step = market.step()
        assert gq.ingest(market.goquant_message(step))
        assert okx.ingest(market.okx_update(step))
    return gq, okx, market


def test_goquant_and_okx_feeds_of_one_market_give_the_same_book():
    gq, okx, _ = _run()
    a, b = gq.evaluate(), okx.evaluate()
    for name in ("bid_px", "bid_sz", "ask_px", "ask_sz"):
        assert np.array_equal(getattr(a.book, name), getattr(b.book, name))
    assert okx.counters()["checksums_verified"] == 301
    assert gq.counters()["rejected"] == okx.counters()["rejected"] == 0


def test_snapshot_is_immutable_and_consistent():
    gq, _, _ = _run(50)
    snap = gq.evaluate(OrderParams(quantity=250_000, unit="usd", side="sell"))
    with pytest.raises(ValueError):
        snap.book.bid_px[0] = 1.0
    with pytest.raises(ValueError):
        snap.curve.slippage_mid_bps[0] = 1.0
    with pytest.raises(AttributeError):
        snap.fill = None  # frozen
    f = snap.fill
    assert f.side == "sell" and f.filled_usd == pytest.approx(250_000)
    assert f.avg_px <= snap.book.best_bid and f.slippage_mid_bps > 0
    assert f.slippage_mid_usd == pytest.approx(f.filled_base * snap.features.mid - f.filled_usd)
    assert snap.book.bid_qty[0] == pytest.approx(snap.book.bid_sz[0] * 0.01)  # contracts of 0.01 BTC


def test_inputs_change_results_immediately_on_the_same_book():
    gq, _, _ = _run(20)
    small = gq.evaluate(OrderParams(quantity=1_000))
    big = gq.evaluate(OrderParams(quantity=5_000_000))
    assert small.book.version == big.book.version
    assert big.fill.slippage_mid_bps > small.fill.slippage_mid_bps
    assert big.fill.levels > small.fill.levels


def test_book_that_cannot_fill_says_so():
    gq, _, _ = _run(5)
    snap = gq.evaluate(OrderParams(quantity=1e12))
    assert snap.fill.exhausted and snap.fill.unfilled > 0
    assert snap.fill.filled_usd == pytest.approx(snap.curve.max_fill)
    assert snap.fill.levels == snap.book.ask_px.size


def test_base_unit_orders_use_contract_value():
    gq, _, _ = _run(5)
    snap = gq.evaluate(OrderParams(quantity=2.0, unit="base"))
    assert snap.fill.filled_base == 2.0
    contracts = snap.book.ask_sz.cumsum()
    levels_needed = int(np.searchsorted(contracts * 0.01, 2.0) + 1)
    assert snap.fill.levels == levels_needed


def test_volatility_is_estimated_live():
    gq, _, _ = _run(600)
    f = gq.evaluate().features
    assert 0.05 < f.vol_annual < 5.0 and f.vol_updates > 100


def test_coalesced_and_latency_counters():
    gq, _, market = _run(3)
    for _ in range(5):
        gq.ingest(market.goquant_message(market.step()))
    snap = gq.evaluate()
    assert snap.counters["coalesced"] >= 4
    assert snap.latency.samples >= 1 and snap.latency.last_us > 0


@pytest.mark.parametrize("change", [
    {"quantity": -1}, {"quantity": math.nan}, {"side": "hold"}, {"unit": "eur"},
    {"order_type": "iceberg"}, {"ac_horizon_s": 0}, {"exec_delay_ms": -5}, {"ac_lambda": -1},
    {"volatility_override": 0.0}, {"limit_offset_bps": math.inf},
])
def test_impossible_inputs_are_refused_with_a_message(change):
    with pytest.raises(InvalidParams) as info:
        OrderParams().with_(**change)
    assert str(info.value)


def test_unknown_instrument_lists_known_ones():
    with pytest.raises(UnknownInstrument, match="BTC-USDT-SWAP"):
        get_instrument("DOGE-EUR")


def test_synthetic_market_is_deterministic():
    a, b = SyntheticMarket(seed=9), SyntheticMarket(seed=9)
    for _ in range(50):
        assert a.goquant_message(a.step()) == b.goquant_message(b.step())
    assert SyntheticMarket(seed=10).goquant_message(SyntheticMarket(seed=10).step()) != a.goquant_message(a.step())


def test_params_the_models_cannot_price_are_refused_before_they_are_kept():
    from core.models.fees import UnknownFeeSchedule
    from core.models.suite import CostModels

    inst = get_instrument("BTC-USDT-SWAP")
    engine = Engine(inst, models=CostModels(inst))
    good = OrderParams(quantity=10_000)
    engine.set_params(good)
    with pytest.raises(UnknownFeeSchedule):
        engine.set_params(good.with_(fee_tier="Lv99"))
    assert engine.params == good


def test_a_failing_model_is_counted_and_the_feed_goes_on():
    class Broken:
        def check(self, params):
            pass

        def observe(self, snap):
            raise RuntimeError("boom")

        def estimate(self, snap):
            return None

    gq, _, market = _run(3)
    engine = Engine(get_instrument("BTC-USDT-SWAP"), models=Broken())
    engine.ingest(market.goquant_message(market.step()))
    snap = engine.evaluate()
    assert snap is not None and snap.estimate is None
    assert snap.counters["model_errors"] == 1 and "boom" in snap.counters["last_model_error"]


def test_a_subnormal_order_on_an_empty_side_prices_without_error():
    """The curve's grid used to divide by an underflowed lower end (ZeroDivisionError)."""
    from tests.conftest import goquant_message

    engine = Engine(get_instrument("BTC-USDT-SWAP"))
    assert engine.ingest(goquant_message([["100", "1"]], []))
    snap = engine.evaluate(OrderParams(quantity=5e-324, unit="base", side="buy"))
    assert snap.fill.filled_base == 0.0 and snap.curve.max_fill == 0.0
    assert not np.any(snap.curve.quantities)
