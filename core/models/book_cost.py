"""Numba kernels the models need on top of ``core.compute.kernels``: walking to a limit price, the
cost of a walk in bps of notional, and the local slope of the book's cost curve.

Conventions as in ``core.compute.kernels``: one side best-first, sizes in base units, ``sign`` +1 for
a buy (walks the asks) and -1 for a sell (walks the bids).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from core.compute.kernels import walk_book

#: order-size multiples at which the cost curve's slope is sampled ("around the order size")
SLOPE_MULTIPLES = np.array([0.5, 0.5 ** 0.5, 1.0, 2.0 ** 0.5, 2.0])


@njit(nogil=True, cache=True)
def walk_to_limit(px, qty, target, in_quote, limit, sign):
    """Fill ``target`` but only at prices no worse than ``limit`` (the crossing part of a
    limit order). Returns (filled_base, filled_quote, levels)."""
    base = 0.0
    quote = 0.0
    levels = 0
    if not target > 0.0:
        return 0.0, 0.0, 0
    for i in range(px.shape[0]):
        p = px[i]
        if sign * (p - limit) > 0.0:
            break
        levels += 1
        next_base = base + qty[i]
        next_quote = quote + p * qty[i]
        if in_quote and next_quote >= target:
            return base + (target - quote) / p, target, levels
        if not in_quote and next_base >= target:
            return target, quote + (target - base) * p, levels
        base = next_base
        quote = next_quote
    return base, quote, levels


@njit(nogil=True, cache=True)
def walk_cost_bps(px, qty, target, in_quote, ref_px, sign, notional):
    """Cost of a market order against ``ref_px`` in bps of ``notional`` (NaN if the side
    cannot fill it): ``sign * (quote - ref_px * base) / notional * 1e4``."""
    base, quote, _worst, _levels = walk_book(px, qty, target, in_quote)
    filled = quote if in_quote else base
    if not (filled >= target * (1.0 - 1e-12)) or not base > 0.0:
        return np.nan
    return sign * (quote - ref_px * base) / notional * 1e4


@njit(nogil=True, cache=True)
def cost_slope(px, qty, size_base, sign, multiples):
    """Slope k of the average fill price beyond the touch, per base unit, around ``size_base``.

    For q in ``size_base * multiples`` the secant slope ``sign * (avg(q) - best) / q`` is the
    k of a linear-impact book (avg = best + k q), so a walk of q costs ~ eps q + k q^2 against
    the mid; the mean over the sizes the side can fill is returned with how many were
    fillable. k is >= 0 by construction (NaN if none fill).
    """
    if px.shape[0] == 0 or not size_base > 0.0:
        return np.nan, 0
    best = px[0]
    total = 0.0
    n = 0
    for j in range(multiples.shape[0]):
        q = size_base * multiples[j]
        base, quote, _worst, _levels = walk_book(px, qty, q, False)
        if base < q * (1.0 - 1e-12):
            continue
        total += sign * (quote / base - best) / q
        n += 1
    if n == 0:
        return np.nan, 0
    return max(total / n, 0.0), n


@njit(nogil=True, cache=True)
def next_price_beyond(px, limit, sign):
    """First price on this side strictly worse than ``limit`` for the taker (the opposite
    touch a resting order faces once its crossing part has filled); NaN if none."""
    for i in range(px.shape[0]):
        if sign * (px[i] - limit) > 0.0:
            return px[i]
    return np.nan


@njit(nogil=True, cache=True)
def queue_ahead(px, qty, limit, sign):
    """Base size resting at prices at least as good as ``limit`` on the order's own side
    (bids >= limit for a buy, asks <= limit for a sell): what fills before a new order."""
    total = 0.0
    for i in range(px.shape[0]):
        if sign * (px[i] - limit) < 0.0:
            break
        total += qty[i]
    return total


def finite_or(value: float, default: float) -> float:
    return value if math.isfinite(value) else default
