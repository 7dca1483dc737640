"""The one compiled scanner of a JSON list of book levels, ``[[price, size, ...], ...]``.

Every venue writes a side of its book this way (OKX ``[px, sz, liquidated, orders]``, Binance
and GoQuant ``[px, sz]`` with extra fields allowed, Bybit exactly ``[px, sz]``), so one loop
reads them all; what differs is a *form*, fixed per call site:

- :func:`scan_levels`: quoted decimals or bare JSON numbers, extra fields skipped (GoQuant, Binance);
- :func:`scan_pairs`: exactly two quoted decimals a level (Bybit: its general path refuses more);
- :func:`scan_levels_text`: quoted decimals, extra fields skipped, and each level's exact
  ``px:sz,`` bytes copied out (OKX's checksum is computed on the strings as received).

Each is the shared body compiled with its form as constants (``inline="always"``), so a form
pays for no test it does not make. One return convention, as everywhere in ``core.decode``:
``(index after the list, levels, text end, code)`` with ``code`` ``OK`` or an ``E_*`` of
:mod:`core.decode.jsonscan`; a non-OK code only means "not taken here": the venue's general
path then decides, and names any error.

:func:`level_arrays` is the general path's counterpart for a side that orjson has parsed.
"""
from __future__ import annotations

from operator import itemgetter

import numpy as np
from numba import njit

from core import errors
from core.decode.fields import parse_levels_into
from core.decode.jsonscan import (
    COLON, COMMA, E_MALFORMED, E_NUMBER, E_OVERSIZED, E_SCHEMA, LBRACKET, OK, QUOTE, RBRACKET, _parse_number, _parse_quoted,
    _skip_number, _skip_string, _skip_value, _skip_ws, after_member, scan_number_list,
)

@njit(nogil=True, cache=True, inline="always")
def _level_value(buf, i, quoted_only):
    """A price or size at ``buf[i]``: (value, content start, content end, index after, code).
    A quoted decimal (eight bytes at a time when short), or, unless ``quoted_only``, a bare
    JSON number (strict grammar)."""
    if i < buf.shape[0] and buf[i] == QUOTE:
        value, j, code = _parse_quoted(buf, i + 1)
        return value, i + 1, j - 1, j, code
    if quoted_only or _skip_number(buf, i) < 0:
        return 0.0, i, i, i, E_NUMBER
    value, j, code = _parse_number(buf, i, False)
    return value, i, j, j, code


@njit(nogil=True, cache=True, inline="always")
def _value_after(buf, i, byte, quoted_only):
    """``byte`` (``[`` or ``,``; whitespace around it allowed), then a price or size: as
    :func:`_level_value`, or E_SCHEMA when ``byte`` is not there."""
    i = _skip_ws(buf, i)
    if i >= buf.shape[0] or buf[i] != byte:
        return 0.0, i, i, i, E_SCHEMA
    return _level_value(buf, _skip_ws(buf, i + 1), quoted_only)


@njit(nogil=True, cache=True, inline="always")
def _compact(buf, i):
    """``["px","sz"`` at ``buf[i]`` with no whitespace, as every feed writes it: (px, sz, index
    of the comma between them, index after the size, ok). Not ok: the general steps decide."""
    n = buf.shape[0]
    if i + 1 < n and buf[i] == LBRACKET and buf[i + 1] == QUOTE:
        px, j, code = _parse_quoted(buf, i + 2)
        if code == OK and j + 1 < n and buf[j] == COMMA and buf[j + 1] == QUOTE:
            sz, k, code = _parse_quoted(buf, j + 2)
            return px, sz, j, k, code == OK
    return 0.0, 0.0, i, i, False


@njit(nogil=True, cache=True, inline="always")
def _copy_text(buf, start, end, text, t, sep):
    """``buf[start:end]`` then ``sep`` into ``text`` from ``t``; the index after."""
    for k in range(start, end):
        text[t] = buf[k]
        t += 1
    text[t] = sep
    return t + 1


@njit(nogil=True, cache=True, inline="always")
def _scan(buf, i, px_out, sz_out, text, t, stack, quoted_only, pairs_only, keep_text):
    """The shared body; see the module docstring for the forms and the return convention.
    A level written compactly (``["px","sz"``) takes one short path; whitespace, bare numbers
    and the like take the general steps (a third slower on a 400-level book)."""
    n = buf.shape[0]
    i = _skip_ws(buf, i)
    if i >= n or buf[i] != LBRACKET:
        return i, 0, t, E_SCHEMA
    i = _skip_ws(buf, i + 1)
    if i < n and buf[i] == RBRACKET:
        return i + 1, 0, t, OK
    count = 0
    while True:
        px, sz, comma, j, ok = _compact(buf, i)
        if ok:
            p0, p1, s0, s1, i = i + 2, comma - 1, comma + 2, j - 1, j
        else:
            px, p0, p1, i, code = _value_after(buf, i, LBRACKET, quoted_only)
            if code != OK:
                return i, count, t, code
            sz, s0, s1, i, code = _value_after(buf, i, COMMA, quoted_only)
            if code != OK:
                return i, count, t, code
        if i >= n or buf[i] != RBRACKET:
            i = _skip_ws(buf, i)
            while not pairs_only and i < n and buf[i] == COMMA:  # extra fields (OKX: liquidated, orders)
                i = _skip_ws(buf, i + 1)  # a string (OKX's) skips inline; anything else the general way
                i = _skip_string(buf, i) if i < n and buf[i] == QUOTE else _skip_value(buf, i, stack)
                if i < 0:
                    return 0, count, t, E_MALFORMED
                i = _skip_ws(buf, i)
            if i >= n or buf[i] != RBRACKET:
                return i, count, t, E_SCHEMA
        if count >= px_out.shape[0]:
            return i, count, t, E_OVERSIZED
        px_out[count] = px
        sz_out[count] = sz
        count += 1
        if keep_text:
            t = _copy_text(buf, s0, s1, text, _copy_text(buf, p0, p1, text, t, COLON), COMMA)
        i += 1
        if i < n and buf[i] == COMMA:
            i += 1  # (whitespace after it: the general steps skip it)
            continue
        i, state = after_member(buf, i, RBRACKET)
        if state != 0:
            return i, count, t, OK if state == 1 else E_MALFORMED


@njit(nogil=True, cache=True)
def scan_levels(buf, i, px_out, sz_out, stack):
    """Quoted decimals or bare numbers, extra fields skipped: (index, levels, 0, code).
    (``stack`` stands in for the text buffer, which this form never writes.)"""
    return _scan(buf, i, px_out, sz_out, stack, 0, stack, False, False, False)


@njit(nogil=True, cache=True)
def scan_pairs(buf, i, px_out, sz_out, stack):
    """Exactly ``["px","sz"]`` per level: (index, levels, 0, code)."""
    return _scan(buf, i, px_out, sz_out, stack, 0, stack, True, True, False)


@njit(nogil=True, cache=True)
def scan_levels_text(buf, i, px_out, sz_out, text, t, stack):
    """Quoted decimals, extra fields skipped, ``px:sz,`` per level into ``text`` from ``t``:
    (index, levels, text end, code)."""
    return _scan(buf, i, px_out, sz_out, text, t, stack, True, False, True)


# --- the general path's levels: a side as orjson gives it --------------------------------------

_PX_SZ = itemgetter(0, 1)  # a level's price and size


def level_arrays(levels: list, name: str, pairs_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``[[price, size, ...], ...]`` as orjson gives it -> (prices, sizes), exact as ``float()``:
    every price and size string in one compiled scan, or, when anything is unusual, one level at
    a time by :func:`core.decode.fields.parse_levels_into`, which names the first bad one.
    ``pairs_only``: exactly two fields a level (Bybit)."""
    fast = _decimal_texts(levels, pairs_only)
    if fast is not None:
        return fast
    px, sz = np.empty(len(levels)), np.empty(len(levels))
    parse_levels_into(levels, name, px, sz, pairs_only)
    return px, sz


def book_side(data: dict, name: str, pairs_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The side ``data[name]`` (OKX's ``bids``, Bybit's ``b``...) via :func:`level_arrays`;
    MissingField or WrongSchema naming it when absent or not a list."""
    levels = data.get(name)
    if levels is None:
        raise errors.MissingField(f"book data lacks {name!r}")
    if not isinstance(levels, list):
        raise errors.WrongSchema(f"{name!r} must be a list of levels")
    return level_arrays(levels, name, pairs_only)


def _decimal_texts(levels: list, pairs_only: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """Every price and size joined by commas and scanned once (``scan_number_list``); None
    when a level is not a list (of two), a value not a plain decimal string."""
    n = len(levels)
    if n == 0:
        return np.empty(0), np.empty(0)
    if set(map(type, levels)) != {list} or (pairs_only and set(map(len, levels)) != {2}):
        return None
    try:
        px_text, sz_text = zip(*map(_PX_SZ, levels))
        joined = ",".join(px_text + sz_text).encode()
    except (IndexError, TypeError, UnicodeEncodeError):
        return None
    values = np.empty(2 * n)
    code, count = scan_number_list(np.frombuffer(joined, dtype=np.uint8), values)
    if code != OK or count != 2 * n:
        return None
    return values[:n], values[n:]
