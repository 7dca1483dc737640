"""Bybit v5 public order books (``bybit-linear``, ``bybit-spot``): one adapter.

- frames.py: decoding ``orderbook.<depth>.<symbol>`` pushes and control frames (raw examples there)
- scan.py: the compiled fast path for pushes as Bybit writes them
- sync.py: the ``u`` chain, snapshot resets, and ``BybitFeed`` (the Engine's BookFeed)
- venue.py: the registry entries (URLs, subscribe/resync texts, ping, is_snapshot)
- synthetic.py: the embedded server's encoder and request answers
- specs.py: instrument specs from resources/instruments_bybit.toml
"""
from core.venues.bybit.venue import BYBIT_LINEAR, BYBIT_SPOT, VENUES  # the registry reads VENUES

__all__ = ["BYBIT_LINEAR", "BYBIT_SPOT", "VENUES"]
