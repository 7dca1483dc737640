"""The two Bybit venues (``bybit-linear``, ``bybit-spot``) as registry entries.

Connection: ``wss://stream.bybit.com/v5/public/<category>``; after connecting, subscribe with
``{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}`` (Bybit answers with a success frame,
then a snapshot, then deltas); every 20 s send ``{"op":"ping"}``, as Bybit asks, or it drops
the connection. To resync, unsubscribe and subscribe again: the subscribe brings a fresh
snapshot. No REST snapshot is needed. A channel is a depth: ``orderbook.50`` (the default),
``orderbook.200``, ``orderbook.1000``, ``orderbook.1`` (v5 docs: linear pushes them every
20/100/200/10 ms, spot every 20/200/200/10 ms; depth 1 sends snapshots only).

Light on purpose (the standard library and orjson: no Numba, no numpy): the registry reads
this module to list the venues; the decoder (``sync``, ``frames``, ``scan``) and the embedded
server's side (``synthetic``) are imported when a feed, an encoder or a session is made.
"""
from __future__ import annotations

import re
import sys
from functools import partial
from typing import TYPE_CHECKING

import orjson

from core.venues.base import venue_from
from core.venues.bybit.specs import bybit_instrument, generic_instrument, known_symbols

if TYPE_CHECKING:
    from core.book.order_book import OrderBook
    from core.engine import EngineConfig
    from core.instruments import Instrument
    from core.venues.bybit.sync import BybitFeed
    from core.venues.bybit.synthetic import BybitEncoder, BybitServerSession

TOPIC_PREFIX = "orderbook."
CATEGORIES = ("linear", "spot")
CHANNELS = tuple(f"{TOPIC_PREFIX}{depth}" for depth in (50, 200, 1000, 1))  # first: the default
DEFAULT_CHANNEL = CHANNELS[0]
SERVER_DEPTH = 50  # the embedded server's window: the default channel's depth
URLS = {"linear": "wss://stream.bybit.com/v5/public/linear", "spot": "wss://stream.bybit.com/v5/public/spot"}
FEE_TIER = "Non-VIP"  # resources/fees/bybit.toml's regular tier
PING_INTERVAL_S = 20.0
PING_TEXT = '{"op":"ping"}'
MAX_ARGS_PER_REQUEST = 10  # Bybit spot refuses more topics in one request
HEAD = 96  # topic and type come first in Bybit's pushes; op/success first in its answers
_SNAPSHOT_MARK = re.compile(rb'"type"\s*:\s*"snapshot"')
_TOPIC = re.compile(rb'"topic"\s*:\s*"orderbook\.(\d+)\.([^"]+)"')
_CONTROL_MARK = re.compile(rb'^\s*\{\s*"(?:success|op|ret_msg|req_id|conn_id)"')


def _head(raw: bytes | str) -> bytes:
    head = raw[:HEAD]
    return head.encode() if isinstance(head, str) else bytes(head)


def requests(op: str, symbols: tuple[str, ...], channel: str = DEFAULT_CHANNEL) -> list[str]:
    """``{"op": op, "args": [topics]}`` texts, at most 10 topics each."""
    if channel not in CHANNELS:
        raise ValueError(f"Bybit has no channel {channel!r} (one of {', '.join(CHANNELS)})")
    topics = [f"{channel}.{s}" for s in symbols]
    return [orjson.dumps({"op": op, "args": topics[i:i + MAX_ARGS_PER_REQUEST]}).decode()
            for i in range(0, len(topics), MAX_ARGS_PER_REQUEST)]


def subscribe(symbols: tuple[str, ...], channel: str = DEFAULT_CHANNEL) -> list[str]:
    return requests("subscribe", symbols, channel)


def resync(symbols: tuple[str, ...], channel: str = DEFAULT_CHANNEL) -> list[str]:
    """Unsubscribe, then subscribe: Bybit answers the subscribe with a fresh snapshot."""
    return requests("unsubscribe", symbols, channel) + requests("subscribe", symbols, channel)


def stream_url(base: str, symbols: tuple[str, ...]) -> str:
    """Bybit subscribes by message: the URL is the category's endpoint as given."""
    return base


def is_snapshot(frame: bytes | str) -> bool:
    """A book snapshot (restores sync), from the frame's head without parsing it."""
    return _SNAPSHOT_MARK.search(_head(frame)) is not None


def is_event(frame: bytes | str) -> bool:
    """An answer to a request (subscribe ack, pong, refusal), from the frame's head."""
    return _CONTROL_MARK.match(_head(frame)) is not None


def describe_event(text: str) -> tuple[str, str] | None:
    """("error", what to tell the user) for a refused request; None for acks and pongs."""
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None  # not an answer after all: the decoder will count it
    if isinstance(obj, dict) and obj.get("success") is False:
        return "error", f"Bybit refused {obj.get('op', 'a request')}: {obj.get('ret_msg', '')}"
    return None


def symbol_of(frame: bytes | str) -> str | None:
    """The symbol of a book push (its topic's last part), from the frame's head."""
    m = _TOPIC.search(_head(frame))
    return m.group(2).decode() if m else None


def sniff(first: str) -> tuple[tuple[str, ...], str] | None:
    """A raw Bybit push (a header-less recording's first line): its symbol and channel."""
    m = _TOPIC.search(_head(first))
    if m is None:
        return None
    return (m.group(2).decode(),), f"{TOPIC_PREFIX}{m.group(1).decode()}"


def make_feed(instrument: "Instrument", book: "OrderBook", config: "EngineConfig") -> "BybitFeed":
    """``Venue.make_feed``: the compiled decoder is imported here, when an Engine needs it."""
    from core.venues.bybit.sync import BybitFeed
    return BybitFeed.for_engine(instrument, book, config)


def server_session(category: str, symbols: tuple[str, ...], conn_id: str) -> "BybitServerSession":
    """The embedded server's answers to one connection (its window: ``SERVER_DEPTH`` levels)."""
    from core.venues.bybit.synthetic import BybitServerSession
    return BybitServerSession(category, symbols, SERVER_DEPTH, conn_id)


class _Encoder:
    """``Venue.encoder`` for one category: market -> BybitEncoder (a class, so it pickles and prints)."""

    def __init__(self, category: str) -> None:
        self.category = category

    def __call__(self, market) -> "BybitEncoder":
        from core.venues.bybit.synthetic import BybitEncoder
        return BybitEncoder(market, self.category)

    def __repr__(self) -> str:
        return f"BybitEncoder[{self.category}]"


def make_venue(category: str):
    """The registry entry of ``bybit-<category>``."""
    if category not in CATEGORIES:
        raise ValueError(f"Bybit category must be one of {', '.join(CATEGORIES)}, not {category!r}")
    return venue_from(
        sys.modules[__name__], name=f"bybit-{category}", label=f"Bybit {category}", default_url=URLS[category],
        url_marker=f"/v5/public/{category}", size_unit="base", channels=CHANNELS,
        app_ping=(PING_INTERVAL_S, PING_TEXT),
        pong=None,  # Bybit's pong names the connection: counted as control by the feed instead
        encoder=_Encoder(category), server_levels=SERVER_DEPTH, server_session=partial(server_session, category),
        instrument=partial(bybit_instrument, category), known_symbols=partial(known_symbols, category),
        infer_instrument=partial(generic_instrument, category), fee_tier=FEE_TIER,
    )


BYBIT_LINEAR = make_venue("linear")
BYBIT_SPOT = make_venue("spot")
VENUES = (BYBIT_LINEAR, BYBIT_SPOT)  # what the registry reads from the package


def by_name(name: str):
    """``bybit-linear`` or ``bybit-spot`` by name (the registry does this once merged)."""
    for v in VENUES:
        if v.name == name:
            return v
    raise ValueError(f"unknown Bybit venue {name!r} (one of {', '.join(v.name for v in VENUES)})")
