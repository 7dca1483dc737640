"""The live volatility: exact against a plain-Python reference, right from the first minutes
on GBM recordings with a known volatility, and honest about warming up (issue 10, item 6)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.engine import Engine
from core.recording.recorder import read_recording
from core.instruments import get_instrument
from core.models.suite import CostModels
from core.compute.volatility import LIVE, MIN_SECONDS, WARMING_UP, LiveVolatility
from tests.gbm_support import SYMBOL, gbm_mids, gbm_times, goquant_frame, realised_vol, write_gbm_recording

SIGMA = 1e-4  # per sqrt(second): about 56 % a year, the synthetic market's normal regime


def reference(times: list[float], mids: list[float], tau: float) -> tuple[float, float]:
    """sum_i w_i r_i^2 / sum_i w_i dt_i with w_i = exp(-(t_last - t_i)/tau), from the definition
    (no recursion); same-instant and non-positive mids are skipped as the estimator does.
    Returns (variance per second, Kish effective number of returns)."""
    used = [(times[0], mids[0])]
    for t, m in zip(times[1:], mids[1:]):
        if m > 0 and t > used[-1][0]:
            used.append((t, m))
    if len(used) < 2:
        return math.nan, 0.0
    t_now = used[-1][0]
    num = den = den2 = 0.0
    for (t0, m0), (t1, m1) in zip(used, used[1:]):
        w = math.exp(-(t_now - t1) / tau)
        num += w * math.log(m1 / m0) ** 2
        den += w * (t1 - t0)
        den2 += w * w * (t1 - t0) ** 2
    return num / den, den * den / den2


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.just(0.0), st.floats(1e-3, 30.0)), st.floats(-0.02, 0.02), st.booleans()), min_size=1, max_size=120),
       st.floats(1.0, 600.0))
def test_discounted_sums_match_the_plain_reference(steps, tau):
    """Irregular times on a feed's millisecond clock, same-instant books and bad mids included."""
    t, mid = [0.0], [100.0]
    for dt, r, bad in steps:
        t.append(t[-1] + dt)
        mid.append(-1.0 if bad else abs(mid[-1]) * math.exp(r) if mid[-1] > 0 else 100.0 * math.exp(r))
    vol = LiveVolatility(tau)
    for ti, mi in zip(t, mid):
        vol.update(ti, mi)
    want_var, want_n = reference(t, mid, tau)
    got = vol.estimate_per_second
    if math.isnan(want_var):
        assert math.isnan(got) and vol.updates == 0
        return
    assert got ** 2 == pytest.approx(want_var, rel=1e-9, abs=1e-300)
    assert vol.effective_returns == pytest.approx(want_n, rel=1e-9)
    live = want_n >= vol.min_returns and vol.seconds >= vol.min_seconds
    assert vol.state == (LIVE if live else WARMING_UP)
    assert math.isnan(vol.per_second) != live


def _engine_vol_at(frames, checkpoints):
    """Feed real GoQuant frames through the Engine's decoder; its features at each checkpoint (s)."""
    engine = Engine(get_instrument(SYMBOL), "goquant")
    out, left = {}, list(checkpoints)
    for t_s, raw in frames:
        engine.ingest(raw)
        while left and t_s >= left[0]:
            out[left.pop(0)] = engine.evaluate().features
    return out


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("spacing,mean_dt", [("regular", 0.1), ("irregular", 0.1), ("regular", 0.5), ("irregular", 1.0)])
def test_live_figure_tracks_realised_volatility_of_a_gbm_recording(tmp_path, seed, spacing, mean_dt):
    """Books written to a recording and read back (the replay path), decoded by the real decoder:
    within 25 % of the realised volatility of the mids read after 15 s (or labelled warming up),
    within 10 % after 120 s. At the synthetic server's cadence (10 books/s) it is live at 15 s."""
    t = gbm_times(seed, 121.0, spacing, mean_dt)
    mids = gbm_mids(seed, t, SIGMA)
    path = write_gbm_recording(tmp_path / "gbm.jsonl.gz", t, mids)
    frames = zip(t, (f.raw for f in read_recording(path).frames()))
    at = _engine_vol_at(frames, (15.0, 120.0))
    for checkpoint, tolerance in ((15.0, 0.25), (120.0, 0.10)):
        f = at[checkpoint]
        k = int(np.searchsorted(t, checkpoint, side="left")) + 1  # books read, the first at or after it included
        truth = realised_vol(t[:k], mids[:k])
        assert f.vol_updates == k - 1 and f.vol_seconds == pytest.approx(t[k - 1], abs=1e-3)
        if f.vol_state == WARMING_UP:
            assert checkpoint < 120.0, "still warming up after two minutes"
            assert math.isnan(f.vol_per_s) and math.isnan(f.vol_annual)
            continue
        assert f.vol_state == LIVE
        assert f.vol_per_s / truth == pytest.approx(1.0, abs=tolerance), (checkpoint, f.vol_per_s, truth)
        assert f.vol_annual == pytest.approx(f.vol_per_s * math.sqrt(365 * 86400))
    if mean_dt == 0.1:
        assert at[15.0].vol_state == LIVE


def test_warming_up_until_enough_seconds_however_fast_books_come():
    vol = LiveVolatility(120.0)
    t = np.arange(0, MIN_SECONDS * 2, 0.001)  # 1,000 books a second
    mids = gbm_mids(1, t, SIGMA)
    states = []
    for ti, mi in zip(t, mids):
        vol.update(ti, mi)
        states.append(vol.state)
    first_live = states.index(LIVE)
    assert t[first_live] == pytest.approx(MIN_SECONDS, abs=0.002)
    assert set(states[first_live:]) == {LIVE}


def test_a_long_silence_sends_it_back_to_warming_up():
    """One return across a 10-minute gap outweighs everything before it: no longer trusted."""
    vol = LiveVolatility(120.0)
    t = np.arange(0, 60, 0.1)
    for ti, mi in zip(t, gbm_mids(2, t, SIGMA)):
        vol.update(ti, mi)
    assert vol.state == LIVE
    vol.update(660.0, 95_000.0)
    assert vol.state == WARMING_UP and math.isnan(vol.per_second)
    assert math.isfinite(vol.estimate_per_second)


def test_models_use_the_prior_while_warming_up_then_the_live_figure():
    """The Almgren-Chriss sigma: the warm-start prior (and a note) until the figure is live."""
    inst = get_instrument(SYMBOL)
    models = CostModels(inst)
    engine = Engine(inst, "goquant", models=models)
    t = np.arange(0, 15, 0.1)
    seen = {}
    for ti, mi in zip(t, gbm_mids(3, t, SIGMA)):
        engine.ingest(goquant_frame(ti, mi))
        snap = engine.evaluate()
        seen.setdefault(snap.features.vol_state, snap)
    warming, live = seen[WARMING_UP], seen[LIVE]
    assert warming.estimate.vol_source == "prior" and warming.estimate.vol_per_s == models.vol_prior
    assert any("prior" in n for n in warming.estimate.notes)
    assert live.estimate.vol_source == "live" and live.estimate.vol_per_s == live.features.vol_per_s
    assert live.estimate.impact.sigma == pytest.approx(live.features.vol_per_s * live.features.mid)


def test_model_features_keep_their_fast_ewma():
    """The slippage and fill features still read the 10 s EwmaVolatility the warm-start
    coefficients were learnt with: the live estimator's change does not move them."""
    from core.sim.market import SyntheticMarket
    from core.compute.volatility import EwmaVolatility

    inst = get_instrument(SYMBOL)
    market = SyntheticMarket(seed=8)
    models = CostModels(inst)
    engine = Engine(inst, "goquant", models=models)
    fast = EwmaVolatility(models.config.fast_vol_tau_s)
    for _ in range(200):
        engine.ingest(market.goquant_message(market.step()))
        snap = engine.evaluate()
        fast.update(snap.book.ts_ms / 1000.0, snap.features.mid)
        if math.isfinite(fast.per_second):
            assert snap.estimate.vol_model_per_s == fast.per_second
    assert snap.features.vol_state == LIVE and snap.features.vol_per_s != fast.per_second
