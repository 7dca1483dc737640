"""Binance adapter: USDⓈ-M futures (``binance-usdm``) and spot (``binance-spot``) diff-depth
books kept by Binance's documented snapshot + update-id procedure.

Modules: ``decode`` (frames and REST bodies -> arrays), ``sync`` (BinanceBookSync, the
BookFeed), ``venue`` (the two Venue definitions), ``synthetic`` (the embedded server's
encoder), ``specs`` (instrument specs from resources/instruments_binance.toml).

Importing the package is light (``venue`` and ``specs``: no Numba): the compiled decoder is
imported when a feed is made, or when ``BinanceBookSync`` is first named.
"""
from typing import Any

from core.venues.binance.venue import BINANCE_SPOT, BINANCE_USDM, VENUES

__all__ = ["BINANCE_SPOT", "BINANCE_USDM", "VENUES", "BinanceBookSync"]


def __getattr__(name: str) -> Any:
    """``BinanceBookSync`` on first use (it imports the compiled decoder)."""
    if name == "BinanceBookSync":
        from core.venues.binance.sync import BinanceBookSync
        return BinanceBookSync
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
