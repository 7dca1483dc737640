"""Numba kernels for book features: mid, microprice, spread, imbalance, depth within bps.

Sizes are in base units (see ``kernels.to_base_sizes``); sides are best-first.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from core.compute.kernels import to_base_sizes


@njit(nogil=True, cache=True)
def top_of_book(bid_px, bid_qty, ask_px, ask_qty):
    """(mid, microprice, spread, spread_bps, top-level imbalance); NaN when a side is empty.

    Microprice weights each touch price by the *opposite* size: a thin ask pulls the fair
    price up towards it. Imbalance is (bid - ask) / (bid + ask) in [-1, 1].
    """
    if bid_px.shape[0] == 0 or ask_px.shape[0] == 0:
        return np.nan, np.nan, np.nan, np.nan, np.nan
    bid = bid_px[0]
    ask = ask_px[0]
    bq = bid_qty[0]
    aq = ask_qty[0]
    mid = 0.5 * (bid + ask)
    micro = (bid * aq + ask * bq) / (bq + aq)
    spread = ask - bid
    return mid, micro, spread, spread / mid * 1e4, (bq - aq) / (bq + aq)


@njit(nogil=True, cache=True)
def weighted_imbalance(bid_qty, ask_qty, k):
    """Imbalance over the top ``k`` levels with linearly decaying weights (k, k-1, ..., 1)/k,
    so the touch counts most and level k a little. NaN when both sides are empty."""
    bid_sum = 0.0
    ask_sum = 0.0
    for i in range(min(k, bid_qty.shape[0])):
        bid_sum += bid_qty[i] * (k - i) / k
    for i in range(min(k, ask_qty.shape[0])):
        ask_sum += ask_qty[i] * (k - i) / k
    total = bid_sum + ask_sum
    if total == 0.0:
        return np.nan
    return (bid_sum - ask_sum) / total


@njit(nogil=True, cache=True)
def depth_within(px, qty, mid, bps, is_bid, out_base, out_quote):
    """Base size and quote notional resting within ``bps[j]`` basis points of ``mid``.

    Bids count when (mid - px) / mid <= x/1e4; asks when (px - mid) / mid <= x/1e4.
    ``bps`` ascending. Levels are sorted away from the mid, so one pass assigns each level
    to the narrowest band holding it and a running sum widens the bands: O(levels + bands).
    """
    m = bps.shape[0]
    for j in range(m):
        out_base[j] = 0.0
        out_quote[j] = 0.0
    if m == 0:
        return out_base, out_quote
    j = 0
    base = 0.0  # the current band's sums, kept in registers and stored when the band changes
    quote = 0.0  # (adding into out_* directly chains every level through memory)
    for i in range(px.shape[0]):
        dist_bps = (mid - px[i]) / mid * 1e4 if is_bid else (px[i] - mid) / mid * 1e4
        if dist_bps > bps[j]:
            out_base[j] = base
            out_quote[j] = quote
            while j < m and dist_bps > bps[j]:
                j += 1
            if j == m:
                break
            base = out_base[j]
            quote = out_quote[j]
        base += qty[i]
        quote += px[i] * qty[i]
    if j < m:
        out_base[j] = base
        out_quote[j] = quote
    for j in range(1, m):
        out_base[j] += out_base[j - 1]
        out_quote[j] += out_quote[j - 1]
    return out_base, out_quote


@njit(nogil=True, cache=True)
def book_features(bid_px, bid_qty, ask_px, ask_qty, k, bands, scalars, depth):
    """All per-book features in one compiled call (one dispatch instead of five).

    ``scalars`` <- [mid, microprice, spread, spread_bps, imbalance_top, imbalance_weighted];
    ``depth`` rows <- bid base, bid quote, ask base, ask quote within each of ``bands`` bps.
    """
    mid, micro, spread, spread_bps, imb = top_of_book(bid_px, bid_qty, ask_px, ask_qty)
    scalars[0] = mid
    scalars[1] = micro
    scalars[2] = spread
    scalars[3] = spread_bps
    scalars[4] = imb
    scalars[5] = weighted_imbalance(bid_qty, ask_qty, k)
    if np.isfinite(mid):
        depth_within(bid_px, bid_qty, mid, bands, True, depth[0], depth[1])
        depth_within(ask_px, ask_qty, mid, bands, False, depth[2], depth[3])
    else:
        depth[:, :] = 0.0


@njit(nogil=True, cache=True)
def book_state(bid_px, bid_sz, ask_px, ask_sz, multiplier, inverse, k, bands, bid_qty, ask_qty,
               scalars, depth):
    """Base-unit sizes of both sides, then book_features on them: one call per book version."""
    to_base_sizes(bid_px, bid_sz, multiplier, inverse, bid_qty)
    to_base_sizes(ask_px, ask_sz, multiplier, inverse, ask_qty)
    book_features(bid_px, bid_qty, ask_px, ask_qty, k, bands, scalars, depth)
