"""The online estimators recover known coefficients, quantiles and probabilities on
synthetic data with known noise."""
from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest

from core.models.online_regression import (
    OnlineLogistic, QuantileSGD, RecursiveLeastSquares, pinball_loss,
)


def design(rng, n, k):
    X = rng.standard_normal((n, k))
    X[:, 0] = 1.0
    return X


def test_rls_recovers_coefficients_with_known_noise():
    rng = np.random.default_rng(1)
    beta = np.array([0.5, 1.0, -2.0, 0.25, 3.0])
    X = design(rng, 20_000, 5)
    y = X @ beta + 0.5 * rng.standard_normal(len(X))
    rls = RecursiveLeastSquares(5, forgetting=1.0, delta=1e6).fit(X, y)
    se = 0.5 / np.sqrt(len(X))
    assert np.all(np.abs(rls.w - beta) < 5 * se)


def test_rls_without_forgetting_is_batch_least_squares():
    rng = np.random.default_rng(2)
    X = design(rng, 300, 4)
    y = X @ np.array([1.0, 2.0, 3.0, 4.0]) + rng.standard_normal(300)
    rls = RecursiveLeastSquares(4, forgetting=1.0, delta=1e4).fit(X, y)
    batch, *_ = np.linalg.lstsq(X, y, rcond=None)
    assert rls.w == pytest.approx(batch, abs=1e-5)  # the prior P0 = 1e4 I is all that differs


def test_rls_forgetting_tracks_a_change_of_regime():
    rng = np.random.default_rng(3)
    before, after = np.array([0.0, 1.0, 1.0]), np.array([2.0, -1.0, 0.5])
    X1, X2 = design(rng, 5000, 3), design(rng, 3000, 3)
    y1 = X1 @ before + 0.3 * rng.standard_normal(5000)
    y2 = X2 @ after + 0.3 * rng.standard_normal(3000)
    slow = RecursiveLeastSquares(3, forgetting=1.0).fit(X1, y1).fit(X2, y2)
    fast = RecursiveLeastSquares(3, forgetting=0.995).fit(X1, y1).fit(X2, y2)
    assert np.abs(fast.w - after).max() < 0.05
    assert np.abs(slow.w - after).max() > 0.5  # without forgetting it averages the regimes


def test_rls_trace_guard_stops_windup_on_a_frozen_feature():
    rng = np.random.default_rng(4)
    X = design(rng, 20_000, 3)
    X[:, 2] = 0.0  # a feature that never moves: unexcited direction
    y = X[:, 1] * 2.0 + 0.1 * rng.standard_normal(len(X))
    rls = RecursiveLeastSquares(3, forgetting=0.99, trace_max=100.0).fit(X, y)
    assert np.trace(rls.P) <= 100.0 + 1e-9
    assert np.all(np.isfinite(rls.w)) and rls.w[1] == pytest.approx(2.0, abs=0.05)


def test_quantile_sgd_recovers_heteroscedastic_quantiles():
    """y = 1 + 2x + (0.5 + x) e, e ~ N(0, 1), x ~ U(0, 1): the q-quantile is linear,
    1 + 0.5 z_q + (2 + z_q) x, with a different slope per quantile."""
    rng = np.random.default_rng(5)
    n = 400_000
    x = rng.uniform(0.0, 1.0, n)
    X = np.column_stack([np.ones(n), x])
    y = 1.0 + 2.0 * x + (0.5 + x) * rng.standard_normal(n)
    qs = (0.5, 0.9, 0.95)
    model = QuantileSGD(2, qs, lr0=0.05, lr_min=1e-4, n0=200).fit(X, y, average_from=n // 4)
    for r, q in enumerate(qs):
        z = NormalDist().inv_cdf(q)
        assert model.W[r, 0] == pytest.approx(1.0 + 0.5 * z, abs=0.05)
        assert model.W[r, 1] == pytest.approx(2.0 + z, abs=0.1)
    # out of sample, the share of labels at or below each quantile is that quantile
    x_new = rng.uniform(0.0, 1.0, 50_000)
    y_new = 1.0 + 2.0 * x_new + (0.5 + x_new) * rng.standard_normal(50_000)
    preds = np.column_stack([np.ones_like(x_new), x_new]) @ model.W.T
    for r, q in enumerate(qs):
        assert np.mean(y_new <= preds[:, r]) == pytest.approx(q, abs=0.01)


def test_quantile_predictions_never_cross():
    model = QuantileSGD(2, (0.5, 0.9, 0.95))
    model.W[:] = [[0.0, 1.0], [0.0, 0.5], [0.0, 0.2]]  # crossing lines for x > 0
    p = model.predict(np.array([1.0, 2.0]))
    assert np.all(np.diff(p) >= 0)


def test_pinball_loss():
    assert pinball_loss(0.9, 3.0, 1.0) == pytest.approx(1.8)
    assert pinball_loss(0.9, 1.0, 3.0) == pytest.approx(0.2)


def test_online_logistic_recovers_coefficients_and_is_calibrated():
    rng = np.random.default_rng(6)
    w_true = np.array([-0.5, 1.5, -1.0, 0.7])
    n = 60_000
    X = design(rng, n, 4)
    X[:, 3] = 5.0 + 3.0 * X[:, 3]  # badly scaled, off-centre: Newton steps do not mind
    w_true[3] = 0.2
    w_true[0] = -0.5 - 0.2 * 5.0
    p_true = 1 / (1 + np.exp(-X @ w_true))
    y = (rng.uniform(size=n) < p_true).astype(float)
    model = OnlineLogistic(4, forgetting=1.0)
    p = model.fit(X, y)
    assert model.w == pytest.approx(w_true, abs=0.08)
    # reliability of the prequential predictions after a short burn-in
    p, y = p[2000:], y[2000:]
    edges = np.linspace(0, 1, 11)
    idx = np.clip(np.digitize(p, edges) - 1, 0, 9)
    for b in range(10):
        sel = idx == b
        if sel.sum() >= 500:
            assert abs(p[sel].mean() - y[sel].mean()) < 0.03, (b, p[sel].mean(), y[sel].mean())
