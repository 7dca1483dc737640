"""Bybit test material: seeded synthetic markets and whole sessions as a client receives them
(for the adapter's tests and the shared conformance module)."""
from __future__ import annotations

import orjson

from core.sim.market import MarketConfig, SyntheticMarket
from core.venues.bybit.specs import bybit_instrument
from core.venues.bybit.synthetic import BybitEncoder, BybitServerSession


def synthetic_market(category: str, symbol: str, seed: int = 7, depth: int = 50, **overrides) -> SyntheticMarket:
    """A seeded market for a Bybit symbol whose window is the topic's ``depth``."""
    inst = bybit_instrument(category, symbol)
    return SyntheticMarket(seed, MarketConfig.for_spec(inst, levels=depth, **overrides), inst)


def session_frames(category: str = "linear", symbol: str = "BTCUSDT", steps: int = 200, seed: int = 7,
                   depth: int = 50) -> tuple[list[bytes], list[tuple[float, float]], list[tuple[float, float]]]:
    """What a client receives: the subscribe answer, a snapshot, ``steps`` deltas and a pong
    half-way; with the book those frames must end on (bids, asks as (price, size), best first)."""
    market = synthetic_market(category, symbol, seed, depth)
    encoder = BybitEncoder(market, category)
    session = BybitServerSession(category, (symbol,), depth)
    answer = session.answer(orjson.dumps({"op": "subscribe", "args": [encoder.topic]}))
    step = market.step()
    frames = answer.replies + [encoder.snapshot_text(step)]
    for k in range(steps):
        step = market.step()
        frames.append(encoder.update_text(step))
        if k == steps // 2:
            frames += session.answer(b'{"op":"ping"}', step.ts_ms).replies
    return frames, expected_levels(market, step.bids), expected_levels(market, step.asks)


def expected_levels(market: SyntheticMarket, levels: list[tuple[int, int]]) -> list[tuple[float, float]]:
    """A step's (tick, lots) levels as the floats a decoder must produce from their texts."""
    return [(float(market.px_text(t)), float(market.sz_text(n))) for t, n in levels]


def conformance_case(venue: str = "bybit-linear", steps: int = 200, seed: int = 7):
    """(venue name, frames, expected bids, expected asks) for the shared conformance module."""
    category = venue.removeprefix("bybit-")
    frames, bids, asks = session_frames(category, "BTCUSDT", steps, seed)
    return venue, frames, bids, asks
