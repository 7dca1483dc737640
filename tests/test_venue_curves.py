"""Net cost vs size per venue and for the split (core.compute.venue_curves) against best_execution.

Every grid size of the curves must be the figure ``best_execution`` gives for an order of
that size: a venue's net cost to the cent (it is the same walk), the split's to the cent of
the unrounded optimum behind ``optimal_paid_usd``; NaN where the books cannot fill it.
"""
from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, strategies as st

from core.compute.best_execution import (
    LIVE, RESYNCING, STALE, NoConsolidatedMid, Order, VenueBook, best_execution, synthetic_books,
)
from core.compute.venue_curves import bench_curves, size_grid, venue_curves
from tests.test_best_execution import SETTINGS, market

CENT = 0.005  # "equal to the cent": within half a cent
side_st = st.sampled_from(["buy", "sell"])


def unrounded_net(r) -> float:
    """The split's net cost before lot rounding (what the curve draws)."""
    sign = 1 if r.side == "buy" else -1
    return r.optimal_paid_usd - sign * (r.filled_base + r.rounding_residual_base) * r.reference_px


def check_against_best_execution(books, side, grid) -> None:
    c = venue_curves(books, side, grid)
    for j, usd in enumerate(grid):
        r = best_execution(books, Order(side, float(usd)))
        assert r.reference_px == c.reference_px
        for k, e in enumerate(r.venues):
            assert c.keys[k] == (e.venue, e.symbol)
            if e.state == LIVE and e.exhausted is False:
                assert abs(c.venue_usd[k, j] - e.net_cost_usd) <= CENT, (e.venue, usd)
                assert c.venue_bps[k, j] == pytest.approx(e.net_cost_bps, abs=1e-9)
            else:  # not live, empty, or the size exhausts the venue: the curve has no point
                assert math.isnan(c.venue_usd[k, j]) and math.isnan(c.venue_bps[k, j]), (e.venue, e.state, usd)
        if r.unfilled_base == 0.0:
            assert abs(c.split_usd[j] - unrounded_net(r)) <= CENT, usd
        else:
            assert math.isnan(c.split_usd[j]) and math.isnan(c.split_bps[j])


@SETTINGS
@given(market(n_min=1, n_max=4, states=(LIVE, LIVE, STALE, RESYNCING)), side_st,
       st.floats(0.5, 50.0), st.floats(2.0, 200.0))
def test_every_grid_point_is_best_executions_figure_to_the_cent(books, side, lo, ratio):
    check_against_best_execution(books, side, size_grid(lo, lo * ratio, 12))


@SETTINGS
@given(market(n_min=1, n_max=4, states=(LIVE, LIVE, STALE)), side_st)
def test_curves_end_where_the_books_run_out_and_the_split_is_never_above_a_venue(books, side):
    c = venue_curves(books, side, size_grid(1.0, 10_000.0, 40))
    for k in range(len(c.keys)):
        ok = np.isfinite(c.venue_usd[k])
        # a curve is a prefix of the grid: once a size exhausts a venue, every larger one does
        assert not ok.any() or ok[:np.flatnonzero(ok)[-1] + 1].all()
        assert np.all(c.sizes_usd[ok] <= c.max_usd[k] * (1 + 1e-12))
        assert ok[c.sizes_usd < c.max_usd[k] * (1 - 1e-9)].all()
        both = ok & np.isfinite(c.split_usd)
        assert np.all(c.split_usd[both] <= c.venue_usd[k, both] + 1e-9 * c.sizes_usd[both])
        assert not np.any(ok & ~np.isfinite(c.split_usd))  # the split fills whatever one venue fills
    split_ok = np.isfinite(c.split_usd)
    assert not split_ok.any() or split_ok[:np.flatnonzero(split_ok)[-1] + 1].all()


@SETTINGS
@given(market(n_min=2, n_max=4, states=(LIVE, LIVE, STALE)), side_st, st.randoms())
def test_curves_do_not_depend_on_the_order_venues_are_listed_in(books, side, rnd):
    grid = size_grid(1.0, 5_000.0, 16)
    a = venue_curves(books, side, grid)
    shuffled = list(books)
    rnd.shuffle(shuffled)
    b = venue_curves(shuffled, side, grid)
    assert a.keys == b.keys
    np.testing.assert_array_equal(a.venue_usd, b.venue_usd)
    np.testing.assert_array_equal(a.split_usd, b.split_usd)


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_three_400_level_books_match_best_execution_across_the_default_grid(side):
    books = synthetic_books(400, seed=2)
    books[1] = VenueBook(**{**books[1].__dict__, "state": STALE})
    grid = size_grid()
    assert grid[0] == 1e3 and grid[-1] == 1e9 and grid.shape == (64,)
    check_against_best_execution(books, side, grid[::4])
    c = venue_curves(books, side)
    assert np.isnan(c.venue_usd[1]).all()  # stale: no curve at all
    assert np.isfinite(c.split_usd[:40]).all() and np.isnan(c.split_usd[-1])  # 1e9 USD is beyond every book
    assert c.split_max_usd == pytest.approx(c.max_usd[0] + c.max_usd[2])


def test_no_consolidated_mid_and_bad_grids_are_refused():
    books = synthetic_books(20)
    stale = [VenueBook(**{**b.__dict__, "state": STALE}) for b in books]
    with pytest.raises(NoConsolidatedMid):
        venue_curves(stale, "buy")
    with pytest.raises(ValueError, match="side"):
        venue_curves(books, "hold")
    with pytest.raises(ValueError, match="size grid"):
        size_grid(10.0, 1.0)


def test_bench_curves_reports_percentiles():
    out = bench_curves(calls=20, n_levels=50, points=16)
    for name in ("kernel_buy", "venue_curves_buy", "kernel_sell", "venue_curves_sell"):
        assert set(out[name]) == {"p50_us", "p99_us", "cpu_p50_us", "cpu_p99_us", "calls"}
        assert 0 < out[name]["p50_us"] <= out[name]["p99_us"]


def test_a_random_seed_market_matches_at_random_sizes():
    rng = random.Random(7)
    books = synthetic_books(60, seed=5)
    for _ in range(5):
        usd = 10 ** rng.uniform(3, 7.5)
        check_against_best_execution(books, rng.choice(["buy", "sell"]), np.array([usd / 3, usd]))
