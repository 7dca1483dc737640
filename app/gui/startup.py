"""Wiring of the desktop app: one asyncio loop (qasync) in the GUI thread, one compute thread.

    websocket client (asyncio, GUI thread) --push--> FeedPipeline --wait/drain--> ComputeWorker
    ComputeWorker --queued signal (Snapshot)--> MainWindow.on_snapshot --frame timer--> plots

- The feed client runs on the qasync loop; it pushes raw frames into the pipeline (O(1), no
  task per message). The worker thread is the pipeline's only consumer.
- A resync request comes from the worker thread (the pipeline notices the gap there); it is
  handed to the client on the loop with ``loop.call_soon_threadsafe``.
- New inputs go to the worker by reference and a poke: priced on the newest book at once.
- A new feed (the feed dialog) or instrument: the running session stops (client, worker joined,
  embedded server), the snapshots it had already queued are delivered and forgotten, and the new
  one starts; one switch at a time.
- Shutdown, in order: frame timer, feed client, worker thread (joined), embedded server; then
  the window closes for real and the loop returns, so ``app.exec`` ends normally.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
from dataclasses import dataclass
from typing import Callable, Protocol

from core.engine import Engine
from core.feed.pipeline import FeedPipeline, FeedStatus
from core.instruments import Instrument, get_instrument, known_instruments
from core.params import OrderParams

log = logging.getLogger(__name__)



class FeedSource(Protocol):
    """Where frames come from: a websocket client (and the embedded server it may own)."""

    label: str  # shown in the window: URL or "synthetic market (embedded ...)"
    synthetic: bool
    feed_format: str  # "goquant" | "okx": how the Engine decodes what is pushed

    async def start(self, pipeline: FeedPipeline, instrument: Instrument) -> None:
        """Begin pushing frames (returns once started; runs on the loop)."""

    def request_resync(self) -> None:
        """Ask for a fresh snapshot (called on the loop)."""

    async def stop_client(self) -> None:
        """Stop reading: no push after this returns."""

    async def stop_server(self) -> None:
        """Stop whatever serves the frames (embedded server); no-op for a remote feed."""


def make_models(instrument: Instrument):
    """The cost-model suite of one instrument (fresh for each session: models learn per feed)."""
    from core.models.suite import CostModels

    return CostModels(instrument)


def fee_tiers(instrument: Instrument) -> list[str]:
    """The fee tiers the models know for this instrument's exchange and kind (spot, swap)."""
    from core.models import fees

    try:
        return fees.known_tiers(instrument.exchange, instrument.kind)
    except fees.UnknownFeeSchedule:
        return []


def check_params(params: OrderParams, instrument: Instrument) -> None:
    """What the Engine's models would refuse (an unknown fee tier), refused at the input."""
    from core.models import fees

    fees.fee_rate(params.exchange, instrument.kind, params.fee_tier)


class Session:
    """One instrument on one feed: Engine + pipeline + worker + source, started and stopped in order."""

    def __init__(self, instrument: Instrument, params: OrderParams, source: FeedSource, signals,
                 loop: asyncio.AbstractEventLoop) -> None:
        from app.worker import ComputeWorker

        self.instrument = instrument
        self.source = source
        self.loop = loop
        self.engine = Engine(instrument, source.feed_format, params, models=make_models(instrument))
        self.pipeline = FeedPipeline(self.engine, request_resync=self._resync_from_worker)
        self.pipeline.set_status(FeedStatus(state="connecting", source=source.label,
                                            synthetic=source.synthetic))
        self.worker = ComputeWorker(self.pipeline, signals, params)
        self.stopped = False

    def _resync_from_worker(self) -> None:
        # runs in the worker thread: the client lives on the loop
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.source.request_resync)

    async def start(self) -> None:
        self.worker.start()
        await self.source.start(self.pipeline, self.instrument)

    def post_params(self, params: OrderParams) -> None:
        self.worker.post_params(params)

    async def stop(self) -> None:
        """Feed client, then worker, then server; each step bounded so a close never hangs."""
        if self.stopped:
            return
        self.stopped = True
        try:
            await asyncio.wait_for(self.source.stop_client(), 5.0)
        except (asyncio.TimeoutError, Exception) as exc:  # noqa: BLE001 (report, keep closing)
            log.warning("feed client did not stop cleanly: %s", exc)
        # a cold Numba cache can hold the worker in a compile for many seconds on first use
        if not await self.worker.stop_async(30.0):
            log.warning("compute worker did not stop within 30 s")
        try:
            await asyncio.wait_for(self.source.stop_server(), 5.0)
        except (asyncio.TimeoutError, Exception) as exc:  # noqa: BLE001
            log.warning("embedded server did not stop cleanly: %s", exc)


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
    choice: object | None = None  # the app.feed_source.FeedChoice the command line means
    feed_explicit: bool = True  # False: no feed argument given, reopen the feed last chosen


class Controller:
    """Owns the window and the running session; reacts to inputs, instrument and feed changes,
    and close. Sessions are opened and stopped one at a time (``_switching``)."""

    def __init__(self, window, source_factory: Callable[[str], FeedSource], choice=None,
                 feed_factory: Callable[[object, str], FeedSource] | None = None) -> None:
        from app.worker import WorkerSignals

        self.window = window
        self.source_factory = source_factory
        self.choice = choice  # the FeedChoice behind source_factory, when there is one
        self.feed_factory = feed_factory or _websocket_feed
        self.signals = WorkerSignals()
        self.signals.snapshot.connect(window.on_snapshot)
        self.signals.status.connect(window.on_status)
        self.signals.failed.connect(window.on_worker_failed)
        self.signals.repriced.connect(window.on_repriced)
        self.session: Session | None = None
        self.closed: asyncio.Future | None = None
        self.closing = False
        self.switches = 0  # feed switches completed
        self._following_feed = False  # the instrument changes because the feed did: no reopen of its own
        self._switching: asyncio.Lock | None = None
        self._tasks: set[asyncio.Task] = set()
        window.paramsChanged.connect(self._on_params)
        window.freezeChanged.connect(self._on_freeze)
        window.instrumentChanged.connect(self._on_instrument)
        window.shutdownRequested.connect(self._on_shutdown)
        window.feedRequested.connect(self.switch_feed)
        if choice is not None:
            window.feed_form = choice.to_form()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.closed = loop.create_future()
        self._switching = asyncio.Lock()
        await self._open(self.window.inputs.instrument_id)
        self.window.start_frames()

    async def _open(self, inst_id: str) -> None:
        loop = asyncio.get_running_loop()
        source = self.source_factory(inst_id)
        self.session = Session(get_instrument(inst_id), self.window.inputs.params, source, self.signals, loop)
        await self.session.start()
        self.window.set_source(("SYNTHETIC · " if source.synthetic else "") + source.label)

    async def _reopen(self, inst_id: str, forget: bool = False) -> None:
        """Stop the running session, then open one on ``inst_id`` (unless closing)."""
        async with self._switching:
            old, self.session = self.session, None
            if old is not None:
                await old.stop()
            if forget:
                # what the old worker queued before it stopped, delivered now and then dropped
                from PySide6.QtCore import QCoreApplication, QEvent
                QCoreApplication.sendPostedEvents(self.window, QEvent.Type.MetaCall)
                self.window.reset_data()
            if not self.closing:
                await self._open(inst_id)

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)

    def _on_params(self, params: OrderParams) -> None:
        if self.session is not None:
            self.session.post_params(params)

    def _on_freeze(self, snap) -> None:
        if self.session is not None:
            self.session.worker.freeze_on(snap)

    def _on_instrument(self, inst_id: str) -> None:
        if not self._following_feed:
            self._spawn(self._instrument_switch(inst_id))

    async def _instrument_switch(self, inst_id: str) -> None:
        try:
            await self._reopen(inst_id)
        except Exception as exc:  # noqa: BLE001 (e.g. a replay that holds another instrument)
            log.warning("could not open %s: %s", inst_id, exc)
            self.window.show_message(f"Could not open {inst_id} on this feed: {exc}", error=True)

    def switch_feed(self, choice) -> None:
        """Stop the running feed and start ``choice`` (an accepted FeedChoice): same window,
        same inputs; the instrument becomes the choice's."""
        self._spawn(self._switch_feed(choice))

    async def _switch_feed(self, choice) -> None:
        previous = (self.source_factory, self.choice, self.window.inputs.instrument_id)
        self.source_factory = lambda inst_id: self.feed_factory(choice, inst_id)
        self.choice = choice
        self.window.feed_form = choice.to_form()
        inst_id = choice.instrument or self.window.inputs.instrument_id
        self._follow_instrument(inst_id)
        try:
            await self._reopen(inst_id, forget=True)
        except Exception as exc:  # noqa: BLE001 (say so, go back to the feed that worked)
            log.warning("feed switch failed: %s", exc)
            self.window.show_message(f"Could not start the new feed ({exc}); back on the previous one", error=True)
            self.source_factory, self.choice, inst_id = previous
            if self.choice is not None:
                self.window.feed_form = self.choice.to_form()
            self._follow_instrument(inst_id)
            await self._reopen(inst_id, forget=True)
            return
        self.switches += 1
        self.window.show_message(f"Feed: {self.session.source.label}" if self.session else "")

    def _follow_instrument(self, inst_id: str) -> None:
        """Show ``inst_id`` as if picked in the panel (units, fee tiers, remembered) without
        the reopen an instrument change otherwise asks for: the feed switch reopens."""
        if inst_id == self.window.inputs.instrument_id:
            return
        self._following_feed = True
        try:
            self.window.inputs.instrument.setCurrentText(inst_id)
        finally:
            self._following_feed = False

    def _on_shutdown(self) -> None:
        self._spawn(self.shutdown())

    async def shutdown(self) -> None:
        self.closing = True
        self.window.stop_frames()
        if self._switching is not None:
            async with self._switching:
                await self._stop_session()
        else:
            await self._stop_session()
        self.window.finish_close()
        if self.closed is not None and not self.closed.done():
            self.closed.set_result(0)

    async def _stop_session(self) -> None:
        if self.session is not None:
            session, self.session = self.session, None
            await session.stop()


def _websocket_feed(choice, inst_id: str) -> FeedSource:
    from app.feed_source import WebsocketFeed

    return WebsocketFeed(choice, inst_id)


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task failed", exc_info=task.exception())


def _close_on_signals(window) -> None:
    """Ctrl+C or SIGTERM closes the window as the close button would: orderly shutdown, exit 0.

    Python runs signal handlers between bytecodes; the frame timer's heartbeat (10 Hz) keeps
    the interpreter waking up while Qt's loop runs in C++.
    """
    import signal

    from PySide6.QtCore import QTimer

    def handler(_signum, _frame) -> None:
        QTimer.singleShot(0, window.close)

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(sig, handler)
        except ValueError:  # not the main thread (embedded use): leave signals alone
            return


def resolve_opengl(requested: bool) -> tuple[bool, str]:
    """OpenGL only where a context can really be made; never on the offscreen platform."""
    if not requested:
        return False, "off"
    from PySide6.QtGui import QGuiApplication, QOffscreenSurface, QOpenGLContext

    platform = QGuiApplication.platformName()
    if platform == "offscreen":
        return False, "unavailable on the offscreen platform"
    ctx = QOpenGLContext()
    if not ctx.create():
        return False, "no OpenGL context could be created"
    surface = QOffscreenSurface()
    surface.create()
    ok = ctx.makeCurrent(surface)
    renderer = ""
    if ok:
        renderer = str(ctx.functions().glGetString(0x1F01) or "")  # GL_RENDERER
        ctx.doneCurrent()
    return (True, f"OpenGL ({renderer})" if renderer else "OpenGL") if ok else (False, "context not usable")


def run(options: GuiOptions, source_factory: Callable[[str], FeedSource], settings_path=None) -> int:
    """Create the application, run until the window is closed; the process exit status."""
    from PySide6.QtWidgets import QApplication

    from app import settings as store
    from app.main_window import MainWindow
    from widgets import theme

    configure_process()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("slipscope")
    app.setOrganizationName("slipscope")
    app.setQuitOnLastWindowClosed(False)  # the loop ends when shutdown is complete, not before
    theme.apply(app)
    from app.qt_loop import collect_garbage_in_this_thread
    collector = collect_garbage_in_this_thread()  # noqa: F841 - lives as long as the app runs
    settings = store.open_settings(settings_path)
    wanted = options.opengl if options.opengl is not None else store.load_bool(settings, "view/opengl")
    available = resolve_opengl(True)
    use_gl = wanted and available[0]
    theme.configure_pyqtgraph(False)

    choice, source_factory, note = remembered_feed(options, settings, source_factory)
    if options.symbol:
        settings.setValue("feed/instrument", options.symbol)
    elif choice is not None and getattr(choice, "replay", None):
        settings.setValue("feed/instrument", choice.instrument)  # a recording has its own
    window = MainWindow(settings, fee_tiers, known_instruments(), use_opengl=use_gl,
                        depth_fill=options.depth_fill, check=check_params, opengl_available=available)
    if wanted and not use_gl:
        window.show_message(f"OpenGL requested but {available[1]}: using the raster painter")
    if note:
        window.show_message(note, error=True)
    controller = Controller(window, source_factory, choice)
    _close_on_signals(window)
    if options.quit_after_s is not None:
        from PySide6.QtCore import QTimer
        QTimer.singleShot(int(options.quit_after_s * 1000), window.close)

    async def main() -> int:
        if settings.value("window/geometry") is None:
            window.showMaximized()
        else:
            window.show()
        await controller.start()
        gc.collect()
        gc.freeze()  # start-up objects (Qt, Numba, NumPy) out of every later collection: short pauses
        release_memory_when_warm(window)
        return await controller.closed

    try:
        code = run_loop(app, main())
    finally:
        settings.sync()
        window.deleteLater()
        app.processEvents()
    return int(code or 0)


def remembered_feed(options: GuiOptions, settings, source_factory):
    """(choice, source factory, note): with no feed argument, the feed last accepted in the
    feed dialog when it is still usable; else the command line's. ``note`` says why a
    remembered feed was not reopened."""
    from app import settings as store
    from app.feed_source import FeedFormError, choice_from_form

    if options.feed_explicit:
        return options.choice, source_factory, ""
    form = store.load_feed_form(settings)
    if not form:
        return options.choice, source_factory, ""
    try:
        choice = choice_from_form(form)
    except FeedFormError as exc:
        return options.choice, source_factory, f"The last feed cannot be reopened ({exc}): using the default"
    return choice, (lambda inst_id: _websocket_feed(choice, inst_id)), ""


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
    from app.qt_loop import QtAsyncLoop

    loop = QtAsyncLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            return loop.run_until_complete(coro)
    finally:
        asyncio.set_event_loop(None)
