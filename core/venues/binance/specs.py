"""Binance instrument specs from ``resources/instruments_binance.toml`` (one table per venue).

The same symbol lives on both venues with different ticks and lots, so the table is keyed by
(venue, symbol), not by symbol alone as ``resources/instruments.toml`` is. A symbol not in
the file still works: Binance sizes count the base asset, so :func:`generic_instrument`
gives a linear spec with contract value 1 and the quote currency read off the symbol; its
tick and lot are unknown: the finest step is assumed and the spec says it was inferred.
"""
from __future__ import annotations

from core.instruments import Instrument, inferred_linear
from core.venues.spec_table import SpecTable

SPEC_FILE = "instruments_binance.toml"
_KIND = {"binance-usdm": ("swap", "linear"), "binance-spot": ("spot", "spot")}
_SPECS = SpecTable(SPEC_FILE)
known_symbols = _SPECS.known_symbols  # (venue) -> the symbols its table lists
binance_instrument = _SPECS.instrument  # (venue, symbol) -> Instrument; UnknownInstrument listing the known ones


def generic_instrument(venue: str, symbol: str) -> Instrument:
    """A linear base-unit spec for a symbol the file does not list (``inferred`` set)."""
    if venue not in _KIND:
        raise ValueError(f"venue {venue!r} is not a Binance venue")
    kind, contract_type = _KIND[venue]
    return inferred_linear(symbol, "Binance", kind, contract_type)
