"""GoQuant's connection side: the URL names the symbol; nothing is sent, every frame is a book."""
from __future__ import annotations

import re

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
