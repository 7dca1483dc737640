"""The per-book compiled calls of ``CostModels``, each fusing kernels that share their inputs.

Calling a Numba function costs about 0.2 us plus 50-80 ns per array argument (the dispatcher
types and unboxes every argument), and every small result turned into Python objects costs
more; so ``observe`` and ``estimate`` each make one compiled call that writes every float it
needs into one row, read back with a single ``tolist()``, and each online model's state
travels as one named bundle (``core.models.bundle``: one structured array, about 150 ns)
instead of a dozen arrays. The arithmetic is the same, in the same order, as the kernels and
Python code it replaces (IEEE doubles, no fastmath): results are bit-identical.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from core.models.almgren_chriss import FRONTIER_KAPPA_T, N_IV, live_impact
from core.models.book_cost import SLOPE_MULTIPLES
from core.models.maker_taker import fill_observe, fill_quality_row
from core.models.slippage_model import Q, quality_row, slip_observe, slip_predict

# estimate_core's ``out`` row: the predicted [mean, q50, q90, q95] in USD, then in bps of
# notional, then live_impact's IV_* scalars
E_PRED_USD = 0
E_PRED_BPS = E_PRED_USD + 1 + Q
E_IMPACT = E_PRED_BPS + 1 + Q
N_EST = E_IMPACT + N_IV


@njit(nogil=True, cache=True)
def estimate_core(px, qty, quantity, in_quote, mid, sign, common, slip, to_usd, ref_shift_usd,
                  slope_size, eps, sigma, permanent_fraction, resilience_s, x_base, T, N, lam,
                  A, B, arrays, out):
    """The slippage model's prediction and the Almgren-Chriss view of one order, one call.

    Prediction (``slippage_model.slip_predict`` from the model's bundle ``slip``): bps of
    notional from the model, turned into USD against the order's reference
    (``usd = bps * to_usd - ref_shift_usd``) and back into bps (``usd / to_usd``), as
    ``CostModels`` did in Python. Impact: ``live_impact`` with the module constants
    ``SLOPE_MULTIPLES`` and ``FRONTIER_KAPPA_T`` (compiled in: not arguments to type), the
    frontier's shape sums ``A``, ``B`` of that grid, into ``arrays`` and the ``E_IMPACT``
    part of ``out``.
    """
    k = slip[0].w.shape[0]
    x = np.empty(k)
    pred = np.empty(2 + Q)  # [cost now, mean, quantiles...]
    slip_predict(px, qty, quantity, in_quote, mid, sign, common, slip, x, pred)
    for i in range(1 + Q):
        usd = pred[1 + i] * to_usd - ref_shift_usd
        out[E_PRED_USD + i] = usd
        out[E_PRED_BPS + i] = usd / to_usd
    live_impact(px, qty, slope_size, sign, SLOPE_MULTIPLES, eps, sigma, permanent_fraction,
                resilience_s, x_base, T, N, lam, mid, FRONTIER_KAPPA_T, A, B, arrays, out[E_IMPACT:])


@njit(nogil=True, cache=True)
def observe_core(bid_px, bid_qty, ask_px, ask_qty, ts_ms, mid, common, probe_qty, in_quote, slip,
                 vol_per_s, imbalance, add_fill_probes, fill):
    """Both online models learn from one book: ``slippage_model.slip_observe`` then
    ``maker_taker.fill_observe`` (independent states: the bundles ``slip`` and ``fill``), and
    each model that learnt writes its quality summary row (``quality_row``,
    ``fill_quality_row``) into its bundle's ``quality_out``.

    Returns (slippage labels learnt, fill labels learnt).
    """
    slip_learnt = slip_observe(bid_px, bid_qty, ask_px, ask_qty, ts_ms, mid, common, probe_qty,
                               in_quote, slip)
    if slip_learnt:
        s = slip[0]
        quality_row(s.sums, s.ist, s.fs, s.quality_out)
    fill_learnt = fill_observe(bid_px, bid_qty, ask_px, ask_qty, ts_ms, mid, vol_per_s, imbalance,
                               add_fill_probes, fill)
    if fill_learnt:
        f = fill[0]
        fill_quality_row(f.sums, f.ist, f.quality_out)
    return slip_learnt, fill_learnt
