"""GoQuant's engine side: every message is a whole book, so there is nothing to keep in sync."""
from __future__ import annotations

from typing import TYPE_CHECKING

from core.book.order_book import OrderBook
from core.instruments import Instrument
from core.venues.goquant.decoder import GoQuantDecoder

if TYPE_CHECKING:
    from core.engine import EngineConfig


class GoQuantFeed:
    """Full snapshot per message."""

    control = heartbeats = checksums_verified = 0  # (what the OKX feed counts: never here)

    def __init__(self, instrument: Instrument, book: OrderBook, config: "EngineConfig") -> None:
        self.book = book
        self.decoder = GoQuantDecoder(instrument.inst_id, config.max_levels, config.max_bytes)
        self.needs_resync = False

    @property
    def fast_path_misses(self) -> int:
        return self.decoder.fast_path_misses

    def apply(self, raw: bytes | str) -> bool:
        self.book.adopt_snapshot(*self.decoder.decode_book(raw))
        return True
