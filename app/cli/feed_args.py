"""The feed arguments ``slipscope headless`` and ``slipscope record`` share, and their checks.

The venue is a registry name (``core.venues``); without ``--venue`` (or its older spelling ``--feed``) it is the venue whose public
URL's path the given ``--url`` starts with (OKX: ``/ws/v5/``), else the default venue.
"""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from app.cli.args import UsageError, positive_float
from core.venues import DEFAULT_VENUE, Venue, get_venue, instrument_for, venue_names, venue_symbols

if TYPE_CHECKING:
    from core.instruments import Instrument


def venue_for_url(url: str) -> Venue:
    """The venue whose URL ``url`` looks like (its ``url_marker`` in it), else the default one."""
    for name in venue_names():
        venue = get_venue(name)
        if venue.url_marker and venue.url_marker in url:
            return venue
    return get_venue(DEFAULT_VENUE)


def add_venue_argument(p: argparse.ArgumentParser, **kwargs) -> None:
    """``--venue V`` (``--feed V`` its older spelling): one of the registry's names."""
    p.add_argument("--venue", "--feed", dest="feed", choices=venue_names(), metavar="VENUE", **kwargs)


def default_symbol(venue: Venue) -> str:
    """What a venue prices when not told: BTC against the dollar, as its data files spell it."""
    symbols = venue_symbols(venue)
    preferred = [s for s in symbols if s in ("BTC-USDT-SWAP", "BTCUSDT")]
    return (preferred or symbols or ["BTC-USDT-SWAP"])[0]


def resolve_instrument(venue: Venue, symbol: str) -> Instrument:
    """The spec of ``symbol`` on ``venue`` (the registry's one lookup), or a one-line UsageError."""
    from core.instruments import UnknownInstrument

    try:
        return instrument_for(venue, symbol)
    except UnknownInstrument as exc:
        raise UsageError(str(exc)) from None


def add_feed_arguments(p: argparse.ArgumentParser) -> None:
    add_venue_argument(p, help=f"venue protocol, one of {', '.join(venue_names())} (default: the venue whose "
                               f"URL --url looks like, else {DEFAULT_VENUE})")
    p.add_argument("--url", help="websocket URL, or a host (ws://HOST:PORT) to which the venue's public path is "
                   "added (default: start the embedded synthetic server of the venue)")
    p.add_argument("--rest-url", help="REST base URL of venues that take a REST depth snapshot (Binance; "
                   "default: the embedded server's with no --url, else the venue's public one)")
    p.add_argument("--symbol", help="the venue's symbol (default BTC-USDT-SWAP on OKX, BTCUSDT on Binance and "
                   "Bybit, or the GoQuant URL's)")
    p.add_argument("--channel", default=None, help="the venue's books channel, where it has several "
                   "(OKX: books, books5, bbo-tbt, books-l2-tbt, books50-l2-tbt; default books)")
    p.add_argument("--seed", type=int, default=7, help="embedded synthetic market seed (default 7)")
    p.add_argument("--rate", type=positive_float, default=10.0,
                   help="embedded synthetic market steps per second (default 10)")
    p.add_argument("--stale-after", type=positive_float, default=5.0, metavar="SECONDS",
                   help="reconnect when no data arrives for this long (default 5)")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output on stderr")


def check_url(url: str | None, schemes: tuple[str, ...], option: str) -> None:
    if url is None:
        return
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname:
        raise UsageError(f"{option} must be a {' or '.join(s + '://' for s in schemes)} URL, not {url!r}")


def check_feed_urls(url: str | None, rest_url: str | None) -> None:
    """``--url`` a websocket URL and ``--rest-url`` an HTTP one (each optional); a one-line
    UsageError naming the option otherwise."""
    check_url(url, ("ws", "wss"), "--url")
    check_url(rest_url, ("http", "https"), "--rest-url")


def symbol_named_by(url: str, venue: Venue) -> str | None:
    """The symbol a URL names as its last path part (.../ws/l2-orderbook/okx/<SYMBOL>) when it
    is one of ``venue``'s, else None."""
    last = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return last if last in venue_symbols(venue) else None


def feed_spec(args: argparse.Namespace):
    """Validate the feed arguments into a FeedSpec (UsageError, one line, on a bad one)."""
    from core.feed.session import FeedSpec

    url, rest_url = args.url, getattr(args, "rest_url", None)
    check_feed_urls(url, rest_url)
    venue = get_venue(args.feed) if args.feed else (venue_for_url(url) if url else get_venue(DEFAULT_VENUE))
    symbol = args.symbol
    if symbol is None and url:
        symbol = symbol_named_by(url, venue)
    symbol = symbol or default_symbol(venue)
    instrument = resolve_instrument(venue, symbol)
    if instrument.inferred and url is None:
        raise UsageError(f"--symbol {symbol!r} is not in {venue.name}'s data files; the embedded synthetic server "
                         f"serves only {', '.join(venue_symbols(venue))} (give --url for a live feed)")
    if rest_url and venue.rest_snapshot_url is None:
        raise UsageError(f"--rest-url: {venue.name} takes no REST snapshot")
    if url is not None and urlsplit(url).path in ("", "/"):  # a host: the venue's public path on it
        url = venue.url_at(url, (symbol,))
    channels = venue.channels or ("books",)  # "books": the one stream of a venue without channels
    channel = channels[0] if args.channel is None else args.channel
    if channel not in channels:
        raise UsageError(f"--channel must be one of {', '.join(channels)}, not {channel!r}")
    return FeedSpec(feed=venue.name, url=url, symbol=symbol, channel=channel, seed=args.seed, rate=args.rate,
                    rest_url=rest_url)
