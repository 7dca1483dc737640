"""The feed dialog: change the feed from the window, without a restart, over real sockets.

The window starts on the embedded GoQuant synthetic server (a real websocket server on
127.0.0.1), switches to the embedded server speaking OKX v5, then to a replay of a recording
made here with the real recorder; refusals name the field and leave the running feed alone;
the window closes cleanly after switching (no thread of ours left running).
"""
from __future__ import annotations

import threading

import pytest

from app.gui import settings as store
from app.gui.feed_source import FeedChoice, FeedFormError, WebsocketFeed, choice_from_form
from app.gui.startup import GuiOptions, remembered_feed
from core.recording.recorder import Recorder, RecordingHeader
from core.sim.market import MarketConfig, SyntheticMarket
from tests.gui_support import qloop, settings_file  # noqa: F401 (fixtures)
from tests.test_gui_window import close, open_window
from widgets.history import COL

pytestmark = pytest.mark.gui


def our_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(("slipscope", "test-feed"))]


def make_recording(path, inst_id: str = "ETH-USDT-SWAP", frames: int = 60) -> None:
    """A short GoQuant recording of the synthetic market, written by the real recorder."""
    market = SyntheticMarket(seed=11, config=MarketConfig.for_instrument(inst_id, rate=20.0))
    header = RecordingHeader(feed="goquant", inst_ids=(inst_id,), source="test", synthetic=True)
    with Recorder(path, header) as rec:
        for i in range(frames):
            rec.write(market.goquant_message(market.step()), 1_765_000_000_000_000_000 + i * 50_000_000)


@pytest.fixture
def embedded(qtbot, qloop, settings_file, tmp_path):  # noqa: F811
    choice = FeedChoice(rate=50.0)
    r = open_window(qtbot, qloop, settings_file, tmp_path,
                    factory=lambda inst_id: WebsocketFeed(choice, inst_id))
    r.controller.choice = choice
    r.window.feed_form = choice.to_form()
    qtbot.waitUntil(lambda: r.window.latest is not None and r.window.latest.feed.get("state") == "live",
                    timeout=30_000)
    yield r
    if not r.controller.closed.done():  # (a test may have closed it itself)
        close(qtbot, r)


def submit(qtbot, w, **fields):
    """Open the dialog, fill ``fields`` as a user would, press Connect."""
    dlg = w.open_feed_dialog()
    qtbot.waitExposed(dlg)
    names = {"source": dlg.source, "feed": dlg.venue}
    for key, value in fields.items():
        if key in names:
            box = names[key]
            box.setCurrentIndex(box.findData(value))
        elif key == "instrument":
            dlg.instrument.setCurrentText(value)
        else:
            getattr(dlg, key).setText(str(value))
    dlg.connect_button.click()
    return dlg


def test_switch_goquant_to_okx_to_replay_then_close_cleanly(qtbot, embedded, tmp_path):
    w, controller = embedded.window, embedded.controller
    assert w.latest.feed["url"].startswith("ws://127.0.0.1:") and "/ws/l2-orderbook/okx/" in w.latest.feed["url"]
    assert w.feed_action.text() == "Feed…"

    # to the embedded server speaking OKX v5: snapshots of the new feed arrive
    dlg = submit(qtbot, w, source="synthetic", feed="okx", rate=40, seed=3)
    assert not dlg.isVisible() and dlg.message.text() == ""
    qtbot.waitUntil(lambda: controller.switches == 1, timeout=30_000)
    qtbot.waitUntil(lambda: w.latest is not None and w.latest.feed.get("url", "").endswith("/ws/v5/public")
                    and w.latest.counters["checksums_verified"] > 3, timeout=30_000)
    assert w.latest.feed["synthetic"] is True and w.latest.counters["rejected"] == 0
    assert controller.choice.feed == "okx" and controller.choice.rate == 40.0
    assert "SYNTHETIC" in w.source_label.text()
    assert our_threads().count("slipscope-feed-server") == 1  # the GoQuant server was stopped
    assert our_threads().count("slipscope-compute") == 1

    # to a replay of a recording made by the real recorder, of another instrument
    rec = tmp_path / "eth.jsonl.gz"
    make_recording(rec)
    submit(qtbot, w, source="replay", replay=str(rec), speed=1)
    qtbot.waitUntil(lambda: controller.switches == 2, timeout=30_000)
    assert w.inputs.instrument_id == "ETH-USDT-SWAP"  # the recording's instrument, shown as picked
    assert "ETH" in w.inputs.book_unit.text() and w.settings.value("feed/instrument") == "ETH-USDT-SWAP"
    qtbot.waitUntil(lambda: w.latest is not None and w.latest.instrument.inst_id == "ETH-USDT-SWAP"
                    and w.latest.counters["applied"] > 5, timeout=30_000)
    assert "replay" in w.source_label.text() and "eth.jsonl.gz" in w.source_label.text()
    assert w.latest.feed["url"].startswith("ws://127.0.0.1:")
    # the series hold the replay's books only (the old feed's queue was dropped, not drawn)
    mids = w.history.series.view()[:, COL["mid"]]
    eth = w.latest.features.mid
    assert mids.size and ((mids > eth / 2) & (mids < eth * 2)).all()
    remembered = store.load_feed_form(w.settings)
    assert remembered["source"] == "replay" and remembered["replay"] == str(rec.resolve())
    # another instrument picked in the panel: a recording holds only its own, said out loud
    w.inputs.instrument.setCurrentText("BTC-USDT-SWAP")
    qtbot.waitUntil(lambda: "Could not open BTC-USDT-SWAP" in w.message_label.text(), timeout=10_000)
    assert "the recording holds ETH-USDT-SWAP" in w.message_label.text()
    assert "slipscope-feed-server" not in our_threads()  # nothing left half-started

    # clean close after switching: nothing of ours left running
    close(qtbot, embedded)
    qtbot.waitUntil(lambda: not our_threads(), timeout=10_000)


def test_refusals_name_the_field_and_the_running_feed_keeps_going(qtbot, embedded, tmp_path):
    w, controller = embedded.window, embedded.controller
    url = w.latest.feed["url"]
    not_a_recording = tmp_path / "notes.txt"
    not_a_recording.write_text("hello")
    cases = [
        (dict(source="url", feed="goquant", url="http://example.com/feed"), "URL"),
        (dict(source="url", feed="okx", url="wss://"), "URL"),
        (dict(source="url", feed="okx", url="ws://127.0.0.1:99999/ws/v5/public"), "URL"),
        (dict(source="replay", replay=str(tmp_path / "missing.jsonl.gz")), "Replay file"),
        (dict(source="replay", replay=str(not_a_recording)), "Replay file"),
        (dict(source="replay", replay=""), "Replay file"),
        (dict(source="synthetic", feed="goquant", rate="abc"), "Rate"),
        (dict(source="synthetic", feed="goquant", rate="0"), "Rate"),
        (dict(source="synthetic", feed="goquant", rate="10", seed="1.5"), "Seed"),
    ]
    for fields, label in cases:
        dlg = submit(qtbot, w, **fields)
        assert dlg.isVisible(), fields  # refused: the dialog stays open
        assert dlg.message.text().startswith(f"{label}:"), (fields, dlg.message.text())
        assert dlg.focusWidget() is dlg.fields[label]  # the field to fix has the focus
        dlg.reject()
    assert controller.switches == 0 and store.load_feed_form(w.settings) is None
    seq = w.latest.seq
    qtbot.waitUntil(lambda: w.latest.seq > seq + 3, timeout=5000)  # still live, same feed
    assert w.latest.feed["url"] == url


def test_browse_fills_the_replay_file_from_a_file_chooser(qtbot, embedded, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    rec = tmp_path / "chosen.jsonl.gz"
    make_recording(rec, "BTC-USDT-SWAP", frames=40)
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda parent, caption, start, filters: (str(rec), filters)))
    dlg = embedded.window.open_feed_dialog()
    dlg.source.setCurrentIndex(dlg.source.findData("replay"))
    dlg.browse.click()
    assert dlg.replay.text() == str(rec)
    dlg.connect_button.click()
    qtbot.waitUntil(lambda: embedded.controller.switches == 1, timeout=30_000)
    qtbot.waitUntil(lambda: "chosen.jsonl.gz" in embedded.window.source_label.text(), timeout=5000)


def test_a_feed_that_fails_to_start_is_reported_and_the_previous_one_reopened(qtbot, embedded):
    w, controller = embedded.window, embedded.controller
    before = controller.session

    class Unreachable(WebsocketFeed):
        async def start(self, pipeline, instrument):
            raise OSError("no route to the test's feed")

    controller.feed_factory = lambda choice, inst_id: Unreachable(choice, inst_id)
    controller.switch_feed(FeedChoice(feed="okx", rate=20.0, instrument="ETH-USDT-SWAP"))
    qtbot.waitUntil(lambda: "Could not start the new feed" in w.message_label.text(), timeout=30_000)
    assert "no route" in w.message_label.text() and controller.switches == 0
    assert controller.choice.feed == "goquant" and w.feed_form["feed"] == "goquant"
    assert w.inputs.instrument_id == "BTC-USDT-SWAP"  # the instrument it ran on, too
    qtbot.waitUntil(lambda: w.latest is not None and w.latest.feed.get("state") == "live", timeout=30_000)
    assert "/ws/l2-orderbook/okx/" in w.latest.feed["url"]
    assert controller.session is not before and before.stopped  # the previous feed, reopened
    assert our_threads().count("slipscope-compute") == 1


def test_dialog_opens_on_the_running_feed_and_accessible_names_match_labels(qtbot, embedded):
    w = embedded.window
    dlg = w.open_feed_dialog()
    assert dlg.source.currentData() == "synthetic" and dlg.venue.currentData() == "goquant"
    assert dlg.rate.text() == "50" and not dlg.url.isEnabled() and not dlg.replay.isEnabled()
    for label, widget in dlg.fields.items():
        assert widget.accessibleName() == label
    dlg.source.setCurrentIndex(dlg.source.findData("replay"))
    assert dlg.replay.isEnabled() and dlg.browse.isEnabled() and not dlg.venue.isEnabled()
    dlg.reject()


def test_choice_from_form_and_the_remembered_feed(settings_file, tmp_path):  # noqa: F811
    c = choice_from_form({"source": "url", "feed": "okx", "instrument": "BTC-USDT-SWAP",
                          "url": "wss://ws.okx.com:8443/ws/v5/public"})
    assert c.url == "wss://ws.okx.com:8443/ws/v5/public" and not c.synthetic and c.source == "url"
    assert choice_from_form(c.to_form()) == c
    with pytest.raises(FeedFormError, match="^Instrument: the URL serves ETH-USDT-SWAP"):
        choice_from_form({"source": "url", "feed": "goquant", "instrument": "BTC-USDT-SWAP",
                          "url": "ws://h/ws/l2-orderbook/okx/ETH-USDT-SWAP"})
    with pytest.raises(FeedFormError, match="^Instrument"):
        choice_from_form({"source": "synthetic", "feed": "okx", "instrument": "NOPE"})
    rec = tmp_path / "r.jsonl.gz"
    make_recording(rec, "SOL-USDT-SWAP", frames=5)
    r = choice_from_form({"source": "replay", "replay": str(rec), "speed": "2"})
    assert (r.feed, r.instrument, r.speed, r.synthetic) == ("goquant", "SOL-USDT-SWAP", 2.0, True)

    settings = store.open_settings(settings_file)
    default = FeedChoice()
    options = GuiOptions(choice=default, feed_explicit=False)
    assert remembered_feed(options, settings, None)[0] is default  # nothing remembered yet
    store.save_feed_form(settings, r.to_form())
    choice, factory, note = remembered_feed(options, settings, None)
    assert choice == r and note == "" and factory("SOL-USDT-SWAP").choice == r
    explicit = GuiOptions(choice=default, feed_explicit=True)
    assert remembered_feed(explicit, settings, None)[0] is default  # the command line wins
    rec.unlink()
    choice, _factory, note = remembered_feed(options, settings, None)
    assert choice is default and "Replay file" in note  # a vanished file: said, not silently
