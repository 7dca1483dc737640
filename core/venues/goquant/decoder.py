"""Decoder for the GoQuant L2 format: every message is a full top-of-book snapshot.

    {"timestamp": "2025-05-04T10:39:13Z", "exchange": "OKX", "symbol": "BTC-USDT-SWAP",
     "asks": [["95445.5", "9.06"], ...], "bids": [["95445.4", "1104.23"], ...]}

Prices and sizes are decimal strings. The bytes are scanned by a Numba kernel straight into
float64 arrays (``core.venues.goquant.scan``, built on the shared ``core.decode.jsonscan``);
anything the scanner does not handle goes through the exact
reference path (orjson + ``parse_decimal``), which also names the error. Zero-size levels
are dropped; unsorted, duplicated, crossed or non-numeric levels reject the message.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
from numba import njit

from core import errors
from core.decode import jsonscan
from core.venues.goquant import scan
from core.decode.jsonscan import BACKSLASH, COLON, DIGIT_0, DIGIT_9, DOT, MINUS, PLUS
from core.book.order_book import DEFAULT_CAPACITY, V_CROSSED, V_OK, check_not_crossed, raise_validation, validate_book
from core.decode.fields import load_json_object, parse_levels_into

DEFAULT_MAX_BYTES = 4 * 1024 * 1024
LETTER_T, LETTER_Z = 84, 90  # ISO 8601: date 'T' time, 'Z' for UTC


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


# --- the Engine's fast path: one compiled call from bytes to a validated book ---------------

_TWO53 = 2**53
_ISO_LEN = 19  # YYYY-MM-DDTHH:MM:SS


@njit(nogil=True, cache=True, inline="always")
def _digits(buf, start, count):
    """The integer written by ``count`` ASCII digits at ``buf[start]``, or -1."""
    value = 0
    for k in range(start, start + count):
        d = buf[k] - DIGIT_0
        if d < 0 or d > 9:
            return -1
        value = value * 10 + d
    return value


@njit(nogil=True, cache=True)
def days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(nogil=True, cache=True)
def iso_utc_ms(buf, start, end):
    """``YYYY-MM-DDTHH:MM:SS[.f{1,6}][Z|+00:00]`` (UTC) at ``buf[start:end]`` to epoch ms.

    Equal, bit for bit, to ``parse_timestamp_ms`` on the same text: the microseconds are an
    exact integer, divided by 10**6 as Python's ``timedelta.total_seconds`` does (one
    correctly rounded division of exact operands), then times 1000. NaN for anything else
    (other layouts, offsets, leap seconds, dates out of range, years outside 1970-2200): the
    caller then asks ``datetime`` itself, which also names the error.
    """
    n = end - start
    if n < _ISO_LEN:
        return np.nan
    if not (buf[start + 4] == MINUS and buf[start + 7] == MINUS and buf[start + 10] == LETTER_T
            and buf[start + 13] == COLON and buf[start + 16] == COLON):  # - - T : :
        return np.nan
    year = _digits(buf, start, 4)
    month = _digits(buf, start + 5, 2)
    day = _digits(buf, start + 8, 2)
    hour = _digits(buf, start + 11, 2)
    minute = _digits(buf, start + 14, 2)
    second = _digits(buf, start + 17, 2)
    if year < 1970 or year > 2200 or month < 1 or month > 12 or hour < 0 or hour > 23 \
            or minute < 0 or minute > 59 or second < 0 or second > 59 or day < 1:
        return np.nan
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    month_days = 29 if (month == 2 and leap) else (28 if month == 2 else (30 if month in (4, 6, 9, 11) else 31))
    if day > month_days:
        return np.nan
    i = start + _ISO_LEN
    micros = 0
    if i < end and buf[i] == DOT:  # '.': 1 to 6 digits (more are truncated by datetime: not here)
        k = i + 1
        while k < end and DIGIT_0 <= buf[k] <= DIGIT_9:
            k += 1
        count = k - i - 1
        if count < 1 or count > 6:
            return np.nan
        micros = _digits(buf, i + 1, count) * 10 ** (6 - count)
        i = k
    rest = end - i
    if not (rest == 0 or (rest == 1 and buf[i] == LETTER_Z) or (rest == 6 and buf[i] == PLUS and buf[i + 1] == DIGIT_0
            and buf[i + 2] == DIGIT_0 and buf[i + 3] == COLON and buf[i + 4] == DIGIT_0 and buf[i + 5] == DIGIT_0)):
        return np.nan  # only UTC: "Z", "+00:00" or no zone (taken as UTC)
    seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    us = seconds * 1000000 + micros
    if us >= _TWO53:
        return np.nan
    return us / 1000000 * 1000.0


@njit(nogil=True, cache=True)
def _has_backslash(buf, start, end):
    for k in range(start, end):
        if buf[k] == BACKSLASH:
            return True
    return False


FAST_OK = 0
FAST_DECLINED = 1  # anything unusual or wrong: decode() decides (and names the error)


@njit(nogil=True, cache=True)
def scan_book(buf, symbol, check_symbol, ask_px, ask_sz, bid_px, bid_sz, spans):
    """decode() for the Engine in one call: scan, symbol, timestamp, validation, fresh arrays.

    Runs ``scan.scan_goquant`` into the scratch arrays, requires escape-free timestamp
    and symbol (and the expected symbol when ``check_symbol``), a timestamp ``iso_utc_ms``
    reads, and a book ``validate_book`` accepts; then copies the kept levels into one fresh
    array ``[bid_px | bid_sz | ask_px | ask_sz]`` that the book can publish without another
    copy. Returns (FAST_OK, ts_ms, n_bid, n_ask, levels), or FAST_DECLINED with an empty
    array: the caller then runs decode(), which does everything again the general way.
    """
    nothing = np.empty(0)
    code, _, n_ask, n_bid = scan.scan_goquant(buf, ask_px, ask_sz, bid_px, bid_sz, spans)
    if code != jsonscan.OK:
        return FAST_DECLINED, np.nan, 0, 0, nothing
    ts0, ts1 = spans[scan.SPAN_TIMESTAMP], spans[scan.SPAN_TIMESTAMP + 1]
    sy0, sy1 = spans[scan.SPAN_SYMBOL], spans[scan.SPAN_SYMBOL + 1]
    ex0, ex1 = spans[scan.SPAN_EXCHANGE], spans[scan.SPAN_EXCHANGE + 1]
    if ts0 < 0 or sy0 < 0 or _has_backslash(buf, ts0, ts1) or _has_backslash(buf, sy0, sy1) \
            or (ex0 >= 0 and _has_backslash(buf, ex0, ex1)):
        return FAST_DECLINED, np.nan, 0, 0, nothing
    if check_symbol and (sy1 - sy0 != symbol.shape[0] or not jsonscan._key_is(buf, sy0, sy1, symbol)):
        return FAST_DECLINED, np.nan, 0, 0, nothing
    ts_ms = iso_utc_ms(buf, ts0, ts1)
    if math.isnan(ts_ms):
        return FAST_DECLINED, np.nan, 0, 0, nothing
    code, _side, _idx, n_bid, n_ask = validate_book(bid_px, bid_sz, n_bid, ask_px, ask_sz, n_ask)
    if code != V_OK:
        return FAST_DECLINED, np.nan, 0, 0, nothing
    levels = np.empty(2 * (n_bid + n_ask))
    for k in range(n_bid):
        levels[k] = bid_px[k]
        levels[n_bid + k] = bid_sz[k]
    base = 2 * n_bid
    for k in range(n_ask):
        levels[base + k] = ask_px[k]
        levels[base + n_ask + k] = ask_sz[k]
    return FAST_OK, ts_ms, n_bid, n_ask, levels


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
        self._symbol = np.frombuffer((symbol or "").encode(), dtype=np.uint8)
        self.fast_path_misses = 0

    def decode_book(self, raw: bytes | str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
        """What a book keeps of one message: (bid_px, bid_sz, ask_px, ask_sz, ts_ms).

        The same result (and the same errors) as :meth:`decode`, but as fresh read-only
        arrays the caller may keep (``OrderBook.adopt_snapshot``), made in one compiled call
        (``scan_book``) for the messages the feeds send.
        """
        if isinstance(raw, str):
            raw = raw.encode()
        if len(raw) > self.max_bytes:
            raise errors.OversizedMessage(f"{len(raw)} bytes exceed the {self.max_bytes}-byte limit")
        code, ts_ms, n_bid, n_ask, levels = scan_book(
            np.frombuffer(raw, dtype=np.uint8), self._symbol, self.symbol is not None,
            self._ask_px, self._ask_sz, self._bid_px, self._bid_sz, self._spans)
        if code != FAST_OK:
            snap = self.decode(raw)
            ts_ms, n_bid, n_ask = snap.ts_ms, snap.bid_px.shape[0], snap.ask_px.shape[0]
            levels = np.concatenate((snap.bid_px, snap.bid_sz, snap.ask_px, snap.ask_sz))
        levels.setflags(write=False)  # the four views below inherit read-only
        asks = 2 * n_bid
        return (levels[:n_bid], levels[n_bid:asks], levels[asks:asks + n_ask], levels[asks + n_ask:],
                ts_ms)

    def decode(self, raw: bytes | str) -> L2Snapshot:
        if isinstance(raw, str):
            raw = raw.encode()
        if len(raw) > self.max_bytes:
            raise errors.OversizedMessage(f"{len(raw)} bytes exceed the {self.max_bytes}-byte limit")
        buf = np.frombuffer(raw, dtype=np.uint8)
        code, _, n_ask, n_bid = scan.scan_goquant(
            buf, self._ask_px, self._ask_sz, self._bid_px, self._bid_sz, self._spans)
        if code == jsonscan.OK:
            fields = [self._span_text(raw, k) for k in (scan.SPAN_TIMESTAMP,
                                                        scan.SPAN_SYMBOL, scan.SPAN_EXCHANGE)]
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
            raise errors.MalformedJSON("invalid UTF-8 in a string field") from None

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
        parse_levels_into(levels, name, px_out, sz_out)
        return len(levels)
