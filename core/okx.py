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
from operator import itemgetter
from typing import Any

import numpy as np
import orjson

from core import errors
from core.book import OrderBook, raise_validation, validate_side
from core.jsonscan import OK, scan_number_list
from core.fields import load_json_object, parse_decimal

CHECKSUM_DEPTH = 25
BOOK_CHANNELS = ("books", "books5", "bbo-tbt", "books-l2-tbt", "books50-l2-tbt")
SNAPSHOT_ONLY_CHANNELS = ("books5", "bbo-tbt")
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


# --- levels --------------------------------------------------------------------------------

@dataclass(slots=True)
class _Levels:
    """One side of one message: floats for the book, ``px:sz`` strings for the checksum."""

    px: np.ndarray
    sz: np.ndarray
    text: list[str]


def _parse_levels(data: dict, name: str) -> _Levels:
    levels = data.get(name)
    if levels is None:
        raise errors.MissingField(f"book data lacks {name!r}")
    if not isinstance(levels, list):
        raise errors.WrongSchema(f"{name!r} must be a list of levels")
    fast = _parse_levels_fast(levels)
    return fast if fast is not None else _parse_levels_checked(levels, name)


def _parse_levels_fast(levels: list) -> _Levels | None:
    """All prices and sizes in one Numba scan; None when anything is unusual (the checked
    path then converts one by one and names the error)."""
    if not levels:
        return _Levels(np.empty(0), np.empty(0), [])
    if set(map(type, levels)) != {list}:
        return None
    try:
        pairs = list(map(_PX_SZ, levels))
        px_text, sz_text = zip(*pairs)
        joined = ",".join(px_text + sz_text).encode()
    except (IndexError, TypeError):
        return None
    n = len(levels)
    values = np.empty(2 * n)
    code, count = scan_number_list(np.frombuffer(joined, dtype=np.uint8), values)
    if code != OK or count != 2 * n:
        return None
    return _Levels(values[:n], values[n:], list(map(":".join, pairs)))


_PX_SZ = itemgetter(0, 1)  # a level's (price, size) texts


def _parse_levels_checked(levels: list, name: str) -> _Levels:
    n = len(levels)
    px = np.empty(n)
    sz = np.empty(n)
    text: list[str] = []
    i = 0
    try:
        for i, level in enumerate(levels):
            if type(level) is not list or len(level) < 2:
                raise errors.WrongSchema("must be [price, size, ...]")
            p, s = level[0], level[1]
            px[i] = parse_decimal(p, "price")
            sz[i] = parse_decimal(s, "size")
            text.append(f"{p}:{s}")
    except errors.FeedError as exc:
        raise type(exc)(f"{name}[{i}]: {exc}") from None
    return _Levels(px, sz, text)


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
        self.last_seq: int | None = None
        self.checksums_verified = 0
        # price -> exact (price, size) strings, for the checksum of the merged book
        self._bid_text: dict[float, str] = {}
        self._ask_text: dict[float, str] = {}

    @property
    def needs_resync(self) -> bool:
        return not self.synced

    def mark_out_of_sync(self) -> None:
        self.synced = False

    def apply(self, msg: OkxBookMessage) -> bool:
        """Apply one push; True when the book changed (False for a heartbeat)."""
        if msg.inst_id != self.inst_id:
            raise errors.WrongInstrument(f"push for {msg.inst_id!r}, syncing {self.inst_id!r}")
        try:
            if msg.action == "snapshot":
                self._apply_snapshot(msg.data)
                return True
            return self._apply_update(msg.data)
        except Exception:  # a FeedError, or a bug: either way the book may have missed this push
            self.synced = False  # the exchange's state moved on without us: wait for a snapshot
            raise

    def _apply_snapshot(self, data: dict) -> None:
        ts_ms = _timestamp_ms(data)
        seq = _optional_int(data, "seqId")
        checksum = _optional_int(data, "checksum")
        bids, asks = _parse_levels(data, "bids"), _parse_levels(data, "asks")
        bids = _drop_zero_sizes(bids, "bid", descending=True)
        asks = _drop_zero_sizes(asks, "ask", descending=False)
        if checksum:
            self._verify(checksum, bids.text, asks.text)
        self.book.apply_snapshot(bids.px, bids.sz, asks.px, asks.sz, ts_ms)
        self._bid_text = dict(zip(bids.px.tolist(), bids.text))
        self._ask_text = dict(zip(asks.px.tolist(), asks.text))
        self.last_seq = seq
        self.synced = True

    def _apply_update(self, data: dict) -> bool:
        if not self.synced:
            raise errors.OutOfSync("update while waiting for a snapshot")
        seq, prev = _optional_int(data, "seqId"), _optional_int(data, "prevSeqId")
        if seq is not None and prev is not None and self.last_seq is not None and prev != self.last_seq:
            raise errors.SequenceGap(f"prevSeqId {prev} does not follow seqId {self.last_seq}")
        ts_ms = _timestamp_ms(data)
        if seq is not None and seq == prev:
            return False  # heartbeat: nothing changed
        checksum = _optional_int(data, "checksum")
        bids, asks = _parse_levels(data, "bids"), _parse_levels(data, "asks")
        # The texts go in first, so the checksum reads one table per side. If the delta is
        # then rejected, the sync is marked out of sync (apply) and only a snapshot, which
        # rebuilds both tables, is accepted next: the tables never serve a book they missed.
        _commit_text(self._bid_text, bids)
        _commit_text(self._ask_text, asks)
        verify = None
        if checksum:
            bid_text, ask_text = self._bid_text, self._ask_text

            def verify(bpx, _bsz, apx, _asz):  # sees the merged book before commit
                self._verify(checksum, list(map(bid_text.__getitem__, bpx[:CHECKSUM_DEPTH].tolist())),
                             list(map(ask_text.__getitem__, apx[:CHECKSUM_DEPTH].tolist())))

        self.book.apply_delta(bids.px, bids.sz, asks.px, asks.sz, ts_ms, verify)
        if seq is not None:
            self.last_seq = seq
        return True

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


def subscribe_request(channel: str, inst_ids: list[str]) -> bytes:
    return orjson.dumps({"op": "subscribe", "args": [{"channel": channel, "instId": i} for i in inst_ids]})


def unsubscribe_request(channel: str, inst_ids: list[str]) -> bytes:
    return orjson.dumps({"op": "unsubscribe", "args": [{"channel": channel, "instId": i} for i in inst_ids]})


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
