"""The two Bybit venues (``bybit-linear``, ``bybit-spot``) as registry entries.

Connection: ``wss://stream.bybit.com/v5/public/<category>``; after connecting, subscribe with
``{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}`` (Bybit answers with a success frame,
then a snapshot, then deltas); every 20 s send ``{"op":"ping"}``, as Bybit asks, or it drops
the connection. To resync, unsubscribe and subscribe again: the subscribe brings a fresh
snapshot. No REST snapshot is needed.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import orjson

from core.venues.bybit.sync import BybitFeed
from core.venues.bybit.synthetic import BybitEncoder

DEFAULT_DEPTH = 50
#: depths Bybit serves per category (v5 docs: linear 1/50/200/1000 at 10/20/100/200 ms;
#: spot 1/50/200/1000 at 10/20/200/200 ms; depth 1 sends snapshots only)
DEPTHS = {"linear": (1, 50, 200, 1000), "spot": (1, 50, 200, 1000)}
URLS = {"linear": "wss://stream.bybit.com/v5/public/linear", "spot": "wss://stream.bybit.com/v5/public/spot"}
PING_INTERVAL_S = 20.0
PING_TEXT = '{"op":"ping"}'
MAX_ARGS_PER_REQUEST = 10  # Bybit spot refuses more topics in one request
_SNAPSHOT_MARKS = (b'"type":"snapshot"', b'"type": "snapshot"')
_HEAD_BYTES = 256  # topic and type come first in Bybit's frames


def topic(symbol: str, depth: int = DEFAULT_DEPTH) -> str:
    return f"orderbook.{depth}.{symbol}"


def requests(op: str, symbols: tuple[str, ...], depth: int = DEFAULT_DEPTH) -> list[str]:
    """``{"op": op, "args": [topics]}`` texts, at most 10 topics each."""
    topics = [topic(s, depth) for s in symbols]
    return [orjson.dumps({"op": op, "args": topics[i:i + MAX_ARGS_PER_REQUEST]}).decode()
            for i in range(0, len(topics), MAX_ARGS_PER_REQUEST)]


def subscribe(symbols: tuple[str, ...], depth: int = DEFAULT_DEPTH) -> list[str]:
    return requests("subscribe", symbols, depth)


def resync(symbols: tuple[str, ...], depth: int = DEFAULT_DEPTH) -> list[str]:
    """Unsubscribe, then subscribe: Bybit answers the subscribe with a fresh snapshot."""
    return requests("unsubscribe", symbols, depth) + requests("subscribe", symbols, depth)


def stream_url(base: str, symbols: tuple[str, ...]) -> str:
    """Bybit subscribes by message: the URL is the category's endpoint as given."""
    return base


def is_snapshot(frame: bytes | str) -> bool:
    """A book snapshot (restores sync); looks only at the head, where Bybit writes the type."""
    head = frame[:_HEAD_BYTES]
    if isinstance(head, str):
        head = head.encode()
    return any(mark in head for mark in _SNAPSHOT_MARKS)


@dataclass(frozen=True)
class LocalVenue:
    """VENUES.md's ``Venue``, field for field, until ``core/venues/base.py`` lands."""

    name: str
    default_url: str
    default_rest_url: str | None
    size_unit: str
    make_feed: Callable
    stream_url: Callable[[str, tuple[str, ...]], str]
    subscribe: Callable[[tuple[str, ...]], list[str]]
    resync: Callable[[tuple[str, ...]], list[str]] | None
    rest_snapshot_url: Callable[[str, str], str] | None
    app_ping: tuple[float, str] | None
    is_snapshot: Callable[[bytes | str], bool]
    reconnect_every_s: float | None
    encoder: Callable[..., BybitEncoder]


def _venue_class():
    try:  # the layout branch provides the shared definition
        from core.venues.base import Venue
    except ImportError:
        return LocalVenue
    return Venue


def make_venue(category: str, depth: int = DEFAULT_DEPTH):
    """The registry entry of ``bybit-<category>`` at ``depth`` levels."""
    if depth not in DEPTHS[category]:
        raise ValueError(f"Bybit {category} serves depths {DEPTHS[category]}, not {depth}")
    return _venue_class()(
        name=f"bybit-{category}",
        default_url=URLS[category],
        default_rest_url=None,
        size_unit="base",
        make_feed=BybitFeed.for_engine,
        stream_url=stream_url,
        subscribe=partial(subscribe, depth=depth),
        resync=partial(resync, depth=depth),
        rest_snapshot_url=None,
        app_ping=(PING_INTERVAL_S, PING_TEXT),
        is_snapshot=is_snapshot,
        reconnect_every_s=None,
        encoder=partial(BybitEncoder, category=category),
    )


BYBIT_LINEAR = make_venue("linear")
BYBIT_SPOT = make_venue("spot")
VENUES = {v.name: v for v in (BYBIT_LINEAR, BYBIT_SPOT)}
