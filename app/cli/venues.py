"""``slipscope headless --venues``: the arguments of a several-venue run and their checks.

``--venues okx:BTC-USDT-SWAP,binance-usdm:BTCUSDT`` lists the (venue, symbol) pairs; each venue
has ``--url-VENUE`` (and, where it takes a REST snapshot, ``--rest-url-VENUE``) to point it
elsewhere than the embedded synthetic server, and ``--fee-tier-VENUE`` for the user's tier on
it. Every bad value is refused in one line naming the option (``UsageError``).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from urllib.parse import urlsplit


from app.cli.args import UsageError, emit_result, progress
from app.cli.feed_args import check_url
from core.venues import get_venue, venue_names

#: single-venue options a --venues run does not take (each venue has its own --url-VENUE...)
NOT_WITH_VENUES = (("url", "--url"), ("rest_url", "--rest-url"), ("feed", "--venue"), ("symbol", "--symbol"),
                   ("channel", "--channel"), ("replay", "--replay"), ("fee_tier", "--fee-tier"),
                   ("size_unit", "--size-unit"))
UNITS = ("usd", "base")


def _dest(prefix: str, venue: str) -> str:
    return f"{prefix}_{venue.replace('-', '_')}"


def add_venues_arguments(p: argparse.ArgumentParser, unit_note: str = "--unit usd or base") -> None:
    """``--venues`` and the per-venue options (``unit_note``: how the order's unit is given)."""
    group = p.add_argument_group("several venues at once (--venues)")
    group.add_argument("--venues", metavar="VENUE:SYMBOL,...",
                       help="price the order on every listed venue at once and split it across them, fees "
                            "included (e.g. okx:BTC-USDT-SWAP,binance-usdm:BTCUSDT,bybit-linear:BTCUSDT); "
                            + unit_note)
    for name in venue_names():
        venue = get_venue(name)
        group.add_argument(f"--url-{name}", dest=_dest("url", name), metavar="URL",
                           help=f"with --venues: {name}'s websocket URL or ws://HOST:PORT (default: embedded)")
        if venue.rest_snapshot_url is not None:
            group.add_argument(f"--rest-url-{name}", dest=_dest("rest_url", name), metavar="URL",
                               help=f"with --venues: {name}'s REST base URL for its depth snapshot")
        group.add_argument(f"--fee-tier-{name}", dest=_dest("fee_tier", name), metavar="TIER",
                           help=f"with --venues: your fee tier on {name} (default {venue.fee_tier})")


def per_venue_options(args: argparse.Namespace, prefix: str) -> dict[str, str]:
    """The ``--PREFIX-VENUE`` options given, by venue name."""
    out = {}
    for name in venue_names():
        value = getattr(args, _dest(prefix, name), None)
        if value is not None:
            out[name] = value
    return out


def refuse_venue_options(args: argparse.Namespace) -> None:
    """A one-venue run given per-venue options: say so (they would be ignored)."""
    for prefix, option in (("url", "--url-VENUE"), ("rest_url", "--rest-url-VENUE"), ("fee_tier", "--fee-tier-VENUE")):
        given = per_venue_options(args, prefix)
        if given:
            raise UsageError(f"{option} ({', '.join(given)}) needs --venues; one venue takes "
                             f"--{prefix.replace('_', '-')}")


def venues_options(args: argparse.Namespace):
    """Validate a --venues run's arguments into VenuesOptions (UsageError, one line, on a bad one)."""
    from core.compute.best_execution import Order
    from core.feed.venues_headless import VenuesOptions

    for dest, option in NOT_WITH_VENUES:
        if getattr(args, dest, None) is not None:
            raise UsageError(f"{option} is for one venue; with --venues use the per-venue options (--url-VENUE...)")
    if args.order_type != "market" or args.reference != "mid":
        raise UsageError("--order-type/--reference: --venues prices market orders against the consolidated mid")
    if args.unit not in UNITS:
        raise UsageError(f"--unit must be usd or base with --venues (contracts differ per venue), not {args.unit!r}")
    if args.duration is None:
        raise UsageError("--duration is required")
    specs, tiers = venue_specs(args)
    try:
        order = Order(args.side, args.quantity, args.unit == "usd")
    except ValueError as exc:
        raise UsageError(f"--venues: {exc}") from None
    return VenuesOptions(tuple(specs), order, args.duration, seed=args.seed, rate=args.rate, fee_tiers=tiers,
                         stale_after_s=args.stale_after, export_dir=args.export)


def venue_specs(args: argparse.Namespace):
    """``--venues`` and the per-venue options as (specs, fee tiers by venue), checked before
    anything starts (instruments, one base asset, fee tiers, URLs); UsageError, one line."""
    from core.feed.venue_set import VenueSet, VenueSpec, parse_venues

    try:
        listed = parse_venues(args.venues)
    except ValueError as exc:
        raise UsageError(f"--venues: {exc}") from None
    names = {s.venue for s in listed}
    urls, rest_urls, tiers = (per_venue_options(args, p) for p in ("url", "rest_url", "fee_tier"))
    for option, given in (("--url", urls), ("--rest-url", rest_urls), ("--fee-tier", tiers)):
        for venue in given:
            if venue not in names:
                raise UsageError(f"{option}-{venue}: {venue} is not in --venues")
    specs = []
    for s in listed:
        url, rest = urls.get(s.venue), rest_urls.get(s.venue)
        check_url(url, ("ws", "wss"), f"--url-{s.venue}")
        check_url(rest, ("http", "https"), f"--rest-url-{s.venue}")
        if url is not None and urlsplit(url).path in ("", "/"):  # a host: the venue's public path on it
            url = get_venue(s.venue).url_at(url, (s.symbol,))
        specs.append(VenueSpec(s.venue, s.symbol, url, rest))
    try:
        VenueSet(specs, fee_tiers=tiers)  # instruments, base asset, fee tiers: checked before anything starts
    except ValueError as exc:
        raise UsageError(f"--venues: {exc}") from None
    return specs, tiers


def run_venues(args: argparse.Namespace) -> int:
    """The --venues run: progress on stderr, the JSON result as the last stdout line."""
    opts = venues_options(args)
    sys.setswitchinterval(0.0005)  # several server threads share the GIL with the loop (see headless)
    out = asyncio.run(_run(opts))
    return emit_result(out)


async def _run(opts):
    from core.feed.venues_headless import run_venues_headless

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)  # Ctrl+C ends the run early; the JSON still comes
    return await run_venues_headless(opts, progress, stop=stop)
