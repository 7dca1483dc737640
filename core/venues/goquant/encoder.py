"""The embedded server's GoQuant texts: every step as a whole book."""
from __future__ import annotations

from typing import Any


class GoQuantEncoder:
    def __init__(self, market: Any) -> None:
        self.market = market

    def snapshot_text(self, step: Any) -> bytes:
        return self.market.goquant_message(step)

    update_text = snapshot_text  # a GoQuant update is a whole book too

    def rest_body(self, step: Any) -> bytes:
        raise NotImplementedError("GoQuant sends whole books: it has no REST snapshot")
