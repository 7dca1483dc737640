"""GoQuant decoding: the Numba fast path agrees with the reference; every bad input is named."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from numba import njit

from core import errors
from core.engine import Engine
from core.venues.goquant.decoder import GoQuantDecoder
from core.decode.jsonscan import OK, _parse_number, _parse_short_quoted
from core.instruments import get_instrument
from core.sim.market import _format
from tests.conftest import goquant_message

decimal_text = st.builds(
    lambda whole, frac, digits: f"{whole}.{frac:0{digits}d}" if digits else str(whole),
    st.integers(0, 10**9), st.integers(0, 10**6 - 1), st.integers(0, 6),
).filter(lambda s: len(s.replace(".", "")) <= 15)


@st.composite
def books(draw):
    """Valid, best-first, uncrossed books with prices and sizes as arbitrary decimal strings."""
    prices = sorted(draw(st.lists(st.integers(1, 10**7), min_size=2, max_size=120, unique=True)))
    cut = draw(st.integers(1, len(prices) - 1))
    decimals = draw(st.sampled_from([0, 1, 2, 4, 8, 11]))
    fmt = lambda p: _format(p, decimals)
    bids = [[fmt(p), draw(decimal_text)] for p in reversed(prices[:cut])]
    asks = [[fmt(p), draw(decimal_text)] for p in prices[cut:]]
    return bids, asks


@given(books())
def test_fast_path_equals_reference_and_float(book):
    bids, asks = book
    raw = goquant_message(bids, asks)
    fast = GoQuantDecoder("BTC-USDT-SWAP")
    snap = fast.decode(raw)
    assert fast.fast_path_misses == 0
    ref = GoQuantDecoder("BTC-USDT-SWAP")._decode_reference(raw)
    for a, b in ((snap.bid_px, ref.bid_px), (snap.bid_sz, ref.bid_sz),
                 (snap.ask_px, ref.ask_px), (snap.ask_sz, ref.ask_sz)):
        assert np.array_equal(a, b)
    keep_b = [l for l in bids if float(l[1]) > 0]
    keep_a = [l for l in asks if float(l[1]) > 0]
    assert snap.bid_px.tolist() == [float(p) for p, _ in keep_b]  # exact: equals float()
    assert snap.ask_sz.tolist() == [float(s) for _, s in keep_a]


def test_parses_whitespace_bare_numbers_and_extra_fields():
    raw = b'{ "exchange" : "OKX", "extra": {"a": [1, 2.5e3, null, true, "x\\"y"]},\n' \
          b' "symbol": "BTC-USDT-SWAP", "timestamp": "2025-05-04T10:39:13Z",\n' \
          b' "asks": [ [ 101.5 , "2" , "0", "3" ] ], "bids": [[100, 1.25]] }'
    dec = GoQuantDecoder("BTC-USDT-SWAP")
    snap = dec.decode(raw)
    assert snap.ask_px.tolist() == [101.5] and snap.bid_sz.tolist() == [1.25]
    assert snap.ts_ms == pytest.approx(1746355153000.0)


def test_exponents_take_the_reference_path_with_the_same_values():
    raw = goquant_message([["1e2", "2.5E-3"]], [["1.015e2", "1"]])
    dec = GoQuantDecoder("BTC-USDT-SWAP")
    snap = dec.decode(raw)
    assert dec.fast_path_misses == 1
    assert snap.bid_px.tolist() == [100.0] and snap.bid_sz.tolist() == [0.0025]
    assert snap.ask_px.tolist() == [101.5]


def test_many_digits_take_the_exact_reference_path():
    raw = goquant_message([["100.00000000000000000001", "1"]], [["101", "0.1234567890123456789"]])
    dec = GoQuantDecoder("BTC-USDT-SWAP")
    snap = dec.decode(raw)
    assert dec.fast_path_misses == 1
    assert snap.ask_sz[0] == float("0.1234567890123456789")


def test_zero_sizes_are_dropped():
    snap = GoQuantDecoder().decode(goquant_message([["100", "0"], ["99", "1"]], [["101", "1"]]))
    assert snap.bid_px.tolist() == [99.0]


BAD = [
    (b'{"timestamp": "2025-05-04T10:39:13Z", "asks": [', errors.MalformedJSON),
    (b"\x00\xff\xfe garbage", errors.MalformedJSON),
    (b"[1, 2, 3]", errors.MalformedJSON),
    (b"", errors.MalformedJSON),
    (goquant_message([["100", "1"]], [["101", "1"]]).replace(b'"timestamp"', b'"time"'), errors.MissingField),
    (b'{"timestamp": "2025-05-04T10:39:13Z", "symbol": "BTC-USDT-SWAP", "asks": []}', errors.MissingField),
    (goquant_message([["100", "1"]], [["abc", "1"]]), errors.NonNumeric),
    (goquant_message([["100", "1"]], [["", "1"]]), errors.NonNumeric),
    (goquant_message([["100", "1,5"]], [["101", "1"]]), errors.NonNumeric),
    (goquant_message([["NaN", "1"]], [["101", "1"]]), errors.NonFinite),
    (goquant_message([["100", "1"]], [["101", "Infinity"]]), errors.NonFinite),
    (goquant_message([["100", "1"]], [["1e999", "1"]]), errors.NonFinite),
    (goquant_message([["-100", "1"]], [["101", "1"]]), errors.NonPositivePrice),
    (goquant_message([["0", "1"]], [["101", "1"]]), errors.NonPositivePrice),
    (goquant_message([["100", "-1"]], [["101", "1"]]), errors.NegativeSize),
    (goquant_message([["102", "1"]], [["101", "1"]]), errors.CrossedBook),
    (goquant_message([["101", "1"]], [["101", "1"]]), errors.CrossedBook),
    (goquant_message([["99", "1"], ["100", "1"]], [["101", "1"]]), errors.UnsortedLevels),
    (goquant_message([["100", "1"]], [["102", "1"], ["101", "1"]]), errors.UnsortedLevels),
    (goquant_message([["100", "1"], ["100", "2"]], [["101", "1"]]), errors.DuplicateLevel),
    (goquant_message([["100", "1"]], [["101", "1"]], symbol="ETH-USDT-SWAP"), errors.WrongInstrument),
    (goquant_message([["100", "1"]], [["101", "1"]], ts="yesterday"), errors.InvalidTimestamp),
    (goquant_message([["100"]], [["101", "1"]]), errors.WrongSchema),
    (goquant_message([{"px": "100"}], [["101", "1"]]), errors.WrongSchema),
    (b'{"timestamp": 5, "symbol": "BTC-USDT-SWAP", "asks": [], "bids": []}', errors.WrongSchema),
]


@pytest.mark.parametrize("raw,exc", BAD, ids=[f"{e.__name__}-{i}" for i, (_, e) in enumerate(BAD)])
def test_every_rejection_is_specific_and_leaves_the_book_alone(raw, exc, small_book_message):
    engine = Engine(get_instrument("BTC-USDT-SWAP"))
    assert engine.ingest(small_book_message)
    before = engine.evaluate()
    with pytest.raises(exc):
        GoQuantDecoder("BTC-USDT-SWAP").decode(raw)
    assert not engine.ingest(raw)
    assert engine.counters()["rejected_by_reason"] == {exc.reason: 1}
    after = engine.evaluate()
    assert after.book.version == before.book.version
    assert np.array_equal(after.book.bid_px, before.book.bid_px)
    assert np.array_equal(after.book.ask_sz, before.book.ask_sz)


def test_oversized_by_bytes_and_by_levels():
    dec = GoQuantDecoder("BTC-USDT-SWAP", max_levels=10, max_bytes=2000)
    with pytest.raises(errors.OversizedMessage):
        dec.decode(b" " * 2001)
    asks = [[str(101 + i), "1"] for i in range(11)]
    with pytest.raises(errors.OversizedMessage):
        dec.decode(goquant_message([["100", "1"]], asks))


def test_rejections_all_have_distinct_reasons():
    assert len(set(errors.REJECTION_REASONS)) == len(errors.REJECTION_REASONS)
    assert not math.isnan(len(errors.REJECTION_REASONS))


def _outcome(decode, raw):
    try:
        snap = decode(raw)
    except errors.FeedError as exc:
        return type(exc)
    return (snap.bid_px.tolist(), snap.bid_sz.tolist(), snap.ask_px.tolist(), snap.ask_sz.tolist(), snap.ts_ms)


BASE = goquant_message([["100.5", "1.25"], ["100", "2"]], [["101", "0.5"], ["101.5", "3"]])


@given(st.lists(st.tuples(st.integers(0, len(BASE) - 1), st.binary(min_size=0, max_size=3)), min_size=1, max_size=4))
def test_mutated_messages_fast_path_agrees_with_reference(edits):
    """Byte-level mutations: the fast path never accepts what the reference rejects, nor differs."""
    raw = bytearray(BASE)
    for pos, insert in edits:
        raw[pos:pos + 1] = insert
    raw = bytes(raw)
    fast = _outcome(GoQuantDecoder("BTC-USDT-SWAP").decode, raw)
    ref = _outcome(GoQuantDecoder("BTC-USDT-SWAP")._decode_reference, raw)
    assert fast == ref


@pytest.mark.parametrize("raw", [
    BASE.replace(b'"exchange"', b'"\\ud800xchange"'),   # lone surrogate: orjson rejects
    BASE.replace(b'"OKX"', b'"O\\qX"'),                  # invalid escape
    BASE.replace(b'"OKX"', b'"\xc3\x28"'),               # invalid UTF-8
    BASE.replace(b'["100", "2"]', b'[100, 02]').replace(b'["100","2"]', b'[100,02]'),  # leading zero
    BASE.replace(b'["100","2"]', b'[100,2.]'),           # no digit after the point
    BASE.replace(b'["100","2"]', b'[100,.5]'),           # no digit before the point
])
def test_edge_cases_fast_path_agrees_with_reference(raw):
    fast = _outcome(GoQuantDecoder("BTC-USDT-SWAP").decode, raw)
    ref = _outcome(GoQuantDecoder("BTC-USDT-SWAP")._decode_reference, raw)
    assert fast == ref


# --- the Engine's one-call path (decode_book) ----------------------------------------------

def _book_outcome(dec, raw):
    try:
        bid_px, bid_sz, ask_px, ask_sz, ts_ms = dec.decode_book(raw)
    except errors.FeedError as exc:
        return type(exc)
    assert not any(a.flags.writeable for a in (bid_px, bid_sz, ask_px, ask_sz))
    return (bid_px.tolist(), bid_sz.tolist(), ask_px.tolist(), ask_sz.tolist(), ts_ms)


@given(books(), st.sampled_from(["2025-05-04T10:39:13.250Z", "2025-05-04T10:39:13Z",
                                 "2025-05-04T10:39:13.1+00:00", "2025-05-04 10:39:13", "1969-12-31T23:59:59Z"]))
def test_decode_book_equals_decode(book, ts):
    bids, asks = book
    raw = goquant_message(bids, asks, ts=ts)
    assert _book_outcome(GoQuantDecoder("BTC-USDT-SWAP"), raw) == _outcome(GoQuantDecoder("BTC-USDT-SWAP").decode, raw)


@given(st.lists(st.tuples(st.integers(0, len(BASE) - 1), st.binary(min_size=0, max_size=3)), min_size=1, max_size=4))
def test_decode_book_agrees_with_decode_on_mutated_messages(edits):
    raw = bytearray(BASE)
    for pos, insert in edits:
        raw[pos:pos + 1] = insert
    raw = bytes(raw)
    for symbol in ("BTC-USDT-SWAP", None):
        assert _book_outcome(GoQuantDecoder(symbol), raw) == _outcome(GoQuantDecoder(symbol).decode, raw)


@pytest.mark.parametrize("raw,exc", BAD, ids=[f"{e.__name__}-{i}" for i, (_, e) in enumerate(BAD)])
def test_decode_book_names_every_rejection(raw, exc):
    with pytest.raises(exc):
        GoQuantDecoder("BTC-USDT-SWAP").decode_book(raw)


@st.composite
def iso_texts(draw):
    """Timestamps as feeds write them, and near misses."""
    year = draw(st.integers(1960, 2300))
    month, day = draw(st.integers(0, 13)), draw(st.integers(0, 32))
    hour, minute, second = draw(st.integers(0, 25)), draw(st.integers(0, 61)), draw(st.integers(0, 61))
    digits = draw(st.integers(0, 8))
    frac = "." + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=digits, max_size=digits))) \
        if draw(st.booleans()) else ""
    zone = draw(st.sampled_from(["", "Z", "+00:00", "-00:00", "+01:00", "z", "+0000"]))
    sep = draw(st.sampled_from(["T", "T", " "]))
    return f"{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{minute:02d}:{second:02d}{frac}{zone}"


@given(iso_texts())
def test_iso_fast_path_equals_datetime_or_declines(text):
    from core.venues.goquant.decoder import iso_utc_ms, parse_timestamp_ms

    buf = np.frombuffer(text.encode(), dtype=np.uint8)
    fast = iso_utc_ms(buf, 0, buf.shape[0])
    try:
        want = parse_timestamp_ms(text)
    except errors.InvalidTimestamp:
        assert math.isnan(fast), text
        return
    assert math.isnan(fast) or fast == want, text
    fraction = text[19:].removesuffix("Z").removesuffix("+00:00")
    if text[10] == "T" and text.endswith(("Z", "+00:00")) and 1970 <= int(text[:4]) <= 2200 \
            and (fraction == "" or 2 <= len(fraction) <= 7):
        assert fast == want, text  # the layouts the feeds send take the fast path


def test_book_adopts_only_read_only_arrays():
    from core.book.order_book import OrderBook

    book = OrderBook()
    px = np.array([100.0])
    with pytest.raises(ValueError):
        book.adopt_snapshot(px, np.ones(1), np.array([101.0]), np.ones(1), 0.0)
    assert book.version == 0


@st.composite
def short_number_texts(draw):
    """Up to 9 characters of what numbers are made of and what breaks them, a quote, padding."""
    body = draw(st.text(alphabet='0123456789.-"eE,x \x7f\xc3', min_size=0, max_size=9))
    return (body + '"' + draw(st.text(alphabet='0123456789",]', min_size=0, max_size=8))).encode()


@njit
def _both_number_parsers(buf, i):
    return _parse_short_quoted(buf, i), _parse_number(buf, i, True)


@given(short_number_texts(), st.integers(0, 3))
def test_eight_byte_number_parse_equals_the_byte_loop(text, pad):
    raw = b" " * pad + text
    buf = np.frombuffer(raw, dtype=np.uint8)
    if pad + 8 > buf.shape[0]:
        return  # the eight-byte path needs eight readable bytes (the caller checks)
    (value, end, ok), (want, want_end, code) = _both_number_parsers(buf, pad)
    if ok:
        assert code == OK and value == want and end == want_end, raw
    digits = text.split(b'"')[0]
    if 0 < len(digits) <= 7 and digits.count(b".") <= 1 and digits.replace(b".", b"").isdigit():
        assert ok and value == float(digits), raw  # every short plain decimal takes this path
