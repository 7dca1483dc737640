"""What a venue adapter provides: the contract between the venue-agnostic core and one venue.

The feed client, the engine, the recorder and the embedded server never test a venue's name:
they ask its :class:`Venue` (from :func:`core.venues.get_venue`) how to connect, what to send,
how to resync and how to decode. Everything a venue knows lives in its own package under
``core/venues/<venue>/``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from core.book.order_book import OrderBook
    from core.engine import EngineConfig
    from core.instruments import Instrument
    from core.sim.market import MarketStep, SyntheticMarket


class BookFeed(Protocol):
    """Engine side: one per Engine, owns the venue's sequencing/checksum rules for one book."""

    needs_resync: bool  # True: the client must fetch/ask a fresh snapshot (gap, bad checksum)
    control: int  # frames that were not book data (events, pongs, subscribe acks)
    heartbeats: int  # book frames that changed nothing
    checksums_verified: int
    fast_path_misses: int

    def apply(self, raw: bytes | str) -> bool:
        """Apply one raw frame; True when the book changed. Bad input raises a core.errors.FeedError
        subclass naming the reason and leaves the book unchanged (the Engine counts it by reason)."""

    # Optional (looked up with getattr): ``reconnected()``, called before the first frame of
    # every new connection (a sync that spans frames restarts without counting a gap), and
    # ``counters() -> dict``, the venue's own counts, shown under the Engine's ``venue`` key.


class SyntheticEncoder(Protocol):
    """The embedded server's side of a venue: the synthetic market rendered as the venue's texts."""

    def snapshot_text(self, step: "MarketStep") -> bytes:
        """The whole book of ``step`` as the venue's snapshot frame."""

    def update_text(self, step: "MarketStep") -> bytes:
        """The change from the previous step as the venue's delta frame (with its sequence ids)."""

    def rest_body(self, step: "MarketStep") -> bytes:
        """The REST depth snapshot's response body (venues with ``rest_snapshot_url`` only)."""


@dataclass(frozen=True, kw_only=True)
class Venue:
    """One venue's protocol: each field's comment says what it means. Keyword
    arguments only: what a venue lacks (a REST snapshot, a ping...) it leaves out."""

    name: str  # registry key: "goquant", "okx", "binance-usdm", ...
    default_url: str  # public websocket base
    default_rest_url: str | None = None  # REST base (Binance) or None
    size_unit: str  # "contracts" | "base": what the venue's sizes count
    make_feed: Callable[["Instrument", "OrderBook", "EngineConfig"], BookFeed]  # imports its decoder when called
    stream_url: Callable[[str, tuple[str, ...]], str]  # (base url, symbols) -> url to connect
    subscribe: Callable[[tuple[str, ...]], list[str]]  # texts to send after connecting ([] if the URL subscribes)
    resync: Callable[[tuple[str, ...]], list[str]] | None = None  # texts that ask for a fresh snapshot; None = REST snapshot
    rest_snapshot_url: Callable[[str, str], str] | None = None  # (rest base, symbol) -> GET url of the depth snapshot
    app_ping: tuple[float, str] | None = None  # (interval s, text) application-level ping
    is_snapshot: Callable[[bytes | str], bool]  # a frame (or REST body) that restores sync
    reconnect_every_s: float | None = None  # Binance: 24 h
    encoder: Callable[["SyntheticMarket"], SyntheticEncoder]  # for the embedded server (core/sim)
    # --- added by the layout step (all optional) -------------------------------------------
    label: str = ""  # how the window and messages name the venue ("OKX v5 books")
    full_snapshots: bool = False  # every frame is a whole book: nothing to resync
    channels: tuple[str, ...] = ()  # channels the venue offers (first = default); subscribe/resync take channel=
    pong: str | None = None  # the text answering ``app_ping``: counted, never handed on
    is_event: Callable[[bytes | str], bool] | None = None  # cheap head test: a control frame (ack, error)
    describe_event: Callable[[str], tuple[str, str] | None] | None = None  # event -> ("error"|"notice", detail)
    sniff: Callable[[str], tuple[tuple[str, ...], str] | None] | None = None  # raw first frame -> (symbols, channel)
    symbol_of: Callable[[bytes | str], str | None] | None = None  # which symbol a frame is about (replays)
    url_marker: str | None = None  # a URL holding this is this venue's (the CLI's guess without --feed)
    # --- instruments and fees (all optional: a venue without them prices OKX's instruments) ----
    instrument: Callable[[str], "Instrument"] | None = None  # symbol -> spec from the data; UnknownInstrument
    known_symbols: Callable[[], list[str]] | None = None  # the symbols its data files list
    infer_instrument: Callable[[str], "Instrument"] | None = None  # a generic spec for other symbols
    # the embedded server's side of a venue that subscribes by message: (symbols served, connection
    # id) -> an object whose answer(text, now_ms) gives .replies, .subscribed, .unsubscribed
    server_session: Callable[[tuple[str, ...], str], Any] | None = None
    server_levels: int | None = None  # the embedded server's book depth when the venue fixes one
    fee_tier: str = "Lv1"  # the default tier of its fee schedule (the lowest, what a new account pays)

    def url_at(self, base: str, symbols: tuple[str, ...]) -> str:
        """Where this venue streams ``symbols`` on the host ``base`` (``ws://host:port``, no path):
        its public URL's path there, as its own ``stream_url`` completes it."""
        return self.stream_url(f"{base.rstrip('/')}{urlsplit(self.default_url).path}", symbols)

    def with_channel(self, channel: str | None) -> "Venue":
        """This venue subscribing to ``channel`` (one of ``channels``); itself when it has none."""
        if not self.channels or channel is None:
            return self
        if channel not in self.channels:
            raise ValueError(f"{self.name} has no channel {channel!r} (one of {', '.join(self.channels)})")
        return replace(self, subscribe=partial(self.subscribe, channel=channel),
                       resync=None if self.resync is None else partial(self.resync, channel=channel))


#: the Venue fields an adapter's connection module defines as functions of the same name
SESSION_FIELDS = ("make_feed", "stream_url", "subscribe", "resync", "is_snapshot", "is_event", "describe_event",
                  "sniff", "symbol_of")


def venue_from(module: ModuleType, **fields: Any) -> Venue:
    """A Venue whose callables are ``module``'s functions named as its fields (``SESSION_FIELDS``),
    with ``fields`` for the rest (a field given here wins over the module's function)."""
    found = {name: getattr(module, name) for name in SESSION_FIELDS if hasattr(module, name)}
    return Venue(**(found | fields))
