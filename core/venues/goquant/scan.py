"""GoQuant's whole-message scan: one pass over the bytes into float64 arrays (Numba).

Built from the shared scanners of ``core.decode.jsonscan``; returns ``(code, byte position,
n_asks, n_bids)`` with ``code`` one of their ``E_*`` constants, and the byte spans of the
timestamp, symbol and exchange strings (``SPAN_*``) for the decoder to check.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from core.decode.jsonscan import (
    COLON, COMMA, E_MALFORMED, E_MISSING, E_SCHEMA, LBRACE, MAX_DEPTH, OK, QUOTE, RBRACE, _key_is,
    _parse_levels, _skip_string, _skip_value, _skip_ws,
)

_KEY_ASKS = np.frombuffer(b"asks", dtype=np.uint8)
_KEY_BIDS = np.frombuffer(b"bids", dtype=np.uint8)
_KEY_TIMESTAMP = np.frombuffer(b"timestamp", dtype=np.uint8)
_KEY_SYMBOL = np.frombuffer(b"symbol", dtype=np.uint8)
_KEY_EXCHANGE = np.frombuffer(b"exchange", dtype=np.uint8)

# spans layout: [ts_start, ts_end, symbol_start, symbol_end, exchange_start, exchange_end]
SPAN_TIMESTAMP = 0
SPAN_SYMBOL = 2
SPAN_EXCHANGE = 4


@njit(nogil=True, cache=True)
def scan_goquant(buf, ask_px, ask_sz, bid_px, bid_sz, spans):
    """Scan one GoQuant message. Returns (code, byte position, n_asks, n_bids).

    ``spans`` receives the [start, end) byte offsets of the timestamp, symbol and exchange
    string contents (-1 when absent), so the caller decodes only those few bytes.
    """
    n = buf.shape[0]
    stack = np.empty(MAX_DEPTH, dtype=np.uint8)
    for k in range(spans.shape[0]):
        spans[k] = -1
    n_ask = -1
    n_bid = -1
    i = _skip_ws(buf, 0)
    if i >= n or buf[i] != LBRACE:
        return E_MALFORMED, i, 0, 0
    i = _skip_ws(buf, i + 1)
    if i < n and buf[i] == RBRACE:
        return E_MISSING, i, 0, 0
    while True:
        if i >= n or buf[i] != QUOTE:
            return E_MALFORMED, i, 0, 0
        key_start = i + 1
        i = _skip_string(buf, i)
        if i < 0:
            return E_MALFORMED, key_start, 0, 0
        key_end = i - 1
        i = _skip_ws(buf, i)
        if i >= n or buf[i] != COLON:
            return E_MALFORMED, i, 0, 0
        i = _skip_ws(buf, i + 1)
        if _key_is(buf, key_start, key_end, _KEY_ASKS):
            if n_ask >= 0:
                return E_MALFORMED, i, 0, 0
            i, n_ask, code = _parse_levels(buf, i, ask_px, ask_sz, stack)
            if code != OK:
                return code, i, 0, 0
        elif _key_is(buf, key_start, key_end, _KEY_BIDS):
            if n_bid >= 0:
                return E_MALFORMED, i, 0, 0
            i, n_bid, code = _parse_levels(buf, i, bid_px, bid_sz, stack)
            if code != OK:
                return code, i, 0, 0
        else:
            slot = -1
            if _key_is(buf, key_start, key_end, _KEY_TIMESTAMP):
                slot = SPAN_TIMESTAMP
            elif _key_is(buf, key_start, key_end, _KEY_SYMBOL):
                slot = SPAN_SYMBOL
            elif _key_is(buf, key_start, key_end, _KEY_EXCHANGE):
                slot = SPAN_EXCHANGE
            start = i
            i = _skip_value(buf, i, stack)
            if i < 0:
                return E_MALFORMED, start, 0, 0
            if slot >= 0:
                if buf[start] != QUOTE or spans[slot] >= 0:
                    return E_SCHEMA, start, 0, 0  # not a string, or a duplicated key
                spans[slot] = start + 1
                spans[slot + 1] = i - 1
        i = _skip_ws(buf, i)
        if i < n and buf[i] == COMMA:
            i = _skip_ws(buf, i + 1)
            continue
        if i < n and buf[i] == RBRACE:
            i = _skip_ws(buf, i + 1)
            if i != n:
                return E_MALFORMED, i, 0, 0  # trailing bytes after the object
            break
        return E_MALFORMED, i, 0, 0
    if n_ask < 0 or n_bid < 0:
        return E_MISSING, i, 0, 0
    return OK, i, n_ask, n_bid
