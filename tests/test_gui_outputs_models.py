"""The outputs panel explains the models' numbers: skill and weight per side, coverage per side,
a limit order's three parts with the fill probability of the resting part, an exhausted book's
unfillable part (real widgets, offscreen)."""
from __future__ import annotations

import pytest

from core.params import OrderParams
from tests.gui_support import snapshots
from widgets.estimate_view import summarise
from widgets.format import DASH, num, pct, qty
from widgets.outputs_panel import OutputsPanel

pytestmark = pytest.mark.gui


def shown(qtbot, w=400, h=1100) -> OutputsPanel:
    panel = OutputsPanel()
    qtbot.addWidget(panel)
    panel.resize(w, h)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def _name(panel: OutputsPanel, key: str) -> str:
    return panel._row_widgets(key)[0].text()


def test_quality_group_shows_skill_weight_and_coverage_per_side(qtbot):
    s = snapshots(160, models=True)[-1]
    q = s.estimate.slippage_quality
    panel = shown(qtbot)
    panel.show_snapshot(s, summarise(s))
    assert "Skill" in _name(panel, "skill") and "Weight" in _name(panel, "weight")
    assert panel.cells("skill")[0].text() == f"{q.buy.skill:+.3f}"
    assert panel.cells("skill")[1].text() == f"{q.sell.skill:+.3f}"
    assert panel.cells("weight")[0].text() == num(q.buy.weight, 2)
    assert panel.cells("weight")[1].text() == num(q.sell.weight, 2)
    assert panel.cells("mae")[0].text() == f"{num(q.buy.mae_bps, 3)} | {num(q.buy.naive_mae_bps, 3)}"
    assert panel.text("cov_buy") == " / ".join(pct(v, 0) for v in q.buy.coverage)
    assert panel.text("cov_sell") == " / ".join(pct(v, 0) for v in q.sell.coverage)
    assert f"{q.buy.window} / {q.sell.window} labels" in panel.text("status")
    for key in ("skill", "weight"):
        assert _name_tooltip(panel, key)


def _name_tooltip(panel: OutputsPanel, key: str) -> str:
    return panel._row_widgets(key)[0].toolTip()


def test_a_crossing_limit_order_shows_no_fill_probability_and_says_why(qtbot):
    params = OrderParams(quantity=100_000.0, side="sell", order_type="limit", limit_offset_bps=-2.0)
    s = snapshots(30, models=True, params=params)[-1]
    est = s.estimate
    panel = shown(qtbot)
    panel.show_snapshot(s, summarise(s))
    assert est.taker_fraction == 1.0
    assert panel.cells("limit")[1].text() == DASH  # not "0.0 %"
    assert panel.limit_note.isVisible() and "nothing rests" in panel.limit_note.text()
    assert panel.cells("limit_taker")[0].text() == pct(1.0)
    assert panel.cells("limit_maker")[0].text() == pct(0.0)
    assert panel.cells("limit_unfilled")[0].text() == pct(0.0)


def test_a_resting_limit_order_states_all_three_parts(qtbot):
    params = OrderParams(quantity=100_000.0, order_type="limit", limit_offset_bps=2.0)
    s = snapshots(30, models=True, params=params)[-1]
    est = s.estimate
    panel = shown(qtbot)
    panel.show_snapshot(s, summarise(s))
    assert panel.cells("limit")[1].text() == pct(est.fill_probability)
    assert panel.cells("limit_maker")[0].text() == pct(est.maker_fraction)
    assert panel.cells("limit_unfilled")[0].text() == pct(est.unfilled_fraction)
    assert est.unfilled_fraction > 0 and panel.cells("limit_unfilled")[0].isVisible()
    assert "resting part" in panel.limit_note.text()
    for key in ("limit_taker", "limit_maker", "limit_unfilled", "limit"):
        assert _name_tooltip(panel, key)
    market = snapshots(3, models=True)[-1]
    panel.show_snapshot(market, summarise(market))
    for key in ("limit_taker", "limit_maker", "limit_unfilled"):
        assert not panel.cells(key)[0].isVisible()
    assert not panel.limit_note.isVisible()


def test_an_exhausted_book_shows_the_unfillable_part_uncharged(qtbot):
    s = snapshots(3, models=True, params=OrderParams(quantity=1e12))[-1]
    est = s.estimate
    panel = shown(qtbot)
    panel.show_snapshot(s, summarise(s))
    assert panel.banner.isVisible() and "not charged" in panel.banner.text()
    assert panel.cells("unfillable")[0].isVisible()
    assert panel.cells("unfillable")[0].text() == qty(est.unfillable_base, "BTC")
    assert panel.cells("unfillable")[1].text() == qty(est.unfillable_usd, "USD")
    fine = snapshots(3, models=True)[-1]
    panel.show_snapshot(fine, summarise(fine))
    assert not panel.cells("unfillable")[0].isVisible() and not panel.banner.isVisible()
