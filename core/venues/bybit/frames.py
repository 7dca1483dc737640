"""Bybit v5 public ``orderbook.<depth>.<symbol>`` frames: classify, then read the fields.

A book push (linear and spot alike)::

    {"topic": "orderbook.50.BTCUSDT", "type": "snapshot", "ts": 1672304484978,
     "data": {"s": "BTCUSDT", "b": [["16493.50", "0.006"]], "a": [["16611.00", "0.029"]],
              "u": 18521288, "seq": 7961638724},
     "cts": 1672304484976}

``b`` (bids, best first in a snapshot) and ``a`` (asks) hold ``[price, size]`` decimal
strings; in a delta a size of "0" deletes the level. ``u`` is the update id of this topic:
each delta's ``u`` is the previous one plus 1, a snapshot may come again at any time and
replaces the book, and ``u == 1`` marks a restart of Bybit's service (the frame carries a
full book). ``seq`` is the matching engine's cross sequence: it grows but skips numbers
(shared by every symbol), so it is kept, not chained. ``ts`` is the server's time in ms.

Control frames (counted, never book data)::

    {"success": true, "ret_msg": "", "conn_id": "d6ki1eae0cl5msgggj7g-1uoz2", "req_id": "", "op": "subscribe"}
    {"success": true, "ret_msg": "pong", "conn_id": "...", "req_id": "", "op": "ping"}     (linear)
    {"req_id": "", "op": "pong", "args": ["1675418560633"], "conn_id": "..."}               (spot)
    {"success": false, "ret_msg": "error:handler not found,topic:orderbook:BTCUSDT", ..., "op": "subscribe"}

This is the general path: orjson for the frame and one Numba scan
(``core.decode.levels.book_side``) for all the prices and sizes of a side; anything unusual
takes the checked path, which converts level by level with ``core.decode.fields.parse_levels_into`` and
names the error. Book pushes as Bybit writes them take the compiled fast path first
(``scan.BybitScanner``), which reads the same values or declines.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core import errors
from core.decode.fields import load_json_object
from core.decode.levels import book_side
from core.venues.bybit.venue import TOPIC_PREFIX

BOOK_TYPES = ("snapshot", "delta")
DEFAULT_MAX_BYTES = 4 * 1024 * 1024
#: keys that mark a websocket request's answer (subscribe ack, pong, error)
CONTROL_KEYS = ("op", "success", "ret_msg")


@dataclass(frozen=True, slots=True)
class BybitControl:
    """A non-data frame: subscribe/unsubscribe answers, pongs, errors."""

    op: str
    success: bool
    message: str


@dataclass(frozen=True, slots=True)
class BybitLevels:
    """One side of one push, as floats (the arrays are this push's own)."""

    px: np.ndarray
    sz: np.ndarray


@dataclass(frozen=True, slots=True)
class BybitBookMessage:
    """One book push for one symbol, every field checked."""

    depth: int
    symbol: str
    kind: str  # "snapshot" or "delta"
    ts_ms: float
    u: int
    seq: int | None
    bids: BybitLevels
    asks: BybitLevels


def parse_frame(raw: bytes | str, max_bytes: int = DEFAULT_MAX_BYTES) -> BybitControl | BybitBookMessage:
    """Classify and decode one websocket frame; raises a FeedError naming what is wrong."""
    if len(raw) > max_bytes:
        raise errors.OversizedMessage(f"{len(raw)} bytes exceed the {max_bytes}-byte limit")
    obj = load_json_object(raw)
    if "topic" not in obj:
        if any(key in obj for key in CONTROL_KEYS):
            return BybitControl(str(obj.get("op", "")), obj.get("success") is not False, str(obj.get("ret_msg", "")))
        raise errors.MissingField("frame has neither 'topic' nor 'op'")
    depth, symbol = parse_topic(obj["topic"])
    kind = obj.get("type")
    if kind is None:
        raise errors.MissingField("book push lacks 'type'")
    if kind not in BOOK_TYPES:
        raise errors.WrongSchema(f"unknown type {kind!r} (expected snapshot or delta)")
    ts_ms = _timestamp_ms(obj)
    data = obj.get("data")
    if data is None:
        raise errors.MissingField("book push lacks 'data'")
    if not isinstance(data, dict):
        raise errors.WrongSchema("'data' must be an object")
    data_symbol = data.get("s")
    if data_symbol is None:
        raise errors.MissingField("book data lacks 's'")
    if data_symbol != symbol:
        raise errors.WrongInstrument(f"data for {data_symbol!r} under topic {obj['topic']!r}")
    u = _int_field(data, "u", required=True)
    if u < 1:
        raise errors.WrongSchema(f"'u' {u} must be positive")
    seq = _int_field(data, "seq", required=False)
    return BybitBookMessage(depth, symbol, kind, ts_ms, u, seq, parse_levels(data, "b"), parse_levels(data, "a"))


def parse_topic(topic: object) -> tuple[int, str]:
    """``orderbook.<depth>.<symbol>`` -> (depth, symbol); WrongSchema for any other topic."""
    if not isinstance(topic, str):
        raise errors.WrongSchema("'topic' must be a string")
    parts = topic.split(".")
    if len(parts) != 3 or parts[0] + "." != TOPIC_PREFIX or not parts[1].isdigit() or not parts[2]:
        raise errors.WrongSchema(f"topic {topic[:60]!r} is not orderbook.<depth>.<symbol>")
    return int(parts[1]), parts[2]


def _timestamp_ms(obj: dict) -> float:
    ts = obj.get("ts")
    if ts is None:
        raise errors.MissingField("book push lacks 'ts'")
    if isinstance(ts, bool) or not isinstance(ts, int) or ts < 0:
        raise errors.InvalidTimestamp(f"'ts' {str(ts)[:40]!r} is not epoch milliseconds")
    return float(ts)


def _int_field(data: dict, key: str, required: bool) -> int | None:
    value = data.get(key)
    if value is None:
        if required:
            raise errors.MissingField(f"book data lacks {key!r}")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.WrongSchema(f"{key!r} must be an integer, not {str(value)[:40]!r}")
    return value


def parse_levels(data: dict, name: str) -> BybitLevels:
    """One side (``b`` or ``a``) as float arrays: one compiled scan, or the checked path."""
    return BybitLevels(*book_side(data, name, pairs_only=True))
