"""The two Binance venues, ``binance-usdm`` (USDⓈ-M futures) and ``binance-spot``.

Both: one diff-depth stream per symbol, ``<symbol lower-case>@depth@100ms``, subscribed by
the URL itself (``/ws/<stream>`` for one symbol, ``/stream?streams=a/b`` for several, whose
frames come wrapped as ``{"stream":..,"data":..}``), and a REST depth snapshot of 1,000
levels that the client fetches after connecting and after every break, pushing the body
into the same frame stream (it starts ``{"lastUpdateId"``). No application ping (the
server pings, websockets answers). Binance closes every connection after 24 h, so the client
reconnects a little before.

Light on purpose (no Numba, no numpy): the registry reads this module to list the venues;
``make_feed`` imports the compiled decoder (``sync``, ``decode``, ``scan``) when an Engine
asks for a feed.
"""
from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from core.venues.base import Venue
from core.venues.binance.specs import binance_instrument, generic_instrument, known_symbols

if TYPE_CHECKING:
    from core.book.order_book import OrderBook
    from core.instruments import Instrument
    from core.venues.binance.sync import BinanceBookSync

USDM, SPOT = "binance-usdm", "binance-spot"
DEPTH_STREAM = "{symbol}@depth@100ms"
SNAPSHOT_LIMIT = 1000
#: Binance drops a connection after 24 h; reconnect 15 min before it does
RECONNECT_EVERY_S = 24 * 3600.0 - 15 * 60.0
_SYMBOL = re.compile(r"[A-Z0-9]{2,30}")
FEE_TIER = "VIP0"  # resources/fees/binance.toml's regular tier
LABELS = {USDM: "Binance USDⓈ-M", SPOT: "Binance spot"}
_REST_PATHS = {USDM: "/fapi/v1/depth", SPOT: "/api/v3/depth"}
_SNAPSHOT_HEAD = b'{"lastUpdateId"'


def check_symbol(symbol: str) -> str:
    """A Binance symbol as the venue writes it (``BTCUSDT``), or ValueError naming it."""
    if not isinstance(symbol, str) or not _SYMBOL.fullmatch(symbol):
        raise ValueError(f"symbol {symbol!r} is not a Binance symbol (upper-case letters and digits, e.g. BTCUSDT)")
    return symbol


def stream_name(symbol: str) -> str:
    return DEPTH_STREAM.format(symbol=check_symbol(symbol).lower())


def stream_url(base: str, symbols: tuple[str, ...]) -> str:
    """``wss://fstream.binance.com`` + symbols -> the URL that subscribes to their depth."""
    if not symbols:
        raise ValueError("at least one symbol is needed")
    base = base.rstrip("/")
    if len(symbols) == 1:
        return f"{base}/ws/{stream_name(symbols[0])}"
    return f"{base}/stream?streams=" + "/".join(stream_name(s) for s in symbols)


def rest_path(venue: str) -> str:
    """The depth snapshot's path on ``venue``'s REST host (what the embedded server answers)."""
    return _REST_PATHS[venue]


def rest_snapshot_url(venue: str, base: str, symbol: str) -> str:
    query = urlencode({"symbol": check_symbol(symbol), "limit": SNAPSHOT_LIMIT})
    return f"{base.rstrip('/')}{rest_path(venue)}?{query}"


def no_subscribe(symbols: tuple[str, ...]) -> list[str]:
    """Nothing to send: the URL names the streams."""
    return []


def is_snapshot(raw: bytes | str) -> bool:
    """True for a REST depth body: it starts ``{"lastUpdateId"`` (as Binance writes it)."""
    head = raw[:64].encode() if isinstance(raw, str) else bytes(raw[:64])
    return head.lstrip().startswith(_SNAPSHOT_HEAD)


def make_feed(instrument: "Instrument", book: "OrderBook", config: Any = None, *, futures: bool) -> "BinanceBookSync":
    """The BookFeed for one symbol (``config``: an EngineConfig; its max_bytes is used). The
    compiled decoder is imported here, when an Engine needs it."""
    from core.venues.binance.decode import DEFAULT_MAX_BYTES
    from core.venues.binance.sync import BinanceBookSync
    max_bytes = getattr(config, "max_bytes", DEFAULT_MAX_BYTES)
    return BinanceBookSync(instrument.inst_id, book, futures=futures, max_bytes=max_bytes)


def make_encoder(market: Any, *, futures: bool, combined: bool = False) -> Any:
    """The embedded server's encoder (imported on use: the adapter needs no simulator)."""
    from core.venues.binance.synthetic import BinanceEncoder
    return BinanceEncoder(market, futures, combined)


def _venue(name: str, url: str, rest_url: str, futures: bool) -> Venue:
    return Venue(
        name=name, default_url=url, default_rest_url=rest_url, size_unit="base",
        make_feed=partial(make_feed, futures=futures), stream_url=stream_url, subscribe=no_subscribe,
        resync=None, rest_snapshot_url=partial(rest_snapshot_url, name), app_ping=None,
        is_snapshot=is_snapshot, reconnect_every_s=RECONNECT_EVERY_S,
        encoder=partial(make_encoder, futures=futures), label=LABELS[name],
        instrument=partial(binance_instrument, name), known_symbols=partial(known_symbols, name),
        infer_instrument=partial(generic_instrument, name), fee_tier=FEE_TIER,
    )


BINANCE_USDM = _venue(USDM, "wss://fstream.binance.com", "https://fapi.binance.com", futures=True)
BINANCE_SPOT = _venue(SPOT, "wss://stream.binance.com:9443", "https://api.binance.com", futures=False)
VENUES = (BINANCE_USDM, BINANCE_SPOT)  # the registry reads this tuple
