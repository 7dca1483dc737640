"""Bybit instrument specs, read from ``resources/instruments_bybit.toml`` (category -> symbol)."""
from __future__ import annotations

from core.instruments import Instrument, inferred_linear
from core.venues.spec_table import SpecTable

SPEC_FILE = "instruments_bybit.toml"
CATEGORIES = ("linear", "spot")
_SPECS = SpecTable(SPEC_FILE, "Bybit ", CATEGORIES)
known_symbols = _SPECS.known_symbols  # (category) -> the symbols its table lists
bybit_instrument = _SPECS.instrument  # (category, symbol) -> Instrument; UnknownInstrument listing the known ones


def generic_instrument(category: str, symbol: str) -> Instrument:
    """A linear base-unit spec for a symbol the file does not list (``inferred`` set)."""
    kind, contract_type = {"linear": ("swap", "linear"), "spot": ("spot", "spot")}[category]
    return inferred_linear(symbol, "Bybit", kind, contract_type)
