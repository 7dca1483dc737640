"""A limit order's split and a book that cannot fill: what is charged is what is expected to fill.

Limit orders: the crossing part (taker, fills at once), the expected maker part (resting part x
fill probability) and the expected unfilled part add up to the order; the fill probability is
of the resting part and is NaN (not applicable) when nothing rests; the taker fee is on the
crossing part only and the maker fee on the expected maker part only. A market order the visible
book cannot fill pays a fee on what fills and reports the rest (base, USD, share) uncharged.
The headless JSON carries the headline, the exact book walk beside it, the skill and weight,
the unfillable part and a limit order's split.
"""
from __future__ import annotations

import math

import orjson
import pytest

from core.engine import Engine
from core.feed.headless import estimate_fields
from core.instruments import get_instrument
from core.models import CostModels
from core.params import OrderParams
from core.sim.market import SyntheticMarket
from tests.test_models_suite import walk_to

INST = get_instrument("BTC-USDT-SWAP")


@pytest.fixture(scope="module")
def engine():
    """Models that have seen 150 books of the synthetic market."""
    market = SyntheticMarket(seed=23)
    engine = Engine(INST, "goquant", OrderParams(quantity=100_000), models=CostModels(INST))
    for _ in range(150):
        engine.ingest(market.goquant_message(market.step()))
        engine.evaluate()
    return engine


def _check_split(est, quantity: float) -> None:
    """Fractions add to 1, each part's notional matches its fraction, fees only on fills."""
    assert est.taker_fraction + est.maker_fraction + est.unfilled_fraction == pytest.approx(1.0, abs=1e-12)
    for part in (est.taker_fraction, est.maker_fraction, est.unfilled_fraction):
        assert 0.0 <= part <= 1.0
    assert est.maker_usd + est.unfilled_usd == pytest.approx(est.resting_usd, rel=1e-12, abs=1e-9)
    assert est.fees_usd == pytest.approx(est.taker_rate * est.taker_usd + est.maker_rate * est.maker_usd,
                                         rel=1e-12, abs=1e-12)
    fees = {c.name: c.usd for c in est.components if "fee" in c.name}
    assert fees["taker fee"] == est.taker_rate * est.taker_usd  # crossing part only
    assert fees["maker fee (expected)"] == est.maker_rate * est.maker_usd  # expected maker part only
    assert est.taker_usd == pytest.approx(est.taker_fraction * quantity, rel=1e-12, abs=1e-9)


def test_a_sell_limit_through_the_book_is_all_taker_and_has_no_fill_probability(engine):
    """-2 bps for a sell: 2 bps below the best ask, through the bid: everything crosses."""
    snap = engine.evaluate(OrderParams(quantity=100_000, side="sell", order_type="limit",
                                       limit_offset_bps=-2.0))
    est, book = snap.estimate, snap.book
    assert est.limit_price < book.best_bid  # crosses the opposite side
    assert est.taker_fraction == 1.0 and est.maker_fraction == 0.0 and est.unfilled_fraction == 0.0
    assert math.isnan(est.fill_probability)  # nothing rests: not "0 %"
    assert est.resting_usd == 0.0 and est.maker_usd == 0.0 and est.unfilled_usd == 0.0
    _check_split(est, 100_000)
    assert est.fees_usd == est.taker_rate * 100_000


def test_joining_the_touch_rests_everything(engine):
    snap = engine.evaluate(OrderParams(quantity=100_000, order_type="limit", limit_offset_bps=0.0))
    est = snap.estimate
    assert est.limit_price == snap.book.best_bid and est.taker_fraction == 0.0 and est.taker_usd == 0.0
    assert 0.0 < est.fill_probability < 1.0
    assert est.maker_fraction == pytest.approx(est.fill_probability, rel=1e-12)
    assert est.unfilled_fraction == pytest.approx(1.0 - est.fill_probability, rel=1e-12)
    assert est.maker_usd == pytest.approx(est.fill_probability * est.resting_usd, rel=1e-12)
    _check_split(est, 100_000)


def test_resting_away_from_the_touch_states_the_expected_unfilled_part(engine):
    join = engine.evaluate(OrderParams(quantity=100_000, order_type="limit", limit_offset_bps=0.0)).estimate
    snap = engine.evaluate(OrderParams(quantity=100_000, order_type="limit", limit_offset_bps=2.0))
    est = snap.estimate
    assert est.limit_price < snap.book.best_bid and est.taker_fraction == 0.0
    assert est.fill_probability < join.fill_probability
    assert est.unfilled_fraction == pytest.approx(1.0 - est.fill_probability, rel=1e-12)
    assert est.unfilled_usd > 0 and est.unfilled_fraction > join.unfilled_fraction
    _check_split(est, 100_000)


@pytest.mark.parametrize("params", [
    OrderParams(quantity=3_000_000, order_type="limit", limit_offset_bps=-0.2),
    OrderParams(quantity=30.0, unit="base", side="sell", order_type="limit", limit_offset_bps=-0.2),
])
def test_a_limit_order_partly_through_the_book_has_all_three_parts(engine, params):
    snap = engine.evaluate(params)
    est, book = snap.estimate, snap.book
    assert 0.0 < est.taker_fraction < 1.0 and est.maker_fraction > 0.0 and est.unfilled_fraction > 0.0
    assert 0.0 < est.fill_probability < 1.0
    if params.unit == "usd":
        _base, quote = walk_to(book.ask_px, book.ask_qty, params.quantity, limit=est.limit_price)
        assert est.taker_usd == pytest.approx(quote, rel=1e-12)
        _check_split(est, params.quantity)
    else:
        assert est.taker_fraction + est.maker_fraction + est.unfilled_fraction == pytest.approx(1.0)
        assert est.maker_usd + est.unfilled_usd == pytest.approx(est.resting_usd, rel=1e-12)


@pytest.mark.parametrize("params", [OrderParams(quantity=1e12), OrderParams(quantity=1e6, unit="base"),
                                    OrderParams(quantity=1e12, side="sell")])
def test_an_exhausted_book_charges_fees_only_on_what_fills(engine, params):
    snap = engine.evaluate(params)
    est, fill = snap.estimate, snap.fill
    assert est.exhausted and fill.exhausted and math.isnan(est.net_cost_usd)
    assert est.fees_usd == est.taker_rate * fill.filled_usd
    if params.unit == "usd":
        assert est.unfillable_usd == fill.unfilled == params.quantity - fill.filled_usd
        assert est.unfillable_base == pytest.approx(est.unfillable_usd / fill.worst_px, rel=1e-12)
    else:
        assert est.unfillable_base == fill.unfilled == pytest.approx(params.quantity - fill.filled_base)
        assert est.unfillable_usd == pytest.approx(est.unfillable_base * fill.worst_px, rel=1e-12)
    assert est.unfillable_fraction == pytest.approx(fill.unfilled / params.quantity, rel=1e-12)
    assert 0.99 < est.unfillable_fraction < 1.0
    fillable = engine.evaluate(OrderParams(quantity=100_000)).estimate
    assert (fillable.unfillable_base, fillable.unfillable_usd, fillable.unfillable_fraction) == (0.0, 0.0, 0.0)


def test_headless_estimate_names_the_headline_the_book_walk_and_the_weight(engine):
    snap = engine.evaluate(OrderParams(quantity=250_000))
    est, out = snap.estimate, estimate_fields(snap)
    orjson.dumps(out)  # plain JSON: NaN became null
    assert out["slippage_usd"] == est.slippage_usd  # the headline, as before
    assert out["book_walk_slippage_usd"] == snap.fill.slippage_mid_usd
    assert out["book_walk_slippage_bps"] == snap.fill.slippage_mid_bps
    assert out["slippage_weight"] == est.slippage_weight and out["predicted_mean_usd"] == est.predicted_mean_usd
    assert out["slippage_skill"] == est.slippage_skill and out["exhausted"] is False
    assert out["unfillable_usd"] == 0.0 and "limit_order" not in out
    assert out["slippage_skill_labels"] == est.slippage_quality.buy.window > 0
    assert out["slippage_skill_min_labels"] == 100
    # the headline (with the permanent impact carved out of it) is the exact walk plus the
    # weighted delay term
    walk, w = out["book_walk_slippage_usd"], out["slippage_weight"]
    assert out["slippage_usd"] + out["impact_usd"] == pytest.approx(
        walk + w * (out["predicted_mean_usd"] - walk), rel=1e-12)

    best = estimate_fields(engine.evaluate(OrderParams(quantity=250_000, reference="best")))
    assert best["book_walk_slippage_usd"] == engine.evaluate().fill.slippage_best_usd

    crossing = estimate_fields(engine.evaluate(OrderParams(quantity=100_000, side="sell", order_type="limit",
                                                           limit_offset_bps=-2.0)))
    lim = crossing["limit_order"]
    assert lim["taker_fraction"] == 1.0 and lim["fill_probability"] is None and lim["limit_price"] > 0

    exhausted = estimate_fields(engine.evaluate(OrderParams(quantity=1e12)))
    orjson.dumps(exhausted)
    assert exhausted["exhausted"] is True and exhausted["net_cost_usd"] is None
    assert exhausted["unfillable_usd"] > 0.99e12 and exhausted["fees_usd"] < 0.0005 * 1e12

    engine_without = Engine(INST, "goquant", OrderParams(quantity=250_000))
    market = SyntheticMarket(seed=2)
    engine_without.ingest(market.goquant_message(market.step()))
    bare = estimate_fields(engine_without.evaluate())
    assert bare["book_walk_slippage_usd"] == bare["slippage_usd"] is not None
    assert bare["slippage_weight"] is None and bare["fees_usd"] is None
