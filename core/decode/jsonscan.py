"""Shared Numba byte scanners for JSON order-book messages: values, skippers, and the pieces
that ``core.decode.levels`` (the level-list scanner) and ``core.decode.objects`` (the schema
scanner every venue's fast path is built on) put together.

Conventions, the same for every scanner in ``core.decode``: a *value parser* returns ``(value,
index after it, code)`` with ``code`` one of the ``E_*`` constants below (``OK`` = 0); a
*skipper* returns the index after what it skipped, or -1; a list or object scan returns the
index first and the code last. Bytes are compared by name (``QUOTE``, ``COMMA``, ...), never as
bare numbers.

Why: ``json.loads`` + ``float()`` per level costs ~400 us for a 400-level snapshot, almost
all of it building and converting Python strings. Scanning the bytes once in compiled code
costs ~20 us. This is only a fast path: whenever it meets anything it does not handle
(escapes in numbers, more than 15 significant digits, missing fields, bad structure), it
returns a non-zero code and the caller falls back to the exact, slower reference decoder,
which also decides *which* error to report. Hence the fast path must never accept a message
the reference would reject, nor produce a different number; property tests check both.

Number conversion is exact: the digits are accumulated as an integer ``m`` (< 2**53) and
divided once by an exact power of ten (10**k is exact for k <= 22). IEEE division of two
exact operands rounds once, so the result equals Python's correctly rounded ``float(s)``.
"""
from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

OK = 0
E_MALFORMED = 1  # structure is not the JSON we expect
E_NUMBER = 2  # a value is not a plain decimal the fast path converts exactly
E_OVERSIZED = 3  # more levels than the output arrays hold
E_MISSING = 4  # asks or bids absent
E_SCHEMA = 5  # a level is not [price, size, ...]

MAX_DEPTH = 32  # nesting limit for skipped (unknown) values

# JSON's bytes, by name (the scanners compare uint8 values; Numba folds these constants)
TAB, LF, CR, SPACE = 9, 10, 13, 32
QUOTE, PLUS, COMMA, MINUS, DOT, COLON = 34, 43, 44, 45, 46, 58
DIGIT_0, DIGIT_9 = 48, 57
UPPER_E, LOWER_E = 69, 101
LBRACKET, BACKSLASH, RBRACKET, LBRACE, RBRACE = 91, 92, 93, 123, 125
SLASH, LOWER_B, LOWER_F, LOWER_N, LOWER_R, LOWER_T = 47, 98, 102, 110, 114, 116  # escapes; true/false/null

_POW10 = np.array([10.0**k for k in range(23)], dtype=np.float64)
_TWO53 = 2**53



@njit(nogil=True, cache=True, inline="always")
def _skip_ws(buf, i):
    n = buf.shape[0]
    while i < n:
        c = buf[i]
        if not (c == SPACE or c == LF or c == CR or c == TAB):
            return i  # returning from inside the loop compiles far tighter than break
        i += 1
    return i


@njit(nogil=True, cache=True, inline="always")
def _skip_string(buf, i):
    """``buf[i]`` is the opening quote; return the index after the closing one, or -1.

    Conservative: non-ASCII bytes, unicode (backslash-u) escapes and invalid escapes give -1, so the exact
    reference path (orjson) decides about them.
    """
    n = buf.shape[0]
    i += 1
    while i < n:
        c = buf[i]
        if c == QUOTE:  # '"'
            return i + 1
        if c < SPACE or c >= 128:  # raw control characters are invalid; non-ASCII: let orjson judge
            return -1
        if c == BACKSLASH:  # backslash
            if i + 1 >= n:
                return -1
            e = buf[i + 1]  # backslash-u escapes (with their surrogate rules) are left to orjson too
            if not (e == QUOTE or e == BACKSLASH or e == SLASH or e == LOWER_B or e == LOWER_F or e == LOWER_N
                    or e == LOWER_R or e == LOWER_T):
                return -1
            i += 2
            continue
        i += 1
    return -1


@njit(nogil=True, cache=True, inline="always")
def _key_is(buf, start, end, key):
    if end - start != key.shape[0]:
        return False
    for k in range(key.shape[0]):
        if buf[start + k] != key[k]:
            return False
    return True


@njit(nogil=True, cache=True, inline="always")
def _digit_run(buf, i):
    """Digits with at most one '.', accumulated as an integer, in one loop.

    Returns (integer of all digits, index after the run, index of the dot or -1, digit count).
    One loop with one exit mispredicts half as often as separate integer/fraction loops.
    """
    n = buf.shape[0]
    start = i
    m = 0
    dot = -1
    while i < n:
        c = buf[i]
        d = c - DIGIT_0
        if d >= 0 and d <= 9:
            m = m * 10 + d
        elif c == DOT and dot < 0:
            dot = i
        else:
            return m, i, dot, i - start - (dot >= 0)
        i += 1
    return m, i, dot, i - start - (dot >= 0)


@njit(nogil=True, cache=True, inline="always")
def _parse_number(buf, i, quoted):
    """Parse ``-?digits[.digits]`` at ``buf[i]``: (value, index after it, code).

    When ``quoted`` the closing quote must follow (it is consumed). Exponents, more than 18
    digits and mantissas of 2**53 or more are left to the reference path (code E_NUMBER).
    One exit and no early returns: this loop runs 800 times a message, and the single-exit
    form compiles to about half the time of the branchy one.
    """
    n = buf.shape[0]
    neg = i < n and buf[i] == MINUS  # '-'
    i += neg
    m, i, dot, digits = _digit_run(buf, i)
    frac = 0 if dot < 0 else i - dot - 1
    nxt = buf[i] if i < n else 0
    ok = digits > 0 and digits <= 18 and m < _TWO53 and frac <= 22
    if quoted:
        ok = ok and nxt == QUOTE
        i += 1
    else:
        ok = ok and nxt != LOWER_E and nxt != UPPER_E  # 'e' / 'E'
    value = m / _POW10[frac if frac <= 22 else 0]
    if neg:
        value = -value
    return value, i, OK if ok else E_NUMBER


# --- eight bytes at a time (SWAR) for the short quoted numbers that make up a book --------
# Each byte of a uint64 is one character; the masks below set a byte's high bit where the
# character has some property, without branches and without carries between bytes.
_U64 = np.uint64
_LOW7 = _U64(0x7F7F7F7F7F7F7F7F)
_HIGH = _U64(0x8080808080808080)
_ZEROS = _U64(0x3030303030303030)  # '0' in every byte
_DOTS = _U64(0x2E2E2E2E2E2E2E2E)  # '.' in every byte
_TEN_LESS = _U64(0x7676767676767676)  # 0x80 - 10: a byte >= 10 reaches the high bit


@njit(nogil=True, cache=True, inline="always")
def _load8(buf, i):
    """buf[i:i+8] as a little-endian uint64. The index is unsigned so that Numba adds no
    negative-index wrap-around per byte, and LLVM merges the eight loads into one."""
    at = _U64(i)
    v = _U64(0)
    for k in range(8):
        v |= _U64(buf[at + _U64(k)]) << _U64(8 * k)
    return v


@njit(nogil=True, cache=True, inline="always")
def _low_bytes(count):
    """A mask of the ``count`` (0..7) lowest bytes."""
    return (_U64(1) << _U64(8 * count)) - _U64(1)


@njit(nogil=True, cache=True, inline="always")
def _eight_digits(x):
    """Eight digit values (0..9), most significant in the lowest byte, to their integer:
    pairs, then quads, then all eight, with three multiplications (Lemire's SWAR parse)."""
    x = (x * _U64(10) + (x >> _U64(8))) & _U64(0x00FF00FF00FF00FF)
    x = (x * _U64(100) + (x >> _U64(16))) & _U64(0x0000FFFF0000FFFF)
    return np.int64((x * _U64(10000) + (x >> _U64(32))) & _U64(0xFFFFFFFF))


@njit(nogil=True, cache=True, inline="always")
def _parse_short_quoted(buf, i):
    """``digits[.digits]"`` of at most 7 characters at ``buf[i]`` (needs 8 readable bytes).

    Returns (value, index after the closing quote, True), or (0, i, False) for anything
    else, which the byte-by-byte ``_parse_number`` then handles. When it succeeds, the value
    and index are exactly what ``_parse_number(buf, i, True)`` gives (same integer and
    power of ten), without one branch per character: the loop's mispredicted exits at each
    number's end cost more than the arithmetic here. Counts stay int64 (mixing them with
    uint64 would turn them into floats).
    """
    v = _load8(buf, i)
    x = v ^ _ZEROS  # digits become 0..9
    not_digit = (((x & _LOW7) + _TEN_LESS) | x) & _HIGH
    e = v ^ _DOTS
    dot = ~(((e & _LOW7) + _LOW7) | e) & _HIGH  # exactly the '.' bytes
    ends = not_digit & ~dot
    if ends == _U64(0):
        return 0.0, i, False  # 8 or more characters
    length = np.int64(trailing_zeros(ends)) >> 3  # characters before the first that is neither
    if buf[i + length] != QUOTE:
        return 0.0, i, False  # not closed by a quote: sign, exponent, garbage...
    dots = dot & _low_bytes(length)
    if dots & (dots - _U64(1)):
        return 0.0, i, False  # two dots
    digits = length
    frac = 0
    if dots:
        at = np.int64(trailing_zeros(dots)) >> 3
        below = _low_bytes(at)
        x = (x & below) | ((x >> _U64(8)) & ~below)  # close the gap the dot leaves
        digits = length - 1
        frac = length - at - 1
    if digits == 0:
        return 0.0, i, False
    x = (x & _low_bytes(digits)) << _U64(8 * (8 - digits))  # leading zeros in the low bytes
    return _eight_digits(x) / _POW10[frac], i + length + 1, True


@njit(nogil=True, cache=True, inline="always")
def _parse_quoted(buf, i):
    """A quoted decimal after its opening quote: eight bytes at a time when it is short."""
    if i + 8 <= buf.shape[0]:
        value, j, ok = _parse_short_quoted(buf, i)
        if ok:
            return value, j, OK
    return _parse_number(buf, i, True)


_LIT_TRUE = np.frombuffer(b"true", dtype=np.uint8)
_LIT_FALSE = np.frombuffer(b"false", dtype=np.uint8)
_LIT_NULL = np.frombuffer(b"null", dtype=np.uint8)


@njit(nogil=True, cache=True)
def _skip_literal(buf, i):
    """Skip ``true``, ``false`` or ``null`` at ``buf[i]``; -1 when it is none of them."""
    c = buf[i]
    lit = _LIT_TRUE if c == LOWER_T else (_LIT_FALSE if c == LOWER_F else _LIT_NULL)
    if i + lit.shape[0] > buf.shape[0] or not _key_is(buf, i, i + lit.shape[0], lit):
        return -1
    return i + lit.shape[0]


@njit(nogil=True, cache=True, inline="always")
def _skip_digits(buf, i):
    n = buf.shape[0]
    start = i
    while i < n and DIGIT_0 <= buf[i] <= DIGIT_9:
        i += 1
    return i, i - start


@njit(nogil=True, cache=True)
def _skip_number(buf, i):
    """Skip a bare JSON number (any precision: unknown fields are not converted); -1 if invalid."""
    n = buf.shape[0]
    if i < n and buf[i] == MINUS:
        i += 1
    start = i
    i, count = _skip_digits(buf, i)
    if count == 0 or (count > 1 and buf[start] == DIGIT_0):  # JSON forbids leading zeros
        return -1
    if i < n and buf[i] == DOT:
        i, count = _skip_digits(buf, i + 1)
        if count == 0:
            return -1
    if i < n and (buf[i] == LOWER_E or buf[i] == UPPER_E):
        i += 1
        if i < n and (buf[i] == PLUS or buf[i] == MINUS):
            i += 1
        i, count = _skip_digits(buf, i)
        if count == 0:
            return -1
    return i


@njit(nogil=True, cache=True)
def _skip_key(buf, i):
    """An object key and its colon at ``buf[i]``; the index after the colon, or -1."""
    n = buf.shape[0]
    if i >= n or buf[i] != QUOTE:
        return -1
    i = _skip_string(buf, i)
    if i < 0:
        return -1
    i = _skip_ws(buf, i)
    if i >= n or buf[i] != COLON:
        return -1
    return i + 1


@njit(nogil=True, cache=True)
def _skip_value(buf, i, stack):
    """Skip any JSON value at ``buf[i]``, validating its structure; -1 when malformed."""
    n = buf.shape[0]
    depth = 0
    while True:
        # --- a value is expected at i ---
        i = _skip_ws(buf, i)
        if i >= n:
            return -1
        c = buf[i]
        if c == QUOTE:
            i = _skip_string(buf, i)
            if i < 0:
                return -1
        elif c == LBRACE or c == LBRACKET:  # '{' or '['
            if depth >= MAX_DEPTH:
                return -1
            stack[depth] = c
            depth += 1
            i = _skip_ws(buf, i + 1)
            if i >= n:
                return -1
            closing = RBRACE if c == LBRACE else RBRACKET
            if buf[i] == closing:
                depth -= 1
                i += 1
            elif c == LBRACE:
                i = _skip_key(buf, i)
                if i < 0:
                    return -1
                continue
            else:
                continue
        elif c == LOWER_T or c == LOWER_F or c == LOWER_N:  # true / false / null
            i = _skip_literal(buf, i)
            if i < 0:
                return -1
        else:
            i = _skip_number(buf, i)
            if i < 0:
                return -1
        # --- after a value: close containers or move to the next element ---
        while True:
            if depth == 0:
                return i
            i = _skip_ws(buf, i)
            if i >= n:
                return -1
            c = buf[i]
            top = stack[depth - 1]
            if c == COMMA:  # ','
                i = _skip_ws(buf, i + 1)
                if top == LBRACE:
                    i = _skip_key(buf, i)
                    if i < 0:
                        return -1
                break
            if (c == RBRACE and top == LBRACE) or (c == RBRACKET and top == LBRACKET):
                depth -= 1
                i += 1
                continue
            return -1


@njit(nogil=True, cache=True)
def scan_number_list(buf, out):
    """Parse ``num,num,...`` (decimal strings joined by commas) into ``out``.

    Returns (code, count). OKX levels arrive as lists of strings from orjson; joining them
    and scanning once is ~10x cheaper than one ``float()`` call per string (with checks).
    """
    n = buf.shape[0]
    count = 0
    i = 0
    while i < n:
        if count >= out.shape[0]:
            return E_OVERSIZED, count
        value, i, code = _parse_number(buf, i, False)
        if code != OK:
            return code, count
        out[count] = value
        count += 1
        if i < n:
            if buf[i] != COMMA:
                return E_NUMBER, count
            i += 1
            if i == n:
                return E_NUMBER, count  # trailing comma: an empty last value
    return OK, count


# --- pieces for scanning objects (core.decode.objects, the venues' fast paths) -------------

@njit(nogil=True, cache=True, inline="always")
def next_key(buf, i):
    """At ``"key" :`` (``buf[i]`` the quote): (key start, key end, index after the colon),
    or (-1, -1, -1) when it is not a plain key."""
    n = buf.shape[0]
    if i >= n or buf[i] != QUOTE:
        return -1, -1, -1
    end = _skip_string(buf, i)
    if end < 0:
        return -1, -1, -1
    j = _skip_ws(buf, end)
    if j >= n or buf[j] != COLON:
        return -1, -1, -1
    return i + 1, end - 1, _skip_ws(buf, j + 1)


@njit(nogil=True, cache=True, inline="always")
def after_member(buf, i, closing):
    """After an object member or array element: (index of the next one, 0), (index after the
    ``closing`` bracket, 1), or (i, -1) when neither a comma nor the bracket follows."""
    n = buf.shape[0]
    i = _skip_ws(buf, i)
    if i < n and buf[i] == COMMA:
        return _skip_ws(buf, i + 1), 0
    if i < n and buf[i] == closing:
        return i + 1, 1
    return i, -1


@njit(nogil=True, cache=True)
def string_span(buf, i, spans, slot):
    """A plain string value at ``buf[i]`` (no escapes, control characters or non-ASCII: those
    are for the general path): its content's [start, end) into ``spans[slot:slot+2]``; the
    index after it, or -1."""
    n = buf.shape[0]
    if i >= n or buf[i] != QUOTE:
        return -1
    k = i + 1
    while k < n and buf[k] != QUOTE:
        if buf[k] == BACKSLASH or buf[k] < SPACE or buf[k] >= 128:
            return -1
        k += 1
    if k >= n:
        return -1
    spans[slot] = i + 1
    spans[slot + 1] = k
    return k + 1


@njit(nogil=True, cache=True)
def json_int(buf, i):
    """A bare JSON integer at ``buf[i]`` (JSON's grammar: optional minus, no leading zero),
    of at most 18 digits: (value, index after it, OK), or (0, i, E_NUMBER)."""
    end = _skip_number(buf, i)
    if end < 0:
        return 0, i, E_NUMBER
    neg = buf[i] == MINUS
    start = i + 1 if neg else i
    if end - start > 18:
        return 0, i, E_NUMBER
    value = 0
    for k in range(start, end):
        d = buf[k] - DIGIT_0
        if d < 0 or d > 9:  # a fraction or an exponent: not an integer
            return 0, i, E_NUMBER
        value = value * 10 + d
    return -value if neg else value, end, OK


@njit(nogil=True, cache=True)
def quoted_digits(buf, i, max_digits):
    """A string of 1..``max_digits`` ASCII digits at ``buf[i]`` (the opening quote):
    (value, index after the closing quote, OK), or (0, i, E_NUMBER)."""
    n = buf.shape[0]
    if i >= n or buf[i] != QUOTE:
        return 0, i, E_NUMBER
    value = 0
    k = i + 1
    while k < n and DIGIT_0 <= buf[k] <= DIGIT_9:
        value = value * 10 + (buf[k] - DIGIT_0)
        k += 1
    if k >= n or buf[k] != QUOTE or k == i + 1 or k - i - 1 > max_digits:
        return 0, i, E_NUMBER
    return value, k + 1, OK
