"""The L2 order book: both sides in preallocated NumPy arrays, best first, versioned.

A message either applies completely or not at all: snapshots are validated before they are
copied in, and deltas are merged into new arrays that are published only when every check
(crossing, caller's checksum) has passed. Published arrays are read-only and never reused.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from numba import njit

from core import errors

V_OK = 0
V_NON_FINITE = 1
V_NON_POSITIVE_PRICE = 2
V_NEGATIVE_SIZE = 3
V_UNSORTED = 4
V_DUPLICATE = 5
V_CROSSED = 6

_VALIDATION_ERRORS = {
    V_NON_FINITE: (errors.NonFinite, "price or size is not finite"),
    V_NON_POSITIVE_PRICE: (errors.NonPositivePrice, "price must be positive"),
    V_NEGATIVE_SIZE: (errors.NegativeSize, "size must not be negative"),
    V_UNSORTED: (errors.UnsortedLevels, "levels are not sorted best-first"),
    V_DUPLICATE: (errors.DuplicateLevel, "the same price appears twice"),
    V_CROSSED: (errors.CrossedBook, "best bid is at or above best ask"),
}

DEFAULT_CAPACITY = 5000


@njit(nogil=True, cache=True)
def side_is_clean(px, sz, n, descending):
    """True when every level has a finite positive price and size and prices move strictly
    away from the touch: the usual book, which validate_side then accepts unchanged.

    No early exit and no branches, so the loop vectorises; validate_side's exact loop runs
    only for the other books (to name the first bad level or drop zero sizes).
    """
    inf = np.inf
    good = True
    for i in range(n):
        p = px[i]
        s = sz[i]
        good &= (p > 0.0) & (p < inf) & (s > 0.0) & (s < inf)  # NaN fails every comparison
    for i in range(1, n):
        step = px[i - 1] - px[i] if descending else px[i] - px[i - 1]
        good &= step > 0.0
    return good


@njit(nogil=True, cache=True)
def validate_side(px, sz, n, descending):
    """Check one side of a full snapshot and drop zero-size levels in place.

    Returns (code, index of the first bad level or -1, levels kept).
    """
    if side_is_clean(px, sz, n, descending):
        return V_OK, -1, n
    kept = 0
    for i in range(n):
        p = px[i]
        s = sz[i]
        if not (np.isfinite(p) and np.isfinite(s)):
            return V_NON_FINITE, i, 0
        if p <= 0.0:
            return V_NON_POSITIVE_PRICE, i, 0
        if s < 0.0:
            return V_NEGATIVE_SIZE, i, 0
        if i > 0:
            prev = px[i - 1]
            if p == prev:
                return V_DUPLICATE, i, 0
            if (descending and p > prev) or (not descending and p < prev):
                return V_UNSORTED, i, 0
        if s > 0.0:
            px[kept] = p
            sz[kept] = s
            kept += 1
    return V_OK, -1, kept


@njit(nogil=True, cache=True)
def validate_book(bid_px, bid_sz, n_bid, ask_px, ask_sz, n_ask):
    """Both sides of a full snapshot (validate_side each) and the crossing check, in one call.

    Returns (code, side 0=bid 1=ask, bad index, bids kept, asks kept).
    """
    code, idx, kept_bid = validate_side(bid_px, bid_sz, n_bid, True)
    if code != V_OK:
        return code, 0, idx, 0, 0
    code, idx, kept_ask = validate_side(ask_px, ask_sz, n_ask, False)
    if code != V_OK:
        return code, 1, idx, 0, 0
    if kept_bid > 0 and kept_ask > 0 and bid_px[0] >= ask_px[0]:
        return V_CROSSED, 0, 0, 0, 0
    return V_OK, 0, -1, kept_bid, kept_ask


@njit(nogil=True, cache=True)
def validate_delta_side(px, sz):
    """Check the levels of one side of a delta (any order); (code, bad index or -1)."""
    n = px.shape[0]
    for i in range(n):
        if not (np.isfinite(px[i]) and np.isfinite(sz[i])):
            return V_NON_FINITE, i
        if px[i] <= 0.0:
            return V_NON_POSITIVE_PRICE, i
        if sz[i] < 0.0:
            return V_NEGATIVE_SIZE, i
    order = np.argsort(px)
    for k in range(1, n):
        if px[order[k]] == px[order[k - 1]]:
            return V_DUPLICATE, order[k]
    return V_OK, -1


@njit(nogil=True, cache=True)
def merge_side(px, sz, d_px, d_sz, descending, out_px, out_sz):
    """Merge a delta (absolute new sizes; 0 deletes) into one sorted side, into ``out``.

    Deleting a price the side does not hold is a no-op (levels leaving a depth window).
    Returns the new level count, or -1 when ``out`` is too small.
    """
    n = px.shape[0]
    m = d_px.shape[0]
    cap = out_px.shape[0]
    order = np.argsort(d_px)
    if descending:
        order = order[::-1]
    i = 0
    j = 0
    k = 0
    while i < n or j < m:
        if j >= m:
            take_old = True
        elif i >= n:
            take_old = False
        else:
            dp = d_px[order[j]]
            if px[i] == dp:
                i += 1  # replaced (or deleted) by the delta level handled below
                take_old = False
            else:
                take_old = (px[i] > dp) if descending else (px[i] < dp)
        if take_old:
            if k >= cap:
                return -1
            out_px[k] = px[i]
            out_sz[k] = sz[i]
            k += 1
            i += 1
        else:
            q = order[j]
            j += 1
            if d_sz[q] > 0.0:
                if k >= cap:
                    return -1
                out_px[k] = d_px[q]
                out_sz[k] = d_sz[q]
                k += 1
    return k


V_OVERSIZED = 7  # merge_book only: a side would outgrow the book's capacity


@njit(nogil=True, cache=True)
def merge_book(bid_px, bid_sz, ask_px, ask_sz, d_bid_px, d_bid_sz, d_ask_px, d_ask_sz, capacity):
    """A delta against both sides in one call: validate_delta_side (bids, then asks),
    merge_side (bids, then asks) and the crossing check, in apply_delta's order.

    The merged sides go into one fresh block ``[bid_px | bid_sz | ask_px | ask_sz]`` with
    room for ``cap_bid`` and ``cap_ask`` levels. Returns (code, side 0=bid 1=ask, bad index,
    n_bid, cap_bid, n_ask, cap_ask, block); on any code but V_OK the block is unusable.
    """
    code, idx = validate_delta_side(d_bid_px, d_bid_sz)
    if code != V_OK:
        return code, 0, idx, 0, 0, 0, 0, np.empty(0)
    code, idx = validate_delta_side(d_ask_px, d_ask_sz)
    if code != V_OK:
        return code, 1, idx, 0, 0, 0, 0, np.empty(0)
    cap_bid = min(bid_px.shape[0] + d_bid_px.shape[0], capacity)
    cap_ask = min(ask_px.shape[0] + d_ask_px.shape[0], capacity)
    block = np.empty(2 * (cap_bid + cap_ask))
    a0 = 2 * cap_bid
    n_bid = merge_side(bid_px, bid_sz, d_bid_px, d_bid_sz, True, block[:cap_bid], block[cap_bid:a0])
    if n_bid < 0:
        return V_OVERSIZED, 0, -1, 0, 0, 0, 0, block
    n_ask = merge_side(ask_px, ask_sz, d_ask_px, d_ask_sz, False, block[a0:a0 + cap_ask], block[a0 + cap_ask:])
    if n_ask < 0:
        return V_OVERSIZED, 1, -1, 0, 0, 0, 0, block
    if n_bid > 0 and n_ask > 0 and block[0] >= block[a0]:
        return V_CROSSED, 0, 0, n_bid, cap_bid, n_ask, cap_ask, block
    return V_OK, 0, -1, n_bid, cap_bid, n_ask, cap_ask, block


def raise_validation(code: int, index: int, side: str) -> None:
    """Turn a kernel's validation code into the specific exception."""
    if code == V_OK:
        return
    cls, text = _VALIDATION_ERRORS[code]
    raise cls(f"{side} level {index}: {text}")


def check_not_crossed(bid_px: np.ndarray, ask_px: np.ndarray) -> None:
    if bid_px.shape[0] and ask_px.shape[0] and bid_px[0] >= ask_px[0]:
        raise errors.CrossedBook(f"best bid {bid_px[0]!r} >= best ask {ask_px[0]!r}")


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


VerifyFn = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], None]
_EMPTY = _frozen(np.zeros(0))


class OrderBook:
    """Both sides of one instrument's L2 book. ``version`` increases with every change.

    Every version gets fresh, read-only arrays: a reader holding the arrays of an older
    version (a snapshot on another thread) never sees them change, with no copy per read.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self.bid_px = self.bid_sz = self.ask_px = self.ask_sz = _EMPTY
        self.version = 0
        self.ts_ms = float("nan")  # exchange timestamp of the last applied message

    @property
    def empty(self) -> bool:
        return self.bid_px.shape[0] == 0 and self.ask_px.shape[0] == 0

    @property
    def best_bid(self) -> float:
        return float(self.bid_px[0]) if self.bid_px.shape[0] else float("nan")

    @property
    def best_ask(self) -> float:
        return float(self.ask_px[0]) if self.ask_px.shape[0] else float("nan")

    def _publish(self, bid_px, bid_sz, ask_px, ask_sz, ts_ms: float) -> None:
        self.bid_px, self.bid_sz = _frozen(bid_px), _frozen(bid_sz)
        self.ask_px, self.ask_sz = _frozen(ask_px), _frozen(ask_sz)
        self.ts_ms = ts_ms
        self.version += 1

    def apply_snapshot(
        self, bid_px: np.ndarray, bid_sz: np.ndarray, ask_px: np.ndarray, ask_sz: np.ndarray,
        ts_ms: float,
    ) -> None:
        """Replace the book with validated, best-first, zero-free arrays (copied)."""
        nb, na = bid_px.shape[0], ask_px.shape[0]
        if nb > self.capacity or na > self.capacity:
            raise errors.OversizedMessage(f"{max(nb, na)} levels exceed the book capacity {self.capacity}")
        check_not_crossed(bid_px, ask_px)
        self._publish(bid_px.copy(), bid_sz.copy(), ask_px.copy(), ask_sz.copy(), ts_ms)

    def adopt_snapshot(
        self, bid_px: np.ndarray, bid_sz: np.ndarray, ask_px: np.ndarray, ask_sz: np.ndarray,
        ts_ms: float,
    ) -> None:
        """apply_snapshot without the copy, for arrays a decoder made for this book alone
        (``GoQuantDecoder.decode_book``): validated, best-first, zero-free, uncrossed, and
        never written again by anyone."""
        nb, na = bid_px.shape[0], ask_px.shape[0]
        if nb > self.capacity or na > self.capacity:
            raise errors.OversizedMessage(f"{max(nb, na)} levels exceed the book capacity {self.capacity}")
        if bid_px.flags.writeable or bid_sz.flags.writeable or ask_px.flags.writeable or ask_sz.flags.writeable:
            raise ValueError("adopt_snapshot takes read-only arrays only")
        self.bid_px, self.bid_sz, self.ask_px, self.ask_sz = bid_px, bid_sz, ask_px, ask_sz
        self.ts_ms = ts_ms
        self.version += 1

    def apply_delta(
        self, bid_px: np.ndarray, bid_sz: np.ndarray, ask_px: np.ndarray, ask_sz: np.ndarray,
        ts_ms: float, verify: VerifyFn | None = None,
    ) -> None:
        """Merge absolute-size level updates (0 deletes); all or nothing.

        ``verify(bid_px, bid_sz, ask_px, ask_sz)`` sees the merged book before it is
        committed and may raise (a checksum mismatch) to leave the book unchanged.
        """
        code, side, idx, n_bid, cap_bid, n_ask, cap_ask, block = merge_book(
            self.bid_px, self.bid_sz, self.ask_px, self.ask_sz, bid_px, bid_sz, ask_px, ask_sz, self.capacity)
        block.setflags(write=False)  # before any view is taken: the views inherit read-only
        a0 = 2 * cap_bid
        new_bid_px, new_ask_px = block[:n_bid], block[a0:a0 + n_ask]
        if code == V_OVERSIZED:
            raise errors.OversizedMessage(f"the delta grows a side beyond {self.capacity} levels")
        if code == V_CROSSED:
            check_not_crossed(new_bid_px, new_ask_px)  # raises, naming the prices
        raise_validation(code, idx, "ask" if side else "bid")
        new_bid_sz, new_ask_sz = block[cap_bid:cap_bid + n_bid], block[a0 + cap_ask:a0 + cap_ask + n_ask]
        if verify is not None:
            verify(new_bid_px, new_bid_sz, new_ask_px, new_ask_sz)
        self.bid_px, self.bid_sz, self.ask_px, self.ask_sz = new_bid_px, new_bid_sz, new_ask_px, new_ask_sz
        self.ts_ms = ts_ms
        self.version += 1

    def clear(self) -> None:
        """Forget every level (a resync is pending); bumps the version."""
        self._publish(_EMPTY, _EMPTY, _EMPTY, _EMPTY, float("nan"))
