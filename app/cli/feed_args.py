"""The feed arguments ``slipscope headless`` and ``slipscope record`` share, and their checks.

The venue is a registry name (``core.venues``); without ``--feed`` it is the venue whose public
URL's path the given ``--url`` starts with (OKX: ``/ws/v5/``), else the default venue.
"""
from __future__ import annotations

import argparse
from urllib.parse import urlsplit

from app.cli.args import UsageError, positive_float
from core.venues import DEFAULT_VENUE, Venue, get_venue, venue_names


def venue_for_url(url: str) -> Venue:
    """The venue whose URL ``url`` looks like (its ``url_marker`` in it), else the default one."""
    for name in venue_names():
        venue = get_venue(name)
        if venue.url_marker and venue.url_marker in url:
            return venue
    return get_venue(DEFAULT_VENUE)


def add_feed_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--feed", choices=venue_names(), metavar="VENUE",
                   help=f"venue protocol, one of {', '.join(venue_names())} (default: the venue whose "
                        f"URL --url looks like, else {DEFAULT_VENUE})")
    p.add_argument("--url", help="websocket URL (default: start the embedded synthetic server)")
    p.add_argument("--symbol", help="instrument id (default BTC-USDT-SWAP, or the GoQuant URL's)")
    p.add_argument("--channel", default=None, help="the venue's books channel, where it has several "
                   "(OKX: books, books5, bbo-tbt, books-l2-tbt, books50-l2-tbt; default books)")
    p.add_argument("--seed", type=int, default=7, help="embedded synthetic market seed (default 7)")
    p.add_argument("--rate", type=positive_float, default=10.0,
                   help="embedded synthetic market steps per second (default 10)")
    p.add_argument("--stale-after", type=positive_float, default=5.0, metavar="SECONDS",
                   help="reconnect when no data arrives for this long (default 5)")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output on stderr")


def feed_spec(args: argparse.Namespace):
    """Validate the feed arguments into a FeedSpec (UsageError, one line, on a bad one)."""
    from core.feed.session import FeedSpec
    from core.instruments import UnknownInstrument, get_instrument, known_instruments

    url = args.url
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise UsageError(f"--url must be a ws:// or wss:// URL, not {url!r}")
    venue = get_venue(args.feed) if args.feed else (venue_for_url(url) if url else get_venue(DEFAULT_VENUE))
    symbol = args.symbol
    if symbol is None and url:  # a URL that names its instrument: .../ws/l2-orderbook/okx/<SYMBOL>
        last = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
        symbol = last if last in known_instruments() else None
    symbol = symbol or "BTC-USDT-SWAP"
    try:
        get_instrument(symbol)
    except UnknownInstrument as exc:
        raise UsageError(str(exc)) from None
    channels = venue.channels or ("books",)  # "books": the one stream of a venue without channels
    channel = channels[0] if args.channel is None else args.channel
    if channel not in channels:
        raise UsageError(f"--channel must be one of {', '.join(channels)}, not {channel!r}")
    return FeedSpec(feed=venue.name, url=url, symbol=symbol, channel=channel, seed=args.seed, rate=args.rate)
