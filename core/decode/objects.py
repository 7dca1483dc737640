"""The one compiled scanner of a venue's JSON objects: members read by a schema.

Every venue's fast path reads objects the same way: a key, a value, a comma or the closing
brace, with a few known keys (level lists, integers, plain strings) and every other value
skipped after checking it is JSON. Only *which* keys and what each means differ, so a venue
states that as a :class:`Schema` (built once with :func:`schema`) and :func:`scan_object`
does the reading for every venue.

- A known key seen twice, or a :data:`REFUSE` key (OKX's ``event``: a control frame), is not
  taken; so is anything the shared scanners do not convert exactly.
- A :data:`NEST` key's value (an object or an array the venue reads itself, with its own
  schema) stops the scan there; the venue reads it, then calls again with ``resume`` to read
  the rest (no recursion: Numba's cache does not keep recursive functions).
- What the scan finds goes into a :class:`Sink` of arrays (levels, integers, string spans).

One return convention, as everywhere in ``core.decode``: ``(index, present bits, nested row
or -1, code)``, ``present`` holding bit ``1 << row`` for each schema row met and ``code``
``OK`` or an ``E_*`` of :mod:`core.decode.jsonscan`. Not OK means only "not taken here": the
venue's general path then decides and names any error, so a fast path must never accept a
frame the general path refuses, nor read a different value (each venue's property tests).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from core.decode.jsonscan import (
    BACKSLASH, DIGIT_0, DIGIT_9, DOT, E_MALFORMED, E_SCHEMA, LBRACE, LOWER_E, OK, QUOTE, RBRACE, UPPER_E,
    _skip_value, _skip_ws, after_member, json_int, next_key, quoted_digits, string_span,
)
from core.decode.levels import scan_levels, scan_levels_text, scan_pairs

# what a key's value is (Schema.kinds)
BIDS, ASKS = 1, 2  # a level list into the sink's bid / ask arrays (slot: where its text span goes, or -1)
INT = 3  # a JSON integer of at most 18 digits -> ints[slot]
ID = 4  # an update id: a JSON integer in [0, 2**62) -> ints[slot]
DIGITS = 5  # a string of 1..15 ASCII digits (OKX's ts) -> ints[slot]
SPAN = 6  # a plain string (no escapes, ASCII) -> its content's [start, end) in spans[slot:slot + 2]
NEST = 7  # an object or array the venue reads itself: the scan stops at its value
REFUSE = 8  # a key that marks the frame for the general path

# how a schema's level lists are written (Schema.form): see core.decode.levels
LEVELS, PAIRS, TEXT = 0, 1, 2

MAX_ID = 2**62  # json_int reads 18 digits; larger ids go to the general path
MAX_TS_DIGITS = 15
MAX_SKIPPED_DIGITS = 300  # orjson refuses a number that overflows a double: 309+ digits
N_COUNTS = 3  # Sink.counts: bid levels, ask levels, text end

#: the known keys of one object: row r is ``keys[r, :lengths[r]]``, its kind and slot
Schema = namedtuple("Schema", "keys lengths kinds slots form")
#: where a scan writes (built inside compiled code: a namedtuple argument costs ~2 us to pass)
Sink = namedtuple("Sink", "bid_px bid_sz ask_px ask_sz text ints spans counts")


def schema(*rows: tuple, form: int = LEVELS) -> Schema:
    """A Schema from ``(key, kind)`` or ``(key, kind, slot)`` rows; bit ``1 << r`` marks row r."""
    width = max(len(row[0]) for row in rows)
    keys = np.zeros((len(rows), width), dtype=np.uint8)
    for r, row in enumerate(rows):
        keys[r, :len(row[0])] = np.frombuffer(row[0].encode(), dtype=np.uint8)
    return Schema(keys, np.array([len(row[0]) for row in rows], dtype=np.int64),
                  np.array([row[1] for row in rows], dtype=np.int64),
                  np.array([row[2] if len(row) > 2 else -1 for row in rows], dtype=np.int64), form)


def bit(rows: Schema, key: str) -> int:
    """The present bit of ``key`` in ``rows`` (for the venues' Python side)."""
    for r in range(rows.lengths.shape[0]):
        if rows.keys[r, :rows.lengths[r]].tobytes() == key.encode():
            return 1 << r
    raise KeyError(key)


@njit(nogil=True, cache=True, inline="always")
def fresh_sink(bid_px, bid_sz, ask_px, ask_sz, text, ints, spans, counts):
    """The Sink of one scan, its spans cleared (-1: absent) and its level counts zeroed."""
    spans[:] = -1
    counts[:] = 0
    return Sink(bid_px, bid_sz, ask_px, ask_sz, text, ints, spans, counts)


@njit(nogil=True, cache=True, inline="always")
def _row(buf, k0, k1, keys, lengths):
    """The schema row of the key ``buf[k0:k1]``, or -1."""
    n = k1 - k0
    for r in range(lengths.shape[0]):
        if lengths[r] == n:
            k = 0
            while k < n and buf[k0 + k] == keys[r, k]:
                k += 1
            if k == n:
                return r
    return -1


@njit(nogil=True, cache=True)
def skip_value_checked(buf, i, stack):
    """``_skip_value``, but -1 also for a value holding a number orjson might refuse (one with
    an exponent, or hundreds of digits): the general path judges those."""
    end = _skip_value(buf, i, stack)
    if end < 0:
        return -1
    in_string = False
    digits = 0
    k = i
    while k < end:
        c = buf[k]
        if in_string:
            if c == BACKSLASH:
                k += 1  # skip the escaped character
            elif c == QUOTE:
                in_string = False
        elif c == QUOTE:
            in_string = True
        elif (c == LOWER_E or c == UPPER_E) and digits > 0:  # an exponent
            return -1
        elif DIGIT_0 <= c <= DIGIT_9 or c == DOT:
            digits += 1
            if digits >= MAX_SKIPPED_DIGITS:
                return -1
            k += 1
            continue
        digits = 0
        k += 1
    return end


@njit(nogil=True, cache=True, inline="always")
def _levels(buf, i, kind, slot, form, sink, stack):
    """A BIDS or ASKS value into the sink; the index after it, or -1."""
    side = 0 if kind == BIDS else 1
    px = sink.bid_px if side == 0 else sink.ask_px
    sz = sink.bid_sz if side == 0 else sink.ask_sz
    if form == TEXT:
        t = sink.counts[2]
        i, count, end, code = scan_levels_text(buf, i, px, sz, sink.text, t, stack)
        sink.counts[2] = end
        if slot >= 0:
            sink.ints[slot] = t
            sink.ints[slot + 1] = end
    elif form == PAIRS:
        i, count, end, code = scan_pairs(buf, i, px, sz, stack)
    else:
        i, count, end, code = scan_levels(buf, i, px, sz, stack)
    sink.counts[side] = count
    return i if code == OK else -1


@njit(nogil=True, cache=True, inline="always")
def _value(buf, i, kind, slot, form, sink, stack):
    """A known key's value into the sink; the index after it, or -1."""
    if kind == BIDS or kind == ASKS:
        return _levels(buf, i, kind, slot, form, sink, stack)
    if kind == SPAN:
        return string_span(buf, i, sink.spans, slot)
    if kind == DIGITS:
        value, j, code = quoted_digits(buf, i, MAX_TS_DIGITS)
    else:
        value, j, code = json_int(buf, i)
    if code != OK or (kind == ID and (value < 0 or value >= MAX_ID)):
        return -1
    sink.ints[slot] = value
    return j


@njit(nogil=True, cache=True)
def scan_object(buf, i, present, resume, rows, sink, stack):
    """The members of the object at ``buf[i]`` (or, with ``resume``, those after the nested
    value that ended at ``i``), read by ``rows``: (index, present, nested row or -1, code).
    At a NEST row it returns with the index at that row's value; after the closing brace,
    with the index after it."""
    n = buf.shape[0]
    state = 0
    if resume:
        i, state = after_member(buf, i, RBRACE)
    else:
        if i >= n or buf[i] != LBRACE:
            return i, present, -1, E_MALFORMED
        i = _skip_ws(buf, i + 1)
        if i < n and buf[i] == RBRACE:
            return i + 1, present, -1, OK
    while state == 0:
        k0, k1, i = next_key(buf, i)
        if k0 < 0:
            return i, present, -1, E_MALFORMED
        row = _row(buf, k0, k1, rows.keys, rows.lengths)
        if row < 0:
            i = skip_value_checked(buf, i, stack)
        else:
            kind = rows.kinds[row]
            if present & (1 << row) or kind == REFUSE:
                return i, present, -1, E_SCHEMA  # a repeated key, or one the general path must see
            present |= 1 << row
            if kind == NEST:
                return i, present, row, OK
            i = _value(buf, i, kind, rows.slots[row], rows.form, sink, stack)
        if i < 0:
            return 0, present, -1, E_MALFORMED
        i, state = after_member(buf, i, RBRACE)
    return i, present, -1, OK if state == 1 else E_MALFORMED
