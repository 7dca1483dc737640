"""``slipscope headless``, ``serve`` and ``record`` as a user runs them: real processes, real sockets."""
from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from core.recording.recorder import Recorder, RecordingHeader
from core.sim.market import SyntheticMarket
from tests.feed_support import SYMBOL, Harness, run_async

ESTIMATE_KEYS = {"quantity_usd", "slippage_bps", "slippage_usd", "fees_usd", "impact_usd", "net_cost_usd",
                 "maker_fraction"}


def slipscope(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=timeout)


def last_json(out: subprocess.CompletedProcess) -> dict:
    return orjson.loads(out.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_headless_ten_seconds_offline_prints_the_json_line_and_exports(tmp_path):
    """The acceptance command, as given: no URL, so the embedded synthetic server over a socket."""
    out = slipscope("headless", "--duration", "10", "--quantity", "100", "--export", str(tmp_path))
    assert out.returncode == 0, out.stderr
    r = last_json(out)
    assert r["messages"] >= 80 and r["rejected"] == 0 and r["reconnects"] == 0 and r["stale_events"] == 0
    lat = r["latency_us"]
    assert 0 < lat["p50"] <= lat["p99"] <= lat["max"]
    book = r["book"]
    assert book["bid_levels"] == book["ask_levels"] == 400 and book["best_bid"] < book["best_ask"]
    est = r["estimate"]
    assert set(est) >= ESTIMATE_KEYS
    assert est["quantity_usd"] == pytest.approx(100.0)
    assert None not in est.values()  # the models fill every field for a market order
    assert est["maker_fraction"] == 0.0 and est["fees_usd"] == pytest.approx(100.0 * 0.0005)
    assert est["net_cost_usd"] == pytest.approx(est["slippage_usd"] + est["impact_usd"] + est["fees_usd"], abs=1e-9)
    assert r["feed"]["synthetic"] is True and "synthetic" in r["feed"]["source"]
    assert "synthetic" in out.stderr  # the human-readable side says so too
    folder = Path(r["export"])
    assert folder.parent == tmp_path
    assert {p.name for p in folder.iterdir()} == {"snapshot.json", "book.csv", "cost_curve.csv", "timeseries.csv",
                                                  "manifest.json"}
    with open(folder / "book.csv") as fh:
        assert sum(1 for _ in csv.DictReader(fh)) == 800
    with open(folder / "timeseries.csv") as fh:
        assert sum(1 for _ in csv.DictReader(fh)) >= 80


def test_headless_okx_feed_fast_rate():
    out = slipscope("headless", "--feed", "okx", "--rate", "200", "--duration", "2", "--quantity", "2",
                    "--unit", "base", "--side", "sell")
    assert out.returncode == 0, out.stderr
    r = last_json(out)
    assert r["messages"] >= 150 and r["rejected"] == 0 and r["resyncs"] == 0
    assert r["params"]["side"] == "sell" and r["params"]["unit"] == "base"
    assert r["estimate"]["quantity_usd"] > 0 and r["feed"]["format"] == "okx"


def test_headless_exits_1_with_one_clear_line_when_no_book_arrives():
    url = f"ws://127.0.0.1:{free_port()}/ws/l2-orderbook/okx/{SYMBOL}"
    out = slipscope("headless", "--url", url, "--duration", "1.5", "--quantity", "100")
    assert out.returncode == 1
    r = last_json(out)
    assert r["messages"] == 0 and r["book"]["best_bid"] is None and r["reconnects"] >= 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("slipscope headless: error: no valid book arrived") and url in last
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("args,needle", [
    (["--duration", "-3", "--quantity", "100"], "--duration"),
    (["--duration", "2", "--quantity", "100", "--symbol", "DOGE-USDT-SWAP"], "unknown instrument"),
    (["--duration", "2", "--quantity", "100", "--feed", "binance"], "--feed"),
    (["--duration", "2", "--quantity", "0"], "--quantity"),
    (["--duration", "2", "--quantity", "100", "--url", "http://example.com"], "--url"),
    (["--quantity", "100"], "--duration"),
])
def test_bad_arguments_are_one_line_exit_2(args, needle):
    out = slipscope("headless", *args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in out.stderr
    assert out.stdout == ""


def test_headless_replay_evaluates_a_recording(tmp_path):
    path = tmp_path / "rec.jsonl.gz"
    market = SyntheticMarket(seed=3)
    with Recorder(path, RecordingHeader(feed="okx", inst_ids=(SYMBOL,), synthetic=True)) as rec:
        rec.write(market.okx_snapshot(market.step()).decode(), time.perf_counter_ns())
        for _ in range(40):
            rec.write(market.okx_update(market.step()).decode(), time.perf_counter_ns())
        rec.write("garbage", time.perf_counter_ns())
    out = slipscope("headless", "--replay", str(path), "--quantity", "1000")
    assert out.returncode == 0, out.stderr
    r = last_json(out)
    assert r["messages"] == 42 and r["applied"] == 41 and r["rejected_by_reason"] == {"malformed_json": 1}
    assert r["feed"]["state"] == "replay" and r["feed"]["synthetic"] is True
    bids = market.levels_text(market.top(market.bids, -1))
    assert r["book"]["best_bid"] == float(bids[0][0])


def _start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "app", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def test_serve_prints_urls_serves_both_protocols_and_stops_on_ctrl_c():
    proc = _start("serve", "--port", "0", "--rate", "50", "--symbol", SYMBOL, "--symbol", "ETH-USDT-SWAP")
    try:
        lines = [proc.stdout.readline().strip() for _ in range(3)]
        urls = dict(line.split(": ", 1) for line in lines)
        assert set(urls) == {f"goquant {SYMBOL}", "goquant ETH-USDT-SWAP", "okx"}
        assert all(u.startswith("ws://127.0.0.1:") and not u.startswith("ws://127.0.0.1:0/") for u in urls.values())

        async def main():
            gq = await Harness(urls["goquant ETH-USDT-SWAP"], "goquant", symbol="ETH-USDT-SWAP").start()
            okx = await Harness(urls["okx"], "okx").start()
            try:
                for h in (gq, okx):
                    await h.wait_for(lambda: h.engine.applied >= 10, what="books from slipscope serve")
                    assert h.client.synthetic and h.rejected == {}
            finally:
                await gq.stop()
                await okx.stop()
        run_async(main)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "server stopped" in err and "Traceback" not in err


def test_serve_replays_a_recording(tmp_path):
    path = tmp_path / "gq.jsonl.gz"
    market = SyntheticMarket(seed=9)
    with Recorder(path, RecordingHeader(feed="goquant", inst_ids=(SYMBOL,))) as rec:
        for i in range(25):
            rec.write(market.goquant_message(market.step()).decode(), i * 1_000_000)
    proc = _start("serve", "--replay", str(path), "--speed", "max", "--loop")
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith(f"goquant {SYMBOL}: ws://127.0.0.1:")
        url = line.split(": ", 1)[1]

        async def main():
            h = await Harness(url).start()
            try:
                await h.wait_for(lambda: h.engine.applied >= 60, what="looped replay")
                assert not h.client.synthetic and h.client.source.startswith("replay of recording")
            finally:
                await h.stop()
        run_async(main)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0


def test_serve_bad_arguments():
    out = slipscope("serve", "--symbol", "NOPE")
    assert out.returncode == 2 and "unknown instrument" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    out = slipscope("serve", "--replay", "/nonexistent/file.jsonl.gz")
    assert out.returncode == 2 and "does not exist" in out.stderr


def test_record_for_a_duration_then_headless_replays_it(tmp_path):
    path = tmp_path / "r.jsonl.gz"
    out = slipscope("record", "--rate", "50", "--duration", "1.5", "--out", str(path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(path)
    replay = slipscope("headless", "--replay", str(path), "--quantity", "100")
    assert replay.returncode == 0, replay.stderr
    r = last_json(replay)
    assert r["messages"] >= 50 and r["rejected"] == 0 and r["feed"]["synthetic"] is True


def test_a_failed_export_still_prints_the_result_and_exits_1(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = slipscope("headless", "--duration", "1", "--quantity", "100", "--export", str(blocker))
    assert out.returncode == 1
    r = last_json(out)
    assert r["messages"] > 0 and r["export"] is None
    assert out.stderr.strip().splitlines()[-1].startswith("slipscope headless: error: export failed")
    assert blocker.read_text() == "not a folder"


def test_headless_bad_fee_tier_is_one_line():
    out = slipscope("headless", "--duration", "1", "--quantity", "100", "--fee-tier", "Lv99")
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "Lv99" in out.stderr


def test_headless_without_models_leaves_model_fields_null():
    out = slipscope("headless", "--duration", "1.5", "--quantity", "100", "--no-models")
    assert out.returncode == 0, out.stderr
    est = last_json(out)["estimate"]
    assert est["fees_usd"] is None and est["slippage_bps"] is not None
