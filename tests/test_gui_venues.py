"""The window on every venue: the Exchange and Instrument selectors list the registry's venues and
each venue's symbols, the window prices each venue's embedded synthetic feed over a real socket on
127.0.0.1, switching the exchange reconnects (or, on a URL feed, asks), and the units, fee tiers
and the feed dialog follow the venue.
"""
from __future__ import annotations

import threading

import pytest

from app.gui import settings as store
from app.gui.controller import fee_tiers
from app.gui.feed_source import FeedChoice, FeedFormError, WebsocketFeed, choice_from_form, stream_url
from app.gui.startup import GuiOptions, remembered_feed
from core.models import fees
from core.sim.server import EmbeddedServer, SyntheticSource
from core.venues import get_venue, instrument_for, venue_names, venue_symbols
from tests.gui_support import qloop, settings_file  # noqa: F401 (fixtures)
from tests.test_gui_window import close, open_window
from widgets.feed_dialog import FeedDialog
from widgets.inputs_panel import InputsPanel, drawable, venue_label

pytestmark = pytest.mark.gui


def our_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("slipscope")]


def open_on(qtbot, loop, settings_path, tmp_path, choice: FeedChoice):
    return open_window(qtbot, loop, settings_path, tmp_path, choice=choice,
                       factory=lambda inst_id: WebsocketFeed(choice, inst_id))


def live(w, exchange: str | None = None) -> bool:
    snap = w.latest
    return (snap is not None and snap.feed.get("state") == "live" and snap.estimate is not None
            and (exchange is None or snap.instrument.exchange == exchange))


def pick_exchange(w, venue: str) -> None:
    """Pick ``venue`` in the Exchange selector, as a user would."""
    box = w.inputs.exchange
    box.setCurrentIndex(box.findData(venue))


# --- the panel alone --------------------------------------------------------------------------
def panel_on(qtbot, venue: str) -> InputsPanel:
    panel = InputsPanel(None, fee_tiers, venue=venue)
    qtbot.addWidget(panel)
    return panel


@pytest.mark.parametrize("venue", venue_names())
def test_the_selectors_list_every_venue_and_its_symbols(qtbot, venue):
    panel = panel_on(qtbot, venue)
    box = panel.exchange
    assert [box.itemData(i) for i in range(box.count())] == list(venue_names())
    assert [box.itemText(i) for i in range(box.count())] == [venue_label(n) for n in venue_names()]
    assert box.currentData() == venue and box.currentText() == venue_label(venue)
    assert box.accessibleName() == "Exchange" and panel.instrument.accessibleName() == "Instrument"
    combo = panel.instrument
    assert [combo.itemText(i) for i in range(combo.count())] == venue_symbols(venue)
    inst = panel.instrument_spec
    assert inst == instrument_for(venue, panel.instrument_id)
    # the order is on the venue's own fee table, at its regular tier
    assert panel.params.exchange == inst.exchange
    tiers = [panel.fee_tier.itemText(i) for i in range(panel.fee_tier.count())]
    assert tiers == fees.known_tiers(inst.exchange, inst.kind) and panel.params.fee_tier == get_venue(venue).fee_tier
    # contracts are offered only where the venue's books count contracts
    contracts = panel.unit.model().item(2)
    assert contracts.isEnabled() == (inst.size_unit == "contracts")
    assert panel.book_unit.text() == inst.unit_label


def test_exchange_switch_lists_the_venues_symbols_and_keeps_the_order_in_its_worth(qtbot):
    panel = panel_on(qtbot, "okx")
    panel.set_market(100_000.0, 0.5, 10)
    asked: list[tuple[str, str]] = []
    panel.venueChanged.connect(lambda v, s: asked.append((v, s)))
    panel.instrument.setCurrentText("BTC-USDT-SWAP")
    panel.unit.setCurrentIndex(2)  # contracts: OKX's swap has them
    panel.set_quantity(300.0)  # 3 BTC
    assert panel.params.unit == "contracts" and panel.params.exchange == "OKX"
    pick_exchange_of(panel, "binance-usdm")
    assert asked == [("binance-usdm", "BTCUSDT")]  # the same base and kind on the new venue
    assert panel.instrument_id == "BTCUSDT" and panel.venue == "binance-usdm"
    p = panel.params
    assert (p.unit, p.quantity, p.exchange, p.fee_tier) == ("base", 3.0, "Binance", "VIP0")
    assert "BTCUSDT has no contracts: the order is now 3 BTC" in panel.message.text()
    assert not panel.unit.model().item(2).isEnabled() and panel.book_unit.text() == "BTC"
    # contracts picked anyway (a script, a keyboard) are refused out loud, naming the field
    panel.unit.setCurrentIndex(2)
    assert panel.params.unit == "base" and panel.unit.currentIndex() == 1
    assert panel.message.text().startswith("Refused: Quantity unit: quantity in contracts: BTCUSDT on Binance")
    # spot on the same exchange family: the spot symbol, spot fees
    panel.instrument.setCurrentText("ETHUSDT")
    pick_exchange_of(panel, "bybit-spot")
    assert asked[-1] == ("bybit-spot", "ETHUSDT") and panel.instrument_spec.kind == "spot"
    assert (panel.params.exchange, panel.params.fee_tier) == ("Bybit", "Non-VIP")
    # back to OKX: its own symbols and tiers again
    pick_exchange_of(panel, "okx")
    assert asked[-1] == ("okx", "ETH-USDT") and panel.params.fee_tier == "Lv1"


def test_a_label_the_font_cannot_draw_reads_in_plain_letters(qtbot):
    from PySide6.QtGui import QFontMetrics, QGuiApplication

    can = QFontMetrics(QGuiApplication.font()).inFontUcs4(ord("Ⓢ"))
    assert drawable("Binance USDⓈ-M") == ("Binance USDⓈ-M" if can else "Binance USDS-M")
    assert drawable("OKX") == "OKX" and venue_label("okx") == "OKX"


def pick_exchange_of(panel: InputsPanel, venue: str) -> None:
    panel.exchange.setCurrentIndex(panel.exchange.findData(venue))


# --- the window on each venue's embedded synthetic feed ---------------------------------------
@pytest.mark.parametrize("venue", venue_names())
def test_the_window_prices_each_venues_synthetic_feed(qtbot, qloop, settings_file, tmp_path, venue):  # noqa: F811
    choice = FeedChoice(feed=venue, rate=50.0)
    r = open_on(qtbot, qloop, settings_file, tmp_path, choice)
    w = r.window
    try:
        assert w.inputs.exchange.currentText() == venue_label(venue)
        symbol = w.inputs.instrument_id
        assert symbol in venue_symbols(venue)
        qtbot.waitUntil(lambda: live(w) and w.frames_drawn > 3, timeout=60_000)
        snap = w.latest
        assert snap.feed["synthetic"] is True and snap.feed["url"].startswith("ws://127.0.0.1:")
        assert snap.instrument == instrument_for(venue, symbol)
        assert snap.counters["rejected"] == 0 and snap.counters["applied"] > 3
        assert snap.params.exchange == snap.instrument.exchange and snap.estimate.net_cost_usd > 0
        qtbot.waitUntil(lambda: "LIVE · SYNTHETIC" in w.badge.text(), timeout=5000)
        qtbot.waitUntil(lambda: w.outputs.cells("notional")[0].text() != "—", timeout=5000)
    finally:
        close(qtbot, r)
    qtbot.waitUntil(lambda: not our_threads(), timeout=10_000)


def test_switching_exchange_reconnects_to_that_venues_synthetic_feed(qtbot, qloop, settings_file, tmp_path):  # noqa: F811
    r = open_on(qtbot, qloop, settings_file, tmp_path, FeedChoice(rate=50.0))
    w, controller = r.window, r.controller
    try:
        qtbot.waitUntil(lambda: live(w, "OKX"), timeout=30_000)
        pick_exchange(w, "binance-usdm")
        qtbot.waitUntil(lambda: controller.switches == 1, timeout=30_000)
        qtbot.waitUntil(lambda: live(w, "Binance"), timeout=30_000)
        snap = w.latest
        assert snap.instrument.inst_id == "BTCUSDT" and snap.instrument.kind == "swap"
        assert "/ws/btcusdt@depth" in snap.feed["url"] and snap.counters["rejected"] == 0
        assert snap.params.fee_tier == "VIP0" and w.inputs.instrument_id == "BTCUSDT"
        assert controller.choice == FeedChoice(feed="binance-usdm", rate=50.0, instrument="BTCUSDT")
        assert our_threads().count("slipscope-feed-server") == 1  # the GoQuant server was stopped
        remembered = store.load_feed_form(w.settings)  # the next launch reopens it
        assert remembered["feed"] == "binance-usdm" and remembered["source"] == "synthetic"
        # same symbol, another venue: Bybit's book, never a late Binance snapshot shown for it
        pick_exchange(w, "bybit-linear")
        qtbot.waitUntil(lambda: controller.switches == 2 and live(w, "Bybit"), timeout=30_000)
        assert w.latest.instrument.inst_id == "BTCUSDT" and "/v5/public/linear" in w.latest.feed["url"]
        # another instrument of the venue: reopened on it
        w.inputs.instrument.setCurrentText("ETHUSDT")
        qtbot.waitUntil(lambda: live(w, "Bybit") and w.latest.instrument.inst_id == "ETHUSDT", timeout=30_000)
        assert controller.choice.instrument == "ETHUSDT" and w.settings.value("feed/instrument") == "ETHUSDT"
    finally:
        close(qtbot, r)
    qtbot.waitUntil(lambda: not our_threads(), timeout=10_000)
    # the next launch without a feed argument reopens Bybit linear's ETHUSDT, as the app starts
    settings = store.open_settings(settings_file)
    choice, _factory, note = remembered_feed(GuiOptions(choice=FeedChoice(), feed_explicit=False), settings, None)
    assert note == "" and (choice.feed, choice.instrument, choice.source) == ("bybit-linear", "ETHUSDT", "synthetic")
    r = open_on(qtbot, qloop, settings_file, tmp_path, choice)
    try:
        w = r.window
        assert (w.inputs.venue, w.inputs.instrument_id, w.inputs.exchange.currentText()) == \
            ("bybit-linear", "ETHUSDT", "Bybit linear")
        qtbot.waitUntil(lambda: live(w, "Bybit") and w.latest.instrument.inst_id == "ETHUSDT", timeout=30_000)
    finally:
        close(qtbot, r)


def test_an_exchange_whose_feed_fails_to_start_puts_the_running_market_back(qtbot, qloop, settings_file, tmp_path):  # noqa: F811
    r = open_on(qtbot, qloop, settings_file, tmp_path, FeedChoice(rate=50.0))
    w, controller = r.window, r.controller
    try:
        qtbot.waitUntil(lambda: live(w, "OKX"), timeout=30_000)

        class Unreachable(WebsocketFeed):
            async def start(self, pipeline, instrument):
                raise OSError("no route to the test's feed")

        working = controller.feed_factory
        controller.feed_factory = lambda choice, inst_id: (
            Unreachable(choice, inst_id) if choice.feed == "bybit-spot" else working(choice, inst_id))
        pick_exchange(w, "bybit-spot")
        qtbot.waitUntil(lambda: "Could not start the new feed" in w.message_label.text(), timeout=30_000)
        assert (w.inputs.venue, w.inputs.instrument_id) == ("goquant", "BTC-USDT-SWAP")
        assert w.inputs.exchange.currentData() == "goquant" and w.inputs.params.exchange == "OKX"
        assert controller.choice.feed == "goquant" and controller.switches == 0
        assert store.load_feed_form(w.settings) is None  # a feed that never started is not remembered
        qtbot.waitUntil(lambda: live(w, "OKX"), timeout=30_000)
    finally:
        close(qtbot, r)
    qtbot.waitUntil(lambda: not our_threads(), timeout=10_000)


def test_on_a_url_feed_switching_exchange_asks_and_cancel_changes_nothing(qtbot, qloop, settings_file, tmp_path):  # noqa: F811
    with EmbeddedServer(SyntheticSource(("BTCUSDT", "ETHUSDT"), seed=5, rate=40.0, venue="binance-usdm")) as server:
        host = f"127.0.0.1:{server.urls.port}"
        okx = EmbeddedServer(SyntheticSource(("BTC-USDT-SWAP",), seed=3, rate=40.0))
        urls = okx.start()
        try:
            choice = FeedChoice(feed="okx", url=urls.for_feed("okx", "BTC-USDT-SWAP"), instrument="BTC-USDT-SWAP")
            r = open_on(qtbot, qloop, settings_file, tmp_path, choice)
            w, controller = r.window, r.controller
            try:
                qtbot.waitUntil(lambda: live(w, "OKX"), timeout=30_000)
                pick_exchange(w, "binance-usdm")
                dlg = w.feed_dialog
                qtbot.waitUntil(lambda: dlg is not None and dlg.isVisible(), timeout=5000)
                assert dlg.source.currentData() == "url" and dlg.venue.currentData() == "binance-usdm"
                assert dlg.url.text() == "wss://fstream.binance.com" and dlg.rest_url.isEnabled()
                assert dlg.rest_url.text() == "https://fapi.binance.com" and dlg.instrument.currentText() == "BTCUSDT"
                assert "Cancel to stay on OKX" in dlg.note.text()
                dlg.reject()  # Cancel: the exchange and instrument the feed runs on come back
                assert (w.inputs.venue, w.inputs.instrument_id) == ("okx", "BTC-USDT-SWAP")
                assert w.inputs.params.exchange == "OKX" and controller.switches == 0
                seq = w.latest.seq
                qtbot.waitUntil(lambda: w.latest.seq > seq + 2, timeout=5000)  # the OKX feed carries on

                # asked again, given a Binance host and its REST base: the stream path is the venue's
                pick_exchange(w, "binance-usdm")
                dlg = w.feed_dialog
                dlg.url.setText(f"ws://{host}")
                dlg.rest_url.setText(f"http://{host}")
                dlg.connect_button.click()
                qtbot.waitUntil(lambda: controller.switches == 1 and live(w, "Binance"), timeout=30_000)
                snap = w.latest
                assert snap.feed["url"] == f"ws://{host}/ws/btcusdt@depth@100ms"
                assert snap.counters["rejected"] == 0 and w.status.counters["rest_snapshots"] >= 1
                assert controller.choice.rest_url == f"http://{host}"
                # another instrument on the same host: its own stream and REST snapshot
                w.inputs.instrument.setCurrentText("ETHUSDT")
                qtbot.waitUntil(lambda: live(w, "Binance") and w.latest.instrument.inst_id == "ETHUSDT", timeout=30_000)
                assert w.latest.feed["url"] == f"ws://{host}/ws/ethusdt@depth@100ms"
                assert w.latest.counters["rejected"] == 0
            finally:
                close(qtbot, r)
        finally:
            okx.stop()
    qtbot.waitUntil(lambda: not our_threads(), timeout=10_000)


# --- the feed dialog and its checks -----------------------------------------------------------
def test_the_dialog_offers_every_venue_and_each_venues_symbols(qtbot):
    dlg = FeedDialog({"source": "url", "feed": "okx", "instrument": "ETH-USDT-SWAP"}, check=choice_from_form)
    qtbot.addWidget(dlg)
    assert [dlg.venue.itemData(i) for i in range(dlg.venue.count())] == list(venue_names())
    assert dlg.instrument.currentText() == "ETH-USDT-SWAP" and not dlg.rest_url.isEnabled()
    for label, widget in dlg.fields.items():
        assert widget.accessibleName() == label
    for venue in venue_names():
        dlg.venue.setCurrentIndex(dlg.venue.findData(venue))
        assert [dlg.instrument.itemText(i) for i in range(dlg.instrument.count())] == venue_symbols(venue)
        assert dlg.rest_url.isEnabled() == (get_venue(venue).rest_snapshot_url is not None)
        assert dlg.url.placeholderText() == get_venue(venue).default_url
    dlg.venue.setCurrentIndex(dlg.venue.findData("binance-spot"))
    dlg.url.setText("wss://stream.binance.com:9443")
    dlg.rest_url.setText("ftp://api.binance.com")
    assert not dlg.try_accept() and dlg.message.text().startswith("REST URL: must be a http:// or https:// URL")
    dlg.rest_url.setText("https://api.binance.com")
    assert dlg.try_accept()
    assert dlg.choice == FeedChoice(feed="binance-spot", url="wss://stream.binance.com:9443",
                                    instrument="BTCUSDT", rest_url="https://api.binance.com")


def test_choice_from_form_checks_the_venue_symbol_and_rest_url():
    with pytest.raises(FeedFormError, match="^Instrument: Binance USDⓈ-M lists no instrument 'BTC-USDT-SWAP'"):
        choice_from_form({"source": "synthetic", "feed": "binance-usdm", "instrument": "BTC-USDT-SWAP"})
    with pytest.raises(FeedFormError, match="^Instrument: .*DOGEUSDT"):  # the synthetic server serves its data files
        choice_from_form({"source": "synthetic", "feed": "bybit-linear", "instrument": "DOGEUSDT"})
    with pytest.raises(FeedFormError, match="^REST URL: OKX takes no REST snapshot"):
        choice_from_form({"source": "url", "feed": "okx", "instrument": "BTC-USDT-SWAP",
                          "url": "wss://ws.okx.com:8443/ws/v5/public", "rest_url": "https://www.okx.com"})
    with pytest.raises(FeedFormError, match="^Venue"):
        choice_from_form({"source": "url", "feed": "nasdaq", "instrument": "BTCUSDT", "url": "wss://x"})
    # a live Binance feed may price a symbol the data files do not list (a generic spec)
    c = choice_from_form({"source": "url", "feed": "binance-usdm", "instrument": "DOGEUSDT",
                          "url": "wss://fstream.binance.com", "rest_url": "https://fapi.binance.com"})
    assert c.rest_url == "https://fapi.binance.com" and choice_from_form(c.to_form()) == c
    # a host alone gets the venue's path for each instrument; a full URL is used as given
    assert stream_url(c, "DOGEUSDT") == "wss://fstream.binance.com/ws/dogeusdt@depth@100ms"
    assert stream_url(c, "ETHUSDT") == "wss://fstream.binance.com/ws/ethusdt@depth@100ms"
    bybit = FeedChoice(feed="bybit-spot", url="wss://stream.bybit.com/v5/public/spot")
    assert stream_url(bybit, "BTCUSDT") == "wss://stream.bybit.com/v5/public/spot"
    # a URL that is the venue's stream of the choice's instrument follows another instrument
    binance = FeedChoice(feed="binance-spot", url="wss://stream.binance.com:9443/ws/btcusdt@depth@100ms",
                         instrument="BTCUSDT")
    assert stream_url(binance, "ETHUSDT") == "wss://stream.binance.com:9443/ws/ethusdt@depth@100ms"
    goquant = FeedChoice(url="ws://h:1/ws/l2-orderbook/okx/BTC-USDT-SWAP", instrument="BTC-USDT-SWAP")
    assert stream_url(goquant, "ETH-USDT-SWAP") == "ws://h:1/ws/l2-orderbook/okx/ETH-USDT-SWAP"
    other = FeedChoice(feed="binance-spot", url="wss://proxy.example/feed", instrument="BTCUSDT")
    assert stream_url(other, "ETHUSDT") == "wss://proxy.example/feed"  # a URL of its own: as given


# --- slipscope gui --venue V --symbol S [--url --rest-url] ------------------------------------
def gui_choice(*argv: str) -> FeedChoice:
    from app.cli.gui import resolve_feed
    from app.cli.main import build_parser

    return resolve_feed(build_parser().parse_args(["gui", *argv]))


@pytest.mark.parametrize("venue, symbol", [("goquant", "ETH-USDT-SWAP"), ("okx", "BTC-USDT"),
                                           ("binance-usdm", "ETHUSDT"), ("binance-spot", "BTCUSDT"),
                                           ("bybit-linear", "BTCUSDT"), ("bybit-spot", "ETHUSDT")])
def test_gui_takes_every_venue_and_its_symbols(venue, symbol):
    synthetic = gui_choice("--venue", venue, "--symbol", symbol, "--synthetic")
    assert (synthetic.feed, synthetic.instrument, synthetic.url) == (venue, symbol, None)
    rest = ["--rest-url", "http://127.0.0.1:9"] if get_venue(venue).rest_snapshot_url else []
    remote = gui_choice("--venue", venue, "--symbol", symbol, "--url", "ws://127.0.0.1:9", *rest)
    assert (remote.url, remote.rest_url) == ("ws://127.0.0.1:9", "http://127.0.0.1:9" if rest else None)
    assert stream_url(remote, symbol).startswith("ws://127.0.0.1:9/")  # the venue's path on the host
    public = gui_choice("--venue", venue, "--symbol", symbol)
    if venue == "goquant":  # the default venue: its embedded synthetic server
        assert public.url is None
    else:
        assert public.url == get_venue(venue).default_url


def test_gui_reads_the_instrument_a_url_names():
    c = gui_choice("--feed", "goquant", "--url", "wss://ws.gomarket-cpp.goquant.io/ws/l2-orderbook/okx/ETH-USDT-SWAP")
    assert c.instrument == "ETH-USDT-SWAP"
    assert gui_choice("--venue", "okx", "--url", "wss://ws.okx.com:8443/ws/v5/public").instrument is None


@pytest.mark.parametrize("argv, says", [
    (["--venue", "okx", "--rest-url", "https://www.okx.com"], "--rest-url: okx takes no REST snapshot"),
    (["--venue", "binance-usdm", "--symbol", "BTC-USDT-SWAP"], "BTC-USDT-SWAP"),
    (["--venue", "bybit-linear", "--symbol", "DOGEUSDT", "--synthetic"], "--symbol 'DOGEUSDT'"),
    (["--venue", "binance-spot", "--url", "ws://h", "--rest-url", "ftp://h"], "--rest-url must be"),
    (["--venue", "binance-spot", "--synthetic", "--rest-url", "http://h"], "--rest-url needs --url"),
])
def test_gui_refuses_a_bad_venue_argument_naming_it(argv, says):
    from app.cli.args import UsageError

    with pytest.raises(UsageError) as err:
        gui_choice(*argv)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_gui_on_binance_synthetic_runs_and_exits_0(tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SLIPSCOPE_SETTINGS=str(tmp_path / "s.ini"))
    out = subprocess.run([sys.executable, "-m", "app", "gui", "--venue", "binance-usdm", "--symbol", "ETHUSDT",
                          "--synthetic", "--rate", "50", "--quit-after", "4"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Traceback" not in out.stderr and "did not stop" not in out.stderr
    settings = store.open_settings(tmp_path / "s.ini")
    assert store.load_params(settings).exchange == "Binance"  # the order was on Binance's fee table


@pytest.mark.parametrize("venue", ["binance-usdm", "bybit-linear"])
def test_a_recording_replays_on_its_own_venue(qtbot, qloop, settings_file, tmp_path, venue):  # noqa: F811
    import subprocess
    import sys

    rec = tmp_path / f"{venue}.jsonl.gz"
    out = subprocess.run([sys.executable, "-m", "app", "record", "--venue", venue, "--symbol", "ETHUSDT",
                          "--rate", "20", "--duration", "3", "--out", str(rec)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    r = open_on(qtbot, qloop, settings_file, tmp_path, FeedChoice(rate=50.0))
    w, controller = r.window, r.controller
    try:
        qtbot.waitUntil(lambda: live(w, "OKX"), timeout=30_000)
        dlg = w.open_feed_dialog()
        dlg.source.setCurrentIndex(dlg.source.findData("replay"))
        dlg.replay.setText(str(rec))
        dlg.connect_button.click()
        qtbot.waitUntil(lambda: controller.switches == 1, timeout=30_000)
        assert (w.inputs.venue, w.inputs.instrument_id) == (venue, "ETHUSDT")  # the recording's own
        assert w.inputs.exchange.currentText() == venue_label(venue)
        exchange = instrument_for(venue, "ETHUSDT").exchange
        qtbot.waitUntil(lambda: live(w, exchange) and w.latest.counters["applied"] > 5, timeout=30_000)
        assert w.latest.counters["rejected"] == 0 and "replay" in w.source_label.text()
    finally:
        close(qtbot, r)
    qtbot.waitUntil(lambda: not our_threads(), timeout=10_000)
