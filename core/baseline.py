"""A naive pure-Python pipeline, as a simple first version of this tool would be written.

Only for ``slipscope bench``: it is the yardstick our Numba pipeline is measured against,
in the same process on the same messages. json.loads, float() per level, Python lists and
loops, and a cost curve that walks the book from scratch for every size.
"""
from __future__ import annotations

import json
import math


def naive_walk(levels: list[tuple[float, float]], target_usd: float) -> tuple[float, float]:
    """(filled base, filled quote) for a quote-notional target."""
    base = quote = 0.0
    for px, qty in levels:
        if quote + px * qty >= target_usd:
            rest = target_usd - quote
            return base + rest / px, target_usd
        base += qty
        quote += px * qty
    return base, quote


def naive_pipeline(raw: bytes | str, contract_value: float, quantity_usd: float,
                   curve_usd: list[float], bands_bps: tuple[float, ...]) -> dict:
    msg = json.loads(raw)
    asks = sorted((float(p), float(s) * contract_value) for p, s, *_ in msg["asks"])
    bids = sorted(((float(p), float(s) * contract_value) for p, s, *_ in msg["bids"]), reverse=True)
    best_bid, best_ask = bids[0][0], asks[0][0]
    mid = (best_bid + best_ask) / 2
    bq, aq = bids[0][1], asks[0][1]
    features = {
        "mid": mid,
        "microprice": (best_bid * aq + best_ask * bq) / (bq + aq),
        "spread": best_ask - best_bid,
        "spread_bps": (best_ask - best_bid) / mid * 1e4,
        "imbalance": (bq - aq) / (bq + aq),
        "depth": [
            (sum(q for p, q in bids if (mid - p) / mid * 1e4 <= x),
             sum(q for p, q in asks if (p - mid) / mid * 1e4 <= x))
            for x in bands_bps
        ],
    }
    base, quote = naive_walk(asks, quantity_usd)
    avg = quote / base if base else math.nan
    curve = []
    for q in curve_usd:
        b, qq = naive_walk(asks, q)
        curve.append(((qq / b) - mid) / mid * 1e4 if b else math.nan)
    return {"features": features, "avg": avg, "slippage_bps": (avg - mid) / mid * 1e4, "curve": curve}
