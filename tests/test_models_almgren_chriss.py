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


@given(st.lists(st.tuples(st.integers(1, 50), st.floats(0.01, 50.0)), min_size=1, max_size=40),
       st.floats(0.0, 30.0), st.integers(1, 30), st.sampled_from([0.0, 1e-7, 1e-5, 1e-2]),
       st.sampled_from([1.0, -1.0]), st.floats(0.01, 500.0), st.booleans())
def test_live_impact_is_slope_calibration_and_schedule_in_one_call(levels, x, N, lam, sign, T, empty):
    """The suite's one-call kernel equals cost_slope + calibrate + eta_for_step + the schedule."""
    from core.models.almgren_chriss import (
        IV_E, IV_ETA, IV_ETA_TILDE, IV_GAMMA, IV_IMMEDIATE, IV_K, IV_K_POINTS, IV_KAPPA,
        IV_MID_SHIFT, IV_MID_SHIFT_BPS, IV_STD, IV_STD_TWAP, IV_V, N_IV, calibrate, frontier_shapes,
        live_impact,
    )
    from core.models.book_cost import SLOPE_MULTIPLES, cost_slope

    mid, eps, sigma, pf, resilience = 100.0, 0.05, 3.0, 0.5, 5.0
    steps = np.cumsum([d for d, _ in levels]) * 0.1
    px = mid + sign * (eps + steps)
    qty = np.array([q for _, q in levels])
    slope_size = 0.0 if empty else max(x, qty[0])
    A, B = frontier_shapes(N)
    G = FRONTIER_KAPPA_T.shape[0]
    arrays, out = np.full(3 * (N + 1) + 3 * G, -1.0), np.full(N_IV, -1.0)
    live_impact(px, qty, slope_size, sign, SLOPE_MULTIPLES, eps, sigma, pf, resilience, x, T, N, lam,
                mid, FRONTIER_KAPPA_T, A, B, arrays, out)
    k, k_points = cost_slope(px, qty, slope_size, sign, SLOPE_MULTIPLES) if not empty else (math.nan, 0)
    cal = calibrate(eps, float(k), int(k_points), sigma, pf)
    eta = eta_for_step(cal.k, T / N, resilience)
    sched = optimal_schedule(x, T, N, sigma=sigma, eps=eps, eta=eta, gamma=cal.gamma, lam=lam)

    def same(a, b):
        return a == b or (math.isnan(a) and math.isnan(b))

    want = {IV_K: cal.k, IV_K_POINTS: cal.k_points, IV_GAMMA: cal.gamma, IV_ETA: eta,
            IV_ETA_TILDE: eta - 0.5 * cal.gamma * (T / N), IV_KAPPA: sched.kappa, IV_E: sched.E, IV_V: sched.V,
            IV_STD: math.sqrt(sched.V) if sched.V >= 0 else math.nan,
            IV_STD_TWAP: math.sqrt(sched.V_twap) if sched.V_twap >= 0 else math.nan,
            IV_IMMEDIATE: eps * x + cal.k * x * x, IV_MID_SHIFT: cal.gamma * x,
            IV_MID_SHIFT_BPS: cal.gamma * x / mid * 1e4}
    for i, w in want.items():
        assert same(out[i], w), (i, out[i], w)
    n1 = N + 1
    for got, ref in ((arrays[:n1], sched.times), (arrays[n1:2 * n1], sched.holdings),
                     (arrays[2 * n1:2 * n1 + N], sched.trades), (arrays[3 * n1:3 * n1 + G], sched.frontier_lambda),
                     (arrays[3 * n1 + G:3 * n1 + 2 * G], sched.frontier_E), (arrays[3 * n1 + 2 * G:], sched.frontier_V)):
        assert np.array_equal(got, ref, equal_nan=True)
