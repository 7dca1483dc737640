"""The core benchmark behind ``slipscope bench``: decode -> book -> features -> cost -> models.

Every figure is measured in this process on the same machine moments apart, with the naive
baseline (``core.baseline``) run on the same messages, so the ratio stays meaningful on a
shared, noisy machine even when absolute numbers drift.
"""
from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from core.baseline import naive_pipeline
from core.engine import Engine, Models
from core.instruments import Instrument, get_instrument
from core.params import OrderParams
from core.snapshot import DEPTH_BANDS_BPS
from core.sim.market import SyntheticMarket

INST_ID = "BTC-USDT-SWAP"


@dataclass(frozen=True)
class Figures:
    p50_us: float
    p99_us: float
    max_us: float
    msgs_per_s: float
    messages: int

    def as_dict(self) -> dict:
        return {"p50_us": round(self.p50_us, 2), "p99_us": round(self.p99_us, 2),
                "max_us": round(self.max_us, 2), "msgs_per_s": round(self.msgs_per_s, 1),
                "messages": self.messages}


def measure(messages: list[bytes], handle: Callable[[bytes], object]) -> Figures:
    """Time ``handle`` per message (latency) and the whole pass (sustained rate)."""
    lat = np.empty(len(messages))
    clock = time.perf_counter_ns
    start = clock()
    for i, raw in enumerate(messages):
        t0 = clock()
        handle(raw)
        lat[i] = clock() - t0
    total_s = (clock() - start) / 1e9
    lat /= 1000.0
    return Figures(float(np.percentile(lat, 50)), float(np.percentile(lat, 99)), float(lat.max()),
                   len(messages) / total_s, len(messages))


def market_messages(n: int, seed: int) -> tuple[list[bytes], bytes, list[bytes]]:
    """n GoQuant 400-level snapshots, and an OKX snapshot followed by n deltas, of one market."""
    market = SyntheticMarket(seed=seed)
    first = market.step()
    okx_snapshot = market.okx_snapshot(first)
    goquant, deltas = [], []
    for _ in range(n):
        step = market.step()
        goquant.append(market.goquant_message(step))
        deltas.append(market.okx_update(step))
    return goquant, okx_snapshot, deltas


def engine_handler(engine: Engine) -> Callable[[bytes], object]:
    def handle(raw: bytes) -> object:
        engine.ingest(raw)
        return engine.evaluate()
    return handle


def run(n: int = 3000, n_baseline: int = 300, seed: int = 11, quantity_usd: float = 100_000.0,
        models_factory: Callable[[Instrument], Models] | None = None, compare: bool = True,
        progress: Callable[[str], None] | None = None) -> dict:
    """Run every benchmark; returns the JSON-ready result.

    ``models_factory(instrument)`` builds one independent model suite per engine, so the
    headline per-message figures (``goquant_400``, ``okx_delta``) include model evaluation
    when it is given; with ``compare`` the same messages are also measured on engines
    without models (``*_no_models``), in the same process, for the models' overhead.
    """
    say = progress or (lambda _msg: None)
    inst = get_instrument(INST_ID)
    params = OrderParams(quantity=quantity_usd, unit="usd")
    say(f"generating {n} synthetic BTC-USDT-SWAP messages (400 levels a side)...")
    goquant, okx_snapshot, deltas = market_messages(n + 200, seed)
    warm, goquant = goquant[:200], goquant[200:]
    warm_deltas, deltas = deltas[:200], deltas[200:]

    say("warming up (Numba kernels load from cache or compile)...")
    variants = [("", models_factory)] if models_factory else [("", None)]
    if models_factory and compare:
        variants.append(("_no_models", None))
    engines = {}
    for suffix, factory in variants:
        gq = Engine(inst, "goquant", params, models=factory(inst) if factory else None)
        for raw in warm:
            engine_handler(gq)(raw)
        okx = Engine(inst, "okx", params, models=factory(inst) if factory else None)
        okx.ingest(okx_snapshot)
        for raw in warm_deltas:
            engine_handler(okx)(raw)
        engines[suffix] = (gq, okx)
    curve_usd = list(np.geomspace(quantity_usd / 100, quantity_usd * 100, 96))
    for raw in warm[:20]:
        naive_pipeline(raw, inst.contract_value, quantity_usd, curve_usd, DEPTH_BANDS_BPS)

    gc.collect()
    gc.freeze()  # startup objects (Numba's, NumPy's) stay out of every later collection
    result: dict = {}
    for suffix, (gq, okx) in engines.items():
        what = "without models" if suffix else ("with models" if models_factory else "without models")
        say(f"measuring slipscope {what} on GoQuant 400-level snapshots...")
        result["goquant_400" + suffix] = measure(goquant, engine_handler(gq)).as_dict()
        say(f"measuring slipscope {what} on the OKX delta stream...")
        result["okx_delta" + suffix] = measure(deltas, engine_handler(okx)).as_dict()
        assert gq.counters()["rejected"] == 0 and okx.counters()["rejected"] == 0
    say(f"measuring the naive pure-Python baseline on {n_baseline} of the same messages...")
    base = measure(goquant[:n_baseline], lambda raw: naive_pipeline(
        raw, inst.contract_value, quantity_usd, curve_usd, DEPTH_BANDS_BPS))
    ours = result["goquant_400"]
    result.update({
        "baseline_goquant_400": base.as_dict(),
        "speedup": round(base.p50_us / ours["p50_us"], 1),
        "speedup_throughput": round(ours["msgs_per_s"] / base.msgs_per_s, 1),
        "models": models_factory is not None,
        "message_bytes": int(np.mean([len(m) for m in goquant])),
        "delta_bytes": int(np.mean([len(m) for m in deltas])),
    })
    if "goquant_400_no_models" in result:
        # the naive baseline has no models: this is the like-for-like core ratio
        result["speedup_no_models"] = round(base.p50_us / result["goquant_400_no_models"]["p50_us"], 1)
        result["models_overhead_p50_us"] = {
            key: round(result[key]["p50_us"] - result[key + "_no_models"]["p50_us"], 2)
            for key in ("goquant_400", "okx_delta")}
    result["decoders"] = venue_decoders(min(n, 2000), seed, say)
    say("measuring the split's re-pricing over three 400-level books...")
    result["split_3x400"] = split_repricing(min(n, 2000))
    return result


def split_repricing(calls: int = 2000) -> dict:
    """Re-pricing the fee-aware split over three 400-level books per update
    (``best_execution.bench_split``: the Numba core and the whole call, 1e6 and 1e8 USD)."""
    from core.compute.best_execution import bench_split

    return bench_split(calls=calls)


def venue_decoders(n: int = 2000, seed: int = 11, progress: Callable[[str], None] | None = None) -> dict:
    """Per venue of the registry: its BookFeed alone (decode + sequence rules + book update),
    per message of a seeded BTC market's delta stream after one snapshot, so the venues'
    decoders compare like for like (GoQuant's messages are whole 400-level books)."""
    from core.engine import EngineConfig
    from core.book.order_book import OrderBook
    from core.sim.market import MarketConfig
    from core.venues import get_venue, instrument_for, venue_names, venue_symbols

    say = progress or (lambda _msg: None)
    out = {}
    for name in venue_names():
        venue = get_venue(name)
        symbols = venue_symbols(venue)
        symbol = next((s for s in ("BTC-USDT-SWAP", "BTCUSDT") if s in symbols), None)
        if symbol is None:
            continue
        inst = instrument_for(venue, symbol, infer=False)
        market = SyntheticMarket(seed, MarketConfig.for_spec(inst, levels=venue.server_levels or 400), inst)
        encoder = venue.encoder(market)
        feed = venue.make_feed(inst, OrderBook(), EngineConfig())
        feed.apply(encoder.snapshot_text(market.step()))
        say(f"measuring the {name} decoder on {n} messages...")
        messages = [encoder.update_text(market.step()) for _ in range(n + 100)]
        for raw in messages[:100]:  # warm: compiled paths load
            feed.apply(raw)
        figures = measure(messages[100:], feed.apply).as_dict()
        out[name] = {**figures, "levels": market.config.levels,
                     "message_bytes": int(np.mean([len(m) for m in messages]))}
    return out


def format_table(result: dict) -> Iterable[str]:
    tag = " + models" if result.get("models") else ""
    rows = [(f"GoQuant 400-level snapshot{tag}", "goquant_400"), (f"OKX books delta{tag}", "okx_delta")]
    if "goquant_400_no_models" in result:
        rows += [("GoQuant 400-level, no models", "goquant_400_no_models"),
                 ("OKX books delta, no models", "okx_delta_no_models")]
    rows.append(("naive Python baseline (400)", "baseline_goquant_400"))
    yield f"{'per message, end to end':36} {'p50 us':>10} {'p99 us':>10} {'max us':>10} {'msgs/s':>10}"
    for label, key in rows:
        r = result[key]
        yield f"{label:36} {r['p50_us']:>10.1f} {r['p99_us']:>10.1f} {r['max_us']:>10.1f} {r['msgs_per_s']:>10.0f}"
    yield f"speed-up vs baseline (p50): {result['speedup']}x; throughput: {result['speedup_throughput']}x"
    if "speedup_no_models" in result:
        yield f"speed-up vs baseline without models (p50, like for like): {result['speedup_no_models']}x"
    if result.get("decoders"):
        yield f"{'venue decoder alone, per message':36} {'p50 us':>10} {'p99 us':>10} {'max us':>10} {'msgs/s':>10}"
        for name, r in result["decoders"].items():
            yield f"{name:36} {r['p50_us']:>10.1f} {r['p99_us']:>10.1f} {r['max_us']:>10.1f} {r['msgs_per_s']:>10.0f}"
    split = result.get("split_3x400")
    if split:
        yield f"{'split over three 400-level books':36} {'p50 us':>10} {'p99 us':>10} {'cpu p99 us':>10} {'levels':>10}"
        for usd in ("1e+06", "1e+08"):
            for label, key in (("core kernel", "core_kernel"), ("whole best_execution", "best_execution")):
                r = split.get(f"{key}_{usd}_usd")
                if r:
                    levels = split.get(f"levels_taken_{usd}_usd", "")
                    yield (f"{label + ', ' + usd + ' USD':36} {r['p50_us']:>10.1f} {r['p99_us']:>10.1f}"
                           f" {r['cpu_p99_us']:>10.1f} {levels:>10}")
    if "models_overhead_p50_us" in result:
        o = result["models_overhead_p50_us"]
        yield f"cost models add (p50): {o['goquant_400']} us per GoQuant snapshot, {o['okx_delta']} us per OKX delta"
