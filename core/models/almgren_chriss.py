"""Almgren & Chriss (2000), "Optimal execution of portfolio transactions", J. Risk 3(2).

Model (discrete, N steps of tau = T/N, holdings x_0 = X ... x_N = 0, trades n_k = x_{k-1} - x_k):
- arithmetic Brownian price with volatility sigma (price units per sqrt(time unit));
- permanent impact g(v) = gamma v: each unit traded moves the price by gamma for good;
- temporary impact h(v) = eps sign(v) + eta v, v = n_k / tau: paid on the trade only.
With eta_tilde = eta - gamma tau / 2, any trajectory has
    E = gamma X^2 / 2 + eps sum|n_k| + (eta_tilde / tau) sum n_k^2,   V = sigma^2 tau sum_{k>=1} x_k^2
and the mean-variance optimal one (minimise E + lambda V) is
    x_j = X sinh(kappa (T - t_j)) / sinh(kappa T),  2 (cosh(kappa tau) - 1) / tau^2 = lambda sigma^2 / eta_tilde.
lambda -> 0 gives the straight line (TWAP); large lambda front-loads towards "all now".

Units here: time in seconds, quantities in base units, prices in quote currency (USD), so E
and sqrt(V) are USD and lambda is 1/USD. The calibration from a live book is in
:func:`calibrate` (see its docstring and the README's "Cost models" section).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit

from core.models.book_cost import cost_slope

#: kappa*T values the efficient frontier is swept over (plus lambda = 0): from "almost
#: TWAP" to "almost all at once", whatever the units of lambda
FRONTIER_KAPPA_T = np.concatenate(([0.0], np.geomspace(0.02, 40.0, 47)))


@njit(nogil=True, cache=True)
def eta_tilde_of(eta, gamma, tau):
    return eta - 0.5 * gamma * tau


@njit(nogil=True, cache=True)
def kappa_of(lam, sigma, eta_tilde, tau):
    """Solve 2 (cosh(kappa tau) - 1) / tau^2 = lam sigma^2 / eta_tilde for kappa >= 0.

    Written with log1p so that small lam*sigma^2 stays accurate; eta_tilde <= 0 (no
    temporary cost to wait for) gives kappa = inf: trade everything at once.
    """
    if lam <= 0.0 or sigma == 0.0:
        return 0.0
    if eta_tilde <= 0.0:
        return np.inf
    u = 0.5 * lam * sigma * sigma * tau * tau / eta_tilde  # cosh(kappa tau) - 1
    return math.log1p(u + math.sqrt(u * (u + 2.0))) / tau


@njit(nogil=True, cache=True)
def lambda_of_kappa(kappa, sigma, eta_tilde, tau):
    """Inverse of :func:`kappa_of` (used to sweep the frontier evenly in kappa*T)."""
    if kappa <= 0.0:
        return 0.0
    return 2.0 * eta_tilde * (math.cosh(kappa * tau) - 1.0) / (sigma * sigma * tau * tau)


@njit(nogil=True, cache=True)
def optimal_holdings(X, T, N, kappa, out):
    """``out[j]`` <- x_j at t_j = j T / N, j = 0..N. Stable for any kappa (no sinh overflow):
    sinh(a)/sinh(b) = exp(a - b) (1 - exp(-2a)) / (1 - exp(-2b))."""
    if kappa * T < 1e-9:
        for j in range(N + 1):
            out[j] = X * (1.0 - j / N)
        return out
    if not math.isfinite(kappa):
        out[0] = X
        for j in range(1, N + 1):
            out[j] = 0.0
        return out
    kT = kappa * T
    denom = -math.expm1(-2.0 * kT)
    for j in range(N + 1):
        a = kappa * (T - j * T / N)
        out[j] = X * math.exp(a - kT) * (-math.expm1(-2.0 * a)) / denom
    out[N] = 0.0
    return out


@njit(nogil=True, cache=True)
def trajectory_cost(holdings, tau, eps, eta, gamma, sigma):
    """(E, V) of any trajectory x_0 = X, ..., x_N = 0 under the model (formulas above)."""
    N = holdings.shape[0] - 1
    X = holdings[0]
    abs_sum = 0.0
    sq_sum = 0.0
    hold_sq = 0.0
    for k in range(1, N + 1):
        n = holdings[k - 1] - holdings[k]
        abs_sum += abs(n)
        sq_sum += n * n
        hold_sq += holdings[k] * holdings[k]
    eta_t = eta_tilde_of(eta, gamma, tau)
    E = 0.5 * gamma * X * X + eps * abs_sum + eta_t / tau * sq_sum
    V = sigma * sigma * tau * hold_sq
    return E, V


@njit(nogil=True, cache=True)
def efficient_frontier(X, T, N, eps, eta, gamma, sigma, kappa_t_grid, lam_out, e_out, v_out):
    """E and V of the optimal trajectory for each kappa*T in the grid (and its lambda)."""
    tau = T / N
    eta_t = eta_tilde_of(eta, gamma, tau)
    hold = np.empty(N + 1)
    for i in range(kappa_t_grid.shape[0]):
        kappa = kappa_t_grid[i] / T
        lam_out[i] = lambda_of_kappa(kappa, sigma, eta_t, tau)
        optimal_holdings(X, T, N, kappa, hold)
        e, v = trajectory_cost(hold, tau, eps, eta, gamma, sigma)
        e_out[i] = e
        v_out[i] = v


@njit(nogil=True, cache=True)
def shape_sums(N, kappa_t_grid, A, B):
    """Unit-free shape of each optimal trajectory on the grid: with X = T = 1,
    A = sum n_k^2 and B = sum_{k>=1} x_k^2. Then for any X, tau, eps, eta, gamma, sigma
    (optimal trajectories are monotone, so sum |n_k| = X):
    E = gamma X^2/2 + eps X + (eta_tilde/tau) X^2 A,  V = sigma^2 tau X^2 B."""
    hold = np.empty(N + 1)
    for i in range(kappa_t_grid.shape[0]):
        optimal_holdings(1.0, 1.0, N, kappa_t_grid[i], hold)
        a = 0.0
        b = 0.0
        for k in range(1, N + 1):
            n = hold[k - 1] - hold[k]
            a += n * n
            b += hold[k] * hold[k]
        A[i] = a
        B[i] = b


def shapes_for(N: int, kappa_t_grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) of :func:`shape_sums` for any grid."""
    A, B = np.empty(kappa_t_grid.shape[0]), np.empty(kappa_t_grid.shape[0])
    shape_sums(N, kappa_t_grid, A, B)
    A.flags.writeable = False
    B.flags.writeable = False
    return A, B


@lru_cache(maxsize=64)
def frontier_shapes(N: int) -> tuple[np.ndarray, np.ndarray]:
    """(A, B) on the default grid, once per N: a pure function of N, so never stale."""
    return shapes_for(N, FRONTIER_KAPPA_T)


@njit(nogil=True, cache=True)
def schedule_kernel(X, T, N, eps, eta, gamma, sigma, lam, kappa_t_grid, A, B, traj, front):
    """Everything the scheduled-execution view shows, in one compiled call.

    ``traj`` rows <- times, holdings (N+1) and trades (first N); ``front`` rows <- lambda,
    E, V over ``kappa_t_grid`` (from the shape sums ``A``, ``B`` of that grid).
    Returns (kappa, E, V, E_twap, V_twap).
    """
    tau = T / N
    eta_t = eta_tilde_of(eta, gamma, tau)
    kappa = kappa_of(lam, sigma, eta_t, tau)
    hold = traj[1]
    optimal_holdings(X, T, N, 0.0, hold)
    e_twap, v_twap = trajectory_cost(hold, tau, eps, eta, gamma, sigma)
    optimal_holdings(X, T, N, kappa, hold)
    e, v = trajectory_cost(hold, tau, eps, eta, gamma, sigma)
    for j in range(N + 1):
        traj[0, j] = j * tau
        traj[2, j] = hold[j] - hold[j + 1] if j < N else 0.0
    traj[0, N] = T
    base = 0.5 * gamma * X * X + eps * X
    for i in range(kappa_t_grid.shape[0]):
        front[0, i] = lambda_of_kappa(kappa_t_grid[i] / T, sigma, eta_t, tau)
        front[1, i] = base + eta_t / tau * X * X * A[i]
        front[2, i] = sigma * sigma * tau * X * X * B[i]
    return kappa, e, v, e_twap, v_twap


# live_impact's ``out`` row
IV_K, IV_K_POINTS, IV_GAMMA, IV_ETA, IV_ETA_TILDE, IV_KAPPA, IV_E, IV_V, IV_STD = range(9)
IV_E_TWAP, IV_STD_TWAP, IV_IMMEDIATE, IV_MID_SHIFT, IV_MID_SHIFT_BPS = range(9, 14)
N_IV = 14


@njit(nogil=True, cache=True)
def live_impact(px, qty, slope_size, sign, multiples, eps, sigma, permanent_fraction, resilience_s,
                X, T, N, lam, mid, kappa_t_grid, A, B, arrays, out):
    """The impact model of one order on the live book in one call: the book's slope
    (``book_cost.cost_slope`` around ``slope_size``; none when it is 0), the calibration
    (:func:`calibrate`, :func:`eta_for_step`) and the schedule (:func:`schedule_kernel`).

    ``arrays`` (length 3 (N+1) + 3 len(grid)) <- times, holdings, trades, then the frontier's
    lambda, E, V; ``out`` <- the ``IV_*`` scalars, with the same operations, in the same
    order, as the Python functions above.
    """
    k, k_points = cost_slope(px, qty, slope_size, sign, multiples) if slope_size > 0.0 else (np.nan, 0)
    gamma = permanent_fraction * k if math.isfinite(k) else np.nan
    tau = T / N
    eta = k * max(tau, resilience_s)
    split = 3 * (N + 1)
    traj = arrays[:split].reshape((3, N + 1))
    front = arrays[split:].reshape((3, kappa_t_grid.shape[0]))
    kappa, E, V, e_twap, v_twap = schedule_kernel(X, T, N, eps, eta, gamma, sigma, lam, kappa_t_grid,
                                                  A, B, traj, front)
    mid_shift = gamma * X
    out[IV_K] = k
    out[IV_K_POINTS] = k_points
    out[IV_GAMMA] = gamma
    out[IV_ETA] = eta
    out[IV_ETA_TILDE] = eta - 0.5 * gamma * tau
    out[IV_KAPPA] = kappa
    out[IV_E] = E
    out[IV_V] = V
    out[IV_STD] = math.sqrt(V) if V >= 0 else np.nan
    out[IV_E_TWAP] = e_twap
    out[IV_STD_TWAP] = math.sqrt(v_twap) if v_twap >= 0 else np.nan
    out[IV_IMMEDIATE] = eps * X + k * X * X
    out[IV_MID_SHIFT] = mid_shift
    out[IV_MID_SHIFT_BPS] = mid_shift / mid * 1e4


@dataclass(frozen=True, slots=True)
class AcSchedule:
    """The optimal schedule and its frontier for one parameter set (arrays read-only).

    ``times``/``holdings`` have N+1 points (t_0 = 0 .. t_N = T); ``trades`` N (n_k traded in
    step k). ``frontier_*`` sweep lambda from 0 (TWAP) to "almost all at once".
    """

    X: float
    T: float
    N: int
    tau: float
    eps: float
    eta: float
    gamma: float
    sigma: float
    lam: float
    eta_tilde: float
    kappa: float
    times: np.ndarray
    holdings: np.ndarray
    trades: np.ndarray
    E: float
    V: float
    E_twap: float
    V_twap: float
    frontier_lambda: np.ndarray
    frontier_E: np.ndarray
    frontier_V: np.ndarray

    @property
    def std(self) -> float:
        return math.sqrt(self.V)


def optimal_schedule(X: float, T: float, N: int, sigma: float, eps: float, eta: float,
                     gamma: float, lam: float, frontier_kappa_t: np.ndarray = FRONTIER_KAPPA_T) -> AcSchedule:
    """The paper's closed form for one parameter set (any consistent units)."""
    if not (N >= 1 and T > 0 and X >= 0):
        raise ValueError("need N >= 1 steps, horizon T > 0 and X >= 0")
    traj = np.empty((3, N + 1))
    front = np.empty((3, frontier_kappa_t.shape[0]))
    A, B = frontier_shapes(int(N)) if frontier_kappa_t is FRONTIER_KAPPA_T \
        else shapes_for(int(N), frontier_kappa_t)
    kappa, E, V, e_twap, v_twap = schedule_kernel(
        float(X), float(T), int(N), float(eps), float(eta), float(gamma), float(sigma), float(lam),
        frontier_kappa_t, A, B, traj, front)
    traj.flags.writeable = False  # views taken below inherit read-only
    front.flags.writeable = False
    return AcSchedule(
        X=float(X), T=float(T), N=int(N), tau=T / N, eps=float(eps), eta=float(eta), gamma=float(gamma),
        sigma=float(sigma), lam=float(lam), eta_tilde=float(eta - 0.5 * gamma * T / N), kappa=float(kappa),
        times=traj[0], holdings=traj[1], trades=traj[2, :N], E=float(E), V=float(V),
        E_twap=float(e_twap), V_twap=float(v_twap),
        frontier_lambda=front[0], frontier_E=front[1], frontier_V=front[2],
    )


@dataclass(frozen=True, slots=True)
class BookCalibration:
    """AC parameters read off the live book for one order (see :func:`calibrate`)."""

    eps: float  # half-spread: touch minus mid, price units
    k: float  # slope of the average fill price beyond the touch, price per base unit
    k_points: int  # how many of the sampled sizes the book could fill
    gamma: float  # permanent impact, price per base unit
    sigma: float  # price units per sqrt(second)


def calibrate(eps: float, k: float, k_points: int, sigma_price: float,
              permanent_fraction: float) -> BookCalibration:
    """Book-implied AC parameters.

    - eps = half-spread (touch - mid) of the order's side: the cost of the first unit.
    - k = slope of the average fill price beyond the touch around the order size
      (``book_cost.cost_slope``): a book-walk of q costs ~ eps q + k q^2.
    - gamma = permanent_fraction * k: the share of the immediate mid move that persists.
      Almgren & Chriss's own example also ties permanent to temporary impact by a fixed
      ratio (gamma = eta / 10 in their day units); on a book calibrated per child order that
      ratio is not unit-free, so the fraction is stated on the book's own slope instead.
    - eta (per schedule step) is k * max(tau, resilience): see :func:`eta_for_step`.
    - sigma = live volatility of log mid per sqrt(second) times the mid.
    """
    gamma = permanent_fraction * k if math.isfinite(k) else math.nan
    return BookCalibration(eps=eps, k=k, k_points=k_points, gamma=gamma, sigma=sigma_price)


def eta_for_step(k: float, tau: float, resilience_s: float) -> float:
    """Temporary-impact coefficient for steps of ``tau`` seconds.

    A child order of n executed into a book that has refilled since the last one costs
    eps n + k n^2 (the book walk), i.e. h(v) = eps + k tau v: eta = k tau. Faster than the
    book's resilience time R the book has not refilled, so trading at rate v over R walks
    v R of it: eta = k R. Hence eta = k max(tau, R). With N = 1 this reproduces the book walk
    exactly (eta/tau = k), which is what makes the immediate view consistent with it.
    """
    return k * max(tau, resilience_s)
