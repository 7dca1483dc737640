"""Maker/taker split of an order and the online logistic fill model for its resting part.

- A market order is 100% taker: no model, nothing to fit.
- A limit order at ``limit_offset_bps`` from its own-side touch (0 joins the best bid for a
  buy, positive is more passive, negative moves towards and through the opposite side) has
  a limit price on the tick grid (rounded passive). The part that crosses the book is taker,
  exactly: walk the opposite side up to the limit price. The rest rests at the limit price.
- The resting part fills within ``horizon_s`` with probability p from a logistic regression
  (online Newton updates, ``online_regression.logistic_update``) on features known when
  the order is placed:
      1, distance to the opposite touch in volatility units over the horizon
      (d / (sigma sqrt(H)), the reflection-principle scale), log(1 + distance in ticks),
      log(1 + queue ahead / own-side touch size), adverse top-10 imbalance,
      log(1 + spread in ticks), log(volatility over the horizon in bps).
  Labels come from the book itself: a probe "filled" if the opposite best price reached its
  limit price (best ask <= limit for a buy) within the horizon; otherwise not. That is the
  price trading through the order's level, a conservative fill criterion (queue position
  at the level itself is not observable from L2 data).
  Probes at a fixed ladder of offsets on both sides are recorded once per
  ``probe_interval_s`` of market time and resolved in one compiled call per book.
- Expected maker fraction = p * resting notional / order notional; the unfilled remainder
  (1 - p) is reported as such, and pays no fee.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from core.models.book_cost import next_price_beyond, queue_ahead
from core.models.bundle import BundleOwner, new_bundle
from core.models.online_regression import dot, logistic_update, sigmoid
from core.snapshot import build

FEATURES = ("intercept", "distance_sigma", "log1p_distance_ticks", "log1p_queue_ratio",
            "imbalance_adverse", "log1p_spread_ticks", "log_vol_horizon_bps")
K = len(FEATURES)
Z_CAP = 8.0

# pending probe columns
P_DUE, P_SIGN, P_LIMIT, P_PRED = range(4)
N_META = 4
# float state
F_FORGET, F_TRACE_MAX, F_LAST_PROBE = range(3)
N_FSTATE = 3
# int state
I_PENDING, I_RING_POS, I_RING_N, I_UPDATES, I_LABELS, I_DROPPED = range(6)
N_ISTATE = 6
# quality ring: brier, log loss, label, prediction
R_BRIER, R_LOGLOSS, R_Y, R_P = range(4)
N_RING = 4


@njit(nogil=True, cache=True)
def limit_price(sign, best_bid, best_ask, offset_bps, tick):
    """The order's limit price: ``offset_bps`` away from its own-side touch, on the tick
    grid, rounded to the passive side (down for a buy, up for a sell)."""
    if sign > 0:
        raw = best_bid * (1.0 - offset_bps * 1e-4)
        return math.floor(raw / tick + 1e-9) * tick
    raw = best_ask * (1.0 + offset_bps * 1e-4)
    return math.ceil(raw / tick - 1e-9) * tick


@njit(nogil=True, cache=True)
def fill_features(x, sign, limit, opp_touch, mid, tick, vol_per_s, horizon_s, queue_base,
                  touch_base, imbalance, spread):
    dist = max(sign * (opp_touch - limit), 0.0) if math.isfinite(opp_touch) else 1e6 * tick
    vol_h = max(vol_per_s * math.sqrt(horizon_s), 1e-9)
    x[0] = 1.0
    x[1] = min(dist / mid / vol_h, Z_CAP)
    x[2] = math.log1p(dist / tick)
    x[3] = math.log1p(queue_base / touch_base) if touch_base > 0.0 else 0.0
    x[4] = sign * imbalance
    x[5] = math.log1p(max(spread, 0.0) / tick)
    x[6] = math.log(vol_h * 1e4)


@njit(nogil=True, cache=True)
def order_fill_features(x, sign, limit, bid_px, bid_qty, ask_px, ask_qty, mid, tick, vol_per_s,
                        horizon_s, imbalance):
    """Features of a resting order at ``limit`` on this book (after its crossing part)."""
    if sign > 0:
        opp = next_price_beyond(ask_px, limit, 1.0)
        q = queue_ahead(bid_px, bid_qty, limit, 1.0)
        touch = bid_qty[0] if bid_qty.shape[0] else 0.0
    else:
        opp = next_price_beyond(bid_px, limit, -1.0)
        q = queue_ahead(ask_px, ask_qty, limit, -1.0)
        touch = ask_qty[0] if ask_qty.shape[0] else 0.0
    spread = ask_px[0] - bid_px[0]
    fill_features(x, sign, limit, opp, mid, tick, vol_per_s, horizon_s, q, touch, imbalance, spread)


@njit(nogil=True, cache=True)
def fill_observe(bid_px, bid_qty, ask_px, ask_qty, ts_ms, mid, vol_per_s, imbalance, add_probes, fill):
    """Resolve pending probes against this book, then (if ``add_probes``) record a new probe
    ladder. ``fill`` is the model's bundle (``FillModel.bundle``), updated in place."""
    s = fill[0]
    w, P, fs, ist, ring, sums = s.w, s.P, s.fs, s.ist, s.ring, s.sums
    pend_meta, pend_x, offsets_bps = s.pend_meta, s.pend_x, s.offsets
    tick, horizon_s = s.tick, s.horizon_s
    best_bid = bid_px[0]
    best_ask = ask_px[0]
    eps = tick * 1e-6
    w_n = ring.shape[0]
    scratch = np.empty(w.shape[0])
    keep = 0
    learnt = 0
    for j in range(ist[I_PENDING]):
        # (elements, not row views: a view per probe costs a reference-count round trip)
        sign = pend_meta[j, P_SIGN]
        limit = pend_meta[j, P_LIMIT]
        hit = (sign > 0 and best_ask <= limit + eps) or (sign < 0 and best_bid >= limit - eps)
        if not hit and ts_ms < pend_meta[j, P_DUE]:
            if keep != j:
                pend_meta[keep, :] = pend_meta[j]
                pend_x[keep, :] = pend_x[j]
            keep += 1
            continue
        y = 1.0 if hit else 0.0
        p = pend_meta[j, P_PRED]  # prediction made when the probe was placed: scored out of sample
        pos = ist[I_RING_POS]
        full = ist[I_RING_N] == w_n
        if full:
            for c in range(N_RING):
                sums[c] -= ring[pos, c]
        pc = min(max(p, 1e-9), 1.0 - 1e-9)
        ring[pos, R_BRIER] = (p - y) ** 2
        ring[pos, R_LOGLOSS] = -(y * math.log(pc) + (1.0 - y) * math.log(1.0 - pc))
        ring[pos, R_Y] = y
        ring[pos, R_P] = p
        for c in range(N_RING):
            sums[c] += ring[pos, c]
        ist[I_RING_POS] = (pos + 1) % w_n
        if not full:
            ist[I_RING_N] += 1
        if pos == w_n - 1:
            for c in range(N_RING):
                s = 0.0
                for i in range(ist[I_RING_N]):
                    s += ring[i, c]
                sums[c] = s
        logistic_update(w, P, pend_x[j], y, fs[F_FORGET], fs[F_TRACE_MAX], scratch)
        ist[I_UPDATES] += 1
        ist[I_LABELS] += 1
        learnt += 1
    ist[I_PENDING] = keep

    if add_probes:
        cap = pend_meta.shape[0]
        x = np.empty(w.shape[0])
        for side in range(2):
            sign = 1.0 if side == 0 else -1.0
            for i in range(offsets_bps.shape[0]):
                if ist[I_PENDING] >= cap:
                    ist[I_DROPPED] += 1
                    continue
                lim = limit_price(sign, best_bid, best_ask, offsets_bps[i], tick)
                order_fill_features(x, sign, lim, bid_px, bid_qty, ask_px, ask_qty, mid, tick,
                                    vol_per_s, horizon_s, imbalance)
                n = ist[I_PENDING]
                pend_meta[n, P_DUE] = ts_ms + horizon_s * 1000.0
                pend_meta[n, P_SIGN] = sign
                pend_meta[n, P_LIMIT] = lim
                pend_meta[n, P_PRED] = sigmoid(dot(w, x))
                pend_x[n, :] = x
                ist[I_PENDING] = n + 1
        fs[F_LAST_PROBE] = ts_ms
    return learnt


@njit(nogil=True, cache=True)
def fill_predict(fill, sign, limit, bid_px, bid_qty, ask_px, ask_qty, mid, vol_per_s, imbalance):
    """The model's fill probability of an order resting at ``limit`` (features into the
    bundle's scratch row ``x``)."""
    s = fill[0]
    order_fill_features(s.x, sign, limit, bid_px, bid_qty, ask_px, ask_qty, mid, s.tick, vol_per_s,
                        s.horizon_s, imbalance)
    return sigmoid(dot(s.w, s.x))


# fill_quality_row's row: window, labels, Brier, log loss, base rate, mean predicted, pending
QR_WINDOW, QR_LABELS, QR_BRIER, QR_LOGLOSS, QR_BASE_RATE, QR_MEAN_P, QR_PENDING = range(7)
N_QR = 7


@njit(nogil=True, cache=True)
def fill_quality_row(sums, ist, row):
    """The rolling scores as plain numbers (counts exact as floats), the same operations as
    dividing in Python, read back with one ``tolist()``."""
    n = ist[I_RING_N]
    inv = 1.0 / n if n else np.nan
    row[QR_WINDOW] = n
    row[QR_LABELS] = ist[I_LABELS]
    row[QR_BRIER] = sums[R_BRIER] * inv
    row[QR_LOGLOSS] = sums[R_LOGLOSS] * inv
    row[QR_BASE_RATE] = sums[R_Y] * inv
    row[QR_MEAN_P] = sums[R_P] * inv
    row[QR_PENDING] = ist[I_PENDING]


@dataclass(frozen=True, slots=True)
class FillConfig:
    horizon_s: float = 10.0  # a resting order counts as filled if it fills within this
    probe_offsets_bps: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0)
    probe_interval_s: float = 1.0  # market time between probe ladders
    forgetting: float = 0.9995  # online-Newton memory of ~2,000 labels
    trace_max: float = 1e4
    pending_cap: int = 8192
    window: int = 2000
    min_live_labels: int = 200


def fill_bundle(cfg: FillConfig) -> np.ndarray:
    """The model's whole numeric state as one bundle (``core.models.bundle``)."""
    return new_bundle([
        ("w", np.float64, (K,)), ("P", np.float64, (K, K)),  # online Newton
        ("tick", np.float64, ()), ("horizon_s", np.float64, ()),
        ("offsets", np.float64, (len(cfg.probe_offsets_bps),)),  # probe ladder, bps
        ("fs", np.float64, (N_FSTATE,)), ("ist", np.int64, (N_ISTATE,)),  # F_* and I_* state
        ("pend_meta", np.float64, (cfg.pending_cap, N_META)),  # pending probes: P_* columns
        ("pend_x", np.float64, (cfg.pending_cap, K)),  # and features when placed
        ("ring", np.float64, (cfg.window, N_RING)), ("sums", np.float64, (N_RING,)),
        ("quality_out", np.float64, (N_QR,)),  # fill_quality_row's output
        ("x", np.float64, (K,)),  # fill_predict's scratch
    ])


class FillModel(BundleOwner,
                fields="w P offsets fs ist pend_meta pend_x ring sums quality_out"):
    """The online logistic fill-probability model for one instrument (owner thread only).

    The numbers live in one bundle (:func:`fill_bundle`), handed to compiled code as one
    argument; the attributes named in ``fields`` are views of it (assigning one copies into it).
    """

    def __init__(self, tick: float, config: FillConfig | None = None, warm: dict | None = None) -> None:
        self.config = cfg = config or FillConfig()
        self._attach(fill_bundle(cfg))
        self.bundle["tick"] = tick
        self.bundle["horizon_s"] = cfg.horizon_s
        self.offsets = cfg.probe_offsets_bps
        self.fs = (cfg.forgetting, cfg.trace_max, -math.inf)
        if warm is not None:
            if tuple(warm["features"]) != FEATURES:
                raise ValueError("warm-start fill coefficients do not match this model's features")
            self.w = np.array(warm["w"], dtype=float)  # (copied into the bundle)
            self.P = np.array(warm["P"], dtype=float)
            self.ist[I_UPDATES] = int(warm.get("updates", 0))
            self.source = "warm-start"
        else:
            self.w[0], self.w[1] = 1.5, -2.5  # cold prior ~ 2 Phi(-z), the Brownian hitting probability
            self.P = np.eye(K) * 10.0
            self.source = "cold"

    def state_dict(self) -> dict:
        return {"features": list(FEATURES), "w": self.w.tolist(), "P": self.P.tolist(),
                "updates": int(self.ist[I_UPDATES])}

    def probes_due(self, ts_ms: float, vol_per_s: float) -> bool:
        """Whether the book at ``ts_ms`` gets a new probe ladder."""
        last = self.fs.item(F_LAST_PROBE)
        due = ts_ms - last >= self.config.probe_interval_s * 1000.0 or ts_ms < last  # (a replay restarted)
        return due and math.isfinite(vol_per_s)

    def probability(self, sign: float, limit: float, book, mid: float, vol_per_s: float,
                    imbalance: float) -> float:
        return float(fill_predict(self.bundle, sign, limit, book.bid_px, book.bid_qty,
                                  book.ask_px, book.ask_qty, mid, vol_per_s, imbalance))

    def quality(self) -> "FillQuality":
        fill_quality_row(self.sums, self.ist, self.quality_out)
        return self.quality_from_row()

    def quality_from_row(self) -> "FillQuality":
        """The summary from ``quality_out`` as :func:`fill_quality_row` (or a fused call) left it."""
        window, labels, brier, logloss, base_rate, mean_p, pending = self.quality_out.tolist()
        return build(FillQuality, {
            "window": int(window), "labels_total": int(labels), "brier": brier, "log_loss": logloss,
            "base_rate": base_rate, "mean_predicted": mean_p, "pending": int(pending),
            "status": "live" if labels >= self.config.min_live_labels else self.source,
        })


@dataclass(frozen=True)  # no slots: made with core.snapshot.build on the hot path
class FillQuality:
    """Prequential scores of the fill model over the last ``window`` probe labels: Brier
    score, log loss, observed fill rate and mean predicted probability (their gap is the
    calibration-in-the-large error)."""

    window: int
    labels_total: int
    brier: float
    log_loss: float
    base_rate: float
    mean_predicted: float
    pending: int
    status: str
