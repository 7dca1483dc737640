"""Realised volatility from mid-price updates at irregular times.

EWMA of squared log returns normalised by elapsed time, with a time constant ``tau`` in
seconds: ``v <- exp(-dt/tau) v + (1 - exp(-dt/tau)) r^2 / dt``. ``v`` is a variance per
second, so irregular spacing is handled by construction. Updates with the same timestamp
are merged into the next one (the return is measured from the last mid *used*). Mid, not
trades, to avoid bid-ask bounce. Crypto trades 24/7: annualise with 365 days.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

SECONDS_PER_YEAR = 365.0 * 86400.0


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


class EwmaVolatility:
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
        if not (mid > 0.0 and math.isfinite(mid)):
            return
        if math.isnan(self._last_t):
            self._last_t, self._last_mid = t_s, mid
            return
        dt = t_s - self._last_t
        if dt <= 0.0:
            return  # same instant: the move is counted with the next time step
        self.variance = ewma_variance_step(self.variance, self._last_mid, mid, dt, self.tau_s)
        self._last_t, self._last_mid = t_s, mid
        self.updates += 1

    @property
    def per_second(self) -> float:
        """Volatility of log mid per sqrt(second)."""
        return math.sqrt(self.variance) if self.variance >= 0 else math.nan

    @property
    def annualised(self) -> float:
        return math.sqrt(self.variance * SECONDS_PER_YEAR) if self.variance >= 0 else math.nan
