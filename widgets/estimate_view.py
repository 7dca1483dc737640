"""What the views show about one snapshot, read defensively from ``snapshot.estimate``.

The exact visible-book numbers (``snapshot.fill``, ``snapshot.curve``) are always there once a
book exists; the models' estimate may be ``None`` (models not attached yet) or lack a field.
Every view goes through :func:`summarise` so a missing field becomes ``None`` ("model
pending" on screen) in one place instead of an AttributeError in a paint handler.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class Band:
    """A predicted quantile band of slippage (bps) for the chosen order."""

    lo_q: float
    lo_bps: float
    hi_q: float
    hi_bps: float


@dataclass(frozen=True, slots=True)
class Schedule:
    """An Almgren-Chriss trajectory: holdings left at each time, with E and V of its cost."""

    times_s: np.ndarray
    holdings: np.ndarray
    expected_cost_usd: float | None
    std_cost_usd: float | None
    kappa: float | None
    frontier_std: np.ndarray | None = None  # efficient frontier: sqrt(V) vs E, in USD
    frontier_mean: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class Summary:
    """Display values of one snapshot; None means "not available" (model pending, no fill)."""

    quantity_usd: float | None
    book_slippage_bps: float | None
    book_slippage_usd: float | None
    model_slippage_bps: float | None
    model_slippage_usd: float | None
    band: Band | None
    fees_usd: float | None
    fees_bps: float | None
    fee_rate_bps: float | None
    impact_usd: float | None
    impact_bps: float | None
    net_cost_usd: float | None
    net_cost_bps: float | None
    maker_fraction: float | None
    decomposition: list[tuple[str, float, float]] = field(default_factory=list)
    quality: dict[str, float] = field(default_factory=dict)
    model_params: dict[str, float] = field(default_factory=dict)
    schedule: Schedule | None = None
    exhausted: bool = False
    has_model: bool = False


def _f(x: Any) -> float | None:
    """A finite float or None."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _get(obj: Any, *names: str) -> Any:
    """First attribute (or mapping key) of ``obj`` among ``names`` that is not None."""
    if obj is None:
        return None
    for name in names:
        v = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if v is not None:
            return v
    return None


def _bps_of(usd_value: float | None, notional: float | None) -> float | None:
    if usd_value is None or not notional:
        return None
    return usd_value / notional * 1e4


def summarise(snap: Snapshot) -> Summary:
    fill = snap.fill
    ref_bps, ref_usd = ((fill.slippage_mid_bps, fill.slippage_mid_usd) if snap.params.reference == "mid"
                        else (fill.slippage_best_bps, fill.slippage_best_usd))
    est = snap.estimate
    notional = _f(_get(est, "quantity_usd")) or _f(fill.filled_usd)
    fees = _f(_get(est, "fees_usd", "fee_usd"))
    impact = _f(_get(est, "impact_usd"))
    net = _f(_get(est, "net_cost_usd"))
    model_bps = _f(_get(est, "slippage_bps", "predicted_slippage_bps"))
    return Summary(
        quantity_usd=notional,
        book_slippage_bps=_f(ref_bps), book_slippage_usd=_f(ref_usd),
        model_slippage_bps=model_bps,
        model_slippage_usd=_f(_get(est, "slippage_usd")),
        band=_band(est),
        fees_usd=fees, fees_bps=_f(_get(est, "fees_bps")) or _bps_of(fees, notional),
        fee_rate_bps=_f(_get(est, "fee_rate_bps")),
        impact_usd=impact, impact_bps=_f(_get(est, "impact_bps")) or _bps_of(impact, notional),
        net_cost_usd=net, net_cost_bps=_f(_get(est, "net_cost_bps")) or _bps_of(net, notional),
        maker_fraction=_f(_get(est, "maker_fraction")),
        decomposition=_decomposition(est, notional),
        quality=_numbers(_get(est, "quality", "model_quality")),
        model_params=_numbers(_get(est, "model_params", "params", "impact_params")),
        schedule=_schedule(est),
        exhausted=fill.exhausted,
        has_model=est is not None,
    )


def _band(est: Any) -> Band | None:
    """The widest pair of predicted quantiles around the median, whatever shape it comes in."""
    q = _get(est, "slippage_quantiles", "quantiles")
    pairs: list[tuple[float, float]] = []
    if isinstance(q, dict):
        pairs = [(float(k), float(v)) for k, v in q.items() if _f(k) is not None and _f(v) is not None]
    elif isinstance(q, (list, tuple)):
        pairs = [(float(a), float(b)) for a, b in q if _f(a) is not None and _f(b) is not None]
    if len(pairs) >= 2:
        pairs.sort()
        (lo_q, lo), (hi_q, hi) = pairs[0], pairs[-1]
        return Band(lo_q, lo, hi_q, hi)
    lo, hi = _f(_get(est, "band_lo_bps", "slippage_lo_bps")), _f(_get(est, "band_hi_bps", "slippage_hi_bps"))
    if lo is not None and hi is not None:
        return Band(_f(_get(est, "band_lo_q")) or 0.05, lo, _f(_get(est, "band_hi_q")) or 0.95, hi)
    return None


def _decomposition(est: Any, notional: float | None) -> list[tuple[str, float, float]]:
    items = _get(est, "decomposition", "net_cost_items", "breakdown")
    out = []
    for item in items or ():
        if isinstance(item, dict):
            name, u, b = item.get("name"), _f(item.get("usd")), _f(item.get("bps"))
        elif isinstance(item, (tuple, list)) and len(item) >= 2:
            name, u = item[0], _f(item[1])
            b = _f(item[2]) if len(item) > 2 else None
        else:
            name, u, b = _get(item, "name"), _f(_get(item, "usd")), _f(_get(item, "bps"))
        if name is None or u is None:
            continue
        out.append((str(name), u, b if b is not None else (_bps_of(u, notional) or math.nan)))
    return out


def _numbers(obj: Any) -> dict[str, float]:
    """A flat name -> number dict from a dict or a dataclass-like object (nested one level)."""
    if obj is None:
        return {}
    if isinstance(obj, dict):
        items = obj.items()
    elif dataclasses.is_dataclass(obj):
        items = ((f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj))
    elif hasattr(obj, "__dict__"):
        items = vars(obj).items()
    else:
        return {}
    out: dict[str, float] = {}
    for k, v in items:
        if isinstance(v, dict):
            for k2, v2 in v.items():
                if _f(v2) is not None:
                    out[f"{k} {k2}"] = float(v2)
        elif _f(v) is not None and not isinstance(v, bool):
            out[str(k)] = float(v)
    return out


def _schedule(est: Any) -> Schedule | None:
    ac = _get(est, "schedule", "ac", "almgren_chriss", "trajectory")
    if ac is None:
        return None
    t = _get(ac, "times_s", "times", "t")
    x = _get(ac, "holdings", "x", "trajectory")
    if t is None or x is None:
        return None
    t, x = np.asarray(t, float), np.asarray(x, float)
    if t.shape != x.shape or t.size < 2:
        return None
    std = _f(_get(ac, "std_cost_usd", "std_usd"))
    var = _f(_get(ac, "variance", "V", "var_usd2"))
    if std is None and var is not None and var >= 0:
        std = math.sqrt(var)
    front = _get(ac, "frontier")
    f_std = f_mean = None
    if front is not None:
        fs, fm = _get(front, "std_usd", "std"), _get(front, "mean_usd", "mean", "E")
        if fs is not None and fm is not None:
            f_std, f_mean = np.asarray(fs, float), np.asarray(fm, float)
    return Schedule(t, x, _f(_get(ac, "expected_cost_usd", "E", "expected_usd")), std,
                    _f(_get(ac, "kappa")), f_std, f_mean)
