"""The window at the sizes people run it at: 1024x700, 1280x720, 1366x768, 1600x1000.

Offscreen, with the real wiring (worker thread, frame timer) and live synthetic data: every plot
is visible at a readable size (or is the visible page of its tab), no output value is cut and
the window does not demand more room than the screen has. ``SLIPSCOPE_SHOTS=<folder>`` saves a
PNG of the window at each size (the screenshots that were looked at when the layout changed).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel

from tests.gui_support import qloop, settings_file  # noqa: F401 (fixtures)
from tests.test_gui_window import close, open_window

pytestmark = pytest.mark.gui

MIN_PLOT_W, MIN_PLOT_H = 300, 180
SIZES = [(1024, 700), (1280, 720), (1366, 768), (1600, 1000)]


@pytest.fixture
def themed(qapp):
    """The app's own style, palette and stylesheet (their padding is part of the layout);
    the application's previous look is restored for the tests that follow."""
    from widgets import theme

    style, palette, sheet = qapp.style().name(), qapp.palette(), qapp.styleSheet()
    theme.apply(qapp)
    yield
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)
    qapp.setStyle(style)


@pytest.fixture
def running(qtbot, themed, qloop, settings_file, tmp_path):  # noqa: F811
    r = open_window(qtbot, qloop, settings_file, tmp_path)
    qtbot.waitUntil(lambda: r.window.latest is not None and r.window.frames_drawn > 2, timeout=15_000)
    yield r
    close(qtbot, r)


def _settle(qtbot, window, w: int, h: int) -> None:
    window.resize(w, h)
    qtbot.wait(400)  # relayout, a few frames and one label refresh at the new size


def _shown_plots(window):
    return [p for p in window.plots.values() if p.isVisibleTo(window)]


def _cut_labels(window) -> list[str]:
    """Visible value labels whose text is wider than the label (a number cut or elided)."""
    cut = []
    viewport = window.outputs.viewport()
    for label in window.outputs.findChildren(QLabel):
        if not label.isVisibleTo(window) or not label.text():
            continue
        right = label.mapTo(viewport, label.rect().topRight()).x()
        if right > viewport.width():  # past the panel's edge (it never scrolls sideways)
            cut.append(f"{label.accessibleName() or label.text()!r} ends at {right} px of {viewport.width()}")
        if label.wordWrap():
            continue
        need = label.fontMetrics().horizontalAdvance(label.text())
        if need > label.contentsRect().width() + 1:
            cut.append(f"{label.accessibleName() or label.objectName()}: {label.text()!r} "
                       f"needs {need} px, has {label.contentsRect().width()}")
    return cut


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_plot_is_readable_and_no_number_is_cut(qtbot, running, size):
    window = running.window
    w, h = size
    _settle(qtbot, window, w, h)
    folder = os.environ.get("SLIPSCOPE_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        window.grab().save(str(Path(folder) / f"window-{w}x{h}.png"))
        tabs = window.plot_area.tabs
        for i in range(1, tabs.count()):
            tabs.setCurrentIndex(i)
            qtbot.wait(300)
            window.grab().save(str(Path(folder) / f"window-{w}x{h}-{tabs.tabText(i)}.png"))
        tabs.setCurrentIndex(0)
        qtbot.wait(100)
    assert window.width() <= w and window.height() <= h, "the window demands more than the screen"
    shown = _shown_plots(window)
    assert shown, "no plot visible"
    for plot in shown:
        assert plot.width() >= MIN_PLOT_W and plot.height() >= MIN_PLOT_H, \
            f"{plot.title} is {plot.width()}x{plot.height()} at {w}x{h}"
    # a plot not on screen is one tab away, never squeezed out of sight
    for name, plot in window.plots.items():
        if plot not in shown:
            assert window.plot_area.page_of(name) is not None, f"{name} is neither shown nor in a tab"
    assert _cut_labels(window) == []
    assert _inputs_past_the_edge(window) == []


def _inputs_past_the_edge(window) -> list[str]:
    """Input fields that stick out of the inputs panel (it never scrolls sideways)."""
    from PySide6.QtWidgets import QAbstractButton, QComboBox, QLineEdit

    scroll = window.inputs.parentWidget().parentWidget()  # viewport -> scroll area
    viewport = scroll.viewport()
    out = []
    for kind in (QLineEdit, QComboBox, QAbstractButton):
        for field in window.inputs.findChildren(kind):
            if field.isVisibleTo(window):
                right = field.mapTo(viewport, field.rect().topRight()).x()
                if right > viewport.width():
                    out.append(f"{field.accessibleName()!r} ends at {right} px of {viewport.width()}")
    return out


def test_tabs_hold_every_plot_and_frame_figures_say_dash_while_the_book_tab_is_behind(qtbot, running):
    window = running.window
    _settle(qtbot, window, 1280, 720)
    area = window.plot_area
    # three pages of two plots, then the Venues view's own tab
    assert area.mode != "grid" and area.tabs.count() == 4 and area.tabs.tabBar().isVisible()
    assert area.tabs.tabText(3) == "Venues"
    assert area.page_of("depth") == area.page_of("cost_curve") == area.tabs.currentIndex() == 0
    area.show_plot("slippage")
    assert window.slippage.isVisible() and not window.depth.isVisible()
    # the plots behind keep being drawn: the one brought forward shows the newest data at once
    version = window.history.version
    qtbot.waitUntil(lambda: window.spread_mid.drawn_version > version, timeout=3000)
    # no book frame is painted while the depth chart is behind: no frame rate, no stale p99
    qtbot.waitUntil(lambda: " — fps · frame p99 —" in window.stats_label.text(), timeout=3000)
    area.show_plot("depth")
    qtbot.waitUntil(lambda: "— fps" not in window.stats_label.text(), timeout=3000)
    # wide again: one grid, the Book plots where they were, and the Venues tab beside it
    _settle(qtbot, window, 1600, 1000)
    assert area.mode == "grid" and [area.tabs.tabText(i) for i in range(area.tabs.count())] == ["Plots", "Venues"]
    assert all(p.isVisible() for p in window.plots.values())


def test_a_value_wider_than_its_column_widens_the_outputs_panel_instead_of_being_cut(qtbot, themed):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QSplitter, QWidget

    from core.params import OrderParams
    from tests.gui_support import snapshots
    from widgets.estimate_view import summarise
    from widgets.outputs_panel import OutputsPanel

    panel = OutputsPanel()
    split = QSplitter(Qt.Orientation.Horizontal)
    split.addWidget(QWidget())
    split.addWidget(panel)
    split.setChildrenCollapsible(False)
    qtbot.addWidget(split)
    split.resize(700, 600)
    split.show()
    qtbot.waitExposed(split)
    split.setSizes([700, 0])  # as narrow as the splitter lets it be
    qtbot.wait(50)
    narrow = panel.width()
    huge = snapshots(3, params=OrderParams(quantity=5e10))[-1]  # more than the book holds
    panel.show_snapshot(huge, summarise(huge))
    split.setSizes([700, 0])
    qtbot.wait(100)
    notional = panel.cells("notional")[0]
    assert len(notional.text()) > 12 and panel.width() > narrow
    viewport = panel.viewport()
    for label in (notional, *panel.cells("size"), *panel.cells("avg_px")):
        assert label.mapTo(viewport, label.rect().topRight()).x() <= viewport.width()
        assert label.fontMetrics().horizontalAdvance(label.text()) <= label.contentsRect().width() + 1
