"""``slipscope bench``: the core pipeline's latency and throughput (with the cost models, and
without them for comparison) against a naive baseline."""
from __future__ import annotations

import argparse
import sys

import orjson

from app.cli.args import positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("bench", help="measure decode -> book -> features -> cost -> models, vs a naive baseline")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object on the last line")
    p.add_argument("--messages", type=positive_int, default=3000, help="messages per measurement (default 3000)")
    p.add_argument("--seed", type=int, default=11, help="synthetic market seed")
    p.add_argument("--no-models", action="store_true",
                   help="measure the pipeline without the cost models (default: with them, and without for comparison)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core import bench

    def progress(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    factory = None
    if not args.no_models:
        from core.models import CostModels
        factory = CostModels
    result = bench.run(n=args.messages, n_baseline=max(50, args.messages // 10), seed=args.seed,
                       models_factory=factory, progress=progress)
    for line in bench.format_table(result):
        print(line, file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(orjson.dumps(result).decode())
    return 0
