"""The Estimate's public field names are a contract with the GUI and `slipscope headless`."""
from __future__ import annotations

import dataclasses
import math

from core.models import HEADLESS_FIELDS, CostItem, Estimate, ImpactView
from core.models.maker_taker import FillQuality
from core.models.slippage_model import SideQuality, SlippageQuality
from tests.test_models_suite import run_engine

ESTIMATE_FIELDS = {
    "instrument", "order_type", "side", "reference", "book_version", "book_ts_ms", "quantity_usd",
    "quantity_base", "exhausted", "slippage_usd", "slippage_bps", "impact_usd", "impact_bps",
    "fees_usd", "fees_bps", "net_cost_usd", "net_cost_bps", "components", "book_slippage_usd",
    "book_slippage_bps", "slippage_skill", "slippage_weight", "unfillable_base", "unfillable_usd",
    "unfillable_fraction", "maker_usd", "unfilled_usd", "delay_ms", "predicted_mean_usd", "predicted_mean_bps", "predicted_q50_usd",
    "predicted_q90_usd", "predicted_q95_usd", "predicted_q50_bps", "predicted_q90_bps",
    "predicted_q95_bps", "exchange", "fee_market", "fee_tier", "maker_rate", "taker_rate",
    "fee_source", "limit_price", "taker_fraction", "maker_fraction", "unfilled_fraction",
    "fill_probability", "fill_horizon_s", "taker_usd", "resting_usd", "queue_ahead_base",
    "fill_model", "vol_per_s", "vol_annual", "vol_source", "vol_model_per_s", "impact",
    "slippage_quality", "fill_quality", "notes",
}
IMPACT_FIELDS = {
    "X_base", "eps", "k", "k_points", "eta", "eta_tilde", "gamma", "sigma", "lam", "T", "N", "tau",
    "kappa", "resilience_s", "permanent_fraction", "times", "holdings", "trades", "E_usd", "V_usd2",
    "std_usd", "E_twap_usd", "std_twap_usd", "frontier_lambda", "frontier_E", "frontier_V",
    "immediate_cost_usd", "book_cost_usd", "mid_shift", "mid_shift_bps",
}


def test_field_names_are_stable():
    assert {f.name for f in dataclasses.fields(Estimate)} == ESTIMATE_FIELDS
    assert {f.name for f in dataclasses.fields(ImpactView)} == IMPACT_FIELDS
    assert {f.name for f in dataclasses.fields(SlippageQuality)} == {
        "labels_total", "pending", "dropped", "status", "buy", "sell", "min_skill_labels", "quantiles"}
    assert {f.name for f in dataclasses.fields(SideQuality)} == {
        "side", "window", "scored_total", "mae_bps", "bias_bps", "rmse_bps", "naive_mae_bps",
        "naive_rmse_bps", "skill", "weight", "pinball_bps", "coverage", "coverage_total"}
    for pooled in ("coverage", "coverage_total", "pinball_bps", "mae_bps", "bias_bps", "window",
                   "scored_total"):  # both sides together, as properties
        assert isinstance(getattr(SlippageQuality, pooled), property)
    assert {"brier", "log_loss", "base_rate", "mean_predicted", "status"} <= {
        f.name for f in dataclasses.fields(FillQuality)}
    assert CostItem._fields == ("name", "usd", "bps")


def test_headless_fields_exist_and_are_numbers_for_a_market_order():
    assert set(HEADLESS_FIELDS) == {"quantity_usd", "slippage_bps", "slippage_usd", "fees_usd",
                                    "impact_usd", "net_cost_usd", "maker_fraction"}
    for steps in (1, 30):  # first book (warm start, no volatility yet) and later
        *_, snap = run_engine(steps, seed=21)
        flat = snap.estimate.headless
        assert set(flat) == set(HEADLESS_FIELDS)
        for name, value in flat.items():
            assert value is not None and math.isfinite(value), (steps, name, value)
