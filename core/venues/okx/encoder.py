"""The embedded server's OKX texts: the synthetic market's steps as OKX ``books`` pushes."""
from __future__ import annotations

from typing import Any


class OkxEncoder:
    """Snapshots and updates of one synthetic market (seqIds and checksums are the market's own)."""

    def __init__(self, market: Any, channel: str = "books") -> None:
        self.market = market
        self.channel = channel

    def snapshot_text(self, step: Any) -> bytes:
        return self.market.okx_snapshot(step, self.channel)

    def update_text(self, step: Any) -> bytes:
        return self.market.okx_update(step, self.channel)

    def rest_body(self, step: Any) -> bytes:
        raise NotImplementedError("OKX resyncs over the websocket: it has no REST snapshot")
