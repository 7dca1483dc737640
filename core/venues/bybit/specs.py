"""Bybit instrument specs, read from ``resources/instruments_bybit.toml`` (category -> symbol)."""
from __future__ import annotations

import tomllib
from functools import lru_cache

from core.instruments import CONTRACT_TYPES, SIZE_UNITS, Instrument, UnknownInstrument, inferred_linear
from core.resources import resource_path

SPEC_FILE = "instruments_bybit.toml"
CATEGORIES = ("linear", "spot")


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, Instrument]]:
    with open(resource_path(SPEC_FILE), "rb") as fh:
        raw = tomllib.load(fh)
    out: dict[str, dict[str, Instrument]] = {}
    for category, symbols in raw.items():
        if category not in CATEGORIES:
            raise ValueError(f"{SPEC_FILE}: unknown category {category!r}")
        out[category] = {}
        for symbol, spec in symbols.items():
            inst = Instrument(inst_id=symbol, **spec)
            if inst.contract_type not in CONTRACT_TYPES or inst.size_unit not in SIZE_UNITS:
                raise ValueError(f"{SPEC_FILE}: bad contract_type/size_unit for {category}.{symbol}")
            out[category][symbol] = inst
    return out


def bybit_instrument(category: str, symbol: str) -> Instrument:
    """The spec of ``symbol`` in ``category``; UnknownInstrument listing the known ones."""
    known = _table().get(category, {})
    if symbol not in known:
        raise UnknownInstrument(f"unknown Bybit {category} symbol {symbol!r}; known: {', '.join(sorted(known))}")
    return known[symbol]


def known_symbols(category: str) -> list[str]:
    return sorted(_table().get(category, {}))


def generic_instrument(category: str, symbol: str) -> Instrument:
    """A linear base-unit spec for a symbol the file does not list (``inferred`` set)."""
    kind, contract_type = {"linear": ("swap", "linear"), "spot": ("spot", "spot")}[category]
    return inferred_linear(symbol, "Bybit", kind, contract_type)
