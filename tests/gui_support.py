"""Helpers for the GUI tests: real Engine snapshots, and a frame source fed by a thread.

``ThreadFeed`` pushes real GoQuant messages of the seeded synthetic market into the real
``FeedPipeline`` from its own thread, at a set rate: the GUI-side wiring (worker thread, queued
signals, frame timer) runs for real without a socket. The end-to-end tests use the real
websocket client and embedded server instead.
"""
from __future__ import annotations

import threading
import time

from core.engine import Engine
from core.feed.pipeline import FeedPipeline, FeedStatus
from core.instruments import Instrument, get_instrument
from core.params import OrderParams
from core.snapshot import Snapshot
from core.sim.market import MarketConfig, SyntheticMarket


def snapshots(n: int = 3, seed: int = 3, params: OrderParams | None = None,
              inst_id: str = "BTC-USDT-SWAP", models: bool = False) -> list[Snapshot]:
    """``n`` consecutive snapshots of the synthetic market priced by a real Engine (with the
    real cost models when ``models``)."""
    from core.models.suite import CostModels

    market = SyntheticMarket(seed=seed)
    inst = get_instrument(inst_id)
    engine = Engine(inst, params=params or OrderParams(quantity=250_000.0),
                    models=CostModels(inst) if models else None)
    out = []
    for _ in range(n):
        engine.ingest(market.goquant_message(market.step()))
        snap = engine.evaluate(feed={"state": "live", "source": "test", "synthetic": True})
        out.append(snap)
    return out


class ThreadFeed:
    """A FeedSource whose frames come from a thread (no socket): for wiring tests."""

    label = "synthetic market (test thread)"
    synthetic = True
    feed_format = "goquant"

    def __init__(self, rate: float = 100.0, seed: int = 5, limit: int | None = None) -> None:
        self.rate = rate
        self.limit = limit  # stop pushing after this many frames (a book that stays still)
        self.seed = seed
        self.pushed = 0
        self.resyncs = 0
        self.client_stopped = False
        self.server_stopped = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    async def start(self, pipeline: FeedPipeline, instrument: Instrument) -> None:
        market = SyntheticMarket(seed=self.seed, config=MarketConfig(inst_id=instrument.inst_id))
        pipeline.set_status(FeedStatus(state="live", source=self.label, synthetic=True))

        def run() -> None:
            period = 1.0 / self.rate
            due = time.perf_counter()
            while not self._stop.is_set() and (self.limit is None or self.pushed < self.limit):
                pipeline.push(market.goquant_message(market.step()), time.perf_counter_ns())
                self.pushed += 1
                due += period
                delay = due - time.perf_counter()
                if delay > 0:
                    self._stop.wait(delay)

        self._thread = threading.Thread(target=run, name="test-feed", daemon=True)
        self._thread.start()

    def request_resync(self) -> None:
        self.resyncs += 1

    async def stop_client(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        self.client_stopped = True

    async def stop_server(self) -> None:
        self.server_stopped = True


# --- fixtures for the GUI tests (imported by the test modules) ---------------------------------
import asyncio  # noqa: E402
import os  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture
def settings_file(tmp_path, monkeypatch):
    """A private settings file: tests never read or write the user's."""
    path = tmp_path / "settings.ini"
    monkeypatch.setenv("SLIPSCOPE_SETTINGS", str(path))
    return path


@pytest.fixture
def qloop(qapp):
    """An asyncio loop (qasync) running inside the Qt event loop that qtbot spins."""
    os.environ.setdefault("QT_API", "pyside6")
    from app.gui.qt_loop import QtAsyncLoop

    loop = QtAsyncLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


def run_coro(qtbot, loop, coro, timeout_ms: int = 10_000):
    """Run ``coro`` on the qasync loop while qtbot spins Qt; its result."""
    task = loop.create_task(coro)
    qtbot.waitUntil(task.done, timeout=timeout_ms)
    return task.result()


@pytest.fixture
def plain_pyqtgraph(qapp):
    """pyqtgraph configured as the app does, without OpenGL (offscreen cannot render it)."""
    from widgets import theme
    theme.configure_pyqtgraph(False)


def shown(qtbot, widget, w: int = 640, h: int = 320):
    """``widget`` shown at ``w`` x ``h`` and exposed (so it lays out and paints)."""
    qtbot.addWidget(widget)
    widget.resize(w, h)
    widget.show()
    qtbot.waitExposed(widget)
    return widget
