"""``slipscope headless``: run client + Engine with no window; the last stdout line is JSON.

The feed arguments it shares with ``slipscope record`` are in ``app.cli.feed_args``.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path


from app.cli.args import UsageError, emit_result, positive_float, progress, setup_logging
from app.cli.feed_args import add_feed_arguments, feed_spec, resolve_instrument
from app.cli.venues import add_venues_arguments, refuse_venue_options, run_venues
from core.params import UNITS


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "headless", help="run a feed through the engine with no window; print one JSON line",
        description="Connect to a feed (default: the embedded synthetic server, no network needed), "
                    "price one order on every book for --duration seconds, then print a JSON summary "
                    "as the last stdout line. Progress goes to stderr. --replay FILE evaluates a "
                    "recording instead, straight through the engine as fast as it decodes.")
    add_feed_arguments(p)
    p.add_argument("--duration", type=positive_float, help="seconds to run (required unless --replay)")
    p.add_argument("--quantity", type=positive_float, required=True, help="order size, in --unit")
    p.add_argument("--unit", choices=UNITS, default="usd",
                   help="order size unit (default usd; contracts only for swaps)")
    p.add_argument("--side", choices=("buy", "sell"), default="buy", help="order side (default buy)")
    p.add_argument("--reference", choices=("mid", "best"), default="mid",
                   help="slippage reference price (default mid)")
    p.add_argument("--order-type", choices=("market", "limit"), default="market",
                   help="market, or limit at --limit-offset-bps from the same-side touch (default market)")
    p.add_argument("--limit-offset-bps", type=float, default=0.0,
                   help="limit orders: bps from the same-side touch; 0 joins it, negative crosses")
    p.add_argument("--fee-tier", default=None, help="fee tier of the venue's schedule (default: its regular "
                   "tier, OKX Lv1, Binance VIP0, Bybit Non-VIP)")
    p.add_argument("--exec-delay-ms", type=float, default=250.0,
                   help="decision-to-fill delay the slippage model predicts over (default 250)")
    p.add_argument("--no-models", action="store_true",
                   help="exact book walk only: no fee, impact or slippage models")
    p.add_argument("--size-unit", choices=("contracts", "base"),
                   help="what the feed's sizes count (default: the instrument's; OKX swaps: contracts)")
    p.add_argument("--export", type=Path, metavar="DIR", help="write snapshot.json, book.csv, ... under DIR")
    p.add_argument("--replay", type=Path, nargs="+", metavar="FILE",
                   help="evaluate a recording (its parts in order) instead of a live feed")
    p.add_argument("--drain", choices=("loop", "thread"), default="loop", help=argparse.SUPPRESS)
    add_venues_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from core.feed.headless import HeadlessOptions, replay_feed, replay_headless, replay_inst_id
    from core.recording.recorder import RecordingError

    setup_logging(args.verbose)
    if args.venues is not None:
        return run_venues(args)
    refuse_venue_options(args)
    # The embedded server's thread competes for the GIL; a 0.5 ms switch interval (not 5 ms)
    # keeps the client's p99 receipt -> estimate latency under a millisecond at 1,000 msg/s.
    sys.setswitchinterval(0.0005)
    try:
        if args.replay:
            inst_id = replay_inst_id(args.replay, args.symbol)
            feed = replay_feed(args.replay)
            params = _params(args, feed, inst_id)
            models_factory = _models_factory(args, params, feed, inst_id)
            out = replay_headless(args.replay, params, args.symbol, args.size_unit, args.export,
                                  models_factory)
        else:
            spec = feed_spec(args)
            params = _params(args, spec.feed, spec.symbol)
            models_factory = _models_factory(args, params, spec.feed, spec.symbol)
            if args.duration is None:
                raise UsageError("--duration is required (or --replay FILE)")
            opts = HeadlessOptions(spec, params, args.duration, args.stale_after, args.export,
                                   args.drain, args.size_unit)
            out = asyncio.run(_run_live(opts, models_factory))
    except RecordingError as exc:
        raise UsageError(str(exc)) from None
    return emit_result(out)


def _params(args: argparse.Namespace, feed: str, symbol: str):
    """The order as typed, on the venue's own fee schedule (its regular tier unless --fee-tier)."""
    from core.params import InvalidParams, OrderParams
    from core.venues import get_venue

    venue = get_venue(feed)
    instrument = resolve_instrument(venue, symbol)
    try:
        return OrderParams(side=args.side, quantity=args.quantity, unit=args.unit,
                           reference=args.reference, order_type=args.order_type,
                           limit_offset_bps=args.limit_offset_bps, exchange=instrument.exchange,
                           fee_tier=args.fee_tier or venue.fee_tier,
                           exec_delay_ms=args.exec_delay_ms).validated()
    except (InvalidParams, ValueError) as exc:
        raise UsageError(str(exc)) from None


def _models_factory(args: argparse.Namespace, params, feed: str, inst_id: str):
    """CostModels per instrument (None with --no-models), after checking the order against the
    instrument actually priced: the fee tier exists in its schedule (spot tiers for a spot pair,
    swap tiers for a swap) and a size in contracts has contracts to count; a one-line error
    naming the option otherwise."""
    from core.models.suite import CostModels
    from core.params import InvalidParams
    from core.venues import get_venue

    instrument = resolve_instrument(get_venue(feed), inst_id)
    try:
        params.in_book_terms(instrument)  # contracts exist only where the instrument has them
    except InvalidParams as exc:
        raise UsageError(f"--unit: {exc}") from None
    if args.no_models:
        return None
    try:
        CostModels(instrument).check(params)
    except ValueError as exc:
        raise UsageError(f"--fee-tier: {exc}") from None
    return CostModels


async def _run_live(opts, models_factory):
    from core.feed.headless import run_headless

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)  # Ctrl+C ends the run early; the JSON still comes
    return await run_headless(opts, progress, models_factory, stop=stop)
