"""The main window with its real wiring: qasync loop, worker thread, queued signals, frame timer.

Frames come from ``ThreadFeed`` (real synthetic messages pushed from a thread into the real
pipeline); the end-to-end tests over the embedded websocket server are in test_gui_e2e.py.
"""
from __future__ import annotations

import csv
import gc
import math
import threading

import orjson
import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtGui import QImage

from app.gui import settings as store
from app.gui.controller import Controller, check_params, fee_tiers
from app.gui.window import MainWindow
from core.instruments import known_instruments
from tests.gui_support import ThreadFeed, qloop, run_coro, settings_file  # noqa: F401 (fixtures)
from widgets.format import usd

pytestmark = pytest.mark.gui


class Running:
    def __init__(self, window: MainWindow, controller: Controller, feeds: list[ThreadFeed]) -> None:
        self.window, self.controller, self.feeds = window, controller, feeds

    @property
    def feed(self) -> ThreadFeed:
        return self.feeds[-1]


def open_window(qtbot, loop, settings_path, tmp_path, rate=100.0, limit=None, factory=None, choice=None) -> Running:
    """The window and its controller, started; ``choice`` (a FeedChoice): the feed the app runs,
    whose venue the window opens on, as ``slipscope gui`` does."""
    from widgets import theme
    theme.configure_pyqtgraph(False)
    settings = store.open_settings(settings_path)
    settings.setValue("export/dir", str(tmp_path / "exports"))
    # not qtbot.addWidget: pytest-qt would delete the window before our fixture closes it
    if choice is None:
        window = MainWindow(settings, fee_tiers, known_instruments(), check=check_params)
    else:
        window = MainWindow(settings, fee_tiers, check=check_params, venue=choice.feed)
    feeds: list = []
    make = factory or (lambda inst_id: ThreadFeed(rate=rate, limit=limit))

    def tracked(inst_id: str):
        feeds.append(make(inst_id))
        return feeds[-1]

    controller = Controller(window, tracked, choice)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    run_coro(qtbot, loop, controller.start(), timeout_ms=30_000)
    return Running(window, controller, feeds)


def close(qtbot, r: Running) -> None:
    if not r.controller.closed.done():
        r.window.close()
        qtbot.waitUntil(r.controller.closed.done, timeout=10_000)
    dispose(r.window)


def dispose(window) -> None:
    """Delete the window now, while the application exists: a Qt object left to the garbage
    collector at interpreter exit can take pyqtgraph's scene down in the wrong order."""
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


@pytest.fixture
def app_window(qtbot, qloop, settings_file, tmp_path):  # noqa: F811
    r = open_window(qtbot, qloop, settings_file, tmp_path)
    qtbot.waitUntil(lambda: r.window.latest is not None and r.window.frames_drawn > 2, timeout=15_000)
    yield r
    close(qtbot, r)


def test_live_data_fills_plots_and_outputs(qtbot, app_window):
    w = app_window.window
    snap = w.latest
    assert snap.feed["state"] == "live" and snap.feed["synthetic"] is True
    assert w.depth.bids.getData()[0].size > 100 and w.cost.slip.getData()[0].size > 10
    qtbot.waitUntil(lambda: w.outputs.cells("notional")[0].text() != "—", timeout=2000)
    qtbot.waitUntil(lambda: len(w.history.frame_us) > 3, timeout=5000)
    assert "SYNTHETIC" in w.badge.text() and w.badge.property("role") == "synthetic"
    assert "SYNTHETIC" in w.source_label.text()
    # receive -> frame latency is measured at paint time, and is positive
    assert (w.history.frame_us.view()[:, 0] > 0).all()


def test_quantity_change_is_priced_on_the_current_book_within_one_frame(qtbot, qloop, settings_file, tmp_path):  # noqa: F811
    # the feed sends 3 books and stops: any update after that comes from the input alone
    r = open_window(qtbot, qloop, settings_file, tmp_path, rate=50.0, limit=3)
    w = r.window
    try:
        qtbot.waitUntil(lambda: w.latest is not None and r.feed.pushed == 3 and
                        w.latest.counters["applied"] == 3 and w._drawn is w.latest, timeout=15_000)
        book_version = w.latest.book.version
        w.inputs.set_quantity(1_500_000.0)
        qtbot.waitUntil(lambda: w.latest.params.quantity == 1_500_000.0, timeout=2000)
        frames_when_priced = w.frames_drawn
        qtbot.waitUntil(lambda: w.cost.marker_x == 1_500_000.0, timeout=1000)
        assert w.frames_drawn <= frames_when_priced + 1  # the next frame shows it
        snap = w.latest
        assert snap.book.version == book_version  # same book, new inputs
        # the numbers followed in that same frame, not at the next 5 Hz label refresh
        assert w.outputs.cells("notional")[0].text() == usd(snap.fill.filled_usd)
        assert w.cost.mark.x == pytest.approx(math.log10(1_500_000.0))
        assert w.depth.lines.xs[1] == pytest.approx((snap.fill.worst_px / snap.features.mid - 1) * 1e4)
    finally:
        close(qtbot, r)


def test_compiler_pages_are_released_once_a_priced_snapshot_is_on_screen(qtbot, app_window):
    from app.gui.startup import release_memory_when_warm
    from core import memory

    w = app_window.window
    # only pages no other process maps can be paged out (another Python may share LLVM's)
    warm_up_pages = memory.resident_mb(field="Private_Clean")
    timer = release_memory_when_warm(w, poll_ms=20)
    qtbot.waitUntil(lambda: not timer.isActive(), timeout=5000)
    assert w.latest.estimate is not None  # it waited for the models' estimate
    assert timer.parent() is w  # dies with the window
    after = memory.resident_mb(field="Private_Clean")
    if warm_up_pages > 5.0 and memory.release_compiler_pages() > 0:  # a kernel with MADV_PAGEOUT
        assert after < warm_up_pages / 2
    n = w.history.snapshots
    qtbot.waitUntil(lambda: w.history.snapshots > n + 3, timeout=5000)  # still pricing books


def test_invalid_input_is_refused_in_the_window(qtbot, app_window):
    w = app_window.window
    before = w.inputs.params
    w.inputs.ac_lambda.setText("-1")
    w.inputs.ac_lambda.editingFinished.emit()
    assert "Input refused" in w.message_label.text()
    assert w.inputs.message.isVisible() and w.inputs.params == before
    qtbot.wait(100)
    assert w.latest.params.ac_lambda == before.ac_lambda


def test_freeze_keeps_buffers_filling_and_go_live_catches_up(qtbot, app_window):
    w = app_window.window
    w.freeze_action.trigger()
    assert w.frozen and w.frozen_badge.isVisible()
    qtbot.wait(60)
    frozen_x = w.depth.bids.getData()[0].copy()
    frozen_drawn = w._drawn
    rows = w.history.series.total
    qtbot.waitUntil(lambda: w.history.series.total > rows + 3, timeout=3000)  # data keeps coming
    assert w._drawn is frozen_drawn and (w.depth.bids.getData()[0] == frozen_x).all()
    assert w.latest is not frozen_drawn
    w.live_action.trigger()
    assert not w.frozen and not w.frozen_badge.isVisible()
    qtbot.waitUntil(lambda: w._drawn is not frozen_drawn, timeout=2000)


def test_zoom_stops_following_until_reset(qtbot, app_window):
    w = app_window.window
    vb = w.depth.plot.getViewBox()
    vb.setXRange(-1.0, 1.0, padding=0)
    vb.sigRangeChangedManually.emit([True, False])  # what a wheel or drag emits
    assert not w.depth.following
    drawn = w.frames_drawn
    qtbot.waitUntil(lambda: w.frames_drawn > drawn + 3, timeout=3000)
    assert vb.viewRange()[0] == pytest.approx([-1.0, 1.0])
    w.reset_action.trigger()
    qtbot.waitUntil(lambda: vb.viewRange()[0][1] > 1.5, timeout=3000)
    assert w.depth.following


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_export_writes_every_file_with_the_snapshot_content(qtbot, app_window, tmp_path):
    w = app_window.window
    qtbot.waitUntil(lambda: len(w.history.series) > 3, timeout=5000)
    w.freeze_action.trigger()  # export what is on screen
    qtbot.wait(50)
    snap = w._drawn
    rows = len(w.history.series)
    assert w.export_snapshot()  # collects synchronously, writes on a thread
    qtbot.waitUntil(lambda: w.last_export is not None or bool(w.last_export_error), timeout=10_000)
    folder = w.last_export
    assert folder is not None and folder.parent == tmp_path / "exports", w.last_export_error
    assert folder.name.startswith("slipscope-BTC-USDT-SWAP-")
    names = {p.name for p in folder.iterdir()}
    plots = {f"plot_{n}.png" for n in ("depth", "cost_curve", "spread_mid", "slippage", "schedule", "latency")}
    assert names == {"window.png", "book.csv", "cost_curve.csv", "timeseries.csv", "snapshot.json",
                     "manifest.json"} | plots
    win = QImage(str(folder / "window.png"))
    assert win.width() == w.width() and win.height() > w.height()  # the window under a title strip
    for name in plots:
        img = QImage(str(folder / name))
        assert not img.isNull() and img.width() >= 200
    # the same files as `slipscope headless --export`, byte for byte for the book and curve
    from core.export import book_csv, curve_csv
    assert (folder / "book.csv").read_bytes() == book_csv(snap)
    assert (folder / "cost_curve.csv").read_bytes() == curve_csv(snap)
    book = read_csv(folder / "book.csv")
    bids = [r for r in book[1:] if r[0] == "bid"]
    asks = [r for r in book[1:] if r[0] == "ask"]
    assert len(bids) == snap.book.bid_px.size and len(asks) == snap.book.ask_px.size
    assert float(bids[0][1]) == snap.book.best_bid and float(asks[0][1]) == snap.book.best_ask
    ts = read_csv(folder / "timeseries.csv")
    assert ts[0][:3] == ["time_unix_s", "decision_time_ms", "seq"] and len(ts) - 1 <= rows
    assert int(ts[-1][2]) == snap.seq  # up to the exported snapshot, not past it
    assert float(ts[1][0]) == w.history.series.view()[0, 0]  # oldest row: the buffer is not full
    doc = orjson.loads((folder / "snapshot.json").read_bytes())
    assert doc["inputs"]["quantity"] == snap.params.quantity and doc["inputs"]["side"] == snap.params.side
    assert doc["fill"]["slippage_mid_bps"] == pytest.approx(snap.fill.slippage_mid_bps)
    assert doc["estimate"]["net_cost_usd"] == pytest.approx(snap.estimate.net_cost_usd)
    assert doc["estimate"]["impact"]["kappa"] == pytest.approx(snap.estimate.impact.kappa)
    assert doc["book"]["best_bid"] == snap.book.best_bid
    assert doc["counters"]["applied"] == snap.counters["applied"]
    assert doc["instrument"]["inst_id"] == "BTC-USDT-SWAP" and doc["app"]["version"]
    assert doc["feed"]["synthetic"] is True and doc["extras"]["gui"]["frozen"] is True


def test_failed_export_is_reported_and_loses_nothing(qtbot, app_window, tmp_path):
    w = app_window.window
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the export folder should go")
    w.export_dir = blocker / "exports"
    rows = len(w.history.series)
    assert w.export_snapshot()
    qtbot.waitUntil(lambda: bool(w.last_export_error), timeout=10_000)
    assert "Export failed" in w.message_label.text() and "not-a-dir" in w.message_label.text()
    assert w.last_export is None
    assert len(w.history.series) >= rows  # nothing held was dropped
    received = w.latest.counters["received"]
    qtbot.waitUntil(lambda: w.latest.counters["received"] > received, timeout=3000)  # still live
    w.export_dir = tmp_path / "ok"
    assert w.export_snapshot()
    qtbot.waitUntil(lambda: w.last_export is not None, timeout=10_000)
    assert [p.name for p in (tmp_path / "ok").iterdir()] == [w.last_export.name]  # nothing half-written


def test_settings_persist_between_launches(qtbot, qloop, settings_file, tmp_path):  # noqa: F811
    r = open_window(qtbot, qloop, settings_file, tmp_path)
    r.window.inputs.set_quantity(777_000.0)
    r.window.inputs.sell.click()
    r.window.inputs.exec_delay.setValue(500.0)
    close(qtbot, r)
    r2 = open_window(qtbot, qloop, settings_file, tmp_path)
    try:
        p = r2.window.inputs.params
        assert (p.quantity, p.side, p.exec_delay_ms) == (777_000.0, "sell", 500.0)
        assert r2.window.inputs.sell.isChecked()
    finally:
        close(qtbot, r2)


def test_instrument_switch_restarts_the_feed_for_it(qtbot, app_window):
    r = app_window
    w = r.window
    first = r.feed
    w.inputs.instrument.setCurrentText("ETH-USDT-SWAP")
    qtbot.waitUntil(lambda: w.latest is not None and w.latest.instrument.inst_id == "ETH-USDT-SWAP",
                    timeout=10_000)
    assert first.client_stopped and first.server_stopped and len(r.feeds) == 2
    assert w.inputs.unit.itemText(1) == "ETH"


def test_close_stops_feed_worker_and_server_in_order(qtbot, qloop, settings_file, tmp_path):  # noqa: F811
    r = open_window(qtbot, qloop, settings_file, tmp_path)
    qtbot.waitUntil(lambda: r.window.latest is not None, timeout=15_000)
    worker = r.controller.session.worker
    order = []
    feed = r.feed
    stop_client, stop_server = feed.stop_client, feed.stop_server

    async def client() -> None:
        await stop_client()
        order.append(("client", worker.alive))

    async def server() -> None:
        await stop_server()
        order.append(("server", worker.alive))

    feed.stop_client, feed.stop_server = client, server
    r.window.close()
    assert not r.window.isVisible() and not r.controller.closed.done()  # hidden, shutting down
    qtbot.waitUntil(r.controller.closed.done, timeout=10_000)
    assert order == [("client", True), ("server", False)]  # client, then worker, then server
    assert not r.window.isVisible() and not r.window.timer.isActive()
    assert not any(t.name == "slipscope-compute" for t in threading.enumerate())
    dispose(r.window)


def test_hidden_window_draws_nothing_but_keeps_buffering(qtbot, app_window):
    w = app_window.window
    w.hide()
    qtbot.wait(100)
    drawn, rows = w.frames_drawn, w.history.snapshots
    qtbot.waitUntil(lambda: w.history.snapshots > rows + 10, timeout=5000)
    assert w.frames_drawn == drawn  # nothing painted while hidden
    w.show()
    qtbot.waitUntil(lambda: w.frames_drawn > drawn, timeout=3000)


def test_opengl_is_never_enabled_offscreen(qtbot, app_window):
    from app.gui.opengl import resolve_opengl
    ok, why = resolve_opengl(True)
    assert not ok and "offscreen" in why
    w = app_window.window
    assert not w.gl_action.isEnabled() and "offscreen" in w.gl_action.toolTip()
    w.set_opengl(True)  # refused: stays on the raster painter
    assert not w.opengl
