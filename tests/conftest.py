"""Shared test set-up: offscreen Qt, hypothesis profile, sample data and builders."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

import gc  # noqa: E402

import orjson  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "slipscope", deadline=None, max_examples=200,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile("deep", parent=settings.get_profile("slipscope"), max_examples=5000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "slipscope"))

DATA = Path(__file__).parent / "data"


def okx_frames(name: str) -> list[bytes]:
    """Raw frames of a recorded OKX session in tests/data (gzip JSON lines)."""
    with gzip.open(DATA / name, "rb") as fh:
        return [line.rstrip(b"\n") for line in fh if line.strip()]


def goquant_message(bids, asks, symbol="BTC-USDT-SWAP", ts="2025-05-04T10:39:13.250Z", **extra) -> bytes:
    """A GoQuant L2 message from level lists (strings kept as given)."""
    return orjson.dumps({"timestamp": ts, "exchange": "OKX", "symbol": symbol,
                         "asks": asks, "bids": bids, **extra})


@pytest.fixture
def small_book_message() -> bytes:
    return goquant_message(
        bids=[["100.0", "1"], ["99.5", "2"], ["99.0", "3"]],
        asks=[["100.5", "1"], ["101.0", "2"], ["102.0", "4"]],
    )


# As in the app (app.gui.qt_loop.collect_garbage_in_this_thread): Python's cyclic collector runs in
# the main thread only. Left automatic, it runs in whichever thread allocates (an embedded
# server, a compute worker) and may destroy an unreachable Qt object there: rare segfaults.
gc.disable()


@pytest.fixture(autouse=True)
def _collect_garbage_in_the_main_thread():
    yield
    gc.collect()


@pytest.fixture(autouse=True, scope="session")
def _kernels_loaded():
    """Compile (or load from Numba's cache) the decoders', kernels' and models' code once, before
    any test: on a cold cache that takes tens of seconds, which a socket test that waits a few
    seconds for books would otherwise spend, whichever test happens to run first."""
    from core.feed.headless import warm_up
    from core.models.suite import CostModels

    for feed in ("goquant", "okx"):
        warm_up(feed, CostModels)
    gc.unfreeze()  # warm_up freezes for the app's sake; tests keep their collector as set above
