"""The models' book kernels against plain-Python references (same operations, same order)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from core.models.book_cost import (
    SLOPE_MULTIPLES, cost_slope, next_price_beyond, queue_ahead, walk_cost_bps, walk_to_limit,
)
from core.models.maker_taker import limit_price
from tests.reference import walk

sizes = st.floats(0.001, 1e3, allow_nan=False, allow_infinity=False)


@st.composite
def book_side(draw, max_levels=40):
    """One side best-first: asks ascending (sign +1) or bids descending (sign -1)."""
    n = draw(st.integers(1, max_levels))
    ticks = sorted(draw(st.lists(st.integers(1, 10**5), min_size=n, max_size=n, unique=True)))
    sign = draw(st.sampled_from([1.0, -1.0]))
    px = np.array([t * 0.1 for t in ticks])
    if sign < 0:
        px = px[::-1].copy()
    qty = np.array(draw(st.lists(sizes, min_size=n, max_size=n)))
    return px, qty, sign


def reference_walk_to_limit(px, qty, target, in_quote, limit, sign):
    k = sum(1 for p in px if not sign * (p - limit) > 0)  # levels are sorted: a prefix
    base, quote, _worst, levels = walk(px[:k].tolist(), qty[:k].tolist(), target, in_quote)
    return base, quote, levels


@given(book_side(), st.floats(0.0, 1.2), st.floats(0.0, 1.0), st.booleans())
def test_walk_to_limit_is_the_walk_cut_at_the_limit(side, frac_target, frac_limit, in_quote):
    px, qty, sign = side
    total = float(np.sum(px * qty) if in_quote else np.sum(qty))
    target = frac_target * total
    limit = float(px[0] + frac_limit * (px[-1] - px[0]))
    got = walk_to_limit(px, qty, target, in_quote, limit, sign)
    ref = reference_walk_to_limit(px, qty, target, in_quote, limit, sign)
    assert got == ref


@given(book_side(), st.floats(0.01, 1.5), st.booleans())
def test_walk_cost_bps_matches_its_definition(side, frac, in_quote):
    px, qty, sign = side
    total = float(np.sum(px * qty) if in_quote else np.sum(qty))
    target = frac * total
    mid = float(px[0]) - sign * 0.05
    notional = target if in_quote else target * mid
    got = walk_cost_bps(px, qty, target, in_quote, mid, sign, notional)
    base, quote, _w, _l = walk(px.tolist(), qty.tolist(), target, in_quote)
    if frac > 1.0 + 1e-9:
        assert math.isnan(got)
    elif base > 0 and (quote if in_quote else base) >= target * (1 - 1e-12):
        assert got == sign * (quote - mid * base) / notional * 1e4


@given(book_side(), st.floats(0.01, 10.0))
def test_cost_slope_is_the_mean_secant_slope(side, size):
    px, qty, sign = side
    k, n = cost_slope(px, qty, size, sign, SLOPE_MULTIPLES)
    slopes = []
    for m in SLOPE_MULTIPLES:
        q = size * m
        base, quote, _w, _l = walk(px.tolist(), qty.tolist(), q, False)
        if base >= q * (1 - 1e-12):
            slopes.append(sign * (quote / base - px[0]) / q)
    assert n == len(slopes)
    if slopes:
        assert k == pytest.approx(max(sum(slopes) / len(slopes), 0.0), rel=1e-12, abs=1e-15)
        assert k >= 0.0
    else:
        assert math.isnan(k)


def test_queue_ahead_and_next_price():
    bids, bid_qty = np.array([100.0, 99.9, 99.8]), np.array([1.0, 2.0, 3.0])
    asks = np.array([100.1, 100.2, 100.4])
    assert queue_ahead(bids, bid_qty, 99.9, 1.0) == 3.0  # buy at 99.9 queues behind 100.0 and 99.9
    assert queue_ahead(bids, bid_qty, 100.05, 1.0) == 0.0  # inside the spread: first in line
    assert next_price_beyond(asks, 100.2, 1.0) == 100.4  # after crossing up to 100.2
    assert math.isnan(next_price_beyond(asks, 101.0, 1.0))


def test_limit_price_rounds_to_the_passive_side_of_the_tick_grid():
    assert limit_price(1.0, 100.0, 100.1, 0.0, 0.1) == pytest.approx(100.0)
    assert limit_price(1.0, 100.0, 100.1, 10.0, 0.1) == pytest.approx(99.9)  # 99.90 exactly
    assert limit_price(1.0, 100.0, 100.1, 7.0, 0.1) == pytest.approx(99.9)  # 99.93 -> down
    assert limit_price(-1.0, 100.0, 100.1, 7.0, 0.1) == pytest.approx(100.2)  # 100.17 -> up
    assert limit_price(1.0, 100.0, 100.1, -15.0, 0.1) == pytest.approx(100.1)  # crosses to the ask
