"""Every Numba kernel against a plain-Python reference (hypothesis) and exact arithmetic."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

from core.compute.features import book_features, depth_within, top_of_book, weighted_imbalance
from core.engine import slippage
from core.compute.kernels import (
    N_FILL, cost_curve, curve_on_prefix, fillable, geometric_grid, order_cost_curve, prefix_sums, price_order,
    to_base_sizes, walk_book,
)
from core.compute.volatility import EwmaVolatility, ewma_variance_series
from tests import reference

sizes = st.floats(0.001, 1e4, allow_nan=False, allow_infinity=False)


@st.composite
def sides(draw, max_levels=60):
    """One side, best first: ascending prices on a tick grid, positive sizes."""
    n = draw(st.integers(0, max_levels))
    ticks = sorted(draw(st.lists(st.integers(1, 10**6), min_size=n, max_size=n, unique=True)))
    tick = draw(st.sampled_from([0.1, 0.01, 1.0, 0.5]))
    px = np.array([t * tick for t in ticks], dtype=np.float64)
    qty = np.array(draw(st.lists(sizes, min_size=n, max_size=n)), dtype=np.float64)
    return px, qty


@given(sides(), st.floats(0, 2e6), st.booleans())
def test_walk_equals_reference_exactly(side, frac, in_quote):
    px, qty = side
    total = fillable(px, qty, in_quote)
    target = frac / 1e6 * total * 1.2  # from nothing to past the whole side
    got = walk_book(px, qty, target, in_quote)
    want = reference.walk(px.tolist(), qty.tolist(), target, in_quote)
    assert got[3] == want[3]
    for g, w in zip(got[:3], want[:3]):
        assert (math.isnan(g) and math.isnan(w)) or g == w


@given(sides(), st.floats(0.01, 1.1), st.booleans())
def test_walk_matches_exact_rational_arithmetic(side, frac, in_quote):
    px, qty = side
    assume(px.size > 0)
    total = fillable(px, qty, in_quote)
    target = frac * total
    base, quote, worst, levels = walk_book(px, qty, target, in_quote)
    # exact: fill level by level with fractions
    need = Fraction(target)
    eb = eq = Fraction(0)
    for i, (p, q) in enumerate(zip(px.tolist(), qty.tolist())):
        p, q = Fraction(p), Fraction(q)
        avail = p * q if in_quote else q
        take = min(avail, need)
        eb += take / p if in_quote else take
        eq += take if in_quote else take * p
        need -= take
        if need == 0:
            break
    assert base == pytest.approx(float(eb), rel=1e-12)
    assert quote == pytest.approx(float(eq), rel=1e-12)
    filled = quote if in_quote else base
    if frac > 1.0:
        assert levels == px.size and filled == pytest.approx(total, rel=1e-12) and filled < target
    else:
        assert filled == pytest.approx(target, rel=1e-12)
        assert px[levels - 1] == worst


@given(sides(), st.lists(st.floats(0, 3e7), min_size=1, max_size=40), st.booleans())
def test_cost_curve_equals_walk_for_every_target(side, targets, in_quote):
    px, qty = side
    t = np.array(targets)
    m = t.size
    fb, fq, worst = np.empty(m), np.empty(m), np.empty(m)
    lv = np.empty(m, dtype=np.int64)
    cost_curve(px, qty, t, in_quote, fb, fq, worst, lv)
    for j in range(m):
        want = walk_book(px, qty, t[j], in_quote)
        assert (fb[j], fq[j], lv[j]) == (want[0], want[1], want[3])
        assert (math.isnan(worst[j]) and math.isnan(want[2])) or worst[j] == want[2]


@given(sides(), st.lists(st.floats(0, 3e7), min_size=1, max_size=40), st.booleans(), st.booleans())
def test_merged_cost_curve_equals_cost_curve_in_any_order(side, targets, in_quote, ascending):
    """The merge (for grids) and the binary search give the same result, targets in any order."""
    px, qty = side
    t = np.array(sorted(targets) if ascending else targets)
    m, n = t.size, px.size
    want = [np.empty(m), np.empty(m), np.empty(m), np.empty(m, dtype=np.int64)]
    cost_curve(px, qty, t, in_quote, *want)
    cum_base, cum_quote = np.empty(n), np.empty(n)
    prefix_sums(px, qty, cum_base, cum_quote)
    got = [np.empty(m), np.empty(m), np.empty(m), np.empty(m, dtype=np.int64)]
    curve_on_prefix(px, cum_base, cum_quote, t, in_quote, True, *got)
    for g, w in zip(got, want):
        assert np.array_equal(g, w, equal_nan=True)


@given(sides(max_levels=200), st.floats(1.0, 1e7), st.booleans(), st.sampled_from([1.0, -1.0]))
def test_order_cost_curve_grid_and_slippage(side, quantity, in_quote, sign):
    px, qty = side
    assume(px.size > 0)
    mid = px[0] * (1 - 1e-4 * sign)
    out = np.empty((7, 32))
    lv = np.empty(32, dtype=np.int64)
    max_fill = order_cost_curve(px, qty, quantity, in_quote, mid, sign, out, lv)
    assert max_fill == fillable(px, qty, in_quote)
    want = [np.empty(32), np.empty(32), np.empty(32), np.empty(32, dtype=np.int64)]
    cost_curve(px, qty, out[0].copy(), in_quote, *want)  # the grid walked by binary search
    assert all(np.array_equal(g, w, equal_nan=True) for g, w in zip((out[1], out[2], out[3], lv), want))
    grid = out[0]
    assert np.all(np.diff(grid) > 0)
    assert grid[-1] == max(max_fill * 1.25, quantity * 1.5)
    filled = out[2] if in_quote else out[1]
    assert np.all(filled <= grid * (1 + 1e-12))
    ok = out[1] > 0
    assert np.allclose(out[4][ok], out[2][ok] / out[1][ok])
    assert np.allclose(out[5][ok], sign * (out[4][ok] - mid) / mid * 1e4)
    assert np.all(np.isnan(out[4][~ok]))


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@given(sides(max_levels=200), st.floats(0.0, 1e7), st.booleans(), st.sampled_from([1.0, -1.0]),
       st.floats(0.999, 1.001))
def test_price_order_is_walk_slippage_and_curve_in_one_call(side, quantity, in_quote, sign, mid_shift):
    px, qty = side
    mid = px[0] * mid_shift if px.size else 100.0
    fill, curve, lv = np.full(N_FILL, -7.0), np.empty((7, 24)), np.empty(24, dtype=np.int64)
    max_fill = price_order(px, qty, quantity, in_quote, mid, sign, fill, curve, lv)
    want_curve, want_lv = np.empty((7, 24)), np.empty(24, dtype=np.int64)
    assert max_fill == order_cost_curve(px, qty, quantity, in_quote, mid, sign, want_curve, want_lv)
    assert np.array_equal(curve, want_curve, equal_nan=True) and np.array_equal(lv, want_lv)
    base, quote, worst, levels = walk_book(px, qty, quantity, in_quote)
    avg = quote / base if base > 0 else math.nan
    best = float(px[0]) if px.size else math.nan
    side_name = "buy" if sign > 0 else "sell"
    want = [base, quote, worst, levels, avg, best, max(quantity - (quote if in_quote else base), 0.0),
            *slippage(side_name, avg, mid, base), *slippage(side_name, avg, best, base)]
    assert all(_same(g, w) for g, w in zip(fill.tolist(), want)), (fill.tolist(), want)


@given(st.floats(1e-6, 1e3), st.floats(1.0001, 1e8), st.integers(1, 200))
def test_geometric_grid_endpoints_and_ratio(lo, ratio, m):
    hi = lo * ratio
    out = geometric_grid(lo, hi, np.empty(m))
    assert out[-1] == hi
    if m > 1:
        assert out[0] == lo
        r = out[1:] / out[:-1]
        assert np.allclose(r, r[0], rtol=1e-9)


@given(sides(), st.sampled_from([0.01, 1.0, 10.0]), st.booleans())
def test_to_base_sizes_linear_and_inverse(side, mult, inverse):
    px, sz = side
    out = to_base_sizes(px, sz, mult, inverse, np.empty(px.size))
    want = [s * mult / p if inverse else s * mult for p, s in zip(px.tolist(), sz.tolist())]
    assert out.tolist() == want


@st.composite
def books(draw):
    """Both sides around a mid on a tick grid: bids descending, asks ascending, uncrossed."""
    tick = draw(st.sampled_from([0.1, 0.01, 1.0]))
    mid_ticks = draw(st.integers(10**4, 10**6))

    def side(sign):
        offsets = sorted(draw(st.lists(st.integers(1, 5000), min_size=1, max_size=60, unique=True)))
        px = np.array([(mid_ticks + sign * o) * tick for o in offsets])
        qty = np.array(draw(st.lists(sizes, min_size=len(offsets), max_size=len(offsets))))
        return px, qty

    bid_px, bid_q = side(-1)
    ask_px, ask_q = side(+1)
    return bid_px, bid_q, ask_px, ask_q


@given(books(), st.integers(1, 30))
def test_book_features_against_reference(book, k):
    bid_px, bid_q, ask_px, ask_q = book
    bands = np.array([1.0, 5.0, 25.0, 100.0, 1000.0])
    scalars = np.empty(6)
    depth = np.empty((4, bands.size))
    book_features(bid_px, bid_q, ask_px, ask_q, k, bands, scalars, depth)
    bid, ask, bq, aq = bid_px[0], ask_px[0], bid_q[0], ask_q[0]
    mid = (bid + ask) / 2
    assert scalars[0] == mid
    assert scalars[1] == pytest.approx((bid * aq + ask * bq) / (bq + aq), rel=1e-12)
    assert bid <= scalars[1] <= ask
    assert scalars[2] == ask - bid and scalars[3] == pytest.approx((ask - bid) / mid * 1e4)
    assert scalars[4] == pytest.approx((bq - aq) / (bq + aq))
    wb = sum(q * (k - i) / k for i, q in enumerate(bid_q[:k]))
    wa = sum(q * (k - i) / k for i, q in enumerate(ask_q[:k]))
    assert scalars[5] == pytest.approx((wb - wa) / (wb + wa), rel=1e-9, abs=1e-12)
    for row, (px, q, is_bid) in enumerate(((bid_px, bid_q, True), (ask_px, ask_q, False))):
        base, quote = reference.depth_within(px.tolist(), q.tolist(), mid, bands.tolist(), is_bid)
        assert np.allclose(depth[2 * row], base, rtol=1e-12)
        assert np.allclose(depth[2 * row + 1], quote, rtol=1e-12)


def test_features_of_empty_side_are_nan():
    e = np.zeros(0)
    assert all(math.isnan(x) for x in top_of_book(e, e, np.array([1.0]), np.array([1.0])))
    assert math.isnan(weighted_imbalance(e, e, 5))
    b, q = depth_within(e, e, 100.0, np.array([5.0]), True, np.empty(1), np.empty(1))
    assert b[0] == 0 and q[0] == 0


@given(st.lists(st.tuples(st.floats(0.0, 5.0), st.floats(-0.01, 0.01)), min_size=2, max_size=80),
       st.floats(1.0, 600.0))
def test_ewma_variance_irregular_times_against_reference(steps, tau):
    t, mid = [0.0], [100.0]
    for dt, r in steps:
        t.append(t[-1] + dt)
        mid.append(mid[-1] * math.exp(r))
    got = ewma_variance_series(np.array(t), np.array(mid), tau)
    want = reference.ewma_variance(t, mid, tau)
    assert np.allclose(got, want, rtol=1e-12, equal_nan=True)
    stream = EwmaVolatility(tau)
    for ti, mi in zip(t, mid):
        stream.update(ti, mi)
    assert (math.isnan(stream.variance) and math.isnan(want[-1])) or stream.variance == pytest.approx(want[-1], rel=1e-12)


def test_ewma_recovers_known_volatility():
    rng = np.random.default_rng(3)
    sigma = 2e-4  # per sqrt(second)
    dt = rng.exponential(0.2, 20000)  # irregular spacing
    t = np.cumsum(dt)
    logm = np.cumsum(sigma * np.sqrt(dt) * rng.standard_normal(dt.size))
    var = ewma_variance_series(t, 100.0 * np.exp(logm), 600.0)
    assert math.sqrt(var[-1]) == pytest.approx(sigma, rel=0.1)
    vol = EwmaVolatility(600.0)
    for ti, mi in zip(t, 100.0 * np.exp(logm)):
        vol.update(ti, mi)
    assert vol.annualised == pytest.approx(sigma * math.sqrt(365 * 86400), rel=0.1)
