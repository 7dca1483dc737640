"""The immutable result of one evaluation: what every view and export reads.

Arrays in a snapshot are read-only and never written again by anyone (the book publishes
fresh arrays per version), so a snapshot can cross threads and be kept without copies.

The classes here are frozen dataclasses *without* ``__slots__``: the hot path makes them
with :func:`build`, which installs a complete field dict in one step instead of running the
generated ``__init__`` (one ``object.__setattr__`` per field, ~90 ns each on the 2-core
bench machine: several microseconds per snapshot). Everything else about them is ordinary:
``dataclasses.fields``/``asdict``/``replace`` work, assignment raises ``FrozenInstanceError``,
and calling the class with arguments still runs the checked ``__init__``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from core.instruments import Instrument
from core.params import OrderParams

DEPTH_BANDS_BPS = (5.0, 10.0, 25.0, 50.0, 100.0)
T = TypeVar("T")


_new = object.__new__
_install = object.__setattr__


def build(cls: type[T], fields: dict[str, Any]) -> T:
    """An instance of the frozen dataclass ``cls`` whose ``__dict__`` is ``fields``.

    ``fields`` must name every field exactly once (tests check every object the Engine and
    the models build this way against ``dataclasses.fields``) and must not be used again
    by the caller. Only for dataclasses without ``__slots__`` and without ``__post_init__``.
    """
    obj = _new(cls)
    _install(obj, "__dict__", fields)
    return obj


def frozen(a: np.ndarray) -> np.ndarray:
    """Mark an array the caller owns read-only (no copy) before it enters a snapshot."""
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class BookView:
    """Both sides best-first: prices, sizes in the book's own unit, sizes in base units."""

    bid_px: np.ndarray
    bid_sz: np.ndarray
    bid_qty: np.ndarray
    ask_px: np.ndarray
    ask_sz: np.ndarray
    ask_qty: np.ndarray
    version: int
    ts_ms: float

    @property
    def best_bid(self) -> float:
        return float(self.bid_px[0]) if self.bid_px.size else math.nan

    @property
    def best_ask(self) -> float:
        return float(self.ask_px[0]) if self.ask_px.size else math.nan


@dataclass(frozen=True)
class Features:
    mid: float
    microprice: float
    spread: float
    spread_bps: float
    imbalance_top: float
    imbalance_weighted: float  # linearly decaying weights over `imbalance_levels`
    imbalance_levels: int
    depth_bands_bps: tuple[float, ...]
    bid_depth_base: tuple[float, ...]  # base units within each band of mid
    ask_depth_base: tuple[float, ...]
    bid_depth_usd: tuple[float, ...]
    ask_depth_usd: tuple[float, ...]
    vol_per_s: float  # live log-mid volatility per sqrt(second); NaN while warming up
    vol_annual: float  # the same, annualised (365 days); NaN while warming up
    vol_updates: int  # returns behind the estimate
    vol_state: str  # "warming up" or "live" (core.compute.volatility.LiveVolatility)
    vol_seconds: float  # seconds of mids behind the estimate


@dataclass(frozen=True)
class Fill:
    """Walking the visible book for the chosen order, exact to the last level."""

    side: str
    unit: str
    quantity: float  # asked, in `unit`
    filled_base: float
    filled_usd: float
    unfilled: float  # in `unit`; > 0 means the visible book cannot fill the order
    avg_px: float
    worst_px: float
    best_px: float  # same-side touch the order starts from
    levels: int
    slippage_mid_bps: float
    slippage_mid_usd: float
    slippage_best_bps: float
    slippage_best_usd: float

    @property
    def exhausted(self) -> bool:
        return self.unfilled > 0.0


@dataclass(frozen=True)
class CostCurve:
    """Walk-the-book results over a log grid of order sizes (in the order's unit)."""

    unit: str
    quantities: np.ndarray
    filled_base: np.ndarray
    filled_usd: np.ndarray
    avg_px: np.ndarray
    slippage_mid_bps: np.ndarray
    slippage_best_bps: np.ndarray
    levels: np.ndarray
    max_fill: float  # everything the side can fill, in `unit`: beyond it the book runs out


@dataclass(frozen=True)
class Latency:
    """Receive -> estimate ready, over a recent window, in microseconds."""

    last_us: float
    p50_us: float
    p99_us: float
    max_us: float
    samples: int


@dataclass(frozen=True)
class Snapshot:
    seq: int
    instrument: Instrument
    params: OrderParams
    book: BookView
    features: Features
    fill: Fill
    curve: CostCurve
    latency: Latency
    counters: dict[str, Any]
    feed: dict[str, Any]  # feed state and counters handed over by the client (may be empty)
    recv_ns: int  # receive time of the newest message behind this snapshot
    ready_ns: int  # when this snapshot was complete
    estimate: Any = None  # models' Estimate (core.models), None until models are attached
    extras: dict[str, Any] = field(default_factory=dict)
