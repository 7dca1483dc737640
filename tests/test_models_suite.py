"""CostModels through the real Engine on the synthetic market: what the snapshot carries,
the decomposition, limit orders, staleness, per-instrument state, learning quality."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from tests.conftest import goquant_message
from core.engine import Engine
from core.instruments import get_instrument
from core.models import CostModels, Estimate, UnknownFeeSchedule
from core.models.warm_start import load_warm_start
from core.params import OrderParams
from core.sim.market import SyntheticMarket

INST = get_instrument("BTC-USDT-SWAP")


def run_engine(steps: int, seed: int, params: OrderParams | None = None, models=None):
    market = SyntheticMarket(seed=seed)
    models = models or CostModels(INST)
    engine = Engine(INST, "goquant", params or OrderParams(quantity=100_000), models=models)
    snap = None
    for _ in range(steps):
        engine.ingest(market.goquant_message(market.step()))
        snap = engine.evaluate()
    return engine, models, market, snap


@pytest.fixture(scope="module")
def replay():
    """3,000 books (five minutes of market time) on a seed the warm start never saw."""
    return run_engine(3000, seed=99)


@pytest.fixture(scope="module")
def short():
    return run_engine(120, seed=5)


def same(a, b) -> bool:
    """Field-by-field equality of two estimates (arrays by value, NaN equal to NaN)."""
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if dataclasses.is_dataclass(x):
            if not same(x, y):
                return False
        elif isinstance(x, np.ndarray):
            if not np.array_equal(x, y, equal_nan=True):
                return False
        elif x != y and not (isinstance(x, float) and math.isnan(x) and math.isnan(y)):
            return False
    return True


def fold_exact(values) -> float:
    return math.fsum(values)


def walk_to(px, qty, target_usd, limit=None, sign=1.0):
    """Plain-Python walk for a quote-currency target, optionally stopping at a limit."""
    base = quote = 0.0
    for p, q in zip(px.tolist(), qty.tolist()):
        if limit is not None and sign * (p - limit) > 0:
            break
        if quote + p * q >= target_usd:
            return base + (target_usd - quote) / p, target_usd
        base, quote = base + q, quote + p * q
    return base, quote


def test_snapshot_carries_an_estimate_from_the_first_book():
    engine, _models, market, _ = run_engine(1, seed=3)
    est = engine.last_snapshot.estimate
    assert isinstance(est, Estimate)
    assert est.slippage_quality.status == "warm-start"
    assert math.isfinite(est.predicted_q90_bps) and est.predicted_q95_bps >= est.predicted_q90_bps
    assert est.vol_source == "prior" and est.notes  # no live volatility after one book


def test_market_order_headline(short):
    engine, models, _, snap = short
    est = snap.estimate
    fill = snap.fill
    assert est.quantity_usd == 100_000 and est.quantity_base == pytest.approx(100_000 / snap.features.mid)
    assert est.taker_fraction == 1.0 and est.maker_fraction == 0.0 and est.fill_probability == 1.0
    assert est.fill_model.startswith("none")
    assert est.fees_usd == pytest.approx(0.0005 * fill.filled_usd, rel=1e-12)
    assert est.book_slippage_usd == fill.slippage_mid_usd and est.book_slippage_bps == fill.slippage_mid_bps
    # spread + walk are the exact book cost; the model only adds the delay term
    spread, walk, delay, impact, fee = (c.usd for c in est.components)
    assert spread + walk + impact == pytest.approx(fill.slippage_mid_usd, rel=1e-12)
    assert spread == pytest.approx((fill.best_px - snap.features.mid) * fill.filled_base)
    # the model's delay term, used only by the weight its measured skill earned (0 this early)
    assert delay == pytest.approx(est.slippage_weight * (est.predicted_mean_usd - fill.slippage_mid_usd),
                                  rel=1e-9, abs=1e-9)
    assert 0.0 <= est.impact_usd <= spread + walk + impact - spread


@pytest.mark.parametrize("params", [
    OrderParams(quantity=100_000),
    OrderParams(quantity=100_000, reference="best"),
    OrderParams(quantity=2_000_000, side="sell"),
    OrderParams(quantity=3.0, unit="base"),
    OrderParams(quantity=100_000, order_type="limit", limit_offset_bps=1.0),
    OrderParams(quantity=500_000, order_type="limit", limit_offset_bps=-3.0, side="sell"),
    OrderParams(quantity=100_000, order_type="limit", limit_offset_bps=0.0, reference="best"),
])
def test_decomposition_sums_exactly(short, params):
    engine, *_ = short
    est = engine.evaluate(params).estimate
    usd = [c.usd for c in est.components]
    bps = [c.bps for c in est.components]
    assert fold_exact(usd) == est.net_cost_usd
    assert fold_exact(bps) == est.net_cost_bps
    assert est.slippage_usd + est.impact_usd + est.fees_usd == pytest.approx(est.net_cost_usd, rel=1e-12, abs=1e-12)
    assert est.net_cost_bps == pytest.approx(est.net_cost_usd / est.quantity_usd * 1e4, rel=1e-9)
    names = [c.name for c in est.components]
    assert len(set(names)) == len(names)
    assert ("spread crossing" in " ".join(names)) == (params.reference == "mid")


def test_reference_best_removes_exactly_the_spread(short):
    engine, *_ = short
    mid = engine.evaluate(OrderParams(quantity=100_000)).estimate
    best = engine.evaluate(OrderParams(quantity=100_000, reference="best")).estimate
    spread = mid.components[0].usd
    assert best.slippage_usd == pytest.approx(mid.slippage_usd - spread, rel=1e-9)
    assert best.predicted_mean_usd == pytest.approx(mid.predicted_mean_usd - spread, rel=1e-9)
    assert best.fees_usd == mid.fees_usd and best.impact_usd == mid.impact_usd


def test_limit_order_split_is_exact_for_the_crossing_part(short):
    engine, *_ = short
    snap = engine.evaluate(OrderParams(quantity=3_000_000, order_type="limit", limit_offset_bps=-0.2))
    est, book = snap.estimate, snap.book
    # buy limit 0.2 bps above the best bid, rounded down to the tick: crosses the spread
    expected_limit = math.floor(book.best_bid * 1.00002 / 0.1 + 1e-9) * 0.1
    assert est.limit_price == pytest.approx(expected_limit) and est.limit_price > book.best_ask
    base, quote = walk_to(book.ask_px, book.ask_qty, 3_000_000, limit=est.limit_price)
    assert est.taker_usd == pytest.approx(quote, rel=1e-12)
    assert est.taker_fraction == pytest.approx(quote / 3_000_000, rel=1e-12)
    assert 0.0 < est.taker_fraction < 1.0  # part crosses, part rests
    assert est.resting_usd == pytest.approx(3_000_000 - quote, rel=1e-9)
    assert est.taker_fraction + est.maker_fraction + est.unfilled_fraction == pytest.approx(1.0)
    assert 0.0 < est.fill_probability < 1.0 and est.fill_model == "logistic"
    fee = est.taker_rate * quote + est.maker_rate * est.fill_probability * (3_000_000 - quote)
    assert est.fees_usd == pytest.approx(fee, rel=1e-9)


def test_passive_limit_order_is_all_maker_or_unfilled(short):
    engine, *_ = short
    near = engine.evaluate(OrderParams(order_type="limit", limit_offset_bps=0.0)).estimate
    far = engine.evaluate(OrderParams(order_type="limit", limit_offset_bps=20.0)).estimate
    for est in (near, far):
        assert est.taker_fraction == 0.0 and est.taker_usd == 0.0
        assert est.maker_fraction == pytest.approx(est.fill_probability)
        assert est.slippage_usd < 0  # resting inside the spread earns against the mid
    assert far.fill_probability < near.fill_probability


def test_arrays_in_the_estimate_are_read_only(short):
    est = short[3].estimate
    view = est.impact
    for arr in (view.times, view.holdings, view.trades, view.frontier_lambda, view.frontier_E, view.frontier_V):
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[0] = 0.0
    with pytest.raises(AttributeError):
        est.net_cost_usd = 0.0


def test_almgren_chriss_is_calibrated_on_the_live_book(short):
    engine, models, _, snap = short
    est, f = snap.estimate, snap.features
    v = est.impact
    assert v.eps == pytest.approx(snap.book.best_ask - f.mid)
    assert v.sigma == pytest.approx(f.vol_per_s * f.mid)
    assert v.eta == pytest.approx(v.k * max(v.tau, v.resilience_s))
    assert v.gamma == pytest.approx(v.permanent_fraction * v.k)
    assert v.X_base == snap.fill.filled_base and v.k_points == 5
    # the model's cost of doing it all now agrees with the exact walk to the fit error
    assert v.immediate_cost_usd == pytest.approx(v.book_cost_usd, rel=0.15)
    assert v.mid_shift == pytest.approx(v.gamma * v.X_base)
    assert len(v.holdings) == 11 and v.holdings[0] == v.X_base and v.holdings[-1] == 0.0
    assert v.trades.sum() == pytest.approx(v.X_base)
    assert v.E_usd + 1e-6 >= v.E_twap_usd and v.std_usd <= v.std_twap_usd + 1e-9
    # more risk aversion front-loads the schedule
    eager = engine.evaluate(OrderParams(quantity=100_000, ac_lambda=1.0)).estimate.impact
    assert eager.kappa > v.kappa and eager.holdings[1] < v.holdings[1]


def test_no_stale_values_after_an_input_or_the_book_changes(short):
    engine, models, market, snap = short
    base = snap.estimate
    assert same(models.estimate(snap), models.estimate(snap))  # estimate itself changes nothing
    vip = engine.evaluate(OrderParams(quantity=100_000, fee_tier="VIP1")).estimate
    assert vip.fees_usd == pytest.approx(0.00045 * snap.fill.filled_usd) and vip.fee_tier == "VIP1"
    more = engine.evaluate(OrderParams(quantity=100_000, ac_steps=4, ac_horizon_s=60.0)).estimate
    assert len(more.impact.holdings) == 5 and more.impact.times[-1] == 60.0
    again = engine.evaluate(OrderParams(quantity=100_000, ac_steps=10)).estimate
    assert len(again.impact.holdings) == 11 and again.impact.times[-1] == 300.0
    eager = engine.evaluate(OrderParams(quantity=100_000, ac_lambda=1e-2)).estimate
    assert eager.impact.lam == 1e-2 and eager.impact.kappa > base.impact.kappa
    assert eager.impact.E_usd != base.impact.E_usd
    bigger = engine.evaluate(OrderParams(quantity=1_000_000)).estimate
    assert bigger.quantity_usd == 1_000_000 and bigger.book_slippage_usd > base.book_slippage_usd
    engine.ingest(market.goquant_message(market.step()))
    new = engine.evaluate(OrderParams(quantity=100_000))
    assert new.estimate.book_version == base.book_version + 1
    assert new.estimate.book_slippage_usd == new.fill.slippage_mid_usd
    assert new.estimate.impact.eps == pytest.approx(new.book.best_ask - new.features.mid)


def test_a_book_that_cannot_fill_says_so_without_none(short):
    engine, *_ = short
    est = engine.evaluate(OrderParams(quantity=1e12)).estimate
    assert est.exhausted and est.components == () and math.isnan(est.net_cost_usd)
    assert any("exhausted" in n for n in est.notes)
    snap = engine.evaluate(OrderParams(quantity=1e12))
    assert est.fees_usd == pytest.approx(0.0005 * snap.fill.filled_usd)  # only what fills pays
    assert all(getattr(est, name) is not None for name in ("slippage_bps", "impact_usd", "maker_fraction"))


def test_unknown_fee_tier_is_a_clear_error():
    models = CostModels(INST)
    with pytest.raises(UnknownFeeSchedule, match="known: Lv1, VIP1"):
        models.check(OrderParams(fee_tier="VIP7"))
    with pytest.raises(ValueError, match="known: Binance, Bybit, OKX"):
        models.check(OrderParams(exchange="Kraken"))


def test_spot_instruments_use_the_spot_schedule():
    inst = get_instrument("BTC-USDT")
    engine = Engine(inst, "goquant", OrderParams(quantity=10_000), models=CostModels(inst))
    engine.ingest(goquant_message(bids=[["95000.0", "1.5"], ["94999.9", "2"]],
                                  asks=[["95000.1", "0.5"], ["95000.5", "3"]], symbol="BTC-USDT"))
    est = engine.evaluate().estimate
    assert est.fee_market == "spot" and est.taker_rate == 0.001
    assert est.fees_usd == pytest.approx(10.0)


def test_each_instrument_starts_from_the_warm_start_and_learns_alone(replay):
    _engine, models, *_ = replay
    warm = load_warm_start()
    fresh = CostModels(INST)
    assert fresh.slippage.w.tolist() == warm["slippage"]["w"]
    assert fresh.fill.w.tolist() == warm["fill"]["w"]
    assert models.slippage.w.tolist() != warm["slippage"]["w"]  # the replayed one learnt
    models_copy_w = models.slippage.w.copy()
    fresh.reset()
    assert np.array_equal(models.slippage.w, models_copy_w)


def test_quantile_coverage_on_a_synthetic_replay(replay):
    """Scored in time order on 5 minutes of a market the warm start never saw."""
    *_, snap = replay
    q = snap.estimate.slippage_quality
    assert q.status == "live" and q.scored_total > 5000
    cov90, cov95 = q.coverage_total[1], q.coverage_total[2]
    assert abs(cov90 - 0.90) < 0.03, q
    assert abs(cov95 - 0.95) < 0.03, q
    assert abs(q.coverage_total[0] - 0.5) < 0.05, q
    assert q.mae_bps < 2.0 and abs(q.bias_bps) < 0.5


def test_fill_model_is_calibrated_on_the_synthetic_replay(replay):
    _engine, models, *_ = replay
    fm = models.fill
    q = fm.quality()
    assert q.labels_total > 3000 and q.status == "live"
    assert abs(q.mean_predicted - q.base_rate) < 0.05, q
    n = q.window
    p, y = fm.ring[:n, 3], fm.ring[:n, 2]
    edges = np.linspace(0, 1, 6)
    idx = np.clip(np.digitize(p, edges) - 1, 0, 4)
    for b in range(5):
        sel = idx == b
        if sel.sum() >= 100:
            assert abs(p[sel].mean() - y[sel].mean()) < 0.1, (b, p[sel].mean(), y[sel].mean())


def test_sell_orders_mirror_buys(short):
    engine, *_ = short
    snap = engine.evaluate(OrderParams(quantity=250_000, side="sell"))
    est = snap.estimate
    assert est.impact.eps == pytest.approx(snap.features.mid - snap.book.best_bid)
    assert est.components[0].usd == pytest.approx((snap.features.mid - snap.fill.best_px) * snap.fill.filled_base)
    assert est.book_slippage_usd == snap.fill.slippage_mid_usd > 0


def test_small_orders_inside_the_touch_still_get_a_schedule(short):
    engine, *_ = short
    snap = engine.evaluate(OrderParams(quantity=100.0))
    v = snap.estimate.impact
    assert snap.fill.levels == 1 and v.k > 0  # the book is flat here, but not one unit further
    assert np.all(np.diff(v.frontier_lambda) > 0) and np.all(np.isfinite(v.frontier_E))
    assert snap.estimate.impact_usd == 0.0  # nothing walked, nothing permanent carved out


def test_models_run_on_the_okx_delta_feed():
    market = SyntheticMarket(seed=8)
    engine = Engine(INST, "okx", OrderParams(quantity=50_000, exec_delay_ms=0.0), models=CostModels(INST))
    engine.ingest(market.okx_snapshot(market.step()))
    for _ in range(60):
        engine.ingest(market.okx_update(market.step()))
        snap = engine.evaluate()
    est = snap.estimate
    assert est.slippage_quality.labels_total > 0 and math.isfinite(est.net_cost_usd)
    # zero delay: each label is the very book it was decided on, so the model is scored on
    # exact book costs; its predictions stay close to them
    assert est.slippage_quality.mae_bps < 0.5
