"""``slipscope gui`` (also plain ``slipscope``): the desktop app.

With no feed argument it starts the embedded synthetic server in-process and connects to it
over a loopback websocket, so the demo runs the live code path; the window says "synthetic".
``--venue V`` picks any registered venue (its public endpoint, ``--url``/``--rest-url``, or the
embedded server speaking it with ``--synthetic``) and ``--symbol`` one of its symbols.
``--venues VENUE:SYMBOL,...`` (with ``--url-VENUE``...: ``app.cli.venues``'s options) also
prices the order on several venues at once and opens the window on its Venues tab.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli.args import UsageError, positive_float
from app.cli.feed_args import check_feed_urls, symbol_named_by
from app.cli.feed_args import add_venue_argument, resolve_instrument
from app.cli.venues import add_venues_arguments, refuse_venue_options, venue_specs
from core.venues import DEFAULT_VENUE, get_venue, venue_names, venue_symbols



def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "gui", help="open the desktop app (default command; embedded synthetic feed unless told otherwise)",
        description="Open the desktop app. Without --url (and without --venue other than the default) it "
                    "runs on the embedded synthetic market, served over a local websocket; --synthetic "
                    "serves any venue's protocol that way.")
    add_venue_argument(p, default=None,
                       help=f"venue protocol, one of {', '.join(venue_names())} (default {DEFAULT_VENUE}; "
                            "--feed is its older spelling); a venue other than the default without --url "
                            "connects to its public endpoint (--synthetic: the embedded server speaking it)")
    p.add_argument("--url", help="websocket URL of the feed (ws:// or wss://), or a host (ws://HOST:PORT) to "
                                 "which the venue's public path is added")
    p.add_argument("--rest-url", help="REST base URL of a venue that takes a REST depth snapshot (Binance; "
                                      "default: the venue's public one)")
    p.add_argument("--symbol", help="the venue's symbol, e.g. BTC-USDT-SWAP (OKX, GoQuant) or BTCUSDT "
                                    "(Binance, Bybit) (default: the last one used)")
    p.add_argument("--synthetic", action="store_true",
                   help="use the embedded synthetic server even with --venue (it speaks every venue's protocol)")
    p.add_argument("--rate", type=positive_float, default=10.0,
                   help="embedded synthetic server: updates per second (default 10)")
    p.add_argument("--seed", type=int, default=7, help="embedded synthetic server: market seed")
    p.add_argument("--opengl", action="store_true", default=None,
                   help="render plots through OpenGL where a context exists (remembered)")
    p.add_argument("--depth-fill", action="store_true", help="shade the area under the depth curves")
    p.add_argument("--analysis", metavar="COSTS_PARQUET",
                   help="open a `slipscope analyze` result (its costs.parquet) in the History tab")
    p.add_argument("--quit-after", type=positive_float, metavar="SECONDS",
                   help="close the window normally after this long (demos, CI)")
    add_venues_arguments(p, unit_note="the window's quantity and unit are the order's (the embedded "
                                      "synthetic market per venue unless --url-VENUE; --seed, --rate)")
    p.set_defaults(func=run)


def resolve_feed(args: argparse.Namespace):
    """The FeedChoice the arguments mean; UsageError (one line) for a contradiction."""
    from app.cli.args import UsageError
    from app.gui.feed_source import FeedChoice

    venue = get_venue(args.feed or DEFAULT_VENUE)
    url, rest_url = args.url, args.rest_url
    if url is not None and args.synthetic:
        raise UsageError("--synthetic and --url contradict each other")
    check_feed_urls(url, rest_url)
    if rest_url is not None and venue.rest_snapshot_url is None:
        raise UsageError(f"--rest-url: {venue.name} takes no REST snapshot")
    if url is None and args.feed and args.feed != DEFAULT_VENUE and not args.synthetic:
        url = venue.default_url  # the public endpoint (its path completed per instrument)
    symbol = args.symbol
    if symbol is None and url is not None:
        symbol = symbol_named_by(url, venue)
    if args.symbol:
        instrument = resolve_instrument(venue, args.symbol)
        if instrument.inferred and url is None:
            raise UsageError(f"--symbol {args.symbol!r} is not in {venue.name}'s data files; the embedded "
                             f"synthetic server serves only {', '.join(venue_symbols(venue))} (give --url)")
    if rest_url is not None and url is None:
        raise UsageError("--rest-url needs --url (the embedded server answers the REST snapshot itself)")
    return FeedChoice(feed=venue.name, url=url, seed=args.seed, rate=args.rate, instrument=symbol,
                      rest_url=rest_url)


def resolve_venues(args: argparse.Namespace):
    """(specs, fee tiers) of ``--venues`` (None without it; per-venue options alone are refused),
    checked as ``headless --venues`` checks them; UsageError, one line."""
    if args.venues is None:
        refuse_venue_options(args)
        return None, {}
    specs, tiers = venue_specs(args)
    return tuple(specs), tiers


def run(args: argparse.Namespace) -> int:
    from app.gui.signals import defer_close_signals

    defer_close_signals()  # a SIGTERM while Qt and the kernels load still closes in order, exit 0
    from app.gui.feed_source import WebsocketFeed
    from app.gui.startup import GuiOptions, display_problem, run as run_gui

    choice = resolve_feed(args)
    if args.analysis is not None and not Path(args.analysis).is_file():
        raise UsageError(f"--analysis: no such file {args.analysis!r}")
    venues, tiers = resolve_venues(args)
    problem = display_problem()
    if problem:
        sys.stderr.write(f"slipscope gui: error: {problem}\n")
        return 1
    options = GuiOptions(feed=choice.feed, url=choice.url, symbol=args.symbol, opengl=args.opengl,
                         rate=args.rate, seed=args.seed, depth_fill=args.depth_fill,
                         quit_after_s=args.quit_after, choice=choice, analysis=args.analysis,
                         feed_explicit=bool(args.feed or args.url or args.synthetic),
                         venues=venues, venue_fee_tiers=tiers)
    return run_gui(options, lambda inst_id: WebsocketFeed(choice, inst_id))
