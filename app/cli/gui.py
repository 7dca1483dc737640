"""``slipscope gui`` (also plain ``slipscope``): the desktop app.

With no feed argument it starts the embedded synthetic server in-process and connects to it
over a loopback websocket, so the demo runs the live code path; the window says "synthetic".
"""
from __future__ import annotations

import argparse
import sys
from urllib.parse import urlsplit

from app.cli.args import positive_float
from app.cli.feed_args import add_venue_argument
from core.venues import DEFAULT_VENUE, get_venue, venue_names



def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "gui", help="open the desktop app (default command; embedded synthetic feed unless told otherwise)",
        description="Open the desktop app. Without --url (and without --feed okx) it runs on the "
                    "embedded synthetic market, served over a local websocket.")
    add_venue_argument(p, default=None,
                       help=f"venue protocol, one of {', '.join(venue_names())} (default {DEFAULT_VENUE}; "
                            "--feed is its older spelling); a venue other than the default without --url "
                            "connects to its public endpoint")
    p.add_argument("--url", help="websocket URL of the feed (ws:// or wss://)")
    p.add_argument("--symbol", help="instrument id, e.g. BTC-USDT-SWAP (default: the last one used)")
    p.add_argument("--synthetic", action="store_true",
                   help="use the embedded synthetic server even with --feed okx (its OKX protocol)")
    p.add_argument("--rate", type=positive_float, default=10.0,
                   help="embedded synthetic server: updates per second (default 10)")
    p.add_argument("--seed", type=int, default=7, help="embedded synthetic server: market seed")
    p.add_argument("--opengl", action="store_true", default=None,
                   help="render plots through OpenGL where a context exists (remembered)")
    p.add_argument("--depth-fill", action="store_true", help="shade the area under the depth curves")
    p.add_argument("--quit-after", type=positive_float, metavar="SECONDS",
                   help="close the window normally after this long (demos, CI)")
    p.set_defaults(func=run)


def resolve_feed(args: argparse.Namespace):
    """The FeedChoice the arguments mean; UsageError (one line) for a contradiction."""
    from app.cli.args import UsageError
    from app.gui.feed_source import FeedChoice
    from core.instruments import UnknownInstrument, get_instrument

    if args.symbol:
        try:
            get_instrument(args.symbol)
        except UnknownInstrument as exc:
            raise UsageError(str(exc)) from None
    venue = get_venue(args.feed or DEFAULT_VENUE)
    if venue.instrument is not None:  # its own instrument tables: the window lists OKX's so far
        raise UsageError(f"--venue {venue.name}: the window does not list {venue.name}'s instruments yet "
                         "(headless, record and serve do)")
    url = args.url
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise UsageError(f"--url must be a ws:// or wss:// URL, not {url!r}")
        if args.synthetic:
            raise UsageError("--synthetic and --url contradict each other")
    elif args.feed and args.feed != DEFAULT_VENUE and not args.synthetic:
        url = venue.stream_url(venue.default_url, (args.symbol or "BTC-USDT-SWAP",))  # the public endpoint
    return FeedChoice(feed=venue.name, url=url, seed=args.seed, rate=args.rate)


def run(args: argparse.Namespace) -> int:
    from app.gui.feed_source import WebsocketFeed
    from app.gui.startup import GuiOptions, display_problem, run as run_gui

    choice = resolve_feed(args)
    problem = display_problem()
    if problem:
        sys.stderr.write(f"slipscope gui: error: {problem}\n")
        return 1
    options = GuiOptions(feed=choice.feed, url=choice.url, symbol=args.symbol, opengl=args.opengl,
                         rate=args.rate, seed=args.seed, depth_fill=args.depth_fill,
                         quit_after_s=args.quit_after, choice=choice,
                         feed_explicit=bool(args.feed or args.url or args.synthetic))
    return run_gui(options, lambda inst_id: WebsocketFeed(choice, inst_id))
