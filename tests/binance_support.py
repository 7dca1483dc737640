"""Binance test support: recorded sessions in arrival order, synthetic sessions, and a
plain-Python reference of Binance's sync procedure (dict books), for the venue tests and for
the cross-venue conformance module (each case: venue name, frames, expected final book)."""
from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import orjson

from core.sim.market import MarketConfig, SyntheticMarket
from core.venues.binance.specs import binance_instrument
from core.venues.binance.synthetic import BinanceEncoder

DATA = Path(__file__).parent / "data" / "binance"
RECORDINGS = {  # name -> (venue, symbol)
    "binance-usdm_SUSHIUSDT_2021-07-22": ("binance-usdm", "SUSHIUSDT"),
    "binance-usdm_AKROUSDT_2021-07-22": ("binance-usdm", "AKROUSDT"),
    "binance-spot_NKNUSDT_2021-10-11": ("binance-spot", "NKNUSDT"),
}


@dataclass(frozen=True)
class ExpectedBook:
    """A final book: price -> size per side (floats of the strings the venue sent)."""

    bids: dict[float, float]
    asks: dict[float, float]

    def sides(self) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        return sorted(self.bids.items(), reverse=True), sorted(self.asks.items())


@dataclass(frozen=True)
class Case:
    venue: str
    symbol: str
    frames: list[bytes]
    expected: ExpectedBook


def recorded_frames(name: str, combined: bool = True) -> list[bytes]:
    """A recording's REST body and websocket frames in arrival order (by ``recv_ts``); with
    ``combined=False`` each frame is the raw ``/ws`` object (the combined frame's ``data``)."""
    with gzip.open(DATA / f"{name}.jsonl.gz", "rb") as fh:
        records = [orjson.loads(line) for line in fh if line.strip()]
    records.sort(key=lambda r: r["recv_ts"])  # stable: equal times keep the file's order
    frames = []
    for r in records:
        if r["kind"] == "rest":
            frames.append(r["body"].encode())
        elif combined:
            frames.append(r["raw"].encode())
        else:
            frames.append(orjson.dumps(orjson.loads(r["raw"])["data"]))
    return frames


def recorded_case(name: str) -> Case:
    venue, symbol = RECORDINGS[name]
    frames = recorded_frames(name)
    return Case(venue, symbol, frames, reference_sync(frames, venue == "binance-usdm").book)


def synthetic_case(venue: str, seed: int = 7, steps: int = 60, snapshot_after: int = 20, late_by: int = 3,
                   combined: bool = False, symbol: str = "BTCUSDT") -> Case:
    """Updates of steps 1..``steps``, with the REST body of step ``snapshot_after`` arriving
    ``late_by`` updates after it was rendered (so those updates are buffered first). The
    expected book is the market's own after the last step."""
    futures = venue == "binance-usdm"
    inst = binance_instrument(venue, symbol)
    market = SyntheticMarket(seed, MarketConfig.for_spec(inst, start_price=95_000.0, levels=120), inst)
    enc = BinanceEncoder(market, futures, combined)
    frames: list[bytes] = []
    rest = b""
    last = None
    for k in range(1, steps + 1):
        last = market.step()
        frames.append(enc.update_text(last))
        if k == snapshot_after:
            rest = enc.rest_body(last)
        if k == snapshot_after + late_by:
            frames.append(rest)
    assert last is not None and rest
    expected = ExpectedBook({float(enc.px_text(t)): float(enc.sz_text(n)) for t, n in last.bids},
                            {float(enc.px_text(t)): float(enc.sz_text(n)) for t, n in last.asks})
    return Case(venue, symbol, frames, expected)


def conformance_cases() -> list[Case]:
    """Every Binance case for the cross-venue conformance module."""
    return [recorded_case(n) for n in RECORDINGS] + [synthetic_case(v) for v in ("binance-usdm", "binance-spot")]


# --- the reference: Binance's procedure written plainly, on dicts ----------------------------

@dataclass
class ReferenceResult:
    book: ExpectedBook
    applied: int
    dropped: int
    breaks: int
    needs_resync: bool


def reference_sync(frames: list[bytes], futures: bool) -> ReferenceResult:
    """Binance's "manage a local order book" procedure, one frame at a time, no arrays."""
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    pending: list[dict] = []
    last: int | None = None  # None: waiting for a snapshot
    primed = False  # a snapshot is in, no event applied since
    wanted = False
    applied = dropped = breaks = 0
    for raw in frames:
        obj = orjson.loads(raw)
        obj = obj.get("data", obj)
        if "lastUpdateId" in obj:
            if last is not None and not primed and obj["lastUpdateId"] <= last:
                continue  # older than the live book
            bids = {float(p): float(q) for p, q in obj["bids"] if float(q) > 0}
            asks = {float(p): float(q) for p, q in obj["asks"] if float(q) > 0}
            last, primed, wanted = obj["lastUpdateId"], True, False
            queue, pending = pending, []
        else:
            queue = [obj]
        for ev in queue:
            if last is None:
                pending.append(ev)
                continue
            first, final = ev["U"], ev["u"]
            if primed:
                if (final < last) if futures else (final <= last):
                    dropped += 1
                    continue
                ok = first <= last <= final if futures else first <= last + 1 <= final
            else:
                ok = ev["pu"] == last if futures else first == last + 1
            if not ok:
                breaks += 1
                last, wanted = None, True
                pending.append(ev)
                continue
            for side, levels in ((bids, ev["b"]), (asks, ev["a"])):
                for p, q in levels:
                    if float(q) > 0:
                        side[float(p)] = float(q)
                    else:
                        side.pop(float(p), None)
            last, primed = final, False
            applied += 1
    return ReferenceResult(ExpectedBook(bids, asks), applied, dropped, breaks, last is None and wanted)


def book_sides(book) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """An OrderBook's sides as (price, size) lists, best first."""
    return (list(zip(book.bid_px.tolist(), book.bid_sz.tolist())),
            list(zip(book.ask_px.tolist(), book.ask_sz.tolist())))
