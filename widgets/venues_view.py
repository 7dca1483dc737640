"""The Venues view: the same order on every venue side by side, the fee-aware split, and what
each would cost at every size.

It draws a VenuesSnapshot-like object (duck-typed: ``.books`` VenueBooks sorted by (venue,
symbol), ``.result`` a ``BestExecution`` or None, ``.note`` why there is none, ``.feeds`` one
FeedStatus dict per book, ``.order`` optional) as three parts:

- a table, one row per venue and a "split" row: the venue's exact walk of the whole order
  (``VenueEstimate``), the split's legs' total and its saving against the best single venue.
  A venue left out (stale, resyncing) shows its state greyed and no figures: the last ones it
  had would be stale;
- the split as one horizontal bar stacked by each venue's share of the base quantity;
- net cost against order size (log axis) per venue and for the split
  (``core.compute.venue_curves``), the order marked by a vertical line.

Every frame costs only what changed: table cells keep their items and take a new text only
when it differs, curves come computed with the snapshot (``snap.curves``, made on the venues
worker's thread) or else are recomputed here only for new books or a new side (the quantity
slider only moves the marker), and are redrawn only when their points differ. A venue keeps its colour
for the life of the view, in the table's venue cell, the bar and the curves alike.
"""
from __future__ import annotations

import math
import time
from typing import Any, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget,
)

from core.compute.best_execution import LIVE, BestExecution, NoConsolidatedMid, VenueEstimate
from core.compute.venue_curves import GRID_HI_USD, GRID_LO_USD, GRID_POINTS, VenueCurves, size_grid, venue_curves
from widgets import theme
from widgets.format import DASH, bps, compact, num, pct, qty, usd
from widgets.marks import OrderMark
from widgets.plot_base import CompactAxis, LivePlot

# One colour per venue, handed out in the order venues first appear; the split is white-ish
# and the order's marker keeps the theme's MARKER yellow, so neither looks like a venue.
VENUE_PALETTE = ("#58a6ff", "#bc8cff", "#39c5cf", "#ff9bce", "#7ee787", "#ffa657", "#a5d6ff")
SPLIT_COLOR = "#e6edf3"

# (visible header, tooltip) per table column, the verdict first (net cost, saving) so that a
# narrow window scrolls away the touch and the symbol, not the answer; the header is each
# column's accessible name.
COLUMNS = (
    ("Venue", "Exchange (market type)"),
    ("State", "Feed state; a stale or resyncing venue is left out of the split and shows no figures"),
    ("Net bps", "Net cost, bps of the filled notional at the consolidated mid"),
    ("Net USD", "Net cost against the consolidated mid: slippage plus fees, USD"),
    ("Saving bps", "Split row: the saving in bps of the order's notional"),
    ("Saving USD", "Split row: what the split saves against the best single venue, USD"),
    ("Slip bps", "Slippage against the consolidated mid, bps of the notional"),
    ("Fee bps", "Taker fee rate at the user's tier (split: fees over the legs' notional)"),
    ("Fee USD", "Taker fee on the fills, USD"),
    ("Avg px", "Average fill price of the whole order on this venue alone (split: of all legs)"),
    ("Levels", "Levels the walk touches (split: all legs together)"),
    ("Fills", "Whether the visible book fills the whole order"),
    ("Bid", "Best bid; on the split row, the consolidated best bid over the live venues"),
    ("Ask", "Best ask; on the split row, the consolidated best ask over the live venues"),
    ("Own-mid bps", "Slippage against the venue's own mid, bps of the notional"),
    ("Symbol", "Instrument on that venue; on the split row, how many venues it uses"),
)
HEADERS = tuple(h for h, _ in COLUMNS)
COL = {h: i for i, h in enumerate(HEADERS)}
TEXT_COLUMNS = ("Venue", "Symbol", "State")
FIGURES = tuple(h for h in HEADERS if h not in TEXT_COLUMNS)  # a venue's numbers (a dash when not live)
# a usual value per number column: each starts this wide (then only grows)
TEMPLATES = {"Slip bps": "-99.99", "Own-mid bps": "-99.99", "Fee bps": "99.99", "Net bps": "-99.99",
             "Levels": "999", "Fills": "yes", "Saving bps": "-99.99"}
NUMBER_TEMPLATE = "99,999.99"


def price_decimals(values: Sequence[float], most: int = 8) -> int:
    """The fewest decimals that print every finite price of ``values`` exactly (books carry
    prices on their tick, and no instrument spec is at hand here)."""
    for d in range(most + 1):
        if all(round(v, d) == v for v in values if math.isfinite(v)):
            return d
    return most


class _Cells:
    """The table's items, made once per venue set; a text or colour is set only when it
    differs, and every change is counted (``changes``) so a test can see an idle frame.

    Column widths only grow (to the widest text a column has shown, from a template wide
    enough for usual values), and the room left over is shared out evenly: the columns do
    not jump as the numbers change, and no number is ever cut."""

    MARGIN = 12  # an item's padding and frame, at least: a text this much narrower fits

    def __init__(self, table: QTableWidget) -> None:
        self.table = table
        self.font = theme.mono_font()
        self.changes = 0
        self._colors: dict[tuple[int, int], str] = {}
        self._texts: dict[tuple[int, int], str] = {}  # each item's text as last set
        mono, plain = QFontMetrics(self.font), QFontMetrics(table.horizontalHeader().font())
        self.metrics = [QFontMetrics(table.font()) if name in TEXT_COLUMNS else mono for name in HEADERS]
        # a header's text and its padding (Qt's section size hint adds room for a sort arrow
        # this table never shows), or a usual number
        usual = {name: mono.horizontalAdvance(TEMPLATES.get(name, NUMBER_TEMPLATE)) for name in HEADERS}
        self.need = [max(plain.horizontalAdvance(name), 0 if name in TEXT_COLUMNS else usual[name]) + self.MARGIN
                     for name in HEADERS]
        self.dirty = set(range(len(HEADERS)))  # columns whose text changed since the last layout

    def resize(self, rows: int) -> None:
        t = self.table
        t.setRowCount(rows)
        for r in range(rows):
            for c, name in enumerate(HEADERS):
                if t.item(r, c) is None:
                    item = QTableWidgetItem(DASH)
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                    if name not in TEXT_COLUMNS:
                        item.setFont(self.font)
                        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    t.setItem(r, c, item)
        self._colors = {k: v for k, v in self._colors.items() if k[0] < rows}
        self._texts = {k: v for k, v in self._texts.items() if k[0] < rows}

    def set(self, row: int, col: int, text: str, color: str = theme.TEXT) -> None:
        key = (row, col)
        if self._texts.get(key) != text:  # compared here, not through the item (a Qt call)
            self._texts[key] = text
            item = self.table.item(row, col)
            if item.text() != text:
                item.setText(text)
                self.changes += 1
                if self.metrics[col].horizontalAdvance(text) + self.MARGIN > self.need[col]:
                    self.dirty.add(col)  # may be wider than the column: let Qt measure it
        if self._colors.get(key) != color:
            self._colors[key] = color
            self.table.item(row, col).setForeground(QColor(color))
            self.changes += 1

    def tooltip(self, row: int, col: int, text: str) -> None:
        item = self.table.item(row, col)
        if item.toolTip() != text:
            item.setToolTip(text)
            self.changes += 1

    def layout_columns(self, force: bool = False) -> bool:
        """Each column its width needed plus an even share of the room left (after a column
        grew, or a resize)."""
        t, grew = self.table, False
        for c in self.dirty:  # Qt's own measure of the column's items (a handful of rows)
            need = t.sizeHintForColumn(c)
            if need > self.need[c]:
                self.need[c], grew = need, True
        self.dirty.clear()
        if not (grew or force):
            return False
        room = self.table.viewport().width() - sum(self.need)
        extra = max(room, 0) // len(self.need)
        for c, need in enumerate(self.need):
            if self.table.columnWidth(c) != need + extra:
                self.table.setColumnWidth(c, need + extra)
        return True

    @property
    def overflows(self) -> bool:
        """Whether the columns need more than the table's width (a scroll bar shows)."""
        return sum(self.need) > self.table.viewport().width()


class StackedBar(pg.GraphicsObject):
    """Segments side by side over [0, 1] (view x), each labelled inside with its text where
    the text fits (else with its share alone, else not at all), in one paint call: a bar
    item and a text item per segment would cost a layout per label per frame."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: tuple[tuple[float, float, str, str], ...] = ()  # (x0, width, label, colour)
        self.empty_text = ""
        self.drawn_labels: list[str] = []  # the labels the last paint drew (tests)
        self._edge = theme.pen(theme.PANEL)

    def set(self, parts: Sequence[tuple[float, float, str, str]], empty_text: str) -> None:
        self.parts, self.empty_text = tuple(parts), empty_text
        self.update()

    def boundingRect(self):  # noqa: N802 (Qt name)
        return pg.QtCore.QRectF(0.0, -0.5, 1.0, 1.0)

    def paint(self, p, *args) -> None:
        tr = p.transform()
        p.resetTransform()
        labels = []
        fm = p.fontMetrics()
        if not self.parts and self.empty_text:
            p.setPen(theme.pen(theme.MUTED))
            box = pg.QtCore.QRectF(tr.map(QPointF(0.0, -0.4)), tr.map(QPointF(1.0, 0.4))).normalized()
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, self.empty_text)
        for x0, width, label, colour in self.parts:
            box = pg.QtCore.QRectF(tr.map(QPointF(x0, -0.4)), tr.map(QPointF(x0 + width, 0.4))).normalized()
            p.fillRect(box, QColor(colour))
            p.setPen(self._edge)
            p.drawLine(box.topLeft(), box.bottomLeft())
            share = pct(width)
            for text in (f"{label} {share}", share):
                if fm.horizontalAdvance(text) + 8 <= box.width():
                    p.setPen(theme.pen(theme.BG))
                    p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
                    labels.append(text)
                    break
        self.drawn_labels = labels


class SplitBar(LivePlot):
    """The split as one bar, stacked by each leg's share of the base quantity, labelled with
    the venue and its share where the segment is wide enough to hold the text."""

    TITLE = "Split across venues (share of base)"

    def __init__(self, parent=None) -> None:
        super().__init__(self.TITLE, parent)
        self.plot = self.add_plot()
        self.grids[0].hide()
        for name in ("left", "bottom"):
            self.plot.hideAxis(name)
        self.plot.setMenuEnabled(False)
        self.plot.getViewBox().setMouseEnabled(False, False)
        self.plot.getViewBox().setRange(xRange=(0.0, 1.0), yRange=(-0.5, 0.5), padding=0.0)
        self.set_title(self.TITLE, force=True)
        self.bar = StackedBar()
        self.plot.addItem(self.bar)
        self.shares: tuple[tuple[str, float], ...] = ()  # (venue label, share) of the split
        self._drawn: tuple | None = None
        self.setFixedHeight(64)

    def draw(self, parts: Sequence[tuple[str, float, str]], empty_text: str = "") -> bool:
        """``parts``: (label, share, colour) per leg, shares summing to 1; none shows
        ``empty_text``. Returns whether anything was redrawn."""
        self.shares = tuple((lb, s) for lb, s, _ in parts)
        key = (tuple((lb, round(s, 4), c) for lb, s, c in parts), empty_text)  # 1e-4: a tenth of a pixel
        if key == self._drawn:
            return False
        self._drawn = key
        x0 = 0.0
        segments = []
        for label, share, colour in parts:
            segments.append((x0, share, label, colour))
            x0 += share
        self.bar.set(segments, empty_text if not parts else "")
        return True


class SplitMark(OrderMark):
    """The order on the curves: OrderMark's line and dot (the split's cost), and a dot per
    venue in its colour at what the order costs there alone; one item, one paint call."""

    def __init__(self) -> None:
        super().__init__()
        self.venue_dots: tuple[tuple[float, str], ...] = ()

    def set_dots(self, dots: Sequence[tuple[float, str]]) -> bool:
        dots = tuple((y, c) for y, c in dots if math.isfinite(y))
        if dots == self.venue_dots:
            return False
        self.venue_dots = dots
        self.update()
        return True

    def paint(self, p, *args) -> None:
        if math.isfinite(self.x) and self.venue_dots:
            tr = p.transform()
            p.save()
            p.resetTransform()
            p.setPen(self._edge)
            for y, colour in self.venue_dots:
                p.setBrush(_brush(colour))
                p.drawEllipse(tr.map(QPointF(self.x, y)), 3.5, 3.5)
            p.restore()
        super().paint(p, *args)  # the split's dot on top


class VenueCurvesPlot(LivePlot):
    """Net cost (bps of the notional at the consolidated mid) against order size in USD on a
    log axis: one line per live venue, ending where its visible book runs out, and the
    split's; a vertical line at the order's size with a dot on the split's cost."""

    TITLE = "Net cost vs order size, per venue and split"
    #: new books redraw the lines at most this often (10 Hz: each redraw rebuilds every line's
    #: path), at most 1.5 intervals late; the marker and its dots follow every frame, and a new
    #: side or grid is drawn at once
    LINE_INTERVAL_S = 0.1

    def __init__(self, parent=None) -> None:
        super().__init__(self.TITLE, parent)
        bottom = CompactAxis("bottom")
        bottom.setLogMode(True)
        self.plot = self.add_plot(axis_items={"bottom": bottom}, left="net cost (bps)",
                                  bottom="order size (USD, log)")
        self.set_title(self.TITLE, force=True)
        self.split = pg.PlotCurveItem(pen=theme.pen(SPLIT_COLOR, Qt.PenStyle.DashLine))
        self.split.setZValue(10)
        self.plot.addItem(self.split)
        self.mark = SplitMark()
        self.mark.setZValue(20)
        self.plot.addItem(self.mark, ignoreBounds=True)
        self.lines: dict[tuple[str, str], pg.PlotCurveItem] = {}
        self.legend: pg.LegendItem | None = None
        self._legend_key: tuple | None = None
        self.curves: VenueCurves | None = None  # the curves the lines show
        self.marker_x = math.nan  # the order's size in USD as drawn (tests, readout)
        self.curve_updates = 0
        self.line_interval_s = self.LINE_INTERVAL_S
        self._lines_at = -math.inf  # perf_counter of the last redraw of the lines
        self._pending: VenueCurves | None = None  # newer curves for the same side, due soon
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.timeout.connect(self._draw_pending)
        self.enable_crosshair()

    def set_venues(self, keys: Sequence[tuple[str, str]], colors: dict[tuple[str, str], str]) -> None:
        """One line per venue (made when a venue appears), the legend rebuilt only when the
        set of venues changes (:meth:`label_venues` renames its entries)."""
        for key in keys:
            if key not in self.lines:
                line = pg.PlotCurveItem(pen=theme.pen(colors[key]))
                self.plot.addItem(line)
                self.lines[key] = line
        for key, line in self.lines.items():
            line.setVisible(key in keys)
        legend_key = tuple(keys)
        if legend_key != self._legend_key:
            self._legend_key = legend_key
            if self.legend is not None:
                scene = self.legend.scene()
                self.legend.setParentItem(None)
                if scene is not None:
                    scene.removeItem(self.legend)
            entries = [(self.lines[k], k[0]) for k in keys] + [(self.split, "split")]
            self.legend = self.add_legend(self.plot, entries, right=False)

    def label_venues(self, labels: Sequence[str]) -> None:
        """The legend's venue entries, in the order of :meth:`set_venues` ("bybit-linear
        (stale)": a venue without a line says why)."""
        if self.legend is not None:
            for i, text in enumerate(labels):
                self.relabel_legend(self.legend, i, text)

    def legend_texts(self) -> list[str]:
        return [label.text for _sample, label in self.legend.items] if self.legend is not None else []

    def draw(self, curves: VenueCurves | None, order_usd: float, split_bps: float,
             dots: Sequence[tuple[float, str]] = ()) -> bool:
        """Redraw the lines when ``curves`` is a new object whose points differ (new books for
        the same side and sizes at most every ``line_interval_s``: the newest are held and
        drawn when due), and move the marker (``split_bps`` its dot, ``dots`` each venue's (net bps, colour) at the order's
        size). Returns whether anything changed."""
        changed = False
        if curves is self.curves:
            if self._pending is not None:  # back to the curves shown: nothing newer to draw
                self._pending = None
                self._flush.stop()
        else:
            wait = self._lines_at + self.line_interval_s - time.perf_counter()
            if wait > 0 and _same_kind(self.curves, curves):  # new books only: within 0.1 s
                self._pending = curves
                if not self._flush.isActive():  # half an interval late: a frame that comes
                    # meanwhile draws them in its own paint, this only when none does
                    self._flush.start(max(1, math.ceil((wait + self.line_interval_s / 2) * 1000)))
            else:
                changed = self._set_lines(curves, order_usd, split_bps)
        x = math.log10(order_usd) if order_usd > 0 and math.isfinite(order_usd) else math.nan
        if (x, split_bps) != (self.mark.x, self.mark.book_y) and not (
                math.isnan(x) and math.isnan(self.mark.x)):
            self.mark.set(x, split_bps)
            changed = True
        changed |= self.mark.set_dots(dots)
        if order_usd != self.marker_x and not (math.isnan(order_usd) and math.isnan(self.marker_x)):
            self.marker_x = order_usd
            if self.curves is not None:
                self._follow(self.curves, order_usd, split_bps)
        return changed

    def _set_lines(self, curves: VenueCurves | None, order_usd: float, split_bps: float) -> bool:
        """Redraw the lines for ``curves`` if their points differ from those shown."""
        self._pending = None
        self._flush.stop()
        old, self.curves = self.curves, curves
        if curves is None:
            for line in list(self.lines.values()) + [self.split]:
                line.setData([], [])
            return True
        if old is not None and _same_points(old, curves):
            return False
        lx = np.log10(curves.sizes_usd)
        for k, key in enumerate(curves.keys):
            self.lines[key].setData(lx, curves.venue_bps[k], connect="finite")
        self.split.setData(lx, curves.split_bps, connect="finite")
        self._lines_at = time.perf_counter()
        self.curve_updates += 1
        self._follow(curves, order_usd, split_bps)
        return True

    def _draw_pending(self) -> None:
        """The newest curves held back by the 10 Hz limit, when it allows (no newer frame may
        come to draw them)."""
        if self._pending is not None:
            self._set_lines(self._pending, self.marker_x, self.mark.book_y)

    def _follow(self, curves: VenueCurves, order_usd: float, split_bps: float) -> None:
        lx = np.log10(curves.sizes_usd)
        lo, hi = float(lx[0]), float(lx[-1])
        if order_usd > 0 and math.isfinite(order_usd):
            lo, hi = min(lo, math.log10(order_usd)), max(hi, math.log10(order_usd))
        self.follow_range(0, "x", lo, hi, pad=0.02, shrink=0.7)
        ys = np.concatenate([curves.venue_bps.ravel(), curves.split_bps])
        ys = ys[np.isfinite(ys)]
        if ys.size:
            top = max(float(ys.max()), split_bps if math.isfinite(split_bps) else -math.inf)
            self.follow_range(0, "y", min(0.0, float(ys.min())), top, pad=0.06, shrink=0.5, nice=True)

    def readout(self, plot_index: int, x: float, y: float) -> str | None:
        c = self.curves
        if c is None:
            return None
        size = 10.0 ** x
        lx = np.log10(c.sizes_usd)
        lines = [f"size {compact(size)} USD"]
        rows = [(key[0], c.venue_bps[k]) for k, key in enumerate(c.keys)] + [("split", c.split_bps)]
        for name, ys in rows:
            ok = np.isfinite(ys)
            if ok.any() and lx[ok][0] <= x <= lx[ok][-1]:
                lines.append(f"{name}: {bps(float(np.interp(x, lx[ok], ys[ok])))} bps")
            elif ok.any() or name == "split":
                lines.append(f"{name}: beyond visible depth")
        return "\n".join(lines)


def curve_grid(order_usd: float, grid: np.ndarray | None = None) -> np.ndarray:
    """The curves' sizes: the default span, widened to hold an order beyond it (half to twice
    its size); ``grid`` itself when it already spans exactly that, so identity says unchanged."""
    lo, hi = GRID_LO_USD, GRID_HI_USD
    if math.isfinite(order_usd) and not (lo <= order_usd <= hi):
        lo, hi = min(lo, order_usd / 2.0), max(hi, order_usd * 2.0)
    if grid is not None and grid.shape[0] == GRID_POINTS and (lo, hi) == (grid[0], grid[-1]):
        return grid
    return size_grid(lo, hi, GRID_POINTS)


def curves_on(books: Sequence, side: str, grid: np.ndarray) -> VenueCurves | None:
    """Every venue's and the split's cost curve for ``side`` on ``grid``; None without a
    consolidated mid (nothing to price against)."""
    try:
        return venue_curves(books, side, grid)
    except NoConsolidatedMid:
        return None


def _fits(curves: Any, side: str, grid: np.ndarray) -> bool:
    """Precomputed curves are for this side and these sizes."""
    return (isinstance(curves, VenueCurves) and curves.side == side
            and curves.sizes_usd.shape == grid.shape and curves.sizes_usd[0] == grid[0]
            and curves.sizes_usd[-1] == grid[-1])


def _same_kind(a: VenueCurves | None, b: VenueCurves | None) -> bool:
    """Curves of the same venues, side and sizes (only the books differ)."""
    return (a is not None and b is not None and a.side == b.side and a.keys == b.keys
            and np.array_equal(a.sizes_usd, b.sizes_usd))


def _same_points(a: VenueCurves, b: VenueCurves) -> bool:
    return (a.keys == b.keys and np.array_equal(a.sizes_usd, b.sizes_usd)
            and np.array_equal(a.venue_bps, b.venue_bps, equal_nan=True)
            and np.array_equal(a.split_bps, b.split_bps, equal_nan=True))


class VenuesView(QWidget):
    """The Venues view. Feed it with :meth:`update_snapshot` at the frame rate (or whenever a
    new snapshot or order arrives); it reads ``snap.books``, ``snap.result``, ``snap.note``,
    ``snap.feeds`` and, if present, ``snap.order`` (side and quantity when there is no result)
    and ``snap.curves`` (the cost curves for its books, side and :func:`curve_grid`: used as
    they are instead of computing them on this thread).
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("venues_view")
        self.setAccessibleName("Venues")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(6)
        head = QHBoxLayout()
        self.title = QLabel("Venues")
        self.title.setObjectName("name")
        self.title.setStyleSheet("font-weight: bold;")
        self.summary = QLabel("")
        self.summary.setObjectName("venues_summary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        head.addWidget(self.title)
        head.addWidget(self.summary, 1)
        lay.addLayout(head)
        self.table = self._make_table()
        self.cells = _Cells(self.table)
        lay.addWidget(self.table)
        self.bar = SplitBar()
        lay.addWidget(self.bar)
        self.curves_plot = VenueCurvesPlot()
        lay.addWidget(self.curves_plot, 1)
        self.colors: dict[tuple[str, str], str] = {}
        self.keys: tuple[tuple[str, str], ...] = ()
        self.snapshot: Any = None
        self._books: Any = None
        self._side: str | None = None
        self._grid: np.ndarray = size_grid()
        self._dec = 1
        self.curves: VenueCurves | None = None
        self._labels: tuple[str, ...] = ()  # the legend's venue entries as last set
        self.frames_changed = 0  # updates that changed something on screen

    # --- construction ------------------------------------------------------------------
    def _make_table(self) -> QTableWidget:
        t = QTableWidget(0, len(COLUMNS))
        t.setObjectName("venues_table")
        t.setAccessibleName("Venues")
        for c, (name, tip) in enumerate(COLUMNS):
            item = QTableWidgetItem(name)
            item.setToolTip(tip)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, name)
            item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, tip)
            t.setHorizontalHeaderItem(c, item)
        t.verticalHeader().hide()
        t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        t.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        t.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        t.setShowGrid(False)
        t.setWordWrap(False)
        t.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        t.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        t.setStyleSheet(
            f"QTableWidget {{ background: {theme.PANEL}; border: 1px solid {theme.BORDER}; }}"
            f"QHeaderView::section {{ background: {theme.BG}; color: {theme.MUTED}; border: none;"
            f" border-bottom: 1px solid {theme.BORDER}; padding: 2px 3px; }}"
            f"QTableWidget::item {{ padding: 0 3px; }}")
        header = t.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionsClickable(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setMinimumSectionSize(24)
        header.setStretchLastSection(True)  # the pixels the even share leaves over
        for c, name in enumerate(HEADERS):
            if name in TEXT_COLUMNS:
                t.horizontalHeaderItem(c).setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        plain = QFontMetrics(t.font())
        t.verticalHeader().setDefaultSectionSize(plain.height() + 6)
        return t

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        super().resizeEvent(ev)
        self.cells.layout_columns(force=True)
        self._fit_table_height()

    def _fit_table_height(self) -> None:
        t = self.table
        h = t.horizontalHeader().height() + t.verticalHeader().defaultSectionSize() * t.rowCount()
        extra = t.horizontalScrollBar().sizeHint().height() if self.cells.overflows else 0
        t.setFixedHeight(h + 2 * t.frameWidth() + extra + 2)

    def color(self, key: tuple[str, str]) -> str:
        """A venue's colour: the next of the palette the first time it appears, then fixed."""
        if key not in self.colors:
            self.colors[key] = VENUE_PALETTE[len(self.colors) % len(VENUE_PALETTE)]
        return self.colors[key]

    # --- per frame ---------------------------------------------------------------------
    def update_snapshot(self, snap: Any) -> bool:
        """Show ``snap``; only what differs from what is on screen is touched. Returns whether
        anything changed."""
        if snap is self.snapshot:
            return False
        self.snapshot = snap
        before = self.cells.changes
        result: BestExecution | None = snap.result
        books = tuple(snap.books)
        keys = tuple(sorted((b.venue, b.symbol) for b in books))
        if keys != self.keys:
            self.keys = keys
            for key in keys:
                self.color(key)
            self.cells.resize(len(keys) + 1)
            self._fit_table_height()
            self.curves_plot.set_venues(keys, self.colors)
            self._labels = ()  # a new legend: its entries named anew
        feeds = {(b.venue, b.symbol): f for b, f in zip(books, getattr(snap, "feeds", ()) or ())}
        self._fill_venue_rows(books, result, feeds)
        self._fill_split_row(result)
        self._set_summary(snap, result)
        bar_changed = self._draw_bar(result, getattr(snap, "note", "") or "")
        curves_changed = self._draw_curves(snap, books, result)
        if self.cells.layout_columns():
            self._fit_table_height()
        changed = self.cells.changes != before or bar_changed or curves_changed
        self.frames_changed += changed
        return changed

    def _fill_venue_rows(self, books, result: BestExecution | None, feeds: dict) -> None:
        estimates = {(e.venue, e.symbol): e for e in result.venues} if result is not None else {}
        states = {(b.venue, b.symbol): b.state for b in books}
        dec = self._dec = price_decimals([x for e in estimates.values() for x in (e.best_bid, e.best_ask)])
        for row, key in enumerate(self.keys):
            e = estimates.get(key)
            state = e.state if e is not None else states[key]
            self._fill_venue_row(row, key, state, e if state == LIVE else None, dec)
            feed = feeds.get(key) or {}
            tip = " · ".join(str(x) for x in (feed.get("source"), feed.get("detail")) if x)
            self.cells.tooltip(row, COL["State"], tip)

    def _fill_venue_row(self, row: int, key: tuple[str, str], state: str, e: VenueEstimate | None,
                        dec: int) -> None:
        """A live venue's figures; a venue that is not live (stale, resyncing, or no mid to
        price against) shows its state in its colour and a dash everywhere else."""
        live = e is not None
        fg = theme.TEXT if live else theme.MUTED
        set_ = self.cells.set
        set_(row, COL["Venue"], key[0], self.colors[key])
        set_(row, COL["Symbol"], key[1], fg)
        set_(row, COL["State"], state, theme.FEED_STATE_COLORS.get(state, theme.WARN))
        if not live:
            for name in FIGURES:
                set_(row, COL[name], DASH if name not in ("Saving USD", "Saving bps") else "", fg)
            return
        values = {
            "Bid": num(e.best_bid, dec), "Ask": num(e.best_ask, dec),
            "Avg px": num(e.avg_px, min(dec + 1, 8)), "Slip bps": bps(e.slippage_bps),
            "Own-mid bps": bps(e.own_slippage_bps), "Fee bps": bps(e.taker_rate * 1e4),
            "Fee USD": usd(e.fees_usd), "Net USD": usd(e.net_cost_usd), "Net bps": bps(e.net_cost_bps),
            "Levels": str(e.levels) if e.exhausted is not None else DASH,
            "Fills": _fills(e.exhausted), "Saving USD": "", "Saving bps": "",
        }
        self.cells.tooltip(row, COL["Fills"], _short(e.exhausted, e.unfilled_usd))
        for name, text in values.items():
            color = theme.ERROR if name == "Fills" and e.exhausted else fg
            set_(row, COL[name], text, color)

    def _fill_split_row(self, r: BestExecution | None) -> None:
        row = len(self.keys)
        set_ = self.cells.set
        set_(row, COL["Venue"], "split", SPLIT_COLOR)
        if r is None:
            set_(row, COL["Symbol"], "", theme.MUTED)
            set_(row, COL["State"], "no mid", theme.MUTED)
            for name in FIGURES:
                set_(row, COL[name], DASH, theme.MUTED)
            return
        s = split_figures(r)
        dec = self._dec
        legs = len(r.legs)
        values = {
            "Symbol": f"{legs} venue{'s' if legs != 1 else ''}",
            "State": "lot-rounded" if r.rounding_residual_base > 0 else "optimal",
            "Bid": num(r.best_bid, dec), "Ask": num(r.best_ask, dec),
            "Avg px": num(s["avg_px"], min(dec + 1, 8)), "Slip bps": bps(s["slippage_bps"]),
            "Own-mid bps": "", "Fee bps": bps(s["fee_bps"]), "Fee USD": usd(s["fees_usd"]),
            "Net USD": usd(r.net_cost_usd), "Net bps": bps(r.net_cost_bps),
            "Levels": str(s["levels"]), "Fills": _fills(r.unfilled_base > 0.0),
            "Saving USD": usd(r.saving_usd), "Saving bps": bps(r.saving_bps),
        }
        self.cells.tooltip(row, COL["Fills"], _short(r.unfilled_base > 0.0, r.unfilled_base * r.reference_px))
        for name, text in values.items():
            color = theme.ERROR if name == "Fills" and r.unfilled_base > 0.0 else SPLIT_COLOR
            if name.startswith("Saving") and math.isfinite(r.saving_usd):
                color = theme.OK if r.saving_usd > 0 else SPLIT_COLOR
            set_(row, COL[name], text, color)

    def _set_summary(self, snap: Any, r: BestExecution | None) -> None:
        text = summary_text(r, getattr(snap, "note", "") or "")
        if self.summary.text() != text:
            self.summary.setText(text)
            self.cells.changes += 1

    def _draw_bar(self, r: BestExecution | None, note: str) -> bool:
        if r is None or r.filled_base <= 0.0:
            return self.bar.draw([], note or "no split: nothing to fill")
        parts = [(leg.venue, leg.base / r.filled_base, self.colors[(leg.venue, leg.symbol)]) for leg in r.legs]
        return self.bar.draw(parts)

    def _draw_curves(self, snap: Any, books: tuple, r: BestExecution | None) -> bool:
        """Curves for new books or a new side (an order size beyond the grid widens it)."""
        order = getattr(snap, "order", None)
        side = r.side if r is not None else getattr(order, "side", None)
        size = r.quantity_usd if r is not None else math.nan
        grid = curve_grid(size, self._grid)  # widened to hold the order
        ready = getattr(snap, "curves", None)  # computed by the venues worker, off this thread
        if side is None:
            self.curves = None
        elif ready is not None and _fits(ready, side, grid):
            self.curves = ready
        elif books is not self._books or side != self._side or grid is not self._grid:
            self.curves = curves_on(books, side, grid)
        self._books, self._side, self._grid = books, side, grid
        split_bps = r.net_cost_bps if r is not None else math.nan
        dots = [(e.net_cost_bps, self.colors[(e.venue, e.symbol)]) for e in r.venues] if r is not None else []
        states = {(b.venue, b.symbol): b.state for b in books}
        if r is not None:
            states.update({(e.venue, e.symbol): e.state for e in r.venues})
        labels = tuple(k[0] if states.get(k) == LIVE else f"{k[0]} ({states.get(k)})" for k in self.keys)
        if labels != self._labels:
            self._labels = labels
            self.curves_plot.label_venues(labels)
        return self.curves_plot.draw(self.curves, size, split_bps, dots)


_BRUSHES: dict[str, Any] = {}


def _brush(colour: str):
    if colour not in _BRUSHES:
        _BRUSHES[colour] = theme.brush(colour)
    return _BRUSHES[colour]


def split_figures(r: BestExecution) -> dict[str, float]:
    """The split row's totals over the legs: average price, slippage against the
    consolidated mid (bps of the legs' notional at the mid), fees, blended fee rate, levels."""
    quote = math.fsum(leg.quote_usd for leg in r.legs)
    fees = math.fsum(leg.fees_usd for leg in r.legs)
    base = r.filled_base
    sign = 1 if r.side == "buy" else -1
    avg = quote / base if base > 0.0 else math.nan
    at_mid = base * r.reference_px
    slip = sign * (quote - at_mid) / at_mid * 1e4 if at_mid > 0.0 else math.nan
    return {"avg_px": avg, "slippage_bps": slip, "fees_usd": fees,
            "fee_bps": fees / quote * 1e4 if quote > 0.0 else math.nan,
            "levels": sum(leg.levels for leg in r.legs)}


def summary_text(r: BestExecution | None, note: str) -> str:
    """One line above the table: the order, the consolidated mid, what the split pays and
    saves, and which venues it left out; or why there is nothing to price."""
    if r is None:
        return note or "waiting for books"
    paid = "pays" if r.side == "buy" else "receives"
    parts = [f"{r.side} {usd(r.quantity_usd, 0)} USD ({qty(r.quantity_base)} base) · consolidated mid "
             f"{num(r.reference_px, price_decimals([r.best_bid, r.best_ask]) + 1)}",
             f"split {paid} {usd(abs(r.paid_usd))} USD over {len(r.legs)} venue{'s' if len(r.legs) != 1 else ''}"]
    if r.best_single is not None:
        parts.append(f"saves {usd(r.saving_usd)} USD ({bps(r.saving_bps)} bps) vs {r.best_single.venue} alone")
    else:
        parts.append("no venue fills it alone")
    if r.unfilled_base > 0.0:
        parts.append(f"every book together is {qty(r.unfilled_base)} base short")
    if r.rounding_residual_base > 0.0:
        parts.append(f"lot rounding left {qty(r.rounding_residual_base)} base unplaced")
    if r.excluded:
        parts.append("left out: " + ", ".join(f"{v} ({why})" for v, _s, why in r.excluded))
    if note:
        parts.append(note)
    return " · ".join(parts)


def _fills(exhausted: bool | None) -> str:
    return DASH if exhausted is None else "no" if exhausted else "yes"


def _short(exhausted: bool | None, short_usd: float) -> str:
    """The Fills cell's tooltip: by how much the visible book falls short."""
    return f"the visible book is {usd(short_usd, 0)} USD short of the order" if exhausted else ""
