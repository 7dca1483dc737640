"""Binance diff-depth frames and REST depth snapshots, decoded into float arrays.

Three shapes reach a Binance book feed (USDⓈ-M futures and spot write them alike)::

    raw /ws/<stream> frame:
    {"e":"depthUpdate","E":1626992741140,"T":1626992741123,"s":"SUSHIUSDT","U":600859601193,
     "u":600859602861,"pu":600859600917,"b":[["7.5980","1433"],["7.6090","0"]],"a":[["7.6170","534"]]}
    combined /stream?streams=... frame: the same object wrapped
    {"stream":"sushiusdt@depth@100ms","data":{"e":"depthUpdate",...}}
    REST depth body (GET /fapi/v1/depth or /api/v3/depth), pushed into the same stream:
    {"lastUpdateId":600859605926,"E":1626992741264,"T":1626992741261,"bids":[["7.6110","6"]],"asks":[...]}

``U``/``u`` are the first and final update ids of an event; futures add ``pu`` (the previous
event's ``u``) and ``T``; spot has neither (and its REST body has no ``E``). Prices and sizes
are decimal strings; sizes are absolute and zero in any decimal form ("0", "0.00000000")
removes the level. Subscription replies (``{"result":null,"id":1}``) and error replies
(``{"code":..,"msg":..}``) are control frames.

A level is ``[price, size, ...]`` with decimal strings (or JSON numbers), the grammar of the
shared scanner. :class:`FrameDecoder` reads a frame in one compiled pass (``scan.py``); a
frame it declines goes through :func:`decode_frame` (orjson, then every level string in one
``jsonscan.scan_number_list`` call (``core.decode.levels.level_arrays``), exact as ``float()``, or one at a time by
``fields.parse_decimal``), which decides and names the error: every problem raises a
:class:`core.errors.FeedError` subclass naming the reason.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core import errors
from core.decode import objects
from core.decode.fields import load_json_object
from core.decode.levels import level_arrays
from core.venues.binance import scan

DEFAULT_MAX_BYTES = 4 * 1024 * 1024
DEPTH_EVENT = "depthUpdate"
SNAPSHOT_KEY = "lastUpdateId"
_MAX_ID = 2**63 - 1  # update ids are int64 on Binance's side


@dataclass(frozen=True, slots=True)
class BinanceControl:
    """A frame that is not book data: a subscription or error reply."""

    payload: dict


@dataclass(slots=True)
class DepthEvent:
    """One ``depthUpdate``: update ids and the levels it sets (absolute sizes, 0 removes).
    (Not frozen: a frozen dataclass's __init__ costs about 1 us, a fifth of the fast path.)"""

    symbol: str
    event_ms: int  # E
    first_id: int  # U
    final_id: int  # u
    prev_final_id: int | None  # pu (futures only)
    bid_px: np.ndarray
    bid_sz: np.ndarray
    ask_px: np.ndarray
    ask_sz: np.ndarray

    @property
    def empty(self) -> bool:
        return self.bid_px.shape[0] == 0 and self.ask_px.shape[0] == 0


@dataclass(frozen=True, slots=True)
class DepthSnapshot:
    """A REST depth body: the book as of update id ``last_update_id`` (levels as sent)."""

    last_update_id: int
    ts_ms: float  # E when the body has it (futures), else NaN (spot)
    bid_px: np.ndarray
    bid_sz: np.ndarray
    ask_px: np.ndarray
    ask_sz: np.ndarray


Frame = BinanceControl | DepthEvent | DepthSnapshot


def decode_frame(raw: bytes | str, max_bytes: int = DEFAULT_MAX_BYTES, max_levels: int = 5000) -> Frame:
    """Classify and decode one frame (websocket or REST body); raises a FeedError."""
    if len(raw) > max_bytes:
        raise errors.OversizedMessage(f"{len(raw)} bytes exceed the {max_bytes}-byte limit")
    obj = load_json_object(raw)
    if SNAPSHOT_KEY in obj:
        return _snapshot(obj, max_levels)
    if "stream" in obj or "data" in obj:
        obj = _unwrap(obj)
    elif "e" not in obj and ("result" in obj or "code" in obj or "error" in obj):
        return BinanceControl(obj)
    return _event(obj, max_levels)


def _unwrap(obj: dict) -> dict:
    """The ``data`` of a combined-stream frame, after checking it is a depth stream's."""
    stream, data = obj.get("stream"), obj.get("data")
    if stream is None or data is None:
        raise errors.MissingField("combined-stream frame without 'stream' or 'data'")
    if not isinstance(stream, str) or not isinstance(data, dict):
        raise errors.WrongSchema("'stream' must be a string and 'data' an object")
    if "@depth" not in stream:
        raise errors.WrongSchema(f"stream {stream[:60]!r} is not a diff-depth stream")
    return data


def _event(obj: dict, max_levels: int) -> DepthEvent:
    kind = obj.get("e")
    if kind is None:
        raise errors.MissingField("frame lacks the event type 'e'")
    if kind != DEPTH_EVENT:
        raise errors.WrongSchema(f"event {str(kind)[:40]!r} is not a {DEPTH_EVENT}")
    symbol = obj.get("s")
    if not isinstance(symbol, str):
        raise (errors.MissingField if symbol is None else errors.WrongSchema)("depthUpdate lacks a string 's'")
    first, final = _update_id(obj, "U"), _update_id(obj, "u")
    if first > final:
        raise errors.WrongSchema(f"first update id U {first} exceeds final u {final}")
    prev = _update_id(obj, "pu") if "pu" in obj else None
    event_ms = _event_time(obj)
    bid_px, bid_sz = levels(obj, "b", max_levels)
    ask_px, ask_sz = levels(obj, "a", max_levels)
    return DepthEvent(symbol, event_ms, first, final, prev, bid_px, bid_sz, ask_px, ask_sz)


def _snapshot(obj: dict, max_levels: int) -> DepthSnapshot:
    last = _update_id(obj, SNAPSHOT_KEY)
    ts_ms = float(_event_time(obj)) if "E" in obj else math.nan
    bid_px, bid_sz = levels(obj, "bids", max_levels)
    ask_px, ask_sz = levels(obj, "asks", max_levels)
    return DepthSnapshot(last, ts_ms, bid_px, bid_sz, ask_px, ask_sz)


def _update_id(obj: dict, key: str) -> int:
    value = obj.get(key)
    if value is None:
        raise errors.MissingField(f"frame lacks the update id {key!r}")
    if type(value) is not int:
        raise errors.WrongSchema(f"update id {key!r} must be a JSON integer, not {str(value)[:40]!r}")
    if not 0 <= value <= _MAX_ID:
        raise errors.WrongSchema(f"update id {key!r} {value} is out of range")
    return value


def _event_time(obj: dict) -> int:
    value = obj.get("E")
    if value is None:
        raise errors.MissingField("frame lacks the event time 'E'")
    if type(value) is not int or value < 0:
        raise errors.InvalidTimestamp(f"event time 'E' {str(value)[:40]!r} is not epoch milliseconds")
    return value


def levels(obj: dict, key: str, max_levels: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """``obj[key]`` as ``[[price, size], ...]`` -> (prices, sizes) float arrays, as sent."""
    raw = obj.get(key)
    if raw is None:
        raise errors.MissingField(f"frame lacks the level list {key!r}")
    if not isinstance(raw, list):
        raise errors.WrongSchema(f"{key!r} must be a list of [price, size] levels")
    if len(raw) > max_levels:
        raise errors.OversizedMessage(f"{key!r} holds {len(raw)} levels, more than {max_levels}")
    return level_arrays(raw, key)


# --- the fast path ---------------------------------------------------------------------------

_EVENT_NEEDS = (scan.HAS_TYPE | scan.HAS_TIME | scan.HAS_SYMBOL | scan.HAS_FIRST | scan.HAS_FINAL
                | scan.HAS_B | scan.HAS_A)
_EVENT_FORBIDS = scan.HAS_LAST | scan.HAS_BIDS | scan.HAS_ASKS
_SNAPSHOT_NEEDS = scan.HAS_LAST | scan.HAS_BIDS | scan.HAS_ASKS
_SNAPSHOT_FORBIDS = scan.HAS_B | scan.HAS_A  # the general path reads bids/asks only
_WRAPPER = scan.WRAPPER
_DEPTH_TYPE = DEPTH_EVENT.encode()


class FrameDecoder:
    """Frames to :class:`DepthEvent` / :class:`DepthSnapshot` / :class:`BinanceControl`:
    the compiled scan when the frame is Binance's usual shape, :func:`decode_frame` for
    anything else (``fast_path_misses`` counts those). Arrays returned are the frame's own."""

    def __init__(self, max_levels: int = 5000, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_levels = max_levels
        self.max_bytes = max_bytes
        self._bid_px, self._bid_sz = np.empty(max_levels), np.empty(max_levels)
        self._ask_px, self._ask_sz = np.empty(max_levels), np.empty(max_levels)
        self._ints = np.zeros(scan.N_INTS, dtype=np.int64)
        self._spans = np.empty(scan.N_SPANS, dtype=np.int64)
        self._counts = np.zeros(objects.N_COUNTS, dtype=np.int64)
        self.fast_path_misses = 0

    def decode(self, raw: bytes | str) -> Frame:
        frame = self.scan(raw) if len(raw) <= self.max_bytes else None
        if frame is None:
            frame = decode_frame(raw, self.max_bytes, self.max_levels)
            self.fast_path_misses += not isinstance(frame, BinanceControl)
        return frame

    def scan(self, raw: bytes | str) -> DepthEvent | DepthSnapshot | None:
        """The compiled pass; None when the frame is not a usual event or REST body."""
        if isinstance(raw, str):
            raw = raw.encode()
        ok, present, outer = scan.scan_frame(np.frombuffer(raw, dtype=np.uint8), self._bid_px, self._bid_sz,
                                           self._ask_px, self._ask_sz, self._ints, self._spans, self._counts)
        if not ok:
            return None
        wrapped = present & _WRAPPER
        if wrapped and (wrapped != _WRAPPER or outer & ~_WRAPPER):
            return None  # half a wrapper, or depth fields beside "data": the general path decides
        time_ms, first, final, prev, last = self._ints.tolist()
        n_bid, n_ask, _ = self._counts.tolist()
        levels = (self._bid_px[:n_bid].copy(), self._bid_sz[:n_bid].copy(),
                  self._ask_px[:n_ask].copy(), self._ask_sz[:n_ask].copy())
        if not wrapped and present & _SNAPSHOT_NEEDS == _SNAPSHOT_NEEDS and not present & _SNAPSHOT_FORBIDS:
            return DepthSnapshot(last, float(time_ms) if present & scan.HAS_TIME else math.nan, *levels)
        if present & _EVENT_NEEDS != _EVENT_NEEDS or present & _EVENT_FORBIDS or first > final:
            return None
        t0, t1, s0, s1, w0, w1 = self._spans.tolist()
        if raw[t0:t1] != _DEPTH_TYPE or (wrapped and b"@depth" not in raw[w0:w1]):
            return None
        return DepthEvent(raw[s0:s1].decode(), time_ms, first, final,
                          prev if present & scan.HAS_PREV else None, *levels)
