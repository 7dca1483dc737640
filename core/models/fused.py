"""The per-book compiled calls of ``CostModels``, each fusing kernels that share their inputs.

Calling a Numba function costs about 0.2 us plus 50-80 ns per array argument (the dispatcher
types every argument), and every small result turned into Python objects costs more; so
``observe`` and ``estimate`` each make one compiled call that writes every float it needs into one row, read
back with a single ``tolist()``. The arithmetic is the same, in the same order, as the
kernels and Python code it replaces (IEEE doubles, no fastmath): results are bit-identical.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from core.models.almgren_chriss import N_IV, live_impact
from core.models.maker_taker import fill_observe, fill_quality_row
from core.models.slippage_model import Q, quality_row, slip_observe, slip_predict

# estimate_core's ``out`` row: the predicted [mean, q50, q90, q95] in USD, then in bps of
# notional, then live_impact's IV_* scalars
E_PRED_USD = 0
E_PRED_BPS = E_PRED_USD + 1 + Q
E_IMPACT = E_PRED_BPS + 1 + Q
N_EST = E_IMPACT + N_IV


@njit(nogil=True, cache=True)
def estimate_core(px, qty, quantity, in_quote, mid, sign, common, resid, w, Wq, to_usd,
                  ref_shift_usd, slope_size, multiples, eps, sigma, permanent_fraction,
                  resilience_s, x_base, T, N, lam, kappa_t_grid, A, B, arrays, out):
    """The slippage model's prediction and the Almgren-Chriss view of one order, one call.

    Prediction (``slippage_model.slip_predict``): bps of notional from the model, turned into
    USD against the order's reference (``usd = bps * to_usd - ref_shift_usd``) and back into
    bps (``usd / to_usd``), as ``CostModels`` did in Python. Impact: ``live_impact`` into
    ``arrays`` and the ``E_IMPACT`` part of ``out``.
    """
    x = np.empty(w.shape[0])
    pred = np.empty(2 + Wq.shape[0])  # [cost now, mean, quantiles...]
    slip_predict(px, qty, quantity, in_quote, mid, sign, common, resid, w, Wq, x, pred)
    for i in range(1 + Wq.shape[0]):
        usd = pred[1 + i] * to_usd - ref_shift_usd
        out[E_PRED_USD + i] = usd
        out[E_PRED_BPS + i] = usd / to_usd
    live_impact(px, qty, slope_size, sign, multiples, eps, sigma, permanent_fraction, resilience_s,
                x_base, T, N, lam, mid, kappa_t_grid, A, B, arrays, out[E_IMPACT:])


@njit(nogil=True, cache=True)
def observe_core(bid_px, bid_qty, ask_px, ask_qty, ts_ms, mid, common, probe_qty, probe_primary,
                 in_quote, w, P, Wq, qs, pend_meta, pend_x, pend_pred, ring, sums, fs, ist,
                 slip_quality, tick, vol_per_s, horizon_s, imbalance, add_fill_probes, offsets_bps,
                 fill_w, fill_P, fill_meta, fill_x, fill_ring, fill_sums, fill_fs, fill_ist,
                 fill_quality):
    """Both online models learn from one book: ``slippage_model.slip_observe`` then
    ``maker_taker.fill_observe`` (independent states), and each model that learnt writes its
    quality summary row (``quality_row``, ``fill_quality_row``).

    Returns (slippage labels learnt, fill labels learnt).
    """
    slip_learnt = slip_observe(bid_px, bid_qty, ask_px, ask_qty, ts_ms, mid, common, probe_qty,
                               probe_primary, in_quote, w, P, Wq, qs, pend_meta, pend_x, pend_pred,
                               ring, sums, fs, ist)
    if slip_learnt:
        quality_row(sums, ist, fs, slip_quality)
    fill_learnt = fill_observe(bid_px, bid_qty, ask_px, ask_qty, ts_ms, mid, tick, vol_per_s,
                               horizon_s, imbalance, add_fill_probes, offsets_bps, fill_w, fill_P,
                               fill_meta, fill_x, fill_ring, fill_sums, fill_fs, fill_ist)
    if fill_learnt:
        fill_quality_row(fill_sums, fill_ist, fill_quality)
    return slip_learnt, fill_learnt
