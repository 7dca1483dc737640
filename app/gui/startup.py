"""Start-up of the desktop app: one function builds the application and the window, the same for
``slipscope gui`` and ``slipscope bench-gui`` (so the benchmark measures the app).

:func:`open_app` makes the QApplication (process settings, theme, pyqtgraph options, the
GUI-thread garbage collector), the window and its :class:`~app.gui.controller.Controller`;
:func:`serve_window` shows it, starts the feed, freezes start-up objects out of the garbage
collector (``gc.freeze``) and releases the compiler's pages once warm; :func:`run` is the app.
The wiring itself (sessions, the worker thread, switching feeds) is in ``app.gui.controller``.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
from dataclasses import dataclass, replace
from typing import Any, Callable

from app.gui.controller import Controller, FeedSource, check_params, fee_tiers, websocket_feed
from app.gui.opengl import resolve_opengl
from core.venues import DEFAULT_VENUE

log = logging.getLogger(__name__)


@dataclass
class GuiOptions:
    feed: str | None = None  # None: embedded synthetic server
    url: str | None = None
    symbol: str | None = None
    opengl: bool | None = None  # None: the stored setting
    rate: float = 10.0  # synthetic updates per second
    seed: int = 7
    depth_fill: bool = False
    quit_after_s: float | None = None  # close the window (normally) after this long: demos, CI
    choice: object | None = None  # the app.gui.feed_source.FeedChoice the command line means
    feed_explicit: bool = True  # False: no feed argument given, reopen the feed last chosen
    analysis: str | None = None  # a costs.parquet to show in the History tab at start
    venues: tuple | None = None  # core.feed.venue_set.VenueSpec per --venues item: started with the window
    venue_fee_tiers: dict | None = None  # --fee-tier-VENUE


def _close_on_signals(window) -> None:
    """Ctrl+C or SIGTERM closes the window as the close button would: orderly shutdown, exit 0.

    Python runs signal handlers between bytecodes; the frame timer's heartbeat (10 Hz) keeps
    the interpreter waking up while Qt's loop runs in C++.
    """
    import signal

    from PySide6.QtCore import QTimer

    def handler(_signum, _frame) -> None:
        QTimer.singleShot(0, window.close)

    from app.gui.signals import CLOSE_SIGNALS, take_pending

    for sig in CLOSE_SIGNALS:
        try:
            signal.signal(sig, handler)
        except ValueError:  # not the main thread (embedded use): leave signals alone
            return
    if take_pending():  # asked to close while starting up: close as soon as the loop runs
        handler(signal.SIGTERM, None)


@dataclass
class OpenApp:
    """What :func:`open_app` built; kept together so nothing is collected while the app runs."""

    app: Any  # the QApplication
    window: Any  # the MainWindow
    controller: Controller
    settings: Any  # QSettings
    collector: Any  # the GUI-thread garbage collector (must live as long as the app)
    use_gl: bool
    opengl: tuple[bool, str]  # (available, why not / renderer)


def open_app(options: GuiOptions, source_factory: Callable[[str], FeedSource], settings) -> OpenApp:
    """The application and its window, configured as the app runs (the GUI benchmark too)."""
    configure_process()
    from PySide6.QtWidgets import QApplication

    from app.gui.qt_loop import collect_garbage_in_this_thread
    from app.gui.window import MainWindow
    from widgets import theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("slipscope")
    app.setOrganizationName("slipscope")
    app.setQuitOnLastWindowClosed(False)  # the loop ends when shutdown is complete, not before
    theme.apply(app)
    collector = collect_garbage_in_this_thread()
    from app.gui import settings as store

    wanted = options.opengl if options.opengl is not None else store.load_bool(settings, "view/opengl")
    available = resolve_opengl(True)
    use_gl = bool(wanted and available[0])
    theme.configure_pyqtgraph(False)

    choice, source_factory, note = remembered_feed(options, settings, source_factory)
    if options.symbol:
        settings.setValue("feed/instrument", options.symbol)
        if choice is not None and not choice.replay:
            choice = replace(choice, instrument=options.symbol)  # the command line's symbol wins
    elif choice is not None and getattr(choice, "replay", None):
        settings.setValue("feed/instrument", choice.instrument)  # a recording has its own
    venue = choice.feed if choice is not None else DEFAULT_VENUE
    window = MainWindow(settings, fee_tiers, None, use_opengl=use_gl, depth_fill=options.depth_fill,
                        check=check_params, opengl_available=available, venue=venue)
    if wanted and not use_gl:
        window.show_message(f"OpenGL requested but {available[1]}: using the raster painter")
    if note:
        window.show_message(note, error=True)
    controller = Controller(window, source_factory, choice)
    if options.venues:
        controller.use_venues(options.venues, seed=options.seed, rate=options.rate, fee_tiers=options.venue_fee_tiers)
    return OpenApp(app, window, controller, settings, collector, use_gl, available)


async def serve_window(opened: OpenApp, show: Callable[[], None] | None = None,
                       started: Callable[[], None] | None = None) -> int:
    """Show the window, start the feed, then wait for the window to close; the exit status.

    Once started, start-up objects (Qt, Numba, NumPy) leave every later garbage collection
    (``gc.freeze``: short pauses) and the compiler's pages are released when warm."""
    window = opened.window
    if show is not None:
        show()
    elif opened.settings.value("window/geometry") is None:
        window.showMaximized()
    else:
        window.show()
    await opened.controller.start()
    gc.collect()
    gc.freeze()
    release_memory_when_warm(window)
    if started is not None:
        started()
    return await opened.controller.closed


def close_app(opened: OpenApp) -> None:
    opened.settings.sync()
    opened.window.deleteLater()
    opened.app.processEvents()


def run(options: GuiOptions, source_factory: Callable[[str], FeedSource], settings_path=None) -> int:
    """Create the application, run until the window is closed; the process exit status."""
    from app.gui import settings as store

    opened = open_app(options, source_factory, store.open_settings(settings_path))
    _close_on_signals(opened.window)
    if options.analysis is not None:
        opened.window.open_analysis(options.analysis)
    if options.quit_after_s is not None:
        from PySide6.QtCore import QTimer
        QTimer.singleShot(int(options.quit_after_s * 1000), opened.window.close)
    try:
        code = run_loop(opened.app, serve_window(opened))
    finally:
        close_app(opened)
    return int(code or 0)


def remembered_feed(options: GuiOptions, settings, source_factory):
    """(choice, source factory, note): with no feed argument, the feed last accepted in the
    feed dialog when it is still usable; else the command line's. ``note`` says why a
    remembered feed was not reopened."""
    from app.gui import settings as store
    from app.gui.feed_source import FeedFormError, choice_from_form

    if options.feed_explicit:
        return options.choice, source_factory, ""
    form = store.load_feed_form(settings)
    if not form:
        return options.choice, source_factory, ""
    try:
        choice = choice_from_form(form)
    except FeedFormError as exc:
        return options.choice, source_factory, f"The last feed cannot be reopened ({exc}): using the default"
    return choice, (lambda inst_id: websocket_feed(choice, inst_id)), ""


def release_memory_when_warm(window, poll_ms: int = 1000):
    """Once the first snapshot with the models' estimate is on screen (every kernel loaded),
    let the kernel reclaim LLVM's code pages (``core.memory``): about 100 MB of resident set.
    The timer is the window's child, so it never outlives it."""
    from PySide6.QtCore import QTimer

    from core.memory import release_compiler_pages

    timer = QTimer(window)
    timer.setInterval(poll_ms)
    polls = [0]

    def check() -> None:
        snap = window.latest
        polls[0] += 1
        # no priced book within a minute: release anyway (a kernel loaded later faults pages back)
        if (snap is not None and snap.estimate is not None) or polls[0] * poll_ms >= 60_000:
            timer.stop()
            log.info("warm: %.0f MB of compiler code pages released", release_compiler_pages() / 2**20)

    timer.timeout.connect(check)
    timer.start()
    return timer


def display_problem(env: dict[str, str] | None = None, find_library=None) -> str | None:
    """Why Qt could not open a window here, in one line; None when it should.

    Without this, Qt reports a missing display or library over six lines and aborts the
    process (SIGABRT, a core dump), which is no way to say "no screen"."""
    if not sys.platform.startswith("linux"):
        return None
    env = os.environ if env is None else env
    platform = env.get("QT_QPA_PLATFORM", "")
    if (platform and not platform.startswith("xcb")) or (not platform and env.get("WAYLAND_DISPLAY")):
        return None  # offscreen, wayland, vnc...: Qt's own business
    if not env.get("DISPLAY"):
        return ("no display to open a window on: set DISPLAY (an X server or Xvfb), or run "
                "QT_QPA_PLATFORM=offscreen, or use `slipscope headless`")
    if find_library is None:
        from ctypes.util import find_library
    if find_library("xcb-cursor") is None:
        return ("Qt's X11 plugin needs libxcb-cursor0 (Debian/Ubuntu: "
                "apt install libxcb-cursor0 libxkbcommon-x11-0 libegl1)")
    return None


def configure_process() -> None:
    """Process-wide settings of the GUI process (call before the QApplication exists).

    - ``QT_QPA_UPDATE_IDLE_TIME=0``: Qt otherwise defers every repaint by up to one refresh
      interval after ``update()``; the frame timer already paces drawing at <= 60 fps.
    - GIL switch interval 1 ms (Python's default is 5 ms): three threads share the GIL (GUI,
      compute worker, embedded server); a woken worker waited up to 5 ms for the GUI thread's
      Python paint code to yield, which showed as receive -> estimate and receive -> frame
      tails (measured at 1,000 updates/s: frame p99 54 -> 20 ms, estimate p99 5.8 -> 3.3 ms).
    """
    os.environ.setdefault("QT_API", "pyside6")
    os.environ.setdefault("QT_QPA_UPDATE_IDLE_TIME", "0")
    sys.setswitchinterval(0.001)


def run_loop(app, coro):
    """Run ``coro`` on a qasync loop over ``app`` until it returns.

    Not ``qasync.run``: on Python 3.11 that installs a policy under which *every*
    ``asyncio.new_event_loop()`` makes a Qt loop, including the one the embedded feed server
    creates on its own thread, which then cannot run. Here only this thread's loop is Qt's.
    """
    from app.gui.qt_loop import QtAsyncLoop

    loop = QtAsyncLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            return loop.run_until_complete(coro)
    finally:
        asyncio.set_event_loop(None)
