"""What the views say and where they draw it: accessible names of every output, the order's
line on the depth chart, the Almgren-Chriss legend and frontier, the hover readout under a
still cursor and the status bar's rates before they are measured (offscreen Qt, real Engine
snapshots, the real window where the wiring matters)."""
from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtWidgets import QLabel

from app.gui import settings as store
from app.gui.controller import check_params, fee_tiers
from app.gui.window import MainWindow
from core.instruments import known_instruments
from core.models.maker_taker import limit_price
from core.params import OrderParams
from tests.gui_support import qloop, settings_file, snapshots  # noqa: F401 (fixtures)
from tests.test_gui_window import app_window, dispose  # noqa: F401 (fixture)
from widgets.depth_chart import DepthChart
from widgets.estimate_view import summarise
from widgets.outputs_panel import OutputsPanel
from widgets.schedule_plot import SchedulePlot

from tests.gui_support import plain_pyqtgraph, shown  # noqa: E402,F401 (fixture)

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def _pg(plain_pyqtgraph):
    """Every test here draws with the app's pyqtgraph settings."""


# --- accessible names ---------------------------------------------------------------------------
def _value_cells_and_labels(panel: OutputsPanel):
    """(value cell, the visible label of its row) for every row of every table."""
    for table in panel.tables.values():
        for r in range(table.grid.rowCount()):
            first = table.grid.itemAtPosition(r, 0)
            if first is None or first.widget().objectName() not in ("name", "item"):
                continue
            name = first.widget()
            for c in (1, 2):
                item = table.grid.itemAtPosition(r, c)
                if item is not None and item.widget() is not name:
                    yield item.widget(), name


def test_every_output_value_is_named_by_its_visible_label(qtbot):
    s = snapshots(30, models=True, params=OrderParams(quantity=250_000.0, order_type="limit",
                                                      limit_offset_bps=1.0))[-1]
    panel = shown(qtbot, OutputsPanel(), 420, 1200)
    panel.show_snapshot(s, summarise(s))
    pairs = list(_value_cells_and_labels(panel))
    values = [w for w in panel.findChildren(QLabel) if w.objectName() == "value"]
    assert len(pairs) >= len(values) > 30  # every value cell belongs to a named row
    for cell, name in pairs:
        assert cell.accessibleName() == name.text(), (cell.text(), name.text())
    assert panel.cells("net")[0].accessibleName() == "Net cost"
    assert panel.cells("notional")[1].accessibleName() == "Notional"
    # the decomposition's rows are named as they are filled, by what they now show
    shown_items = [w for w in panel.findChildren(QLabel) if w.objectName() == "item" and w.isVisible()]
    assert shown_items and all(c.accessibleName() == n.text() for c, n in pairs if n in shown_items)
    # rows without a name column say what they are
    for note in (panel.banner, panel.feed_state, panel.reasons, panel.model_params):
        assert note.accessibleName()


def test_status_bar_outputs_have_accessible_names(qtbot, settings_file):  # noqa: F811
    w = MainWindow(store.open_settings(settings_file), fee_tiers, known_instruments(), check=check_params)
    try:
        for widget in (w.badge, w.frozen_badge, w.stats_label, w.message_label, w.source_label):
            assert widget.accessibleName(), widget.objectName()
        for plot in w.plots.values():  # plots are outputs too: named as their tabs' tooltips say
            assert plot.accessibleName() == plot.title
    finally:
        dispose(w)


# --- status bar ---------------------------------------------------------------------------------
def test_rates_read_a_dash_until_measured_never_nan(qtbot, settings_file):  # noqa: F811
    w = MainWindow(store.open_settings(settings_file), fee_tiers, known_instruments(), check=check_params)
    try:
        w._update_labels(time.perf_counter())
        text = w.stats_label.text()
        assert "nan" not in text.lower() and text.startswith("— msg/s")
        assert "nan" not in w.outputs.text("paint").lower()
    finally:
        dispose(w)


def test_rates_are_numbers_once_measured(qtbot, app_window):  # noqa: F811
    w = app_window.window
    qtbot.waitUntil(lambda: not w.stats_label.text().startswith("—"), timeout=5000)
    assert w.stats_label.text().split()[0].replace(",", "").isdigit()


# --- depth chart: the order's line --------------------------------------------------------------
def test_depth_chart_marks_a_limit_orders_limit_price_and_a_market_orders_worst_fill(qtbot):
    chart = shown(qtbot, DepthChart())
    market = snapshots(3)[-1]
    chart.draw(market, summarise(market))
    mid = market.features.mid
    assert chart.lines.xs[1] == pytest.approx((market.fill.worst_px / mid - 1) * 1e4)
    assert chart.lines.labels[1] == "worst fill"
    for offset in (2.0, -2.0):  # resting, and crossing the spread
        params = OrderParams(quantity=250_000.0, side="sell", order_type="limit", limit_offset_bps=offset)
        with_models = snapshots(30, models=True, params=params)[-1]
        chart.draw(with_models, summarise(with_models))
        lim = with_models.estimate.limit_price
        assert chart.lines.xs[1] == pytest.approx((lim / with_models.features.mid - 1) * 1e4)
        assert chart.lines.labels[1] == "limit"
        assert (lim > with_models.book.best_ask) == (offset > 0)
    # without models the same rule prices it on the book the chart shows
    bare = snapshots(3, params=OrderParams(quantity=250_000.0, order_type="limit", limit_offset_bps=3.0))[-1]
    chart.draw(bare)
    b = bare.book
    lim = limit_price(1.0, b.best_bid, b.best_ask, 3.0, bare.instrument.tick_size)
    assert chart.lines.xs[1] == pytest.approx((lim / bare.features.mid - 1) * 1e4)


# --- Almgren-Chriss -----------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(640, 320), (370, 190)], ids=["640x320", "370x190"])
def test_schedule_costs_and_key_are_whole_and_nothing_covers_the_trajectories(qtbot, size):
    s = snapshots(10, models=True)[-1]
    p = shown(qtbot, SchedulePlot(), *size)
    p.draw(s, summarise(s))
    qtbot.wait(50)  # laid out
    sched = summarise(s).schedule
    from widgets.format import compact
    for text in (f"{compact(sched.expected_cost_usd)} ± {compact(sched.std_cost_usd)}",
                 f"{compact(sched.twap_cost_usd)} ± {compact(sched.twap_std_usd)} USD"):
        assert text in p.title_text
    title = p.plot.titleLabel
    assert title.item.sceneBoundingRect().right() <= p.width() and \
        title.sceneBoundingRect().bottom() <= p.plot.getViewBox().sceneBoundingRect().top() + 1, \
        "the title (key and costs) is cut or runs into the view"
    # nothing but the curves (and the grid and crosshair) inside the schedule's view
    vb = p.plot.getViewBox()
    t, x = p.optimal.getData()
    on_top = [it for it in vb.addedItems if it.isVisible() and it not in (p.optimal, p.twap)
              and it.zValue() >= 0 and type(it).__name__ not in ("InfiniteLine",)]
    assert on_top == [], on_top
    assert not any(type(it).__name__ == "LegendItem" and it.isVisible() for it in vb.childItems())
    # and the curves are in view, end to end
    (x0, x1), (y0, y1) = vb.viewRange()
    assert x0 <= t[0] and t[-1] <= x1 and y0 <= 0.0 and x[0] <= y1


def test_frontier_range_holds_the_chosen_point_for_a_long_fine_schedule(qtbot):
    params = OrderParams(quantity=250_000.0, ac_horizon_s=10_000.0, ac_steps=500)
    s = snapshots(10, models=True, params=params)[-1]
    p = shown(qtbot, SchedulePlot())
    p.draw(s, summarise(s))
    sched = summarise(s).schedule
    (x0, x1), (y0, y1) = p.frontier_plot.getViewBox().viewRange()
    assert x0 <= sched.std_cost_usd <= x1 and y0 <= sched.expected_cost_usd <= y1


# --- hover readout ------------------------------------------------------------------------------
def test_readout_under_a_still_cursor_follows_new_data(qtbot, app_window):  # noqa: F811
    w = app_window.window
    depth = w.depth
    vb = depth.plot.getViewBox()
    (x0, x1), (y0, y1) = vb.viewRange()
    first_snap = depth.snapshot
    first = depth.hover(0, x0 + 0.8 * (x1 - x0), y0 + 0.5 * (y1 - y0))
    assert first.startswith("price")
    pos = QPointF(depth._hover_pos)
    # no mouse event from here on: only new snapshots
    qtbot.waitUntil(lambda: depth.snapshot is not first_snap and depth.snapshot.features.mid
                    != first_snap.features.mid, timeout=5000)
    qtbot.wait(50)
    p = vb.mapSceneToView(pos)
    assert depth.readout_text() == depth.readout(0, p.x(), p.y())
    assert depth.readout_text() != first
