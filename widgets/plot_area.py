"""The plots' area: all six in a 2 x 3 grid where there is room, else tabs of two.

A plot squeezed below a few hundred pixels loses its axes' labels and its legend covers its
data (at 1024x700 the grid made them ~130 px wide). Below :data:`GRID_CELL` per plot the area
shows pages of two plots instead (book, market, execution), the two stacked or side by side,
whichever gives the better-proportioned plots. The mode follows the area's own size, which
does not depend on the mode, so it never flips back and forth; plots are only re-parented
when the mode changes, never while the data is drawn.

Views of their own (the Venues view) follow the plots as tabs of their own, in every mode: with
them the grid is one tab among others, so the tab bar shows.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QGridLayout, QTabWidget, QVBoxLayout, QWidget

GRID_CELL = QSize(370, 190)  # the smallest plot the 2 x 3 grid may give
PLOT_ASPECT = 1.8  # width / height a plot reads best at: picks stacked or side by side
PAGES = (("Book", ("depth", "cost_curve")), ("Market", ("spread_mid", "slippage")),
         ("Execution", ("schedule", "latency")))
SPACING = 4
MIN_SIZE = QSize(360, 420)  # two plots of ~180 px stacked, with the tab bar: never narrower


class PlotArea(QWidget):
    """Holds the plots by name; lays them out as a grid or as tabs of pairs by its size."""

    def __init__(self, plots: dict[str, QWidget], parent=None,
                 views: dict[str, QWidget] | None = None) -> None:
        """``views``: tab title -> a widget shown as a whole tab after the plots' pages."""
        super().__init__(parent)
        self.plots = plots
        self.views = dict(views or {})
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("plot_tabs")
        self.tabs.setDocumentMode(True)
        self.tabs.setTabBarAutoHide(True)  # one page (the grid): no tab bar
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.tabs)
        self.mode = ""  # "grid" | "stacked" | "side"
        self.setMinimumSize(MIN_SIZE)
        self._apply("grid")

    def mode_for(self, size: QSize) -> str:
        """The layout for an area of ``size``: the grid if every plot gets :data:`GRID_CELL`,
        else pairs, stacked or side by side by which is nearer :data:`PLOT_ASPECT`."""
        w, h = size.width(), size.height()
        bar = self.tabs.tabBar().sizeHint().height()
        if w >= 2 * GRID_CELL.width() + 3 * SPACING and \
                h - (bar if self.views else 0) >= 3 * GRID_CELL.height() + 4 * SPACING:
            return "grid"
        h -= bar
        stacked, side = w / max(h / 2, 1), (w / 2) / max(h, 1)
        return "stacked" if abs(stacked - PLOT_ASPECT) <= abs(side - PLOT_ASPECT) else "side"

    def page_of(self, name: str) -> int | None:
        """The tab index that holds plot ``name`` (None if it is not laid out)."""
        plot = self.plots[name]
        for i in range(self.tabs.count()):
            if self.tabs.widget(i).isAncestorOf(plot):
                return i
        return None

    def add_view(self, title: str, view: QWidget) -> None:
        """A view tab ``title`` after the others (once: a second call changes nothing)."""
        if title in self.views:
            return
        self.views[title] = view
        self.tabs.addTab(view, title)

    def show_view(self, title: str) -> None:
        """Bring the view tab ``title`` to the front."""
        self.tabs.setCurrentWidget(self.views[title])

    def view_shown(self, title: str) -> bool:
        return self.tabs.currentWidget() is self.views[title]

    def show_plot(self, name: str) -> None:
        """Bring the page of plot ``name`` to the front."""
        i = self.page_of(name)
        if i is not None:
            self.tabs.setCurrentIndex(i)

    def resizeEvent(self, ev) -> None:  # noqa: N802 (Qt name)
        self._apply(self.mode_for(ev.size()))
        super().resizeEvent(ev)

    def _apply(self, mode: str) -> None:
        if mode == self.mode:
            return
        current = self.tabs.currentWidget()
        front = next((n for n, p in self.plots.items()
                      if current is not None and current.isAncestorOf(p)), None)
        front_view = next((t for t, v in self.views.items() if v is current), None)
        self.mode = mode
        old = [self.tabs.widget(i) for i in range(self.tabs.count())]
        old = [page for page in old if page not in self.views.values()]
        blocked = self.tabs.blockSignals(True)  # no "current changed" while the pages are rebuilt
        self.tabs.clear()
        if mode == "grid":
            self.tabs.addTab(self._page([names for _t, names in PAGES]), "Plots")
        else:
            for title, names in PAGES:
                rows = [[n] for n in names] if mode == "stacked" else [list(names)]
                self.tabs.addTab(self._page(rows), title)
                self.tabs.setTabToolTip(self.tabs.count() - 1, " · ".join(
                    self.plots[n].title for n in names))
        for title, view in self.views.items():
            self.tabs.addTab(view, title)
        for page in old:
            page.deleteLater()  # its plots were re-parented into the new pages
        if front is not None:
            self.show_plot(front)
        elif front_view is not None:
            self.show_view(front_view)
        self.tabs.blockSignals(blocked)

    def _page(self, rows: list[list[str]]) -> QWidget:
        page = QWidget()
        grid = QGridLayout(page)
        grid.setContentsMargins(SPACING, SPACING, SPACING, SPACING)
        grid.setSpacing(SPACING)
        for r, names in enumerate(rows):
            grid.setRowStretch(r, 1)
            for c, name in enumerate(names):
                grid.addWidget(self.plots[name], r, c)
                grid.setColumnStretch(c, 1)
        return page
