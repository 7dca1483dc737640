"""Realised volatility from mid-price updates at irregular times.

Two estimators, both of the variance of log mid per second, with a time constant ``tau`` in
seconds. Updates with the same timestamp are merged into the next one (the return is measured
from the last mid *used*). Mid, not trades, to avoid bid-ask bounce. Crypto trades 24/7:
annualise with 365 days.

:class:`LiveVolatility` is the figure shown as live (inputs panel, snapshot, Almgren-Chriss
sigma): a time-weighted EWMA written as a ratio of discounted sums,

    S <- d S + r^2,   T <- d T + dt,   d = exp(-dt / tau),   variance = S / T,

that is sum(w_i r_i^2) / sum(w_i dt_i) with w_i = exp(-(t_now - t_i) / tau). Under a random
walk E[r_i^2] = sigma^2 dt_i, so numerator and denominator have the same expectation up to
sigma^2 from the very first return: there is no start-up bias to decay away. What the first
returns lack is precision, so the estimator also says whether it can be trusted: it is
``warming up`` until the returns behind it are worth ``MIN_EFFECTIVE_RETURNS`` equal ones
(``T^2 / Q`` with ``Q <- d^2 Q + dt^2``, the Kish effective sample size of the time weights)
and cover ``MIN_SECONDS``; then ``live``. After a long silence the single return across the
gap dominates the sums and the state honestly falls back to ``warming up``.

:class:`EwmaVolatility` (``v <- d v + (1 - d) r^2 / dt``, started from the first squared
return) is kept, unchanged, as the fast (10 s) volatility of the slippage and fill model
features: the shipped warm-start coefficients were learnt with it.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

SECONDS_PER_YEAR = 365.0 * 86400.0
#: Returns (effective, equally weighted) before the live figure is trusted. The relative
#: standard error of a volatility from n Gaussian returns is about 1/sqrt(2n): 10 % at 50,
#: so 25 % off is a 2.5-sigma event (about 1 in 80) by the time the figure is called live.
MIN_EFFECTIVE_RETURNS = 50.0
#: Seconds of mids before the live figure is trusted, however fast books come: one burst of
#: updates (a sweep, a reconnect's catch-up) must not be enough to call a figure live.
MIN_SECONDS = 10.0
WARMING_UP = "warming up"
LIVE = "live"


@njit(nogil=True, cache=True)
def ewma_variance_step(v, last_mid, mid, dt, tau):
    """One update of the per-second variance; NaN ``v`` means 'no estimate yet'."""
    r = math.log(mid / last_mid)
    inst = r * r / dt
    if math.isnan(v):
        return inst
    w = math.exp(-dt / tau)
    return w * v + (1.0 - w) * inst


@njit(nogil=True, cache=True)
def ewma_variance_series(t, mid, tau):
    """The variance after each observation of a (time, mid) series; NaN until one return."""
    n = t.shape[0]
    out = np.full(n, np.nan)
    v = np.nan
    if n == 0:
        return out
    last_t = t[0]
    last_mid = mid[0]
    for i in range(1, n):
        dt = t[i] - last_t
        if dt > 0.0 and mid[i] > 0.0:
            v = ewma_variance_step(v, last_mid, mid[i], dt, tau)
            last_t = t[i]
            last_mid = mid[i]
        out[i] = v
    return out


class _MidReturns:
    """The returns both estimators read: from the last mid *used* to the new one, skipping
    invalid mids and same-instant updates (their move is counted with the next time step)."""

    _last_t = math.nan
    _last_mid = math.nan

    def _advance(self, t_s: float, mid: float) -> tuple[float, float] | None:
        """(previous mid, seconds since it) for a new return, else None; remembers ``mid``."""
        if not (mid > 0.0 and math.isfinite(mid) and math.isfinite(t_s)):
            return None
        last_t, last_mid = self._last_t, self._last_mid
        if math.isnan(last_t):
            self._last_t, self._last_mid = t_s, mid
            return None
        dt = t_s - last_t
        if dt <= 0.0:
            return None
        self._last_t, self._last_mid = t_s, mid
        return last_mid, dt


class EwmaVolatility(_MidReturns):
    """Streaming estimator; ``update`` per book, read ``per_second`` / ``annualised``."""

    def __init__(self, tau_s: float = 120.0) -> None:
        if not tau_s > 0:
            raise ValueError("volatility time constant must be positive")
        self.tau_s = tau_s
        self.variance = math.nan
        self._last_t = math.nan
        self._last_mid = math.nan
        self.updates = 0

    def reset(self) -> None:
        self.variance = math.nan
        self._last_t = math.nan
        self._last_mid = math.nan
        self.updates = 0

    def update(self, t_s: float, mid: float) -> None:
        step = self._advance(t_s, mid)
        if step is not None:
            last_mid, dt = step
            self.variance = ewma_variance_step(self.variance, last_mid, mid, dt, self.tau_s)
            self.updates += 1

    @property
    def per_second(self) -> float:
        """Volatility of log mid per sqrt(second)."""
        return math.sqrt(self.variance) if self.variance >= 0 else math.nan

    @property
    def annualised(self) -> float:
        return math.sqrt(self.variance * SECONDS_PER_YEAR) if self.variance >= 0 else math.nan


class LiveVolatility(_MidReturns):
    """Time-weighted EWMA as a ratio of discounted sums, with a warm-up state (module docstring).

    ``update(t_s, mid)`` per book. ``state`` is ``"warming up"`` or ``"live"``; ``per_second``
    and ``annualised`` are the live figure (NaN while warming up: callers use their prior or
    the user's override and say so); ``estimate_per_second`` is the ratio at any time (NaN
    before the first return).
    """

    def __init__(self, tau_s: float = 120.0, min_returns: float = MIN_EFFECTIVE_RETURNS,
                 min_seconds: float = MIN_SECONDS) -> None:
        if not tau_s > 0:
            raise ValueError("volatility time constant must be positive")
        self.tau_s = tau_s
        self.min_returns = min_returns
        self.min_seconds = min_seconds
        self.reset()

    def reset(self) -> None:
        self.sum_r2 = 0.0  # discounted sum of squared log returns
        self.sum_dt = 0.0  # discounted sum of the seconds they span
        self.sum_dt2 = 0.0  # discounted (squared weights) sum of squared spans: precision
        self.updates = 0  # returns used
        self.seconds = 0.0  # seconds covered by them (undiscounted)
        self._last_t = math.nan
        self._last_mid = math.nan

    def update(self, t_s: float, mid: float) -> None:
        step = self._advance(t_s, mid)
        if step is None:
            return
        last_mid, dt = step
        r = math.log(mid / last_mid)
        d = math.exp(-dt / self.tau_s)
        self.sum_r2 = d * self.sum_r2 + r * r
        self.sum_dt = d * self.sum_dt + dt
        self.sum_dt2 = d * d * self.sum_dt2 + dt * dt
        self.updates += 1
        self.seconds += dt

    @property
    def effective_returns(self) -> float:
        """How many equally weighted returns the discounted sums are worth (0 before any)."""
        return self.sum_dt * self.sum_dt / self.sum_dt2 if self.sum_dt2 > 0.0 else 0.0

    @property
    def state(self) -> str:
        ready = self.effective_returns >= self.min_returns and self.seconds >= self.min_seconds
        return LIVE if ready else WARMING_UP

    @property
    def estimate_per_second(self) -> float:
        """sqrt(S / T) whatever the state; NaN before the first return."""
        return math.sqrt(self.sum_r2 / self.sum_dt) if self.sum_dt > 0.0 else math.nan

    @property
    def per_second(self) -> float:
        """Live volatility of log mid per sqrt(second); NaN while warming up."""
        return self.estimate_per_second if self.state == LIVE else math.nan

    @property
    def annualised(self) -> float:
        return self.per_second * math.sqrt(SECONDS_PER_YEAR)
