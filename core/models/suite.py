"""``CostModels``: the Engine's ``Models`` for one instrument (fees, impact, slippage, fills).

``observe(snapshot)`` runs once per fresh book: it records probes and learns from the ones
whose delay or horizon has elapsed. ``estimate(snapshot)`` runs on every evaluation (also
when only the order changed) and returns an immutable :class:`Estimate`. Each makes one
compiled call (``core.models.fused``; a limit order adds a few for its maker/taker split).
Nothing that depends on the book or the order is cached; the only caches are pure functions
of their keys (fee rates per exchange/tier, the frontier's unit-free shape
per number of steps) and the quality summaries, rebuilt whenever ``observe`` learns.

Create one per instrument: ``CostModels(get_instrument("BTC-USDT-SWAP"))`` starts from the
shipped warm-start coefficients; a new instrument gets a new, independent suite.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from core.instruments import Instrument
from core.models import net_cost
from core.models.almgren_chriss import FRONTIER_KAPPA_T, frontier_shapes
from core.models.book_cost import finite_or, walk_to_limit
from core.models.estimate import Estimate, ImpactView
from core.models.fees import FeeRate, fee_rate
from core.models.fused import E_IMPACT, N_EST, estimate_core, observe_core
from core.models.maker_taker import FillConfig, FillModel, limit_price, queue_ahead
from core.models.slippage_model import (
    C_DELAY_MS, C_DEPTH_ASK, C_DEPTH_BID, C_HALF_SPREAD, C_IMB, C_MICRO, C_VOL_DELAY, N_COMMON,
    SlippageConfig, SlippageModel,
)
from core.models.warm_start import load_warm_start
from core.params import OrderParams
from core.snapshot import DEPTH_BANDS_BPS, Snapshot, build
from core.compute.volatility import SECONDS_PER_YEAR, EwmaVolatility

DEPTH_BAND = DEPTH_BANDS_BPS.index(25.0)
SQRT_YEAR = math.sqrt(SECONDS_PER_YEAR)
MARKET_FILL_MODEL = "none: a market order is 100% taker"


@dataclass(frozen=True)
class ModelConfig:
    slippage: SlippageConfig = field(default_factory=SlippageConfig)
    fill: FillConfig = field(default_factory=FillConfig)
    #: share of the immediate mid move that persists (gamma = permanent_fraction * k)
    permanent_fraction: float = 0.5
    #: seconds for a walked book to refill; schedule steps shorter than this pay eta = k R
    resilience_s: float = 5.0
    #: time constant of the fast volatility the slippage and fill features use (the
    #: Engine's 120 s estimate lags regime changes that move fills within seconds)
    fast_vol_tau_s: float = 10.0


class CostModels:
    """All cost models of one instrument, fed by one Engine (not thread-safe: owner thread)."""

    def __init__(self, instrument: Instrument, config: ModelConfig | None = None,
                 warm_start: dict | None | str = "shipped") -> None:
        self.instrument = instrument
        self.config = config or ModelConfig()
        self._warm_arg = warm_start
        self._fees: dict[tuple[str, str], FeeRate] = {}
        self._common = np.zeros(N_COMMON)
        self._common_key: tuple | None = None
        self._row = np.empty(N_EST)  # estimate_core's output, read back at once
        self.reset()

    # --- lifecycle -----------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the warm start: forget everything learnt live (new instrument, new session)."""
        warm = load_warm_start() if self._warm_arg == "shipped" else self._warm_arg
        self.warm = warm
        self.slippage = SlippageModel(self.config.slippage, warm["slippage"] if warm else None)
        self.fill = FillModel(self.instrument.tick_size, self.config.fill, warm["fill"] if warm else None)
        self.vol_prior = float(warm["vol_prior_per_s"]) if warm else 1e-4
        self.fast_vol = EwmaVolatility(self.config.fast_vol_tau_s)
        self._slip_quality = self.slippage.quality()
        self._fill_quality = self.fill.quality()
        self.observed = 0

    def fee_rate(self, params: OrderParams) -> FeeRate:
        """The rates in force (cached per exchange/tier); raises fees.UnknownFeeSchedule."""
        key = (params.exchange, params.fee_tier)
        rate = self._fees.get(key)
        if rate is None:
            rate = self._fees[key] = fee_rate(params.exchange, self.instrument.kind, params.fee_tier)
        return rate

    def check(self, params: OrderParams) -> None:
        """Raise a clear ValueError if ``params`` name a fee schedule the models do not have."""
        self.fee_rate(params)

    # --- Models protocol -------------------------------------------------------------------
    def observe(self, snap: Snapshot) -> None:
        book, f, p = snap.book, snap.features, snap.params
        if not (book.bid_px.size and book.ask_px.size and math.isfinite(f.mid)):
            return
        ts_ms, mid = book.ts_ms, f.mid
        self.fast_vol.update(ts_ms / 1000.0, mid)
        vol_live = self._feature_vol(None, f)
        slip, fill = self.slippage, self.fill
        slip_learnt, fill_learnt = observe_core(
            book.bid_px, book.bid_qty, book.ask_px, book.ask_qty, ts_ms, mid,
            self._common_inputs(f, vol_live, p.exec_delay_ms), slip.due_probes(ts_ms, p.quantity),
            p.unit == "usd", slip.bundle, vol_live, finite_or(f.imbalance_weighted, 0.0),
            fill.probes_due(ts_ms, vol_live), fill.bundle)
        if slip_learnt:
            self._slip_quality = slip.quality_from_row()
        if fill_learnt:
            self._fill_quality = fill.quality_from_row()
        self.observed += 1

    def estimate(self, snap: Snapshot) -> Estimate:
        p, f, book, fill = snap.params, snap.features, snap.book, snap.fill
        rate = self.fee_rate(p)
        buy = p.side == "buy"
        sign = 1.0 if buy else -1.0
        mid = f.mid
        two_sided = bool(book.bid_px.size and book.ask_px.size and math.isfinite(mid))
        quantity, in_quote, by_mid = p.quantity, p.unit == "usd", p.reference == "mid"
        quantity_usd = quantity if in_quote else quantity * mid
        quantity_base = quantity / mid if in_quote else quantity
        px, qty = (book.ask_px, book.ask_qty) if buy else (book.bid_px, book.bid_qty)
        filled_base, filled_usd, slip_mid_usd = fill.filled_base, fill.filled_usd, fill.slippage_mid_usd
        eps_px = sign * (fill.best_px - mid)  # half-spread of the order's side
        spread_usd = eps_px * filled_base  # vs mid; dropped against the same-side best
        walk_usd = slip_mid_usd - spread_usd  # beyond-the-touch cost, exact
        exhausted = fill.exhausted or not two_sided

        vol, vol_source = self._volatility(p, f)
        vol_feat = self._feature_vol(p, f)
        ref_shift_usd = 0.0 if by_mid else spread_usd
        x_base = filled_base if not exhausted else quantity_base
        # Below the touch size the book is flat (k = 0) but the next unit is not: the slope
        # is read around max(order, touch size) so a small order does not look free to schedule.
        slope_size = max(x_base, qty.item(0)) if two_sided else 0.0
        # The slippage model's [mean, q50, q90, q95] for a market order of this size (USD and
        # bps of notional, against the order's reference: the model works against the mid;
        # against the same-side best the exact spread crossing is taken off) and the
        # Almgren-Chriss view calibrated on the live book: one compiled call.
        T, N, lam = p.ac_horizon_s, p.ac_steps, p.ac_lambda
        sigma = vol * mid
        A, B = frontier_shapes(N)
        cfg, row = self.config, self._row
        arrays = np.empty(3 * (N + 1) + 3 * FRONTIER_KAPPA_T.shape[0])
        estimate_core(px, qty, quantity, in_quote, mid, sign,
                      self._common_inputs(f, vol_feat, p.exec_delay_ms), self.slippage.bundle,
                      quantity_usd / 1e4, ref_shift_usd, slope_size, eps_px, sigma,
                      cfg.permanent_fraction, cfg.resilience_s, x_base, T, N, lam, A, B, arrays, row)
        values = row.tolist()
        pred_mean_usd, q50_usd, q90_usd, q95_usd, pred_mean_bps, q50_bps, q90_bps, q95_bps = \
            values[:E_IMPACT]
        impact = _impact_view(values[E_IMPACT:], arrays, x_base, eps_px, sigma, lam, T, N, cfg,
                              slip_mid_usd)
        gamma = impact.gamma

        quality = self._slip_quality
        scores = quality.buy if buy else quality.sell
        weight = scores.weight  # how much of the model's delay term the headline uses
        if p.order_type == "limit" and two_sided:
            items, mt = self._limit_order(p, snap, rate, sign, eps_px, gamma, vol_feat)
            exhausted = False  # a limit order never walks past its price: it rests instead
        else:
            impact_usd = net_cost.permanent_share(walk_usd, gamma, filled_base)
            # the model's expected cost after the delay minus the exact cost now (both
            # against the mid), shrunk toward 0 (the naive "book now") by its measured skill
            delay_usd = weight * ((pred_mean_usd + ref_shift_usd) - slip_mid_usd) if weight else 0.0
            items = net_cost.market_order_items(p.reference, spread_usd, walk_usd, delay_usd,
                                                impact_usd, rate.taker * filled_usd)
            mt = None
        unfillable_base = unfillable_usd = unfillable_fraction = 0.0
        if exhausted:
            components, net_usd, net_bps = (), math.nan, math.nan
            slip_usd = impact_usd = math.nan
            fees_usd = rate.taker * filled_usd  # only what the visible book fills pays a fee
            unfillable_base, unfillable_usd, unfillable_fraction = _unfillable(
                fill, quantity, in_quote, mid, two_sided)
        else:
            components, (slip_usd, impact_usd, fees_usd), net_usd, net_bps = \
                net_cost.decompose(items, quantity_usd)
        bps = 1e4 / quantity_usd
        fields = {
            "instrument": self.instrument.inst_id, "order_type": p.order_type, "side": p.side,
            "reference": p.reference, "book_version": book.version, "book_ts_ms": book.ts_ms,
            "quantity_usd": quantity_usd, "quantity_base": quantity_base, "exhausted": exhausted,
            "slippage_usd": slip_usd, "slippage_bps": slip_usd * bps, "impact_usd": impact_usd,
            "impact_bps": impact_usd * bps, "fees_usd": fees_usd, "fees_bps": fees_usd * bps,
            "net_cost_usd": net_usd, "net_cost_bps": net_bps, "components": components,
            "book_slippage_usd": slip_mid_usd if by_mid else fill.slippage_best_usd,
            "book_slippage_bps": fill.slippage_mid_bps if by_mid else fill.slippage_best_bps,
            "slippage_skill": scores.skill, "slippage_weight": weight,
            "unfillable_base": unfillable_base, "unfillable_usd": unfillable_usd,
            "unfillable_fraction": unfillable_fraction,
            "delay_ms": p.exec_delay_ms,
            "predicted_mean_usd": pred_mean_usd, "predicted_mean_bps": pred_mean_bps,
            "predicted_q50_usd": q50_usd, "predicted_q90_usd": q90_usd,
            "predicted_q95_usd": q95_usd, "predicted_q50_bps": q50_bps,
            "predicted_q90_bps": q90_bps, "predicted_q95_bps": q95_bps,
            "exchange": rate.exchange, "fee_market": rate.market, "fee_tier": rate.tier,
            "maker_rate": rate.maker, "taker_rate": rate.taker, "fee_source": rate.source,
            # the maker/taker split: a market order is 100% taker (no model)
            "limit_price": math.nan, "taker_fraction": 1.0, "maker_fraction": 0.0,
            "unfilled_fraction": 0.0, "fill_probability": 1.0, "fill_horizon_s": 0.0,
            "taker_usd": filled_usd, "resting_usd": 0.0, "maker_usd": 0.0, "unfilled_usd": 0.0,
            "queue_ahead_base": 0.0, "fill_model": MARKET_FILL_MODEL,
            "vol_per_s": vol, "vol_annual": vol * SQRT_YEAR, "vol_source": vol_source,
            "vol_model_per_s": vol_feat,
            "impact": impact, "slippage_quality": quality, "fill_quality": self._fill_quality,
            "notes": self._notes(exhausted, two_sided, vol_source, impact.k_points),
        }
        if mt is not None:
            fields.update(mt)  # a limit order's maker/taker split
        return build(Estimate, fields)

    # --- pieces ------------------------------------------------------------------------
    def _volatility(self, p: OrderParams, f) -> tuple[float, str]:
        if p.volatility_override is not None:
            return p.volatility_override / SQRT_YEAR, "override"
        if math.isfinite(f.vol_per_s) and f.vol_per_s > 0:
            return f.vol_per_s, "live"
        return self.vol_prior, "prior"

    @staticmethod
    def _notes(exhausted: bool, two_sided: bool, vol_source: str, k_points: int) -> tuple[str, ...]:
        notes = []
        if exhausted:
            notes.append("book exhausted: the visible book cannot fill this order" if two_sided
                         else "one side of the book is empty")
        if vol_source == "prior":
            notes.append("no live volatility yet: using the warm-start prior")
        if k_points == 0 and two_sided:
            notes.append("impact model: the visible book cannot fill sizes around the order")
        return tuple(notes)

    def _feature_vol(self, p: OrderParams | None, f) -> float:
        """Volatility the model features use: the override if any, else the fast estimate,
        else the Engine's, else the warm-start prior (the same rule when learning and when
        predicting)."""
        if p is not None and p.volatility_override is not None:
            return p.volatility_override / SQRT_YEAR
        fast = self.fast_vol.per_second
        if math.isfinite(fast) and fast > 0:
            return fast
        if math.isfinite(f.vol_per_s) and f.vol_per_s > 0:
            return f.vol_per_s
        return self.vol_prior

    def _common_inputs(self, f, vol_per_s: float, delay_ms: float) -> np.ndarray:
        """The per-book inputs of the slippage features (written into one reused array).

        ``observe`` and ``estimate`` of one snapshot ask for the same inputs: they are
        rewritten only when the features object, the volatility or the delay differ.
        """
        last = self._common_key
        if last is not None and last[0] is f and last[1] == vol_per_s and last[2] == delay_ms:
            return self._common
        self._common_key = (f, vol_per_s, delay_ms)
        c = self._common
        c[C_HALF_SPREAD] = 0.5 * f.spread_bps
        c[C_VOL_DELAY] = vol_per_s * math.sqrt(delay_ms / 1000.0) * 1e4
        c[C_IMB] = finite_or(f.imbalance_weighted, 0.0)
        c[C_MICRO] = (f.microprice - f.mid) / f.mid * 1e4 if math.isfinite(f.microprice) else 0.0
        c[C_DEPTH_BID] = f.bid_depth_base[DEPTH_BAND]
        c[C_DEPTH_ASK] = f.ask_depth_base[DEPTH_BAND]
        c[C_DELAY_MS] = delay_ms
        return c

    def _limit_order(self, p: OrderParams, snap: Snapshot, rate: FeeRate, sign: float,
                     eps_px: float, gamma: float, vol: float):
        """Items and maker/taker fields of a limit order (see ``maker_taker``)."""
        book, f = snap.book, snap.features
        mid = f.mid
        ref_px = mid if p.reference == "mid" else snap.fill.best_px
        in_quote = p.unit == "usd"
        lim = float(limit_price(sign, book.best_bid, book.best_ask, p.limit_offset_bps,
                                self.instrument.tick_size))
        opp_px, opp_qty = (book.ask_px, book.ask_qty) if sign > 0 else (book.bid_px, book.bid_qty)
        base_t, quote_t, _levels = walk_to_limit(opp_px, opp_qty, p.quantity, in_quote, lim, sign)
        rest = max(p.quantity - (quote_t if in_quote else base_t), 0.0)  # in the order's unit
        rest_base = rest / lim if in_quote else rest
        own_px, own_qty = (book.bid_px, book.bid_qty) if sign > 0 else (book.ask_px, book.ask_qty)
        q_ahead = float(queue_ahead(own_px, own_qty, lim, sign))
        rests = rest_base > 0.0
        # fill probability of the resting part; NaN (not applicable) when nothing rests
        prob = self.fill.probability(sign, lim, book, mid, vol, finite_or(f.imbalance_weighted, 0.0)) \
            if rests else math.nan
        p_fill = prob if rests else 0.0
        cost_mid = sign * (quote_t - mid * base_t)
        spread_usd = eps_px * base_t
        walk_usd = cost_mid - spread_usd
        impact_usd = net_cost.permanent_share(walk_usd, gamma, base_t)
        maker_base = p_fill * rest_base
        maker_usd = maker_base * lim
        # fees on what is expected to fill only: taker on the crossing part, maker on the
        # expected maker part; the expected unfilled part pays nothing
        items = net_cost.limit_order_items(
            p.reference, spread_usd, walk_usd, impact_usd, sign * (lim - ref_px) * maker_base,
            rate.taker * quote_t, rate.maker * maker_usd)
        whole = p.quantity
        taker_part = (quote_t if in_quote else base_t) / whole
        mt = dict(limit_price=lim, taker_fraction=taker_part, maker_fraction=p_fill * rest / whole,
                  unfilled_fraction=(1.0 - p_fill) * rest / whole if rests else 0.0,
                  fill_probability=prob, fill_horizon_s=self.fill.config.horizon_s,
                  taker_usd=quote_t, resting_usd=rest_base * lim, maker_usd=maker_usd,
                  unfilled_usd=(rest_base - maker_base) * lim, queue_ahead_base=q_ahead,
                  fill_model="logistic")
        return items, mt


def _unfillable(fill, quantity: float, in_quote: bool, mid: float, two_sided: bool
                ) -> tuple[float, float, float]:
    """(base, USD, share of the order) the visible book cannot fill: exact in the order's own
    unit (``fill.unfilled``), the other unit at the last visible price of the walked side (at
    the mid when that side is empty)."""
    if not two_sided or fill.filled_base <= 0.0:
        left, px = quantity, mid
    else:
        left, px = fill.unfilled, fill.worst_px
    if in_quote:
        return left / px, left, left / quantity
    return left, left * px, left / quantity


def _impact_view(iv: list[float], arrays: np.ndarray, x_base: float, eps: float, sigma: float,
                 lam: float, T: float, N: int, cfg: ModelConfig, book_cost_usd: float) -> ImpactView:
    """The Almgren-Chriss view from ``estimate_core``'s output: its ``live_impact`` scalars
    (``iv``, in IV_* order) and ``arrays`` (trajectory then frontier, made read-only here; the
    views inherit it)."""
    (k, k_points, gamma, eta, eta_tilde, kappa, E, V, std, e_twap, std_twap, immediate,
     mid_shift, mid_shift_bps) = iv
    arrays.setflags(write=False)
    n1, g = N + 1, FRONTIER_KAPPA_T.shape[0]
    f0 = 3 * n1
    return build(ImpactView, {
        "X_base": x_base, "eps": eps, "k": k, "k_points": int(k_points), "eta": eta,
        "eta_tilde": eta_tilde, "gamma": gamma, "sigma": sigma, "lam": lam, "T": T,
        "N": N, "tau": T / N, "kappa": kappa, "resilience_s": cfg.resilience_s,
        "permanent_fraction": cfg.permanent_fraction, "times": arrays[:n1],
        "holdings": arrays[n1:2 * n1], "trades": arrays[2 * n1:2 * n1 + N], "E_usd": E,
        "V_usd2": V, "std_usd": std, "E_twap_usd": e_twap, "std_twap_usd": std_twap,
        "frontier_lambda": arrays[f0:f0 + g], "frontier_E": arrays[f0 + g:f0 + 2 * g],
        "frontier_V": arrays[f0 + 2 * g:], "immediate_cost_usd": immediate,
        "book_cost_usd": book_cost_usd, "mid_shift": mid_shift, "mid_shift_bps": mid_shift_bps,
    })
