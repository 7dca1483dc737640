"""``slipscope headless``: client + Engine with no window, for a fixed time, then one JSON result.

One plain asyncio loop runs the feed client (and, with no URL, the embedded synthetic server
runs on its own thread). Frames go into a :class:`FeedPipeline`, drained on the loop right after
each socket read that brought them (:class:`LoopDrainer`) or by a worker thread (``drain="thread"``); OKX resync requests go
back to the client through ``loop.call_soon_threadsafe``. Latency is the Engine's own: from the
client's receive stamp of the newest frame behind an evaluation to the estimate being ready.
"""
from __future__ import annotations

import asyncio
import gc
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from core.engine import Engine, EngineConfig, Models
from core.decision_series import COL as DS_COL, COLUMNS as DS_COLUMNS, DecisionRows, until
from core.export import ExportError, export_snapshot
from core.feed.client import ClientConfig, FeedClient
from core.feed.pipeline import FeedPipeline
from core.feed.session import FeedSpec, LoopDrainer, ThreadDrainer, open_endpoint
from core.instruments import Instrument
from core.venues import get_venue, instrument_for
from core.params import OrderParams
from core.ringbuffer import RingBuffer
from core.snapshot import Snapshot
from core.sim.market import SyntheticMarket

ESTIMATE_FIELDS = ("quantity_usd", "slippage_bps", "slippage_usd", "fees_usd", "impact_usd",
                   "net_cost_usd", "maker_fraction")
# beside the headline: how far it trusts the slippage model, the model's own mean, and what
# the visible book cannot fill (names as in the README's "Cost models" table)
MODEL_FIELDS = ("slippage_skill", "slippage_weight", "predicted_mean_usd", "predicted_mean_bps",
                "unfillable_base", "unfillable_usd", "unfillable_fraction")
# a limit order's split, in the "limit_order" object (absent for a market order)
LIMIT_FIELDS = ("limit_price", "taker_fraction", "maker_fraction", "unfilled_fraction",
                "fill_probability", "fill_horizon_s", "taker_usd", "maker_usd", "unfilled_usd")
TIMESERIES_BYTES = 64 * 1024 * 1024  # the --export time series' ring buffer: its newest rows
LABEL_COLUMNS = [DS_COL["label_bps"], DS_COL["label_time_ms"], DS_COL["label_seq"]]


@dataclass(frozen=True)
class HeadlessOptions:
    spec: FeedSpec
    params: OrderParams
    duration_s: float
    stale_after_s: float = 5.0
    export_dir: Path | None = None
    drain: str = "loop"  # "loop" or "thread"
    size_unit: str | None = None  # override the instrument's book size unit
    progress_every_s: float = 1.0


@dataclass
class HeadlessResult:
    ok: bool  # at least one valid book was processed
    result: dict[str, Any]
    error: str = ""
    export_path: Path | None = None


class _Series:
    """One row per evaluation for ``timeseries.csv`` (the window's columns, every evaluation
    rather than one per 50 ms), labels resolved as later books arrive.

    The rows live in one preallocated ring buffer of ``max_bytes`` (27 float64 columns, 216
    bytes a row: 64 MiB hold the newest 310,689 rows, five minutes at 1,000 books/s, 8.6 hours
    at OKX's 10 a second); older rows are dropped, so memory stays flat however long the run.
    """

    def __init__(self, max_bytes: int = TIMESERIES_BYTES) -> None:
        self.decisions = DecisionRows()
        self.rows = RingBuffer.within(max_bytes, len(DS_COLUMNS), mirror=False)

    def add(self, snap: Snapshot) -> None:
        self._write_labels(snap)
        row, pending = self.decisions.row(snap, time.time())
        self.rows.append(row)
        self.decisions.schedule(self.rows.total - 1, pending)
        if pending is not None and pending.due_ms <= snap.book.ts_ms:  # no delay: this very book
            self._write_labels(snap)

    def _write_labels(self, snap: Snapshot) -> None:
        for label in self.decisions.resolve(snap):
            # a row already dropped from the buffer is simply not written
            self.rows.set_value(label.row_id, LABEL_COLUMNS, (label.label_bps, label.time_ms, label.seq))

    def arrays(self, seq: int) -> dict[str, np.ndarray | list]:
        """The columns up to snapshot ``seq`` (the exported one), labels known by then."""
        return self.decisions.columns(until(self.rows.rows(), seq))


async def run_headless(opts: HeadlessOptions, progress: Callable[[str], None],
                       models_factory: Callable[[Instrument], Models] | None = None,
                       stop: asyncio.Event | None = None) -> HeadlessResult:
    """Run for ``opts.duration_s`` (or until ``stop`` is set), then stop everything and report."""
    spec = opts.spec
    instrument = instrument_for(spec.feed, spec.symbol)
    if opts.size_unit:
        instrument = instrument.with_size_unit(opts.size_unit)
    engine = Engine(instrument, spec.feed, opts.params, EngineConfig(latency_window=1 << 16),
                    models=models_factory(instrument) if models_factory else None)
    warm_up(spec.feed, models_factory)
    pipeline = FeedPipeline(engine)
    series = _Series()
    drainer = (ThreadDrainer if opts.drain == "thread" else LoopDrainer)(pipeline, opts.params, series.add)
    endpoint = open_endpoint(spec)
    progress(f"feed: {endpoint.source} ({spec.feed}) at {endpoint.url}")
    client = FeedClient(endpoint.url, drainer.push, pipeline.set_status, feed=spec.feed,
                        inst_ids=(spec.symbol,), channel=spec.channel,
                        config=ClientConfig(stale_after_s=opts.stale_after_s),
                        source=endpoint.source, synthetic=endpoint.synthetic, rest_url=endpoint.rest_url,
                        on_connect=pipeline.connection_opened,
                        on_burst=getattr(drainer, "flush", None))
    pipeline.request_resync = client.request_resync_threadsafe
    started = time.monotonic()
    try:
        drainer.start()
        client.start()
        await _report_until(started + opts.duration_s, opts.progress_every_s, started, client, drainer,
                            progress, stop or asyncio.Event())
    finally:
        await client.stop()
        drainer.stop()
        endpoint.close()
    elapsed = time.monotonic() - started
    feed = {"format": spec.feed, "url": client.url, "source": client.source or endpoint.source,
            "synthetic": client.synthetic, "embedded": endpoint.synthetic and spec.url is None,
            "state": client.state, "detail": client.detail, "counters": client.counters()}
    result = build_result(engine, drainer.last, elapsed, spec.symbol, feed, client.reconnects,
                          client.stale_events, client.resyncs)
    ok = engine.applied > 0
    out = HeadlessResult(ok, result)
    if not ok:
        why = client.detail or f"state {client.state}"
        out.error = f"no valid book arrived in {elapsed:.1f} s from {endpoint.url} ({why})"
    elif opts.export_dir is not None and drainer.last is not None:
        _export(out, drainer.last, opts.export_dir, series)
    return out


def warm_up(feed: str, models_factory: Callable[[Instrument], Models] | None = None) -> None:
    """Load the compiled kernels (the models' too) before the clock starts, so the first books
    are not timed with it; then move everything alive at start-up out of the garbage
    collector's way (``gc.freeze``), so later collections stay short (latency p99)."""
    market = SyntheticMarket(seed=1)
    engine = Engine(market.instrument, feed, models=models_factory(market.instrument) if models_factory else None)
    encoder = get_venue(feed).encoder(market)  # the venue's own texts: its decoder is what warms
    engine.ingest(encoder.snapshot_text(market.step()))
    for _ in range(3):
        engine.ingest(encoder.update_text(market.step()))
        engine.evaluate()
    gc.collect()
    gc.freeze()


async def _report_until(deadline: float, every: float, started: float, client: FeedClient,
                        drainer: LoopDrainer | ThreadDrainer, progress: Callable[[str], None],
                        stop: asyncio.Event) -> None:
    while (left := deadline - time.monotonic()) > 0 and not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), min(every, left))
        except asyncio.TimeoutError:
            pass
        progress(progress_line(time.monotonic() - started, client, drainer.last))


def progress_line(elapsed: float, client: FeedClient, snap: Snapshot | None) -> str:
    head = f"[{elapsed:6.1f}s] {client.state:<12} msgs {client.received:<7} reconnects {client.reconnects}"
    retry = client.status().retry_in()
    if retry is not None:
        head += f"  attempt {client.attempt} failed, next try in {retry:.1f} s"
    if snap is None:
        return head + (f"  ({client.detail})" if client.detail else "  (no book yet)")
    bps, _ = _slippage(snap)
    return (f"{head}  rejected {snap.counters['rejected']}  mid {snap.features.mid:.2f}"
            f"  book walk {bps:.3f} bps  latency p50 {snap.latency.p50_us:.0f} us")


def build_result(engine: Engine, snap: Snapshot | None, elapsed: float, symbol: str,
                 feed: dict[str, Any], reconnects: int = 0, stale_events: int = 0,
                 resyncs: int = 0) -> dict[str, Any]:
    """The JSON object headless prints last: counts, latency, book, estimate, feed."""
    counters = engine.counters()
    lat = engine.latency_samples()
    book: dict[str, Any] = dict.fromkeys(("best_bid", "best_ask", "bid_levels", "ask_levels"))
    if snap is not None:
        book = {"best_bid": finite_or_none(snap.book.best_bid), "best_ask": finite_or_none(snap.book.best_ask),
                "bid_levels": int(snap.book.bid_px.size), "ask_levels": int(snap.book.ask_px.size)}
    return {
        "messages": counters["received"],
        "applied": counters["applied"],
        "rejected": counters["rejected"],
        "rejected_by_reason": counters["rejected_by_reason"],
        "coalesced": counters["coalesced"],
        "evaluations": counters["evaluations"],
        "reconnects": reconnects,
        "stale_events": stale_events,
        "resyncs": resyncs,
        "latency_us": {
            "p50": finite_or_none(float(np.percentile(lat, 50))) if lat.size else None,
            "p99": finite_or_none(float(np.percentile(lat, 99))) if lat.size else None,
            "max": finite_or_none(float(lat.max())) if lat.size else None,
            "samples": int(lat.size),
        },
        "book": book,
        "estimate": estimate_fields(snap),
        "instrument": symbol,
        "instrument_inferred": engine.instrument.inferred,  # a generic spec: not in the data files
        "params": engine.params.to_dict(),
        "feed": feed,
        "duration_s": round(elapsed, 3),
    }


def estimate_fields(snap: Snapshot | None) -> dict[str, Any]:
    """The models' estimate when there is one; else quantity and slippage from the book walk.

    ``slippage_usd``/``_bps`` is the headline (the exact book walk plus the model's delay term
    times ``slippage_weight``); ``book_walk_slippage_usd``/``_bps`` is the exact walk of the
    visible book now against the reference, as the progress lines print it. NaN is null.
    """
    out: dict[str, Any] = dict.fromkeys(ESTIMATE_FIELDS + ("book_walk_slippage_usd",
                                                           "book_walk_slippage_bps") + MODEL_FIELDS)
    out["exhausted"] = None
    if snap is None:
        return out
    bps, usd = _slippage(snap)
    out["book_walk_slippage_usd"] = finite_or_none(usd)
    out["book_walk_slippage_bps"] = finite_or_none(bps)
    out["exhausted"] = snap.fill.exhausted
    est = snap.estimate
    if est is not None:
        for name in ESTIMATE_FIELDS + MODEL_FIELDS:
            out[name] = _number(getattr(est, name, None))
        out["exhausted"] = bool(est.exhausted)
        # how many labels of the order's side the skill rests on (the weight stays 0 below
        # min_skill_labels)
        quality = est.slippage_quality
        out["slippage_skill_labels"] = quality.side(est.side).window
        out["slippage_skill_min_labels"] = quality.min_skill_labels
        if est.order_type == "limit":
            out["limit_order"] = {name: _number(getattr(est, name, None)) for name in LIMIT_FIELDS}
        return out
    out["quantity_usd"] = finite_or_none(snap.fill.filled_usd)
    out["slippage_bps"] = finite_or_none(bps)
    out["slippage_usd"] = finite_or_none(usd)
    return out


def _number(value: Any) -> float | None:
    return finite_or_none(float(value)) if isinstance(value, (int, float, np.floating)) else None


def _slippage(snap: Snapshot) -> tuple[float, float]:
    f = snap.fill
    if snap.params.reference == "best":
        return f.slippage_best_bps, f.slippage_best_usd
    return f.slippage_mid_bps, f.slippage_mid_usd


def finite_or_none(x: float) -> float | None:
    """A JSON number: NaN, inf and None become null."""
    return x if x is not None and math.isfinite(x) else None


def replay_inst_id(paths: list[Path], symbol: str | None = None) -> str:
    """The instrument a replay prices: ``symbol`` if given, else the recording's first one."""
    from core.recording.recorder import read_recording

    return symbol or _recorded_inst_id(read_recording(list(paths)).header)


def replay_feed(paths: list[Path]) -> str:
    """The venue a recording was made from (its header's feed)."""
    from core.recording.recorder import read_recording

    return read_recording(list(paths)).header.feed


def _recorded_inst_id(header) -> str:
    return header.inst_ids[0] if header.inst_ids else "BTC-USDT-SWAP"


def replay_headless(paths: list[Path], params: OrderParams, symbol: str | None = None,
                    size_unit: str | None = None, export_dir: Path | None = None,
                    models_factory: Callable[[Instrument], Models] | None = None) -> HeadlessResult:
    """Evaluate a recording straight through the Engine (no socket), as fast as it decodes.

    Every frame is ingested and evaluated in recorded order, so the book sequence is exactly
    the live one; latency here is the processing time of each frame (stamped at ingest).
    """
    from core.recording.recorder import read_recording

    recording = read_recording(list(paths))
    header = recording.header
    inst_id = symbol or _recorded_inst_id(header)
    instrument = instrument_for(header.feed, inst_id)
    if size_unit:
        instrument = instrument.with_size_unit(size_unit)
    engine = Engine(instrument, header.feed, params, EngineConfig(latency_window=1 << 16),
                    models=models_factory(instrument) if models_factory else None)
    series = _Series()
    last: Snapshot | None = None
    started = time.monotonic()
    feed_info = {"state": "replay", "source": f"recording {recording.paths[0]}", "synthetic": header.synthetic}
    for frame in recording.frames():
        if engine.ingest(frame.raw, time.perf_counter_ns()):
            last = engine.evaluate(feed=feed_info) or last
            if last is not None:
                series.add(last)
    elapsed = time.monotonic() - started
    feed = {"format": header.feed, "url": header.url, "source": header.source or "recording",
            "synthetic": header.synthetic, "state": "replay",
            "replay": [str(p) for p in recording.paths], "truncated": recording.truncated,
            "bad_lines": recording.bad_lines}
    result = build_result(engine, last, elapsed, inst_id, feed)
    ok = engine.applied > 0
    out = HeadlessResult(ok, result)
    if not ok:
        out.error = f"no valid book in {recording.paths[0]} ({recording.frames_read} frames)"
    elif export_dir is not None and last is not None:
        _export(out, last, export_dir, series)
    return out


def _export(out: HeadlessResult, snap: Snapshot, root: Path, series: _Series) -> None:
    """Export the last snapshot; a failure is reported (result and exit code), not raised."""
    try:
        out.export_path = export_snapshot(snap, root, series.arrays(snap.seq))
        out.result["export"] = str(out.export_path)
    except ExportError as exc:
        out.ok = False
        out.error = f"export failed: {exc}"
        out.result["export"] = None
