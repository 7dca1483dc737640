"""Online slippage model: what a market order sent now will cost once it reaches the book.

Label (exact, no model in it): an order decided at market time t with execution delay d is
filled by walking the first book whose exchange timestamp is >= t + d; its cost against the
mid *at decision time*, in bps of the order's notional, is the label. It therefore contains
the book walk at fill time and the mid's drift during the delay (implementation shortfall).

Features (side-normalised so one model serves buys and sells; "adverse" = moves against the
order), all known at decision time:
    1, exact visible-book cost now (bps), half-spread (bps), volatility over the delay
    (sigma * sqrt(d), bps), adverse top-10 imbalance, adverse microprice offset (bps),
    order size / same-side depth within 25 bps, recent realised residual (bps).
Estimators: RLS with forgetting for the mean, pinball-loss SGD for the 50/90/95% quantiles
(``online_regression``). Every book update records probes (the user's order size on both
sides, plus 1/10 and 10x of it so the size effect stays identified) and resolves those whose
delay has elapsed: one compiled call per book.

Quality is measured prequentially, in time order, per side: each probe keeps the predictions
made when it was recorded and the exact book cost then (the naive predictor), and both are
scored against its label when it resolves, before the model learns from it (rolling MAE, bias,
RMSE, pinball loss and coverage per quantile over the last ``window`` labels of the user's
size on that side).

Skill and the headline's weight (``quality_row``): skill = 1 - SSE(model) / SSE(naive) over the
side's window (squared error: the mean is what the headline reports, and the mean is the
minimiser of squared error). The headline uses the model's delay term only in proportion to
that skill: weight = clip(skill, 0, 1), and 0 until the side has ``min_skill_labels`` scored
labels or when the naive predictor made no error at all (zero delay). If the model is the
conditional mean, any weight in [0, 1] is no worse than the naive answer in expectation and
``skill`` itself is a conservative choice; a model that has not beaten "the book now" is not
used at all.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from core.models.book_cost import walk_cost_bps
from core.models.bundle import BundleOwner, new_bundle
from core.models.online_regression import dot, pinball_loss, pinball_update, rls_update, step_size
from core.snapshot import build

FEATURES = ("intercept", "book_cost_now_bps", "half_spread_bps", "vol_over_delay_bps",
            "imbalance_adverse", "microprice_adverse_bps", "size_over_depth25", "recent_residual_bps")
K = len(FEATURES)
QUANTILES = (0.5, 0.9, 0.95)
Q = len(QUANTILES)
SIZE_CAP = 20.0

# pending probe columns
M_DUE, M_SIGN, M_QTY, M_INQ, M_MID, M_NOTIONAL, M_SNOW, M_PRIMARY = range(8)
N_META = 8
# common (per book) inputs
C_HALF_SPREAD, C_VOL_DELAY, C_IMB, C_MICRO, C_DEPTH_BID, C_DEPTH_ASK, C_DELAY_MS = range(7)
N_COMMON = 7
# float state
(F_RESID_BUY, F_RESID_SELL, F_FORGET, F_TRACE_MAX, F_LR0, F_LR_MIN, F_N0, F_RESID_ALPHA,
 F_SKILL_MIN) = range(9)
N_FSTATE = 9
# int state; the scoring counters are per side (index + side, side 0 = buy, 1 = sell)
I_PENDING, I_UPDATES, I_LABELS, I_DROPPED = range(4)
I_RING_POS = 4  # + side
I_RING_N = 6  # + side
I_PRIMARY = 8  # + side: labels of the user's size scored since start
I_CUM_COV = 10  # + side * Q + quantile: covered since start
N_ISTATE = I_CUM_COV + 2 * Q
# quality ring columns (ring[side, i, column]): model |err|, err, err^2, naive |err|, naive
# err^2, pinball per quantile, covered per quantile
R_ABS, R_ERR, R_SQ, R_NAIVE_ABS, R_NAIVE_SQ, R_PIN = range(6)
R_COV = R_PIN + Q
N_RING = R_COV + Q
SIDES = ("buy", "sell")


@njit(nogil=True, cache=True)
def probe_features(px, qty, target, in_quote, mid, sign, common, resid, x):
    """Fill ``x`` for one order; returns (cost now in bps of notional, notional)."""
    notional = target if in_quote else target * mid
    s_now = walk_cost_bps(px, qty, target, in_quote, mid, sign, notional)
    depth = common[C_DEPTH_ASK] if sign > 0 else common[C_DEPTH_BID]
    size_base = notional / mid
    size_rel = min(size_base / depth, SIZE_CAP) if depth > 0.0 else SIZE_CAP
    x[0] = 1.0
    x[1] = s_now
    x[2] = common[C_HALF_SPREAD]
    x[3] = common[C_VOL_DELAY]
    x[4] = sign * common[C_IMB]
    x[5] = sign * common[C_MICRO]
    x[6] = size_rel
    x[7] = resid
    return s_now, notional


@njit(nogil=True, cache=True)
def predict_into(w, Wq, x, out):
    """out[0] <- mean, out[1:] <- quantiles, sorted so they never cross."""
    out[0] = dot(w, x)
    for r in range(Wq.shape[0]):
        out[1 + r] = dot(Wq[r], x)
    # insertion sort of the few quantiles (monotone rearrangement, Chernozhukov et al. 2010)
    for i in range(2, out.shape[0]):
        v = out[i]
        j = i - 1
        while j >= 1 and out[j] > v:
            out[j + 1] = out[j]
            j -= 1
        out[j + 1] = v


@njit(nogil=True, cache=True)
def _score(ring, sums, ist, qs, pred, y, naive, side):
    """Add one (prediction, naive prediction, label) triple to ``side``'s rolling window,
    keeping running sums. ``naive`` is the exact book cost when the order was decided."""
    w = ring.shape[1]
    r_side, s_side = ring[side], sums[side]
    pos = ist[I_RING_POS + side]
    full = ist[I_RING_N + side] == w
    if full:
        for c in range(r_side.shape[1]):
            s_side[c] -= r_side[pos, c]
    err = y - pred[0]
    naive_err = y - naive
    r_side[pos, R_ABS] = abs(err)
    r_side[pos, R_ERR] = err
    r_side[pos, R_SQ] = err * err
    r_side[pos, R_NAIVE_ABS] = abs(naive_err)
    r_side[pos, R_NAIVE_SQ] = naive_err * naive_err
    for r in range(qs.shape[0]):
        r_side[pos, R_PIN + r] = pinball_loss(qs[r], y, pred[1 + r])
        covered = 1.0 if y <= pred[1 + r] else 0.0
        r_side[pos, R_COV + r] = covered
        ist[I_CUM_COV + side * qs.shape[0] + r] += int(covered)
    for c in range(r_side.shape[1]):
        s_side[c] += r_side[pos, c]
    ist[I_RING_POS + side] = (pos + 1) % w
    if not full:
        ist[I_RING_N + side] += 1
    ist[I_PRIMARY + side] += 1
    if pos == w - 1:  # once per window, recompute the sums exactly (no drift)
        for c in range(r_side.shape[1]):
            s = 0.0
            for i in range(ist[I_RING_N + side]):
                s += r_side[i, c]
            s_side[c] = s


@njit(nogil=True, cache=True)
def slip_observe(bid_px, bid_qty, ask_px, ask_qty, ts_ms, mid, common, probe_qty, in_quote, slip):
    """Record this book's probes (``probe_qty`` may be empty; the first is the user's order,
    the one scored), then resolve every probe whose fill time has come. ``slip`` is the
    model's bundle (``SlippageModel.bundle``), updated in place.

    New probes are recorded first so that a zero delay is labelled by this very book.
    Returns the number of labels learnt from.
    """
    s = slip[0]
    w, P, Wq, qs, fs, ist = s.w, s.P, s.Wq, s.qs, s.fs, s.ist
    pend_meta, pend_x, pend_pred = s.pend_meta, s.pend_x, s.pend_pred
    cap = pend_meta.shape[0]
    x = np.empty(w.shape[0])
    pred = np.empty(1 + Wq.shape[0])
    for i in range(probe_qty.shape[0]):
        for side in range(2):
            sign = 1.0 if side == 0 else -1.0
            px = ask_px if sign > 0 else bid_px
            qty = ask_qty if sign > 0 else bid_qty
            resid = fs[F_RESID_BUY] if sign > 0 else fs[F_RESID_SELL]
            s_now, notional = probe_features(px, qty, probe_qty[i], in_quote, mid, sign, common, resid, x)
            if not math.isfinite(s_now) or ist[I_PENDING] >= cap:
                ist[I_DROPPED] += 1
                continue
            n = ist[I_PENDING]
            predict_into(w, Wq, x, pred)
            m = pend_meta[n]
            m[M_DUE] = ts_ms + common[C_DELAY_MS]
            m[M_SIGN] = sign
            m[M_QTY] = probe_qty[i]
            m[M_INQ] = 1.0 if in_quote else 0.0
            m[M_MID] = mid
            m[M_NOTIONAL] = notional
            m[M_SNOW] = s_now
            m[M_PRIMARY] = 1.0 if i == 0 else 0.0
            pend_x[n, :] = x
            pend_pred[n, :] = pred
            ist[I_PENDING] = n + 1

    scratch = np.empty(w.shape[0])
    learnt = 0
    keep = 0
    for j in range(ist[I_PENDING]):
        # (elements, not row views, until a probe resolves: a view costs a reference count)
        if pend_meta[j, M_DUE] > ts_ms:
            if keep != j:
                pend_meta[keep, :] = pend_meta[j]
                pend_x[keep, :] = pend_x[j]
                pend_pred[keep, :] = pend_pred[j]
            keep += 1
            continue
        m = pend_meta[j]
        sign = m[M_SIGN]
        px = ask_px if sign > 0 else bid_px
        qty = ask_qty if sign > 0 else bid_qty
        y = walk_cost_bps(px, qty, m[M_QTY], m[M_INQ] > 0.5, m[M_MID], sign, m[M_NOTIONAL])
        if not math.isfinite(y):
            ist[I_DROPPED] += 1
            continue
        xj = pend_x[j]
        if m[M_PRIMARY] > 0.5:  # scored before it is learnt from (prequential)
            _score(s.ring, s.sums, ist, qs, pend_pred[j], y, m[M_SNOW], 0 if sign > 0 else 1)
        rls_update(w, P, xj, y, fs[F_FORGET], fs[F_TRACE_MAX], scratch)
        pinball_update(Wq, qs, xj, y, step_size(fs[F_LR0], fs[F_LR_MIN], fs[F_N0], ist[I_UPDATES]))
        ist[I_UPDATES] += 1
        ist[I_LABELS] += 1
        a = fs[F_RESID_ALPHA]
        r = F_RESID_BUY if sign > 0 else F_RESID_SELL
        fs[r] = (1.0 - a) * fs[r] + a * (y - m[M_SNOW])
        learnt += 1
    ist[I_PENDING] = keep
    return learnt


@njit(nogil=True, cache=True)
def slip_predict(px, qty, target, in_quote, mid, sign, common, slip, x, out):
    """out <- [cost now, mean, q...] in bps of notional for one order, from the model's bundle
    ``slip`` (its recent residual on the order's side); returns the notional."""
    s = slip[0]
    resid = s.fs[F_RESID_BUY] if sign > 0 else s.fs[F_RESID_SELL]
    s_now, notional = probe_features(px, qty, target, in_quote, mid, sign, common, resid, x)
    predict_into(s.w, s.Wq, x, out[1:])
    out[0] = s_now
    return notional


# quality_row's row: labels learnt, pending, dropped, then one block per side (QS_* offsets
# from QR_SIDE + side * N_QS)
QR_LABELS, QR_PENDING, QR_DROPPED = range(3)
QR_SIDE = 3
(QS_WINDOW, QS_SCORED, QS_MAE, QS_BIAS, QS_RMSE, QS_NAIVE_MAE, QS_NAIVE_RMSE, QS_SKILL,
 QS_WEIGHT) = range(9)
QS_PIN = 9
QS_COV = QS_PIN + Q
QS_COV_TOTAL = QS_COV + Q
N_QS = QS_COV_TOTAL + Q
N_QR = QR_SIDE + 2 * N_QS


@njit(nogil=True, cache=True)
def skill_weight(sse_model, sse_naive, n, min_labels):
    """(skill, weight): skill = 1 - sse_model / sse_naive (NaN when the naive predictor made
    no error); weight = clip(skill, 0, 1), 0 below ``min_labels`` labels or without a skill."""
    skill = 1.0 - sse_model / sse_naive if sse_naive > 0.0 else np.nan
    if n < min_labels or not math.isfinite(skill):
        return skill, 0.0
    return skill, min(max(skill, 0.0), 1.0)


@njit(nogil=True, cache=True)
def quality_row(sums, ist, fs, row):
    """Each side's rolling scores as plain numbers (counts exact as floats), the same
    operations as dividing in Python: one row read back with ``tolist()`` instead of dozens
    of reads per learning step."""
    row[QR_LABELS] = ist[I_LABELS]
    row[QR_PENDING] = ist[I_PENDING]
    row[QR_DROPPED] = ist[I_DROPPED]
    for side in range(2):
        b = QR_SIDE + side * N_QS
        s = sums[side]
        ns = ist[I_RING_N + side]
        ts = ist[I_PRIMARY + side]
        inv_s = 1.0 / ns if ns else np.nan
        inv_ts = 1.0 / ts if ts else np.nan
        row[b + QS_WINDOW] = ns
        row[b + QS_SCORED] = ts
        row[b + QS_MAE] = s[R_ABS] * inv_s
        row[b + QS_BIAS] = s[R_ERR] * inv_s
        row[b + QS_RMSE] = math.sqrt(max(s[R_SQ], 0.0) * inv_s)
        row[b + QS_NAIVE_MAE] = s[R_NAIVE_ABS] * inv_s
        row[b + QS_NAIVE_RMSE] = math.sqrt(max(s[R_NAIVE_SQ], 0.0) * inv_s)
        skill, weight = skill_weight(s[R_SQ], s[R_NAIVE_SQ], ns, fs[F_SKILL_MIN])
        row[b + QS_SKILL] = skill
        row[b + QS_WEIGHT] = weight
        for r in range(Q):
            row[b + QS_PIN + r] = s[R_PIN + r] * inv_s
            row[b + QS_COV + r] = s[R_COV + r] * inv_s
            row[b + QS_COV_TOTAL + r] = ist[I_CUM_COV + side * Q + r] * inv_ts


@dataclass(frozen=True, slots=True)
class SlippageConfig:
    forgetting: float = 0.999  # RLS memory of ~1/(1 - forgetting) labels
    trace_max: float = 1e4  # wind-up guard on the RLS covariance
    lr0: float = 0.05  # pinball SGD step (features are O(1) bps)
    lr_min: float = 0.01
    n0: float = 2000.0
    resid_alpha: float = 0.05  # EWMA weight of the recent-residual feature
    probe_multiples: tuple[float, ...] = (1.0, 0.1, 10.0)  # first = the user's order (scored)
    probe_interval_ms: float = 100.0  # market time between probe sets (bounds the work on fast feeds)
    pending_cap: int = 8192
    window: int = 500  # rolling quality window per side (labels of the user's size)
    min_live_labels: int = 100  # below this the quality panel says "warm-start"
    min_skill_labels: int = 100  # per side: below this the headline ignores the model (weight 0)


def slippage_bundle(cfg: "SlippageConfig") -> np.ndarray:
    """The model's whole numeric state as one bundle (``core.models.bundle``)."""
    return new_bundle([
        ("w", np.float64, (K,)), ("P", np.float64, (K, K)),  # RLS mean
        ("Wq", np.float64, (Q, K)), ("qs", np.float64, (Q,)),  # pinball quantiles
        ("fs", np.float64, (N_FSTATE,)), ("ist", np.int64, (N_ISTATE,)),  # F_* and I_* state
        ("pend_meta", np.float64, (cfg.pending_cap, N_META)),  # pending probes: M_* columns,
        ("pend_x", np.float64, (cfg.pending_cap, K)),  # features and predictions when recorded
        ("pend_pred", np.float64, (cfg.pending_cap, 1 + Q)),
        ("ring", np.float64, (2, cfg.window, N_RING)), ("sums", np.float64, (2, N_RING)),  # per side
        ("quality_out", np.float64, (N_QR,)),  # quality_row's output
    ])


class SlippageModel(BundleOwner,
                    fields="w P Wq qs fs ist pend_meta pend_x pend_pred ring sums quality_out"):
    """State of the online slippage regressors for one instrument (owner thread only).

    The numbers live in one bundle (:func:`slippage_bundle`), handed to compiled code as one
    argument; the attributes named in ``fields`` are views of it (assigning one copies into it).
    """

    def __init__(self, config: SlippageConfig | None = None, warm: dict | None = None) -> None:
        self.config = cfg = config or SlippageConfig()
        self._attach(slippage_bundle(cfg))
        self.qs = QUANTILES
        self.fs[[F_FORGET, F_TRACE_MAX, F_LR0, F_LR_MIN, F_N0, F_RESID_ALPHA, F_SKILL_MIN]] = (
            cfg.forgetting, cfg.trace_max, cfg.lr0, cfg.lr_min, cfg.n0, cfg.resid_alpha,
            cfg.min_skill_labels)
        self.multiples = np.array(cfg.probe_multiples)
        self._no_probes = np.empty(0)
        self._probe_quantity, self._probes = math.nan, self._no_probes
        self._last_probe_ms = -math.inf
        self.load(warm)

    def load(self, warm: dict | None) -> None:
        """Start from shipped coefficients (or a cold, uninformative start)."""
        if warm is not None:
            if tuple(warm["features"]) != FEATURES or tuple(warm["quantiles"]) != QUANTILES:
                raise ValueError("warm-start slippage coefficients do not match this model's features")
            self.w = np.array(warm["w"], dtype=float)  # (copied into the bundle)
            self.P = np.array(warm["P"], dtype=float)
            self.Wq = np.array(warm["Wq"], dtype=float)
            self.ist[I_UPDATES] = int(warm.get("updates", 0))
            self.source = "warm-start"
        else:
            self.w = 0.0
            self.w[1] = 1.0  # cold prior: the visible book now is the best guess
            self.P = np.eye(K) * 10.0
            self.Wq = 0.0
            self.Wq[:, 1] = 1.0
            self.source = "cold"
        self.warm_updates = int(self.ist[I_UPDATES])

    def state_dict(self) -> dict:
        return {"features": list(FEATURES), "quantiles": list(QUANTILES), "w": self.w.tolist(),
                "P": self.P.tolist(), "Wq": self.Wq.tolist(), "updates": int(self.ist[I_UPDATES])}

    def due_probes(self, ts_ms: float, quantity: float) -> np.ndarray:
        """The probe sizes to record on the book at ``ts_ms``, counted as recorded (empty
        between probe sets)."""
        if ts_ms - self._last_probe_ms >= self.config.probe_interval_ms or ts_ms < self._last_probe_ms:
            if quantity != self._probe_quantity:  # the sizes depend on the order size only
                self._probe_quantity, self._probes = quantity, quantity * self.multiples
            self._last_probe_ms = ts_ms
            return self._probes
        return self._no_probes

    @property
    def live_labels(self) -> int:
        return int(self.ist[I_LABELS])

    def quality(self) -> "SlippageQuality":
        """Summary of the rolling scores (plain floats; built once per learning step)."""
        quality_row(self.sums, self.ist, self.fs, self.quality_out)
        return self.quality_from_row()

    def quality_from_row(self) -> "SlippageQuality":
        """The summary from ``quality_out`` as :func:`quality_row` (or a fused call) left it."""
        r = self.quality_out.tolist()
        buy = _side_quality("buy", r[QR_SIDE:QR_SIDE + N_QS])
        sell = _side_quality("sell", r[QR_SIDE + N_QS:])
        return build(SlippageQuality, {
            "labels_total": int(r[QR_LABELS]), "pending": int(r[QR_PENDING]),
            "dropped": int(r[QR_DROPPED]),
            "status": ("live" if buy.scored_total + sell.scored_total >= self.config.min_live_labels
                       else self.source),
            "buy": buy, "sell": sell, "min_skill_labels": self.config.min_skill_labels,
            "quantiles": QUANTILES,
        })


def _side_quality(side: str, r: list[float]) -> "SideQuality":
    """One side's block of ``quality_row`` (QS_* order) as a :class:`SideQuality`."""
    window, scored, mae, bias, rmse, naive_mae, naive_rmse, skill, weight, *rest = r
    return build(SideQuality, {
        "side": side, "window": int(window), "scored_total": int(scored), "mae_bps": mae,
        "bias_bps": bias, "rmse_bps": rmse, "naive_mae_bps": naive_mae,
        "naive_rmse_bps": naive_rmse, "skill": skill, "weight": weight,
        "pinball_bps": tuple(rest[:Q]), "coverage": tuple(rest[Q:2 * Q]),
        "coverage_total": tuple(rest[2 * Q:]),
    })


@dataclass(frozen=True)  # no slots: made with core.snapshot.build on the hot path
class SideQuality:
    """One side's prequential scores over its last ``window`` labels of the user's size.

    ``mae_bps``/``bias_bps``/``rmse_bps``: the model's mean prediction; ``naive_*``: the naive
    predictor (the exact book cost when the order was decided, same side and size) on the same
    labels. ``skill`` = 1 - SSE(model) / SSE(naive) (NaN while the naive one is exact);
    ``weight``: the share of the model's delay term the headline slippage uses now
    (clip(skill, 0, 1), 0 below ``min_skill_labels``). Coverage: share of labels at or
    below each predicted quantile, in the window and since start.
    """

    side: str
    window: int
    scored_total: int
    mae_bps: float
    bias_bps: float
    rmse_bps: float
    naive_mae_bps: float
    naive_rmse_bps: float
    skill: float
    weight: float
    pinball_bps: tuple[float, ...]
    coverage: tuple[float, ...]
    coverage_total: tuple[float, ...]


@dataclass(frozen=True)  # no slots: made with core.snapshot.build on the hot path
class SlippageQuality:
    """How good the slippage model has been lately, scored in time order (prequential), per side.

    ``buy`` and ``sell`` (:class:`SideQuality`) hold each side's scores over its last ``window``
    labels of the user's order size, the naive predictor's on the same labels, the skill and
    the weight in force. ``status``: "warm-start" (shipped coefficients, fewer than
    ``min_live_labels`` scored labels), "cold" or "live". The pooled properties (``mae_bps``,
    ``coverage``...) weigh both sides by their label counts, for summaries that want one figure.
    """

    labels_total: int
    pending: int
    dropped: int
    status: str
    buy: SideQuality
    sell: SideQuality
    min_skill_labels: int = 100
    quantiles: tuple[float, ...] = QUANTILES

    def side(self, side: str) -> SideQuality:
        """The scores of ``side`` ("buy" or "sell")."""
        return self.buy if side == "buy" else self.sell

    @property
    def window(self) -> int:
        return self.buy.window + self.sell.window

    @property
    def scored_total(self) -> int:
        return self.buy.scored_total + self.sell.scored_total

    @property
    def mae_bps(self) -> float:
        return _pooled(self.buy.window, self.buy.mae_bps, self.sell.window, self.sell.mae_bps)

    @property
    def bias_bps(self) -> float:
        return _pooled(self.buy.window, self.buy.bias_bps, self.sell.window, self.sell.bias_bps)

    @property
    def pinball_bps(self) -> tuple[float, ...]:
        b, s = self.buy, self.sell
        return tuple(_pooled(b.window, x, s.window, y) for x, y in zip(b.pinball_bps, s.pinball_bps))

    @property
    def coverage(self) -> tuple[float, ...]:
        b, s = self.buy, self.sell
        return tuple(_pooled(b.window, x, s.window, y) for x, y in zip(b.coverage, s.coverage))

    @property
    def coverage_total(self) -> tuple[float, ...]:
        b, s = self.buy, self.sell
        return tuple(_pooled(b.scored_total, x, s.scored_total, y)
                     for x, y in zip(b.coverage_total, s.coverage_total))


def _pooled(n1: int, x1: float, n2: int, x2: float) -> float:
    """The mean over both sides' labels from each side's mean and count (NaN without labels)."""
    n = n1 + n2
    if not n:
        return math.nan
    return ((x1 * n1 if n1 else 0.0) + (x2 * n2 if n2 else 0.0)) / n
