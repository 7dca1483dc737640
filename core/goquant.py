"""Decoder for the GoQuant L2 format: every message is a full top-of-book snapshot.

    {"timestamp": "2025-05-04T10:39:13Z", "exchange": "OKX", "symbol": "BTC-USDT-SWAP",
     "asks": [["95445.5", "9.06"], ...], "bids": [["95445.4", "1104.23"], ...]}

Prices and sizes are decimal strings. The bytes are scanned by a Numba kernel straight into
float64 arrays (``jsonscan``); anything the scanner does not handle goes through the exact
reference path (orjson + ``parse_decimal``), which also names the error. Zero-size levels
are dropped; unsorted, duplicated, crossed or non-numeric levels reject the message.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from core import errors, jsonscan
from core.book import DEFAULT_CAPACITY, V_CROSSED, V_OK, check_not_crossed, raise_validation, validate_book
from core.fields import load_json_object, parse_decimal

DEFAULT_MAX_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class L2Snapshot:
    """A validated full book: best-first, zero-free arrays, valid until the next decode."""

    bid_px: np.ndarray
    bid_sz: np.ndarray
    ask_px: np.ndarray
    ask_sz: np.ndarray
    ts_ms: float
    symbol: str
    exchange: str


def parse_timestamp_ms(text: str) -> float:
    """ISO-8601 to epoch milliseconds; a time without zone is taken as UTC."""
    try:
        dt = datetime.fromisoformat(text)
    except (ValueError, TypeError):
        raise errors.InvalidTimestamp(f"timestamp {str(text)[:40]!r} is not ISO-8601") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp() * 1000.0


class GoQuantDecoder:
    """Turns raw GoQuant messages into :class:`L2Snapshot` (or a specific FeedError)."""

    def __init__(self, symbol: str | None = None, max_levels: int = DEFAULT_CAPACITY,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.symbol = symbol
        self.max_levels = max_levels
        self.max_bytes = max_bytes
        self._ask_px = np.empty(max_levels)
        self._ask_sz = np.empty(max_levels)
        self._bid_px = np.empty(max_levels)
        self._bid_sz = np.empty(max_levels)
        self._spans = np.empty(6, dtype=np.int64)
        self.fast_path_misses = 0

    def decode(self, raw: bytes | str) -> L2Snapshot:
        if isinstance(raw, str):
            raw = raw.encode()
        if len(raw) > self.max_bytes:
            raise errors.OversizedMessage(f"{len(raw)} bytes exceed the {self.max_bytes}-byte limit")
        buf = np.frombuffer(raw, dtype=np.uint8)
        code, _, n_ask, n_bid = jsonscan.scan_goquant(
            buf, self._ask_px, self._ask_sz, self._bid_px, self._bid_sz, self._spans)
        if code == jsonscan.OK:
            fields = [self._span_text(raw, k) for k in (jsonscan.SPAN_TIMESTAMP,
                                                        jsonscan.SPAN_SYMBOL, jsonscan.SPAN_EXCHANGE)]
            if fields[0] is not None and fields[1] is not None and "\\" not in "".join(
                    f for f in fields if f is not None):
                return self._finish(n_bid, n_ask, fields[0], fields[1], fields[2] or "")
        self.fast_path_misses += 1
        return self._decode_reference(raw)

    def _span_text(self, raw: bytes, slot: int) -> str | None:
        start = int(self._spans[slot])
        if start < 0:
            return None
        try:
            return raw[start: int(self._spans[slot + 1])].decode()
        except UnicodeDecodeError:
            raise errors.MalformedJSON(f"invalid UTF-8 in a string field") from None

    def _finish(self, n_bid: int, n_ask: int, ts_text: str, symbol: str, exchange: str) -> L2Snapshot:
        """Validate the scratch arrays (in place) and wrap them."""
        if self.symbol is not None and symbol != self.symbol:
            raise errors.WrongInstrument(f"message for {symbol!r}, subscribed to {self.symbol!r}")
        ts_ms = parse_timestamp_ms(ts_text)
        code, side, idx, n_bid, n_ask = validate_book(
            self._bid_px, self._bid_sz, n_bid, self._ask_px, self._ask_sz, n_ask)
        if code != V_OK:
            if code == V_CROSSED:
                check_not_crossed(self._bid_px[:1], self._ask_px[:1])  # raises with the prices
            raise_validation(code, idx, "ask" if side else "bid")
        return L2Snapshot(self._bid_px[:n_bid], self._bid_sz[:n_bid], self._ask_px[:n_ask],
                          self._ask_sz[:n_ask], ts_ms, symbol, exchange)

    def _decode_reference(self, raw: bytes) -> L2Snapshot:
        """The exact, slower path: orjson, then every field checked and converted."""
        obj = load_json_object(raw)
        for key in ("timestamp", "symbol", "asks", "bids"):
            if key not in obj:
                raise errors.MissingField(f"missing field {key!r}")
        for key in ("timestamp", "symbol"):
            if not isinstance(obj[key], str):
                raise errors.WrongSchema(f"field {key!r} must be a string")
        exchange = obj.get("exchange", "")
        if not isinstance(exchange, str):
            raise errors.WrongSchema("field 'exchange' must be a string")
        n_ask = self._fill_side(obj["asks"], "asks", self._ask_px, self._ask_sz)
        n_bid = self._fill_side(obj["bids"], "bids", self._bid_px, self._bid_sz)
        return self._finish(n_bid, n_ask, obj["timestamp"], obj["symbol"], exchange)

    def _fill_side(self, levels: object, name: str, px_out: np.ndarray, sz_out: np.ndarray) -> int:
        if not isinstance(levels, list):
            raise errors.WrongSchema(f"field {name!r} must be a list of levels")
        if len(levels) > self.max_levels:
            raise errors.OversizedMessage(f"{len(levels)} {name} exceed the {self.max_levels}-level limit")
        i = 0
        try:
            for i, level in enumerate(levels):
                if type(level) is not list or len(level) < 2:
                    raise errors.WrongSchema("must be [price, size, ...]")
                px_out[i] = parse_decimal(level[0], "price")
                sz_out[i] = parse_decimal(level[1], "size")
        except errors.FeedError as exc:
            raise type(exc)(f"{name}[{i}]: {exc}") from None
        return len(levels)
