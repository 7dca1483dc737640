"""The slippage headline uses the model only as far as it has beaten the naive answer.

The naive predictor is the exact visible-book cost when the order was decided (same side and
size). Both are scored prequentially, per side, on the same realised labels; the headline's
execution-delay term is the model's times ``weight`` = clip(skill, 0, 1) (0 below
``min_skill_labels``). Checked against plain-Python references: the rolling scores by a
replay of every probe's stored prediction and an independently walked label, and the window
arithmetic by hypothesis on arbitrary streams.
"""
from __future__ import annotations

import dataclasses
import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, strategies as st

from core.engine import Engine
from core.instruments import get_instrument
from core.models import CostModels
from core.models.slippage_model import (
    I_PENDING, M_DUE, M_INQ, M_MID, M_NOTIONAL, M_PRIMARY, M_QTY, M_SIGN, M_SNOW, N_QR, N_RING,
    N_ISTATE, N_FSTATE, F_SKILL_MIN, QUANTILES, SlippageModel, _score, quality_row,
)
from core.params import OrderParams
from core.sim.market import SyntheticMarket
from tests import reference
from tests.conftest import goquant_message

INST = get_instrument("BTC-USDT-SWAP")


def plain_label(px, qty, m) -> float:
    """A probe's label by the plain-Python walk: cost against the mid at decision time, bps
    of notional (NaN if the side cannot fill it)."""
    base, quote, _worst, _levels = reference.walk(px.tolist(), qty.tolist(), m[M_QTY], m[M_INQ] > 0.5)
    filled = quote if m[M_INQ] > 0.5 else base
    if not (filled >= m[M_QTY] * (1.0 - 1e-12)) or not base > 0.0:
        return math.nan
    return m[M_SIGN] * (quote - m[M_MID] * base) / m[M_NOTIONAL] * 1e4


def window_scores(rows: list[tuple[float, float, float, tuple[float, ...]]], window: int,
                  min_labels: int) -> dict:
    """Plain-Python scores of one side's last ``window`` (model mean, naive, label, quantiles)."""
    last = rows[-window:]
    n = len(last)
    sse = sum((y - m) ** 2 for m, _nv, y, _q in last)
    sse_naive = sum((y - nv) ** 2 for _m, nv, y, _q in last)
    skill = 1.0 - sse / sse_naive if sse_naive > 0 else math.nan
    weight = min(max(skill, 0.0), 1.0) if n >= min_labels and math.isfinite(skill) else 0.0
    return {"window": n, "scored_total": len(rows),
            "mae_bps": sum(abs(y - m) for m, _nv, y, _q in last) / n if n else math.nan,
            "naive_mae_bps": sum(abs(y - nv) for _m, nv, y, _q in last) / n if n else math.nan,
            "skill": skill, "weight": weight,
            "coverage": tuple(sum(1.0 for *_r, y, q in last if y <= q[r]) / n if n else math.nan
                              for r in range(len(QUANTILES))),
            "coverage_total": tuple(sum(1.0 for *_r, y, q in rows if y <= q[r]) / len(rows)
                                    if rows else math.nan for r in range(len(QUANTILES)))}


def close(got, want) -> bool:
    if isinstance(want, tuple):
        return len(got) == len(want) and all(close(g, w) for g, w in zip(got, want))
    if isinstance(want, float) and math.isnan(want):
        return math.isnan(got)
    return got == pytest.approx(want, rel=1e-9, abs=1e-12)


# --- prequential scores against a plain-Python replay --------------------------------------
def test_prequential_scores_per_side_match_a_plain_python_replay():
    """Every primary probe's prediction is the one made before its label existed (from the
    coefficients of the book it was decided on); its label is walked here independently;
    the model's per-side window scores, skill and weight equal the plain-Python ones."""
    market = SyntheticMarket(seed=31)
    models = CostModels(INST)
    models.slippage.config = dataclasses.replace(models.slippage.config, min_skill_labels=40)
    models.slippage.fs[F_SKILL_MIN] = 40
    engine = Engine(INST, "goquant", OrderParams(quantity=150_000, exec_delay_ms=300.0), models=models)
    slip = models.slippage
    rows: dict[float, list] = {1.0: [], -1.0: []}
    for _ in range(700):
        n = int(slip.ist[I_PENDING])
        meta, x, pred = slip.pend_meta[:n].copy(), slip.pend_x[:n].copy(), slip.pend_pred[:n].copy()
        w_before = slip.w.copy()
        engine.ingest(market.goquant_message(market.step()))
        snap = engine.evaluate()
        book = snap.book
        for m, p in zip(meta, pred):
            if m[M_DUE] > book.ts_ms or m[M_PRIMARY] < 0.5:
                continue
            px, qty = (book.ask_px, book.ask_qty) if m[M_SIGN] > 0 else (book.bid_px, book.bid_qty)
            y = plain_label(px, qty, m)
            if math.isfinite(y):
                rows[m[M_SIGN]].append((p[0], m[M_SNOW], y, tuple(p[1:])))
        # probes recorded on this book were predicted with the coefficients before its learning
        new = int(slip.ist[I_PENDING])
        fresh = slip.pend_meta[:new, M_DUE] == book.ts_ms + 300.0
        if fresh.any():
            assert np.allclose(slip.pend_pred[:new][fresh, 0], slip.pend_x[:new][fresh] @ w_before,
                               rtol=1e-12, atol=1e-12)
        del x
    q = snap.estimate.slippage_quality
    assert len(rows[1.0]) > slip.config.window  # the window has wrapped on both sides
    for sign, side in ((1.0, q.buy), (-1.0, q.sell)):
        want = window_scores(rows[sign], slip.config.window, 40)
        for name, value in want.items():
            assert close(getattr(side, name), value), (side.side, name, getattr(side, name), value)
    assert q.buy.coverage != q.sell.coverage  # two sides, not one mixed figure
    est = snap.estimate
    assert est.slippage_skill == q.buy.skill and est.slippage_weight == q.buy.weight


@given(st.lists(st.tuples(st.integers(0, 1), st.floats(-5, 5), st.floats(-5, 5), st.floats(-5, 5),
                          st.lists(st.floats(-5, 5), min_size=3, max_size=3)),
                max_size=60),
       st.integers(1, 9), st.integers(0, 12))
def test_rolling_window_arithmetic_matches_plain_python(stream, window, min_labels):
    """``_score`` and ``quality_row`` on any stream, through several wraps of a small window."""
    ring = np.zeros((2, window, N_RING))
    sums = np.zeros((2, N_RING))
    ist = np.zeros(N_ISTATE, dtype=np.int64)
    fs = np.zeros(N_FSTATE)
    fs[F_SKILL_MIN] = min_labels
    qs = np.array(QUANTILES)
    rows: list[list] = [[], []]
    for side, mean, naive, y, quantiles in stream:
        pred = np.array([mean, *sorted(quantiles)])
        _score(ring, sums, ist, qs, pred, y, naive, side)
        rows[side].append((mean, naive, y, tuple(pred[1:])))
    model = SlippageModel()
    model.sums, model.ist, model.fs = sums, ist, fs
    q = model.quality()
    for side, got in ((0, q.buy), (1, q.sell)):
        want = window_scores(rows[side], window, min_labels)
        for name, value in want.items():
            g = getattr(got, name)
            if name in ("mae_bps", "naive_mae_bps", "coverage", "skill"):
                assert close(g, value) or _near(g, value), (side, name, g, value)
            else:
                assert g == value or close(g, value), (side, name, g, value)
        assert 0.0 <= got.weight <= 1.0


def _near(got, want) -> bool:
    """Running sums may differ from a fresh sum by rounding (sums of squares of a few bps)."""
    if isinstance(want, tuple):
        return all(_near(g, w) for g, w in zip(got, want))
    if math.isnan(want) or math.isnan(got):
        return math.isnan(want) and math.isnan(got)
    return abs(got - want) <= 1e-9 * max(1.0, abs(want))


def test_skill_needs_labels_and_a_naive_error():
    row = np.empty(N_QR)
    sums = np.zeros((2, N_RING))
    ist = np.zeros(N_ISTATE, dtype=np.int64)
    fs = np.zeros(N_FSTATE)
    fs[F_SKILL_MIN] = 3
    qs = np.array(QUANTILES)
    for _ in range(3):  # the naive answer is exact: no skill to measure, weight 0
        _score(np.zeros((2, 5, N_RING)), sums, ist, qs, np.array([1.0, 1.0, 2.0, 3.0]), 0.5, 0.5, 0)
    quality_row(sums, ist, fs, row)
    model = SlippageModel()
    model.sums, model.ist, model.fs = sums, ist, fs
    q = model.quality()
    assert math.isnan(q.buy.skill) and q.buy.weight == 0.0
    assert q.sell.window == 0 and math.isnan(q.sell.skill) and q.sell.weight == 0.0


# --- the headline --------------------------------------------------------------------------
def _parts(est) -> tuple[float, float]:
    """(headline slippage + impact, the exact book cost + the model's delay term): against
    the mid these are the book cost plus weight x (model - book)."""
    delay = next(c.usd for c in est.components if c.name.startswith("execution delay"))
    return est.slippage_usd + est.impact_usd, delay


def test_without_skill_the_headline_is_the_exact_book_walk():
    engine, models = Engine(INST, "goquant", OrderParams(quantity=400_000), models=CostModels(INST)), None
    market = SyntheticMarket(seed=12)
    for _ in range(40):  # fewer labels than min_skill_labels: no weight yet
        engine.ingest(market.goquant_message(market.step()))
        snap = engine.evaluate()
    for side in ("buy", "sell"):
        est = engine.evaluate(OrderParams(quantity=400_000, side=side)).estimate
        assert est.slippage_weight == 0.0
        assert est.predicted_mean_usd != pytest.approx(est.book_slippage_usd, rel=1e-3)  # a model exists
        total, delay = _parts(est)
        assert delay == 0.0 and total == est.book_slippage_usd  # bit for bit: the naive value
    # a model that lost to the naive answer gets no weight either, however many labels it has
    models = engine.models
    q = models._slip_quality
    models._slip_quality = dataclasses.replace(q, buy=dataclasses.replace(q.buy, skill=-0.3, weight=0.0,
                                                                           window=500))
    est = engine.evaluate(OrderParams(quantity=400_000)).estimate
    assert est.slippage_skill == -0.3 and _parts(est) == (est.book_slippage_usd, 0.0)
    # zero delay: the label is the book it was decided on, the naive answer is exact
    est = engine.evaluate(OrderParams(quantity=400_000, exec_delay_ms=0.0)).estimate
    assert _parts(est)[1] == 0.0


def _trending_book(i: int) -> bytes:
    """A flat 50-level book whose mid climbs 0.5 USD a book (10 books/s): a buy decided now
    pays more by the time it fills, a sell less. The book itself cannot see it; the model's
    recent-residual feature can."""
    mid = 100_000.0 + 0.5 * i
    bids = [[f"{mid - 0.05 - k * 0.1:.2f}", "500"] for k in range(50)]
    asks = [[f"{mid + 0.05 + k * 0.1:.2f}", "500"] for k in range(50)]
    t = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=100 * i)
    return goquant_message(bids, asks, ts=t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z")


def test_with_skill_the_headline_moves_toward_the_model():
    params = OrderParams(quantity=100_000, exec_delay_ms=500.0)
    engine = Engine(INST, "goquant", params, models=CostModels(INST))
    for i in range(600):
        engine.ingest(_trending_book(i))
        snap = engine.evaluate()
    for side in ("buy", "sell"):
        est = engine.evaluate(dataclasses.replace(params, side=side)).estimate
        scores = est.slippage_quality.side(side)
        assert scores.skill > 0.1 and scores.naive_mae_bps > scores.mae_bps  # it beat the book now
        assert est.slippage_weight == scores.weight == pytest.approx(min(scores.skill, 1.0))
        total, delay = _parts(est)
        book, model = est.book_slippage_usd, est.predicted_mean_usd
        assert delay == pytest.approx(est.slippage_weight * (model - book), rel=1e-12)
        assert total == pytest.approx(book + est.slippage_weight * (model - book), rel=1e-12)
        assert min(book, model) < total < max(book, model)  # toward the model, not all the way
    assert snap.estimate.slippage_quality.buy.bias_bps != snap.estimate.slippage_quality.sell.bias_bps
