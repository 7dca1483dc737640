"""OKX's engine side: snapshot + deltas kept in sync by the seqId chain and the CRC32 checksum."""
from __future__ import annotations

from typing import TYPE_CHECKING

from core.book.order_book import OrderBook
from core.instruments import Instrument
from core.venues.okx.protocol import OkxBookSync, OkxEvent, PushScanner, parse_frame

if TYPE_CHECKING:
    from core.engine import EngineConfig


class OkxFeed:
    """Snapshot + deltas with sequence chain and checksum; control frames pass through."""

    fast_path_misses = 0  # (the GoQuant decoder's count)

    def __init__(self, instrument: Instrument, book: OrderBook, config: "EngineConfig") -> None:
        self.sync = OkxBookSync(instrument.inst_id, book)
        self.scanner = PushScanner(config.max_levels)
        self.max_bytes = config.max_bytes
        self.control = 0
        self.heartbeats = 0

    @property
    def needs_resync(self) -> bool:
        return self.sync.needs_resync

    @property
    def checksums_verified(self) -> int:
        return self.sync.checksums_verified

    def apply(self, raw: bytes | str) -> bool:
        push = self.scanner.scan(raw) if len(raw) <= self.max_bytes else None
        if push is not None:
            changed = self.sync.apply_scanned(push)
        else:  # control frames, anything unusual or wrong: the general path names it
            frame = parse_frame(raw, self.max_bytes)
            if isinstance(frame, OkxEvent):
                self.control += 1
                return False
            changed = self.sync.apply(frame)
        self.heartbeats += not changed
        return changed
