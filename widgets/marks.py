"""Batched overlay items: several marks drawn in one paint call.

Every pyqtgraph item costs about 0.1 ms per repaint in Python overhead (paint and bounding
rect calls) whatever it draws; a live plot repainted 60 times a second pays that for each
line, point, bar and label. These items draw a group of marks in one call (pyqtgraph's own
advice, see ``BarGraphItem``), in device pixels so symbols keep their size on a log axis.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF, QStaticText

from widgets import theme


class _ViewOverlay(pg.GraphicsObject):
    """Spans the whole view (like InfiniteLine): repainted with it, ignored for auto-range."""

    def __init__(self) -> None:
        super().__init__()
        self._rect = QRectF()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt name)
        vb = self.getViewBox()
        rect = vb.viewRect() if vb is not None else QRectF()
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = QRectF(rect)
        return self._rect

    def dataBounds(self, axis, frac=1.0, orthoRange=None):  # noqa: N802 (pyqtgraph name)
        return None  # never widens the range

    def viewRangeChanged(self) -> None:  # noqa: N802 (pyqtgraph hook)
        self.prepareGeometryChange()


class OrderMark(_ViewOverlay):
    """The chosen order on a cost plot: a vertical line at its size, the exact cost as a dot,
    the model's mean as a diamond with its quantile band as an error bar."""

    def __init__(self) -> None:
        super().__init__()
        self.x = math.nan
        self.book_y = math.nan
        self.model_y = math.nan
        self.lo = self.hi = math.nan
        self._line = theme.pen(theme.MARKER)
        self._band = theme.pen(theme.MODEL)
        self._dot = pg.mkBrush(theme.MARKER)
        self._diamond = pg.mkBrush(theme.MODEL)
        self._edge = theme.pen(theme.BG)

    def set(self, x: float, book_y: float | None, model_y: float | None = None,
            lo: float | None = None, hi: float | None = None) -> None:
        new = (x, _nan(book_y), _nan(model_y), _nan(lo), _nan(hi))
        if new != (self.x, self.book_y, self.model_y, self.lo, self.hi):
            self.x, self.book_y, self.model_y, self.lo, self.hi = new
            self.update()

    @property
    def has_band(self) -> bool:
        return math.isfinite(self.model_y) and math.isfinite(self.lo) and math.isfinite(self.hi)

    def paint(self, p: QPainter, *args) -> None:
        if not math.isfinite(self.x):
            return
        tr = p.transform()
        view = self._rect
        p.resetTransform()
        top = tr.map(QPointF(self.x, view.bottom()))
        bottom = tr.map(QPointF(self.x, view.top()))
        p.setPen(self._line)
        p.drawLine(top, bottom)
        if self.has_band:
            lo, hi = tr.map(QPointF(self.x, self.lo)), tr.map(QPointF(self.x, self.hi))
            p.setPen(self._band)
            p.drawLine(lo, hi)
            for end in (lo, hi):
                p.drawLine(QPointF(end.x() - 5, end.y()), QPointF(end.x() + 5, end.y()))
            m = tr.map(QPointF(self.x, self.model_y))
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(self._diamond)
            p.drawPolygon(QPolygonF([QPointF(m.x(), m.y() - 5), QPointF(m.x() + 5, m.y()),
                                     QPointF(m.x(), m.y() + 5), QPointF(m.x() - 5, m.y())]))
        if math.isfinite(self.book_y):
            b = tr.map(QPointF(self.x, self.book_y))
            p.setPen(self._edge)
            p.setBrush(self._dot)
            p.drawEllipse(b, 4.5, 4.5)


class LimitRegion(_ViewOverlay):
    """Everything right of ``x`` shaded, a dashed line at ``x`` and a label left of it at the
    bottom: where the visible book runs out."""

    def __init__(self, text: str, color: str, fill: str) -> None:
        super().__init__()
        self.x = math.nan
        self._pen = theme.pen(color, Qt.PenStyle.DashLine)
        self._fill = QColor(fill)
        self._text_pen = theme.pen(color)
        self._text = QStaticText(text)
        self._text.prepare()

    def set(self, x: float | None) -> None:
        x = _nan(x)
        if x != self.x and not (math.isnan(x) and math.isnan(self.x)):
            self.x = x
            self.update()

    def paint(self, p: QPainter, *args) -> None:
        if not math.isfinite(self.x):
            return
        view = self._rect
        if self.x > view.right():
            return
        tr = p.transform()
        p.resetTransform()
        top = tr.map(QPointF(self.x, view.bottom()))
        right_bottom = tr.map(QPointF(view.right(), view.top()))
        p.fillRect(QRectF(top, right_bottom).normalized(), self._fill)
        p.setPen(self._pen)
        p.drawLine(top, QPointF(top.x(), right_bottom.y()))
        size = self._text.size()
        p.setPen(self._text_pen)
        p.drawStaticText(QPointF(top.x() - size.width() - 4, right_bottom.y() - size.height() - 3), self._text)


class VLines(_ViewOverlay):
    """Vertical lines across the view, each with its own pen (NaN hides one) and an optional
    label at its top, on the side away from the view's centre (off the mid line) where it fits.
    Label texts are prepared once each (a line that moves every frame keeps its label: the
    value it marks is in the readout)."""

    def __init__(self, pens: list) -> None:
        super().__init__()
        self.pens = pens
        self.xs = [math.nan] * len(pens)
        self.labels: list[str] = [""] * len(pens)
        self._texts: dict[str, QStaticText] = {}
        self._text_pens = [QPen(p.color()) for p in pens]

    def set(self, i: int, x: float | None, label: str | None = None) -> None:
        x = _nan(x)
        old = self.xs[i]
        if x != old and not (math.isnan(x) and math.isnan(old)):
            self.xs[i] = x
            self.update()
        if label is not None and label != self.labels[i]:
            self.labels[i] = label
            if label not in self._texts:
                self._texts[label] = QStaticText(label)
                self._texts[label].prepare()
            self.update()

    def paint(self, p: QPainter, *args) -> None:
        view = self._rect
        tr = p.transform()
        p.resetTransform()
        for x, pen, label, text_pen in zip(self.xs, self.pens, self.labels, self._text_pens):
            if math.isfinite(x):
                top = tr.map(QPointF(x, view.bottom()))
                p.setPen(pen)
                p.drawLine(top, tr.map(QPointF(x, view.top())))
                if label:
                    p.setPen(text_pen)
                    p.drawStaticText(self._label_pos(tr, top, self._texts[label].size().width()),
                                     self._texts[label])

    def _label_pos(self, tr, top: QPointF, w: float) -> QPointF:
        """Beside the line's top, away from the view's centre where the label fits."""
        view = self._rect
        x0, x1 = tr.map(view.topLeft()).x(), tr.map(view.topRight()).x()
        lo, hi = min(x0, x1), max(x0, x1)
        right_side = top.x() >= (lo + hi) / 2
        left = top.x() + 4 if right_side else top.x() - w - 4
        if not (lo <= left and left + w <= hi):
            left = top.x() - w - 4 if right_side else top.x() + 4
        return QPointF(left, top.y() + 2)


class LineCurve(_ViewOverlay):
    """A live curve as one polyline, for plots redrawn every frame (the book plots).

    pyqtgraph's PlotCurveItem rebuilds a QPainterPath on every setData and recomputes its data
    bounds (a pass over both arrays) each time the scene asks for its bounding rect, several
    times a frame. Here the points go into a QPolygonF kept from frame to frame (its NumPy view
    written in place; it grows, never shrinks), the bounding rect is the view (the owner sets
    the ranges), and data equal to what is drawn neither touches the polygon nor repaints.
    NaN points break the line (``connect="finite"``); ``fill`` shades down to y = 0.
    """

    def __init__(self, pen: QPen, fill=None) -> None:
        super().__init__()
        self.pen = pen
        self.fill = fill
        self.opts = {"pen": pen, "antialias": False}  # what a legend's sample reads
        self._x = self._y = np.zeros(0)
        self._poly = QPolygonF()
        self._runs: list[QPolygonF] | None = None  # the finite stretches, when there are NaNs
        self._shade: QPolygonF | None = None
        self.updates = 0  # setData calls that changed the drawing (tests, benchmarks)

    def getData(self) -> tuple[np.ndarray, np.ndarray]:  # noqa: N802 (pyqtgraph name)
        return self._x, self._y

    def setData(self, x, y) -> bool:  # noqa: N802 (pyqtgraph name)
        """Draw ``(x, y)`` from the next paint; False (nothing done) when it is what is drawn.
        The arrays are kept as given (read by ``getData``): the caller must not write to them."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        if x.shape != y.shape:
            raise ValueError(f"x and y differ in shape: {x.shape} and {y.shape}")
        if x.shape == self._x.shape and np.array_equal(x, self._x, equal_nan=True) \
                and np.array_equal(y, self._y, equal_nan=True):
            return False
        self._x, self._y = x, y
        n = x.size
        self._poly.resize(n)  # within the capacity already held: no allocation
        if n:
            pts = pg.functions.ndarray_from_qpolygonf(self._poly)
            pts[:, 0] = x
            pts[:, 1] = y
        finite = np.isfinite(x) & np.isfinite(y)
        if finite.all():
            self._runs = None
        else:
            edges = np.flatnonzero(np.diff(np.concatenate(([0], finite.view(np.int8), [0]))))
            self._runs = [_polygon(x[a:b], y[a:b]) for a, b in zip(edges[::2], edges[1::2])]
        self._shade = self._shade_polygon() if self.fill is not None else None
        self.updates += 1
        self.update()
        return True

    def _shade_polygon(self) -> QPolygonF | None:
        runs = self._runs if self._runs is not None else [self._poly]
        if len(runs) != 1 or runs[0].size() < 2:
            return None  # a broken line is not shaded (the book plots have no gaps)
        shade = QPolygonF(runs[0])
        shade.append(QPointF(shade.last().x(), 0.0))
        shade.append(QPointF(shade.first().x(), 0.0))
        return shade

    def paint(self, p: QPainter, *args) -> None:
        if self._shade is not None:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(self.fill)
            p.drawPolygon(self._shade)
        p.setPen(self.pen)
        for run in self._runs if self._runs is not None else (self._poly,):
            if run.size() > 1:
                p.drawPolyline(run)


class GridLines(_ViewOverlay):
    """The plot's grid as one item, at the positions the axes tick.

    pyqtgraph draws a grid inside each axis's picture, which then spans the whole view: every
    range change re-renders two view-sized pictures (tick text and all) and every repaint blits
    them. Here the axes keep only their strip and this item draws a few dozen aliased lines;
    tick positions are recomputed only when the range or the size changes.
    """

    LEVELS = 2  # major and minor ticks, as pyqtgraph's own grid

    def __init__(self, plot: pg.PlotItem, alpha: float = 0.18) -> None:
        super().__init__()
        self.plot = plot
        self.alpha = alpha
        self._lines: list[tuple[QPen, list[QLineF]]] | None = None
        self.setZValue(-100)  # under every curve
        plot.getViewBox().sigResized.connect(self.invalidate)

    def viewRangeChanged(self) -> None:  # noqa: N802 (pyqtgraph hook)
        self._lines = None
        super().viewRangeChanged()

    def invalidate(self, *_view) -> None:
        """The view was resized: the tick spacing may change."""
        self._lines = None

    def _ticks(self, name: str) -> list[tuple[float, list[float]]]:
        """(alpha, positions) per tick level, as AxisItem.generateDrawSpecs weighs its grid."""
        ax = self.plot.getAxis(name)
        rect = self.plot.getViewBox().boundingRect()
        length = rect.width() if name == "bottom" else rect.height()
        lo, hi = ax.range
        if not (length > 0 and math.isfinite(lo) and math.isfinite(hi) and hi != lo):
            return []
        out = []
        for i, (_spacing, values) in enumerate(ax.tickValues(lo, hi, length)[: self.LEVELS]):
            density = min(max(0.05 * length / (len(values) + 1), 0.0), 1.0)
            out.append((self.alpha * density / (i + 1), [v / ax.scale for v in values]))
        return out

    def _pens(self) -> list[tuple[QPen, list[QLineF]]]:
        """One pen and its lines (view coordinates, across the view) per axis and tick level."""
        view = self._rect
        base = QColor(self.plot.getAxis("left").pen().color())  # pyqtgraph grids in the axis pen
        back = pg.mkColor(pg.getConfigOption("background"))
        out = []
        for axis_name in ("bottom", "left"):
            for alpha, values in self._ticks(axis_name):
                # the colour the translucent line would have over the plot's background, opaque:
                # the same pixels, without blending each one (translucent pens are slow)
                color = QColor.fromRgbF(*(a * alpha + b * (1.0 - alpha) for a, b in zip(
                    base.getRgbF()[:3], back.getRgbF()[:3])))
                pen = QPen(color, 0)  # cosmetic: one device pixel whatever the transform
                if axis_name == "bottom":
                    lines = [QLineF(v, view.top(), v, view.bottom()) for v in values]
                else:
                    lines = [QLineF(view.left(), v, view.right(), v) for v in values]
                out.append((pen, lines))
        return out

    def lines(self) -> list[tuple[QPen, list[QLineF]]]:
        """The pens and lines for the current range and size (computed once per change)."""
        if self._lines is None:
            self.boundingRect()  # the view rect the lines span
            self._lines = self._pens()
        return self._lines

    def paint(self, p: QPainter, *args) -> None:
        for pen, lines in self.lines():
            p.setPen(pen)
            p.drawLines(lines)


def _polygon(x: np.ndarray, y: np.ndarray) -> QPolygonF:
    """A new QPolygonF of the points (x, y), written through its NumPy view."""
    poly = pg.functions.create_qpolygonf(x.size)
    pts = pg.functions.ndarray_from_qpolygonf(poly)
    pts[:, 0] = x
    pts[:, 1] = y
    return poly


def _nan(v: float | None) -> float:
    return math.nan if v is None else float(v)
