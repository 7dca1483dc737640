"""A seeded synthetic market that looks like OKX BTC-USDT-SWAP, for the demo, tests and bench.

Prices live on an integer tick grid and sizes on an integer lot grid, so every level has one
exact decimal string: what the GoQuant renderer sends, what the OKX renderer sends and what
its checksums are computed on. The same seed gives the same market, step for step.

Dynamics (per step of ``1/rate`` seconds of market time):
- the mid follows a random walk whose volatility switches between calm, normal and stormy
  regimes (a Markov chain), with rarer bursts of activity that move many levels at once;
- the spread is one tick most of the time and widens in storms;
- depth grows away from the touch (a power law in distance), with lognormal noise per level,
  gaps, and occasional large resting orders on round prices;
- occasional sweeps: a large market order eats several levels on one side and the mid jumps;
- each step only some levels change, which is what an OKX delta carries.

OKX sequence ids belong to steps, not to renderings: step ``k`` has ``seqId = start + k``, its
update chains from ``seqId - 1`` and a snapshot of it carries the same ``seqId``. So a server can
render a snapshot for a late subscriber at any time without disturbing the chain the other
subscribers follow, and a step whose update is not sent leaves a real gap.

Rendering is the hot path when serving 1,000 steps a second: every level's JSON fragment
(``["95000.1","12.34"]``) is cached per price tick together with the size it was rendered for,
so a step re-renders only the levels that changed and joins bytes.

Several venues at once (issue 12): markets given the same :class:`MidPath` (one per market,
built from one seed: identical steps, no sharing across threads) follow one mid path, each
off it by its own basis and a small mean-reverting noise (``VenueProfile``), so venues
stepped side by side have correlated mids; their depth profiles differ through the
profile's ``MarketConfig`` overrides.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import orjson

from core.instruments import Instrument, get_instrument
from core.venues.okx.protocol import CHECKSUM_DEPTH, book_checksum, frame_from_levels

# (volatility per sqrt(second) of log price, mean regime duration in seconds)
REGIMES = {"calm": (0.00006, 120.0), "normal": (0.00012, 90.0), "stormy": (0.00035, 30.0)}
REGIME_NEXT = {"calm": ("normal",), "normal": ("calm", "stormy"), "stormy": ("normal",)}
#: starting mid by base currency for :meth:`MarketConfig.for_instrument` (others start at 100)
START_PRICES = {"BTC": 95_000.0, "ETH": 3_500.0, "SOL": 180.0, "UNI": 10.0, "ELON": 0.0000002}
TOUCH_NOTIONAL_USD = 19_000.0  # typical size at the touch of the BTC-USDT-SWAP default
SEQ_START = 1_000
CACHE_LIMIT = 20_000  # rendered-text caches are cleared beyond this many entries (bounded RSS)


def next_regime(rng: np.random.Generator, regime: str, left_s: float, dt: float) -> tuple[str, float]:
    """One step of the regime chain: (regime, seconds left in it) after ``dt`` seconds."""
    left_s -= dt
    if left_s <= 0:
        options = REGIME_NEXT[regime]
        regime = options[int(rng.integers(len(options)))]
        left_s = rng.exponential(REGIMES[regime][1])
    return regime, left_s


class MidPath:
    """The common mid of correlated venues: log return since step 0 and regime, per step.

    Deterministic by ``seed``: every instance with the same seed and rate gives the same
    path, so each venue's market (on its own server thread) holds its own copy."""

    def __init__(self, seed: int, rate: float) -> None:
        self._rng = np.random.default_rng([seed, 0x5EED])
        self._dt = 1.0 / rate
        self._regime = "normal"
        self._left = self._rng.exponential(REGIMES["normal"][1])
        self._log: list[float] = [0.0]
        self._regimes: list[str] = [self._regime]

    def at(self, step: int) -> tuple[float, str]:
        """(log return from step 0, regime) at ``step``; generated as far as asked."""
        while len(self._log) <= step:
            self._regime, self._left = next_regime(self._rng, self._regime, self._left, self._dt)
            sigma = REGIMES[self._regime][0]
            self._log.append(self._log[-1] + sigma * math.sqrt(self._dt) * self._rng.standard_normal())
            self._regimes.append(self._regime)
        return self._log[step], self._regimes[step]


@dataclass(frozen=True)
class VenueProfile:
    """How one venue's book differs in a correlated market: its depth (``MarketConfig``
    overrides, relative to the instrument's default touch size) and its mid's offset from
    the common path (a constant basis plus AR(1) noise of ``noise_bps`` standard deviation)."""

    depth_scale: float = 1.0  # times the default touch size
    depth_exponent: float = 0.5
    fill_probability: float = 0.9
    wall_probability: float = 0.02
    basis_bps: float = 0.0
    noise_bps: float = 0.15
    noise_memory: float = 0.95  # AR(1) coefficient per step

    def config(self, inst: "Instrument", **overrides) -> "MarketConfig":
        base = MarketConfig.for_spec(inst, **overrides)
        base.base_lots = max(1.0, round(base.base_lots * self.depth_scale))
        base.depth_exponent = self.depth_exponent
        base.fill_probability = self.fill_probability
        base.wall_probability = self.wall_probability
        return base


#: depth profiles handed to correlated venues in turn ((venue, symbol) order): the reference
#: book; one deeper at the touch and flat beyond (about 1.3x the top 10 levels, 0.7x all
#: 400); one that deepens fast away from the touch (about 3.8x all 400); one thin everywhere
#: with gaps (about 0.5x)
VENUE_PROFILES = (
    VenueProfile(depth_scale=1.0, depth_exponent=0.5, basis_bps=0.0),
    VenueProfile(depth_scale=3.0, depth_exponent=0.3, fill_probability=0.95, basis_bps=0.4),
    VenueProfile(depth_scale=0.3, depth_exponent=0.8, wall_probability=0.05, basis_bps=-0.3),
    VenueProfile(depth_scale=0.5, depth_exponent=0.5, fill_probability=0.6, basis_bps=0.6),
)


@dataclass
class MarketConfig:
    inst_id: str = "BTC-USDT-SWAP"
    start_price: float = 95_000.0
    levels: int = 400
    rate: float = 10.0  # steps per second of market time
    start_ms: int = 1_764_000_000_000  # 2025-11-24T16:00:00Z
    fill_probability: float = 0.9  # chance a tick near the touch holds an order...
    fill_decay_ticks: float = 400.0  # ...thinning out with distance (never below 0.15)
    base_lots: float = 2000.0  # typical size at the touch, in lots (0.01 contract each)
    depth_exponent: float = 0.5  # size grows like distance**exponent
    wall_probability: float = 0.02  # chance a round-price level holds a large order
    sweep_per_s: float = 0.05
    burst_per_s: float = 0.1

    @classmethod
    def for_instrument(cls, inst_id: str, **overrides) -> "MarketConfig":
        """A config whose price and touch size suit ``inst_id`` (about 0.2 BTC-worth at the touch)."""
        return cls.for_spec(get_instrument(inst_id), **overrides)

    @classmethod
    def for_spec(cls, inst: Instrument, **overrides) -> "MarketConfig":
        """:meth:`for_instrument` for a spec of any venue (its ``inst_id`` is the venue's symbol)."""
        price = overrides.get("start_price", START_PRICES.get(inst.base, 100.0))
        base_per_lot = inst.lot_size * (inst.contract_value / price if inst.inverse else inst.linear_multiplier)
        touch_base = TOUCH_NOTIONAL_USD / price
        values = {"inst_id": inst.inst_id, "start_price": price,
                  "base_lots": max(1.0, round(touch_base / base_per_lot))}
        values.update(overrides)
        return cls(**values)


@dataclass
class MarketStep:
    """One step: the new full book and what changed (price tick -> lots, 0 = deleted)."""

    ts_ms: int
    seq: int  # OKX seqId of the book after this step (its update chains from seq - 1)
    bids: list[tuple[int, int]]  # (tick, lots) best first, top `levels`
    asks: list[tuple[int, int]]
    bid_changes: dict[int, int] = field(default_factory=dict)
    ask_changes: dict[int, int] = field(default_factory=dict)
    regime: str = "normal"
    event: str = ""  # "sweep-buy", "sweep-sell", "burst" or ""


class SyntheticMarket:
    """Generates :class:`MarketStep` s; render them with the ``*_message`` methods."""

    def __init__(self, seed: int = 7, config: MarketConfig | None = None,
                 instrument: Instrument | None = None, mid_path: MidPath | None = None,
                 profile: VenueProfile | None = None) -> None:
        self.config = config or MarketConfig()
        self.mid_path = mid_path  # None: the market's own random walk
        self.profile = profile or VenueProfile()
        self._noise = 0.0  # log offset from the common path beyond the basis (mid_path only)
        self.instrument = instrument or get_instrument(self.config.inst_id)
        self.rng = np.random.default_rng(seed)
        inst = self.instrument
        self._px_decimals = _decimals(inst.tick_size)
        self._sz_decimals = _decimals(inst.lot_size)
        self._px_text: dict[int, str] = {}
        self._sz_text: dict[int, str] = {}
        self._frag2: dict[int, tuple[int, bytes]] = {}  # tick -> (lots, b'["px","sz"]')
        self._frag4: dict[int, tuple[int, bytes]] = {}  # tick -> (lots, b'["px","sz","0","1"]')
        self._head = (b'","exchange":' + orjson.dumps(self.instrument.exchange)
                      + b',"symbol":' + orjson.dumps(self.instrument.inst_id) + b',"asks":')
        self.step_index = 0
        self.regime = "normal"
        self._regime_left = self.rng.exponential(REGIMES["normal"][1])
        mid_tick = round(self.config.start_price / inst.tick_size)
        self._log_mid = self._log_start = math.log(mid_tick)
        self.bid_tick = mid_tick - 1
        self.ask_tick = mid_tick
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self._refill(self.bids, self.bid_tick, -1)
        self._refill(self.asks, self.ask_tick, +1)
        self.seq = SEQ_START
        self._top_bids = dict(self.top(self.bids, -1))
        self._top_asks = dict(self.top(self.asks, +1))

    # --- dynamics --------------------------------------------------------------------
    def step(self) -> MarketStep:
        """Advance one step of market time."""
        cfg = self.config
        dt = 1.0 / cfg.rate
        self.step_index += 1
        self.seq += 1
        self._advance_regime(dt)
        event = ""
        if self.rng.random() < cfg.sweep_per_s * dt:
            event = "sweep-buy" if self.rng.random() < 0.5 else "sweep-sell"
            self._sweep(event == "sweep-buy")
        self._move_mid(dt)
        churn = 6
        if self.rng.random() < cfg.burst_per_s * dt or self.regime == "stormy":
            churn = 40
            event = event or "burst"
        self._churn(self.bids, self.bid_tick, -1, churn)
        self._churn(self.asks, self.ask_tick, +1, churn)
        self._refill(self.bids, self.bid_tick, -1)
        self._refill(self.asks, self.ask_tick, +1)
        bids, asks = self.top(self.bids, -1), self.top(self.asks, +1)
        top_b, top_a = dict(bids), dict(asks)
        # what a 400-level channel sends: changes inside the window, entries and exits
        bid_changes, ask_changes = _diff(self._top_bids, top_b), _diff(self._top_asks, top_a)
        self._top_bids, self._top_asks = top_b, top_a
        return MarketStep(
            ts_ms=cfg.start_ms + round(self.step_index * 1000 / cfg.rate), seq=self.seq, bids=bids, asks=asks,
            bid_changes=bid_changes, ask_changes=ask_changes, regime=self.regime, event=event,
        )

    def _advance_regime(self, dt: float) -> None:
        self.regime, self._regime_left = next_regime(self.rng, self.regime, self._regime_left, dt)
        if self.mid_path is not None:
            self.regime = self.mid_path.at(self.step_index)[1]

    def _move_mid(self, dt: float) -> None:
        if self.mid_path is not None:
            self._follow_path()
        else:
            sigma = REGIMES[self.regime][0]
            self._log_mid += sigma * math.sqrt(dt) * self.rng.standard_normal()
        mid_tick = math.exp(self._log_mid)
        spread = 1 if self.regime != "stormy" else int(1 + self.rng.integers(0, 4))
        bid = int(math.floor(mid_tick - spread / 2))
        self._set_touch(bid, bid + spread)

    def _follow_path(self) -> None:
        """The common path's mid, off it by this venue's basis and its own AR(1) noise."""
        p = self.profile
        a = p.noise_memory
        self._noise = a * self._noise + math.sqrt(1.0 - a * a) * p.noise_bps * 1e-4 * self.rng.standard_normal()
        self._log_mid = self._log_start + self.mid_path.at(self.step_index)[0] + p.basis_bps * 1e-4 + self._noise

    def _set_touch(self, bid_tick: int, ask_tick: int) -> None:
        """Move the touch; orders now on the wrong side were traded away."""
        self.bid_tick, self.ask_tick = bid_tick, ask_tick
        for t in [t for t in self.bids if t > bid_tick]:
            del self.bids[t]
        for t in [t for t in self.asks if t < ask_tick]:
            del self.asks[t]
        self.bids.setdefault(bid_tick, self._size(0))
        self.asks.setdefault(ask_tick, self._size(0))

    def _sweep(self, buy: bool) -> None:
        """A large market order eats 5-40 levels of one side; the mid follows."""
        depth = int(self.rng.integers(5, 41))
        if buy:
            new_ask = sorted(self.asks)[min(depth, len(self.asks) - 1)]
            self._log_mid = math.log(new_ask - 0.5)
            self._set_touch(new_ask - 1, new_ask)
        else:
            new_bid = sorted(self.bids, reverse=True)[min(depth, len(self.bids) - 1)]
            self._log_mid = math.log(new_bid + 0.5)
            self._set_touch(new_bid, new_bid + 1)

    def _churn(self, side: dict[int, int], touch: int, direction: int, count: int) -> None:
        """Resize, cancel or add ``count`` levels, mostly near the touch."""
        for _ in range(count):
            dist = int(min(self.rng.exponential(25.0), self.config.levels - 1))
            tick = touch + direction * dist
            u = self.rng.random()
            if tick in side and u < 0.25 and tick != touch:
                del side[tick]
            elif tick in side:
                side[tick] = max(1, int(side[tick] * math.exp(0.35 * self.rng.standard_normal())))
            else:
                side[tick] = self._size(dist)

    def _refill(self, side: dict[int, int], touch: int, direction: int) -> None:
        """Keep at least ``levels`` levels: add orders beyond the far end as needed."""
        cfg = self.config
        if cfg.levels <= len(side) <= cfg.levels + 50:
            return
        if len(side) > cfg.levels + 50:
            for t in sorted(side, key=lambda t: direction * t)[cfg.levels + 50:]:
                del side[t]
        far = max((direction * (t - touch) for t in side), default=0)
        dist = far
        while len(side) < cfg.levels:
            dist += 1
            p = max(0.15, cfg.fill_probability * math.exp(-dist / cfg.fill_decay_ticks))
            if self.rng.random() < p:
                side[touch + direction * dist] = self._size(dist)

    def _size(self, dist: int) -> int:
        cfg = self.config
        lots = cfg.base_lots * (1.0 + dist) ** cfg.depth_exponent * self.rng.lognormal(0.0, 0.8)
        if self.rng.random() < cfg.wall_probability:
            lots *= 25.0
        return max(1, int(lots))

    # --- views -----------------------------------------------------------------------
    def top(self, side: dict[int, int], direction: int) -> list[tuple[int, int]]:
        ticks = sorted(side, reverse=direction < 0)[: self.config.levels]
        return [(t, side[t]) for t in ticks]

    def px_text(self, tick: int) -> str:
        text = self._px_text.get(tick)
        if text is None:
            if len(self._px_text) > CACHE_LIMIT:
                self._px_text.clear()
            text = _format(tick, self._px_decimals)
            self._px_text[tick] = text
        return text

    def sz_text(self, lots: int) -> str:
        text = self._sz_text.get(lots)
        if text is None:
            if len(self._sz_text) > CACHE_LIMIT:
                self._sz_text.clear()
            text = _format(lots, self._sz_decimals)
            self._sz_text[lots] = text
        return text

    def levels_text(self, levels: list[tuple[int, int]]) -> list[list[str]]:
        return [[self.px_text(t), self.sz_text(n)] for t, n in levels]

    def levels_json(self, levels: list[tuple[int, int]], okx: bool = False) -> bytes:
        """One side as a JSON array of ``["px","sz"]`` (OKX: ``["px","sz","0","1"]``) levels."""
        cache = self._frag4 if okx else self._frag2
        if len(cache) > CACHE_LIMIT:
            cache.clear()
        tail = b'","0","1"]' if okx else b'"]'
        out: list[bytes] = []
        append = out.append
        for t, n in levels:
            hit = cache.get(t)
            if hit is None or hit[0] != n:
                hit = (n, b'["' + self.px_text(t).encode() + b'","' + self.sz_text(n).encode() + tail)
                cache[t] = hit
            append(hit[1])
        return b"[" + b",".join(out) + b"]"

    # --- renderers -------------------------------------------------------------------
    def goquant_message(self, step: MarketStep) -> bytes:
        """The GoQuant L2 format: a full snapshot with an ISO-8601 timestamp.

        Byte for byte what ``orjson.dumps`` gives for the same object, built from cached
        level fragments (about 4x faster).
        """
        return b"".join((b'{"timestamp":"', iso_ms(step.ts_ms).encode(), self._head,
                         self.levels_json(step.asks), b',"bids":', self.levels_json(step.bids), b"}"))

    def okx_snapshot(self, step: MarketStep, channel: str = "books") -> bytes:
        """The full book after ``step`` as an OKX snapshot carrying the step's seqId."""
        checksum = book_checksum(self._top_text(step.bids), self._top_text(step.asks))
        head = orjson.dumps({"channel": channel, "instId": self.instrument.inst_id})
        return b"".join((
            b'{"arg":', head, b',"action":"snapshot","data":[{"asks":', self.levels_json(step.asks, True),
            b',"bids":', self.levels_json(step.bids, True), b',"ts":"', str(step.ts_ms).encode(),
            b'","checksum":', str(checksum).encode(), b',"prevSeqId":-1,"seqId":', str(step.seq).encode(),
            b"}]}"))

    def okx_update(self, step: MarketStep, channel: str = "books") -> bytes:
        """The step's changes as one OKX update, checksummed over the new top 25."""
        bids = [[self.px_text(t), self.sz_text(n) if n else "0", "0", "1" if n else "0"]
                for t, n in sorted(step.bid_changes.items(), reverse=True)]
        asks = [[self.px_text(t), self.sz_text(n) if n else "0", "0", "1" if n else "0"]
                for t, n in sorted(step.ask_changes.items())]
        checksum = book_checksum(self._top_text(step.bids), self._top_text(step.asks))
        return frame_from_levels(channel, self.instrument.inst_id, "update", bids, asks,
                                 step.ts_ms, checksum, step.seq, step.seq - 1)

    def _top_text(self, levels: list[tuple[int, int]]) -> list[tuple[str, str]]:
        return [(self.px_text(t), self.sz_text(n)) for t, n in levels[:CHECKSUM_DEPTH]]


def _diff(before: dict[int, int], after: dict[int, int]) -> dict[int, int]:
    """Levels new or resized in ``after`` (tick -> lots), and those gone from it (tick -> 0)."""
    changes = {t: n for t, n in after.items() if before.get(t) != n}
    changes.update({t: 0 for t in before if t not in after})
    return changes


def _decimals(step: float) -> int:
    text = f"{step:.12f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def _format(units: int, decimals: int) -> str:
    """An integer count of 10**-decimals as the shortest exact decimal ("95000.1", "3", "0.5")."""
    if decimals == 0:
        return str(units)
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**decimals)
    frac_text = f"{frac:0{decimals}d}".rstrip("0")
    return f"{sign}{whole}.{frac_text}" if frac_text else f"{sign}{whole}"


def iso_ms(ts_ms: int) -> str:
    """Epoch milliseconds as ISO-8601 UTC with milliseconds and a Z."""
    secs, ms = divmod(int(ts_ms), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{ms:03d}Z"
