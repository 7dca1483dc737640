"""Online estimators, one small Numba kernel each, plus thin classes for direct use and tests.

- Recursive least squares with a forgetting factor (the mean): exponentially weighted least
  squares updated in O(k^2) per sample; ``forgetting`` = 0.999 remembers about 1,000 samples.
  A trace cap on ``P`` guards against wind-up when a feature stops moving (Astrom &
  Wittenmark, *Adaptive Control*, ch. 11: with forgetting, ``P`` grows without bound in
  unexcited directions).
- Quantile regression by stochastic gradient on the pinball loss (Koenker & Bassett 1978):
  ``w += lr * (q - 1[y < w.x]) * x``. With an intercept and a step that does not vanish, the
  intercept acts as an integral controller on coverage, so the long-run share of labels
  below the prediction tracks ``q`` even when the data drift (Gibbs & Candes 2021,
  "Adaptive conformal inference under distribution shift").
- Logistic regression by online Newton steps on the log loss (the fill model): recursive
  IRLS with the same forgetting and trace guard as RLS.

The step size decays as ``lr0 / sqrt(1 + n / n0)`` down to ``lr_min``: fast at first, steady
(and still adaptive) later.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(nogil=True, cache=True)
def step_size(lr0, lr_min, n0, n):
    return max(lr_min, lr0 / math.sqrt(1.0 + n / n0))


@njit(nogil=True, cache=True)
def dot(w, x):
    s = 0.0
    for i in range(x.shape[0]):
        s += w[i] * x[i]
    return s


@njit(nogil=True, cache=True)
def rls_update(w, P, x, y, forgetting, trace_max, px):
    """One RLS step in place; ``px`` is scratch of length k. Returns the a-priori error."""
    k = x.shape[0]
    for i in range(k):
        s = 0.0
        for j in range(k):
            s += P[i, j] * x[j]
        px[i] = s
    denom = forgetting + dot(x, px)
    err = y - dot(w, x)
    for i in range(k):
        w[i] += px[i] / denom * err
    trace = 0.0
    for i in range(k):
        for j in range(k):
            P[i, j] = (P[i, j] - px[i] * px[j] / denom) / forgetting
        trace += P[i, i]
    if trace > trace_max:
        scale = trace_max / trace
        for i in range(k):
            for j in range(k):
                P[i, j] *= scale
    return err


@njit(nogil=True, cache=True)
def pinball_update(W, qs, x, y, lr):
    """One pinball-loss SGD step for every quantile row of ``W`` (rows match ``qs``)."""
    for r in range(qs.shape[0]):
        below = 1.0 if y < dot(W[r], x) else 0.0
        g = lr * (qs[r] - below)
        for i in range(x.shape[0]):
            W[r, i] += g * x[i]


@njit(nogil=True, cache=True)
def sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@njit(nogil=True, cache=True)
def logistic_update(w, P, x, y, forgetting, trace_max, px):
    """One online Newton (recursive IRLS) step on the log loss; returns the probability
    predicted before the step.

    ``P`` is the inverse of the exponentially weighted Hessian sum h x x' (h = p (1 - p)),
    updated by Sherman-Morrison, and the step is w += P x (y - p): Newton's method one
    sample at a time (the extended-Kalman-filter form of logistic regression). Unlike plain
    SGD it is indifferent to feature scaling and collinearity, so it settles to a
    calibrated model in a few hundred labels.
    """
    k = x.shape[0]
    p = sigmoid(dot(w, x))
    h = max(p * (1.0 - p), 1e-4)
    for i in range(k):
        s = 0.0
        for j in range(k):
            s += P[i, j] * x[j]
        px[i] = s
    denom = forgetting + h * dot(x, px)
    trace = 0.0
    for i in range(k):
        for j in range(k):
            P[i, j] = (P[i, j] - h * px[i] * px[j] / denom) / forgetting
        trace += P[i, i]
    if trace > trace_max:
        scale = trace_max / trace
        for i in range(k):
            for j in range(k):
                P[i, j] *= scale
    err = y - p
    for i in range(k):
        s = 0.0
        for j in range(k):
            s += P[i, j] * x[j]
        w[i] += s * err
    return p


@njit(nogil=True, cache=True)
def pinball_loss(q, y, pred):
    d = y - pred
    return q * d if d >= 0.0 else (q - 1.0) * d


# --- batch drivers (tests, warm-start generation): the same kernels over many rows ----------
@njit(nogil=True, cache=True)
def rls_fit(w, P, X, y, forgetting, trace_max):
    px = np.empty(X.shape[1])
    for t in range(X.shape[0]):
        rls_update(w, P, X[t], y[t], forgetting, trace_max, px)


@njit(nogil=True, cache=True)
def pinball_fit(W, W_avg, qs, X, y, lr0, lr_min, n0, n_start, avg_from):
    """SGD over the rows; ``W_avg`` <- the mean of the iterates from row ``avg_from`` on
    (Polyak-Ruppert averaging: the final iterate of a constant-ish step wanders by
    O(sqrt(lr)); the average does not)."""
    m = 0
    for t in range(X.shape[0]):
        pinball_update(W, qs, X[t], y[t], step_size(lr0, lr_min, n0, n_start + t))
        if t >= avg_from:
            m += 1
            for r in range(W.shape[0]):
                for i in range(W.shape[1]):
                    W_avg[r, i] += (W[r, i] - W_avg[r, i]) / m


@njit(nogil=True, cache=True)
def logistic_fit(w, P, X, y, forgetting, trace_max, p_out):
    """Prequential: ``p_out[t]`` is the prediction made for row t *before* learning from it."""
    px = np.empty(X.shape[1])
    for t in range(X.shape[0]):
        p_out[t] = logistic_update(w, P, X[t], y[t], forgetting, trace_max, px)


class RecursiveLeastSquares:
    """Exponentially weighted least squares, updated one sample at a time."""

    def __init__(self, k: int, forgetting: float = 0.999, delta: float = 100.0,
                 trace_max: float = 1e6) -> None:
        if not 0.0 < forgetting <= 1.0:
            raise ValueError("forgetting factor must be in (0, 1]")
        self.w = np.zeros(k)
        self.P = np.eye(k) * delta
        self.forgetting = forgetting
        self.trace_max = trace_max
        self.n = 0
        self._px = np.empty(k)

    def update(self, x: np.ndarray, y: float) -> float:
        self.n += 1
        return rls_update(self.w, self.P, np.asarray(x, float), float(y), self.forgetting,
                          self.trace_max, self._px)

    def fit(self, X: np.ndarray, y: np.ndarray) -> "RecursiveLeastSquares":
        rls_fit(self.w, self.P, np.ascontiguousarray(X, float), np.asarray(y, float),
                self.forgetting, self.trace_max)
        self.n += len(y)
        return self

    def predict(self, x: np.ndarray) -> float:
        return float(dot(self.w, np.asarray(x, float)))


class QuantileSGD:
    """Linear quantile regression for several quantiles at once (pinball-loss SGD)."""

    def __init__(self, k: int, quantiles=(0.5, 0.9, 0.95), lr0: float = 0.05,
                 lr_min: float = 0.005, n0: float = 500.0) -> None:
        self.qs = np.asarray(quantiles, float)
        self.W = np.zeros((len(self.qs), k))
        self.lr0, self.lr_min, self.n0 = lr0, lr_min, n0
        self.n = 0

    def update(self, x: np.ndarray, y: float) -> None:
        pinball_update(self.W, self.qs, np.asarray(x, float), float(y),
                       step_size(self.lr0, self.lr_min, self.n0, self.n))
        self.n += 1

    def fit(self, X: np.ndarray, y: np.ndarray, average_from: int | None = None) -> "QuantileSGD":
        """Learn from every row in order. With ``average_from``, ``W`` becomes the average
        of the iterates from that row on (for a batch estimate; online use keeps the last)."""
        W_avg = self.W.copy()
        start = len(y) if average_from is None else average_from
        pinball_fit(self.W, W_avg, self.qs, np.ascontiguousarray(X, float), np.asarray(y, float),
                    self.lr0, self.lr_min, self.n0, self.n, start)
        if average_from is not None:
            self.W = W_avg
        self.n += len(y)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions for every quantile, sorted so they never cross (monotone rearrangement)."""
        return np.sort(self.W @ np.asarray(x, float))


class OnlineLogistic:
    """Logistic regression learned one labelled example at a time (online Newton)."""

    def __init__(self, k: int, forgetting: float = 0.9995, delta: float = 10.0,
                 trace_max: float = 1e4) -> None:
        self.w = np.zeros(k)
        self.P = np.eye(k) * delta
        self.forgetting = forgetting
        self.trace_max = trace_max
        self.n = 0
        self._px = np.empty(k)

    def update(self, x: np.ndarray, y: float) -> float:
        self.n += 1
        return logistic_update(self.w, self.P, np.asarray(x, float), float(y), self.forgetting,
                               self.trace_max, self._px)

    def fit(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Learn from every row in order; returns the prequential predictions."""
        p = np.empty(len(y))
        logistic_fit(self.w, self.P, np.ascontiguousarray(X, float), np.asarray(y, float),
                     self.forgetting, self.trace_max, p)
        self.n += len(y)
        return p

    def predict(self, x: np.ndarray) -> float:
        return float(sigmoid(dot(self.w, np.asarray(x, float))))
