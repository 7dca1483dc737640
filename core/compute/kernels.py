"""Numba kernels over one side of a book: walking it, whole cost curves, base-unit sizes.

Conventions shared by every kernel here:
- ``px`` is one side best-first (asks ascending for a buy, bids descending for a sell);
- ``qty`` holds the same levels' sizes in *base* units (see :func:`to_base_sizes`);
- a target is in base units, or in quote currency when ``in_quote`` is true;
- sums run in level order with the same operations in every kernel, so the one-shot walk
  and the cost curve agree bit for bit (checked against a plain-Python reference).
A book that cannot fill a target reports the part it could fill; nothing is extrapolated.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def to_base_sizes(px, sz, multiplier, inverse, out):
    """Book sizes -> base units: ``sz * multiplier``, or ``sz * multiplier / px`` for inverse
    contracts (whose contract value is in quote currency). Writes ``out[:n]``."""
    n = px.shape[0]
    for i in range(n):
        if inverse:
            out[i] = sz[i] * multiplier / px[i]
        else:
            out[i] = sz[i] * multiplier
    return out[:n]


@njit(nogil=True, cache=True)
def walk_book(px, qty, target, in_quote):
    """Fill ``target`` against one side. Returns (filled_base, filled_quote, worst_px, levels).

    ``levels`` counts the levels touched, the partially taken one included; ``worst_px`` is
    NaN when nothing was filled. The unfilled remainder is ``target`` minus the filled amount
    in the target's unit.
    """
    n = px.shape[0]
    cum_base = 0.0
    cum_quote = 0.0
    worst = np.nan
    levels = 0
    if not target > 0.0:
        return 0.0, 0.0, worst, 0
    for i in range(n):
        next_base = cum_base + qty[i]
        next_quote = cum_quote + px[i] * qty[i]
        levels += 1
        worst = px[i]
        if in_quote and next_quote >= target:
            take_quote = target - cum_quote
            return cum_base + take_quote / px[i], target, worst, levels
        if not in_quote and next_base >= target:
            take_base = target - cum_base
            return target, cum_quote + take_base * px[i], worst, levels
        cum_base = next_base
        cum_quote = next_quote
    return cum_base, cum_quote, worst, levels


@njit(nogil=True, cache=True)
def prefix_sums(px, qty, cum_base, cum_quote):
    """Cumulative base size and quote notional per level, in level order (as walk_book sums)."""
    base = 0.0
    quote = 0.0
    for i in range(px.shape[0]):
        base = base + qty[i]
        quote = quote + px[i] * qty[i]
        cum_base[i] = base
        cum_quote[i] = quote


@njit(nogil=True, cache=True)
def cost_curve(px, qty, targets, in_quote, filled_base, filled_quote, worst_px, levels):
    """walk_book for every target at once in O(N + M log N): prefix sums + binary search.

    Writes one result per target into the four output arrays (same meaning as walk_book).
    """
    n = px.shape[0]
    cum_base = np.empty(n)
    cum_quote = np.empty(n)
    prefix_sums(px, qty, cum_base, cum_quote)
    curve_on_prefix(px, cum_base, cum_quote, targets, in_quote, False, filled_base, filled_quote,
                    worst_px, levels)


@njit(nogil=True, cache=True)
def curve_on_prefix(px, cum_base, cum_quote, targets, in_quote, merge, filled_base, filled_quote,
                    worst_px, levels):
    """cost_curve's walk on precomputed prefix sums.

    The first level whose cumulative size reaches a target is found by binary search, or,
    with ``merge``, by one forward merge of levels and targets: O(N + M) for targets that
    ascend, as a grid does (cheaper than a search's unpredictable branches). A target
    smaller than the one before restarts the merge, so both give the same result in any
    order. Kept as one loop on purpose: helpers taking the arrays, called per target, cost
    Numba a reference-count update per array per call (several times the work itself).
    """
    n = px.shape[0]
    cum = cum_quote if in_quote else cum_base
    i = 0
    last = 0.0
    for j in range(targets.shape[0]):
        target = targets[j]
        if not target > 0.0:
            filled_base[j] = 0.0
            filled_quote[j] = 0.0
            worst_px[j] = np.nan
            levels[j] = 0
            continue
        if merge:
            if target < last:
                i = 0
            last = target
            while i < n and cum[i] < target:
                i += 1
        else:
            i = np.searchsorted(cum, target)  # first level whose cumulative reaches the target
        if i >= n:
            filled_base[j] = cum_base[n - 1] if n > 0 else 0.0
            filled_quote[j] = cum_quote[n - 1] if n > 0 else 0.0
            worst_px[j] = px[n - 1] if n > 0 else np.nan
            levels[j] = n
            continue
        prev_base = cum_base[i - 1] if i > 0 else 0.0
        prev_quote = cum_quote[i - 1] if i > 0 else 0.0
        if in_quote:
            filled_base[j] = prev_base + (target - prev_quote) / px[i]
            filled_quote[j] = target
        else:
            filled_base[j] = target
            filled_quote[j] = prev_quote + (target - prev_base) * px[i]
        worst_px[j] = px[i]
        levels[j] = i + 1


@njit(nogil=True, cache=True)
def fillable(px, qty, in_quote):
    """Everything one side can fill, in base units or quote currency."""
    total = 0.0
    for i in range(px.shape[0]):
        total = total + (px[i] * qty[i] if in_quote else qty[i])
    return total


@njit(nogil=True, cache=True)
def geometric_grid(lo, hi, out):
    """``out`` <- lo .. hi evenly spaced on a log scale (endpoints exact)."""
    m = out.shape[0]
    if m == 1:
        out[0] = hi
        return out
    step = np.exp(np.log(hi / lo) / (m - 1))
    out[0] = lo
    for j in range(1, m):
        out[j] = out[j - 1] * step
    out[0] = lo
    out[m - 1] = hi
    return out


@njit(nogil=True, cache=True)
def slippage_bps(filled_base, filled_quote, ref_px, sign, out):
    """Cost of each fill's average price against ``ref_px`` in bps (NaN where nothing filled).

    ``sign`` is +1 for a buy (paying above the reference costs) and -1 for a sell.
    """
    for j in range(filled_base.shape[0]):
        if filled_base[j] > 0.0:
            avg = filled_quote[j] / filled_base[j]
            out[j] = sign * (avg - ref_px) / ref_px * 1e4
        else:
            out[j] = np.nan
    return out


@njit(nogil=True, cache=True)
def order_cost_curve(px, qty, quantity, in_quote, mid, sign, out, levels):
    """The cost curve shown around one order: a log grid from 1% of the order (or of the
    fillable depth) to past the point where the side runs out, walked in one pass.

    ``out`` rows <- targets, filled base, filled quote, worst price, average price,
    slippage vs mid (bps), slippage vs best (bps). Returns the side's fillable total.
    """
    targets, filled_base, filled_quote, worst_px = out[0], out[1], out[2], out[3]
    n = px.shape[0]
    cum_base = np.empty(n)
    cum_quote = np.empty(n)
    prefix_sums(px, qty, cum_base, cum_quote)  # the last one is fillable(): same sums
    max_fill = (cum_quote[n - 1] if in_quote else cum_base[n - 1]) if n > 0 else 0.0
    hi = max(max_fill * 1.25, quantity * 1.5)
    lo = max(min(quantity, max_fill) / 100.0, hi * 1e-6)
    if not (hi > 0.0 and lo > 0.0):  # (lo underflows to 0 for a subnormal order on an empty side)
        targets[:] = 0.0
    else:
        geometric_grid(lo, hi, targets)
    curve_on_prefix(px, cum_base, cum_quote, targets, in_quote, True, filled_base, filled_quote,
                    worst_px, levels)
    for j in range(targets.shape[0]):
        out[4, j] = filled_quote[j] / filled_base[j] if filled_base[j] > 0.0 else np.nan
    slippage_bps(filled_base, filled_quote, mid, sign, out[5])
    best = px[0] if px.shape[0] > 0 else np.nan
    slippage_bps(filled_base, filled_quote, best, sign, out[6])
    return max_fill


@njit(nogil=True, cache=True)
def slippage_vs(avg_px, ref_px, filled_base, sign):
    """Cost of filling at ``avg_px`` instead of ``ref_px``: (bps of ref, quote currency), NaN
    when nothing filled. Positive is a cost. Same operations as ``engine.slippage``."""
    if not (filled_base > 0.0 and ref_px > 0.0 and np.isfinite(avg_px)):
        return np.nan, np.nan
    diff = sign * (avg_px - ref_px)
    return diff / ref_px * 1e4, diff * filled_base


# price_order's ``fill`` row layout
F_BASE, F_QUOTE, F_WORST, F_LEVELS, F_AVG, F_BEST, F_UNFILLED = range(7)
F_SLIP_MID_BPS, F_SLIP_MID_USD, F_SLIP_BEST_BPS, F_SLIP_BEST_USD = range(7, 11)
N_FILL = 11


@njit(nogil=True, cache=True)
def price_order(px, qty, quantity, in_quote, mid, sign, fill, curve, curve_levels):
    """One order on one side in one call: the exact walk (``fill``, layout ``F_*``) and the
    cost curve around it (``order_cost_curve`` into ``curve``/``curve_levels``).

    Returns the side's fillable total (the curve's ``max_fill``).
    """
    base, quote, worst, levels = walk_book(px, qty, quantity, in_quote)
    avg = quote / base if base > 0.0 else np.nan
    best = px[0] if px.shape[0] > 0 else np.nan
    fill[F_BASE] = base
    fill[F_QUOTE] = quote
    fill[F_WORST] = worst
    fill[F_LEVELS] = levels
    fill[F_AVG] = avg
    fill[F_BEST] = best
    fill[F_UNFILLED] = max(quantity - (quote if in_quote else base), 0.0)
    fill[F_SLIP_MID_BPS], fill[F_SLIP_MID_USD] = slippage_vs(avg, mid, base, sign)
    fill[F_SLIP_BEST_BPS], fill[F_SLIP_BEST_USD] = slippage_vs(avg, best, base, sign)
    return order_cost_curve(px, qty, quantity, in_quote, mid, sign, curve, curve_levels)
