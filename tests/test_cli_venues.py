"""``slipscope headless --venue V --url ws://HOST:PORT [--rest-url http://HOST:PORT]`` against the
embedded server speaking that venue (real sockets, the real CLI in a subprocess): the run ends on
exactly the server's book, with every frame applied, and exits 0."""
from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from core.sim.server import EmbeddedServer, SyntheticSource

SYMBOL = "BTCUSDT"


def _exported_book(folder: Path) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    bids, asks = [], []
    with open(folder / "book.csv") as fh:
        for row in csv.DictReader(fh):
            (bids if row["side"] == "bid" else asks).append((float(row["price"]), float(row["size"])))
    return bids, asks


def _wait_for_a_connection(server: EmbeddedServer, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p["sent"] > 0 for p in server.call(server.server.peer_stats)):
            return
        time.sleep(0.1)
    raise AssertionError("the headless client never connected")


@pytest.mark.parametrize("venue", ["binance-usdm", "binance-spot", "bybit-linear", "bybit-spot"])
def test_headless_on_a_venue_ends_on_the_servers_book(venue, tmp_path):
    with EmbeddedServer(SyntheticSource((SYMBOL,), seed=11, rate=20.0, venue=venue)) as server:
        host = f"127.0.0.1:{server.urls.port}"
        args = ["headless", "--venue", venue, "--symbol", SYMBOL, "--url", f"ws://{host}", "--duration", "5",
                "--quantity", "1000", "--export", str(tmp_path)]
        if venue.startswith("binance"):  # the REST depth snapshot, on the same port
            args += ["--rest-url", f"http://{host}"]
        proc = subprocess.Popen([sys.executable, "-m", "app", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            _wait_for_a_connection(server, proc)
            time.sleep(2.0)  # deltas flow for a while, then the market stops for the last seconds
            server.faults.pause()
            stdout, stderr = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 0, stderr
        bids, asks = server.call(lambda: server.server.book_levels(SYMBOL))
        steps = server.call(lambda: server.server.steps)
    result = orjson.loads(stdout.strip().splitlines()[-1])
    assert result["rejected"] == 0 and result["resyncs"] == 0, result["rejected_by_reason"]
    assert result["feed"]["format"] == venue and result["instrument_inferred"] is False
    assert steps > 20 and result["applied"] > 20
    assert result["params"]["fee_tier"] == ("VIP0" if venue.startswith("binance") else "Non-VIP")
    got_bids, got_asks = _exported_book(Path(result["export"]))
    assert got_bids == [(float(p), float(s)) for p, s in bids]
    assert got_asks == [(float(p), float(s)) for p, s in asks]


def test_serve_names_one_venue_and_refuses_a_symbol_it_does_not_list():
    out = subprocess.run([sys.executable, "-m", "app", "serve", "--venue", "bybit-spot", "--symbol", "DOGEUSDT"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "DOGEUSDT" in out.stderr and "Traceback" not in out.stderr
