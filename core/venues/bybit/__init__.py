"""Bybit v5 public order books (``bybit-linear``, ``bybit-spot``): one adapter.

- frames.py: decoding ``orderbook.<depth>.<symbol>`` pushes and control frames (raw examples there)
- sync.py: the ``u`` chain, snapshot resets, and ``BybitFeed`` (the Engine's BookFeed)
- venue.py: the registry entries (URLs, subscribe/resync texts, ping, is_snapshot)
- synthetic.py: the embedded server's encoder and request answers
- specs.py: instrument specs from resources/instruments_bybit.toml
"""
