"""The venue registry: every venue slipscope speaks, by name.

``get_venue("okx")`` is the one place a venue name turns into behaviour; nothing outside the
adapters (``core/venues/<venue>/``) compares venue names. An adapter is a subpackage of this
package whose ``__init__`` defines ``VENUE`` (one venue) or ``VENUES`` (several, e.g. a
venue's futures and spot): it is found by looking, so adding a venue is adding its folder.
"""
from __future__ import annotations

import pkgutil
from importlib import import_module

from core.instruments import Instrument, UnknownInstrument, get_instrument, known_instruments
from core.venues.base import BookFeed, SyntheticEncoder, Venue

__all__ = ["DEFAULT_VENUE", "REGISTRY", "BookFeed", "SyntheticEncoder", "Venue", "get_venue", "instrument_for", "register",
           "venue_names", "venue_symbols"]

SHIPPED_FIRST = ("goquant", "okx")  # listed first wherever venues are listed
DEFAULT_VENUE = "goquant"  # what an Engine or a feed decodes when not told (the first feed slipscope spoke)
REGISTRY: dict[str, Venue] = {}
_discovered = False


def register(venue: Venue) -> Venue:
    """Add (or replace) ``venue`` under its name; returns it (tests register fakes this way)."""
    REGISTRY[venue.name] = venue
    return venue


def _load_all() -> None:
    """Import every adapter package once and register what it defines."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    found: list[Venue] = []
    for info in pkgutil.iter_modules(__path__, __name__ + "."):
        if not info.ispkg:
            continue
        module = import_module(info.name)
        found += list(getattr(module, "VENUES", ())) + ([module.VENUE] if hasattr(module, "VENUE") else [])
    order = {name: i for i, name in enumerate(SHIPPED_FIRST)}
    for venue in sorted(found, key=lambda v: (order.get(v.name, len(order)), v.name)):
        REGISTRY.setdefault(venue.name, venue)


def venue_names() -> tuple[str, ...]:
    """Every registered venue's name, shipped ones first."""
    _load_all()
    return tuple(REGISTRY)


def get_venue(name: str) -> Venue:
    """The venue called ``name``; a ValueError in one line listing the venues otherwise."""
    if name not in REGISTRY:
        _load_all()
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown venue {name!r} (one of {', '.join(venue_names())})") from None


def _as_venue(venue: str | Venue) -> Venue:
    return venue if isinstance(venue, Venue) else get_venue(venue)


def instrument_for(venue: str | Venue, symbol: str, infer: bool = True) -> Instrument:
    """The one lookup of an instrument by (venue, symbol): the venue's data files (OKX's table
    for a venue that has none), else, when ``infer`` and the venue can, a generic linear spec
    marked ``inferred``; UnknownInstrument (listing the known symbols) otherwise."""
    v = _as_venue(venue)
    try:
        return (v.instrument or get_instrument)(symbol)
    except UnknownInstrument:
        if not infer or v.infer_instrument is None:
            raise
        return v.infer_instrument(symbol)


def venue_symbols(venue: str | Venue) -> list[str]:
    """The symbols ``venue``'s data files list (OKX's table for a venue that has none)."""
    v = _as_venue(venue)
    return (v.known_symbols or known_instruments)()


_load_all()
