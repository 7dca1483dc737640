"""GBM books with a known volatility, as real GoQuant frames and as recordings (volatility tests).

The mid follows exp(sigma W_t) on a 0.1 tick grid (rounding adds a variance 1e4 times smaller
than a 100 ms return's); each book is a small two-sided GoQuant snapshot around it, timed by
its ISO-8601 ``timestamp`` exactly as the synthetic server renders one.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import orjson

from core.recording.recorder import Recorder, RecordingHeader
from core.sim.market import iso_ms

SYMBOL = "BTC-USDT-SWAP"
START_MS = 1_764_000_000_000
TICK = 0.1


def gbm_times(seed: int, seconds: float, spacing: str, mean_dt: float = 0.1) -> np.ndarray:
    """Book times in seconds from 0: ``regular`` every ``mean_dt``, or ``irregular`` (exponential
    gaps with that mean, on the feed's 1 ms clock)."""
    n = int(seconds / mean_dt) + 1
    if spacing == "regular":
        return np.arange(n) * mean_dt
    rng = np.random.default_rng(seed + 10_000)
    gaps = np.maximum(np.round(rng.exponential(mean_dt, 2 * n), 3), 0.001)
    t = np.concatenate(([0.0], np.cumsum(gaps)))
    return t[t <= seconds]


def gbm_mids(seed: int, t: np.ndarray, sigma_per_s: float, start: float = 95_000.0) -> np.ndarray:
    """Mids on the tick grid (bid + half a tick) of a driftless GBM sampled at ``t``."""
    rng = np.random.default_rng(seed)
    dw = rng.standard_normal(t.size - 1) * np.sqrt(np.diff(t))
    log_m = np.concatenate(([0.0], np.cumsum(sigma_per_s * dw)))
    bid = np.floor(start * np.exp(log_m) / TICK) * TICK
    return bid + TICK / 2


def goquant_frame(t_s: float, mid: float, levels: int = 5, symbol: str = SYMBOL) -> bytes:
    """A two-sided GoQuant snapshot with the touch half a tick either side of ``mid``."""
    bid0 = round((mid - TICK / 2) / TICK)
    bids = [[f"{(bid0 - i) * TICK:.1f}", f"{10 + i}"] for i in range(levels)]
    asks = [[f"{(bid0 + 1 + i) * TICK:.1f}", f"{10 + i}"] for i in range(levels)]
    return orjson.dumps({"timestamp": iso_ms(START_MS + int(round(t_s * 1000))), "exchange": "OKX",
                         "symbol": symbol, "asks": asks, "bids": bids})


def realised_vol(t: np.ndarray, mid: np.ndarray) -> float:
    """sqrt(sum r^2 / elapsed): the volatility per sqrt(second) of exactly these mids."""
    r = np.diff(np.log(mid))
    return math.sqrt(float(np.sum(r * r)) / float(t[-1] - t[0]))


def write_gbm_recording(path: Path, t: np.ndarray, mid: np.ndarray, plain: bool = False,
                        symbol: str = SYMBOL) -> Path:
    """A slipscope recording of these books (gzip by default, plain JSON lines if ``plain``)."""
    header = RecordingHeader(feed="goquant", inst_ids=(symbol,), source="GBM test recording",
                             synthetic=True, started_ns=START_MS * 1_000_000)
    frames = [(goquant_frame(ti, mi, symbol=symbol).decode(), START_MS * 1_000_000 + int(ti * 1e9))
              for ti, mi in zip(t, mid)]
    if plain:
        lines = [header.to_json()] + [orjson.dumps({"t": ns, "m": raw}) for raw, ns in frames]
        path.write_bytes(b"\n".join(lines) + b"\n")
        return path
    with Recorder(path, header) as rec:
        for raw, ns in frames:
            rec.write(raw, ns)  # (receive stamps do not matter here: books carry their own time)
    return path
