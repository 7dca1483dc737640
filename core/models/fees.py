"""Exchange fee schedules as data (``resources/fees/*.toml``) and the expected fee of an order.

The schedule is rule-based, not estimated: a tier has one maker and one taker rate per
market (spot, swap...). The only uncertain part of a fee is *how much of the order fills as
maker*, which the maker/taker model supplies; here expected fee =
taker rate x taker notional + maker rate x expected maker notional.

Adding an exchange is one TOML file with the same layout as ``okx.toml``.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache

from core.resources import resource_path


class UnknownFeeSchedule(ValueError):
    """An exchange, market or fee tier the schedules do not list; the message lists what exists."""


class UnknownExchange(UnknownFeeSchedule):
    pass


class UnknownMarket(UnknownFeeSchedule):
    pass


class UnknownFeeTier(UnknownFeeSchedule):
    pass


@dataclass(frozen=True, slots=True)
class FeeRate:
    """One tier's rates as fractions of notional (positive = the trader pays)."""

    exchange: str
    market: str
    tier: str
    maker: float
    taker: float
    source: str

    def expected_fee(self, taker_notional: float, maker_notional: float) -> float:
        """Fee in quote currency for the taker part and the (expected) maker part."""
        return self.taker * taker_notional + self.maker * maker_notional


@dataclass(frozen=True, slots=True)
class MarketSchedule:
    market: str
    description: str
    source: str
    tiers: dict[str, FeeRate]  # keyed by normalised tier name, in file order


def _key(name: str) -> str:
    """'VIP 1', 'vip1', 'VIP1' -> 'vip1': users type tiers every which way."""
    return "".join(name.split()).lower()


def _load_file(path) -> tuple[str, dict[str, MarketSchedule]]:
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    exchange = raw["exchange"]
    markets = {}
    for market, spec in raw["markets"].items():
        tiers = {}
        for t in spec["tiers"]:
            maker, taker = float(t["maker"]), float(t["taker"])
            if not (-0.01 < maker < 0.01 and 0.0 <= taker < 0.01):
                raise ValueError(f"{path.name}: implausible rates for {market} {t['name']}")
            tiers[_key(t["name"])] = FeeRate(exchange, market, t["name"], maker, taker, spec["source"])
        markets[market] = MarketSchedule(market, spec.get("description", ""), spec["source"], tiers)
    return exchange, markets


@lru_cache(maxsize=1)
def schedules() -> dict[str, tuple[str, dict[str, MarketSchedule]]]:
    """Every fee file under resources/fees, keyed by lower-case exchange name."""
    out = {}
    for path in sorted(resource_path("fees").glob("*.toml")):
        exchange, markets = _load_file(path)
        out[exchange.lower()] = (exchange, markets)
    return out


def known_exchanges() -> list[str]:
    return [name for name, _ in schedules().values()]


def market_schedule(exchange: str, market: str) -> MarketSchedule:
    table = schedules()
    entry = table.get(exchange.lower())
    if entry is None:
        raise UnknownExchange(f"no fee schedule for exchange {exchange!r}; known: {', '.join(known_exchanges())}")
    name, markets = entry
    if market not in markets:
        raise UnknownMarket(f"{name} has no fee schedule for {market!r} instruments; known: {', '.join(markets)}")
    return markets[market]


def known_tiers(exchange: str, market: str) -> list[str]:
    """Tier names in the order the exchange publishes them (what a tier picker offers)."""
    return [rate.tier for rate in market_schedule(exchange, market).tiers.values()]


def fee_rate(exchange: str, market: str, tier: str) -> FeeRate:
    """The rates for ``tier``; raises a :class:`UnknownFeeSchedule` subclass listing the options."""
    sched = market_schedule(exchange, market)
    rate = sched.tiers.get(_key(tier))
    if rate is None:
        raise UnknownFeeTier(
            f"unknown fee tier {tier!r} for {rate_owner(exchange)} {market}; known: {', '.join(known_tiers(exchange, market))}")
    return rate


def rate_owner(exchange: str) -> str:
    entry = schedules().get(exchange.lower())
    return entry[0] if entry else exchange
