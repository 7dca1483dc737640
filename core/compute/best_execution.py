"""Where is an order cheapest? The same order priced on every venue, and the fee-aware split.

Pure numeric code over visible books: no feeds, no models. Every size is in *base* units
(the caller converts contracts through the contract value, as ``kernels.to_base_sizes``
does); prices are quote currency (USD) per base unit; a book side is best-first and clean
(what ``core.book`` publishes: finite, positive, strictly monotone, zero-free).

The reference everywhere is the *consolidated mid*: (best bid + best ask) / 2 over the live
venues. An order typed in USD is converted to base units at that mid once, so every venue
and the split price the same base quantity.

Sign conventions (``sign`` = +1 buy, -1 sell):
- ``paid_usd`` = sign x notional + fees: what a buy pays, fees included; for a sell it is
  *minus* what the order receives net of fees (a negative cost: received money);
- ``net_cost_usd`` = paid_usd - sign x filled_base x consolidated mid: slippage against the
  consolidated mid plus fees, positive is a cost, for a buy and a sell alike;
- bps are of the filled notional at the consolidated mid (filled_base x mid), which is the
  order's ``quantity_usd`` whenever the books can fill it.

Why the merge-walk is optimal: on one venue, buying x base costs C_v(x) = (1 + f_v) x the
integral of the book's price from 0 to x; the integrand (the level price, ascending) is
non-decreasing, so C_v is convex and its marginal cost at x is the fee-adjusted price of
the level that x reaches. Minimising sum_v C_v(x_v) subject to sum_v x_v = Q over convex
C_v is solved by equalising marginal costs (KKT): every base unit taken goes where the
marginal cost is lowest, which is exactly taking the cheapest fee-adjusted levels of the
merged book first until Q is filled. No allocation can do better: any other one takes some
unit at a fee-adjusted price at least as high as one the walk took instead. A sell mirrors
it with bid x (1 - fee), highest first (received money is a negative cost).

Lot rounding (the split is then *not* exactly optimal, and says by how much it moved):
each leg is rounded *down* to a whole number of its venue's lots (a leg then below the
venue's minimum order size is dropped to 0); the base this freed is handed out again one
chunk at a time, each chunk to the venue whose next chunk costs least per base unit
fee-adjusted (a chunk is one lot, or for a venue at 0 the smallest whole number of lots
reaching its minimum), among venues whose book can fill it and whose chunk fits in what is
left; ties go to the venue listed first by (venue, symbol). What no whole chunk fits is the
``rounding_residual_base`` (less than the smallest chunk of any venue that still had depth),
reported, never hidden. Each leg is then priced by an exact walk of its own book.

Results do not depend on the order the venues are given in: venues are sorted by (venue,
symbol) first, and every tie (equal fee-adjusted prices) goes to the earlier one.
"""
from __future__ import annotations

import gc
import math
import time
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Sequence

import numpy as np
from numba import njit

from core.book.order_book import side_is_clean
from core.compute.kernels import slippage_vs, walk_book

LIVE, STALE, RESYNCING = "live", "stale", "resyncing"
STATES = (LIVE, STALE, RESYNCING)
SIDES = {"buy": 1, "sell": -1}
LOT_TOLERANCE = 1e-9  # of a lot: a leg within this of a whole number of lots counts as whole

# One row per venue in the split kernel: its levels at px[start:start + n] (the order's
# side), its rates and sizes, and what the kernel writes back.
VENUE_DTYPE = np.dtype([
    ("start", np.int64), ("n", np.int64), ("fee", np.float64), ("lot", np.float64),
    ("min_base", np.float64), ("own_mid", np.float64),
    # the whole order on this venue alone (exact walk), slippage vs the consolidated mid and
    # vs the venue's own mid (kernels.slippage_vs: bps of the reference, USD)
    ("single_base", np.float64), ("single_quote", np.float64), ("single_worst", np.float64),
    ("single_levels", np.int64), ("slip_bps", np.float64), ("slip_usd", np.float64),
    ("own_slip_bps", np.float64), ("own_slip_usd", np.float64),
    # the unrounded optimal leg (merge-walk)
    ("opt_base", np.float64), ("opt_quote", np.float64), ("opt_levels", np.int64),
    # the leg rounded to lots, priced by an exact walk
    ("lots", np.int64), ("base", np.float64), ("quote", np.float64), ("worst", np.float64),
    ("levels", np.int64),
])


# ---------------------------------------------------------------------------------------
# Numba kernels

@njit(nogil=True, cache=True)
def adjusted_cost(price, fee, sign):
    """Fee-adjusted cost of one base unit at ``price`` (or of a notional ``price``): buy
    p(1 + f); sell -p(1 - f), received money being a negative cost."""
    return sign * price * (1.0 + sign * fee)


@njit(nogil=True, cache=True)
def walk_singles(px, qty, venues, sign, target, mid):
    """The whole order on each venue alone: ``kernels.walk_book`` per venue, and its
    slippage against the consolidated ``mid`` and the venue's own mid."""
    for k in range(venues.shape[0]):
        v = venues[k]
        s, n = v["start"], v["n"]
        base, quote, worst, levels = walk_book(px[s:s + n], qty[s:s + n], target, False)
        avg = quote / base if base > 0.0 else np.nan
        venues[k]["single_base"] = base
        venues[k]["single_quote"] = quote
        venues[k]["single_worst"] = worst
        venues[k]["single_levels"] = levels
        venues[k]["slip_bps"], venues[k]["slip_usd"] = slippage_vs(avg, mid, base, sign)
        venues[k]["own_slip_bps"], venues[k]["own_slip_usd"] = slippage_vs(avg, v["own_mid"], base, sign)


@njit(nogil=True, cache=True, inline="always")  # in the merge loops: no call per level
def cheapest_next(px, venues, cursor, sign):
    """The venue whose next level (at ``cursor``) is cheapest fee-adjusted, and that cost;
    (-1, inf) when every venue is used up. Strict: a tie stays with the venue listed first."""
    best = -1
    best_cost = np.inf
    for k in range(venues.shape[0]):
        if cursor[k] < venues[k]["n"]:
            c = adjusted_cost(px[venues[k]["start"] + cursor[k]], venues[k]["fee"], sign)
            if c < best_cost:
                best = k
                best_cost = c
    return best, best_cost


@njit(nogil=True, cache=True)
def merge_walk(px, qty, venues, sign, target):
    """The fee-adjusted merged book walked cheapest first: a k-way merge over the venues'
    best-first levels (each venue's adjusted prices are monotone, so its taken levels are a
    prefix). Writes ``opt_base/opt_quote/opt_levels``; returns the base filled (< target
    when every book together is too thin)."""
    nv = venues.shape[0]
    cursor = np.zeros(nv, np.int64)
    for k in range(nv):
        venues[k]["opt_base"] = 0.0
        venues[k]["opt_quote"] = 0.0
        venues[k]["opt_levels"] = 0
    filled = 0.0
    if not target > 0.0:
        return filled
    while True:
        best, best_cost = cheapest_next(px, venues, cursor, sign)
        if best < 0:
            return filled
        i = venues[best]["start"] + cursor[best]
        p, q = px[i], qty[i]
        venues[best]["opt_levels"] += 1
        if filled + q >= target:
            take = target - filled
            venues[best]["opt_base"] += take
            venues[best]["opt_quote"] += take * p
            return target
        venues[best]["opt_base"] += q
        venues[best]["opt_quote"] += p * q
        filled += q
        cursor[best] += 1


@njit(nogil=True, cache=True)
def venue_cost(px, qty, v, sign, base):
    """Fee-adjusted cost of ``base`` on one venue (an exact walk of its book)."""
    s, n = v["start"], v["n"]
    return adjusted_cost(walk_book(px[s:s + n], qty[s:s + n], base, False)[1], v["fee"], sign)


@njit(nogil=True, cache=True)
def next_chunk(v, lots):
    """Lots a venue holding ``lots`` goes to next: one more, or from 0 the fewest whole
    lots that reach its minimum order size (at least one)."""
    if lots > 0:
        return lots + 1
    return max(1, int(math.ceil(v["min_base"] / v["lot"] - LOT_TOLERANCE)))


@njit(nogil=True, cache=True)
def round_to_lots(px, qty, venues, sign, filled):
    """Round the optimal legs to lots (the rule in the module docstring), then price each
    leg by an exact walk. Returns the rounding residual in base units."""
    nv = venues.shape[0]
    depth = np.zeros(nv)
    rest = filled
    for k in range(nv):
        v = venues[k]
        s, n = v["start"], v["n"]
        for i in range(s, s + n):
            depth[k] += qty[i]
        lots = int(math.floor(v["opt_base"] / v["lot"] + LOT_TOLERANCE))
        if lots * v["lot"] < v["min_base"] * (1.0 - LOT_TOLERANCE):
            lots = 0
        venues[k]["lots"] = lots
        rest -= lots * v["lot"]
    while True:
        best = -1
        best_cost = np.inf
        for k in range(nv):
            v = venues[k]
            lot = v["lot"]
            nxt = next_chunk(v, v["lots"])
            chunk = (nxt - v["lots"]) * lot
            if chunk > rest + LOT_TOLERANCE * lot or nxt * lot > depth[k] * (1.0 + 1e-12):
                continue
            c = (venue_cost(px, qty, v, sign, nxt * lot) - venue_cost(px, qty, v, sign, v["lots"] * lot)) / chunk
            if c < best_cost:
                best = k
                best_cost = c
        if best < 0:
            break
        v = venues[best]
        nxt = next_chunk(v, v["lots"])
        rest -= (nxt - v["lots"]) * v["lot"]
        venues[best]["lots"] = nxt
    total = 0.0
    for k in range(nv):
        v = venues[k]
        s, n = v["start"], v["n"]
        base, quote, worst, levels = walk_book(px[s:s + n], qty[s:s + n], v["lots"] * v["lot"], False)
        venues[k]["base"] = base
        venues[k]["quote"] = quote
        venues[k]["worst"] = worst
        venues[k]["levels"] = levels
        total += base
    return filled - total


@njit(nogil=True, cache=True)
def price_split(px, qty, venues, sign, target, mid):
    """One call per re-pricing: every venue alone, the optimal merge-walk, the lot rounding.
    ``px``/``qty``: the order's side of every venue, concatenated (rows of ``venues`` say
    where); ``mid``: the consolidated mid. Returns (base filled by the optimal walk,
    rounding residual)."""
    walk_singles(px, qty, venues, sign, target, mid)
    filled = merge_walk(px, qty, venues, sign, target)
    residual = round_to_lots(px, qty, venues, sign, filled)
    return filled, residual


# ---------------------------------------------------------------------------------------
# Inputs

@dataclass(frozen=True)
class VenueBook:
    """One venue's book as the split sees it: both sides best-first, sizes in base units.

    ``lot_base``: the smallest size step an order may have there (base units; OKX
    BTC-USDT-SWAP: 1 contract = 0.01 BTC); ``min_base``: its minimum order size (0: none).
    """

    venue: str
    symbol: str
    bid_px: np.ndarray
    bid_base: np.ndarray
    ask_px: np.ndarray
    ask_base: np.ndarray
    taker_rate: float
    lot_base: float
    min_base: float = 0.0
    state: str = LIVE

    def __post_init__(self) -> None:
        name = f"{self.venue}:{self.symbol}"
        if self.state not in STATES:
            raise ValueError(f"{name}: state must be one of {', '.join(STATES)}, not {self.state!r}")
        if not (self.lot_base > 0.0 and math.isfinite(self.lot_base)):
            raise ValueError(f"{name}: lot_base must be a positive number, not {self.lot_base!r}")
        if not (self.min_base >= 0.0 and math.isfinite(self.min_base)):
            raise ValueError(f"{name}: min_base must be zero or positive, not {self.min_base!r}")
        if not (0.0 <= self.taker_rate < 0.01):
            raise ValueError(f"{name}: taker_rate {self.taker_rate!r} is not a fraction in [0, 0.01)")
        for side, px, sz, desc in (("bid", self.bid_px, self.bid_base, True), ("ask", self.ask_px, self.ask_base, False)):
            if px.ndim != 1 or px.shape != sz.shape:
                raise ValueError(f"{name}: {side} prices and sizes must be 1-D arrays of one length")
            if not side_is_clean(np.asarray(px, np.float64), np.asarray(sz, np.float64), px.shape[0], desc):
                raise ValueError(f"{name}: {side} levels must be finite, positive, best-first and unique")

    @property
    def key(self) -> tuple[str, str]:
        return self.venue, self.symbol

    @property
    def best_bid(self) -> float:
        return float(self.bid_px[0]) if self.bid_px.shape[0] else math.nan

    @property
    def best_ask(self) -> float:
        return float(self.ask_px[0]) if self.ask_px.shape[0] else math.nan

    @property
    def mid(self) -> float:
        """The venue's own mid (NaN without both sides)."""
        return 0.5 * (self.best_bid + self.best_ask)

    def side(self, sign: int) -> tuple[np.ndarray, np.ndarray]:
        """The levels an order of this sign takes: asks for a buy, bids for a sell."""
        return (self.ask_px, self.ask_base) if sign > 0 else (self.bid_px, self.bid_base)


@dataclass(frozen=True)
class Order:
    """``quantity`` in base units, or in USD (quote notional) when ``in_usd``."""

    side: str
    quantity: float
    in_usd: bool = True

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise ValueError(f"side must be buy or sell, not {self.side!r}")
        if not (self.quantity > 0.0 and math.isfinite(self.quantity)):
            raise ValueError(f"quantity must be a positive number, not {self.quantity!r}")

    @property
    def sign(self) -> int:
        return SIDES[self.side]


class NoConsolidatedMid(ValueError):
    """No live venue shows a bid, or none an ask: there is no reference to price against."""


# ---------------------------------------------------------------------------------------
# Results

@dataclass(frozen=True)
class VenueEstimate:
    """The whole order on one venue alone. ``slippage_*`` is against the consolidated mid,
    ``own_slippage_*`` against the venue's own mid; NaN where nothing was priced (a venue
    left out of the split is not priced either: no stale figure)."""

    venue: str
    symbol: str
    state: str  # live, stale, resyncing, or empty (live but no level on the order's side)
    best_bid: float
    best_ask: float
    bid_levels: int
    ask_levels: int
    taker_rate: float
    mid: float
    quantity_usd: float
    filled_base: float = math.nan
    filled_usd: float = math.nan
    avg_px: float = math.nan
    worst_px: float = math.nan
    levels: int = 0
    exhausted: bool | None = None
    unfilled_base: float = math.nan
    unfilled_usd: float = math.nan  # at the consolidated mid
    slippage_usd: float = math.nan
    slippage_bps: float = math.nan
    own_slippage_usd: float = math.nan
    own_slippage_bps: float = math.nan
    fees_usd: float = math.nan
    net_cost_usd: float = math.nan
    net_cost_bps: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        """The headless ``venues`` entry: {venue, symbol, state, book, estimate, taker_rate}.

        The estimate has today's book-walk fields (the walk is the headline: no model here)
        without those only the models give (impact, maker fraction, skill, predicted mean),
        plus ``net_cost_bps``, ``own_mid_slippage_*``, ``avg_px`` and ``levels``. Unlike the
        models' ``unfillable_usd`` (a base order at the last visible price), this one is at
        the consolidated mid, like every USD figure here. NaN is null."""
        est = {
            "quantity_usd": _f(self.quantity_usd), "slippage_bps": _f(self.slippage_bps),
            "slippage_usd": _f(self.slippage_usd), "fees_usd": _f(self.fees_usd),
            "net_cost_usd": _f(self.net_cost_usd), "net_cost_bps": _f(self.net_cost_bps),
            "book_walk_slippage_usd": _f(self.slippage_usd), "book_walk_slippage_bps": _f(self.slippage_bps),
            "own_mid_slippage_usd": _f(self.own_slippage_usd), "own_mid_slippage_bps": _f(self.own_slippage_bps),
            "avg_px": _f(self.avg_px), "levels": self.levels, "exhausted": self.exhausted,
            "unfillable_base": _f(self.unfilled_base), "unfillable_usd": _f(self.unfilled_usd),
            "unfillable_fraction": _f(self.unfilled_base / (self.filled_base + self.unfilled_base)),
        }
        book = {"best_bid": _f(self.best_bid), "best_ask": _f(self.best_ask),
                "bid_levels": self.bid_levels, "ask_levels": self.ask_levels}
        return {"venue": self.venue, "symbol": self.symbol, "state": self.state, "book": book,
                "estimate": est, "taker_rate": self.taker_rate}


@dataclass(frozen=True)
class Leg:
    """One venue's part of the split, rounded to its lot: ``quote_usd`` is the notional
    before fees, ``fees_usd`` the taker fee on it, ``levels`` the levels it touches."""

    venue: str
    symbol: str
    base: float
    quote_usd: float
    avg_px: float
    fees_usd: float
    levels: int
    worst_px: float
    taker_rate: float
    lots: int

    def to_dict(self) -> dict[str, Any]:
        return {"venue": self.venue, "symbol": self.symbol, "base": self.base,
                "quote_usd": self.quote_usd, "avg_px": _f(self.avg_px), "fees_usd": self.fees_usd,
                "levels": self.levels}


@dataclass(frozen=True)
class BestExecution:
    """The order on every venue side by side and its fee-aware split (see module docstring
    for the sign conventions and the rounding rule)."""

    side: str
    quantity_base: float
    quantity_usd: float
    reference_px: float  # the consolidated mid
    best_bid: float
    best_ask: float
    legs: tuple[Leg, ...]
    filled_base: float  # the legs' total
    paid_usd: float
    net_cost_usd: float
    net_cost_bps: float
    unfilled_base: float  # what every live book together cannot fill
    rounding_residual_base: float  # what lot rounding left unplaced
    optimal_paid_usd: float  # the unrounded optimum's paid_usd (filled_base + residual base)
    best_single: VenueEstimate | None  # cheapest venue that fills the whole order alone
    saving_usd: float
    saving_bps: float
    venues: tuple[VenueEstimate, ...]  # every venue given, sorted by (venue, symbol)
    excluded: tuple[tuple[str, str, str], ...] = field(default=())  # (venue, symbol, why)
    #: the best single venue's net cost for ``filled_base`` (what ``saving_usd`` is measured
    #: against: equal amounts, whatever lot rounding left unplaced)
    best_single_same_base_usd: float = math.nan

    def to_dict(self, full: bool = False) -> dict[str, Any]:
        """The headless ``best_execution`` object, exactly the issue's keys; ``full`` adds
        what the split could not place and the venues it left out."""
        single = None
        if self.best_single is not None:
            single = {"venue": self.best_single.venue, "net_cost_usd": _f(self.best_single.net_cost_usd)}
        out = {"side": self.side, "quantity_usd": _f(self.quantity_usd),
               "reference_px": _f(self.reference_px), "legs": [leg.to_dict() for leg in self.legs],
               "paid_usd": _f(self.paid_usd), "net_cost_usd": _f(self.net_cost_usd),
               "net_cost_bps": _f(self.net_cost_bps), "best_single": single,
               "saving_usd": _f(self.saving_usd), "saving_bps": _f(self.saving_bps)}
        if full:
            out.update({"quantity_base": self.quantity_base, "filled_base": self.filled_base,
                        "unfilled_base": self.unfilled_base,
                        "rounding_residual_base": self.rounding_residual_base,
                        "best_single_same_base_usd": _f(self.best_single_same_base_usd),
                        "excluded": [{"venue": v, "symbol": s, "why": w} for v, s, w in self.excluded]})
        return out

    def venues_list(self) -> list[dict[str, Any]]:
        """The headless ``venues`` list."""
        return [v.to_dict() for v in self.venues]


def _f(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


# ---------------------------------------------------------------------------------------
# Driver

def consolidated_touch(books: Sequence[VenueBook]) -> tuple[float, float]:
    """Best bid and best ask over the live venues (NaN for a side no live venue shows)."""
    bids = [b.best_bid for b in books if b.state == LIVE and b.bid_px.shape[0]]
    asks = [b.best_ask for b in books if b.state == LIVE and b.ask_px.shape[0]]
    return (max(bids) if bids else math.nan), (min(asks) if asks else math.nan)


def _exclusion(book: VenueBook, sign: int) -> str | None:
    if book.state != LIVE:
        return book.state
    if book.side(sign)[0].shape[0] == 0:
        return "empty"
    return None


def pack(books: Sequence[VenueBook], sign: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The kernel's inputs: the order's side of every book concatenated, one venue row each
    (filled a column at a time: cheaper than a row of 22 fields at a time)."""
    sides = [b.side(sign) for b in books]
    venues = np.zeros(len(books), VENUE_DTYPE)
    if not books:
        return np.zeros(0), np.zeros(0), venues
    n = [px.shape[0] for px, _ in sides]
    venues["n"] = n
    venues["start"][1:] = np.cumsum(n[:-1])
    venues["fee"] = [b.taker_rate for b in books]
    venues["lot"] = [b.lot_base for b in books]
    venues["min_base"] = [b.min_base for b in books]
    venues["own_mid"] = [b.mid for b in books]
    px = np.concatenate([px for px, _ in sides])
    qty = np.concatenate([qty for _, qty in sides])
    return px.astype(np.float64, copy=False), qty.astype(np.float64, copy=False), venues


_by_key = attrgetter("venue", "symbol")


def best_execution(books: Sequence[VenueBook], order: Order) -> BestExecution:
    """Price ``order`` on every venue alone and split across the live ones (module docstring).

    Raises ValueError for two books with the same (venue, symbol), and NoConsolidatedMid when
    the live venues show no bid or no ask.
    """
    books = sorted(books, key=_by_key)
    if len({(b.venue, b.symbol) for b in books}) != len(books):
        raise ValueError("each (venue, symbol) may be given once")
    sign = order.sign
    best_bid, best_ask = consolidated_touch(books)
    mid = 0.5 * (best_bid + best_ask)
    if not math.isfinite(mid):
        raise NoConsolidatedMid("no consolidated mid: the live venues show no bid or no ask")
    target = order.quantity / mid if order.in_usd else order.quantity
    quantity_usd = order.quantity if order.in_usd else order.quantity * mid
    why = [_exclusion(b, sign) for b in books]
    used = [b for b, w in zip(books, why) if w is None]
    px, qty, venues = pack(used, sign)
    filled, residual = price_split(px, qty, venues, float(sign), target, mid)
    names = VENUE_DTYPE.names
    rows = {b.key: dict(zip(names, row)) for b, row in zip(used, venues.tolist())}
    estimates = tuple(_venue_estimate(b, w, rows.get(b.key), sign, target, mid, quantity_usd)
                      for b, w in zip(books, why))
    legs = tuple(_leg(b, rows[b.key]) for b in used if rows[b.key]["lots"] > 0)
    return _assemble(order, target, quantity_usd, mid, best_bid, best_ask, legs, filled, residual,
                     rows, estimates, tuple((b.venue, b.symbol, w) for b, w in zip(books, why) if w),
                     {b.key: b for b in books})


def _venue_estimate(b: VenueBook, why: str | None, row, sign: int, target: float, mid: float,
                    quantity_usd: float) -> VenueEstimate:
    bid, ask = b.best_bid, b.best_ask
    head = (b.venue, b.symbol, why or LIVE, bid, ask, b.bid_px.shape[0], b.ask_px.shape[0],
            b.taker_rate, 0.5 * (bid + ask), quantity_usd)
    if row is None:
        return VenueEstimate(*head)
    base, quote = row["single_base"], row["single_quote"]
    fees = b.taker_rate * quote
    net = row["slip_usd"] + fees
    unfilled = max(target - base, 0.0)
    return VenueEstimate(
        *head, filled_base=base, filled_usd=quote, avg_px=quote / base if base > 0.0 else math.nan,
        worst_px=row["single_worst"], levels=row["single_levels"], exhausted=base < target,
        unfilled_base=unfilled, unfilled_usd=unfilled * mid, slippage_usd=row["slip_usd"],
        slippage_bps=row["slip_bps"], own_slippage_usd=row["own_slip_usd"],
        own_slippage_bps=row["own_slip_bps"], fees_usd=fees, net_cost_usd=net,
        net_cost_bps=net / (base * mid) * 1e4)


def _leg(b: VenueBook, row) -> Leg:
    base, quote = row["base"], row["quote"]
    return Leg(b.venue, b.symbol, base, quote, quote / base if base > 0.0 else math.nan,
               b.taker_rate * quote, row["levels"], row["worst"], b.taker_rate, row["lots"])


def _assemble(order: Order, target: float, quantity_usd: float, mid: float, best_bid: float,
              best_ask: float, legs: tuple[Leg, ...], filled: float, residual: float,
              venues: dict[tuple[str, str], dict[str, Any]],
              estimates: tuple[VenueEstimate, ...], excluded,
              books: dict[tuple[str, str], VenueBook]) -> BestExecution:
    sign = order.sign
    base = math.fsum(leg.base for leg in legs)
    paid = math.fsum(sign * leg.quote_usd + leg.fees_usd for leg in legs)
    net = paid - sign * base * mid
    optimal_paid = math.fsum(sign * v["opt_quote"] * (1.0 + sign * v["fee"]) for v in venues.values())
    whole = [e for e in estimates if e.exhausted is False]
    single = min(whole, key=lambda e: e.net_cost_usd) if whole else None  # first of equals: by name
    single_same = single_net_cost_at(books[(single.venue, single.symbol)], sign, base, mid) if single else math.nan
    saving = single_same - net
    return BestExecution(
        side=order.side, quantity_base=target, quantity_usd=quantity_usd, reference_px=mid,
        best_bid=best_bid, best_ask=best_ask, legs=legs, filled_base=base, paid_usd=paid,
        net_cost_usd=net, net_cost_bps=net / (base * mid) * 1e4 if base > 0.0 else math.nan,
        unfilled_base=max(target - filled, 0.0), rounding_residual_base=residual,
        optimal_paid_usd=optimal_paid, best_single=single, saving_usd=saving,
        saving_bps=saving / quantity_usd * 1e4, venues=estimates, excluded=excluded,
        best_single_same_base_usd=single_same)


def single_net_cost_at(book: VenueBook, sign: int, base: float, mid: float) -> float:
    """Net cost (slippage vs ``mid`` plus taker fee, USD) of ``base`` taken on ``book`` alone:
    the best single venue priced on the base the split placed, so the saving compares equal
    amounts (lot rounding may leave a residual that the split does not place)."""
    px, qty = book.side(sign)
    filled, quote, _worst, _levels = walk_book(px, qty, base, False)
    if filled <= 0.0:
        return math.nan
    return sign * (quote - filled * mid) + book.taker_rate * quote


def split_rows(books: Sequence[VenueBook], result: BestExecution) -> list[tuple[str, str, float, float, float]]:
    """``split.csv``'s rows, one per level the rounded legs take: (venue, side, price, base,
    fee_rate). A leg takes a prefix of its venue's side, the last level partly."""
    by_key = {b.key: b for b in books}
    sign = SIDES[result.side]
    rows = []
    for leg in result.legs:
        px, qty = by_key[(leg.venue, leg.symbol)].side(sign)
        left = leg.base
        for i in range(leg.levels):
            take = min(float(qty[i]), left) if i < leg.levels - 1 else left
            rows.append((leg.venue, result.side, float(px[i]), take, leg.taker_rate))
            left -= take
    return rows


# ---------------------------------------------------------------------------------------
# Plain-Python reference and benchmark

def reference_split(books: Sequence[VenueBook], side: str, target: float) -> dict[tuple[str, str], tuple[float, float]]:
    """The unrounded optimal split in plain Python, for tests and the benchmark: every live
    level as a (fee-adjusted cost, venue order, level) tuple, sorted, taken cheapest first.
    Returns {(venue, symbol): (base, notional before fees)} for the venues that get any."""
    sign = SIDES[side]
    live = sorted((b for b in books if b.state == LIVE), key=lambda b: b.key)
    levels = []
    for k, b in enumerate(live):
        px, qty = b.side(sign)
        for i in range(px.shape[0]):
            p = float(px[i])
            levels.append((sign * p * (1.0 + sign * b.taker_rate), k, i, p, float(qty[i])))
    levels.sort()
    out: dict[tuple[str, str], tuple[float, float]] = {}
    left = target
    for _, k, _, p, q in levels:
        if left <= 0.0:
            break
        take = min(q, left)
        base, quote = out.get(live[k].key, (0.0, 0.0))
        out[live[k].key] = (base + take, quote + take * p)
        left -= take
    return out


def synthetic_books(n_levels: int = 400, seed: int = 0, mid: float = 100_000.0) -> list[VenueBook]:
    """Three venues around one mid, with different depth profiles, fees and lots (benchmark
    and tests)."""
    rng = np.random.default_rng(seed)
    spec = (("binance-usdm", "BTCUSDT", 0.0005, 0.001, 0.001, 0.1),
            ("bybit-linear", "BTCUSDT", 0.00055, 0.001, 0.001, 0.2),
            ("okx", "BTC-USDT-SWAP", 0.0005, 0.01, 0.01, 0.1))
    books = []
    for venue, symbol, fee, lot, min_base, tick in spec:
        centre = mid * (1.0 + rng.normal(0.0, 2e-5))
        steps = np.cumsum(rng.integers(1, 4, n_levels)) * tick
        size = np.round(rng.exponential(1.0, (2, n_levels)) * (1.0 + np.arange(n_levels) / 50.0), 3) + lot
        books.append(VenueBook(venue, symbol, np.round(centre - steps, 1), size[0],
                               np.round(centre + steps, 1), size[1], fee, lot, min_base))
    return books


def bench_split(calls: int = 2000, n_levels: int = 400, quantities_usd: Sequence[float] = (1e6, 1e8),
                seed: int = 0) -> dict[str, dict[str, float]]:
    """Re-pricing a buy split over three ``n_levels`` books, per call in microseconds
    (p50/p99), for each order size: the Numba core (``price_split`` on packed arrays), the
    whole ``best_execution`` call (packing and result objects included), and the plain-Python
    ``reference_split`` (the unrounded split only), all in this process, moments apart.
    (1e8 USD takes a few hundred of the 1,200 levels; 1e6 a handful.)"""
    books = synthetic_books(n_levels, seed)
    out = {}
    for usd in quantities_usd:
        order = Order("buy", usd)
        mid = best_execution(books, order).reference_px  # compiles / loads the kernels first
        target = usd / mid
        px, qty, venues = pack(books, 1)
        runs = {
            "core_kernel": (calls, lambda: price_split(px, qty, venues, 1.0, target, mid)),
            "best_execution": (calls, lambda: best_execution(books, order)),
            "python_reference": (max(calls // 20, 20), lambda: reference_split(books, "buy", target)),
        }
        for name, (n, fn) in runs.items():
            out[f"{name}_{usd:.0e}_usd"] = _percentiles(fn, n)
        out[f"levels_taken_{usd:.0e}_usd"] = int(venues["opt_levels"].sum())
    return out


def _percentiles(fn, n: int) -> dict[str, float]:
    """Wall-clock and thread-CPU microseconds per call. On a shared machine the wall p99 of a
    call of tens of microseconds is the scheduler's time slice (one call in a hundred waits
    for the CPU); the CPU time excludes that wait and shows the call's own tail."""
    gc.collect()
    gc.freeze()  # as core.bench does: objects made so far stay out of later collections
    wall = np.empty(n)
    cpu = np.empty(n)
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    for i in range(n):
        t0, c0 = clock(), cpu_clock()
        fn()
        c1, t1 = cpu_clock(), clock()
        wall[i] = t1 - t0
        cpu[i] = c1 - c0
    wall /= 1000.0
    cpu /= 1000.0
    return {"p50_us": round(float(np.percentile(wall, 50)), 2),
            "p99_us": round(float(np.percentile(wall, 99)), 2),
            "cpu_p50_us": round(float(np.percentile(cpu, 50)), 2),
            "cpu_p99_us": round(float(np.percentile(cpu, 99)), 2), "calls": n}


if __name__ == "__main__":
    import json
    print(json.dumps(bench_split()))
