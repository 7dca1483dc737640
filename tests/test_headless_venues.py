"""``slipscope headless --venues`` as a user runs it (issue 12): real processes, real embedded
servers on 127.0.0.1, the JSON keys of the issue, the export re-priced from its CSV files."""
from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest

from app.cli.main import main
from core.sim.server import EmbeddedServer, SyntheticSource
from tests.test_best_execution import walk_csv_books
from tests.test_headless import last_json, slipscope

THREE = "okx:BTC-USDT-SWAP,binance-usdm:BTCUSDT,bybit-linear:BTCUSDT"
VENUE_KEYS = {"venue", "symbol", "state", "book", "estimate", "taker_rate"}
BEST_KEYS = {"side", "quantity_usd", "reference_px", "legs", "paid_usd", "net_cost_usd", "net_cost_bps",
             "best_single", "saving_usd", "saving_bps"}
LEG_KEYS = {"venue", "symbol", "base", "quote_usd", "avg_px", "fees_usd", "levels"}


def independent_paid(folder: Path, side: str, base: float) -> tuple[float, float]:
    """The fee-adjusted merged book walked in plain Python from the exported book.csv files
    and each venue's taker rate (snapshot.json) alone; returns (paid_usd, one lot per venue
    at the dearest price taken, the tolerance the issue allows)."""
    sign = 1 if side == "buy" else -1
    books, slack = [], 0.0
    for venue_dir in sorted((folder / "venues").iterdir()):
        info = json.loads((venue_dir / "snapshot.json").read_text())
        if info["state"] != "live":
            continue
        fee = info["taker_rate"]
        with open(venue_dir / "book.csv") as fh:
            rows = list(csv.DictReader(fh))
        books.append((rows, fee))
        side_px = [float(r["price"]) for r in rows if r["side"] == ("ask" if sign > 0 else "bid")]
        slack += 2.0 * info["lot_base"] * max(side_px) * (1 + fee)
    paid, left = walk_csv_books(books, side, base)
    assert left <= 1e-9, "the exported books cannot fill what the split filled"
    return paid, slack


def test_three_venues_headless_prints_the_issue_keys_and_exports_a_re_priceable_split(tmp_path):
    out = slipscope("headless", "--venues", THREE, "--duration", "4", "--quantity", "1000000",
                    "--export", str(tmp_path), timeout=120)
    assert out.returncode == 0, out.stderr
    r = last_json(out)
    assert [v["venue"] for v in r["venues"]] == ["binance-usdm", "bybit-linear", "okx"]
    for v in r["venues"]:
        assert set(v) == VENUE_KEYS and v["state"] == "live"
        assert set(v["book"]) == {"best_bid", "best_ask", "bid_levels", "ask_levels"}
        assert v["estimate"]["quantity_usd"] == pytest.approx(1e6) and v["estimate"]["exhausted"] is False
    be = r["best_execution"]
    assert set(be) == BEST_KEYS and be["side"] == "buy" and be["quantity_usd"] == 1e6
    assert be["legs"] and all(set(leg) == LEG_KEYS for leg in be["legs"])
    assert be["net_cost_usd"] <= be["best_single"]["net_cost_usd"] + 1e-6  # never dearer than one venue
    # equal amounts: the best single venue on the base the split placed (lot rounding's residual aside)
    # differs from the whole-order comparison by the residual's cost at most: under a lot (<= 0.001 BTC)
    whole = be["best_single"]["net_cost_usd"] - be["net_cost_usd"]
    assert abs(be["saving_usd"] - whole) <= 0.001 * be["reference_px"] * 0.01
    assert be["paid_usd"] > 0
    assert all(f["embedded"] and f["synthetic"] for f in r["feeds"]) and r["rejected"] == 0
    assert r["evaluations"] > 0 and r["split_latency_us"]["samples"] == r["evaluations"]

    folder = Path(r["export"])
    assert folder.parent == tmp_path
    assert {p.name for p in folder.iterdir()} == {"venues", "best_execution.json", "split.csv", "manifest.json"}
    assert {p.name for p in (folder / "venues").iterdir()} == {
        "binance-usdm_BTCUSDT", "bybit-linear_BTCUSDT", "okx_BTC-USDT-SWAP"}
    okx = json.loads((folder / "venues/okx_BTC-USDT-SWAP/snapshot.json").read_text())
    assert (okx["taker_rate"], okx["maker_rate"], okx["contract_value"]) == (0.0005, 0.0002, 0.01)
    with open(folder / "venues/okx_BTC-USDT-SWAP/book.csv") as fh:
        row = next(csv.DictReader(fh))
    assert float(row["size_base"]) == pytest.approx(float(row["size"]) * 0.01)  # contracts of 0.01 BTC
    full = json.loads((folder / "best_execution.json").read_text())["best_execution"]
    assert {k: full[k] for k in BEST_KEYS} == be  # the printed object, from the same moment
    paid, slack = independent_paid(folder, "buy", full["filled_base"])
    assert paid == pytest.approx(be["paid_usd"], abs=slack)
    taken = defaultdict(float)
    with open(folder / "split.csv") as fh:
        for split_row in csv.DictReader(fh):
            taken[split_row["venue"]] += float(split_row["base"])
    assert dict(taken) == pytest.approx({leg["venue"]: leg["base"] for leg in be["legs"]})
    manifest = json.loads((folder / "manifest.json").read_text())
    written = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == written - {"manifest.json"}  # every other file, as the single-venue one
    assert [v["state"] for v in manifest["snapshot"]["venues"]] == ["live"] * 3


def test_a_sell_in_base_units_with_one_venue_pointed_elsewhere(tmp_path):
    """--url-okx as a host: the venue's public path on it; a sell's paid_usd is minus what it
    receives; the re-priced export agrees."""
    with EmbeddedServer(SyntheticSource(("BTC-USDT-SWAP",), seed=4, rate=20.0, venue="okx")) as server:
        host = f"ws://127.0.0.1:{server.urls.port}"
        out = slipscope("headless", "--venues", "okx:BTC-USDT-SWAP,bybit-linear:BTCUSDT", "--url-okx", host,
                        "--duration", "3", "--quantity", "3", "--unit", "base", "--side", "sell",
                        "--export", str(tmp_path), timeout=120)
    assert out.returncode == 0, out.stderr
    r = last_json(out)
    okx = next(f for f in r["feeds"] if f["venue"] == "okx")
    assert okx["url"] == f"{host}/ws/v5/public" and okx["embedded"] is False and okx["state"] == "live"
    be = r["best_execution"]
    assert be["side"] == "sell" and be["paid_usd"] < 0  # received money is a negative cost
    assert sum(leg["base"] for leg in be["legs"]) == pytest.approx(3.0, abs=1e-3)
    assert be["net_cost_usd"] == pytest.approx(be["paid_usd"] + 3.0 * be["reference_px"], abs=0.01)
    folder = Path(r["export"])
    full = json.loads((folder / "best_execution.json").read_text())["best_execution"]
    paid, slack = independent_paid(folder, "sell", full["filled_base"])
    assert paid == pytest.approx(be["paid_usd"], abs=slack)


@pytest.mark.parametrize("argv, needle", [
    (["--venues", "okx"], "--venues: 'okx' is not VENUE:SYMBOL"),
    (["--venues", "nowhere:BTCUSDT"], "--venues: 'nowhere:BTCUSDT': unknown venue"),
    (["--venues", "okx:NOPE-SWAP"], "--venues: 'okx:NOPE-SWAP'"),
    (["--venues", "okx:BTC-USDT-SWAP,okx:BTC-USDT-SWAP"], "listed twice"),
    (["--venues", "okx:ETH-USDT-SWAP,binance-usdm:BTCUSDT"], "same base asset"),
    (["--venues", THREE, "--unit", "contracts"], "--unit"),
    (["--venues", THREE, "--url", "ws://127.0.0.1:1"], "--url is for one venue"),
    (["--venues", THREE, "--fee-tier", "VIP1"], "--fee-tier is for one venue"),
    (["--venues", THREE, "--url-okx", "http://127.0.0.1:1"], "--url-okx must be a ws:// or wss:// URL"),
    (["--venues", "okx:BTC-USDT-SWAP", "--url-bybit-linear", "ws://127.0.0.1:1"], "--url-bybit-linear: bybit-linear is not in --venues"),
    (["--venues", THREE, "--fee-tier-okx", "VIP99"], "VIP99"),
    (["--url-okx", "ws://127.0.0.1:1"], "needs --venues"),
])
def test_bad_venues_arguments_are_refused_in_one_line(capsys, argv, needle):
    code = main(["headless", "--duration", "1", "--quantity", "1000", *argv])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2 and captured.out == "" and len(lines) == 1 and needle in lines[0], captured.err
    assert "Traceback" not in captured.err


def test_a_venue_that_never_connects_is_marked_stale_and_left_out():
    from tests.test_headless import free_port

    dead = f"ws://127.0.0.1:{free_port()}"  # nothing listens there
    out = slipscope("headless", "--venues", "okx:BTC-USDT-SWAP,binance-usdm:BTCUSDT", "--url-okx", dead,
                    "--duration", "2.5", "--quantity", "200000", timeout=120)
    assert out.returncode == 0, out.stderr
    r = last_json(out)
    okx = next(v for v in r["venues"] if v["venue"] == "okx")
    assert okx["state"] == "stale" and okx["estimate"]["net_cost_usd"] is None  # shown, not priced
    assert [leg["venue"] for leg in r["best_execution"]["legs"]] == ["binance-usdm"]
    assert "okx:BTC-USDT-SWAP stale" in r["note"] and r["live_venues"] == 1
    feed = next(f for f in r["feeds"] if f["venue"] == "okx")
    assert feed["counters"]["failed_connects"] >= 1 and feed["embedded"] is False
