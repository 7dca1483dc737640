"""The embedded server's Binance side: depthUpdate frames and REST depth bodies rendered from
``core.sim.market.SyntheticMarket`` (deterministic by seed, like OKX's ``okx_update``).

Update ids belong to market steps, as OKX seqIds do: step ``seq`` ends at
``u = seq * ID_STRIDE + ID_STRIDE - 1``. Spot events cover every id (``U`` = previous
``u + 1``); futures events start mid-way (``U = seq * ID_STRIDE + ID_STRIDE // 2``: Binance's
futures ids are shared by all symbols, so one symbol's ids jump) and chain by ``pu``. A REST
body rendered after step ``seq`` holds that step's book and the
procedure applies the next step's event first (spot: ``U == lastUpdateId + 1``; futures: the body
carries that event's ``U`` as ``lastUpdateId``, so a client that connected after that step's event
still finds an event straddling it). Spot writes prices and sizes with 8 decimals, as Binance does
("0.00000000" removes a level); futures write them short ("0" removes).
"""
from __future__ import annotations

import orjson

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the adapter renders a market; it never builds one (core/sim sits above venues)
    from core.sim.market import MarketStep, SyntheticMarket

ID_STRIDE = 10
SPOT_DECIMALS = 8


def final_id(seq: int) -> int:
    return seq * ID_STRIDE + ID_STRIDE - 1


class BinanceEncoder:
    """Renders one market's steps as one Binance venue (``futures``) would send them."""

    def __init__(self, market: SyntheticMarket, futures: bool, combined: bool = False) -> None:
        self.market = market
        self.futures = futures
        self.combined = combined
        self.symbol = market.instrument.inst_id
        self._stream = f"{self.symbol.lower()}@depth@100ms"
        self._zero = "0" if futures else "0." + "0" * SPOT_DECIMALS

    def update_ids(self, seq: int) -> tuple[int, int, int]:
        """(U, u, pu) of step ``seq``'s event."""
        u, pu = final_id(seq), final_id(seq - 1)
        first = seq * ID_STRIDE + ID_STRIDE // 2 if self.futures else pu + 1
        return first, u, pu

    def update_text(self, step: MarketStep) -> bytes:
        """The step's changes as one depthUpdate (raw ``/ws`` frame, or wrapped when combined)."""
        first, u, pu = self.update_ids(step.seq)
        event = {"e": "depthUpdate", "E": step.ts_ms}
        if self.futures:
            event["T"] = step.ts_ms
        event.update({"s": self.symbol, "U": first, "u": u})
        if self.futures:
            event["pu"] = pu
        event["b"] = self._changes(sorted(step.bid_changes.items(), reverse=True))
        event["a"] = self._changes(sorted(step.ask_changes.items()))
        if self.combined:
            return orjson.dumps({"stream": self._stream, "data": event})
        return orjson.dumps(event)

    def rest_body(self, step: MarketStep | None = None) -> bytes:
        """The REST depth answer after ``step`` (None: the market's current state)."""
        market = self.market
        if step is None:
            cfg = market.config
            bids, asks, seq = market.top(market.bids, -1), market.top(market.asks, +1), market.seq
            ts_ms = cfg.start_ms + round(market.step_index * 1000 / cfg.rate)
        else:
            bids, asks, seq, ts_ms = step.bids, step.asks, step.seq, step.ts_ms
        # spot: the step's u (the next event starts at u + 1); futures: the next event's U, since
        # a futures event starts mid-way through its ids and only an event straddling
        # lastUpdateId may come first (the snapshot's own step's event is stale either way)
        body: dict = {"lastUpdateId": self.update_ids(seq + 1)[0] if self.futures else final_id(seq)}
        if self.futures:
            body.update({"E": ts_ms, "T": ts_ms})
        body["bids"] = self._levels(bids)
        body["asks"] = self._levels(asks)
        return orjson.dumps(body)

    #: Binance has no websocket snapshot: what restores sync is the REST body
    snapshot_text = rest_body

    def _levels(self, levels: list[tuple[int, int]]) -> list[list[str]]:
        return [[self.px_text(t), self.sz_text(n)] for t, n in levels]

    def _changes(self, changes: list[tuple[int, int]]) -> list[list[str]]:
        return [[self.px_text(t), self.sz_text(n) if n else self._zero] for t, n in changes]

    def px_text(self, tick: int) -> str:
        """A price tick as this venue writes it."""
        text = self.market.px_text(tick)
        return text if self.futures else _pad(text)

    def sz_text(self, lots: int) -> str:
        """A size in lots as this venue writes it."""
        text = self.market.sz_text(lots)
        return text if self.futures else _pad(text)


def _pad(text: str) -> str:
    """"0.3527" -> "0.35270000": spot's fixed 8 decimals (exact: the grid has at most 8)."""
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(SPOT_DECIMALS, '0')}"
