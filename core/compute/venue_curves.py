"""Net cost against order size on every live venue alone and for the fee-aware split.

The Venues view draws, for one side, what an order of each size on a log grid of USD sizes
would cost on each venue alone and split optimally across the live venues, fees included, in
bps of the notional at the consolidated mid: the same figures as ``best_execution`` gives for
one size (``VenueEstimate.net_cost_bps`` for a venue, the unrounded optimum behind
``BestExecution.optimal_paid_usd`` for the split), for all sizes at once.

Why it is cheap: every grid size needs the same walk, so each venue's side is summed once
(``kernels.prefix_sums``) and the ascending grid merged into it (``kernels.curve_on_prefix``),
and the split's merged fee-adjusted book is built once by a k-way merge and walked the same
way: O(levels + grid points) per venue, instead of one ``best_execution`` call per size.

The split curve is the *unrounded* optimum (the merge-walk before lot rounding): lot rounding
moves the split's cost by a fraction of a lot's price difference between venues, far below
a pixel, and the table shows the rounded legs. A size the books cannot fill is NaN: a venue's
curve ends where its visible side runs out, the split's where every live side together does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from numba import njit

from core.compute.best_execution import (
    LIVE, SIDES, NoConsolidatedMid, VenueBook, cheapest_next, consolidated_touch, pack,
)
from core.compute.kernels import curve_on_prefix, geometric_grid, prefix_sums, slippage_vs

GRID_LO_USD, GRID_HI_USD, GRID_POINTS = 1e3, 1e9, 64


@njit(nogil=True, cache=True)
def merge_adjusted(px, qty, venues, sign, out_px, out_qty):
    """The order's side of every venue merged cheapest first by fee-adjusted cost (buy
    p(1 + f), sell -p(1 - f): ``best_execution.adjusted_cost``), ties to the venue listed
    first as ``best_execution.merge_walk`` breaks them. Writes the adjusted costs and the
    sizes into ``out_px``/``out_qty``; returns how many levels it wrote."""
    nv = venues.shape[0]
    cursor = np.zeros(nv, np.int64)
    m = 0
    while True:
        best, best_cost = cheapest_next(px, venues, cursor, sign)
        if best < 0:
            return m
        out_px[m] = best_cost
        out_qty[m] = qty[venues[best]["start"] + cursor[best]]
        cursor[best] += 1
        m += 1


@njit(nogil=True, cache=True)
def net_cost_curves(px, qty, venues, sign, targets, mid, net_usd, net_bps, max_base):
    """Net cost of buying/selling each of ``targets`` (base units, ascending) on every venue
    of ``venues`` alone (rows 0..nv-1 of ``net_usd``/``net_bps``) and split optimally (row nv).

    A venue's net cost is its walk's slippage against ``mid`` (``kernels.slippage_vs``, as
    ``best_execution`` computes it) plus its taker fee on the notional; the split's is the
    fee-adjusted merged book's walk minus sign x base x mid. NaN where the side(s) cannot fill
    the target. ``max_base`` <- each venue's whole side, then the merged book's (row nv)."""
    nv = venues.shape[0]
    m = targets.shape[0]
    n_total = px.shape[0]
    cum_base = np.empty(n_total)
    cum_quote = np.empty(n_total)
    base = np.empty(m)
    quote = np.empty(m)
    worst = np.empty(m)
    levels = np.empty(m, np.int64)
    for k in range(nv):
        s, n = venues[k]["start"], venues[k]["n"]
        fee = venues[k]["fee"]
        prefix_sums(px[s:s + n], qty[s:s + n], cum_base[s:s + n], cum_quote[s:s + n])
        curve_on_prefix(px[s:s + n], cum_base[s:s + n], cum_quote[s:s + n], targets, False, True,
                        base, quote, worst, levels)
        max_base[k] = cum_base[s + n - 1] if n > 0 else 0.0
        for j in range(m):
            if base[j] > 0.0 and base[j] >= targets[j]:
                slip_bps, slip_usd = slippage_vs(quote[j] / base[j], mid, base[j], sign)
                net = slip_usd + fee * quote[j]
                net_usd[k, j] = net
                net_bps[k, j] = net / (base[j] * mid) * 1e4
            else:
                net_usd[k, j] = np.nan
                net_bps[k, j] = np.nan
    merged_px = np.empty(n_total)
    merged_qty = np.empty(n_total)
    nm = merge_adjusted(px, qty, venues, sign, merged_px, merged_qty)
    prefix_sums(merged_px[:nm], merged_qty[:nm], cum_base[:nm], cum_quote[:nm])
    curve_on_prefix(merged_px[:nm], cum_base[:nm], cum_quote[:nm], targets, False, True,
                    base, quote, worst, levels)
    max_base[nv] = cum_base[nm - 1] if nm > 0 else 0.0
    for j in range(m):
        if base[j] > 0.0 and base[j] >= targets[j]:
            net = quote[j] - sign * base[j] * mid  # quote: paid, fees included (adjusted costs)
            net_usd[nv, j] = net
            net_bps[nv, j] = net / (base[j] * mid) * 1e4
        else:
            net_usd[nv, j] = np.nan
            net_bps[nv, j] = np.nan


@dataclass(frozen=True)
class VenueCurves:
    """Net cost against order size: one row per venue given (sorted by (venue, symbol), NaN
    throughout for a venue that is not live or shows nothing on the order's side) and the
    split's row. ``max_usd``: what each venue's visible side fills, at the consolidated mid."""

    side: str
    reference_px: float  # the consolidated mid
    sizes_usd: np.ndarray  # (m,) ascending
    keys: tuple[tuple[str, str], ...]  # (venue, symbol) per row of venue_*
    venue_usd: np.ndarray  # (venues, m)
    venue_bps: np.ndarray  # (venues, m)
    split_usd: np.ndarray  # (m,)
    split_bps: np.ndarray  # (m,)
    max_usd: np.ndarray  # (venues,)
    split_max_usd: float


def size_grid(lo: float = GRID_LO_USD, hi: float = GRID_HI_USD, points: int = GRID_POINTS) -> np.ndarray:
    """``points`` USD sizes from ``lo`` to ``hi``, evenly spaced on a log scale."""
    if not (0.0 < lo < hi and math.isfinite(hi)) or points < 2:
        raise ValueError(f"size grid needs 0 < lo < hi and at least 2 points, not {lo!r}..{hi!r} x {points}")
    return geometric_grid(float(lo), float(hi), np.empty(points))


def venue_curves(books: Sequence[VenueBook], side: str, sizes_usd: np.ndarray | None = None) -> VenueCurves:
    """The curves for ``side`` over ``sizes_usd`` (ascending; default :func:`size_grid`).

    Only live venues with levels on the order's side are walked and merged, as
    ``best_execution`` does. Raises NoConsolidatedMid as ``best_execution`` does.
    """
    if side not in SIDES:
        raise ValueError(f"side must be buy or sell, not {side!r}")
    sign = SIDES[side]
    sizes = size_grid() if sizes_usd is None else np.ascontiguousarray(sizes_usd, dtype=np.float64)
    books = sorted(books, key=lambda b: b.key)
    bid, ask = consolidated_touch(books)
    mid = 0.5 * (bid + ask)
    if not math.isfinite(mid):
        raise NoConsolidatedMid("no consolidated mid: the live venues show no bid or no ask")
    used = [i for i, b in enumerate(books) if b.state == LIVE and b.side(sign)[0].shape[0]]
    px, qty, venues = pack([books[i] for i in used], sign)
    nu, m = len(used), sizes.shape[0]
    net_usd = np.empty((nu + 1, m))
    net_bps = np.empty((nu + 1, m))
    max_base = np.empty(nu + 1)
    net_cost_curves(px, qty, venues, float(sign), sizes / mid, mid, net_usd, net_bps, max_base)
    venue_usd = np.full((len(books), m), np.nan)
    venue_bps = np.full((len(books), m), np.nan)
    max_usd = np.zeros(len(books))
    venue_usd[used] = net_usd[:nu]
    venue_bps[used] = net_bps[:nu]
    max_usd[used] = max_base[:nu] * mid
    return VenueCurves(side, mid, sizes, tuple(b.key for b in books), venue_usd, venue_bps,
                       net_usd[nu], net_bps[nu], max_usd, float(max_base[nu] * mid))


def bench_curves(calls: int = 2000, n_levels: int = 400, points: int = GRID_POINTS,
                 seed: int = 0) -> dict[str, object]:
    """Cost of the curves over three ``n_levels`` books and ``points`` grid sizes, per call in
    microseconds (p50/p99, wall and thread CPU): the Numba kernel on packed arrays, and the
    whole ``venue_curves`` call (sorting, packing, result object)."""
    from core.compute.best_execution import _percentiles, synthetic_books

    books = synthetic_books(n_levels, seed)
    out: dict[str, object] = {"levels_per_book": n_levels, "books": len(books), "grid_points": points}
    for side in SIDES:
        c = venue_curves(books, side, size_grid(points=points))  # compiles / loads the kernels
        px, qty, venues = pack(books, SIDES[side])
        targets = c.sizes_usd / c.reference_px
        nu_usd = np.empty((len(books) + 1, points))
        nu_bps = np.empty_like(nu_usd)
        max_base = np.empty(len(books) + 1)
        sign = float(SIDES[side])
        grid = size_grid(points=points)
        out[f"kernel_{side}"] = _percentiles(
            lambda: net_cost_curves(px, qty, venues, sign, targets, c.reference_px, nu_usd, nu_bps, max_base), calls)
        out[f"venue_curves_{side}"] = _percentiles(lambda: venue_curves(books, side, grid), calls)
    return out


if __name__ == "__main__":
    import json
    print(json.dumps(bench_curves()))
