"""What the cost models hand to the snapshot: one immutable :class:`Estimate` per evaluation.

Every number says what it is in its name and docstring; USD means quote currency (USDT
counts as USD). "bps" in the cost decomposition is bps of the order's notional
(``quantity_usd``), so items add up in bps exactly as they do in USD. Arrays are read-only:
estimates cross threads inside snapshots.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from core.models.maker_taker import FillQuality
from core.models.slippage_model import SlippageQuality


class CostItem(NamedTuple):
    """One line of the net-cost decomposition (name, usd, bps). Positive is a cost."""

    name: str
    usd: float
    bps: float


@dataclass(frozen=True)  # no slots: made with core.snapshot.build on the hot path
class ImpactView:
    """Almgren-Chriss, calibrated on the live book, for this order as a parent order.

    Units: time in seconds, quantities in base units, prices in USD per base unit.
    - ``eps``: half-spread of the order's side (touch - mid), USD;
    - ``k``: slope of the average fill price beyond the touch around the order size, USD per
      base unit per base unit (a book walk of q costs ~ eps q + k q^2); ``k_points`` sizes of
      the sample were fillable;
    - ``eta`` = k * max(tau, resilience_s), ``eta_tilde`` = eta - gamma tau / 2;
    - ``gamma`` = permanent_fraction * k: expected persistent mid shift per base unit traded;
    - ``sigma``: volatility in USD per sqrt(second) (live log-mid volatility x mid);
    - ``lam`` (1/USD), ``T`` (s), ``N`` steps of ``tau`` = T/N, ``kappa`` (1/s).
    Trajectory: ``times`` and ``holdings`` (N+1 points, X .. 0), ``trades`` (N child orders).
    ``E_usd``/``V_usd2``/``std_usd``: expected cost, its variance and standard deviation for
    the optimal schedule; ``*_twap`` the same for the straight line (lambda = 0).
    ``frontier_*``: the efficient frontier (lambda, E, V) from TWAP to all-at-once.
    ``immediate_cost_usd`` = eps X + k X^2 is the model's cost of doing it all now, beside
    ``book_cost_usd``, the exact walk of the visible book against the mid (they agree to the
    fit error). ``mid_shift`` = gamma X: the expected permanent move of the mid after an
    immediate fill (price units; ``mid_shift_bps`` of the mid).
    """

    X_base: float
    eps: float
    k: float
    k_points: int
    eta: float
    eta_tilde: float
    gamma: float
    sigma: float
    lam: float
    T: float
    N: int
    tau: float
    kappa: float
    resilience_s: float
    permanent_fraction: float
    times: np.ndarray
    holdings: np.ndarray
    trades: np.ndarray
    E_usd: float
    V_usd2: float
    std_usd: float
    E_twap_usd: float
    std_twap_usd: float
    frontier_lambda: np.ndarray
    frontier_E: np.ndarray
    frontier_V: np.ndarray
    immediate_cost_usd: float
    book_cost_usd: float
    mid_shift: float
    mid_shift_bps: float


@dataclass(frozen=True)  # no slots: made with core.snapshot.build on the hot path
class Estimate:
    """The full cost estimate for ``snapshot.params`` on ``snapshot.book``.

    Headline (never None; NaN only when the visible book cannot fill the order):
    ``slippage_usd/bps`` + ``impact_usd/bps`` + ``fees_usd/bps`` = ``net_cost_usd/bps``, and
    ``components`` is the ordered decomposition whose ``usd`` (and ``bps``) add up exactly
    to ``net_cost_usd`` (``net_cost_bps``). See the README's "Cost models" section.
    """

    # --- the order --------------------------------------------------------------------
    instrument: str
    order_type: str
    side: str
    reference: str  # slippage reference: "mid" or "best" (same-side touch)
    book_version: int
    book_ts_ms: float
    quantity_usd: float  # notional (USD orders as given, base orders at the mid)
    quantity_base: float  # base units (USD orders at the mid)
    exhausted: bool  # the visible book cannot fill a market order of this size
    # --- headline ---------------------------------------------------------------------
    slippage_usd: float
    slippage_bps: float
    impact_usd: float
    impact_bps: float
    fees_usd: float
    fees_bps: float
    net_cost_usd: float
    net_cost_bps: float
    components: tuple[CostItem, ...]
    # --- exact visible book vs the model's prediction (a market order of this size) ---
    book_slippage_usd: float  # exact walk now vs the reference (Engine's Fill)
    book_slippage_bps: float  # bps of the reference price, as Fill
    # how far the headline trusts the model: skill of its mean vs the naive "book now" on the
    # order's side (1 - SSE model / SSE naive, prequential, NaN until it can be measured) and
    # the weight of the model's delay term in ``slippage_*`` (clip(skill, 0, 1); 0 = book now)
    slippage_skill: float
    slippage_weight: float
    # what the visible book cannot fill (market orders; 0 unless ``exhausted``): no fee on it
    unfillable_base: float
    unfillable_usd: float  # USD orders exact; base orders at the last visible price
    unfillable_fraction: float  # of the order quantity, in its own unit
    delay_ms: float
    predicted_mean_usd: float  # filled after the delay, vs the reference at decision time
    predicted_mean_bps: float  # bps of notional
    predicted_q50_usd: float
    predicted_q90_usd: float
    predicted_q95_usd: float
    predicted_q50_bps: float
    predicted_q90_bps: float
    predicted_q95_bps: float
    # --- fees ---------------------------------------------------------------------------
    exchange: str
    fee_market: str  # which schedule: "spot", "swap"...
    fee_tier: str
    maker_rate: float  # fraction of notional (0.0002 = 2 bps); negative = rebate
    taker_rate: float
    fee_source: str
    # --- maker / taker --------------------------------------------------------------------
    limit_price: float  # NaN for a market order (the depth chart marks it)
    taker_fraction: float  # of the order quantity, in its own unit
    maker_fraction: float  # expected: fill probability x resting part
    unfilled_fraction: float  # expected part still resting at the horizon (no fee)
    fill_probability: float  # resting part fills within fill_horizon_s; NaN when nothing
    # rests (limit order crossing in full); 1 for a market order
    fill_horizon_s: float
    taker_usd: float  # crossing part's notional (fills at once, taker fee)
    resting_usd: float  # resting part at the limit price
    maker_usd: float  # expected maker notional: fill_probability x resting_usd (maker fee)
    unfilled_usd: float  # expected still resting at the horizon (no fee)
    queue_ahead_base: float
    fill_model: str  # "none: market order is 100% taker" or "logistic"
    # --- volatility in use (vol_per_s feeds Almgren-Chriss sigma) ----------------------
    vol_per_s: float  # log-mid volatility per sqrt(second)
    vol_annual: float
    vol_source: str  # "live", "override" or "prior" (no live estimate yet)
    vol_model_per_s: float  # what the slippage/fill features use: override, else a fast (10 s) EWMA
    # --- market impact (Almgren-Chriss) ------------------------------------------------
    impact: ImpactView
    # --- model quality ------------------------------------------------------------------
    slippage_quality: SlippageQuality
    fill_quality: FillQuality
    notes: tuple[str, ...] = ()

    @property
    def headless(self) -> dict:
        """The flat fields ``slipscope headless`` prints."""
        return {name: getattr(self, name) for name in HEADLESS_FIELDS}


HEADLESS_FIELDS = ("quantity_usd", "slippage_bps", "slippage_usd", "fees_usd", "impact_usd",
                   "net_cost_usd", "maker_fraction")
