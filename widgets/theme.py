"""The dark theme: one palette for Qt widgets, the stylesheet and every plot.

Plot pens are 1 px, opaque and cosmetic: pyqtgraph draws wider or translucent pens several
times slower (measured with bench-gui), and a trading screen wants thin precise lines anyway.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QApplication

from core.resources import resource_path

BG = "#0e1117"  # window
PANEL = "#161b22"  # panels, plot background
BORDER = "#30363d"
GRID = "#30363d"
TEXT = "#c9d1d9"
MUTED = "#8b949e"
ACCENT = "#58a6ff"
BID = "#3fb950"  # buy side: bids
ASK = "#f85149"  # sell side: asks
MARKER = "#f0b429"  # the user's order
MODEL = "#bc8cff"  # model predictions
WARN = "#d29922"
EXHAUSTED = "#2a1718"  # opaque tint of ERROR over PANEL: beyond the visible depth
ERROR = "#f85149"
OK = "#3fb950"

FEED_STATE_COLORS = {
    "live": OK, "synthetic": ACCENT, "connecting": WARN, "reconnecting": WARN,
    "resyncing": WARN, "stale": ERROR, "stopped": MUTED,
}


def pen(color: str, style=None) -> "pg.QtGui.QPen":
    p = pg.mkPen(color, width=1)
    p.setCosmetic(True)
    if style is not None:
        p.setStyle(style)
    return p


def brush(color: str, alpha: int = 255):
    c = QColor(color)
    c.setAlpha(alpha)
    return pg.mkBrush(c)


def mono_font(point_size: int | None = None) -> QFont:
    """Fixed-width digits so columns of numbers align."""
    f = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    if point_size:
        f.setPointSize(point_size)
    return f


def configure_pyqtgraph(use_opengl: bool = False) -> None:
    """Global pyqtgraph options; call before any plot widget exists."""
    pg.setConfigOptions(background=PANEL, foreground=TEXT, antialias=False,
                        useOpenGL=use_opengl, enableExperimental=False)


def apply(app: QApplication) -> None:
    """Fusion style, a dark palette and the shipped stylesheet."""
    app.setStyle("Fusion")
    pal = QPalette()
    for role, color in (
        (QPalette.ColorRole.Window, BG), (QPalette.ColorRole.WindowText, TEXT),
        (QPalette.ColorRole.Base, PANEL), (QPalette.ColorRole.AlternateBase, BG),
        (QPalette.ColorRole.Text, TEXT), (QPalette.ColorRole.Button, PANEL),
        (QPalette.ColorRole.ButtonText, TEXT), (QPalette.ColorRole.Highlight, ACCENT),
        (QPalette.ColorRole.HighlightedText, BG), (QPalette.ColorRole.ToolTipBase, PANEL),
        (QPalette.ColorRole.ToolTipText, TEXT), (QPalette.ColorRole.PlaceholderText, MUTED),
    ):
        pal.setColor(role, QColor(color))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(MUTED))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(MUTED))
    app.setPalette(pal)
    qss = resource_path("styles", "dark.qss")
    if qss.exists():
        app.setStyleSheet(qss.read_text(encoding="utf-8"))
