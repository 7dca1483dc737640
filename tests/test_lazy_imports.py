"""Listing venues and parsing the command line import no Numba; making a feed does.

Numba (with llvmlite) costs ~0.4 s and ~50 MB of RSS to import. ``slipscope --help``, every
subcommand's argument parsing, the venue registry and the parent process of ``bench-gui``
need none of it: each adapter imports its compiled decoder only when a feed is made. Each
check runs in a fresh interpreter, since this test process has long imported everything.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]

LIST_AND_PARSE = """
import sys
from core.venues import get_venue, instrument_for, venue_names, venue_symbols
from app.cli.main import build_parser, main

names = venue_names()
for name in names:
    venue = get_venue(name)
    symbols = venue_symbols(venue)
    instrument_for(venue, symbols[0])
    venue.url_at("ws://127.0.0.1:1", (symbols[0],))
    venue.subscribe((symbols[0],))
instrument_for("binance-usdm", "ZZZUSDT")  # an inferred spec needs no decoder either
parser = build_parser()
for argv in (["headless", "--venue", "bybit-linear", "--symbol", "BTCUSDT", "--quantity", "5"],
             ["serve", "--venue", "binance-spot"], ["record", "--venue", "okx", "--symbol", "BTC-USDT-SWAP"],
             ["gui", "--venue", "binance-usdm"], ["bench"], ["bench-gui"], ["analyze", "x.jsonl", "--quantities", "1e4"]):
    parser.parse_args(argv)
try:
    main(["--help"])
except SystemExit:
    pass
loaded = sorted(m for m in ("numba", "llvmlite") if m in sys.modules)
MAKE_FEED
print(__import__("json").dumps({"names": list(names), "loaded": loaded,
                                "after_feed": "numba" in sys.modules}))
"""

MAKE_FEED = """
from core.book.order_book import OrderBook
from core.engine import EngineConfig
get_venue("bybit-spot").make_feed(instrument_for("bybit-spot", "BTCUSDT"), OrderBook(), EngineConfig())
"""


def _run(script: str) -> dict:
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return orjson.loads(out.stdout.strip().splitlines()[-1])


def test_registry_and_argument_parsing_import_no_numba():
    result = _run(LIST_AND_PARSE.replace("MAKE_FEED", ""))
    assert len(result["names"]) >= 6
    assert result["loaded"] == []
    assert result["after_feed"] is False


def test_making_a_feed_imports_the_compiled_decoder():
    """The check above can fail: the same script, once it makes a feed, has Numba loaded."""
    result = _run(LIST_AND_PARSE.replace("MAKE_FEED", MAKE_FEED))
    assert result["loaded"] == [] and result["after_feed"] is True
