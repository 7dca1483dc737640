"""The compute worker: one thread that turns what the feed pushed into :class:`Snapshot` s.

It is the pipeline's only consumer. It sleeps in ``pipeline.wait`` until the client pushes a
frame or the window pokes it (inputs changed), drains everything pending, evaluates once on
the newest book (the Numba kernels release the GIL, so the GUI thread keeps painting), and
hands the immutable snapshot to the GUI thread through a queued signal.

Cross-thread rules kept here:
- the signals belong to :class:`WorkerSignals`, a QObject living in the GUI thread, and are
  connected to slots of QObjects living there: Qt queues them because the emitter runs in
  another thread (a lambda or plain function would run in this thread instead);
- the window posts new parameters by replacing one reference (atomic under the GIL) and poking;
- frozen (``freeze_on``), new parameters are also priced on the frozen snapshot's book
  (``Engine.reprice``) while the live books keep being ingested, learnt from and emitted;
- snapshots are immutable and their arrays read-only, so nothing is copied on the way.
"""
from __future__ import annotations

import logging
import threading
import time
import traceback
from typing import Callable

from PySide6.QtCore import QObject, Signal

from core.feed.pipeline import FeedPipeline
from core.params import OrderParams
from core.snapshot import Snapshot

log = logging.getLogger(__name__)


class WorkerSignals(QObject):
    """Created in the GUI thread; emitted from the worker (queued to GUI-thread slots)."""

    snapshot = Signal(object)  # core.snapshot.Snapshot
    repriced = Signal(object)  # Snapshot: new inputs priced on the frozen book (freeze_on)
    status = Signal(object)  # core.feed.pipeline.FeedStatus (also when no book exists yet)
    failed = Signal(str)  # one line: an unexpected error in the engine (counted, loop goes on)


class PokedWorker:
    """A thread that sleeps in ``wait(timeout)`` until there is work or ``poke()`` wakes it;
    ``stop``/``stop_async`` end its loop and join it. Subclasses write ``_run`` (checking
    ``_stop``) and post their inputs by replacing one reference, then poking."""

    def __init__(self, name: str, poke: Callable[[], None], idle_timeout_s: float) -> None:
        self.idle_timeout_s = idle_timeout_s
        self._poke = poke
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.snapshots = 0
        self.errors = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the loop to end and join it; True when the thread is gone."""
        self._stop.set()
        self._poke()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    async def stop_async(self, timeout: float = 5.0) -> bool:
        """``stop`` for the asyncio loop: poll the join instead of blocking the GUI thread (and
        without an executor thread that would outlive the app)."""
        import asyncio

        self._stop.set()
        self._poke()
        deadline = time.monotonic() + timeout
        while self._thread.is_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        self._thread.join(0.0)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        raise NotImplementedError

    def _failed(self, what: str, exc: Exception, failed) -> None:
        """A bug must not kill the worker silently: count it, log it, say it in one line."""
        self.errors += 1
        log.error("%s failed: %s", what, traceback.format_exc())
        failed.emit(f"{type(exc).__name__}: {exc}")


class ComputeWorker(PokedWorker):
    """Runs ``pipeline.drain`` on its own thread; ``stop`` joins it."""

    def __init__(self, pipeline: FeedPipeline, signals: WorkerSignals, params: OrderParams,
                 idle_timeout_s: float = 0.25) -> None:
        super().__init__("slipscope-compute", pipeline.poke, idle_timeout_s)
        self.pipeline = pipeline
        self.signals = signals
        self._params = params.validated()
        self._applied: OrderParams | None = None
        self._frozen: Snapshot | None = None  # set by the GUI thread
        self._repriced: tuple[Snapshot, Snapshot] | None = None  # (frozen, its newest pricing)

    # --- GUI thread ----------------------------------------------------------------------
    def post_params(self, params: OrderParams) -> None:
        """New inputs: price them on the newest book as soon as the worker wakes (now)."""
        self._params = params.validated()
        self.pipeline.poke()

    def freeze_on(self, snap: Snapshot | None) -> None:
        """Price later inputs on ``snap``'s book too (the frozen view); None: live only."""
        self._frozen = snap
        self.pipeline.poke()

    # --- worker thread -------------------------------------------------------------------
    def _run(self) -> None:
        pipe, signals = self.pipeline, self.signals
        last_status = None
        while not self._stop.is_set():
            woke = pipe.wait(self.idle_timeout_s)
            if self._stop.is_set():
                break
            status = pipe.status
            params = self._params
            if not woke and status is last_status and params is self._applied:
                continue
            try:
                snap = pipe.drain(params if params is not self._applied else None)
                frozen = self._reprice_frozen(params)
            except Exception as exc:
                self._failed("compute", exc, signals.failed)
                continue
            self._applied = params
            if status is not last_status:
                last_status = status
                signals.status.emit(status)
            if snap is not None:
                self.snapshots += 1
                signals.snapshot.emit(snap)
            if frozen is not None:
                signals.repriced.emit(frozen)

    def _reprice_frozen(self, params: OrderParams) -> Snapshot | None:
        """``params`` on the frozen book, once per change of either; None when nothing to do."""
        frozen = self._frozen
        if frozen is None:
            return None
        last = self._repriced[1] if self._repriced and self._repriced[0] is frozen else frozen
        if last.params == params:
            return None
        snap = self.pipeline.engine.reprice(frozen, params)
        self._repriced = (frozen, snap)
        return snap
