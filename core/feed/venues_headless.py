"""``slipscope headless --venues``: several venues at once with no window, then one JSON result.

A :class:`VenueSet` runs every (venue, symbol) on one plain asyncio loop (each embedded server,
when no URL is given, on its own thread). Whenever some venue's book or state changed, one
re-pricing of the order on every venue and the split is scheduled on the loop (a burst of
changes costs one: newest books only), and timed: ``split_latency_us`` is what that costs per
update in the live path (books converted, the split priced, result objects built). The final
result is priced on the newest books *before* the feeds stop (stopped feeds would read stale).
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from core.compute.best_execution import LIVE, Order
from core.export import ExportError
from core.feed.headless import HeadlessResult, finite_or_none, warm_up
from core.feed.venue_set import VenueSet, VenueSpec, VenuesSnapshot

LATENCY_WINDOW = 1 << 16  # split re-pricing times kept for the percentiles


@dataclass(frozen=True)
class VenuesOptions:
    specs: tuple[VenueSpec, ...]
    order: Order
    duration_s: float
    seed: int = 7
    rate: float = 10.0
    fee_tiers: Mapping[str, str] = field(default_factory=dict)
    stale_after_s: float = 5.0
    export_dir: Path | None = None
    progress_every_s: float = 1.0


class _Repricer:
    """Re-prices the order after each burst of changes, on the loop, and times it."""

    def __init__(self, venues: VenueSet, order: Order) -> None:
        self.venues = venues
        self.order = order
        self.last: VenuesSnapshot | None = None
        self.times_us: list[float] = []
        self.cpu_us: list[float] = []  # the thread's own CPU time: without waits for the GIL or a core
        self.evaluations = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduled = False

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()

    def changed(self) -> None:
        """VenueSet's ``on_change`` (on the loop): one re-pricing per burst."""
        if not self._scheduled and self._loop is not None:
            self._scheduled = True
            self._loop.call_soon(self.reprice)

    def reprice(self) -> VenuesSnapshot:
        self._scheduled = False
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        snap = self.last = self.venues.evaluate(self.order)
        if len(self.times_us) < LATENCY_WINDOW:
            self.cpu_us.append((time.thread_time_ns() - c0) / 1000.0)
            self.times_us.append((time.perf_counter_ns() - t0) / 1000.0)
        self.evaluations += 1
        return snap

    def latency(self) -> dict[str, Any]:
        """Wall-clock p50/p99/max of one re-pricing (microseconds), and its thread CPU time."""
        t, c = np.asarray(self.times_us), np.asarray(self.cpu_us)
        if not t.size:
            return {"p50": None, "p99": None, "max": None, "cpu_p50": None, "cpu_p99": None, "samples": 0}
        def pct(a: np.ndarray, q: float) -> float:
            return round(float(np.percentile(a, q)), 2)
        return {"p50": pct(t, 50), "p99": pct(t, 99), "max": round(float(t.max()), 2),
                "cpu_p50": pct(c, 50), "cpu_p99": pct(c, 99), "samples": int(t.size)}


async def run_venues_headless(opts: VenuesOptions, progress: Callable[[str], None],
                              stop: asyncio.Event | None = None) -> HeadlessResult:
    """Run every venue for ``opts.duration_s`` (or until ``stop`` is set), then report."""
    venues = VenueSet(opts.specs, seed=opts.seed, rate=opts.rate, fee_tiers=opts.fee_tiers,
                      stale_after_s=opts.stale_after_s)
    for name in dict.fromkeys(s.venue for s in opts.specs):
        warm_up(name)  # each venue's decoder compiled before the clock starts
    _warm_split(opts.order)
    repricer = _Repricer(venues, opts.order)
    venues.on_change = repricer.changed
    started = time.monotonic()
    try:
        repricer.start()
        await venues.start()
        for feed in venues.feeds:
            progress(f"feed: {feed.spec.name}: {feed.endpoint.source} at {feed.endpoint.url}")
        await _report_until(started + opts.duration_s, opts.progress_every_s, started, repricer,
                            progress, stop or asyncio.Event())
        final = repricer.reprice()  # on the newest books, while the feeds are still up
    finally:
        await venues.stop()
    elapsed = time.monotonic() - started
    out = HeadlessResult(final.result is not None, build_venues_result(venues, final, repricer, elapsed))
    if final.result is None:
        out.error = f"no split priced in {elapsed:.1f} s: {final.note}"
    elif opts.export_dir is not None:
        _export(out, final, opts.export_dir)
    return out


def _warm_split(order: Order) -> None:
    """Load the split's compiled kernels before the clock starts (not timed with the first
    book), for read-only arrays as the books' are (Numba compiles those separately)."""
    from dataclasses import replace

    from core.compute.best_execution import best_execution, synthetic_books

    def frozen(a: np.ndarray) -> np.ndarray:
        a = a.copy()
        a.setflags(write=False)
        return a
    books = [replace(b, bid_px=frozen(b.bid_px), bid_base=frozen(b.bid_base), ask_px=frozen(b.ask_px),
                     ask_base=frozen(b.ask_base)) for b in synthetic_books(8)]
    best_execution(books, order)


async def _report_until(deadline: float, every: float, started: float, repricer: _Repricer,
                        progress: Callable[[str], None], stop: asyncio.Event) -> None:
    while (left := deadline - time.monotonic()) > 0 and not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), min(every, left))
        except asyncio.TimeoutError:
            pass
        progress(progress_line(time.monotonic() - started, repricer))


def progress_line(elapsed: float, repricer: _Repricer) -> str:
    states = "  ".join(f"{f.spec.name} {f.state()}" for f in repricer.venues.feeds)
    snap = repricer.last
    head = f"[{elapsed:6.1f}s] {states}"
    if snap is None or snap.result is None:
        return head + f"  ({snap.note if snap is not None else 'no book yet'})"
    r = snap.result
    legs = " + ".join(f"{leg.venue} {leg.base:.4f}" for leg in r.legs)
    return f"{head}  split {legs}  net {r.net_cost_bps:.3f} bps  saving {r.saving_bps:.3f} bps"


def build_venues_result(venues: VenueSet, snap: VenuesSnapshot, repricer: _Repricer,
                        elapsed: float) -> dict[str, Any]:
    """The JSON object headless --venues prints last: ``venues`` and ``best_execution`` (the
    issue's keys), the order, the note, every feed's status and counters, and what the live
    re-pricing cost."""
    result = snap.result
    feeds = []
    for feed, info, spec in zip(venues.feeds, snap.feeds, snap.specs):
        client = feed.client
        counters = feed.engine.counters()
        feeds.append({
            "venue": feed.spec.venue, "symbol": feed.spec.symbol, "state": info.get("state"),
            "url": client.url if client else None, "source": client.source if client else None,
            "synthetic": bool(client.synthetic) if client else False, "embedded": feed.spec.url is None,
            "detail": info.get("detail", ""), "needs_resync": info.get("needs_resync"),
            "counters": info.get("counters", {}), "fee_tier": spec["fee_tier"], "taker_rate": spec["taker_rate"],
            "maker_rate": spec["maker_rate"], "contract_value": spec["contract_value"], "lot_base": spec["lot_base"],
            "engine": {k: counters[k] for k in ("received", "applied", "rejected", "rejected_by_reason",
                                                "coalesced", "evaluations")},
        })
    engines = [f.engine.counters() for f in venues.feeds]
    return {
        "venues": result.venues_list() if result is not None else [_bare_entry(b, s) for b, s in zip(snap.books, snap.specs)],
        "best_execution": result.to_dict() if result is not None else None,
        "note": snap.note,
        "order": asdict(snap.order),
        "live_venues": sum(b.state == LIVE for b in snap.books),
        "messages": sum(c["received"] for c in engines),
        "applied": sum(c["applied"] for c in engines),
        "rejected": sum(c["rejected"] for c in engines),
        "evaluations": repricer.evaluations,
        "split_latency_us": repricer.latency(),
        "feeds": feeds,
        "seed": venues.seed,
        "duration_s": round(elapsed, 3),
    }


def _bare_entry(book, spec: dict) -> dict[str, Any]:
    """A ``venues`` entry when nothing could be priced (no consolidated mid): book, no estimate."""
    f = finite_or_none
    return {"venue": book.venue, "symbol": book.symbol, "state": book.state,
            "book": {"best_bid": f(book.best_bid), "best_ask": f(book.best_ask),
                     "bid_levels": int(book.bid_px.shape[0]), "ask_levels": int(book.ask_px.shape[0])},
            "estimate": None, "taker_rate": spec["taker_rate"]}


def _export(out: HeadlessResult, snap: VenuesSnapshot, root: Path) -> None:
    """Export the final VenuesSnapshot; a failure is reported (result and exit code), not raised."""
    from core.export_venues import export_venues

    try:
        out.export_path = export_venues(snap, root)
        out.result["export"] = str(out.export_path)
    except ExportError as exc:
        out.ok = False
        out.error = f"export failed: {exc}"
        out.result["export"] = None
