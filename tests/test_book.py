"""Order book: deltas merge like a dict of price -> size; every change is all or nothing."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

from core import errors
from core.book.order_book import OrderBook, merge_side

prices = st.integers(1, 400).map(lambda t: t * 0.5)
levels = st.dictionaries(prices, st.integers(1, 1000).map(float), max_size=60)
delta = st.dictionaries(prices, st.sampled_from([0.0, 1.0, 2.5, 700.0]), max_size=25)


@given(levels, delta, st.booleans())
def test_merge_side_equals_dict_reference(side, changes, descending):
    px = np.array(sorted(side, reverse=descending))
    sz = np.array([side[p] for p in px.tolist()])
    d_px = np.array(list(changes), dtype=np.float64)
    d_sz = np.array(list(changes.values()), dtype=np.float64)
    out_px, out_sz = np.empty(len(side) + len(changes)), np.empty(len(side) + len(changes))
    n = merge_side(px, sz, d_px, d_sz, descending, out_px, out_sz)
    expect = dict(side)
    for p, s in changes.items():
        if s == 0:
            expect.pop(p, None)
        else:
            expect[p] = s
    want = sorted(expect, reverse=descending)
    assert out_px[:n].tolist() == want
    assert out_sz[:n].tolist() == [expect[p] for p in want]


def test_merge_reports_overflow():
    px, sz = np.array([1.0, 2.0]), np.array([1.0, 1.0])
    out = np.empty(2), np.empty(2)
    assert merge_side(px, sz, np.array([3.0]), np.array([1.0]), False, *out) == -1


def _book():
    book = OrderBook()
    book.apply_snapshot(np.array([100.0, 99.0]), np.array([1.0, 2.0]),
                        np.array([101.0, 102.0]), np.array([3.0, 4.0]), 1.0)
    return book


def test_published_arrays_are_read_only_and_never_reused():
    book = _book()
    old_bids = book.bid_px
    with pytest.raises(ValueError):
        old_bids[0] = 5.0
    book.apply_delta(np.array([100.0]), np.array([0.0]), np.zeros(0), np.zeros(0), 2.0)
    assert old_bids.tolist() == [100.0, 99.0]  # a reader of the old version sees no change
    assert book.bid_px.tolist() == [99.0] and book.version == 2


@pytest.mark.parametrize("bids,asks,exc", [
    ((np.array([101.5]), np.array([1.0])), (np.zeros(0), np.zeros(0)), errors.CrossedBook),
    ((np.array([98.0, 98.0]), np.array([1.0, 2.0])), (np.zeros(0), np.zeros(0)), errors.DuplicateLevel),
    ((np.array([98.0]), np.array([-1.0])), (np.zeros(0), np.zeros(0)), errors.NegativeSize),
    ((np.array([np.nan]), np.array([1.0])), (np.zeros(0), np.zeros(0)), errors.NonFinite),
    ((np.zeros(0), np.zeros(0)), (np.array([0.0]), np.array([1.0])), errors.NonPositivePrice),
])
def test_bad_delta_changes_nothing(bids, asks, exc):
    book = _book()
    with pytest.raises(exc):
        book.apply_delta(*bids, *asks, 2.0)
    assert book.version == 1
    assert book.bid_px.tolist() == [100.0, 99.0] and book.ask_sz.tolist() == [3.0, 4.0]


def test_verify_hook_can_veto_a_delta():
    book = _book()
    seen = []

    def veto(bpx, bsz, apx, asz):
        seen.append(bsz.tolist())
        raise errors.ChecksumMismatch("no")

    with pytest.raises(errors.ChecksumMismatch):
        book.apply_delta(np.array([100.0]), np.array([9.0]), np.zeros(0), np.zeros(0), 2.0, veto)
    assert seen == [[9.0, 2.0]] and book.bid_sz.tolist() == [1.0, 2.0]


def test_snapshot_beyond_capacity_is_oversized():
    book = OrderBook(capacity=2)
    with pytest.raises(errors.OversizedMessage):
        book.apply_snapshot(np.array([3.0, 2.0, 1.0]), np.ones(3), np.array([4.0]), np.ones(1), 0.0)


def _validate_reference(px, sz, descending):
    """validate_side's contract in plain Python: (code, first bad index, levels kept)."""
    from core.book.order_book import V_DUPLICATE, V_NEGATIVE_SIZE, V_NON_FINITE, V_NON_POSITIVE_PRICE, V_OK, V_UNSORTED

    kept = []
    for i, (p, s) in enumerate(zip(px, sz)):
        if not (np.isfinite(p) and np.isfinite(s)):
            return V_NON_FINITE, i, []
        if p <= 0:
            return V_NON_POSITIVE_PRICE, i, []
        if s < 0:
            return V_NEGATIVE_SIZE, i, []
        if i and p == px[i - 1]:
            return V_DUPLICATE, i, []
        if i and (p > px[i - 1] if descending else p < px[i - 1]):
            return V_UNSORTED, i, []
        if s > 0:
            kept.append((p, s))
    return V_OK, -1, kept


special = st.sampled_from([0.0, -1.0, float("nan"), float("inf"), -float("inf"), 5e-324])


@given(st.lists(st.tuples(st.one_of(st.floats(1.0, 1e6), special), st.one_of(st.floats(0.0, 1e4), special)),
                max_size=30), st.booleans(), st.booleans())
def test_validate_side_equals_reference(levels, descending, sort):
    """Books the vectorised pre-check passes and books it sends to the exact loop alike."""
    from core.book.order_book import side_is_clean, validate_side

    if sort:
        levels = sorted(levels, key=lambda l: l[0] if l[0] == l[0] else 0.0, reverse=descending)
    px = np.array([p for p, _ in levels], dtype=np.float64)
    sz = np.array([s for _, s in levels], dtype=np.float64)
    want_code, want_idx, want_kept = _validate_reference(px.tolist(), sz.tolist(), descending)
    clean = side_is_clean(px, sz, px.shape[0], descending)
    code, idx, kept = validate_side(px, sz, px.shape[0], descending)
    assert (code, idx) == (want_code, want_idx)
    if code == 0:
        assert list(zip(px[:kept].tolist(), sz[:kept].tolist())) == want_kept
        assert clean == (len(want_kept) == len(levels))
    else:
        assert not clean


def _apply_delta_reference(book, bid_px, bid_sz, ask_px, ask_sz):
    """apply_delta as four separate steps (validate each side, merge each side, crossing)."""
    from core.book.order_book import check_not_crossed, raise_validation, validate_delta_side

    for side, d_px, d_sz in (("bid", bid_px, bid_sz), ("ask", ask_px, ask_sz)):
        code, idx = validate_delta_side(d_px, d_sz)
        raise_validation(code, idx, side)
    merged = []
    for px, sz, d_px, d_sz, desc in ((book.bid_px, book.bid_sz, bid_px, bid_sz, True),
                                      (book.ask_px, book.ask_sz, ask_px, ask_sz, False)):
        size = min(px.shape[0] + d_px.shape[0], book.capacity)
        out_px, out_sz = np.empty(size), np.empty(size)
        n = merge_side(px, sz, d_px, d_sz, desc, out_px, out_sz)
        if n < 0:
            raise errors.OversizedMessage(f"the delta grows a side beyond {book.capacity} levels")
        merged.append((out_px[:n], out_sz[:n]))
    check_not_crossed(merged[0][0], merged[1][0])
    return [a.tolist() for pair in merged for a in pair]


odd_sizes = st.sampled_from([0.0, 1.0, 2.5, 700.0, -1.0, float("nan")])


@given(levels, levels, st.dictionaries(prices, odd_sizes, max_size=8), st.dictionaries(prices, odd_sizes, max_size=8),
       st.booleans(), st.integers(3, 80))
def test_apply_delta_equals_the_step_by_step_reference(bids, asks, d_bids, d_asks, dup, capacity):
    bids = {p: s for p, s in bids.items() if p < 100}  # bids below 100, asks from 100: the
    asks = {p + 100: s for p, s in asks.items()}  # snapshot is never crossed; deltas may cross it
    book = OrderBook(capacity=max(capacity, len(bids), len(asks)))
    book.apply_snapshot(np.array(sorted(bids, reverse=True)), np.array([bids[p] for p in sorted(bids, reverse=True)]),
                        np.array(sorted(asks)), np.array([asks[p] for p in sorted(asks)]), 0.0)
    d = [np.array(list(d_bids), dtype=float), np.array(list(d_bids.values()), dtype=float),
         np.array(list(d_asks), dtype=float), np.array(list(d_asks.values()), dtype=float)]
    if dup and d[0].size:
        d[0], d[1] = np.append(d[0], d[0][0]), np.append(d[1], 1.0)  # the same price twice
    try:
        want = _apply_delta_reference(book, *d)
    except errors.FeedError as exc:
        want = (type(exc), str(exc))
    before = [book.bid_px, book.bid_sz, book.ask_px, book.ask_sz, book.version]
    try:
        book.apply_delta(*d, ts_ms=1.0)
        got = [a.tolist() for a in (book.bid_px, book.bid_sz, book.ask_px, book.ask_sz)]
        assert book.version == before[4] + 1
        assert not any(a.flags.writeable for a in (book.bid_px, book.bid_sz, book.ask_px, book.ask_sz))
    except errors.FeedError as exc:
        got = (type(exc), str(exc))
        assert [book.bid_px, book.bid_sz, book.ask_px, book.ask_sz, book.version] == before  # untouched
    assert got == want
