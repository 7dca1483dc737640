"""OKX v5 public order-book channels: frame parsing, checksum, and keeping a book in sync.

Channels: ``books`` (400 levels), ``books-l2-tbt``, ``books50-l2-tbt`` send a snapshot then
updates; ``books5`` and ``bbo-tbt`` send full snapshots without ``action``. Example::

    {"arg": {"channel": "books", "instId": "BTC-USDT-SWAP"}, "action": "update",
     "data": [{"asks": [["8476.98", "415", "0", "13"]], "bids": [["8476.5", "0", "0", "0"]],
               "ts": "1597026383085", "checksum": -855196043, "prevSeqId": 123, "seqId": 124}]}

Levels are ``[price, size, liquidated orders (deprecated), order count]`` as strings; size
"0" deletes. Continuity: each update's ``prevSeqId`` equals the previous ``seqId`` (an update
with ``seqId == prevSeqId`` is a heartbeat; after maintenance seqId may restart lower, which
is a gap like any other). The checksum is the CRC32, as a signed 32-bit int, of the top 25
levels interleaved ``bidPx:bidSz:askPx:askSz:...`` on the exact strings received. OKX's live
``books`` channel now sends ``checksum: 0`` (deprecated upstream), so it is verified only
when non-zero and the sequence chain is the primary guard. 2022-era captures carry real
checksums and no seqIds: absent sequence fields mean "no chain", not a gap.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from itertools import compress
from typing import Any

import numpy as np
import orjson

from numba import njit

from core import errors
from core.book.order_book import OrderBook, raise_validation, validate_side
from core.decode import objects
from core.decode.fields import load_json_object
from core.decode.jsonscan import LBRACKET, MAX_DEPTH, OK, RBRACKET, _skip_ws
from core.decode.levels import book_side
from core.venues.okx.session import BOOK_CHANNELS, SNAPSHOT_ONLY_CHANNELS, subscribe_request, unsubscribe_request

__all__ = ["BOOK_CHANNELS", "SNAPSHOT_ONLY_CHANNELS", "subscribe_request", "unsubscribe_request"]  # (from session)

CHECKSUM_DEPTH = 25
DEFAULT_MAX_BYTES = 4 * 1024 * 1024


def checksum_string(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> str:
    """``bidPx:bidSz:askPx:askSz:...`` over the top 25 a side; the longer side continues alone."""
    return joined_checksum_string([":".join(b) for b in bids[:CHECKSUM_DEPTH]],
                                  [":".join(a) for a in asks[:CHECKSUM_DEPTH]])


def joined_checksum_string(bids: list[str], asks: list[str]) -> str:
    """checksum_string of levels already written ``px:sz`` (as the sync keeps them)."""
    both = min(CHECKSUM_DEPTH, len(bids), len(asks))
    parts = [""] * (2 * both)
    parts[0::2] = bids[:both]  # interleaved by slice assignment: no per-level Python step
    parts[1::2] = asks[:both]
    parts += (bids if len(bids) > len(asks) else asks)[both:CHECKSUM_DEPTH]
    return ":".join(parts)


def crc32_signed(text: str) -> int:
    value = zlib.crc32(text.encode())
    return value - (1 << 32) if value >= (1 << 31) else value


def book_checksum(bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> int:
    return crc32_signed(checksum_string(bids, asks))


# --- frames --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class OkxEvent:
    """A non-data frame: ``pong``, subscribe/unsubscribe acknowledgements, errors, notices."""

    event: str
    payload: dict


@dataclass(frozen=True, slots=True)
class OkxBookMessage:
    """One book push for one instrument (levels still as strings)."""

    channel: str
    inst_id: str
    action: str  # "snapshot" or "update"
    data: dict


def parse_frame(raw: bytes | str, max_bytes: int = DEFAULT_MAX_BYTES) -> OkxEvent | OkxBookMessage:
    """Classify one websocket frame; raises a FeedError for anything unusable."""
    if len(raw) > max_bytes:
        raise errors.OversizedMessage(f"{len(raw)} bytes exceed the {max_bytes}-byte limit")
    if raw in ("pong", b"pong"):
        return OkxEvent("pong", {})
    obj = load_json_object(raw)
    if "event" in obj:
        return OkxEvent(str(obj["event"]), obj)
    arg, data = obj.get("arg"), obj.get("data")
    if arg is None or data is None:
        raise errors.MissingField("book push without 'arg' or 'data'")
    if not isinstance(arg, dict) or not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], dict):
        raise errors.WrongSchema("'arg' must be an object and 'data' a list of one object")
    channel, inst_id = arg.get("channel"), arg.get("instId")
    if not isinstance(channel, str) or not isinstance(inst_id, str):
        raise errors.MissingField("'arg' lacks 'channel' or 'instId'")
    if channel not in BOOK_CHANNELS:
        raise errors.WrongSchema(f"channel {channel!r} is not an order-book channel")
    action = obj.get("action", "snapshot")
    if action not in ("snapshot", "update"):
        raise errors.WrongSchema(f"unknown action {action!r}")
    return OkxBookMessage(channel, inst_id, action, data[0])


# --- the fast path: one compiled scan of a book push ---------------------------------------
# The push as the exchange writes it, read by core.decode's schema scanner: the top object,
# its "arg" object, and the one object of its "data" array (levels with their px:sz texts).
_TOP = objects.schema(("arg", objects.NEST), ("action", objects.SPAN, 4), ("data", objects.NEST),
                      ("event", objects.REFUSE))
_ARG = objects.schema(("channel", objects.SPAN, 0), ("instId", objects.SPAN, 2))
T_ARG, T_DATA = 0, 2  # _TOP's rows
_ARG_BOTH = objects.bit(_ARG, "channel") | objects.bit(_ARG, "instId")
I_TS, I_CHECKSUM, I_SEQ, I_PREV, I_BID_TEXT, I_ASK_TEXT = 0, 1, 2, 3, 4, 6  # texts: [start, end)
N_FIELDS = 8  # (then the scan's level counts: fields[N_FIELDS:])
_DATA = objects.schema(
    ("bids", objects.BIDS, I_BID_TEXT), ("asks", objects.ASKS, I_ASK_TEXT), ("ts", objects.DIGITS, I_TS),
    ("checksum", objects.INT, I_CHECKSUM), ("seqId", objects.INT, I_SEQ), ("prevSeqId", objects.INT, I_PREV),
    form=objects.TEXT)
HAS_BIDS, HAS_ASKS, HAS_TS, HAS_CHECKSUM, HAS_SEQ, HAS_PREV = (
    objects.bit(_DATA, k) for k in ("bids", "asks", "ts", "checksum", "seqId", "prevSeqId"))
S_CHANNEL, S_INST, S_ACTION = 0, 2, 4  # string spans


@njit(nogil=True, cache=True)
def _nested(buf, i, row, sink, stack):
    """``arg``'s object or ``data``'s one-object array at ``buf[i]``: (index after it, data's
    present bits (0 for arg), ok)."""
    n = buf.shape[0]
    if row == T_ARG:
        i, arg, _, code = objects.scan_object(buf, i, 0, False, _ARG, sink, stack)
        return i, 0, code == OK and arg == _ARG_BOTH
    if i >= n or buf[i] != LBRACKET:
        return i, 0, False
    i, present, inner, code = objects.scan_object(buf, _skip_ws(buf, i + 1), 0, False, _DATA, sink, stack)
    i = _skip_ws(buf, i)
    return i + 1, present, code == OK and inner < 0 and i < n and buf[i] == RBRACKET  # exactly one object


@njit(nogil=True, cache=True)
def scan_push(buf, bid_px, bid_sz, ask_px, ask_sz, text, spans, fields):
    """One OKX book push, as the exchange writes it, in one compiled pass.

    ``{"arg": {"channel", "instId"}, "action", "data": [{"bids", "asks", "ts", "checksum",
    "prevSeqId", "seqId"}]}`` with levels of quoted plain decimals, ts a string of digits and
    the others JSON integers; other keys are skipped. Fills the level arrays, ``text``
    (``px:sz,`` per level), ``spans`` (channel, instId, action; -1 when absent) and
    ``fields`` (``I_*``, with each side's span of ``text``). Returns (ok, n_bid, n_ask,
    data's present bits). Not ok (events, escapes, numbers as JSON numbers, repeated keys,
    anything unusual): the caller takes the general path, which also names any error.
    """
    stack = np.empty(MAX_DEPTH, dtype=np.uint8)
    # (the level counts: a view of fields, no allocation per push)
    sink = objects.fresh_sink(bid_px, bid_sz, ask_px, ask_sz, text, fields, spans, fields[N_FIELDS:])
    present = 0
    i, top, row, code = objects.scan_object(buf, _skip_ws(buf, 0), 0, False, _TOP, sink, stack)
    while code == OK and row >= 0:
        i, bits, ok = _nested(buf, i, row, sink, stack)
        if not ok:
            return False, 0, 0, 0
        present |= bits
        i, top, row, code = objects.scan_object(buf, i, top, True, _TOP, sink, stack)
    if code != OK or _skip_ws(buf, i) != buf.shape[0] or not top & (1 << T_DATA) or not top & (1 << T_ARG):
        return False, 0, 0, 0
    return True, sink.counts[0], sink.counts[1], present


# --- levels --------------------------------------------------------------------------------

@dataclass(slots=True)
class _Levels:
    """One side of one message: floats for the book, ``px:sz`` strings for the checksum."""

    px: np.ndarray
    sz: np.ndarray
    text: list[str]


def _parse_levels(data: dict, name: str) -> _Levels:
    px, sz = book_side(data, name)
    return _Levels(px, sz, [f"{level[0]}:{level[1]}" for level in data[name]])


def _optional_int(data: dict, key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise errors.WrongSchema(f"{key!r} must be an integer")
    try:
        return int(value)
    except ValueError:
        raise errors.NonNumeric(f"{key!r} {value!r} is not an integer") from None


def _timestamp_ms(data: dict) -> float:
    ts = data.get("ts")
    if ts is None:
        raise errors.MissingField("book data lacks 'ts'")
    try:
        return float(int(ts))
    except (TypeError, ValueError):
        raise errors.InvalidTimestamp(f"'ts' {ts!r} is not epoch milliseconds") from None


class _DictPush:
    """A push's fields read from its JSON object, each checked (and its error named) only
    when the sync asks for it, in the sync's order."""

    __slots__ = ("data",)

    def __init__(self, data: dict) -> None:
        self.data = data

    def ts_ms(self) -> float:
        return _timestamp_ms(self.data)

    def int_field(self, key: str) -> int | None:
        return _optional_int(self.data, key)

    def levels(self, name: str) -> _Levels:
        return _parse_levels(self.data, name)


@dataclass(slots=True)
class ScannedPush:
    """A push that ``PushScanner`` read in one pass: every field already valid."""

    inst_id: str
    action: str
    ts: float
    ints: dict[str, int | None]
    bids: _Levels
    asks: _Levels

    def ts_ms(self) -> float:
        return self.ts

    def int_field(self, key: str) -> int | None:
        return self.ints[key]

    def levels(self, name: str) -> _Levels:
        return self.bids if name == "bids" else self.asks


_BOOK_CHANNEL_BYTES = frozenset(c.encode() for c in BOOK_CHANNELS)
_ACTIONS = {b"snapshot": "snapshot", b"update": "update"}
_NEEDED = HAS_TS | HAS_ASKS | HAS_BIDS


class PushScanner:
    """The compiled fast path for book pushes (``scan_push``), with its scratch arrays.

    ``scan(raw)`` returns a :class:`ScannedPush`, or None for anything else (control
    frames, pushes written unusually, errors), which ``parse_frame`` then handles exactly
    as before. The level arrays it returns are valid until the next scan.
    """

    def __init__(self, capacity: int = 5000) -> None:
        self._bid_px, self._bid_sz = np.empty(capacity), np.empty(capacity)
        self._ask_px, self._ask_sz = np.empty(capacity), np.empty(capacity)
        self._text = np.empty(4096, dtype=np.uint8)
        self._spans = np.empty(6, dtype=np.int64)
        self._fields = np.zeros(N_FIELDS + objects.N_COUNTS, dtype=np.int64)

    def scan(self, raw: bytes | str) -> ScannedPush | None:
        if isinstance(raw, str):
            raw = raw.encode()
        if len(raw) > self._text.shape[0]:  # the texts never take more bytes than the frame
            self._text = np.empty(2 * len(raw), dtype=np.uint8)
        ok, n_bid, n_ask, present = scan_push(
            np.frombuffer(raw, dtype=np.uint8), self._bid_px, self._bid_sz, self._ask_px, self._ask_sz,
            self._text, self._spans, self._fields)
        if not ok or present & _NEEDED != _NEEDED:
            return None
        c0, c1, i0, i1, a0, a1 = self._spans.tolist()
        action = _ACTIONS.get(raw[a0:a1]) if a0 >= 0 else "snapshot"
        if action is None or raw[c0:c1] not in _BOOK_CHANNEL_BYTES:
            return None
        ts, checksum, seq, prev, b0, b1, s0, s1 = self._fields[:N_FIELDS].tolist()
        text = self._text
        return ScannedPush(
            raw[i0:i1].decode(), action, float(ts),
            {"checksum": checksum if present & HAS_CHECKSUM else None,
             "seqId": seq if present & HAS_SEQ else None,
             "prevSeqId": prev if present & HAS_PREV else None},
            _Levels(self._bid_px[:n_bid], self._bid_sz[:n_bid],
                    text[b0:b1 - 1].tobytes().decode().split(",") if n_bid else []),
            _Levels(self._ask_px[:n_ask], self._ask_sz[:n_ask],
                    text[s0:s1 - 1].tobytes().decode().split(",") if n_ask else []),
        )


# --- keeping one book in sync --------------------------------------------------------------

class OkxBookSync:
    """Applies one instrument's pushes to an :class:`OrderBook`, all or nothing.

    After any rejected update the book is out of sync: ``needs_resync`` turns true and every
    later update is refused (``OutOfSync``) until a snapshot arrives, so no delta is ever
    applied to a book that has missed one.
    """

    def __init__(self, inst_id: str, book: OrderBook) -> None:
        self.inst_id = inst_id
        self.book = book
        self.synced = False
        self.seen_push = False  # nothing arrived yet: waiting for the first snapshot is no resync
        self.last_seq: int | None = None
        self.checksums_verified = 0
        # price -> exact (price, size) strings, for the checksum of the merged book
        self._bid_text: dict[float, str] = {}
        self._ask_text: dict[float, str] = {}

    @property
    def needs_resync(self) -> bool:
        """Out of sync after a push arrived (a gap, a bad checksum, an update before the
        snapshot); not while the first snapshot of a subscription is still on its way."""
        return self.seen_push and not self.synced

    def mark_out_of_sync(self) -> None:
        self.synced = False

    def apply(self, msg: OkxBookMessage) -> bool:
        """Apply one push; True when the book changed (False for a heartbeat)."""
        return self._apply(msg.inst_id, msg.action, _DictPush(msg.data))

    def apply_scanned(self, push: ScannedPush) -> bool:
        """apply() for a push ``PushScanner`` read: the same checks, in the same order."""
        return self._apply(push.inst_id, push.action, push)

    def _apply(self, inst_id: str, action: str, push: _DictPush | ScannedPush) -> bool:
        if inst_id != self.inst_id:
            raise errors.WrongInstrument(f"push for {inst_id!r}, syncing {self.inst_id!r}")
        self.seen_push = True
        try:
            if action == "snapshot":
                self._apply_snapshot(push)
                return True
            return self._apply_update(push)
        except Exception:  # a FeedError, or a bug: either way the book may have missed this push
            self.synced = False  # the exchange's state moved on without us: wait for a snapshot
            raise

    def _apply_snapshot(self, push: _DictPush | ScannedPush) -> None:
        ts_ms = push.ts_ms()
        seq = push.int_field("seqId")
        checksum = push.int_field("checksum")
        bids, asks = push.levels("bids"), push.levels("asks")
        bids = _drop_zero_sizes(bids, "bid", descending=True)
        asks = _drop_zero_sizes(asks, "ask", descending=False)
        if checksum:
            self._verify(checksum, bids.text, asks.text)
        self.book.apply_snapshot(bids.px, bids.sz, asks.px, asks.sz, ts_ms)
        self._bid_text = dict(zip(bids.px.tolist(), bids.text))
        self._ask_text = dict(zip(asks.px.tolist(), asks.text))
        self.last_seq = seq
        self.synced = True

    def _apply_update(self, push: _DictPush | ScannedPush) -> bool:
        if not self.synced:
            raise errors.OutOfSync("update while waiting for a snapshot")
        seq, prev = push.int_field("seqId"), push.int_field("prevSeqId")
        if seq is not None and prev is not None and self.last_seq is not None and prev != self.last_seq:
            raise errors.SequenceGap(f"prevSeqId {prev} does not follow seqId {self.last_seq}")
        ts_ms = push.ts_ms()
        if seq is not None and seq == prev:
            return False  # heartbeat: nothing changed
        checksum = push.int_field("checksum")
        bids, asks = push.levels("bids"), push.levels("asks")
        # The texts go in first, so the checksum reads one table per side. If the delta is
        # then rejected, the sync is marked out of sync (apply) and only a snapshot, which
        # rebuilds both tables, is accepted next: the tables never serve a book they missed.
        _commit_text(self._bid_text, bids)
        _commit_text(self._ask_text, asks)
        verify = self._checksum_check(checksum) if checksum else None
        self.book.apply_delta(bids.px, bids.sz, asks.px, asks.sz, ts_ms, verify)
        if seq is not None:
            self.last_seq = seq
        return True

    def _checksum_check(self, checksum: int):
        """A verifier that sees the merged book before commit and checks its top 25 texts."""
        bid_text, ask_text = self._bid_text, self._ask_text

        def verify(bpx, _bsz, apx, _asz):
            self._verify(checksum, list(map(bid_text.__getitem__, bpx[:CHECKSUM_DEPTH].tolist())),
                         list(map(ask_text.__getitem__, apx[:CHECKSUM_DEPTH].tolist())))
        return verify

    def _verify(self, expected: int, bids: list[str], asks: list[str]) -> None:
        """``bids``/``asks``: the top levels as ``px:sz`` texts, best first."""
        got = crc32_signed(joined_checksum_string(bids, asks))
        if got != expected:
            raise errors.ChecksumMismatch(f"checksum {got} != exchange's {expected}")
        self.checksums_verified += 1


def _drop_zero_sizes(levels: _Levels, side: str, descending: bool) -> _Levels:
    """Validate a snapshot side (sorted, finite, no duplicates) and drop zero sizes."""
    px, sz = levels.px.copy(), levels.sz.copy()
    code, idx, kept = validate_side(px, sz, px.shape[0], descending)
    raise_validation(code, idx, side)
    if kept == px.shape[0]:
        return levels
    text = [t for t, s in zip(levels.text, levels.sz.tolist()) if s > 0.0]
    return _Levels(px[:kept], sz[:kept], text)


def _commit_text(table: dict[float, str], levels: _Levels) -> None:
    """Set the texts of the levels a push sets, forget those it deletes (size 0)."""
    px = levels.px.tolist()
    table.update(zip(px, levels.text))
    for p in compress(px, [not s > 0.0 for s in levels.sz.tolist()]):
        table.pop(p, None)  # (a price twice in one push is rejected later, not here)


def frame_from_levels(channel: str, inst_id: str, action: str, bids: list, asks: list, ts_ms: int,
                      checksum: int, seq: int | None = None, prev_seq: int | None = None) -> bytes:
    """Serialise one push the way OKX does (used by the embedded server and tests)."""
    data: dict[str, Any] = {"asks": asks, "bids": bids, "ts": str(ts_ms), "checksum": checksum}
    if seq is not None:
        data["prevSeqId"] = -1 if prev_seq is None else prev_seq
        data["seqId"] = seq
    obj: dict[str, Any] = {"arg": {"channel": channel, "instId": inst_id}}
    if channel not in SNAPSHOT_ONLY_CHANNELS:
        obj["action"] = action
    obj["data"] = [data]
    return orjson.dumps(obj)
