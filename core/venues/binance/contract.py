"""The venue contract of VENUES.md (issue 11), as this adapter needs it until
``core/venues/base.py`` (written on the layout branch) lands: then import ``Venue`` and
``BookFeed`` from there and delete this module. Field names and meanings are VENUES.md's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol


class BookFeed(Protocol):
    """Engine side: one per Engine, owns the venue's sequencing/checksum rules for one book."""

    needs_resync: bool
    control: int
    heartbeats: int
    checksums_verified: int
    fast_path_misses: int

    def apply(self, raw: bytes | str) -> bool:
        """Apply one raw frame; True when the book changed; bad input raises a FeedError."""


@dataclass(frozen=True)
class Venue:
    name: str
    default_url: str
    default_rest_url: str | None
    size_unit: str
    make_feed: Callable[..., BookFeed]  # (Instrument, OrderBook, EngineConfig) -> BookFeed
    stream_url: Callable[[str, tuple[str, ...]], str]
    subscribe: Callable[[tuple[str, ...]], list[str]]
    resync: Callable[[tuple[str, ...]], list[str]] | None
    rest_snapshot_url: Callable[[str, str], str] | None
    app_ping: tuple[float, str] | None
    is_snapshot: Callable[[bytes | str], bool]
    reconnect_every_s: float | None
    encoder: Callable[..., Any]
