"""The Venues view (widgets.venues_view) offscreen, fed VenuesSnapshot-like objects built from
``synthetic_books``: the table says what ``best_execution`` says, the bar is the split, the
curves move their marker with the order, and an idle frame touches nothing.

``SLIPSCOPE_SHOTS=DIR`` keeps the rendered PNGs of the last test in DIR (to look at them).
"""
from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics

from core.compute.best_execution import (
    RESYNCING, STALE, NoConsolidatedMid, Order, VenueBook, best_execution, synthetic_books,
)
from tests.gui_support import plain_pyqtgraph, shown  # noqa: F401 (fixture)
from tests.test_gui_layout import themed  # noqa: F401 (fixture)
from widgets import theme
from widgets.format import DASH, bps, num, pct, usd
from widgets.venues_view import COL, FIGURES, HEADERS, VenuesView, split_figures


@pytest.fixture(autouse=True)
def _pg(plain_pyqtgraph):  # noqa: F811
    pass


@dataclasses.dataclass(frozen=True)
class Snap:
    """What the view reads of a VenuesSnapshot (core.feed.venue_set, landing separately)."""

    books: tuple[VenueBook, ...]
    result: object
    note: str = ""
    feeds: tuple[dict, ...] = ()
    order: Order | None = None


def snap(books, side: str = "buy", usd_: float = 5e7) -> Snap:
    books = tuple(sorted(books, key=lambda b: b.key))
    order = Order(side, usd_)
    feeds = tuple({"state": b.state, "source": f"test {b.venue}", "detail": ""} for b in books)
    try:
        return Snap(books, best_execution(books, order), "", feeds, order)
    except NoConsolidatedMid as exc:
        return Snap(books, None, str(exc), feeds, order)


def with_state(books, index: int, state: str) -> list[VenueBook]:
    out = list(books)
    out[index] = dataclasses.replace(out[index], state=state)
    return out


@pytest.fixture
def view(qtbot):
    v = VenuesView()
    shown(qtbot, v, 1280, 720)
    return v


def text(v: VenuesView, row: int, name: str) -> str:
    return v.table.item(row, COL[name]).text()


def row_of(v: VenuesView, venue: str) -> int:
    return [text(v, r, "Venue") for r in range(v.table.rowCount())].index(venue)


@pytest.mark.parametrize("side", ["buy", "sell"])
def test_the_table_shows_best_executions_figures(view, side):
    s = snap(synthetic_books(400, seed=1), side, 5e7)
    r = s.result
    view.update_snapshot(s)
    assert view.table.rowCount() == len(r.venues) + 1
    for e in r.venues:
        row = row_of(view, e.venue)
        assert text(view, row, "Symbol") == e.symbol and text(view, row, "State") == "live"
        assert text(view, row, "Bid") == num(e.best_bid, 1) and text(view, row, "Ask") == num(e.best_ask, 1)
        assert text(view, row, "Avg px") == num(e.avg_px, 2)
        assert text(view, row, "Slip bps") == bps(e.slippage_bps)
        assert text(view, row, "Own-mid bps") == bps(e.own_slippage_bps)
        assert text(view, row, "Fee bps") == bps(e.taker_rate * 1e4)
        assert text(view, row, "Fee USD") == usd(e.fees_usd)
        assert text(view, row, "Net USD") == usd(e.net_cost_usd)
        assert text(view, row, "Net bps") == bps(e.net_cost_bps)
        assert text(view, row, "Levels") == str(e.levels)
        assert text(view, row, "Fills") == "yes"
        assert text(view, row, "Saving USD") == ""
    split = row_of(view, "split")
    assert split == len(r.venues)  # the last row
    f = split_figures(r)
    assert text(view, split, "Net USD") == usd(r.net_cost_usd)
    assert text(view, split, "Net bps") == bps(r.net_cost_bps)
    assert text(view, split, "Saving USD") == usd(r.saving_usd)
    assert text(view, split, "Saving bps") == bps(r.saving_bps)
    assert text(view, split, "Fee USD") == usd(math.fsum(leg.fees_usd for leg in r.legs)) == usd(f["fees_usd"])
    assert text(view, split, "Levels") == str(sum(leg.levels for leg in r.legs))
    assert text(view, split, "Symbol") == f"{len(r.legs)} venues"
    # the split row's slippage and fees add up to its net cost, as the venues' do
    assert f["slippage_bps"] * 1e-4 * r.filled_base * r.reference_px + f["fees_usd"] == pytest.approx(r.net_cost_usd)
    assert r.saving_usd > 0 and f"saves {usd(r.saving_usd)} USD ({bps(r.saving_bps)} bps) vs " \
        f"{r.best_single.venue} alone" in view.summary.text()


def test_the_bar_is_the_split_by_share_of_base_in_the_venues_colours(view):
    s = snap(synthetic_books(400, seed=1), "buy", 2e8)
    view.update_snapshot(s)
    r = s.result
    shares = view.bar.shares
    assert len(shares) == len(r.legs) >= 2
    assert sum(share for _, share in shares) == pytest.approx(1.0, abs=1e-12)
    for (label, share), leg in zip(shares, r.legs):
        assert label == leg.venue and share == pytest.approx(leg.base / r.filled_base)
    brushes = [colour for _x0, _w, _label, colour in view.bar.bar.parts]
    lines = view.curves_plot.lines
    for leg, colour in zip(r.legs, brushes):
        key = (leg.venue, leg.symbol)
        assert colour == view.colors[key] == lines[key].opts["pen"].color().name()
        assert view.table.item(row_of(view, leg.venue), COL["Venue"]).foreground().color().name() == colour
    view.bar.grab()  # paints
    labels = view.bar.bar.drawn_labels
    assert labels == [f"{leg.venue} {pct(leg.base / r.filled_base)}" for leg in r.legs]


@pytest.mark.parametrize("state", [STALE, RESYNCING])
def test_a_venue_left_out_shows_its_state_greyed_and_no_figures(view, state):
    books = with_state(synthetic_books(400, seed=1), 1, state)
    s = snap(books, "buy", 5e7)
    name = books[1].venue
    view.update_snapshot(s)
    row = row_of(view, name)
    assert text(view, row, "State") == state
    assert view.table.item(row, COL["State"]).foreground().color().name() == theme.FEED_STATE_COLORS[state]
    for col in FIGURES:
        assert text(view, row, col) in (DASH, ""), col
        assert view.table.item(row, COL[col]).foreground().color().name() == theme.MUTED
    assert name not in [label for label, _ in view.bar.shares]
    assert f"{name} ({state})" in view.curves_plot.legend_texts()
    line = view.curves_plot.lines[books[1].key]
    assert line.yData is None or not np.isfinite(line.yData).any()
    assert f"left out: {name} ({state})" in view.summary.text()
    # back live: its figures come back, greyed no more
    view.update_snapshot(snap(synthetic_books(400, seed=1), "buy", 5e7))
    assert text(view, row, "State") == "live" and text(view, row, "Net USD") != DASH
    assert view.table.item(row, COL["Net USD"]).foreground().color().name() == theme.TEXT
    assert name in view.curves_plot.legend_texts()


def test_the_marker_moves_with_the_order_size_and_the_curves_stay(view):
    books = synthetic_books(400, seed=1)
    first = snap(books, "buy", 1e6)
    view.update_snapshot(first)
    plot = view.curves_plot
    drawn = plot.curve_updates
    assert drawn == 1 and plot.marker_x == 1e6 and plot.mark.x == pytest.approx(6.0)
    assert plot.mark.book_y == pytest.approx(first.result.net_cost_bps)
    moved = Snap(first.books, best_execution(first.books, Order("buy", 3e7)), order=Order("buy", 3e7))
    assert view.update_snapshot(moved)
    assert plot.marker_x == 3e7 and plot.mark.x == pytest.approx(math.log10(3e7))
    assert plot.mark.book_y == pytest.approx(moved.result.net_cost_bps)
    assert plot.curve_updates == drawn  # same books, same side: the curves were not recomputed
    assert [y for y, _c in plot.mark.venue_dots] == pytest.approx([e.net_cost_bps for e in moved.result.venues])
    assert [c for _y, c in plot.mark.venue_dots] == [view.colors[e.venue, e.symbol] for e in moved.result.venues]
    # the other side is another set of curves
    view.update_snapshot(snap(books, "sell", 3e7))
    assert plot.curve_updates == drawn + 1 and plot.curves.side == "sell"


def test_an_order_beyond_the_grid_widens_it(view):
    view.update_snapshot(snap(synthetic_books(400, seed=1), "buy", 5e9))
    assert view.curves.sizes_usd[-1] == pytest.approx(1e10)
    assert view.curves_plot.marker_x == 5e9
    assert text(view, row_of(view, "split"), "Fills") == "no"


def test_the_same_snapshot_twice_changes_no_item(view, qtbot):
    s = snap(synthetic_books(400, seed=1), "buy", 5e7)
    assert view.update_snapshot(s)
    emitted = []
    view.table.model().dataChanged.connect(lambda *a: emitted.append(a))
    changes, drawn, summary = view.cells.changes, view.curves_plot.curve_updates, view.summary.text()
    t = view.table
    items = [t.item(r, c) for r in range(t.rowCount()) for c in range(t.columnCount())]
    assert not view.update_snapshot(s)
    # equal books in a new snapshot object: recomputed, found equal, not redrawn
    assert not view.update_snapshot(dataclasses.replace(s, books=tuple(s.books)))
    assert emitted == [] and view.cells.changes == changes
    assert view.curves_plot.curve_updates == drawn and view.summary.text() == summary
    assert [t.item(r, c) for r in range(t.rowCount()) for c in range(t.columnCount())] == items
    assert all(a is b for a, b in zip(items, [t.item(r, c) for r in range(t.rowCount())
                                               for c in range(t.columnCount())]))
    # a change does reach the items it concerns only
    moved = Snap(s.books, best_execution(s.books, Order("buy", 6e7)), order=Order("buy", 6e7))
    assert view.update_snapshot(moved)
    assert emitted and view.curves_plot.curve_updates == drawn
    touched = {(a[0].row(), a[0].column()) for a in emitted}
    assert not any(c in (COL["Venue"], COL["Symbol"], COL["Fee bps"]) for _r, c in touched)


def test_no_consolidated_mid_says_why_and_shows_no_figure(view):
    books = [dataclasses.replace(b, state=STALE) for b in synthetic_books(50)]
    s = snap(books)
    assert s.result is None
    view.update_snapshot(s)
    assert view.summary.text() == s.note and "no consolidated mid" in s.note
    for row in range(view.table.rowCount()):
        for col in FIGURES:
            assert text(view, row, col) in (DASH, "")
    assert view.bar.shares == () and view.bar.bar.empty_text == s.note
    assert view.curves is None and view.curves_plot.mark.venue_dots == ()


def test_accessible_names_are_the_visible_labels(view):
    view.update_snapshot(snap(synthetic_books(100, seed=1)))
    header = view.table.horizontalHeader()
    for c in range(header.count()):
        item = view.table.horizontalHeaderItem(c)
        assert item.data(Qt.ItemDataRole.AccessibleTextRole) == item.text() == HEADERS[c]
    assert view.table.accessibleName() == view.title.text() == "Venues"
    for plot in (view.bar, view.curves_plot):
        assert plot.accessibleName() == plot.title_text == plot.plots[0].titleLabel.text


def test_the_view_renders_readably_at_window_sizes(qtbot, themed, tmp_path):  # noqa: F811
    out = Path(os.environ.get("SLIPSCOPE_SHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    v = VenuesView()
    s = snap(with_state(synthetic_books(400, seed=1), 1, STALE), "buy", 5e7)
    shown(qtbot, v, 1280, 720)
    for w, h in ((1280, 720), (1600, 1000)):
        v.resize(w, h)
        v.update_snapshot(s)
        qtbot.wait(20)
        image = v.grab().toImage()
        assert (image.width(), image.height()) == (w, h)
        assert image.save(str(out / f"venues_{w}x{h}.png"))
        t = v.table
        assert t.horizontalScrollBar().maximum() == 0, "every column fits the width"
        assert t.viewport().height() >= t.rowCount() * t.rowHeight(0), "every row shows"
        for r in range(t.rowCount()):
            for c in range(t.columnCount()):
                item = t.item(r, c)
                assert QFontMetrics(item.font()).horizontalAdvance(item.text()) < t.columnWidth(c), item.text()
        assert v.curves_plot.height() >= 0.5 * h and v.bar.height() >= 50
        # the curves were drawn in the plot: pixels of a venue's colour inside it
        plot = v.curves_plot.grab().toImage()
        colour = v.colors[s.result.legs[0].venue, s.result.legs[0].symbol]
        found = sum(1 for x in range(0, plot.width(), 2) for y in range(0, plot.height(), 2)
                    if plot.pixelColor(x, y).name() == colour)
        assert found > 20


def test_hovering_the_curves_reads_out_every_venue_at_that_size(view):
    books = with_state(synthetic_books(400, seed=1), 1, STALE)
    view.update_snapshot(snap(books, "buy", 1e6))
    c = view.curves
    j = 40  # a grid size: the readout interpolates, exact on the grid
    text_ = view.curves_plot.hover(0, math.log10(c.sizes_usd[j]), 5.0)
    lines = text_.splitlines()
    assert lines[0].startswith("size ")
    assert f"{books[0].venue}: {bps(c.venue_bps[0, j])} bps" in lines
    assert f"split: {bps(c.split_bps[j])} bps" in lines
    assert not any(line.startswith(books[1].venue) for line in lines)  # stale: no curve to read
    beyond = view.curves_plot.hover(0, 8.9, 5.0)  # 800M USD: past every single venue
    assert f"{books[0].venue}: beyond visible depth" in beyond.splitlines()


def test_curves_given_with_the_snapshot_are_drawn_without_computing_them(view, monkeypatch):
    import widgets.venues_view as vv

    books = synthetic_books(400, seed=1)
    s = snap(books, "buy", 5e7)
    ready = vv.curves_on(s.books, "buy", vv.curve_grid(5e7))
    s2 = snap(synthetic_books(400, seed=2), "buy", 5e7)
    ready2 = vv.curves_on(s2.books, "buy", vv.curve_grid(5e7))
    calls = []
    monkeypatch.setattr(vv, "venue_curves", lambda *a, **k: calls.append(a))
    given = carrying(s, ready)
    assert view.update_snapshot(given)
    assert calls == [] and view.curves is ready and view.curves_plot.curves is ready
    xs, ys = view.curves_plot.split.getData()
    assert np.array_equal(ys, ready.split_bps, equal_nan=True)
    # new books with their curves: still none computed here
    assert view.update_snapshot(carrying(s2, ready2))
    assert calls == [] and view.curves is ready2


def test_curves_for_another_side_or_grid_are_not_used(view):
    import widgets.venues_view as vv

    s = snap(synthetic_books(400, seed=1), "sell", 5e9)  # beyond the default grid: widened
    wrong = vv.curves_on(s.books, "buy", vv.curve_grid(5e9))
    view.update_snapshot(carrying(s, wrong))
    assert view.curves is not wrong and view.curves.side == "sell"
    narrow = vv.curves_on(s.books, "sell", vv.curve_grid(5e7))
    view.update_snapshot(carrying(s, narrow))
    assert view.curves is not narrow and view.curves.sizes_usd[-1] == pytest.approx(1e10)


@dataclasses.dataclass(frozen=True)
class PreSnap(Snap):
    """A snapshot that carries its curves, as the venues worker sends it."""

    curves: object = None


def carrying(s: Snap, curves) -> PreSnap:
    return PreSnap(**{f.name: getattr(s, f.name) for f in dataclasses.fields(Snap)}, curves=curves)


def test_new_books_redraw_the_lines_at_most_ten_times_a_second_and_the_newest_at_last(view, qtbot):
    plot = view.curves_plot
    plot.line_interval_s = 0.5  # wide enough that the two updates below fall inside it
    view.update_snapshot(snap(synthetic_books(400, seed=1), "buy", 5e7))
    drawn = plot.curve_updates
    newer = snap(synthetic_books(400, seed=2), "buy", 5e7)
    newest = snap(synthetic_books(400, seed=3), "buy", 5e7)
    view.update_snapshot(newer)
    assert view.update_snapshot(newest)  # the table and the marker move at once
    assert plot.curve_updates == drawn and plot.mark.book_y == pytest.approx(newest.result.net_cost_bps)
    # held, then the newest drawn when due, with no further snapshot
    qtbot.waitUntil(lambda: plot.curve_updates == drawn + 1, timeout=3000)
    assert plot.curves is view.curves
    xs, ys = plot.split.getData()
    assert np.array_equal(ys, view.curves.split_bps, equal_nan=True)
    qtbot.wait(700)
    assert plot.curve_updates == drawn + 1  # once: the middle books were never drawn
    # another side is drawn at once, whatever the interval
    view.update_snapshot(snap(synthetic_books(400, seed=3), "sell", 5e7))
    assert plot.curve_updates == drawn + 2 and plot.curves.side == "sell"
