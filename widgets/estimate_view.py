"""What the views show about one snapshot: the exact book values and the models' estimate.

The exact visible-book numbers (``snapshot.fill``, ``snapshot.curve``) exist once a book
exists; the models' :class:`core.models.estimate.Estimate` may be ``None`` (no models, or a
model failure the Engine counted) and its numbers NaN (the visible book cannot fill the
order). Every view goes through :func:`summarise`, so "not available" is ``None`` in one
place (shown as "model pending" or "—") instead of an AttributeError in a paint handler.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class Band:
    """The predicted quantile band of slippage (bps of notional) for the chosen order."""

    lo_q: float
    lo_bps: float
    hi_q: float
    hi_bps: float


@dataclass(frozen=True, slots=True)
class Schedule:
    """An Almgren-Chriss trajectory: holdings left at each time, with E and sd of its cost."""

    times_s: np.ndarray
    holdings: np.ndarray
    expected_cost_usd: float | None
    std_cost_usd: float | None
    kappa: float | None
    twap_cost_usd: float | None = None
    twap_std_usd: float | None = None
    frontier_std: np.ndarray | None = None  # efficient frontier: sqrt(V) against E, USD
    frontier_mean: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class Summary:
    """Display values of one snapshot; None means "not available"."""

    quantity_usd: float | None
    book_slippage_bps: float | None  # exact walk now, bps of the reference price
    book_slippage_usd: float | None
    model_slippage_bps: float | None  # the model's mean after the execution delay
    model_slippage_usd: float | None
    band: Band | None
    quantiles: tuple[tuple[float, float, float], ...] = ()  # (q, bps, usd) predicted
    slippage_bps: float | None = None  # the slippage line of the net cost (bps of notional)
    slippage_usd: float | None = None
    fees_usd: float | None = None
    fees_bps: float | None = None
    taker_rate_bps: float | None = None
    maker_rate_bps: float | None = None
    impact_usd: float | None = None
    impact_bps: float | None = None
    net_cost_usd: float | None = None
    net_cost_bps: float | None = None
    maker_fraction: float | None = None
    taker_fraction: float | None = None
    fill_probability: float | None = None  # of the resting part; None when nothing rests
    limit_price: float | None = None
    unfilled_fraction: float | None = None  # limit order: expected still resting at the horizon
    taker_usd: float | None = None  # limit order: crossing part (taker)
    maker_usd: float | None = None  # limit order: expected maker part
    unfilled_usd: float | None = None  # limit order: expected unfilled part
    fill_horizon_s: float | None = None
    slippage_skill: float | None = None  # the order's side: model vs book now (1 - SSE ratio)
    slippage_weight: float | None = None  # share of the model's delay term in the headline
    unfillable_base: float | None = None  # market order the visible book cannot fill in full
    unfillable_usd: float | None = None
    unfillable_fraction: float | None = None
    decomposition: list[tuple[str, float, float]] = field(default_factory=list)
    quality: dict[str, Any] = field(default_factory=dict)
    model_params: dict[str, float] = field(default_factory=dict)
    schedule: Schedule | None = None
    notes: tuple[str, ...] = ()
    exhausted: bool = False
    has_model: bool = False


def _f(x: Any) -> float | None:
    """A finite float, or None."""
    if isinstance(x, bool):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _g(obj: Any, name: str) -> Any:
    return None if obj is None else getattr(obj, name, None)


def summarise(snap: Snapshot) -> Summary:
    fill = snap.fill
    mid_ref = snap.params.reference == "mid"
    book_bps = fill.slippage_mid_bps if mid_ref else fill.slippage_best_bps
    book_usd = fill.slippage_mid_usd if mid_ref else fill.slippage_best_usd
    est = snap.estimate
    quantiles = _quantiles(est)
    band = None
    if len(quantiles) >= 2:
        (lo_q, lo, _), (hi_q, hi, _) = quantiles[0], quantiles[-1]
        band = Band(lo_q, lo, hi_q, hi)
    rate = lambda name: (_f(_g(est, name)) * 1e4) if _f(_g(est, name)) is not None else None  # noqa: E731
    limit = _f(_g(est, "limit_price"))
    return Summary(
        quantity_usd=_f(_g(est, "quantity_usd")) or _f(fill.filled_usd),
        book_slippage_bps=_f(book_bps), book_slippage_usd=_f(book_usd),
        model_slippage_bps=_f(_g(est, "predicted_mean_bps")),
        model_slippage_usd=_f(_g(est, "predicted_mean_usd")),
        band=band, quantiles=quantiles,
        slippage_bps=_f(_g(est, "slippage_bps")), slippage_usd=_f(_g(est, "slippage_usd")),
        fees_usd=_f(_g(est, "fees_usd")), fees_bps=_f(_g(est, "fees_bps")),
        taker_rate_bps=rate("taker_rate"), maker_rate_bps=rate("maker_rate"),
        impact_usd=_f(_g(est, "impact_usd")), impact_bps=_f(_g(est, "impact_bps")),
        net_cost_usd=_f(_g(est, "net_cost_usd")), net_cost_bps=_f(_g(est, "net_cost_bps")),
        maker_fraction=_f(_g(est, "maker_fraction")), taker_fraction=_f(_g(est, "taker_fraction")),
        fill_probability=_f(_g(est, "fill_probability")), limit_price=limit,
        unfilled_fraction=_f(_g(est, "unfilled_fraction")), taker_usd=_f(_g(est, "taker_usd")),
        maker_usd=_f(_g(est, "maker_usd")), unfilled_usd=_f(_g(est, "unfilled_usd")),
        fill_horizon_s=_f(_g(est, "fill_horizon_s")),
        slippage_skill=_f(_g(est, "slippage_skill")), slippage_weight=_f(_g(est, "slippage_weight")),
        unfillable_base=_f(_g(est, "unfillable_base")), unfillable_usd=_f(_g(est, "unfillable_usd")),
        unfillable_fraction=_f(_g(est, "unfillable_fraction")),
        decomposition=_decomposition(est),
        quality=_quality(est), model_params=_model_params(est),
        schedule=_schedule(_g(est, "impact")),
        notes=tuple(_g(est, "notes") or ()),
        exhausted=fill.exhausted, has_model=est is not None,
    )


def _quantiles(est: Any) -> tuple[tuple[float, float, float], ...]:
    out = []
    for q, name in ((0.5, "q50"), (0.9, "q90"), (0.95, "q95")):
        b, u = _f(_g(est, f"predicted_{name}_bps")), _f(_g(est, f"predicted_{name}_usd"))
        if b is not None:
            out.append((q, b, u if u is not None else math.nan))
    return tuple(out)


def _decomposition(est: Any) -> list[tuple[str, float, float]]:
    out = []
    for item in _g(est, "components") or ():
        name, usd, bps = (item[0], item[1], item[2]) if isinstance(item, tuple) else (
            _g(item, "name"), _g(item, "usd"), _g(item, "bps"))
        if name is not None and _f(usd) is not None:
            out.append((str(name), float(usd), _f(bps) if _f(bps) is not None else math.nan))
    return out


def _quality(est: Any) -> dict[str, Any]:
    """Rolling scores of the slippage model (both sides pooled, and ``sides``: each side's
    scores against the naive "book now", its skill and the weight in force) and of the fill
    model for limit orders."""
    sq, fq = _g(est, "slippage_quality"), _g(est, "fill_quality")
    out: dict[str, Any] = {}
    if sq is not None:
        qs = tuple(_g(sq, "quantiles") or (0.5, 0.9, 0.95))
        out.update(status=_g(sq, "status") or "", window=_g(sq, "window"), mae_bps=_f(_g(sq, "mae_bps")),
                   bias_bps=_f(_g(sq, "bias_bps")), quantiles=qs,
                   coverage=tuple(_f(v) for v in (_g(sq, "coverage") or ())),
                   pinball_bps=tuple(_f(v) for v in (_g(sq, "pinball_bps") or ())),
                   labels=_g(sq, "labels_total"), min_skill_labels=_g(sq, "min_skill_labels"),
                   sides={side: _side_quality(_g(sq, side)) for side in ("buy", "sell")
                          if _g(sq, side) is not None})
    if fq is not None:
        out.update(fill_status=_g(fq, "status") or "", fill_brier=_f(_g(fq, "brier")),
                   fill_rate=_f(_g(fq, "base_rate")), fill_predicted=_f(_g(fq, "mean_predicted")),
                   fill_window=_g(fq, "window"))
    return out


def _side_quality(sq: Any) -> dict[str, Any]:
    """One side's scores: model and naive MAE, skill, weight, coverage (None = not yet)."""
    return {"window": _g(sq, "window") or 0, "mae_bps": _f(_g(sq, "mae_bps")),
            "naive_mae_bps": _f(_g(sq, "naive_mae_bps")), "skill": _f(_g(sq, "skill")),
            "weight": _f(_g(sq, "weight")),
            "coverage": tuple(_f(v) for v in (_g(sq, "coverage") or ()))}


def _model_params(est: Any) -> dict[str, float]:
    """The Almgren-Chriss calibration in use and the volatility behind it."""
    imp = _g(est, "impact")
    out: dict[str, float] = {}
    for name in ("eps", "k", "eta", "gamma", "sigma", "kappa"):
        v = _f(_g(imp, name))
        if v is not None:
            out[name] = v
    v = _f(_g(est, "vol_annual"))
    if v is not None:
        out["vol_annual"] = v
    return out


def _schedule(imp: Any) -> Schedule | None:
    if imp is None:
        return None
    t, x = _g(imp, "times"), _g(imp, "holdings")
    if t is None or x is None:
        return None
    t, x = np.asarray(t, float), np.asarray(x, float)
    if t.shape != x.shape or t.size < 2 or not np.isfinite(x).all():
        return None
    fe, fv = _g(imp, "frontier_E"), _g(imp, "frontier_V")
    f_std = f_mean = None
    if fe is not None and fv is not None:
        fe, fv = np.asarray(fe, float), np.asarray(fv, float)
        ok = np.isfinite(fe) & np.isfinite(fv) & (fv >= 0)
        if ok.sum() >= 2:
            f_std, f_mean = np.sqrt(fv[ok]), fe[ok]
    return Schedule(t, x, _f(_g(imp, "E_usd")), _f(_g(imp, "std_usd")), _f(_g(imp, "kappa")),
                    _f(_g(imp, "E_twap_usd")), _f(_g(imp, "std_twap_usd")), f_std, f_mean)
