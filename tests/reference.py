"""Plain-Python references for the Numba kernels: obvious loops, same order of operations.

The kernels must match these exactly (same float operations in the same order) and match
an exact rational computation (fractions) to rounding.
"""
from __future__ import annotations

import math


def walk(px: list[float], qty: list[float], target: float, in_quote: bool):
    """(filled_base, filled_quote, worst_px, levels) by walking level by level."""
    base = quote = 0.0
    worst = math.nan
    levels = 0
    if not target > 0:
        return 0.0, 0.0, math.nan, 0
    for p, q in zip(px, qty):
        levels += 1
        worst = p
        if in_quote and quote + p * q >= target:
            return base + (target - quote) / p, target, worst, levels
        if not in_quote and base + q >= target:
            return target, quote + (target - base) * p, worst, levels
        base = base + q
        quote = quote + p * q
    return base, quote, worst, levels


def depth_within(px, qty, mid, bps, is_bid):
    base, quote = [], []
    for x in bps:
        b = q = 0.0
        for p, s in zip(px, qty):
            dist = (mid - p) / mid * 1e4 if is_bid else (p - mid) / mid * 1e4
            if dist <= x:
                b += s
                q += p * s
        base.append(b)
        quote.append(q)
    return base, quote


def ewma_variance(times, mids, tau):
    v = math.nan
    out = [math.nan]
    last_t, last_m = times[0], mids[0]
    for t, m in zip(times[1:], mids[1:]):
        dt = t - last_t
        if dt > 0 and m > 0:
            r = math.log(m / last_m)
            inst = r * r / dt
            w = math.exp(-dt / tau)
            v = inst if math.isnan(v) else w * v + (1 - w) * inst
            last_t, last_m = t, m
        out.append(v)
    return out
