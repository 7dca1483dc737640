"""Ctrl+C and SIGTERM during start-up: remembered, then honoured once the window exists.

Start-up (Qt, the window, the first Numba kernels) takes seconds; a SIGTERM in that time would
otherwise kill the process with Python's default handler (exit -15, no orderly shutdown). This
module imports nothing heavy, so the command line can install it first thing.
"""
from __future__ import annotations

import signal
import threading

CLOSE_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_pending: list[int] = []


def defer_close_signals() -> None:
    """Until :func:`take_pending` is called, remember a close signal instead of dying of it."""
    if threading.current_thread() is not threading.main_thread():
        return  # embedded use: signals belong to the host
    for sig in CLOSE_SIGNALS:
        signal.signal(sig, lambda signum, _frame: _pending.append(signum))


def take_pending() -> bool:
    """True when a close signal arrived before the window could handle it (then forgotten)."""
    seen = bool(_pending)
    _pending.clear()
    return seen
