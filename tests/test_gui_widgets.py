"""Views fed with real snapshots from a real Engine (offscreen Qt): what they draw and say."""
from __future__ import annotations

import math
import time

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QPen

from core.engine import Engine
from core.instruments import get_instrument
from core.params import OrderParams
from core.sim.market import SyntheticMarket
from tests.gui_support import snapshots
from widgets.cost_curve import CostCurvePlot
from widgets.depth_chart import DepthChart, step_xy
from widgets.estimate_view import summarise
from widgets.format import bps, qty, usd
from widgets.history import COL, History
from widgets.inputs_panel import InputsPanel, LogSlider
from widgets.latency_histogram import LatencyHistogram
from widgets.outputs_panel import PENDING, OutputsPanel
from widgets.marks import LineCurve
from widgets.plot_base import LivePlot, round_out, sticky_range
from widgets import theme
from core.ringbuffer import RingBuffer
from widgets.schedule_plot import SchedulePlot
from widgets.timeseries import SlippageHistoryPlot, SpreadMidPlot

from tests.gui_support import plain_pyqtgraph, shown  # noqa: E402,F401 (fixture)

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def _pg(plain_pyqtgraph):
    """Every test here draws with the app's pyqtgraph settings."""


# --- plain helpers ------------------------------------------------------------------------------
def test_ring_buffer_keeps_newest_rows_contiguous_and_bounded():
    rb = RingBuffer(4, 2)
    for i in range(10):
        rb.append((i, 10 * i))
    assert len(rb) == 4 and rb.total == 10
    view = rb.view()
    assert view.base is not None  # a view into the 2N buffer, not a copy
    assert view[:, 0].tolist() == [6, 7, 8, 9]
    assert rb.view(2)[:, 1].tolist() == [80, 90]
    rb.replace_last((99, 0))
    assert rb.view()[-1].tolist() == [99, 0] and len(rb) == 4
    with pytest.raises(ValueError):
        view[0, 0] = 1.0  # read-only for the plots


def test_sticky_range_moves_only_when_data_leaves_or_shrinks():
    assert sticky_range(None, 0, 10, pad=0.0) == (0, 10)
    assert sticky_range((0, 10), 1, 9) is None  # still inside and filling most of it
    assert sticky_range((0, 10), 1, 11, pad=0.0) == (1, 11)  # left it
    assert sticky_range((0, 10), 4, 5, pad=0.0) == (4, 5)  # shrank to a tenth
    assert sticky_range((0, 10), math.nan, 1) is None


def test_nice_ranges_round_out_to_a_step_and_keep_a_zero_start():
    assert round_out(0.13, 9.71) == (0.0, 10.0)  # step 1 for a span near 10
    assert round_out(95012.3, 95061.9) == (95010.0, 95065.0)  # step 5: relative to the span, not the value
    lo, hi = sticky_range(None, 0.0, 2637.0, pad=0.05, nice=True)
    assert hi == 3000.0 and -0.05 * 2637.0 <= lo < 0  # zero-based data: a small pad, not a step
    # a hair outside the range moves it by a whole step, so the next hair stays inside
    new = sticky_range((0.0, 3000.0), 0.0, 3001.0, pad=0.05, nice=True)
    assert new is not None and new[1] >= 3200.0
    assert sticky_range(new, 0.0, 3100.0, pad=0.05, shrink=0.5, nice=True) is None


def test_ranges_widen_at_once_but_narrow_only_after_the_data_stayed_small(qtbot):
    plot = shown(qtbot, LivePlot("t"))
    plot.add_plot()
    plot.shrink_delay_s = 0.2
    plot.follow_range(0, "y", 0.0, 100.0, pad=0.0)
    assert plot._ranges[(0, "y")] == (0.0, 100.0)
    plot.follow_range(0, "y", 0.0, 150.0, pad=0.0)  # data left: follow at once
    assert plot._ranges[(0, "y")] == (0.0, 150.0)
    plot.follow_range(0, "y", 0.0, 10.0, pad=0.0)  # shrank: not yet
    assert plot._ranges[(0, "y")] == (0.0, 150.0)
    plot.follow_range(0, "y", 0.0, 140.0, pad=0.0)  # back inside and big enough: the wait resets
    time.sleep(0.25)
    plot.follow_range(0, "y", 0.0, 10.0, pad=0.0)
    assert plot._ranges[(0, "y")] == (0.0, 150.0)
    time.sleep(0.25)
    plot.follow_range(0, "y", 0.0, 10.0, pad=0.0)  # stayed small for the delay: narrow
    assert plot._ranges[(0, "y")] == (0.0, 10.0)


def test_grid_lines_sit_on_the_axis_ticks_and_follow_a_range_change(qtbot):
    plot = shown(qtbot, LivePlot("t"))
    pi = plot.add_plot()
    grid = plot.grids[0]
    plot.follow_range(0, "x", 0.0, 10.0, pad=0.0)
    plot.follow_range(0, "y", 0.0, 1.0, pad=0.0)
    plot.repaint()
    xs = sorted({line.x1() for pen, lines in grid.lines() for line in lines if line.x1() == line.x2()})
    assert {0.0, 2.0, 4.0, 6.0, 8.0, 10.0} <= set(np.round(xs, 9))
    assert not pi.getAxis("left").grid and not pi.getAxis("bottom").grid  # axes draw only their strip
    plot.follow_range(0, "x", 0.0, 1000.0, pad=0.0)
    plot.repaint()
    xs = {round(line.x1(), 6) for pen, lines in grid.lines() for line in lines if line.x1() == line.x2()}
    assert 200.0 in xs and max(xs) <= 1000.0


def test_step_xy_is_a_staircase_from_the_mid():
    x, y = step_xy(np.array([1.0, 2.0, 4.0]), np.array([5.0, 7.0, 8.0]))
    assert x.tolist() == [0, 1, 1, 2, 2, 4, 4]
    assert y.tolist() == [0, 0, 5, 5, 7, 7, 8]


def test_sticky_range_keeps_a_range_it_would_only_nudge():
    # zero-based data with a shrink threshold above what the pad and rounding leave: the
    # "shrink" lands back on the range shown (moved by 3e-5), so nothing is re-ticked
    shown_range = (-0.13161557883332037, 3.0)
    assert sticky_range(shown_range, 0.0, 2.631788929231255, pad=0.05, shrink=0.9, nice=True) is None
    assert sticky_range(shown_range, 0.0, 1.0, pad=0.05, shrink=0.9, nice=True) == pytest.approx((-0.05, 1.2))  # a real shrink


def test_line_curve_draws_a_reused_polyline_broken_at_nans(qtbot):
    plot = shown(qtbot, LivePlot("t"))
    pi = plot.add_plot()
    curve = LineCurve(QPen(QColor("#ff0000"), 0))
    pi.addItem(curve, ignoreBounds=True)
    plot.follow_range(0, "x", 0.0, 10.0, pad=0.0)
    plot.follow_range(0, "y", 0.0, 10.0, pad=0.0)
    x = np.arange(11.0)
    y = np.full(11, 5.0)
    y[4:7] = np.nan  # a gap from x = 3 to x = 7
    assert curve.setData(x, y) and curve.updates == 1
    assert not curve.setData(x.copy(), y.copy()) and curve.updates == 1  # the same data: no redraw
    gx, gy = curve.getData()
    assert gx is x and np.array_equal(gy, y, equal_nan=True)

    def red_at(xv: float) -> bool:
        img = plot.grab().toImage()
        p = pi.vb.mapViewToScene(QPointF(xv, 5.0))
        col = {img.pixelColor(int(p.x()), int(p.y()) + d).name() for d in (-1, 0, 1)}
        return "#ff0000" in col

    assert red_at(1.5) and red_at(8.5) and not red_at(5.0)
    assert curve.setData(x, np.full(11, 5.0))  # the gap closed, in the same polygon
    assert red_at(5.0)
    assert curve.setData([], []) and not red_at(1.5)


def test_a_live_title_changes_in_place_without_a_relayout(qtbot):
    chart = shown(qtbot, DepthChart())
    label = chart.plots[0].titleLabel
    chart.set_title("Depth · mid 1", force=True)
    layouts = []
    label.item.setHtml = lambda html, f=label.item.setHtml: (layouts.append(html), f(html))[1]
    vb_rect = chart.plots[0].vb.sceneBoundingRect()
    chart.set_title("Depth · mid 2", force=True)
    assert chart.title_text == "Depth · mid 2" and label.item.toPlainText() == "Depth · mid 2"
    assert label.text == "Depth · mid 2" and len(layouts) == 1
    assert chart.plots[0].vb.sceneBoundingRect() == vb_rect
    # the same HTML as pyqtgraph's own setTitle writes
    other = shown(qtbot, DepthChart())
    other.plots[0].setTitle("Depth · mid 2", color=theme.TEXT, size="9pt")
    assert label.item.toHtml() == other.plots[0].titleLabel.item.toHtml()
    chart.set_title("two<br>lines", force=True)  # a new height: the full path sizes the row
    assert label.item.toPlainText() == "two\nlines" and label.text == "two<br>lines"


def test_a_plot_frame_repaints_the_plot_alone_not_the_widgets_under_it(qtbot):
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    class Paints(QObject):
        count = 0

        def eventFilter(self, obj, ev):  # noqa: N802 (Qt name)
            if ev.type() == QEvent.Type.Paint:
                self.count += 1
            return False

    host = QWidget()
    host.setStyleSheet("QWidget { background: #0e1117; }")  # as the app's: a styled background
    chart = DepthChart()
    QVBoxLayout(host).addWidget(chart)
    shown(qtbot, host)
    snap = snapshots(3)[-1]
    chart.draw(snap)
    qtbot.waitUntil(lambda: chart.paints > 0)
    under = Paints()
    host.installEventFilter(under)
    painted = chart.paints
    chart.set_title("Depth · a new frame", force=True)
    chart.lines.set(1, 1.0, "worst fill")
    qtbot.waitUntil(lambda: chart.paints > painted)
    assert under.count == 0  # its background is its own: the host is not repainted under it


def test_history_buckets_keep_the_newest_values_and_the_widest_spread():
    snaps = snapshots(6)
    h = History(seconds=10, bucket_s=0.05)
    t0 = 1000.0
    for i, s in enumerate(snaps[:3]):
        h.add(s, summarise(s), t0 + 0.01 * i)  # one bucket
    h.add(snaps[3], summarise(snaps[3]), t0 + 0.2)  # a new one
    rows = h.series.view()
    assert rows.shape[0] == 2
    assert rows[0, COL["mid"]] == snaps[2].features.mid
    assert rows[0, COL["spread_bps"]] == max(s.features.spread_bps for s in snaps[:3])
    assert rows[1, COL["book_slippage_bps"]] == pytest.approx(snaps[3].fill.slippage_mid_bps)
    assert len(h.estimate_us) == 4  # every fresh snapshot's receive -> estimate latency


# --- the estimate reader ------------------------------------------------------------------------
def test_summary_without_models_has_exact_book_values_and_no_model_values():
    s = snapshots(2)[-1]
    assert s.estimate is None
    m = summarise(s)
    assert m.book_slippage_bps == pytest.approx(s.fill.slippage_mid_bps)
    assert m.book_slippage_usd == pytest.approx(s.fill.slippage_mid_usd)
    assert m.model_slippage_bps is None and m.fees_usd is None and m.net_cost_usd is None
    assert m.band is None and m.schedule is None and not m.has_model


def test_summary_reads_the_models_estimate():
    s = snapshots(30, models=True)[-1]
    est = s.estimate
    m = summarise(s)
    assert m.has_model and not m.exhausted
    assert m.model_slippage_bps == est.predicted_mean_bps and m.net_cost_usd == est.net_cost_usd
    assert (m.fees_usd, m.impact_usd, m.slippage_usd) == (est.fees_usd, est.impact_usd, est.slippage_usd)
    assert m.taker_rate_bps == pytest.approx(est.taker_rate * 1e4)
    assert [q for q, _b, _u in m.quantiles] == [0.5, 0.9, 0.95]
    assert (m.band.lo_bps, m.band.hi_bps) == (est.predicted_q50_bps, est.predicted_q95_bps)
    assert math.fsum(u for _n, u, _b in m.decomposition) == est.net_cost_usd
    assert m.schedule.holdings.tolist() == est.impact.holdings.tolist()
    assert m.schedule.std_cost_usd == est.impact.std_usd
    assert m.schedule.frontier_std.size >= 2
    assert m.quality["quantiles"] == (0.5, 0.9, 0.95) and m.quality["status"]
    assert set(m.model_params) >= {"eps", "k", "gamma", "sigma", "kappa"}


# --- plots --------------------------------------------------------------------------------------
def test_depth_chart_draws_both_sides_cumulative_and_reads_out_a_level(qtbot):
    snap = snapshots(3)[-1]
    chart = shown(qtbot, DepthChart())
    chart.draw(snap)
    bx, by = chart.bids.getData()
    ax, ay = chart.asks.getData()
    assert by[-1] == pytest.approx(snap.book.bid_qty.sum())
    assert ay[-1] == pytest.approx(snap.book.ask_qty.sum())
    assert bx.max() == 0 and bx.min() < 0 and ax.min() == 0 and ax.max() > 0
    mid = snap.features.mid
    third_ask = float(snap.book.ask_px[2])
    text = chart.hover(0, (third_ask / mid - 1) * 1e4 + 1e-9, float(ay[-1]) / 2)
    cum = float(snap.book.ask_qty[:3].sum())
    assert "3 levels" in text and qty(cum, "BTC") in text
    assert usd(float(np.dot(snap.book.ask_px[:3], snap.book.ask_qty[:3])), 0) in text
    assert "bps from mid" in text
    # the order's reach is marked at its worst price
    assert chart.lines.xs[1] == pytest.approx((snap.fill.worst_px / mid - 1) * 1e4)


def test_cost_curve_marks_the_quantity_and_where_depth_runs_out(qtbot):
    market = SyntheticMarket(seed=4)
    engine = Engine(get_instrument("BTC-USDT-SWAP"))
    engine.ingest(market.goquant_message(market.step()))
    plot = shown(qtbot, CostCurvePlot())
    s1 = engine.evaluate(OrderParams(quantity=50_000.0))
    plot.draw(s1, summarise(s1))
    assert plot.mark.x == pytest.approx(math.log10(50_000.0))
    assert plot.limit.x == pytest.approx(math.log10(s1.curve.max_fill), abs=1e-4)
    assert plot.mark.book_y == pytest.approx(s1.fill.slippage_mid_bps)
    s2 = engine.evaluate(OrderParams(quantity=2_000_000.0))
    plot.draw(s2, summarise(s2))
    assert plot.mark.x == pytest.approx(math.log10(2_000_000.0))
    assert plot.mark.book_y == pytest.approx(s2.fill.slippage_mid_bps)
    assert s2.fill.slippage_mid_bps > s1.fill.slippage_mid_bps
    assert not plot.mark.has_band  # no model, no band
    sm = snapshots(20, models=True)[-1]
    plot.draw(sm, summarise(sm))
    assert plot.mark.has_band and plot.mark.model_y == pytest.approx(sm.estimate.predicted_mean_bps)
    assert plot.mark.hi == pytest.approx(max(sm.estimate.predicted_q95_bps, sm.estimate.predicted_mean_bps))
    net_x, net_y = plot.net.getData()
    at = np.interp(math.log10(sm.params.quantity), net_x, net_y)
    assert at == pytest.approx(sm.estimate.net_cost_bps, abs=0.05)  # anchored at the order
    plot.grab()  # the batched marks paint without error
    assert "slippage" in plot.hover(0, math.log10(1e5), 0.0)


def test_time_series_plots_follow_history(qtbot):
    snaps = snapshots(40)
    h = History()
    t0 = time.time() - 4
    for i, s in enumerate(snaps):
        h.add(s, summarise(s), t0 + 0.1 * i)
    sm = shown(qtbot, SpreadMidPlot())
    sm.draw(h, t0 + 4.0)
    x, y = sm.mid.getData()
    assert len(x) == 40 and y[-1] == snaps[-1].features.mid
    assert "mid" in sm.hover(0, x[10], y[10])
    sh = shown(qtbot, SlippageHistoryPlot())
    sh.draw(h, t0 + 4.0)
    assert sh.realised.getData()[1][-1] == pytest.approx(snaps[-1].fill.slippage_mid_bps)
    assert "model pending" in sh.title_text


def test_schedule_plot_says_model_pending_without_a_model(qtbot):
    s = snapshots(1)[0]
    p = shown(qtbot, SchedulePlot())
    p.draw(s, summarise(s))
    assert p.pending.isVisible()
    assert p.twap.getData()[0].tolist() == [0.0, s.params.ac_horizon_s]


def test_schedule_plot_draws_the_optimal_trajectory_and_frontier(qtbot):
    s = snapshots(10, models=True)[-1]
    p = shown(qtbot, SchedulePlot())
    p.draw(s, summarise(s))
    assert not p.pending.isVisible()
    x, y = p.optimal.getData()
    assert x.tolist() == s.estimate.impact.times.tolist() and y[-1] == 0.0
    assert p.frontier.getData()[0].size >= 2
    assert p.chosen.getData()[1][0] == pytest.approx(s.estimate.impact.E_usd)


def test_latency_histogram_counts_samples(qtbot):
    h = History()
    for s in snapshots(30):
        h.add(s, summarise(s), time.time())
    for us in (1000.0, 2000.0, 3000.0):
        h.add_frame_latency(us)
    p = shown(qtbot, LatencyHistogram())
    p.draw(h)
    assert p.frame.getData()[1].sum() == pytest.approx(100.0)
    assert p.stats["frame"][0] == pytest.approx(2000.0)


# --- panels -------------------------------------------------------------------------------------
def test_outputs_panel_shows_exact_values_and_model_pending(qtbot):
    s = snapshots(2)[-1]
    panel = shown(qtbot, OutputsPanel(), 380, 900)
    panel.show_snapshot(s, summarise(s))
    assert panel.cells("book_slip")[1].text() == f"{bps(s.fill.slippage_mid_bps)} bps"
    assert panel.cells("book_slip")[0].text() == usd(s.fill.slippage_mid_usd)
    assert panel.cells("notional")[0].text() == usd(s.fill.filled_usd)
    for key in ("model_slip", "fees", "impact", "net", "mae"):
        assert panel.cells(key)[0].text() == PENDING
    assert panel.text("maker") == "0.0 % 100.0 %"  # a market order is all taker
    assert not panel.banner.isVisible()


def test_outputs_panel_shows_the_models_numbers_and_decomposition(qtbot):
    s = snapshots(30, models=True)[-1]
    est = s.estimate
    panel = shown(qtbot, OutputsPanel(), 380, 900)
    panel.show_snapshot(s, summarise(s))
    assert panel.text("net") == f"{usd(est.net_cost_usd)} {bps(est.net_cost_bps)} bps"
    assert panel.text("fees") == f"{usd(est.fees_usd)} {bps(est.fees_bps)} bps"
    assert panel.text("model_slip") == f"{usd(est.predicted_mean_usd)} {bps(est.predicted_mean_bps)} bps"
    assert bps(est.predicted_q95_bps) in panel.text("quantiles")
    assert panel.text("rates") == "5.00 / 2.00 bps"  # OKX swap Lv1 taker / maker
    text = panel.decomposition_text()
    for item in est.components:
        assert f"· {item.name} {usd(item.usd)}" in text
    assert est.slippage_quality.status in panel.text("status")
    assert "Almgren-Chriss" in panel.model_params.text()


def test_outputs_panel_says_plainly_when_the_book_cannot_fill(qtbot):
    market = SyntheticMarket(seed=4)
    engine = Engine(get_instrument("BTC-USDT-SWAP"))
    engine.ingest(market.goquant_message(market.step()))
    s = engine.evaluate(OrderParams(quantity=5e9))
    assert s.fill.exhausted
    panel = shown(qtbot, OutputsPanel(), 380, 900)
    panel.show_snapshot(s, summarise(s))
    assert panel.banner.isVisible() and "Book exhausted" in panel.banner.text()
    assert "unfilled" in panel.banner.text()


def test_outputs_panel_feed_state_and_counters(qtbot):
    s = snapshots(2)[-1]
    panel = shown(qtbot, OutputsPanel(), 380, 900)
    feed = {"state": "reconnecting", "synthetic": False, "source": "wss://example/ws",
            "counters": {"reconnects": 3}, "resync_requests": 1}
    counters = dict(s.counters, rejected=2, rejected_by_reason={"malformed": 2})
    panel.show_feed(feed, counters, 99.5, 0.25)
    assert "RECONNECTING" in panel.feed_state.text() and panel.feed_state.property("role") == "warn"
    assert panel.text("sync") == "3 1"
    assert "malformed: 2" in panel.reasons.text()
    panel.show_feed({"state": "live", "synthetic": True, "source": "embedded"}, counters, 10, 0.01)
    assert "SYNTHETIC" in panel.feed_state.text() and panel.feed_state.property("role") == "synthetic"


def test_log_slider_maps_positions_to_decades():
    s = LogSlider(0.0, 8.0)
    assert s.to_value(0) == pytest.approx(1.0) and s.to_value(1000) == pytest.approx(1e8)
    assert s.to_value(500) == pytest.approx(1e4)
    assert s.to_position(1e6) == 750


def test_inputs_refuse_an_impossible_value_visibly_and_keep_the_params(qtbot):
    panel = InputsPanel(["BTC-USDT-SWAP", "ETH-USDT-SWAP"], ["Lv1", "VIP1"])
    shown(qtbot, panel, 300, 800)
    before = panel.params
    emitted = []
    panel.paramsChanged.connect(emitted.append)
    panel.ac_lambda.setText("-3")
    panel.ac_lambda.editingFinished.emit()
    assert panel.message.isVisible() and "lambda" in panel.message.text()
    assert panel.params == before and not emitted
    panel.ac_lambda.setText("abc")
    panel.ac_lambda.editingFinished.emit()
    assert "must be a number" in panel.error
    panel.vol_override_on.setChecked(True)
    panel.vol_override.setText("0")
    panel.vol_override.editingFinished.emit()
    assert "volatility override" in panel.error and panel.params.volatility_override is None
    panel.vol_override.setText("45")
    panel.vol_override.editingFinished.emit()
    assert panel.error == "" and not panel.message.isVisible()
    assert emitted[-1].volatility_override == pytest.approx(0.45)


def test_inputs_emit_valid_changes_and_convert_units_with_the_mid(qtbot):
    panel = InputsPanel(["BTC-USDT-SWAP"], ["Lv1", "VIP1"])
    shown(qtbot, panel, 300, 800)
    emitted = []
    panel.paramsChanged.connect(emitted.append)
    assert panel.set_quantity(12_345.0)
    assert emitted[-1].quantity == 12_345.0
    assert panel.slider.value() == panel.slider.to_position(12_345.0)
    panel.slider.setValue(panel.slider.to_position(1e6))  # 1e6 USD on the log scale
    assert emitted[-1].quantity == pytest.approx(1e6)
    panel.set_market(100_000.0, 0.5, 10)
    panel.unit.setCurrentIndex(1)  # base units: converted at the mid
    assert emitted[-1].unit == "base" and emitted[-1].quantity == pytest.approx(10.0)
    assert panel.unit.itemText(1) == "BTC" and panel.book_unit.text() == "contracts (0.01 BTC)"
    panel.sell.click()
    assert emitted[-1].side == "sell"
    panel.order_type.setCurrentText("limit")
    assert panel.limit_offset.isEnabled() and emitted[-1].order_type == "limit"


def test_outputs_panel_limit_order_shows_price_fill_probability_and_maker_share(qtbot):
    from widgets.format import pct, price
    params = OrderParams(quantity=250_000.0, order_type="limit", limit_offset_bps=1.0)
    s = snapshots(30, models=True, params=params)[-1]
    est = s.estimate
    panel = shown(qtbot, OutputsPanel(), 380, 1000)
    panel.show_snapshot(s, summarise(s))
    assert panel.cells("limit")[0].isVisible()
    assert panel.text("limit") == f"{price(est.limit_price, 0.1)} {pct(est.fill_probability)}"
    assert panel.text("maker") == f"{pct(est.maker_fraction)} {pct(est.taker_fraction)}"
    market = snapshots(3, models=True)[-1]
    panel.show_snapshot(market, summarise(market))
    assert not panel.cells("limit")[0].isVisible()  # no limit price for a market order
