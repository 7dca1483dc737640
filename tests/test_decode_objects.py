"""core.decode's shared scanners: the one level-list scanner (three forms) and the schema scanner
that every venue's fast path reads its objects with.

The rule they keep: never accept what the checked path (orjson + ``parse_levels_into``) refuses,
and never read a different value. Each venue's own property tests check whole frames; these
check the shared pieces directly, on lists and objects written in every way JSON allows.
"""
from __future__ import annotations

import numpy as np
import orjson
from hypothesis import given, strategies as st
from numba import njit

from core import errors
from core.decode import objects
from core.decode.fields import parse_levels_into
from core.decode.jsonscan import MAX_DEPTH, OK
from core.decode.levels import scan_levels, scan_levels_text, scan_pairs

NUMBER_TEXT = st.one_of(
    st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False).map(str),
    st.sampled_from(["0", "1e5", "-1", "-0.5", ".5", "5.", "", "01", "1.2.3", "nan", "12345678901234567890"]),
)
VALUE = st.one_of(NUMBER_TEXT.map(lambda t: orjson.dumps(t).decode()),  # a quoted decimal
                  st.sampled_from(["1", "2.5", "-3", "1e3", "0.1", "true", "null"]))  # a bare value
SPACE = st.sampled_from(["", "", " ", "\n "])


@st.composite
def level_lists(draw):
    """A JSON level list as text: levels of 1-4 values, whitespace anywhere JSON allows it."""
    levels = draw(st.lists(st.lists(VALUE, min_size=1, max_size=4), max_size=6))
    sp = lambda: draw(SPACE)  # noqa: E731
    body = ",".join(f"{sp()}[{sp()}" + f"{sp()},{sp()}".join(level) + f"{sp()}]{sp()}" for level in levels)
    return f"[{body}]"


def _scan(form, text: str):
    buf = np.frombuffer(text.encode(), dtype=np.uint8)
    px, sz = np.empty(8), np.empty(8)
    stack, out = np.empty(MAX_DEPTH, dtype=np.uint8), np.empty(4 * len(text) + 8, dtype=np.uint8)
    if form is scan_levels_text:
        i, n, t, code = form(buf, 0, px, sz, out, 0, stack)
    else:
        i, n, t, code = form(buf, 0, px, sz, stack)
    return code, i, px[:n].tolist(), sz[:n].tolist(), out[:t].tobytes().decode()


def _checked(text: str, pairs_only: bool):
    """The general path's answer: (prices, sizes), or None when it refuses the list."""
    levels = orjson.loads(text)
    px, sz = np.empty(len(levels)), np.empty(len(levels))
    try:
        parse_levels_into(levels, "bids", px, sz, pairs_only)
    except errors.FeedError:
        return None
    return px.tolist(), sz.tolist()


@given(level_lists())
def test_every_form_reads_what_the_checked_path_reads_or_declines(text):
    for form, pairs_only, quoted_only in ((scan_levels, False, False), (scan_pairs, True, True),
                                          (scan_levels_text, False, True)):
        code, i, px, sz, texts = _scan(form, text)
        if code != OK:
            continue  # declined: the general path decides
        assert i == len(text)
        assert _checked(text, pairs_only) == (px, sz)
        levels = orjson.loads(text)
        if quoted_only:
            assert all(isinstance(level[0], str) and isinstance(level[1], str) for level in levels)
        if form is scan_levels_text:  # OKX's checksum texts: the strings exactly as received
            assert texts == "".join(f"{level[0]}:{level[1]}," for level in levels)


def test_the_forms_differ_only_where_they_say():
    three = '[["1.5","2","0","4"]]'
    assert _scan(scan_levels, three)[0] == OK and _scan(scan_levels_text, three)[0] == OK
    assert _scan(scan_pairs, three)[0] != OK  # Bybit's general path refuses a third field
    bare = "[[1.5, 2]]"
    assert _scan(scan_levels, bare)[0] == OK
    assert _scan(scan_pairs, bare)[0] != OK and _scan(scan_levels_text, bare)[0] != OK


ROWS = objects.schema(("bids", objects.BIDS), ("asks", objects.ASKS), ("u", objects.INT, 0),
                      ("s", objects.SPAN, 0), ("data", objects.NEST), ("event", objects.REFUSE))


@njit
def _run(buf, bp, bs, ap, az, ints, spans, counts, stack):
    sink = objects.Sink(bp, bs, ap, az, stack, ints, spans, counts)
    return objects.scan_object(buf, 0, 0, False, ROWS, sink, stack)


def _object(text: str):
    """scan_object over ``text`` with ROWS: (code, present, nested row, index, u, s, level counts)."""
    buf = np.frombuffer(text.encode(), dtype=np.uint8)
    arrays = [np.empty(8) for _ in range(4)]
    ints, spans, counts = np.zeros(2, np.int64), np.full(2, -1, np.int64), np.zeros(objects.N_COUNTS, np.int64)
    i, present, row, code = _run(buf, *arrays, ints, spans, counts, np.empty(MAX_DEPTH, dtype=np.uint8))
    return code, present, row, i, ints[0], text[spans[0]:spans[1]] if spans[0] >= 0 else None, counts[:2].tolist()


def test_the_schema_scanner_reads_known_keys_and_skips_the_rest():
    code, present, row, i, u, s, counts = _object('{"u": 7, "x": {"y": [1, "z"]}, "s":"BTC", "bids":[["1","2"]], '
                                                  '"asks": []}')
    assert code == OK and row == -1 and u == 7 and s == "BTC" and counts == [1, 0]
    assert present == objects.bit(ROWS, "u") | objects.bit(ROWS, "s") | objects.bit(ROWS, "bids") | objects.bit(ROWS, "asks")


def test_the_schema_scanner_declines_what_the_general_path_must_judge():
    assert _object('{"u": 1, "u": 2}')[0] != OK  # a repeated key: orjson keeps the last, the scan declines
    assert _object('{"event": "error"}')[0] != OK  # a REFUSE key
    assert _object('{"x": 1e999}')[0] != OK  # an unknown value orjson may refuse (an exponent)
    assert _object('{"x": ' + "1" * 400 + "}")[0] != OK  # or hundreds of digits
    assert _object('{"s": "a\\u00e9"}')[0] != OK  # an escape in a string it would read
    assert _object('{"u": 1,}')[0] != OK and _object('{"u" 1}')[0] != OK  # broken JSON


def test_a_nested_key_stops_the_scan_at_its_value():
    text = '{"u": 3, "data": {"s": "X"}, "s": "Y"}'
    code, present, row, i, *_ = _object(text)
    assert code == OK and row == 4 and text[i] == "{" and present & objects.bit(ROWS, "data")
