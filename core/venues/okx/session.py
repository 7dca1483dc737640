"""OKX's connection side: what the client sends, and how it reads frames' heads without parsing.

A subscription is ``{"op":"subscribe","args":[{"channel":"books","instId":...}]}``; a resync is
unsubscribe + subscribe (OKX answers with a fresh snapshot); text ``ping`` every 20 s keeps OKX
from closing an idle connection at 30 s (it answers ``pong``). Acks and errors are ``event``
frames: ``{"event":"error","code":"60018","msg":"...","connId":"..."}``.

Light on purpose (the standard library and orjson only): the registry reads this module to
list OKX, and listing a venue must not import Numba or the compiled decoder.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from core.book.order_book import OrderBook
    from core.engine import EngineConfig
    from core.instruments import Instrument
    from core.venues.okx.feed import OkxFeed

BOOK_CHANNELS = ("books", "books5", "bbo-tbt", "books-l2-tbt", "books50-l2-tbt")
SNAPSHOT_ONLY_CHANNELS = ("books5", "bbo-tbt")
PUBLIC_URL = "wss://ws.okx.com:8443/ws/v5/public"
PING_S = 20.0  # OKX closes connections idle for 30 s
EVENT_MARK = '"event"'  # within the first EVENT_HEAD characters of an event frame
EVENT_HEAD = 24
SNIFF_HEAD = 200  # a frame's arg (channel, instId) sits within its first 200 characters
SNAPSHOT_HEAD = 160
_SNAPSHOT_MARK = re.compile(r'"action"\s*:\s*"snapshot"')
_INST_ID = re.compile(r'"instId"\s*:\s*"([^"]+)"')
_CHANNEL = re.compile(r'"channel"\s*:\s*"([^"]+)"')


def _head(raw: str | bytes, n: int) -> str:
    return raw[:n] if isinstance(raw, str) else raw[:n].decode("utf-8", "replace")


def subscribe_request(channel: str, inst_ids: list[str]) -> bytes:
    return orjson.dumps({"op": "subscribe", "args": [{"channel": channel, "instId": i} for i in inst_ids]})


def unsubscribe_request(channel: str, inst_ids: list[str]) -> bytes:
    return orjson.dumps({"op": "unsubscribe", "args": [{"channel": channel, "instId": i} for i in inst_ids]})


def make_feed(instrument: "Instrument", book: "OrderBook", config: "EngineConfig") -> "OkxFeed":
    """``Venue.make_feed``: the compiled decoder is imported here, when an Engine needs it."""
    from core.venues.okx.feed import OkxFeed
    return OkxFeed(instrument, book, config)


def subscribe(symbols: tuple[str, ...], channel: str = "books") -> list[str]:
    return [subscribe_request(channel, list(symbols)).decode()]


def resubscribe(symbols: tuple[str, ...], channel: str = "books") -> list[str]:
    """Unsubscribe then subscribe: OKX then sends a fresh snapshot."""
    return [unsubscribe_request(channel, list(symbols)).decode(), subscribe_request(channel, list(symbols)).decode()]


def stream_url(base: str, symbols: tuple[str, ...]) -> str:
    """OKX subscribes by message: the URL is the endpoint itself."""
    return base


def is_snapshot(raw: str | bytes) -> bool:
    """Cheap test on a frame's head: an OKX snapshot push (``"action":"snapshot"``)."""
    return _SNAPSHOT_MARK.search(_head(raw, SNAPSHOT_HEAD)) is not None


def inst_id(raw: str | bytes) -> str | None:
    """The ``instId`` in a frame's ``arg`` (from its head, without parsing the whole frame)."""
    m = _INST_ID.search(_head(raw, SNIFF_HEAD))
    return m.group(1) if m else None


def is_event(raw: str | bytes) -> bool:
    return isinstance(raw, str) and EVENT_MARK in raw[:EVENT_HEAD]


def describe_event(text: str) -> tuple[str, str] | None:
    """("error" | "notice", what to tell the user) for an event frame worth telling; else None."""
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None  # not an event after all: the decoder will count it
    event = obj.get("event") if isinstance(obj, dict) else None
    if event == "error":
        return "error", f"OKX error {obj.get('code', '?')}: {obj.get('msg', '')}"
    if event == "notice":
        return "notice", f"OKX notice {obj.get('code', '')}: {obj.get('msg', '')}"
    return None


def sniff(first: str) -> tuple[tuple[str, ...], str] | None:
    """A raw OKX frame (a header-less recording's first line): its instrument and channel."""
    head = first[:SNIFF_HEAD]
    if '"arg"' not in head:
        return None
    inst = inst_id(head)
    channel = _CHANNEL.search(head)
    return ((inst,) if inst else (), channel.group(1) if channel else "books")
