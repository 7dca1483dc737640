"""GoQuant's connection side: the URL names the symbol; nothing is sent, every frame is a book.

Light on purpose (the standard library only): the registry reads it to list GoQuant; the
compiled decoder is imported by :func:`make_feed` when an Engine needs it.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.book.order_book import OrderBook
    from core.engine import EngineConfig
    from core.instruments import Instrument
    from core.venues.goquant.feed import GoQuantFeed

PUBLIC_URL = "wss://ws.gomarket-cpp.goquant.io"
PATH_PREFIX = "/ws/l2-orderbook/okx/"
_SYMBOL = re.compile(r'"symbol"\s*:\s*"([^"]+)"')


def stream_url(base: str, symbols: tuple[str, ...]) -> str:
    """``base`` + ``/ws/l2-orderbook/okx/<SYMBOL>``; a URL that names its path already is kept."""
    if PATH_PREFIX in base:
        return base
    return f"{base.rstrip('/')}{PATH_PREFIX}{symbols[0]}"


def symbol_in_url(url: str) -> str | None:
    """The symbol a GoQuant URL names (``.../ws/l2-orderbook/okx/<SYMBOL>``), if any."""
    if PATH_PREFIX not in url:
        return None
    return url.split(PATH_PREFIX, 1)[1].split("?", 1)[0].strip("/") or None


def make_feed(instrument: "Instrument", book: "OrderBook", config: "EngineConfig") -> "GoQuantFeed":
    """``Venue.make_feed``: the compiled decoder is imported here, when an Engine needs it."""
    from core.venues.goquant.feed import GoQuantFeed
    return GoQuantFeed(instrument, book, config)


def subscribe(symbols: tuple[str, ...]) -> list[str]:
    return []  # the URL subscribes


def is_snapshot(raw: str | bytes) -> bool:
    return True  # every message is a whole book


def sniff(first: str) -> tuple[tuple[str, ...], str] | None:
    """A raw GoQuant message (a JSON object naming its ``symbol``): that symbol."""
    m = _SYMBOL.search(first)
    return ((m.group(1),), "books") if m else None


def symbol_of(raw: str | bytes) -> str | None:
    head = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
    m = _SYMBOL.search(head)
    return m.group(1) if m else None
