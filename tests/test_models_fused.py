"""The fused per-book kernels (``core.models.fused``) and the quality rows give, bit for bit,
what the separate kernels and the plain-Python code they replaced gave."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from core.models import net_cost
from core.models.almgren_chriss import FRONTIER_KAPPA_T, N_IV, frontier_shapes, live_impact
from core.models.book_cost import SLOPE_MULTIPLES, finite_or
from core.models.estimate import CostItem
from core.models.fused import E_IMPACT, E_PRED_BPS, E_PRED_USD, N_EST, estimate_core, observe_core
from core.models.maker_taker import I_LABELS as FI_LABELS, I_PENDING as FI_PENDING
from core.models.maker_taker import I_RING_N as FI_RING_N, fill_observe
from core.models.slippage_model import (
    F_RESID_BUY, F_RESID_SELL, I_CUM_COV, I_DROPPED, I_LABELS, I_PENDING, I_PRIMARY, I_RING_N,
    K, Q, R_ABS, R_COV, R_ERR, R_NAIVE_ABS, R_NAIVE_SQ, R_PIN, R_SQ, predict_into, probe_features,
    slip_observe, slip_predict,
)
from core.params import OrderParams
from tests.test_models_suite import run_engine


@pytest.fixture(scope="module")
def live():
    """Models that have learnt from 400 books, and the last snapshot."""
    engine, models, market, snap = run_engine(400, seed=17)
    return engine, models, market, snap


def _bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a).tobytes()


def slippage_quality_reference(model) -> dict:
    """The plain-Python summary of ``SlippageModel.quality``: counts, and each side's own
    scores, skill and weight."""
    ist = model.ist.tolist()
    return {"labels_total": ist[I_LABELS], "pending": ist[I_PENDING], "dropped": ist[I_DROPPED],
            "buy": side_quality_reference(model, 0), "sell": side_quality_reference(model, 1)}


def side_quality_reference(model, side: int) -> dict:
    ist, s = model.ist.tolist(), model.sums.tolist()[side]
    n, total = ist[I_RING_N + side], ist[I_PRIMARY + side]
    inv = 1.0 / n if n else math.nan
    inv_total = 1.0 / total if total else math.nan
    skill = 1.0 - s[R_SQ] / s[R_NAIVE_SQ] if s[R_NAIVE_SQ] > 0 else math.nan
    weight = (min(max(skill, 0.0), 1.0)
              if n >= model.config.min_skill_labels and math.isfinite(skill) else 0.0)
    return {"side": ("buy", "sell")[side], "window": n, "scored_total": total,
            "mae_bps": s[R_ABS] * inv, "bias_bps": s[R_ERR] * inv,
            "rmse_bps": math.sqrt(max(s[R_SQ], 0.0) * inv),
            "naive_mae_bps": s[R_NAIVE_ABS] * inv,
            "naive_rmse_bps": math.sqrt(max(s[R_NAIVE_SQ], 0.0) * inv),
            "skill": skill, "weight": weight,
            "pinball_bps": tuple([v * inv for v in s[R_PIN:R_PIN + Q]]),
            "coverage": tuple([v * inv for v in s[R_COV:R_COV + Q]]),
            "coverage_total": tuple([ist[I_CUM_COV + side * Q + r] * inv_total for r in range(Q)])}


def fill_quality_reference(model) -> dict:
    ist = model.ist.tolist()
    brier, logloss, y, p = model.sums.tolist()
    n = ist[FI_RING_N]
    inv = 1.0 / n if n else math.nan
    return {"window": n, "labels_total": ist[FI_LABELS], "brier": brier * inv,
            "log_loss": logloss * inv, "base_rate": y * inv, "mean_predicted": p * inv,
            "pending": ist[FI_PENDING]}


def _same(a, b) -> bool:
    """Equal, with NaN equal to NaN and floats compared by their bits (type included)."""
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float):
        return type(b) is float and (a.hex() == b.hex() or (math.isnan(a) and math.isnan(b)))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("steps", [1, 400])  # nothing scored yet (NaN), then learnt
def test_quality_rows_match_the_python_summaries(steps):
    _engine, models, _market, _snap = run_engine(steps, seed=17)
    for model, reference in ((models.slippage, slippage_quality_reference),
                             (models.fill, fill_quality_reference)):
        q = model.quality()
        for name, want in reference(model).items():
            got = getattr(q, name)
            if isinstance(want, dict):  # one side's scores
                for side_name, side_want in want.items():
                    assert _same(getattr(got, side_name), side_want), (name, side_name)
                continue
            assert _same(got, want), (type(model).__name__, name, got, want)
    # the pooled figures are both sides' labels together
    q, ist, sums = models.slippage.quality(), models.slippage.ist.tolist(), models.slippage.sums.tolist()
    n = ist[I_RING_N] + ist[I_RING_N + 1]
    assert q.window == n and q.scored_total == ist[I_PRIMARY] + ist[I_PRIMARY + 1]
    if n:
        assert q.mae_bps == pytest.approx((sums[0][R_ABS] + sums[1][R_ABS]) / n, rel=1e-12)
        assert q.coverage == pytest.approx([(sums[0][R_COV + r] + sums[1][R_COV + r]) / n
                                            for r in range(Q)], rel=1e-12)
    else:
        assert math.isnan(q.mae_bps) and all(math.isnan(v) for v in q.coverage_total)


def test_observe_core_is_slip_observe_then_fill_observe(live):
    engine, models, market, _snap = live
    engine.ingest(market.goquant_message(market.step()))
    engine.models = None  # a snapshot of a book the models have not seen yet
    try:
        snap = engine.evaluate()
    finally:
        engine.models = models
    book, f, p = snap.book, snap.features, snap.params
    vol = models._feature_vol(None, f)
    common = models._common_inputs(f, vol, p.exec_delay_ms).copy()
    slip, fill = copy.deepcopy(models.slippage), copy.deepcopy(models.fill)
    ref_slip, ref_fill = copy.deepcopy(slip), copy.deepcopy(fill)
    probes = slip.due_probes(book.ts_ms, p.quantity)
    add = fill.probes_due(book.ts_ms, vol) or True  # exercise the probe ladder too
    args = (book.bid_px, book.bid_qty, book.ask_px, book.ask_qty, book.ts_ms, f.mid)
    imb = finite_or(f.imbalance_weighted, 0.0)
    got = observe_core(*args, common, probes, True, slip.bundle, vol, imb, add, fill.bundle)
    want = (slip_observe(*args, common, probes, True, ref_slip.bundle),
            fill_observe(*args, vol, imb, add, ref_fill.bundle))
    assert got == want and got[0] > 0
    # each copy's fields are views of its own bundle, not of the original's
    assert np.shares_memory(slip.w, slip.bundle) and np.shares_memory(ref_slip.ist, ref_slip.bundle)
    assert not np.shares_memory(slip.bundle, models.slippage.bundle)
    assert not np.shares_memory(slip.bundle, ref_slip.bundle)
    for name in ("w", "P", "Wq", "pend_meta", "pend_x", "pend_pred", "ring", "sums", "fs", "ist"):
        assert _bits(getattr(slip, name)) == _bits(getattr(ref_slip, name)), name
    for name in ("w", "P", "pend_meta", "pend_x", "ring", "sums", "fs", "ist"):
        assert _bits(getattr(fill, name)) == _bits(getattr(ref_fill, name)), name
    assert slip.quality_from_row() == ref_slip.quality()
    if got[1]:
        assert fill.quality_from_row() == ref_fill.quality()


@pytest.mark.parametrize("sign,in_quote,quantity,ref_shift,N,lam", [
    (1.0, True, 100_000.0, 0.0, 30, 1e-6),
    (-1.0, False, 3.0, 12.5, 7, 0.0),
    (1.0, True, 1e10, 0.0, 1, 1e-3),  # more than the book holds
])
def test_estimate_core_is_slip_predict_and_live_impact(live, sign, in_quote, quantity, ref_shift, N, lam):
    _engine, models, _market, snap = live
    book, f = snap.book, snap.features
    px, qty = (book.ask_px, book.ask_qty) if sign > 0 else (book.bid_px, book.bid_qty)
    slip = models.slippage
    common = models._common_inputs(f, models._feature_vol(None, f), 250.0).copy()
    mid, T, eps, sigma, x_base, slope_size = f.mid, 60.0, 0.05, 30.0, 2.0, 2.5
    quantity_usd = quantity if in_quote else quantity * mid
    A, B = frontier_shapes(N)
    size = 3 * (N + 1) + 3 * FRONTIER_KAPPA_T.shape[0]
    arrays, out = np.empty(size), np.empty(N_EST)
    estimate_core(px, qty, quantity, in_quote, mid, sign, common, slip.bundle, quantity_usd / 1e4,
                  ref_shift, slope_size, eps, sigma, 0.5, 5.0, x_base, T, N, lam, A, B, arrays, out)
    # the reference: the separate kernels (on the side's recent residual and the plain
    # coefficient arrays), then the USD/bps conversion in Python
    resid = slip.fs.item(F_RESID_BUY if sign > 0 else F_RESID_SELL)
    pred, x = np.empty(2 + Q), np.empty(K)
    pred[0] = probe_features(px, qty, quantity, in_quote, mid, sign, common, resid, x)[0]
    predict_into(slip.w.copy(), slip.Wq.copy(), x, pred[1:])
    via_bundle = np.empty(2 + Q)
    slip_predict(px, qty, quantity, in_quote, mid, sign, common, slip.bundle, np.empty(K), via_bundle)
    assert _bits(via_bundle) == _bits(pred)
    to_usd = quantity_usd / 1e4
    usd = [v * to_usd - ref_shift for v in pred.tolist()[1:]]
    bps = [u / to_usd for u in usd]
    ref_arrays, ref_iv = np.empty(size), np.empty(N_IV)
    live_impact(px, qty, slope_size, sign, SLOPE_MULTIPLES, eps, sigma, 0.5, 5.0, x_base, T, N, lam,
                mid, FRONTIER_KAPPA_T, A, B, ref_arrays, ref_iv)
    got = out.tolist()
    assert _same(tuple(got[E_PRED_USD:E_PRED_BPS]), tuple(usd))
    assert _same(tuple(got[E_PRED_BPS:E_IMPACT]), tuple(bps))
    assert _same(tuple(got[E_IMPACT:]), tuple(ref_iv.tolist()))
    assert _bits(arrays) == _bits(ref_arrays)


def decompose_reference(items, notional):
    """``net_cost.decompose`` as it was written first (totals by kind in a dict)."""
    scale = 1e4 / notional if notional > 0 else math.nan
    by_kind = {net_cost.SLIPPAGE: [], net_cost.IMPACT: [], net_cost.FEES: []}
    components = []
    for kind, name, usd in items:
        components.append(CostItem(name, usd, usd * scale))
        by_kind[kind].append(usd)
    totals = {kind: math.fsum(values) for kind, values in by_kind.items()}
    return (tuple(components), totals, math.fsum([c[1] for c in components]),
            math.fsum([c[2] for c in components]))


@pytest.mark.parametrize("seed", range(20))
def test_decompose_matches_its_reference(seed):
    rng = np.random.default_rng(seed)
    values = (rng.standard_normal(6) * 10.0 ** rng.integers(-3, 7, 6)).tolist()
    if seed % 2:
        items = net_cost.limit_order_items("mid" if seed % 4 == 1 else "best", *values[:3], *values[3:])
    else:
        items = net_cost.market_order_items("mid" if seed % 4 == 0 else "best", *values[:5])
    notional = float(10.0 ** rng.integers(2, 8))
    components, totals, net_usd, net_bps = net_cost.decompose(items, notional)
    ref_components, ref_totals, ref_usd, ref_bps = decompose_reference(items, notional)
    assert components == ref_components and all(type(c) is CostItem for c in components)
    assert _same(totals, (ref_totals[net_cost.SLIPPAGE], ref_totals[net_cost.IMPACT],
                          ref_totals[net_cost.FEES]))
    assert _same(net_usd, ref_usd) and _same(net_bps, ref_bps)
    assert math.fsum(c.usd for c in components) == net_usd


def test_estimates_of_every_order_kind_still_decompose_exactly(live):
    engine, _models, _market, _snap = live
    for params in (OrderParams(quantity=100_000), OrderParams(quantity=2.0, unit="base", side="sell"),
                   OrderParams(quantity=250_000, order_type="limit", limit_offset_bps=1.0),
                   OrderParams(quantity=5e4, reference="best", ac_steps=7, ac_lambda=1e-5)):
        est = engine.evaluate(params).estimate
        assert math.fsum(c.usd for c in est.components) == est.net_cost_usd
        assert math.fsum(c.bps for c in est.components) == est.net_cost_bps
        assert est.slippage_usd + est.impact_usd + est.fees_usd == pytest.approx(est.net_cost_usd)
