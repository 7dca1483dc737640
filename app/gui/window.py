"""The main window: inputs | plots | outputs, a frame timer, freeze / go live, export.

Snapshots arrive through a queued slot (:meth:`MainWindow.on_snapshot`) that only records
them (the newest reference, and a row of the bounded history) and asks for a frame; all
drawing happens in :meth:`_frame`, paced by one single-shot timer:
- the book plots (depth, cost curve) redraw only when a new snapshot arrived, as soon as it
  arrives but never more than 60 times a second (a snapshot that comes early waits for the
  frame slot, and only the newest is drawn); without new data the timer ticks at 10 Hz, and at
  4 Hz when the window is hidden or minimised (nothing is drawn then; history keeps filling);
- time series redraw at 10 Hz from the ring buffers (never the whole history: a window);
- text refreshes at 5 Hz so numbers stay readable, except right after an input changed, when
  the first snapshot priced with the new inputs updates the numbers in that very frame;
- the latency histogram redraws at 2 Hz.
Receive -> frame latency is measured when the depth chart has actually painted the frame.

The Venues tab (issue 12) shows the order on several venues at once and its split: its
snapshots arrive through :meth:`MainWindow.on_venues` and are drawn by the same frame timer, only
the newest and only while the tab is in front, within the same 60 fps budget. Opening the tab
the first time asks the app for the venues (``venuesRequested``) when none run yet.

Frozen (F), the view keeps the book it showed: live snapshots still fill the history, and an
input changed meanwhile is priced on the frozen book by the worker (:meth:`on_repriced`), so
the numbers and the cost-curve marker follow the inputs on that one book. L goes live.
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401 (registers ImageExporter)
from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog, QLabel, QMainWindow, QScrollArea, QSizePolicy, QSplitter, QToolBar,
)

from app.gui import settings as store
from app.gui.feed_source import choice_from_form
from app.gui.export import ExportError, ExportJob, titled
from core.feed.pipeline import FeedStatus, retry_note
from core.params import OrderParams
from core.resources import resource_path
from core.snapshot import Snapshot
from core.venues import DEFAULT_VENUE
from widgets.cost_curve import CostCurvePlot
from widgets.depth_chart import DepthChart
from widgets.estimate_view import Summary, summarise
from widgets.format import micros, num
from widgets.history import History
from widgets.inputs_panel import InputsPanel
from widgets.latency_histogram import LatencyHistogram, percentiles
from widgets.outputs_panel import OutputsPanel
from widgets.plot_area import PlotArea
from widgets.schedule_plot import SchedulePlot
from widgets.timeseries import SlippageHistoryPlot, SpreadMidPlot
from widgets.venues_view import VenuesView

FRAME_HZ = 60.0
HIDDEN_HZ = 4.0
SERIES_HZ = 10.0
LABEL_HZ = 5.0
HISTOGRAM_HZ = 2.0
#: plot PNGs are rendered at least this many pixels per on-screen (logical) pixel
EXPORT_SCALE = 2.0


def _clock(ts_ms: float) -> str:
    """A book time (ms since the epoch) as local HH:MM:SS.mmm."""
    if not (isinstance(ts_ms, (int, float)) and math.isfinite(ts_ms) and ts_ms > 0):
        return "—"
    return time.strftime("%H:%M:%S", time.localtime(ts_ms / 1000.0)) + f".{int(ts_ms % 1000):03d}"


def icon(name: str) -> QIcon:
    return QIcon(str(resource_path("icons", f"{name}.svg")))


class _SidePanel(QScrollArea):
    """A panel that scrolls vertically, never sideways: its minimum width is its body's, read
    when the splitter lays out (after the style sheet has polished the fields), not when built."""

    def __init__(self, body) -> None:
        super().__init__()
        self.setWidget(body)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def _chrome(self) -> int:
        return self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth() + 2

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        return QSize(self.widget().minimumSizeHint().width() + self._chrome(), super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        return QSize(self.widget().sizeHint().width() + self._chrome(), super().sizeHint().height())


class MainWindow(QMainWindow):
    paramsChanged = Signal(object)  # validated OrderParams
    freezeChanged = Signal(object)  # the Snapshot whose book is frozen, or None when live
    instrumentChanged = Signal(str)
    venueChanged = Signal(str, str)  # (venue, symbol) picked in the Exchange selector
    shutdownRequested = Signal()
    feedRequested = Signal(object)  # an app.gui.feed_source.FeedChoice: the feed dialog's, or the app's
    venuesRequested = Signal()  # the Venues tab was opened and no venues run yet
    _exportDone = Signal(object, str)  # (folder | None, error): emitted by the export thread

    def __init__(self, settings: QSettings, fee_tiers, instruments: list[str] | None = None,
                 use_opengl: bool = False, frame_hz: float = FRAME_HZ, depth_fill: bool = False,
                 check=None, opengl_available: tuple[bool, str] | None = None,
                 venue: str = DEFAULT_VENUE) -> None:
        """``venue``: the exchange the window opens on (the feed's); ``instruments``: the symbols
        its Instrument selector lists (None: the venue's, from its data files)."""
        super().__init__()
        self.setWindowTitle("slipscope")
        self.setWindowIcon(icon("app"))
        self.settings = settings
        self.frame_interval = 1.0 / frame_hz
        self.history = History()
        self.latest: Snapshot | None = None
        self.latest_summary: Summary | None = None
        self.status: FeedStatus | None = None
        self.frozen = False
        #: frozen: the snapshot shown (the frozen book, priced with the inputs in force) and
        #: its summary; live snapshots keep filling the history meanwhile
        self.frozen_view: tuple[Snapshot, Summary] | None = None
        self.frozen_since = math.nan
        self.closing = False
        self._closed_ok = False
        self.export_dir = store.export_dir(settings)
        self.feed_form: dict = {}  # the running feed, as the feed dialog shows it (set by the app)
        self.feed_dialog = None
        self.last_export: Path | None = None
        self.last_export_error = ""
        self._exporting = False

        # frame bookkeeping
        self._drawn: Snapshot | None = None
        self._drawn_summary: Summary | None = None
        self._drawn_recv_ns = 0
        self._pending_frame_recv_ns = 0
        self._awaiting: OrderParams | None = None
        self._last_draw = 0.0
        self._stopped = True
        self._redraw = False
        self._series_at = self._labels_at = self._hist_at = self._rate_at = 0.0
        self._rate_received = 0
        self.msg_rate = math.nan
        self._last_snapshot_wall = math.nan
        self.frames_drawn = 0
        self.ticks = 0
        self._paints_at = (time.perf_counter(), 0, True)  # (when, depth paints, depth on screen)
        self.fps = math.nan  # painted frames per second, once measured over a label period
        # the Venues tab: the newest VenuesSnapshot, the one drawn, and its frame figures
        self.venues_latest = None
        self._venues_drawn = None
        self._venues_pending_ns = 0  # time_ns of the venues snapshot drawn, until its paint
        self.venues_received = 0
        self.venues_frames = 0  # venues snapshots drawn
        #: venues snapshot priced (time.time_ns) -> its frame painted, ms
        self.venues_frame_ms: deque[float] = deque(maxlen=4096)
        self.venues_fps = math.nan
        self._venues_paints_at = (time.perf_counter(), 0)
        self.venues_running = False  # set by the app once venues were started

        self.inputs = InputsPanel(instruments, fee_tiers, venue=venue, check=check)
        self.inputs.load(store.load_params(settings), store.load_instrument(settings, venue))
        self.outputs = OutputsPanel()
        self.depth = DepthChart(fill=depth_fill)
        self.cost = CostCurvePlot()
        self.spread_mid = SpreadMidPlot()
        self.slippage = SlippageHistoryPlot()
        self.schedule = SchedulePlot()
        self.latency = LatencyHistogram()
        self.venues_view = VenuesView()
        self.analysis_view = None  # the History tab's view, made when an analysis is opened
        self.plots = {"depth": self.depth, "cost_curve": self.cost, "spread_mid": self.spread_mid,
                      "slippage": self.slippage, "schedule": self.schedule, "latency": self.latency}
        self.opengl = False
        if opengl_available is None:
            from app.gui.opengl import resolve_opengl
            opengl_available = resolve_opengl(True)
        self.opengl_available = opengl_available
        if use_opengl and opengl_available[0]:
            self.set_opengl(True)
        self.depth.paint_hooks.append(self._on_depth_painted)
        self.venues_view.curves_plot.paint_hooks.append(self._on_venues_painted)
        self._build_layout()
        self._build_toolbar()
        self._build_statusbar()

        self.inputs.paramsChanged.connect(self._on_params)
        self.inputs.instrumentChanged.connect(self._on_instrument)
        self.inputs.venueChanged.connect(self._on_venue)
        self.inputs.messageChanged.connect(self._on_input_message)
        self._exportDone.connect(self._on_export_done)

        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._frame)
        self._slow = QTimer(self)
        self._slow.setSingleShot(True)
        self._slow.timeout.connect(self._slow_views)
        geometry = settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            screen = self.screen().availableGeometry()
            self.resize(min(1600, screen.width()), min(1000, screen.height()))

    # --- layout --------------------------------------------------------------------------
    def _build_layout(self) -> None:
        """Inputs | plots | outputs in a splitter. The side panels scroll vertically and keep
        their minimum widths (no number cut); either can be dragged shut to give the plots the
        room. The plot area reflows to tabs of two plots when a 2 x 3 grid would be cramped."""
        left = _SidePanel(self.inputs)
        left.setObjectName("inputs_scroll")
        self.plot_area = PlotArea(self.plots, views={"Venues": self.venues_view})
        self.plot_area.tabs.currentChanged.connect(self._on_tab)
        self._book_plots = (self.depth, self.cost, self.schedule)  # drawn on every new snapshot
        self.outputs.setMaximumWidth(460)  # its minimum follows its widest value (minimumSizeHint)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("main_split")
        split.addWidget(left)
        split.addWidget(self.plot_area)
        split.addWidget(self.outputs)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setStretchFactor(2, 0)
        split.setCollapsible(0, True)
        split.setCollapsible(1, False)
        split.setCollapsible(2, True)
        split.setSizes([290, 930, 380])
        self.split = split
        self.setCentralWidget(split)

    def _build_toolbar(self) -> None:
        tb = QToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.addToolBar(tb)
        self.freeze_action = QAction(icon("freeze"), "Freeze", self)
        self.freeze_action.setCheckable(True)
        self.freeze_action.setShortcut(QKeySequence("F"))
        self.freeze_action.setToolTip("Freeze the view (F); data keeps flowing into the buffers")
        self.freeze_action.toggled.connect(self.set_frozen)
        self.live_action = QAction(icon("live"), "Go live", self)
        self.live_action.setShortcut(QKeySequence("L"))
        self.live_action.setToolTip("Unfreeze and follow the newest data (L)")
        self.live_action.triggered.connect(self.go_live)
        self.reset_action = QAction(icon("reset"), "Reset view", self)
        self.reset_action.setShortcut(QKeySequence("R"))
        self.reset_action.setToolTip("Reset zoom and pan of every plot (R)")
        self.reset_action.triggered.connect(self.reset_views)
        self.export_action = QAction(icon("export"), "Export", self)
        self.export_action.setShortcut(QKeySequence.StandardKey.Save)
        self.export_action.setToolTip("Export PNGs, CSVs and snapshot.json to a time-stamped folder (Ctrl+S)")
        self.export_action.triggered.connect(self.export_snapshot)
        self.export_dir_action = QAction("Export folder…", self)
        self.export_dir_action.triggered.connect(self.choose_export_dir)
        self._show_export_dir()
        self.analysis_action = QAction("Open analysis…", self)
        self.analysis_action.setShortcut(QKeySequence.StandardKey.Open)
        self.analysis_action.setToolTip("Show a `slipscope analyze` result (costs.parquet) in a History tab (Ctrl+O)")
        self.analysis_action.triggered.connect(lambda: self.open_analysis())
        for a in (self.freeze_action, self.live_action, self.reset_action, self.export_action,
                  self.export_dir_action, self.analysis_action):
            tb.addAction(a)
            self.addAction(a)
        tb.addSeparator()
        self.feed_action = QAction("Feed…", self)
        self.feed_action.setToolTip("Change the feed: venue and format, instrument, URL, "
                                    "the embedded synthetic market or a replay file")
        self.feed_action.triggered.connect(self.open_feed_dialog)
        tb.addAction(self.feed_action)
        tb.addSeparator()
        self.gl_action = QAction("OpenGL", self)
        self.gl_action.setCheckable(True)
        self.gl_action.setChecked(self.opengl)
        ok, note = self.opengl_available
        self.gl_action.setEnabled(ok)
        self.gl_action.setToolTip(f"Render the plots through OpenGL ({note})" if ok else
                                  f"OpenGL unavailable: {note}")
        self.gl_action.toggled.connect(self.set_opengl)
        tb.addAction(self.gl_action)
        tb.addSeparator()
        self.source_label = QLabel("")
        self.source_label.setObjectName("name")
        self.source_label.setAccessibleName("Feed source")
        tb.addWidget(self.source_label)

    def _build_statusbar(self) -> None:
        sb = self.statusBar()
        self.badge = QLabel("CONNECTING")
        self.badge.setObjectName("badge")
        self.badge.setProperty("role", "warn")
        self.frozen_badge = QLabel("FROZEN")
        self.frozen_badge.setObjectName("badge")
        self.frozen_badge.setProperty("role", "frozen")
        self.frozen_badge.hide()
        self.stats_label = QLabel("")
        self.message_label = QLabel("")
        # no label beside them: each is named for what it shows
        for widget, name in ((self.badge, "Feed state"), (self.frozen_badge, "Frozen"),
                             (self.stats_label, "Message rate, frame rate and frame p99"),
                             (self.message_label, "Status message")):
            widget.setAccessibleName(name)
        sb.addWidget(self.badge)
        sb.addWidget(self.frozen_badge)
        sb.addWidget(self.message_label, 1)
        sb.addPermanentWidget(self.stats_label)

    # --- start / stop --------------------------------------------------------------------
    def start_frames(self) -> None:
        self._stopped = False
        self.timer.start(0)

    def stop_frames(self) -> None:
        self._stopped = True
        self.timer.stop()
        self._slow.stop()

    def set_source(self, text: str) -> None:
        self.source_label.setText(text)
        self.source_label.setToolTip(text)
        # a long URL is cut at the toolbar's end, not hidden in its overflow menu: the label
        # takes the room left (expanding) and asks for little (its minimum)
        self.source_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.source_label.setMinimumWidth(120)

    def reset_data(self) -> None:
        """Forget what was seen (a new instrument): nothing of the old book may be shown."""
        self.history.clear()
        self.latest = self.latest_summary = None
        self._drawn = self._drawn_summary = None
        for p in self.plots.values():
            p.reset_view()

    # --- slots (GUI thread; queued from the worker) ----------------------------------------
    @Slot(object)
    def on_snapshot(self, snap: Snapshot) -> None:
        if not self._is_shown_market(snap):
            return  # a late snapshot of the previous instrument or venue
        summary = summarise(snap)
        self.history.add(snap, summary, time.time())
        self.latest, self.latest_summary = snap, summary
        self._last_snapshot_wall = time.monotonic()
        if not self.frozen and self.isVisible() and not self.isMinimized():
            self._request_frame()  # hidden or frozen: the slow heartbeat is enough

    @Slot(object)
    def on_repriced(self, snap: Snapshot) -> None:
        """New inputs priced on the frozen book: the frozen view shows them (numbers, marker)."""
        view = self.frozen_view
        if not self.frozen or view is None or snap.book.version != view[0].book.version \
                or not self._is_shown_market(snap):
            return  # gone live (or another book) since it was asked for
        self.frozen_view = (snap, summarise(snap))
        self._request_frame()

    def _is_shown_market(self, snap: Snapshot) -> bool:
        """``snap`` prices the instrument the inputs show, on the exchange they show (Binance's
        and Bybit's BTCUSDT share a symbol, not a book)."""
        inst, shown = snap.instrument, self.inputs.instrument_spec
        return (inst.inst_id, inst.exchange, inst.kind) == (shown.inst_id, shown.exchange, shown.kind)

    def shown(self) -> tuple[Snapshot | None, Summary | None]:
        """What the view shows: the frozen book while frozen, else the newest snapshot."""
        if self.frozen:
            return self.frozen_view or (None, None)
        return self.latest, self.latest_summary

    # --- the Venues tab --------------------------------------------------------------------
    @Slot(object)
    def on_venues(self, snap) -> None:
        """A VenuesSnapshot from the venues worker: kept (newest only) and drawn at the next
        frame while the Venues tab is in front."""
        self.venues_latest = snap
        self.venues_received += 1
        if self.venues_shown():
            self._request_frame()

    def venues_shown(self) -> bool:
        return self.isVisible() and not self.isMinimized() and self.plot_area.view_shown("Venues")

    def show_venues(self) -> None:
        """Bring the Venues tab to the front (``--venues``)."""
        self.plot_area.show_view("Venues")

    def set_venues_source(self, title: str, detail: str = "") -> None:
        """Where the venues' books come from: ``title`` in the view's (SYNTHETIC when embedded),
        ``detail`` in its tooltip."""
        self.venues_view.title.setText(f"Venues · {title}")
        self.venues_view.title.setToolTip(detail or title)

    def _on_tab(self, _index: int) -> None:
        venues = self.plot_area.view_shown("Venues")
        # the outputs describe the single venue's book: the Venues view has its own table, and
        # all of its columns need the room
        self.outputs.setVisible(not venues)
        if venues:
            if not self.venues_running:
                self.venuesRequested.emit()
            self._venues_paints_at = (time.perf_counter(), self.venues_view.curves_plot.paints)
            self.venues_fps = math.nan  # measured anew while in front
        else:
            self._redraw = True  # the book plots waited behind the Venues tab: the newest now
        self._request_frame()

    def _draw_venues(self, snap) -> None:
        self.venues_view.update_snapshot(snap)
        self._venues_drawn = snap
        self.venues_frames += 1
        self._venues_pending_ns = snap.time_ns

    def _on_venues_painted(self, _t_ns: int) -> None:
        if self._venues_pending_ns:
            self.venues_frame_ms.append((time.time_ns() - self._venues_pending_ns) / 1e6)
            self._venues_pending_ns = 0

    @Slot(object)
    def on_status(self, status: FeedStatus) -> None:
        self.status = status
        self._show_badge()

    @Slot(str)
    def on_worker_failed(self, message: str) -> None:
        self.show_message(f"compute error: {message}", error=True)

    def show_message(self, text: str, error: bool = False) -> None:
        self.message_label.setText(text)
        self.message_label.setStyleSheet("color: #ffa198;" if error else "color: #8b949e;")

    # --- inputs ----------------------------------------------------------------------------
    def _on_params(self, params: OrderParams) -> None:
        self._awaiting = params
        store.save_params(self.settings, params)
        self.paramsChanged.emit(params)

    def _on_instrument(self, inst_id: str) -> None:
        self.settings.setValue("feed/instrument", inst_id)
        self.set_frozen(False)  # the frozen book belongs to the old instrument
        self.reset_data()
        self.instrumentChanged.emit(inst_id)

    def _on_venue(self, venue: str, symbol: str) -> None:
        # the app switches the feed (its reopen forgets the old book) or asks for one first
        # (Cancel changes nothing); meanwhile the old venue's snapshots are not shown
        self.venueChanged.emit(venue, symbol)

    def _on_input_message(self, text: str) -> None:
        if text:
            self.show_message(f"Input refused: {text}", error=True)
        elif self.message_label.text().startswith("Input refused"):
            self.show_message("")

    # --- freeze / views --------------------------------------------------------------------
    @Slot(bool)
    def set_frozen(self, frozen: bool) -> None:
        """Freeze the book on screen (inputs changed meanwhile are priced on it), or go live."""
        if frozen == self.frozen:
            return
        self.frozen = frozen
        if self.freeze_action.isChecked() != frozen:
            self.freeze_action.setChecked(frozen)
        if frozen:
            drawn = (self._drawn, self._drawn_summary) if self._drawn is not None else None
            self.frozen_view = drawn or ((self.latest, self.latest_summary) if self.latest else None)
            self.frozen_since = time.time()
            since = time.strftime("%H:%M:%S", time.localtime(self.frozen_since))
            self.frozen_badge.setText(f"FROZEN since {since}")
            book = self.frozen_view[0].book if self.frozen_view else None
            self.frozen_badge.setToolTip(
                (f"Showing the book of {_clock(book.ts_ms)} (version {book.version}); " if book else "")
                + "inputs changed now are priced on this book while live data keeps buffering. "
                  "L goes live.")
        else:
            self.frozen_view, self.frozen_since = None, math.nan
        self.frozen_badge.setVisible(frozen)
        self.freezeChanged.emit(self.frozen_view[0] if self.frozen_view else None)
        self._request_frame()

    def go_live(self) -> None:
        self.set_frozen(False)
        self.reset_views()

    def set_opengl(self, on: bool) -> None:
        """Switch every plot's viewport to OpenGL (where a context exists) or back; remembered."""
        on = bool(on) and self.opengl_available[0]
        for p in self.plots.values():
            p.useOpenGL(on)
        self.opengl = on
        self.settings.setValue("view/opengl", on)

    def reset_views(self) -> None:
        for p in self.plots.values():
            p.reset_view()
        self._redraw = True  # the newest snapshot, at once, with fresh ranges
        self.schedule._key = None
        self._series_at = 0.0
        self._request_frame()

    # --- the frame -------------------------------------------------------------------------
    def _request_frame(self) -> None:
        """A new snapshot: draw it as soon as the 60 fps budget allows (not at the next tick)."""
        if self.closing or not self.timer.isActive() and self._stopped:
            return
        now = time.perf_counter()
        due = max(now, self._last_draw + self.frame_interval)
        wait_ms = int(math.ceil((due - now) * 1000))
        if not self.timer.isActive() or wait_ms < self.timer.remainingTime():
            self.timer.start(wait_ms)

    def _frame(self) -> None:
        now = time.perf_counter()
        self.ticks += 1
        if not self.isVisible() or self.isMinimized():
            self.timer.start(int(1000 / HIDDEN_HZ))
            return
        snap, summary = self.shown()
        drew = False
        venues, in_front = self.venues_latest, self.venues_shown()
        # behind the Venues tab the book plots wait (they are drawn at once when it goes back)
        book_due = snap is not None and (snap is not self._drawn or self._redraw) and not in_front
        venues_due = venues is not None and venues is not self._venues_drawn and in_front
        if book_due or venues_due:
            if now < self._last_draw + self.frame_interval - 0.0002:
                self._request_frame()  # early (ms rounding): come back when the frame is due
                return
            # drift-free pacing: advance the frame clock by exactly one interval while keeping up
            # (timer granularity is 1 ms, so "now" alone would give 58.8 fps, not 60)
            ideal = self._last_draw + self.frame_interval
            self._last_draw = ideal if now - ideal < self.frame_interval else now
            if venues_due:
                self._draw_venues(venues)
            if book_due:
                self._draw_book(snap, summary)
                drew = True
        if drew and not self._new_inputs_priced():
            # the slower views (series, numbers, histogram: several ms) after this frame's
            # paint, not before it: Qt delivers the posted repaint before a zero-time timer
            self._slow.start(0)
        else:
            self._slow_views()
        # the slow heartbeat for series, labels and histogram; a snapshot pulls the next frame in
        self.timer.start(int(1000 / SERIES_HZ))

    def _new_inputs_priced(self) -> bool:
        """The newest snapshot is the first priced with inputs just changed: its numbers are
        drawn in this very frame."""
        snap = self.shown()[0]
        return self._awaiting is not None and snap is not None and snap.params == self._awaiting

    def _slow_views(self) -> None:
        """Time series (10 Hz), numbers (5 Hz, or at once for new inputs), histogram (2 Hz)."""
        now = time.perf_counter()
        snap = self.latest
        if not self.frozen and now - self._series_at >= 1.0 / SERIES_HZ and \
                self.history.version != self.spread_mid.drawn_version:
            self._series_at = now
            wall = time.time()
            self.spread_mid.draw(self.history, wall, snap.instrument.tick_size if snap else 0.1)
            self.slippage.draw(self.history, wall)
            self.spread_mid.refresh_readout()
            self.slippage.refresh_readout()
        forced = self._new_inputs_priced()
        if now - self._labels_at >= 1.0 / LABEL_HZ or forced:
            self._labels_at = now
            if forced:
                self._awaiting = None
            self._update_labels(now)
        if now - self._hist_at >= 1.0 / HISTOGRAM_HZ and not self.frozen:
            self._hist_at = now
            self.latency.draw(self.history)
            self.latency.refresh_readout()

    def _draw_book(self, snap: Snapshot, summary: Summary) -> None:
        self._redraw = False
        self.depth.draw(snap, summary)
        self.cost.draw(snap, summary)
        self.schedule.draw(snap, summary)
        for plot in self._book_plots:
            plot.refresh_readout()  # a readout under a still cursor follows the new data
        self._drawn, self._drawn_summary = snap, summary
        self.frames_drawn += 1
        if snap.recv_ns != self._drawn_recv_ns:
            self._drawn_recv_ns = snap.recv_ns
            self._pending_frame_recv_ns = snap.recv_ns

    def _on_depth_painted(self, t_ns: int) -> None:
        if self._pending_frame_recv_ns:
            self.history.add_frame_latency((t_ns - self._pending_frame_recv_ns) / 1000.0)
            self._pending_frame_recv_ns = 0

    def _update_labels(self, now: float) -> None:
        shown, summary = self.shown()
        if shown is not None:  # frozen: the frozen book with the inputs in force
            self.outputs.show_snapshot(shown, summary)
            f = shown.features
            self.inputs.set_market(f.mid, f.vol_annual, f.vol_updates, f.vol_state, f.vol_seconds)
        snap = self.latest  # feed figures are live even when the view is frozen
        # rates over the last label period
        # frames are counted where they are measured, on the depth chart's paint: while its tab
        # is behind another, no frame is painted and the frame figures read "—", not the old ones
        on_screen = self.depth.isVisible()
        t0, n0, seen0 = self._paints_at
        dt = now - t0
        if dt >= 0.5:
            self.fps = (self.depth.paints - n0) / dt if on_screen and seen0 else math.nan
            self._paints_at = (now, self.depth.paints, on_screen)
            received = int(snap.counters.get("received", 0)) if snap is not None else 0
            if self._rate_at:
                self.msg_rate = max(received - self._rate_received, 0) / (now - self._rate_at)
            self._rate_at, self._rate_received = now, received
        f50, f99 = (percentiles(self.history.frame_us.view()[-512:, 0]) if on_screen
                    else (math.nan, math.nan))
        self.outputs.show_frame_stats(f50, f99, self.fps,
                                      self.depth.last_paint_ms if on_screen else math.nan)
        feed = dict(snap.feed) if snap is not None else {}
        if self.status is not None:
            feed.update(self.status.as_dict())
        age = (time.monotonic() - self._last_snapshot_wall) if math.isfinite(self._last_snapshot_wall) else None
        self.outputs.show_feed(feed, snap.counters if snap is not None else None, self.msg_rate, age)
        self._show_badge()
        # "—" until measured: a rate needs two label periods, a p99 some painted frames
        if self.venues_shown():
            self.stats_label.setText(self._venues_stats(now))
        else:
            self.stats_label.setText(f"{num(self.msg_rate, 0)} msg/s · {num(self.fps, 0)} fps · "
                                     f"frame p99 {micros(f99)}")

    def _venues_stats(self, now: float) -> str:
        """The Venues tab's frames: painted per second, and priced -> painted p99."""
        t0, n0 = self._venues_paints_at
        paints = self.venues_view.curves_plot.paints
        if now - t0 >= 0.5:
            self.venues_fps = (paints - n0) / (now - t0)
            self._venues_paints_at = (now, paints)
        recent = list(self.venues_frame_ms)[-512:]
        p99 = percentiles(np.asarray(recent) * 1000.0)[1] if recent else math.nan
        return f"venues: {num(self.venues_fps, 0)} fps · priced -> frame p99 {micros(p99)}"

    def _show_badge(self) -> None:
        st = self.status
        state = st.state if st else "connecting"
        synthetic = bool(st and st.synthetic)
        retry = retry_note(st.as_dict()) if st else ""  # a failing feed: attempt, next try
        text = state.upper() + (" · SYNTHETIC" if synthetic else "") + (f" · {retry}" if retry else "")
        role = {"live": "ok", "stale": "error", "stopped": "muted"}.get(state, "warn")
        if synthetic and state == "live":
            role = "synthetic"
        if self.badge.text() != text:
            self.badge.setText(text)
        if self.badge.property("role") != role:
            self.badge.setProperty("role", role)
            self.badge.style().unpolish(self.badge)
            self.badge.style().polish(self.badge)

    # --- feed ------------------------------------------------------------------------------
    def open_feed_dialog(self, form: dict | None = None, note: str = ""):
        """The feed dialog, filled with ``form`` (default: the running feed); an accepted feed
        is handed to the app (``feedRequested``; remembered once it started), a refused one
        changes nothing.
        ``note`` says why it opened when the app asks for a feed."""
        from widgets.feed_dialog import FeedDialog

        if form is None:
            form = dict(self.feed_form) or dict(store.load_feed_form(self.settings) or {})
            form.setdefault("feed", self.inputs.venue)
            form.setdefault("instrument", self.inputs.instrument_id)
        if self.feed_dialog is not None:
            self.feed_dialog.deleteLater()
        self.feed_dialog = FeedDialog(form, check=choice_from_form, parent=self, note=note)
        self.feed_dialog.chosen.connect(self._on_feed_chosen)
        self.feed_dialog.open()
        return self.feed_dialog

    def _on_feed_chosen(self, choice) -> None:
        self.show_message(f"Switching the feed to {choice.source}…")
        self.request_feed(choice)

    def request_feed(self, choice) -> None:
        """Have the app switch to ``choice`` (remembered for the next launch once it started)."""
        self.feedRequested.emit(choice)

    # --- history ---------------------------------------------------------------------------
    def open_analysis(self, path: str | Path | None = None) -> bool:
        """Show a ``slipscope analyze`` result (its ``costs.parquet``) in the History tab; asks
        for the file when none is given. A file that is not one is refused out loud, naming it,
        and the tab keeps what it showed."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Open analysis", str(self._export_root()),
                                                  "slipscope analysis (costs.parquet *.parquet)")
            if not path:
                return False
        path = Path(path)
        try:
            columns = read_analysis(path)
        except (OSError, ValueError) as exc:
            self.show_message(f"Cannot open {path.name} as an analysis: {exc}", error=True)
            return False
        if self.analysis_view is None:
            from widgets.analysis_view import AnalysisView  # the History tab: made on first use
            self.analysis_view = AnalysisView()
            self.plot_area.add_view("History", self.analysis_view)
        rows = len(next(iter(columns.values()))) if columns else 0
        self.analysis_view.show_analysis(columns, f"History · {path.parent.name}/{path.name} · {rows:,} rows")
        self.plot_area.show_view("History")
        self.show_message(f"Opened {path} ({rows:,} rows)")
        return True

    # --- export ----------------------------------------------------------------------------
    def choose_export_dir(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Export folder", str(self.export_dir))
        if path:
            self.set_export_dir(Path(path))

    def set_export_dir(self, path: Path) -> None:
        """Exports go under ``path`` from now on (remembered)."""
        self.export_dir = Path(path)
        store.save_export_dir(self.settings, self.export_dir)
        self._show_export_dir()
        self.show_message(f"Exports go to {self._export_root()}")

    def _export_root(self) -> Path:
        return Path(self.export_dir).expanduser().absolute()

    def _show_export_dir(self) -> None:
        root = self._export_root()
        self.export_action.setToolTip(f"Export PNGs, CSVs and snapshot.json to a time-stamped folder "
                                      f"in {root} (Ctrl+S)")
        self.export_dir_action.setToolTip(f"Choose where exports go (now {root})")

    def export_snapshot(self) -> bool:
        """Export one snapshot: the one on screen when frozen, else the newest, drawn first so
        that the PNGs show exactly what the CSVs and snapshot.json hold. Renders here (GUI
        thread), writes on a background thread; False if there is nothing to export."""
        snap = self._drawn if self.frozen and self._drawn is not None else self.latest
        if snap is None:
            self.show_message("Nothing to export yet: no book received", error=True)
            return False
        if self._exporting:
            self.show_message("An export is already being written")
            return False
        self._show_for_export(snap)
        job = ExportJob(snapshot=snap, rows=self.history.export_rows(snap),
                        decisions=self.history.decisions, images=self._render_images(snap),
                        gui=self._gui_figures())
        self._exporting = True
        root = self._export_root()
        self.show_message(f"Exporting to {root} …")

        def write() -> None:
            try:
                folder = job.write(root)
            except (ExportError, OSError) as exc:
                self._exportDone.emit(None, str(exc))
            else:
                self._exportDone.emit(folder, "")

        threading.Thread(target=write, name="slipscope-export", daemon=True).start()
        return True

    def _show_for_export(self, snap: Snapshot) -> None:
        """Make the window show ``snap`` everywhere before it is grabbed: book plots, numbers
        and (when live) the time series up to it."""
        summary = summarise(snap)
        if snap is not self._drawn:
            self._draw_book(snap, summary)
        self.outputs.show_snapshot(snap, summary)
        if not self.frozen:
            wall = time.time()
            self.spread_mid.draw(self.history, wall, snap.instrument.tick_size)
            self.slippage.draw(self.history, wall)
            self._series_at = time.perf_counter()

    def _render_images(self, snap: Snapshot) -> dict:
        """The window as on screen and every plot at EXPORT_SCALE (at least its device
        pixels), each under a title strip naming the snapshot."""
        dpr = self.devicePixelRatioF()
        images = {"window": titled(self.grab().toImage(), snap, "slipscope window", dpr)}
        scale = max(dpr, EXPORT_SCALE)
        for name, plot in self.plots.items():
            exporter = pg.exporters.ImageExporter(plot.ci)
            exporter.parameters()["width"] = int(math.ceil(plot.width() * scale))
            image = exporter.export(toBytes=True)
            images[f"plot_{name}"] = titled(image, snap, plot.title, scale)
        return images

    def _gui_figures(self) -> dict:
        f50, f99 = percentiles(self.history.frame_us.view()[:, 0])
        e50, e99 = percentiles(self.history.estimate_us.view()[:, 0])
        return {"frozen": self.frozen, "fps": self.fps, "message_rate": self.msg_rate,
                "receive_to_frame_us": {"p50": f50, "p99": f99},
                "receive_to_estimate_us_seen": {"p50": e50, "p99": e99},
                "opengl": self.opengl, "history_rows": len(self.history.series),
                "export_dir": str(self._export_root())}

    @Slot(object, str)
    def _on_export_done(self, folder: Path | None, error: str) -> None:
        self._exporting = False
        if folder is None:
            self.last_export_error = error
            self.show_message(f"Export failed, nothing was lost: {error}", error=True)
        else:
            self.last_export, self.last_export_error = folder, ""
            self.show_message(f"Exported to {folder}")

    # --- close -----------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt name)
        """First close: stop drawing and ask the app to shut the feed down; then close for real."""
        if self._closed_ok:
            event.accept()
            return
        event.ignore()
        if not self.closing:
            self.closing = True
            self.stop_frames()
            self.settings.setValue("window/geometry", self.saveGeometry())
            store.save_params(self.settings, self.inputs.params)
            self.settings.sync()
            self.hide()  # gone for the user at once; the feed, worker and server stop behind it
            self.shutdownRequested.emit()

    def finish_close(self) -> None:
        """Called by the app once the feed, worker and server have stopped."""
        self._closed_ok = True
        self.close()


#: the columns the History view reads from a ``costs.parquet``
ANALYSIS_COLUMNS = ("venue", "symbol", "side", "quantity", "unit", "book_ts_ms", "net_cost_bps",
                    "depth_10bps_usd", "depth_50bps_usd")


def read_analysis(path: Path) -> dict:
    """``costs.parquet``'s columns; ValueError (one line) when it is not a readable analysis."""
    from core.history.outputs import read_parquet

    if not path.is_file():
        raise ValueError("no such file")
    try:
        columns = read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises its own kinds for a file that is not parquet
        raise ValueError(f"not a parquet file ({type(exc).__name__})") from None
    missing = [c for c in ANALYSIS_COLUMNS if c not in columns]
    if missing:
        raise ValueError(f"not a slipscope analysis (no {', '.join(missing)} column)")
    return columns
