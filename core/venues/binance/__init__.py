"""Binance adapter: USDⓈ-M futures (``binance-usdm``) and spot (``binance-spot``) diff-depth
books kept by Binance's documented snapshot + update-id procedure.

Modules: ``decode`` (frames and REST bodies -> arrays), ``sync`` (BinanceBookSync, the
BookFeed), ``venue`` (the two Venue definitions), ``synthetic`` (the embedded server's
encoder), ``specs`` (instrument specs from resources/instruments_binance.toml).
"""
from core.venues.binance.sync import BinanceBookSync
from core.venues.binance.venue import BINANCE_SPOT, BINANCE_USDM, VENUES

__all__ = ["BINANCE_SPOT", "BINANCE_USDM", "VENUES", "BinanceBookSync"]
