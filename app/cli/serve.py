"""``slipscope serve``: the local feed server in the foreground (synthetic market or a recording).

Prints one URL per line on stdout once it listens (port 0 picks a free one), a stats line on
stderr now and then, and stops cleanly on Ctrl+C or SIGTERM (exit 0).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from app.cli.args import UsageError, port, positive_float, setup_logging
from app.cli.feed_args import add_venue_argument, default_symbol


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve", help="run the local feed server (synthetic market or a recording)",
        description="Serve GoQuant-format snapshots at /ws/l2-orderbook/okx/<SYMBOL> and the OKX v5 "
                    "protocol at /ws/v5/public on 127.0.0.1. The source is the seeded synthetic market, "
                    "or with --replay a recording made by 'slipscope record' (each connection gets "
                    "its own replay from the start).")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=0, help="TCP port (default 0: pick a free one)")
    add_venue_argument(p, help="serve only this venue, its symbols from its data files (default: every venue "
                               "that lists the symbols: GoQuant and OKX for BTC-USDT-SWAP)")
    p.add_argument("--symbol", action="append", help="instrument to serve (repeatable; default BTC-USDT-SWAP, "
                   "or the venue's BTC symbol with --venue)")
    p.add_argument("--seed", type=int, default=7, help="synthetic market seed (default 7)")
    p.add_argument("--rate", type=positive_float, default=10.0, help="synthetic steps per second (default 10)")
    p.add_argument("--replay", type=Path, nargs="+", metavar="FILE", help="serve a recording instead")
    p.add_argument("--speed", type=_speed, default=1.0, help="replay speed: a factor (1, 10, ...) or 'max'")
    p.add_argument("--loop", action="store_true", help="replay: start over at the end of the recording")
    p.add_argument("--stats-every", type=float, default=10.0, metavar="SECONDS",
                   help="print server stats to stderr this often (0: never; default 10)")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output on stderr")
    p.set_defaults(func=run)


def _speed(text: str) -> float | None:
    if text.lower() in ("max", "inf", "0"):
        return None
    return positive_float(text.rstrip("xX"))


def build_source(args: argparse.Namespace):
    from core.recording.recorder import RecordingError
    from core.sim.server import ReplaySource, SyntheticSource
    from core.instruments import UnknownInstrument
    from core.venues import get_venue, instrument_for

    if args.replay:
        try:
            return ReplaySource(list(args.replay), args.speed, args.loop)
        except (RecordingError, ValueError) as exc:
            raise UsageError(str(exc)) from None
    venue = get_venue(args.feed or "okx")
    symbols = args.symbol or [default_symbol(venue)]
    for symbol in symbols:
        try:
            instrument_for(venue, symbol, infer=False)  # the server serves listed symbols only
        except UnknownInstrument as exc:
            raise UsageError(str(exc)) from None
    return SyntheticSource(tuple(dict.fromkeys(symbols)), seed=args.seed, rate=args.rate, venue=args.feed)


def run(args: argparse.Namespace) -> int:
    setup_logging(args.verbose)
    source = build_source(args)
    return asyncio.run(_serve(args, source))


async def _serve(args: argparse.Namespace, source) -> int:
    from core.sim.server import FeedServer

    server = FeedServer(source, args.host, args.port)
    try:
        urls = await server.start()
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    print(f"serving {source.label}", file=sys.stderr, flush=True)
    for line in urls.lines():
        print(line, flush=True)
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), args.stats_every if args.stats_every > 0 else None)
            except asyncio.TimeoutError:
                s = server.stats()
                print(f"clients {s['connections']}  steps {s['steps']}  sent {s['sent']}  "
                      f"dropped {s['dropped']}  resnapshots {s['resnapshots']}  lagged {s['lagged_steps']}",
                      file=sys.stderr, flush=True)
    finally:
        await server.stop()
    print("server stopped", file=sys.stderr, flush=True)
    return 0
