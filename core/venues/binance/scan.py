"""The compiled fast path: one Numba pass over a Binance frame's bytes into float arrays.

Reads a ``depthUpdate`` (raw or wrapped in ``{"stream":..,"data":..}``) or a REST depth body
with the shared scanner pieces of ``core.decode.jsonscan`` (keys, integers, the level lists that
GoQuant's scanner uses). Like every fast path here it only ever says "ok" or "not mine":
anything unusual (escapes, repeated keys, numbers it does not convert exactly, errors of any
kind) returns not ok, and ``decode.decode_frame`` then decides and names the error. So it
must never accept a frame the general path rejects, nor produce a different number (the
property tests compare both).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from core.decode.jsonscan import MAX_DEPTH, OK, _key_is, _parse_levels, _skip_value, _skip_ws, after_member, json_int, next_key, string_span

_K = lambda text: np.frombuffer(text, dtype=np.uint8)  # noqa: E731 - key bytes for the scanner
_K_STREAM, _K_DATA, _K_E_TYPE, _K_E_TIME, _K_SYMBOL = _K(b"stream"), _K(b"data"), _K(b"e"), _K(b"E"), _K(b"s")
_K_FIRST, _K_FINAL, _K_PREV, _K_LAST = _K(b"U"), _K(b"u"), _K(b"pu"), _K(b"lastUpdateId")
_K_B, _K_A, _K_BIDS, _K_ASKS = _K(b"b"), _K(b"a"), _K(b"bids"), _K(b"asks")

# what scan_frame reports: which fields were present (bits), their integers, string spans
HAS_TYPE, HAS_TIME, HAS_SYMBOL, HAS_FIRST, HAS_FINAL, HAS_PREV = 1, 2, 4, 8, 16, 32
HAS_LAST, HAS_B, HAS_A, HAS_STREAM, HAS_DATA, HAS_BIDS, HAS_ASKS = 64, 128, 256, 512, 1024, 2048, 4096
I_TIME, I_FIRST, I_FINAL, I_PREV, I_LAST = 0, 1, 2, 3, 4
N_INTS = 5
S_TYPE, S_SYMBOL, S_STREAM = 0, 2, 4  # [start, end) of each string's content
N_SPANS = 6
MAX_ID = 2**62  # json_int reads up to 18 digits; larger ids go to the general path


@njit(nogil=True, cache=True)
def _id(buf, i, ints, slot):
    """A non-negative JSON integer into ``ints[slot]``; index after, or -1."""
    value, j, code = json_int(buf, i)
    if code != OK or value < 0 or value >= MAX_ID:
        return -1
    ints[slot] = value
    return j


@njit(nogil=True, cache=True)
def _member(buf, i, k0, k1, bid_px, bid_sz, ask_px, ask_sz, ints, spans, counts, stack):
    """One member of a depth object: (index after its value or -1, its HAS_ bit or 0)."""
    bids = _key_is(buf, k0, k1, _K_B)  # an event's "b" / "a", a REST body's "bids" / "asks"
    if bids or _key_is(buf, k0, k1, _K_BIDS):
        i, counts[0], code = _parse_levels(buf, i, bid_px, bid_sz, stack)
        return (i if code == OK else -1), HAS_B if bids else HAS_BIDS
    asks = _key_is(buf, k0, k1, _K_A)
    if asks or _key_is(buf, k0, k1, _K_ASKS):
        i, counts[1], code = _parse_levels(buf, i, ask_px, ask_sz, stack)
        return (i if code == OK else -1), HAS_A if asks else HAS_ASKS
    if _key_is(buf, k0, k1, _K_FIRST):
        return _id(buf, i, ints, I_FIRST), HAS_FIRST
    if _key_is(buf, k0, k1, _K_FINAL):
        return _id(buf, i, ints, I_FINAL), HAS_FINAL
    if _key_is(buf, k0, k1, _K_PREV):
        return _id(buf, i, ints, I_PREV), HAS_PREV
    if _key_is(buf, k0, k1, _K_E_TIME):
        return _id(buf, i, ints, I_TIME), HAS_TIME
    if _key_is(buf, k0, k1, _K_LAST):
        return _id(buf, i, ints, I_LAST), HAS_LAST
    if _key_is(buf, k0, k1, _K_E_TYPE):
        return string_span(buf, i, spans, S_TYPE), HAS_TYPE
    if _key_is(buf, k0, k1, _K_SYMBOL):
        return string_span(buf, i, spans, S_SYMBOL), HAS_SYMBOL
    return _skip_value(buf, i, stack), 0


@njit(nogil=True, cache=True)
def _object(buf, i, bid_px, bid_sz, ask_px, ask_sz, ints, spans, counts, stack, outer):
    """The members of the object at ``buf[i]``. The outer object may hold ``stream`` and
    ``data``: then (index of the ``data`` object, bits so far, bits of this object's own
    depth fields, True) returns so that the caller reads it with ``outer`` False and goes on
    (no recursion: Numba's cache does not keep recursive functions). Otherwise (index after
    the object or -1, present bits, own bits, False)."""
    n = buf.shape[0]
    present = own = 0
    if i >= n or buf[i] != 123:
        return -1, 0, 0, False
    i = _skip_ws(buf, i + 1)
    if i < n and buf[i] == 125:
        return i + 1, 0, 0, False
    while True:
        k0, k1, i = next_key(buf, i)
        if k0 < 0:
            return -1, 0, 0, False
        bit = 0
        if outer and _key_is(buf, k0, k1, _K_STREAM):
            i, bit = string_span(buf, i, spans, S_STREAM), HAS_STREAM
        elif outer and _key_is(buf, k0, k1, _K_DATA):
            return i, present, own, True
        else:
            i, bit = _member(buf, i, k0, k1, bid_px, bid_sz, ask_px, ask_sz, ints, spans, counts, stack)
            own |= bit
        if i < 0 or present & bit:
            return -1, 0, 0, False  # a value it does not take, or a repeated key
        present |= bit
        i, state = after_member(buf, i, 125)
        if state < 0:
            return -1, 0, 0, False
        if state == 1:
            return i, present, own, False


@njit(nogil=True, cache=True)
def _rest_of_outer(buf, i, present, own, spans, stack):
    """After ``data``'s object: the outer object's remaining members (``stream`` or others)."""
    while True:
        i, state = after_member(buf, i, 125)
        if state < 0:
            return -1, 0, 0
        if state == 1:
            return i, present, own
        k0, k1, i = next_key(buf, i)
        if k0 < 0:
            return -1, 0, 0
        if _key_is(buf, k0, k1, _K_STREAM):
            if present & HAS_STREAM:
                return -1, 0, 0
            i = string_span(buf, i, spans, S_STREAM)
            present |= HAS_STREAM
        elif _key_is(buf, k0, k1, _K_DATA):
            return -1, 0, 0  # two "data"
        else:
            i = _skip_value(buf, i, stack)
            own |= 1 << 20  # something beside "data" the general path may read: let it decide
        if i < 0:
            return -1, 0, 0


@njit(nogil=True, cache=True)
def scan_frame(buf, bid_px, bid_sz, ask_px, ask_sz, ints, spans, counts):
    """One frame: (ok, present bits, bits found outside ``data``); levels into the arrays
    (``counts`` = bids, asks), integers into ``ints`` (I_*), string spans into ``spans`` (S_*)."""
    stack = np.empty(MAX_DEPTH, dtype=np.uint8)
    for k in range(spans.shape[0]):
        spans[k] = -1
    counts[0] = counts[1] = 0
    i = _skip_ws(buf, 0)
    i, present, own, at_data = _object(buf, i, bid_px, bid_sz, ask_px, ask_sz, ints, spans, counts, stack, True)
    if at_data:
        i, inner, _, _ = _object(buf, i, bid_px, bid_sz, ask_px, ask_sz, ints, spans, counts, stack, False)
        if i < 0 or inner & present:
            return False, 0, 0
        i, present, own = _rest_of_outer(buf, i, present | inner | HAS_DATA, own, spans, stack)
    if i < 0 or _skip_ws(buf, i) != buf.shape[0]:
        return False, 0, 0
    return True, present, own
