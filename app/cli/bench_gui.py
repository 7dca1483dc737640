"""``slipscope bench-gui``: the desktop app offscreen against the embedded server, per feed rate."""
from __future__ import annotations

import argparse
import sys

import orjson

from app.cli.args import positive_float, positive_floats


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench-gui", help="measure the GUI: fps, receive -> frame latency, CPU and memory per feed rate",
        description="Runs the real window offscreen against the embedded synthetic server, one "
                    "subprocess per rate, and reports frames/s, receive -> frame p50/p99, CPU %% of "
                    "one core, peak RSS and RSS growth.")
    p.add_argument("--rates", type=positive_floats, default=(100.0, 1000.0),
                   help="updates per second, comma-separated (default 100,1000)")
    p.add_argument("--seconds", type=positive_float, default=10.0, help="measured time per rate (default 10)")
    p.add_argument("--warmup", type=positive_float, default=3.0, help="unmeasured warm-up (default 3)")
    p.add_argument("--opengl", action="store_true", help="render through OpenGL (needs a display with GL)")
    p.add_argument("--platform", help="Qt platform (default offscreen; e.g. xcb under Xvfb)")
    p.add_argument("--venues", action="store_true",
                   help="also run the three default venues (okx, binance-usdm, bybit-linear), each on its own "
                        "embedded server at the same rate, with the Venues tab in front, as `gui --venues` does")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object on the last line")
    p.add_argument("--one", type=positive_float, help=argparse.SUPPRESS)  # internal: one rate, in-process
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.gui import bench as gui_bench

    if args.one is not None:
        from app.gui.feed_source import FeedChoice, WebsocketFeed
        choice = FeedChoice(rate=args.one)
        result = gui_bench.measure_one(args.one, args.seconds, args.warmup,
                                       lambda inst_id: WebsocketFeed(choice, inst_id), opengl=args.opengl,
                                       venues=args.venues)
        print(orjson.dumps(result).decode())
        return 0
    result = gui_bench.run(list(args.rates), args.seconds, args.warmup, opengl=args.opengl,
                           platform=args.platform, progress=lambda m: print(m, file=sys.stderr, flush=True),
                           venues=args.venues)
    for line in gui_bench.format_table(result):
        print(line, file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(orjson.dumps(result).decode())
    return 0
