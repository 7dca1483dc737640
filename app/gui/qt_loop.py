"""The asyncio loop on Qt's event loop (qasync), with a call_soon_threadsafe that is safe.

qasync 0.28 implements ``call_soon_threadsafe`` by emitting a signal connected to a *lambda*.
With PySide6 a signal connected to a lambda (not to a slot of a QObject) runs in the emitting
thread, so a call from a worker thread ran ``call_soon`` there and started a Qt timer from the
wrong thread: an occasional segfault (seen in CI in about one run in ten). This matters well
beyond our own resync requests: ``run_in_executor`` and every ``asyncio.wrap_future`` (DNS
lookups in ``create_connection``, for one) complete through ``call_soon_threadsafe``.

Here the signal goes to a slot of a QObject that lives in the loop's thread, with an explicit
queued connection, so the callback is always scheduled from the loop's own thread.

Socket notifiers: qasync 0.28 creates them without a Qt parent, so PySide deletes the C++
object the moment Python drops the last reference (a reader removed or replaced while Qt may
still hold its activation), a known source of rare PySide crashes that qasync upstream fixed
later by parenting and ``deleteLater`` (qasync pull request 158, not yet released). The same is
done here: every notifier gets a parent that lives as long as the loop, and a retired one is
deleted by Qt when it is safe (``deleteLater``), not by Python's garbage collector.
"""
from __future__ import annotations

import os

os.environ.setdefault("QT_API", "pyside6")  # qasync prefers PyQt when both are importable

import qasync  # noqa: E402
from PySide6.QtCore import QObject, Qt, Signal, Slot  # noqa: E402


class _LoopPoster(QObject):
    """Lives in the loop's thread; its slot schedules callbacks on the loop."""

    posted = Signal(object, tuple)

    def __init__(self, loop: "QtAsyncLoop") -> None:
        super().__init__()
        self._loop = loop
        self.posted.connect(self._schedule, Qt.ConnectionType.QueuedConnection)

    @Slot(object, tuple)
    def _schedule(self, callback, args) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon(callback, *args)


class QtAsyncLoop(qasync.QEventLoop):
    """``qasync.QEventLoop`` with a thread-safe ``call_soon_threadsafe`` and Qt-owned notifiers."""

    def __init__(self, *args, **kwargs) -> None:
        self._notifier_owner = QObject()  # parent of every socket notifier (C++ ownership);
        super().__init__(*args, **kwargs)  # before init: the loop adds its self-pipe reader there
        self._poster = _LoopPoster(self)

    # --- socket notifiers: owned by Qt, retired with deleteLater ------------------------------
    def _add_reader(self, fd, callback, *args):
        old = self._read_notifiers.get(fd)
        super()._add_reader(fd, callback, *args)
        self._adopt(self._read_notifiers[fd], old)

    def _add_writer(self, fd, callback, *args):
        old = self._write_notifiers.get(fd)
        super()._add_writer(fd, callback, *args)
        self._adopt(self._write_notifiers[fd], old)

    def _remove_reader(self, fd):
        return self._remove_notifier(self._read_notifiers, fd, super()._remove_reader)

    def _remove_writer(self, fd):
        return self._remove_notifier(self._write_notifiers, fd, super()._remove_writer)

    def _remove_notifier(self, notifiers: dict, fd, remove):
        """qasync's removal, then the notifier deleted in this (its own) thread."""
        notifier = None if self.is_closed() else notifiers.get(fd)
        removed = remove(fd)
        if notifier is not None:
            notifier.deleteLater()
        return removed

    def _adopt(self, notifier, replaced) -> None:
        notifier.setParent(self._notifier_owner)
        if replaced is not None and replaced is not notifier:
            replaced.deleteLater()

    def close(self) -> None:
        """Close, and leave no Qt timer or notifier behind: qasync only flags its timer object
        stopped, so pending ``call_later`` timers (websockets' keep-alive, 20 s) stay registered
        with Qt; if the garbage collector then destroys that object from another thread, Qt
        cannot unregister them and fires one into freed memory (a segfault seen in tests)."""
        notifiers = [] if self.is_closed() else [
            *self._read_notifiers.values(), *self._write_notifiers.values()]
        super().close()
        timer = self._timer
        for timer_id in list(getattr(timer, "_SimpleTimer__callbacks", {})):
            timer.killTimer(timer_id)
        getattr(timer, "_SimpleTimer__callbacks", {}).clear()
        for notifier in notifiers:
            notifier.deleteLater()
        self._notifier_owner.deleteLater()


def collect_garbage_in_this_thread(interval_s: float = 0.5):
    """Run Python's cyclic garbage collector only from this (the GUI) thread, on a Qt timer.

    Left automatic, a collection runs in whichever thread happens to allocate (the compute
    worker, the embedded server), and destroying an unreachable Qt object from there breaks
    Qt's thread rules (its timers and notifiers belong to the GUI thread): rare crashes.
    Returns the pyqtgraph ``GarbageCollector``; keep a reference for as long as it should run.
    """
    from pyqtgraph.util.garbage_collector import GarbageCollector

    return GarbageCollector(interval=interval_s)

    def call_soon_threadsafe(self, callback, *args, context=None):
        if self.is_closed():
            raise RuntimeError("Event loop is closed")
        self._poster.posted.emit(callback, args)
