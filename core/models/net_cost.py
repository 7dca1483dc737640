"""Net cost = expected slippage + expected market impact + expected fees, without double counting.

What each part of a fill's cost against the reference is (buy shown; a sell mirrors it):

- spread crossing: (touch - mid) x base filled at the touch side. Only when the reference
  is the mid; against the same-side best it is zero by definition.
- book walk (transient): what walking the book beyond the touch costs, minus the part
  counted as permanent impact below. This and the spread are the exact visible-book cost.
- execution delay: the model's expected cost after the delay minus the exact cost now
  (market orders; the online regression's mean), times the weight the model has earned on
  the order's side (``slippage_model.skill_weight``: 0 until it has beaten the naive "book
  now" predictor prequentially, so an unproven model leaves the headline at the exact cost).
- permanent impact: gamma X^2 / 2, the share of the book-walk cost that is *not* expected
  to revert. Walking the book moves the mid by gamma per unit, so over the fill the order
  pays on average half of the final shift gamma X: it is carved out of the book-walk cost
  (capped by it), never added on top. That is also Almgren & Chriss's permanent term for a
  schedule, so the immediate and scheduled views count impact the same way. The mid shift
  itself (gamma X) is reported, but is not a cash cost of this order.
- maker fill vs reference (limit orders): the expected price of the resting part against
  the reference (negative for a passive order: it earns part of the spread).
- fees: taker rate on the crossing part, maker rate on the expected maker part.
"""
from __future__ import annotations

import math

from core.models.estimate import CostItem

SLIPPAGE, IMPACT, FEES = "slippage", "impact", "fees"


def permanent_share(walk_usd: float, gamma: float, base: float) -> float:
    """gamma base^2 / 2, within [0, walk_usd] (NaN gamma: nothing is counted as permanent)."""
    if not (math.isfinite(gamma) and walk_usd > 0.0):
        return 0.0
    return min(max(0.5 * gamma * base * base, 0.0), walk_usd)


def decompose(items: list[tuple[str, str, float]], notional: float
              ) -> tuple[tuple[CostItem, ...], tuple[float, float, float], float, float]:
    """Turn (kind, name, usd) items into CostItems and totals that add up exactly.

    Every total is ``math.fsum`` of its items, the exact sum of the floats shown rounded
    once: ``math.fsum(c.usd for c in components) == net_usd`` (and likewise in bps) holds bit
    for bit; a plain left-to-right ``sum`` agrees to the last rounding.
    Returns (components, (slippage, impact, fees) usd totals, net usd, net bps).
    """
    scale = 1e4 / notional if notional > 0 else math.nan
    components, usds, bpss = [], [], []
    slippage, impact, fees = [], [], []
    by_kind = {SLIPPAGE: slippage, IMPACT: impact, FEES: fees}
    for kind, name, usd in items:  # one pass: this runs on every estimate
        bps = usd * scale
        components.append(_cost_item(CostItem, (name, usd, bps)))
        usds.append(usd)
        bpss.append(bps)
        by_kind[kind].append(usd)
    fsum = math.fsum
    return tuple(components), (fsum(slippage), fsum(impact), fsum(fees)), fsum(usds), fsum(bpss)


_cost_item = tuple.__new__  # CostItem(name, usd, bps) without NamedTuple's Python-level __new__


def market_order_items(reference: str, spread_usd: float, walk_usd: float, delay_usd: float,
                       impact_usd: float, taker_fee_usd: float) -> list[tuple[str, str, float]]:
    """Items of a market order. ``walk_usd`` is the whole beyond-the-touch cost; the
    permanent share ``impact_usd`` is taken out of it here."""
    items = []
    if reference == "mid":
        items.append((SLIPPAGE, "spread crossing", spread_usd))
    items += [
        (SLIPPAGE, "book walk (transient)", walk_usd - impact_usd),
        (SLIPPAGE, "execution delay (model x skill weight)", delay_usd),
        (IMPACT, "permanent impact", impact_usd),
        (FEES, "taker fee", taker_fee_usd),
    ]
    return items


def limit_order_items(reference: str, spread_usd: float, walk_usd: float, impact_usd: float,
                      maker_vs_ref_usd: float, taker_fee_usd: float, maker_fee_usd: float
                      ) -> list[tuple[str, str, float]]:
    """Items of a limit order: its crossing part as a market order (no delay term: the limit
    price caps it), its resting part at the expected fill probability."""
    items = []
    if reference == "mid":
        items.append((SLIPPAGE, "spread crossing (taker part)", spread_usd))
    items += [
        (SLIPPAGE, "book walk (taker part, transient)", walk_usd - impact_usd),
        (SLIPPAGE, "maker fill vs reference (expected)", maker_vs_ref_usd),
        (IMPACT, "permanent impact (taker part)", impact_usd),
        (FEES, "taker fee", taker_fee_usd),
        (FEES, "maker fee (expected)", maker_fee_usd),
    ]
    return items
