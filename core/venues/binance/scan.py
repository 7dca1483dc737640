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

from core.decode import objects
from core.decode.jsonscan import MAX_DEPTH, OK, _skip_ws

# integers (I_*) and string spans (S_*, [start, end) of each string's content) that scan_frame reports
I_TIME, I_FIRST, I_FINAL, I_PREV, I_LAST = 0, 1, 2, 3, 4
N_INTS = 5
S_TYPE, S_SYMBOL, S_STREAM = 0, 2, 4
N_SPANS = 6
#: an event's keys, a REST body's, and the combined stream's wrapper (``stream``, ``data``)
_DEPTH = objects.schema(
    ("e", objects.SPAN, S_TYPE), ("E", objects.ID, I_TIME), ("s", objects.SPAN, S_SYMBOL),
    ("U", objects.ID, I_FIRST), ("u", objects.ID, I_FINAL), ("pu", objects.ID, I_PREV),
    ("lastUpdateId", objects.ID, I_LAST), ("b", objects.BIDS), ("a", objects.ASKS),
    ("stream", objects.SPAN, S_STREAM), ("data", objects.NEST), ("bids", objects.BIDS), ("asks", objects.ASKS))
(HAS_TYPE, HAS_TIME, HAS_SYMBOL, HAS_FIRST, HAS_FINAL, HAS_PREV, HAS_LAST, HAS_B, HAS_A, HAS_STREAM, HAS_DATA,
 HAS_BIDS, HAS_ASKS) = (objects.bit(_DEPTH, k) for k in ("e", "E", "s", "U", "u", "pu", "lastUpdateId", "b", "a",
                                                        "stream", "data", "bids", "asks"))
WRAPPER = HAS_STREAM | HAS_DATA


@njit(nogil=True, cache=True)
def scan_frame(buf, bid_px, bid_sz, ask_px, ask_sz, ints, spans, counts):
    """One frame: (ok, present bits, bits found outside ``data``); levels into the arrays
    (``counts`` = bids, asks, and a third slot), integers into ``ints`` (I_*), string spans
    into ``spans`` (S_*). A ``data`` object is read with the same keys; one key inside and
    outside it, or a ``data`` inside ``data``, is not ok."""
    stack = np.empty(MAX_DEPTH, dtype=np.uint8)
    sink = objects.fresh_sink(bid_px, bid_sz, ask_px, ask_sz, stack, ints, spans, counts)  # (no text)
    i, outer, row, code = objects.scan_object(buf, _skip_ws(buf, 0), 0, False, _DEPTH, sink, stack)
    inner = 0
    if code == OK and row >= 0:  # "data"
        i, inner, nested, code = objects.scan_object(buf, i, 0, False, _DEPTH, sink, stack)
        if code != OK or nested >= 0 or inner & outer or inner & WRAPPER:
            return False, 0, 0
        i, outer, row, code = objects.scan_object(buf, i, outer, True, _DEPTH, sink, stack)
    if code != OK or row >= 0 or _skip_ws(buf, i) != buf.shape[0]:
        return False, 0, 0
    return True, outer | inner, outer
