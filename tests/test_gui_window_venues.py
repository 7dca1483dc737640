"""The window's Venues tab (issue 12) with its real wiring: three venues, each on its own embedded
synthetic server over a real websocket on 127.0.0.1, decoded on their drain threads, priced by
the venues worker thread, handed to the window by a queued signal and drawn by the frame timer,
beside the single-venue session; ``gui --venues`` arguments.
"""
from __future__ import annotations

import threading

import pytest

import dataclasses

import numpy as np

from app.gui.venues import VenuesSignals, VenuesWorker, default_venues, order_for
from core.compute.best_execution import LIVE, STALE, Order, best_execution, synthetic_books
from core.compute.venue_curves import venue_curves
from core.feed.venue_set import VenuesSnapshot, parse_venues
from core.params import InvalidParams, OrderParams
from tests.gui_support import qloop, settings_file  # noqa: F401 (fixtures)
from tests.test_gui_window import close, open_window
from widgets.format import usd
from widgets.venues_view import COL, curve_grid

pytestmark = pytest.mark.gui

THREE = "okx:BTC-USDT-SWAP,binance-usdm:BTCUSDT,bybit-linear:BTCUSDT"


def our_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("slipscope")]


def open_with_venues(qtbot, loop, settings_path, tmp_path, specs=None, rate=20.0):
    """The window as ``gui --venues`` opens it (the single venue on a ThreadFeed beside it)."""
    from app.gui.controller import Controller

    started = []
    original = Controller.start

    async def start(self):
        if specs is not None:
            self.use_venues(specs, seed=7, rate=rate)
        started.append(self)
        await original(self)

    Controller.start = start
    try:
        return open_window(qtbot, loop, settings_path, tmp_path, rate=50.0)
    finally:
        Controller.start = original


def all_live(w) -> bool:
    snap = w.venues_latest
    return (snap is not None and snap.result is not None and len(snap.books) == 3
            and all(b.state == LIVE for b in snap.books) and len(snap.result.legs) >= 1)


def cell(w, row: int, column: str) -> str:
    return w.venues_view.table.item(row, COL[column]).text()


def test_window_with_venues_reaches_three_live_venues_and_shows_the_split(qtbot, qloop, settings_file, tmp_path):  # noqa: F811
    r = open_with_venues(qtbot, qloop, settings_file, tmp_path, specs=parse_venues(THREE))
    w = r.window
    try:
        assert w.plot_area.view_shown("Venues")  # --venues opens on the Venues tab
        assert "SYNTHETIC" in w.venues_view.title.text()
        qtbot.waitUntil(lambda: all_live(w) and w._venues_drawn is w.venues_latest, timeout=30_000)
        snap = w._venues_drawn
        r_ = snap.result
        view = w.venues_view
        assert view.keys == tuple(sorted(s.key for s in parse_venues(THREE)))
        assert view.table.rowCount() == 4  # three venues and the split
        for row, key in enumerate(view.keys):
            assert (cell(w, row, "Venue"), cell(w, row, "Symbol"), cell(w, row, "State")) == (*key, LIVE)
        split = len(view.keys)
        assert cell(w, split, "Venue") == "split"
        assert cell(w, split, "Symbol") == f"{len(r_.legs)} venue{'s' if len(r_.legs) != 1 else ''}"
        assert cell(w, split, "Net USD") == usd(r_.net_cost_usd)
        assert cell(w, split, "Saving USD") == usd(r_.saving_usd)
        # the worker sent the curves of these very books, and the view drew those
        assert_same_curves(snap.curves, venue_curves(snap.books, r_.side, curve_grid(r_.quantity_usd)))
        assert view.curves is snap.curves
        # the window's inputs are the order (USD notional, as the panel shows it)
        p = w.inputs.params
        assert snap.order == Order(p.side, p.quantity, p.unit == "usd")
        # the single-venue session keeps working beside it
        qtbot.waitUntil(lambda: w.latest is not None and w.latest.estimate is not None, timeout=15_000)
        assert r.controller.session is not None and r.controller.session.worker.alive
    finally:
        close(qtbot, r)


def test_the_quantity_slider_reprices_the_whole_view_within_one_frame(qtbot, qloop, settings_file, tmp_path):  # noqa: F811
    r = open_with_venues(qtbot, qloop, settings_file, tmp_path, specs=default_venues(), rate=5.0)
    w = r.window
    try:
        qtbot.waitUntil(lambda: all_live(w) and w._venues_drawn is w.venues_latest, timeout=30_000)
        slider = w.inputs.slider
        slider.setValue(slider.value() + slider.maximum() // 8)
        wanted = w.inputs.params.quantity
        assert wanted != w._venues_drawn.order.quantity
        qtbot.waitUntil(lambda: w.venues_latest.order.quantity == wanted, timeout=2000)
        frames = w.venues_frames
        qtbot.waitUntil(lambda: w._venues_drawn is not None and w._venues_drawn.order.quantity == wanted,
                        timeout=1000)
        # the first frame after it was priced shows it (a venue's book may have moved meanwhile)
        assert w.venues_frames <= frames + 2
        snap = w._venues_drawn
        # the same books priced again by best_execution give the figures on screen
        again = best_execution(snap.books, Order(w.inputs.params.side, wanted, True))
        assert again.net_cost_usd == snap.result.net_cost_usd and again.paid_usd == snap.result.paid_usd
        assert [(g.venue, g.base) for g in again.legs] == [(g.venue, g.base) for g in snap.result.legs]
        split = len(w.venues_view.keys)
        assert cell(w, split, "Net USD") == usd(again.net_cost_usd)
        for row, e in enumerate(again.venues):
            assert cell(w, row, "Net USD") == usd(e.net_cost_usd)
        assert w.venues_view.curves_plot.marker_x == pytest.approx(snap.result.quantity_usd)
    finally:
        close(qtbot, r)


def test_an_order_in_contracts_is_converted_through_the_instrument():
    from core.venues import instrument_for

    swap = instrument_for("okx", "BTC-USDT-SWAP")
    assert order_for(OrderParams(side="sell", quantity=30, unit="contracts"), swap) == \
        Order("sell", 30 * swap.contract_value, False)
    assert order_for(OrderParams(quantity=2.5, unit="base"), swap) == Order("buy", 2.5, False)
    with pytest.raises(InvalidParams, match="spot"):
        order_for(OrderParams(quantity=3, unit="contracts"), instrument_for("okx", "BTC-USDT"))


def test_opening_the_venues_tab_starts_the_default_venues_on_the_synthetic_market(qtbot, qloop, settings_file, tmp_path):  # noqa: F811
    r = open_with_venues(qtbot, qloop, settings_file, tmp_path)
    w = r.window
    try:
        assert r.controller.venues is None and not w.plot_area.view_shown("Venues")
        tabs = w.plot_area.tabs
        assert [tabs.tabText(i) for i in range(tabs.count())][-1] == "Venues"
        w.plot_area.show_view("Venues")
        qtbot.waitUntil(lambda: r.controller.venues is not None, timeout=5000)
        assert {f.spec for f in r.controller.venues.venues.feeds} == set(default_venues())
        assert w.venues_view.title.text().startswith("Venues · SYNTHETIC")
        qtbot.waitUntil(lambda: all_live(w) and w._venues_drawn is w.venues_latest, timeout=30_000)
        # behind the Venues tab the book plots wait; back on them, the newest book at once
        frames = w.frames_drawn
        qtbot.wait(300)
        assert w.frames_drawn == frames and w.latest is not w._drawn
        assert not w.outputs.isVisible()  # the single venue's outputs make room for the table
        session = r.controller.venues
        w.plot_area.tabs.setCurrentIndex(0)
        assert w.outputs.isVisible()
        qtbot.waitUntil(lambda: w._drawn is w.latest, timeout=2000)
        # the tab away and back: the same venues, not a second set
        w.plot_area.show_view("Venues")
        assert r.controller.venues is session
    finally:
        close(qtbot, r)


def test_closing_stops_every_venue_thread_and_server(qtbot, qloop, settings_file, tmp_path):  # noqa: F811
    r = open_with_venues(qtbot, qloop, settings_file, tmp_path, specs=default_venues())
    w = r.window
    qtbot.waitUntil(lambda: all_live(w), timeout=30_000)
    session = r.controller.venues
    threads = [session.worker._thread]
    for feed in session.venues.feeds:
        threads += [feed.drainer._thread, feed.server._thread]
    assert all(t is not None and t.is_alive() for t in threads)
    w.close()
    qtbot.waitUntil(r.controller.closed.done, timeout=20_000)
    assert r.controller.closed.result() == 0
    assert not any(t.is_alive() for t in threads)
    assert r.controller.venues is None and not session.venues.started
    assert our_threads() == []
    close(qtbot, r)


# --- slipscope gui --venues -----------------------------------------------------------------
def gui_args(*argv: str):
    from app.cli.gui import resolve_venues
    from app.cli.main import build_parser

    return resolve_venues(build_parser().parse_args(["gui", *argv]))


def test_gui_takes_venues_and_their_options():
    specs, tiers = gui_args("--venues", THREE, "--url-okx", "ws://127.0.0.1:9", "--fee-tier-okx", "VIP1")
    assert [s.name for s in specs] == THREE.split(",")
    assert specs[0].url.startswith("ws://127.0.0.1:9/") and specs[1].url is None  # the venue's path on the host
    assert tiers == {"okx": "VIP1"}
    assert gui_args() == (None, {})


@pytest.mark.parametrize("argv, says", [
    (["--venues", "okx:NOPE"], "--venues: 'okx:NOPE'"),
    (["--venues", "okx:BTC-USDT-SWAP,okx:BTC-USDT-SWAP"], "listed twice"),
    (["--venues", "okx:BTC-USDT-SWAP,binance-usdm:ETHUSDT"], "same base asset"),
    (["--venues", "nowhere:BTC"], "--venues"),
    (["--venues", "okx:BTC-USDT-SWAP", "--url-binance-usdm", "ws://h:1"], "--url-binance-usdm: binance-usdm is not in --venues"),
    (["--venues", "okx:BTC-USDT-SWAP", "--url-okx", "http://h:1"], "--url-okx"),
    (["--venues", "okx:BTC-USDT-SWAP", "--fee-tier-okx", "Lv99"], "Lv99"),
    (["--url-okx", "ws://h:1"], "needs --venues"),
])
def test_gui_refuses_bad_venues_in_one_line(argv, says):
    from app.cli.args import UsageError

    with pytest.raises(UsageError) as err:
        gui_args(*argv)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_gui_venues_bad_value_exits_with_one_line(tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SLIPSCOPE_SETTINGS=str(tmp_path / "s.ini"))
    out = subprocess.run([sys.executable, "-m", "app", "gui", "--venues", "okx:BTC-USDT-SWAP,bybit-linear:NOPE"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 2, out.stderr[-2000:]
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("slipscope gui: error: --venues: 'bybit-linear:NOPE'")


def test_gui_benchmark_with_venues_reports_the_venues_frames(tmp_path):
    """bench-gui --venues: the app's own start-up with the three default venues, the Venues tab
    in front; its JSON carries the view's frames, latency and snapshot rate."""
    import os
    import subprocess
    import sys

    import orjson

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SLIPSCOPE_SETTINGS=str(tmp_path / "s.ini"))
    out = subprocess.run([sys.executable, "-m", "app", "bench-gui", "--venues", "--rates", "20", "--seconds", "2",
                          "--warmup", "3", "--json"], capture_output=True, text=True, timeout=180, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    run = orjson.loads(out.stdout.strip().splitlines()[-1])["runs"][0]
    v = run["venues"]
    assert v["venues"] == THREE.split(",") and run["rate"] == 20
    assert v["snapshots_per_s"] > 20 and 0 < v["fps"] <= 61  # three venues at 20/s each, drawn newest only
    assert 0 < v["priced_to_frame_ms"]["p50"] <= v["priced_to_frame_ms"]["p99"] < 1000
    assert run["cpu_pct_one_core"] > 0 and "MainThread" in run["cpu_pct_by_thread"]


def assert_same_curves(a, b) -> None:
    assert a is not None and (a.side, a.keys, a.reference_px) == (b.side, b.keys, b.reference_px)
    assert np.array_equal(a.sizes_usd, b.sizes_usd)
    assert np.array_equal(a.venue_bps, b.venue_bps, equal_nan=True)
    assert np.array_equal(a.split_bps, b.split_bps, equal_nan=True)


class _Venues:
    """What VenuesWorker needs of a VenueSet to be built (with_curves is called directly)."""

    def poke(self) -> None:
        pass


def _priced(books, engine_snaps, side: str, usd_: float) -> VenuesSnapshot:
    order = Order(side, usd_)
    return VenuesSnapshot(0, order, books, best_execution(books, order), snapshots=engine_snaps)


def test_the_worker_sends_the_curves_of_the_books_and_remakes_them_only_when_they_change(qtbot):
    worker = VenuesWorker(_Venues(), VenuesSignals(), None)
    books = tuple(sorted(synthetic_books(400, seed=3), key=lambda b: b.key))
    engine = tuple(object() for _ in books)  # what each book was read from
    first = worker.with_curves(_priced(books, engine, "buy", 5e7))
    assert_same_curves(first.curves, venue_curves(books, "buy", curve_grid(5e7)))
    assert first.result is not None and first.books is books
    # another size on the same books: the same curves object (the view moves only its marker)
    assert worker.with_curves(_priced(books, engine, "buy", 2e5)).curves is first.curves
    # new books (a new engine snapshot): made anew, on them
    other = tuple(sorted(synthetic_books(400, seed=4), key=lambda b: b.key))
    newer = (engine[0], object(), engine[2])
    again = worker.with_curves(_priced(other, newer, "buy", 5e7)).curves
    assert again is not first.curves
    assert_same_curves(again, venue_curves(other, "buy", curve_grid(5e7)))
    # a venue's state, the side, an order beyond the grid: each made anew
    stale = tuple(dataclasses.replace(b, state=STALE) if i == 1 else b for i, b in enumerate(other))
    c = worker.with_curves(_priced(stale, newer, "buy", 5e7)).curves
    assert c is not again and np.isnan(c.venue_bps[1]).all()
    sell = worker.with_curves(_priced(stale, newer, "sell", 5e7)).curves
    assert sell.side == "sell" and sell is not c
    wide = worker.with_curves(_priced(stale, newer, "sell", 5e9)).curves
    assert_same_curves(wide, venue_curves(stale, "sell", curve_grid(5e9)))
    assert wide.sizes_usd[-1] == 1e10
