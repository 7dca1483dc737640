"""GoQuant's whole-message scan: one pass over the bytes into float64 arrays (Numba).

Read by the shared schema scanner of ``core.decode.objects``; returns ``(code, byte position,
n_asks, n_bids)`` with ``code`` one of the ``E_*`` constants of ``core.decode.jsonscan``, and
the byte spans of the timestamp, symbol and exchange strings (``SPAN_*``) for the decoder to check.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from core.decode import objects
from core.decode.jsonscan import E_MALFORMED, E_MISSING, MAX_DEPTH, OK, _skip_ws

# spans layout: [ts_start, ts_end, symbol_start, symbol_end, exchange_start, exchange_end]
SPAN_TIMESTAMP = 0
SPAN_SYMBOL = 2
SPAN_EXCHANGE = 4
_ROWS = objects.schema(("asks", objects.ASKS), ("bids", objects.BIDS), ("timestamp", objects.SPAN, SPAN_TIMESTAMP),
                       ("symbol", objects.SPAN, SPAN_SYMBOL), ("exchange", objects.SPAN, SPAN_EXCHANGE))
_SIDES = objects.bit(_ROWS, "asks") | objects.bit(_ROWS, "bids")


@njit(nogil=True, cache=True)
def scan_goquant(buf, ask_px, ask_sz, bid_px, bid_sz, spans):
    """Scan one GoQuant message. Returns (code, byte position, n_asks, n_bids).

    ``spans`` receives the [start, end) byte offsets of the timestamp, symbol and exchange
    string contents (-1 when absent), so the caller decodes only those few bytes.
    """
    stack = np.empty(MAX_DEPTH, dtype=np.uint8)
    # (no integer fields nor text: ``spans`` and ``stack`` stand in for them, never written)
    sink = objects.fresh_sink(bid_px, bid_sz, ask_px, ask_sz, stack, spans, spans,
                              np.zeros(objects.N_COUNTS, dtype=np.int64))
    i, present, _, code = objects.scan_object(buf, _skip_ws(buf, 0), 0, False, _ROWS, sink, stack)
    if code != OK:
        return code, i, 0, 0
    if _skip_ws(buf, i) != buf.shape[0]:
        return E_MALFORMED, i, 0, 0  # trailing bytes after the object
    if present & _SIDES != _SIDES:
        return E_MISSING, i, 0, 0
    return OK, i, sink.counts[1], sink.counts[0]
