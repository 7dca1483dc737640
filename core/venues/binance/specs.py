"""Binance instrument specs from ``resources/instruments_binance.toml`` (one table per venue).

The same symbol lives on both venues with different ticks and lots, so the table is keyed by
(venue, symbol), not by symbol alone as ``resources/instruments.toml`` is. A symbol not in
the file still works: Binance sizes count the base asset, so :func:`generic_instrument`
gives a linear spec with contract value 1 and the quote currency read off the symbol; its
tick and lot are unknown: the finest step is assumed and the spec says it was inferred.
"""
from __future__ import annotations

import tomllib
from functools import lru_cache

from core.instruments import CONTRACT_TYPES, SIZE_UNITS, Instrument, UnknownInstrument, inferred_linear
from core.resources import resource_path

SPEC_FILE = "instruments_binance.toml"
#: quote assets recognised at the end of a symbol, longest first (FDUSD before USD...)
_KIND = {"binance-usdm": ("swap", "linear"), "binance-spot": ("spot", "spot")}


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, Instrument]]:
    with open(resource_path(SPEC_FILE), "rb") as fh:
        raw = tomllib.load(fh)
    out: dict[str, dict[str, Instrument]] = {}
    for venue, symbols in raw.items():
        for symbol, spec in symbols.items():
            inst = Instrument(inst_id=symbol, **spec)
            if inst.contract_type not in CONTRACT_TYPES or inst.size_unit not in SIZE_UNITS:
                raise ValueError(f"{SPEC_FILE}: bad contract_type/size_unit for {venue} {symbol}")
            out.setdefault(venue, {})[symbol] = inst
    return out


def known_symbols(venue: str) -> list[str]:
    return sorted(_table().get(venue, {}))


def binance_instrument(venue: str, symbol: str) -> Instrument:
    """The spec of ``symbol`` on ``venue``; UnknownInstrument listing the known ones."""
    specs = _table().get(venue, {})
    if symbol not in specs:
        raise UnknownInstrument(f"unknown {venue} symbol {symbol!r}; known: {', '.join(sorted(specs))}")
    return specs[symbol]


def generic_instrument(venue: str, symbol: str) -> Instrument:
    """A linear base-unit spec for a symbol the file does not list (``inferred`` set)."""
    if venue not in _KIND:
        raise ValueError(f"venue {venue!r} is not a Binance venue")
    kind, contract_type = _KIND[venue]
    return inferred_linear(symbol, "Binance", kind, contract_type)
