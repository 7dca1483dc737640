"""What every live plot shares: persistent items, sticky ranges, zoom/pan, readouts, paint hooks.

A live plot is drawn by its owner's frame timer (``draw``), never by data arriving. Ranges are
"sticky": they change only when the data leaves them or shrinks well inside them, because a
range change re-ticks the axes, which costs more than redrawing the curves. Once the user zooms
or pans a plot it stops following until "reset" (or "go live").
"""
from __future__ import annotations

import math
import time
from typing import Callable

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel

from widgets import theme
from widgets.format import compact
from widgets.marks import GridLines


def sticky_range(current: tuple[float, float] | None, lo: float, hi: float,
                 pad: float = 0.05, shrink: float = 0.4, nice: bool = False) -> tuple[float, float] | None:
    """A new (lo, hi) when the data [lo, hi] left ``current`` or fills less than ``shrink`` of it;
    None to keep ``current``. ``nice`` rounds a new range out to a round step (about a tenth
    of the span): data drifting out by a hair then moves the range by a step, not by a hair."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    if hi < lo:
        lo, hi = hi, lo
    span = hi - lo
    if span <= 0:
        span = abs(hi) * 0.01 or 1.0
    if current is not None and contains(current, lo, hi) and span >= shrink * (current[1] - current[0]):
        return None
    padded = lo - pad * span, hi + pad * span
    if nice:
        r_lo, r_hi = round_out(*padded)
        # data that starts at zero (depth, holdings) keeps its small pad below, not a whole step
        padded = (padded[0] if lo == 0.0 else r_lo), r_hi
    if current is not None and _same_range(current, padded):
        # a "shrink" back to (about) the range shown: with a shrink threshold above what the pad
        # and rounding leave, it would re-tick the axes on every draw for nothing
        return None
    return padded


def _same_range(a: tuple[float, float], b: tuple[float, float], tol: float = 1e-3) -> bool:
    """Whether two ranges differ by less than ``tol`` of their span at both ends (a sub-pixel move)."""
    span = max(a[1] - a[0], b[1] - b[0])
    return abs(a[0] - b[0]) <= tol * span and abs(a[1] - b[1]) <= tol * span


def contains(current: tuple[float, float], lo: float, hi: float) -> bool:
    """Whether the range ``current`` holds the data [lo, hi] (either order)."""
    return current[0] <= min(lo, hi) and max(lo, hi) <= current[1]


NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


def round_out(lo: float, hi: float) -> tuple[float, float]:
    """(lo, hi) widened to multiples of a 1-2-2.5-5 step close to a tenth of the span."""
    span = hi - lo
    if not (span > 0 and math.isfinite(span)):
        return lo, hi
    raw = span / 10.0
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in NICE_STEPS if m * mag >= raw)
    return math.floor(lo / step) * step, math.ceil(hi / step) * step


def cache_static(item) -> None:
    """Cache an item that rarely changes (legend, text) as a pixmap with all its children.

    Curves under a legend make the whole view repaint every frame, and drawing text is the
    slowest thing a repaint does; cached, the legend is one blit until its text changes."""
    stack = [item]
    while stack:
        it = stack.pop()
        it.setCacheMode(pg.QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        stack.extend(it.childItems())


def settle(vb: pg.ViewBox) -> None:
    """Apply a range change now. pyqtgraph defers it to the next paint, which then moves every
    child and schedules a second full repaint: two paints per frame instead of one."""
    vb.updateMatrix()


def _height_only_min(label: pg.LabelItem) -> None:
    """LabelItem.updateMin, asking for the text's height only.

    pyqtgraph sizes a title to its text: a long live title then widens the layout past the
    widget and squeezes or clips the plots. Titles here are cut at the end instead.
    """
    h = label.itemRect().height()
    label.setMinimumWidth(0)
    label.setMinimumHeight(h)
    label._sizeHint = {Qt.SizeHint.MinimumSize: (0, h), Qt.SizeHint.PreferredSize: (0, h),
                       Qt.SizeHint.MaximumSize: (-1, -1), Qt.SizeHint.MinimumDescent: (0, 0)}
    label.updateGeometry()


TITLE_STYLE = "<span style='color: {color}; font-size: 9pt'>{text}</span>"


def _retext(label: pg.LabelItem, text: str) -> bool:
    """Swap a shown title's text in place when its height stays the same: True if done.

    ``PlotItem.setTitle`` re-fixes the title row and re-lays out the whole plot (then repaints
    all of it) on every change; a live title changes several times a second, and only its text
    needs repainting. The HTML is LabelItem's own for the title's colour and size."""
    if not (getattr(label, "_height_only", False) and label.isVisible()):
        return False
    height = label.item.boundingRect().height()
    label.item.setHtml(TITLE_STYLE.format(color=pg.mkColor(theme.TEXT).name(QColor.NameFormat.HexArgb),
                                          text=text))
    if label.item.boundingRect().height() != height:
        return False  # one line more or less: the full path re-sizes the row
    label.text = text
    return True


def tick_text(v: float, spacing: float) -> str:
    """A tick value as %g, with the rounding noise of a tick at zero (-1e-17) and its sign gone."""
    if abs(v) < 1e-9 * abs(spacing):
        v = 0.0
    return f"{v + 0.0:g}"


class CompactAxis(pg.AxisItem):
    """Tick labels as 1.2k / 3.4M; in log mode the labels are the real values (10**v)."""

    def tickStrings(self, values, scale, spacing):
        if self.logMode:
            return [compact(10.0 ** v) for v in values]
        return [compact(v * scale) if abs(v * scale) >= 1000 else tick_text(v * scale, spacing * scale)
                for v in values]


class LivePlot(pg.GraphicsLayoutWidget):
    """A plot widget drawn from snapshots by a frame timer; subclasses add items and ``draw``."""

    readout_rate_hz = 30
    shrink_delay_s = 1.0
    title_hz = 4.0

    def __init__(self, title: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName(title.replace(" ", "_").lower())
        self.setAccessibleName(title)  # its name (the live title carries numbers that change)
        self.title = title
        self.ci.setContentsMargins(4, 4, 8, 4)
        # the view fills every pixel it paints (an opaque background brush): without this Qt
        # first repaints each ancestor under the dirty rect (window, splitter, tabs, page:
        # six styled backgrounds) on every frame of every plot
        for w in (self, self.viewport()):
            w.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.plots: list[pg.PlotItem] = []
        self.grids: list[GridLines] = []
        self.following = True
        self._ranges: dict[tuple[int, str], tuple[float, float]] = {}
        self._shrink_since: dict[tuple[int, str], float] = {}
        self._axis_labels: dict[tuple[int, str], str] = {}
        self._title = ""
        self._title_at = -1e9
        self._setting_range = False
        self.paint_hooks: list[Callable[[int], None]] = []
        self.paints = 0
        self.last_paint_ms = math.nan
        self._readout = QLabel(self)
        self._readout.setObjectName("readout")
        self._readout.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._readout.hide()
        self._proxy: pg.SignalProxy | None = None
        self._hover_pos: QPointF | None = None  # the cursor's scene position while it is over a view
        self._crosshair: list[tuple[pg.PlotItem, pg.InfiniteLine, pg.InfiniteLine]] = []

    # --- construction helpers ----------------------------------------------------------
    def add_plot(self, row: int = 0, col: int = 0, axis_items: dict | None = None,
                 left: str = "", bottom: str = "", **kwargs) -> pg.PlotItem:
        pi = self.addPlot(row=row, col=col, axisItems=axis_items or {}, **kwargs)
        grid = GridLines(pi)
        pi.addItem(grid, ignoreBounds=True)
        self.grids.append(grid)
        pi.hideButtons()
        pi.setMenuEnabled(True)
        vb = pi.getViewBox()
        vb.disableAutoRange()
        vb.setDefaultPadding(0.0)
        vb.sigRangeChangedManually.connect(self._on_user_range)
        for name in ("left", "bottom", "right", "top"):
            # a curve update next to the axis would replay its picture (tick text included):
            # cache it as a pixmap, redrawn only when the ticks move (the grid is GridLines)
            pi.getAxis(name).setCacheMode(pg.QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        for name, text in (("left", left), ("bottom", bottom)):
            ax = pi.getAxis(name)
            ax.setPen(theme.pen(theme.BORDER))
            ax.setTextPen(theme.pen(theme.MUTED))
            ax.enableAutoSIPrefix(False)  # "(x0.001)" on a price axis only confuses
            if text:
                ax.setLabel(text, color=theme.MUTED)
        ax_left = pi.getAxis("left")
        ax_left.setWidth(52)
        # a round-step range puts a tick on its very edge: its label would spill over the title
        ax_left.setStyle(hideOverlappingLabels=6)
        self.plots.append(pi)
        return pi

    def add_legend(self, plot: pg.PlotItem, entries: list[tuple[object, str]], right: bool = False,
                   bottom: bool = False) -> pg.LegendItem:
        """A legend in a corner, anchored after its entries exist so it is sized right."""
        legend = pg.LegendItem(labelTextColor=theme.MUTED, brush=theme.brush(theme.PANEL),
                               pen=theme.pen(theme.BORDER), verSpacing=-6)
        legend.setParentItem(plot.getViewBox())
        for item, name in entries:
            legend.addItem(item, name)
        corner = (1 if right else 0, 1 if bottom else 0)
        offset = (-6 if right else 6, -4 if bottom else 4)
        legend.anchor(itemPos=corner, parentPos=corner, offset=offset)
        legend._slipscope_anchor = (corner, offset)
        legend.setZValue(100)
        cache_static(legend)
        return legend

    @staticmethod
    def relabel_legend(legend: pg.LegendItem, index: int, text: str) -> None:
        """Change one legend entry's text; resize and re-anchor (the anchor keeps the old size)."""
        label = legend.items[index][1]
        if label.text == text:
            return
        label.setText(text)
        legend.updateSize()
        corner, offset = legend._slipscope_anchor
        legend.anchor(itemPos=corner, parentPos=corner, offset=offset)
        cache_static(legend)

    @property
    def title_text(self) -> str:
        return self._title

    def set_axis_label(self, plot_index: int, axis: str, text: str) -> None:
        """Change an axis label only when it differs: setting it re-lays out and re-ticks the axis."""
        key = (plot_index, axis)
        if self._axis_labels.get(key) != text:
            self._axis_labels[key] = text
            self.plots[plot_index].getAxis(axis).setLabel(text, color=theme.MUTED)

    def set_title(self, text: str, force: bool = False) -> None:
        """Titles carry live numbers; they change at most ``title_hz`` times a second (readable,
        and each change re-lays out the plot)."""
        now = time.perf_counter()
        if text == self._title or (not force and now - self._title_at < 1.0 / self.title_hz):
            return
        self._title = text
        if not force:
            self._title_at = now
        if self.plots:
            pi = self.plots[0]
            label = pi.titleLabel
            if _retext(label, text):
                return
            if not getattr(label, "_height_only", False):
                label._height_only = True
                label.opts["justify"] = "left"  # when cut, cut the end
                label.updateMin = lambda lb=label: _height_only_min(lb)
            pi.setTitle(text, color=theme.TEXT, size="9pt")

    def enable_crosshair(self) -> None:
        """Crosshair and a readout label on hover, rate-limited with SignalProxy."""
        for pi in self.plots:
            v = pg.InfiniteLine(angle=90, movable=False, pen=theme.pen(theme.MUTED, Qt.PenStyle.DotLine))
            h = pg.InfiniteLine(angle=0, movable=False, pen=theme.pen(theme.MUTED, Qt.PenStyle.DotLine))
            for line in (v, h):
                line.setZValue(50)
                line.hide()
                pi.addItem(line, ignoreBounds=True)
            self._crosshair.append((pi, v, h))
        self._proxy = pg.SignalProxy(self.scene().sigMouseMoved, rateLimit=self.readout_rate_hz,
                                     slot=self._on_mouse)

    # --- ranges ------------------------------------------------------------------------
    def follow_range(self, plot_index: int, axis: str, lo: float, hi: float,
                     pad: float = 0.05, shrink: float = 0.4, nice: bool = False) -> None:
        """Apply a sticky range to one axis of one plot, unless the user took over.

        Data leaving the range widens it at once; data shrinking inside it narrows it only once
        it has stayed small for ``shrink_delay_s``: a book whose far levels come and go would
        otherwise re-tick the axes several times a second."""
        if not self.following:
            return
        key = (plot_index, axis)
        current = self._ranges.get(key)
        new = sticky_range(current, lo, hi, pad, shrink, nice)
        if new is None:
            self._shrink_since.pop(key, None)
            return
        if current is not None and contains(current, lo, hi):  # inside: a shrink, delayed
            now = time.perf_counter()
            if now - self._shrink_since.setdefault(key, now) < self.shrink_delay_s:
                return
        self._shrink_since.pop(key, None)
        self._ranges[key] = new
        vb = self.plots[plot_index].getViewBox()
        self._setting_range = True
        try:
            if axis == "x":
                vb.setXRange(*new, padding=0)
            else:
                vb.setYRange(*new, padding=0)
            settle(vb)
        finally:
            self._setting_range = False

    def _on_user_range(self, *_args) -> None:
        if not self._setting_range:
            self.following = False

    def reset_view(self) -> None:
        """Follow the data again (the next draw picks fresh ranges)."""
        self.following = True
        self._ranges.clear()
        self._shrink_since.clear()

    # --- readout -----------------------------------------------------------------------
    def readout(self, plot_index: int, x: float, y: float) -> str | None:
        """Text for the hover readout at view coordinates (x, y); None hides it."""
        return None

    def _on_mouse(self, event) -> None:
        pos = event[0]
        text = None
        self._hover_pos = None
        for i, (pi, v, h) in enumerate(self._crosshair):
            inside = pi.sceneBoundingRect().contains(pos) and pi.vb.sceneBoundingRect().contains(pos)
            v.setVisible(inside)
            h.setVisible(inside)
            if inside:
                self._hover_pos = QPointF(pos)
                p = pi.vb.mapSceneToView(pos)
                v.setPos(p.x())
                h.setPos(p.y())
                text = self.readout(i, p.x(), p.y())
        if text:
            self._readout.setText(text)
            self._readout.adjustSize()
            w = self.width() - self._readout.width() - 10
            self._readout.move(max(w, 4), 26)
            self._readout.show()
        else:
            self._readout.hide()

    def refresh_readout(self) -> None:
        """New data under a still cursor: read out what is under it now (the same pixel, which
        may be a new value, or a new price after a range change). A no-op when not hovered."""
        if self._hover_pos is not None:
            self._on_mouse((self._hover_pos,))

    def leaveEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        self._hover_pos = None
        self._readout.hide()
        for _pi, v, h in self._crosshair:
            v.hide()
            h.hide()
        super().leaveEvent(ev)

    def readout_text(self) -> str:
        return self._readout.text() if self._readout.isVisible() else ""

    def hover(self, plot_index: int, x: float, y: float) -> str:
        """Move the crosshair to view point (x, y) as a mouse would (tests, keyboard)."""
        pi = self.plots[plot_index]
        self._on_mouse((pi.vb.mapViewToScene(QPointF(x, y)),))
        return self.readout_text()

    # --- painting ----------------------------------------------------------------------
    def paintEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        t0 = time.perf_counter_ns()
        super().paintEvent(ev)
        t1 = time.perf_counter_ns()
        self.paints += 1
        self.last_paint_ms = (t1 - t0) / 1e6
        for hook in self.paint_hooks:
            hook(t1)
