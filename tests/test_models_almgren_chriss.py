"""Almgren & Chriss (2000): the paper's numerical example, the limits, E and V of any
trajectory against a plain-Python reference, and the book calibration."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.models.almgren_chriss import (
    FRONTIER_KAPPA_T, efficient_frontier, eta_for_step, kappa_of, optimal_schedule, trajectory_cost,
)

# The paper's example: 1e6 shares over 5 days in 5 steps, sigma 0.95 $/share/sqrt(day),
# eps = 1/16 $, eta = 2.5e-6 $/share per share/day, gamma = 2.5e-7 $/share per share.
PAPER = dict(X=1e6, T=5.0, N=5, sigma=0.95, eps=1 / 16, eta=2.5e-6, gamma=2.5e-7)


def paper(lam: float):
    return optimal_schedule(lam=lam, **PAPER)


def reference_cost(holdings, tau, eps, eta, gamma, sigma):
    """E and V straight from the model's definitions (no closed-form simplification):
    permanent impact gamma n_k lowers the price for all later trades, each trade pays
    eps sign(n) + eta n / tau, variance sums sigma^2 tau x_k^2."""
    N = len(holdings) - 1
    shortfall = 0.0
    drift = 0.0  # accumulated permanent impact
    for k in range(1, N + 1):
        n = holdings[k - 1] - holdings[k]
        price_impact = drift + eps * math.copysign(1.0, n) * (n != 0) + eta * n / tau
        shortfall += n * price_impact
        drift += gamma * n
    var = sum(sigma ** 2 * tau * holdings[k] ** 2 for k in range(1, N + 1))
    return shortfall, var


def test_paper_example_straight_line_at_lambda_zero():
    s = paper(0.0)
    assert s.kappa == 0.0
    assert s.holdings.tolist() == pytest.approx([1e6, 8e5, 6e5, 4e5, 2e5, 0.0])
    assert s.E == pytest.approx(662_500.0, abs=0.01)
    assert math.sqrt(s.V) == pytest.approx(1_040_673, abs=0.5)


def test_paper_example_kappa_at_lambda_1e_6():
    s = paper(1e-6)
    assert s.kappa == pytest.approx(0.607, abs=5e-4)  # per day
    # front-loaded relative to the straight line, cheaper in variance, dearer in E
    assert np.all(s.holdings[1:-1] < paper(0.0).holdings[1:-1])
    assert s.V < paper(0.0).V and s.E > paper(0.0).E


def test_kappa_matches_its_defining_equation():
    tau = PAPER["T"] / PAPER["N"]
    eta_t = PAPER["eta"] - 0.5 * PAPER["gamma"] * tau
    for lam in (1e-9, 1e-6, 1e-3, 1.0):
        k = kappa_of(lam, PAPER["sigma"], eta_t, tau)
        lhs = 2 * (math.cosh(k * tau) - 1) / tau ** 2
        assert lhs == pytest.approx(lam * PAPER["sigma"] ** 2 / eta_t, rel=1e-9)


def test_lambda_to_zero_is_twap():
    s = paper(1e-15)
    assert s.holdings.tolist() == pytest.approx(paper(0.0).holdings.tolist(), rel=1e-6)
    assert np.allclose(s.trades, 2e5, rtol=1e-6)


def test_large_lambda_front_loads_everything():
    s = paper(1e3)
    assert s.trades[0] == pytest.approx(1e6, rel=1e-6)
    assert s.holdings[1] < 1e-3 * 1e6
    huge = paper(1e300)  # kappa * T far past sinh overflow: still finite
    assert np.all(np.isfinite(huge.holdings)) and huge.holdings[1] == 0.0


def test_trades_add_up_and_times_span_the_horizon():
    s = paper(1e-6)
    assert s.trades.sum() == pytest.approx(1e6)
    assert s.times[0] == 0.0 and s.times[-1] == 5.0 and len(s.times) == 6


@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12), st.floats(0.01, 10.0),
       st.floats(0.0, 1.0), st.floats(1e-4, 10.0), st.floats(0.0, 1.0), st.floats(0.0, 5.0))
def test_cost_of_any_trajectory_matches_the_definitions(steps, tau, eps, eta, gamma_share, sigma):
    # any monotone or non-monotone path from X to 0
    X = 100.0
    path = [X] + [X * u for u in steps] + [0.0]
    holdings = np.array(path)
    gamma = gamma_share * eta / tau
    E, V = trajectory_cost(holdings, tau, eps, eta, gamma, sigma)
    E_ref, V_ref = reference_cost(path, tau, eps, eta, gamma, sigma)
    assert E == pytest.approx(E_ref, rel=1e-9, abs=1e-9)
    assert V == pytest.approx(V_ref, rel=1e-9, abs=1e-9)


def test_optimal_trajectory_beats_perturbed_ones():
    rng = np.random.default_rng(0)
    lam = 1e-6
    s = paper(lam)
    tau = PAPER["T"] / PAPER["N"]
    best = s.E + lam * s.V
    for _ in range(500):
        hold = s.holdings.copy()
        hold[1:-1] *= 1 + 0.05 * rng.standard_normal(len(hold) - 2)
        E, V = trajectory_cost(hold, tau, PAPER["eps"], PAPER["eta"], PAPER["gamma"], PAPER["sigma"])
        assert E + lam * V >= best - 1e-6


def test_frontier_is_efficient_and_matches_direct_evaluation():
    s = paper(1e-6)
    assert s.frontier_lambda[0] == 0.0 and s.frontier_E[0] == pytest.approx(662_500.0)
    assert np.all(np.diff(s.frontier_lambda) > 0)
    assert np.all(np.diff(s.frontier_E) >= -1e-6) and np.all(np.diff(s.frontier_V) <= 1e-6)
    m = len(FRONTIER_KAPPA_T)
    lam, E, V = np.empty(m), np.empty(m), np.empty(m)
    efficient_frontier(1e6, 5.0, 5, 1 / 16, 2.5e-6, 2.5e-7, 0.95, FRONTIER_KAPPA_T, lam, E, V)
    assert np.allclose(E, s.frontier_E, rtol=1e-12) and np.allclose(V, s.frontier_V, rtol=1e-12)
    assert np.allclose(lam, s.frontier_lambda, rtol=1e-12)


def test_schedule_arrays_are_read_only():
    s = paper(1e-6)
    for arr in (s.times, s.holdings, s.trades, s.frontier_E, s.frontier_V, s.frontier_lambda):
        with pytest.raises(ValueError):
            arr[0] = 1.0


def test_single_step_on_a_refilled_book_costs_the_book_walk():
    """N = 1 with eta = k tau: E = eps X + k X^2, whatever gamma (permanent impact of a
    single trade is paid by no later trade)."""
    eps, k, X, T = 0.05, 0.4, 3.0, 30.0
    for gamma in (0.0, 0.1, 0.4):
        s = optimal_schedule(X, T, 1, sigma=10.0, eps=eps, eta=eta_for_step(k, T, 5.0), gamma=gamma, lam=1e-6)
        assert s.E == pytest.approx(eps * X + k * X * X, rel=1e-12)


def test_steps_faster_than_resilience_pay_the_unrefilled_book():
    assert eta_for_step(0.4, 30.0, 5.0) == pytest.approx(12.0)
    assert eta_for_step(0.4, 1.0, 5.0) == pytest.approx(2.0)


def test_bad_schedule_inputs_are_rejected():
    with pytest.raises(ValueError):
        optimal_schedule(1.0, 0.0, 5, 1.0, 0.0, 1.0, 0.0, 0.0)
