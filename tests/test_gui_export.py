"""Exports that agree with themselves: one snapshot behind every file of one export.

The window runs with its real wiring (worker thread, queued signals, frame timer) on frames a
thread pushes (``ThreadFeed``); the decision rows and their labels are checked against a
plain-Python walk of the books; the headless export is checked for the same columns.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import orjson
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog

from app.gui import settings as store
from core import decision_series as ds
from core.params import OrderParams
from tests.gui_support import qloop, settings_file, snapshots  # noqa: F401 (fixtures)
from tests.reference import walk
from tests.test_gui_window import close, open_window
from widgets.estimate_view import summarise
from widgets.history import History

pytestmark = pytest.mark.gui

PLOTS = ("depth", "cost_curve", "spread_mid", "slippage", "schedule", "latency")
NEEDED = ("side", "quantity", "unit", "order_type", "fee_tier", "exec_delay_ms", "decision_time_ms",
          "book_now_bps", "predicted_mean_bps", "predicted_q50_bps", "predicted_q90_bps",
          "predicted_q95_bps", "label_bps")


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def exported(qtbot, w, on_screen: list | None = None) -> Path:
    w.last_export = None
    assert w.export_snapshot()
    if on_screen is not None:
        on_screen.append(w._drawn)  # what the window showed when it was grabbed
    qtbot.waitUntil(lambda: w.last_export is not None or bool(w.last_export_error), timeout=15_000)
    assert w.last_export is not None, w.last_export_error
    return w.last_export


@pytest.fixture
def live(qtbot, qloop, settings_file, tmp_path):  # noqa: F811
    r = open_window(qtbot, qloop, settings_file, tmp_path, rate=100.0)
    qtbot.waitUntil(lambda: r.window.latest is not None and r.window.latest.estimate is not None
                    and r.window.frames_drawn > 2, timeout=30_000)
    yield r
    close(qtbot, r)


# --- the decision rows, without a window ---------------------------------------------------------
def reference_cost(snap, target, in_quote, mid, sign, notional) -> float:
    """Plain-Python cost of a market order on ``snap``'s book against ``mid``, bps of notional."""
    b = snap.book
    px, qty = (b.ask_px, b.ask_qty) if sign > 0 else (b.bid_px, b.bid_qty)
    base, quote, _worst, _levels = walk(px.tolist(), qty.tolist(), target, in_quote)
    return sign * (quote - mid * base) / notional * 1e4


@pytest.mark.parametrize("params", [OrderParams(quantity=400_000.0, exec_delay_ms=250.0),
                                    OrderParams(quantity=3.0, unit="base", side="sell", exec_delay_ms=500.0),
                                    OrderParams(quantity=200_000.0, exec_delay_ms=0.0)])
def test_history_rows_label_each_decision_with_the_first_book_after_its_delay(params):
    snaps = snapshots(30, params=params)
    h = History(seconds=60, bucket_s=0.05)
    for i, s in enumerate(snaps):
        h.add(s, summarise(s), 1000.0 + 0.1 * i)  # one row per snapshot
    rows = h.export_rows(snaps[-1])
    assert rows.shape == (30, len(ds.COLUMNS))
    sign = 1.0 if params.side == "buy" else -1.0
    in_quote = params.unit == "usd"
    c = ds.COL
    resolved = 0
    for row, s in zip(rows, snaps):
        assert row[c["seq"]] == s.seq and row[c["book_version"]] == s.book.version
        assert row[c["decision_time_ms"]] == s.book.ts_ms and row[c["side"]] == sign
        assert row[c["quantity"]] == params.quantity and row[c["exec_delay_ms"]] == params.exec_delay_ms
        mid = s.features.mid
        notional = params.quantity if in_quote else params.quantity * mid
        assert row[c["book_now_bps"]] == pytest.approx(reference_cost(s, params.quantity, in_quote, mid, sign, notional),
                                                      rel=1e-9, abs=1e-9)
        assert row[c["book_walk_bps"]] == s.fill.slippage_mid_bps
        due = s.book.ts_ms + params.exec_delay_ms
        fill = next((f for f in snaps if f.book.ts_ms >= due), None)
        if fill is None:
            assert math.isnan(row[c["label_bps"]])  # not resolved yet: empty, not a guess
            continue
        resolved += 1
        assert row[c["label_seq"]] == fill.seq and row[c["label_time_ms"]] == fill.book.ts_ms
        assert row[c["label_bps"]] == pytest.approx(reference_cost(fill, params.quantity, in_quote, mid, sign, notional),
                                                   rel=1e-9, abs=1e-9)
    assert resolved >= 20
    # an export of an earlier snapshot says only what was known then
    early = h.export_rows(snaps[9])
    assert early.shape[0] == 10 and int(early[-1, c["seq"]]) == snaps[9].seq
    known = early[:, c["label_seq"]]
    assert (known[~(known != known)] <= snaps[9].seq).all()


def test_decision_columns_decode_text_and_keep_the_inputs_of_each_row():
    a = snapshots(3, params=OrderParams(quantity=100_000.0))
    b = snapshots(3, params=OrderParams(quantity=2.0, unit="base", side="sell", fee_tier="Lv2",
                                         order_type="limit", limit_offset_bps=1.5, exec_delay_ms=1000.0))
    h = History(seconds=60, bucket_s=0.05)
    for i, s in enumerate(a + b):
        h.add(s, summarise(s), 1000.0 + 0.1 * i)
    cols = h.decisions.columns(h.series.view()[:, :len(ds.COLUMNS)])
    assert list(cols) == list(ds.COLUMNS)
    assert cols["side"] == ["buy"] * 3 + ["sell"] * 3
    assert cols["unit"] == ["usd"] * 3 + ["base"] * 3
    assert cols["order_type"] == ["market"] * 3 + ["limit"] * 3
    assert cols["fee_tier"] == ["Lv1"] * 3 + ["Lv2"] * 3
    assert cols["quantity"].tolist() == [100_000.0] * 3 + [2.0] * 3
    assert cols["limit_offset_bps"].tolist() == [0.0] * 3 + [1.5] * 3


# --- the window's export -------------------------------------------------------------------------
def test_every_file_of_a_live_export_comes_from_the_snapshot_drawn(qtbot, live):
    w = live.window
    qtbot.waitUntil(lambda: len(w.history.series) > 5, timeout=5000)
    w.stop_frames()  # the newest snapshot arrives but is not drawn yet: the export must draw it
    drawn = w._drawn
    qtbot.waitUntil(lambda: w.latest.seq > drawn.seq + 2, timeout=5000)
    shown: list = []
    folder = exported(qtbot, w, shown)
    w.start_frames()
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    ident = manifest["snapshot"]
    seq, version = ident["seq"], ident["book_version"]
    assert ident["instrument"] == "BTC-USDT-SWAP" and ident["synthetic"] is True
    doc = orjson.loads((folder / "snapshot.json").read_bytes())
    assert (doc["seq"], doc["book"]["version"], doc["recv_ns"]) == (seq, version, ident["recv_ns"])
    for name in ("book.csv", "cost_curve.csv"):
        assert {(int(r["book_version"]), int(r["seq"])) for r in read_rows(folder / name)} == {(version, seq)}
    series = read_rows(folder / "timeseries.csv")
    assert int(series[-1]["seq"]) == seq and int(series[-1]["book_version"]) == version
    assert all(int(r["seq"]) <= seq for r in series)
    # the fill in the book walk agrees across files
    book_walk = float(series[-1]["book_walk_bps"])
    assert book_walk == pytest.approx(doc["fill"]["slippage_mid_bps"], rel=1e-12)
    pngs = {"window.png"} | {f"plot_{p}.png" for p in PLOTS}
    assert pngs <= set(manifest["files"])
    for name in pngs:
        img = QImage(str(folder / name))
        assert not img.isNull()
        assert img.text("slipscope.seq") == str(seq) and img.text("slipscope.book_version") == str(version)
        title = img.text("Title")
        assert f"seq {seq}" in title and f"book v{version}" in title
        assert "BTC-USDT-SWAP" in title and "UTC" in title and "SYNTHETIC" in title
        assert manifest["files"][name]["seq"] == seq
    # the window drew the exported snapshot before it was grabbed (not one refresh behind)
    assert shown[0].seq == seq


def test_plot_pngs_are_at_least_the_plots_on_screen_size(qtbot, live):
    w = live.window
    folder = exported(qtbot, w)
    dpr = w.devicePixelRatioF()
    for name in PLOTS:
        plot = w.plots[name]
        img = QImage(str(folder / f"plot_{name}.png"))
        assert img.width() >= plot.width() * dpr and img.height() >= plot.height() * dpr, name
    win = QImage(str(folder / "window.png"))
    assert win.width() == round(w.width() * dpr) and win.height() > w.height() * dpr


def test_timeseries_rows_carry_the_inputs_in_force_after_size_and_side_change(qtbot, live):
    w = live.window
    assert w.inputs.set_quantity(100_000.0)
    qtbot.waitUntil(lambda: w.latest.params.quantity == 100_000.0, timeout=5000)
    qtbot.wait(600)
    w.inputs.sell.click()
    assert w.inputs.set_quantity(500_000.0)
    qtbot.waitUntil(lambda: w.latest.params.quantity == 500_000.0 and w.latest.params.side == "sell",
                    timeout=5000)
    qtbot.wait(1000)  # a few hundred ms of labels after the change
    folder = exported(qtbot, w)
    rows = read_rows(folder / "timeseries.csv")
    assert set(NEEDED) <= set(rows[0])
    inputs = [(r["side"], float(r["quantity"])) for r in rows]
    assert ("buy", 100_000.0) in inputs and inputs[-1] == ("sell", 500_000.0)
    first_sell = next(i for i, r in enumerate(rows) if r["side"] == "sell")
    assert all(r["side"] == "sell" and float(r["quantity"]) == 500_000.0 for r in rows[first_sell:])
    for r in rows:
        assert r["unit"] == "usd" and r["order_type"] == "market" and r["fee_tier"] == "Lv1"
        assert float(r["exec_delay_ms"]) == 250.0
    labelled = [r for r in rows[first_sell:] if r["label_bps"]]
    assert labelled, "labels resolve once the delay has passed"
    for r in labelled:
        assert float(r["label_time_ms"]) >= float(r["decision_time_ms"]) + float(r["exec_delay_ms"])
        assert int(r["label_seq"]) > int(r["seq"]) or float(r["exec_delay_ms"]) == 0.0
    with_model = [r for r in rows if r["predicted_mean_bps"]]
    assert with_model and all(float(r["predicted_q50_bps"]) <= float(r["predicted_q95_bps"]) for r in with_model)


def test_export_folder_is_chosen_remembered_and_named_in_full(qtbot, live, tmp_path, monkeypatch):
    w = live.window
    chosen = tmp_path / "chosen exports"
    chosen.mkdir()
    asked = []

    def fake_dialog(parent, caption, start):
        asked.append((caption, start))
        return str(chosen)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(fake_dialog))
    action = w.export_dir_action
    assert action.text() == "Export folder…"
    action.trigger()
    assert asked and asked[0][0] == "Export folder"
    assert w.export_dir == chosen and store.export_dir(w.settings) == chosen
    assert str(chosen) in w.export_action.toolTip()
    folder = exported(qtbot, w)
    assert folder.parent == chosen
    assert str(folder) in w.message_label.text()  # the full path, not just the name
    # cancelled: nothing changes
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a: ""))
    action.trigger()
    assert w.export_dir == chosen


def test_default_export_folder_is_documents_slipscope_exports(settings_file):  # noqa: F811
    settings = store.open_settings(settings_file)
    assert store.export_dir(settings) == store.default_export_dir()
    assert store.default_export_dir().name == "slipscope-exports"


# --- headless writes the same files ----------------------------------------------------------------
def test_headless_export_has_the_windows_timeseries_columns_and_a_manifest(tmp_path):
    from core.feed.headless import replay_headless
    from core.recording.recorder import Recorder, RecordingHeader
    from core.sim.market import SyntheticMarket

    path = tmp_path / "rec.jsonl.gz"
    market = SyntheticMarket(seed=4)
    with Recorder(path, RecordingHeader(feed="goquant", inst_ids=("BTC-USDT-SWAP",), synthetic=True)) as rec:
        for i in range(40):
            rec.write(market.goquant_message(market.step()), 1_765_000_000_000_000_000 + i * 100_000_000)
    out = replay_headless([path], OrderParams(quantity=300_000.0, exec_delay_ms=250.0), export_dir=tmp_path / "x")
    assert out.ok, out.error
    folder = out.export_path
    rows = read_rows(folder / "timeseries.csv")
    assert list(rows[0]) == list(ds.COLUMNS)
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    seq = manifest["snapshot"]["seq"]
    assert len(rows) == 40 and int(rows[-1]["seq"]) == seq
    assert sum(1 for r in rows if r["label_bps"]) >= 35  # every evaluation is a book to resolve on
    assert {int(r["seq"]) for r in read_rows(folder / "book.csv")} == {seq}
