"""The right panel: every number about the chosen order, with its unit, in aligned columns.

Values are right-aligned in a fixed-width font, one unit per column, and refreshed at a
readable rate by the window (a few times a second, or at once after an input changed). Labels
are only re-set when their text changed. Missing model outputs say "model pending".
"""
from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QFrame, QGridLayout, QGroupBox, QLabel, QScrollArea, QVBoxLayout, QWidget,
)

from core.feed.pipeline import retry_note
from core.snapshot import Snapshot
from widgets import theme
from widgets.estimate_view import Summary
from widgets.format import DASH, bps, micros, num, pct, price, qty, rate, usd

PENDING = "model pending"
VALUE_TEMPLATES = ("9,999,999.99", "-99.99 bps")  # the widest usual value of each column


class _Table:
    """A grid of rows: name | value | value2 | unit, values right-aligned, monospace."""

    def __init__(self, box: QGroupBox) -> None:
        self.grid = QGridLayout(box)
        self.grid.setContentsMargins(8, 14, 8, 6)
        self.grid.setHorizontalSpacing(8)
        self.grid.setVerticalSpacing(3)
        self.grid.setColumnStretch(0, 1)
        self.rows: dict[str, list[QLabel]] = {}
        self.font = theme.mono_font()

    def row(self, key: str, name: str, cols: int = 2, tooltip: str = "") -> list[QLabel]:
        """A named row of ``cols`` value cells; each cell's accessible name is the row's
        visible label ("Notional", "Net cost"), its description the label's tooltip."""
        r = self.grid.rowCount()
        label = QLabel(name)
        label.setObjectName("name")
        label.setWordWrap(True)  # a long name wraps in a narrow panel; a number never does
        if tooltip:
            label.setToolTip(tooltip)
        self.grid.addWidget(label, r, 0)
        cells = []
        for c in range(cols):
            cell = QLabel(DASH)
            cell.setObjectName("value")
            cell.setFont(self.font)
            cell.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            cell.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            if cols == 2:
                # room for usual values from the start: the columns do not jump as they change
                cell.setMinimumWidth(QFontMetrics(self.font).horizontalAdvance(VALUE_TEMPLATES[c]))
            # a single value spans both value columns, so a long one does not widen a column
            self.grid.addWidget(cell, r, 1 + c, 1, 2 if cols == 1 else 1)
            cells.append(cell)
        self.rows[key] = cells
        _name(label, cells, name)
        return cells

    def dynamic(self, key: str, count: int) -> list[list[QLabel]]:
        """``count`` hidden rows (name | usd | bps) filled by :meth:`fill_dynamic`."""
        rows = []
        for i in range(count):
            cells = self.row(f"{key}{i}", "")
            name = self.grid.itemAtPosition(self.grid.rowCount() - 1, 0).widget()
            name.setObjectName("item")
            name.setWordWrap(True)
            rows.append([name] + cells)
            for w in rows[-1]:
                w.hide()
        self.rows[key] = [c for r in rows for c in r]
        self._dynamic = getattr(self, "_dynamic", {})
        self._dynamic[key] = rows
        return rows

    def fill_dynamic(self, key: str, items: list[tuple[str, str, str]]) -> None:
        """Show the first ``len(items)`` rows with (name, usd, bps); the value cells take the
        row's name as their accessible name, as fixed rows do."""
        for i, row in enumerate(self._dynamic[key]):
            visible = i < len(items)
            for w, text in zip(row, items[i] if visible else ("", "", "")):
                _set(w, text)
                w.setVisible(visible)
            if row[1].accessibleName() != row[0].text():
                _name(row[0], row[1:], row[0].text())

    def wide(self, key: str, name: str = "") -> QLabel:
        """A full-width note row (banners, per-reason counters) with no name column: ``name``
        (else the key, as words) is its accessible name: what it is, while its text says what
        it holds."""
        r = self.grid.rowCount()
        cell = QLabel("")
        cell.setObjectName("note")
        cell.setWordWrap(True)
        cell.setAccessibleName(name or key.replace("_", " ").capitalize())
        self.grid.addWidget(cell, r, 0, 1, 3)
        self.rows[key] = [cell]
        return cell


def _name(label: QLabel, cells: list[QLabel], name: str) -> None:
    """Give every value cell of a row the row's visible label as its accessible name."""
    for cell in cells:
        cell.setAccessibleName(name)
        cell.setAccessibleDescription(label.toolTip())


def _set(label: QLabel, text: str, role: str | None = None) -> None:
    if label.text() != text:
        label.setText(text)
    if role is not None and label.property("role") != role:
        label.setProperty("role", role)
        label.style().unpolish(label)
        label.style().polish(label)


class OutputsPanel(QScrollArea):
    """Cost outputs, latency, feed counters and model quality for the newest snapshot."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("outputs")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        body.setObjectName("outputs_body")
        lay = QVBoxLayout(body)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(8)
        self.setWidget(body)
        self.tables: dict[str, _Table] = {}

        def group(title: str) -> _Table:
            box = QGroupBox(title)
            lay.addWidget(box)
            t = _Table(box)
            self.tables[title] = t
            return t

        t = group("Order")
        self.banner = t.wide("banner", "Order banner")
        self.banner.setObjectName("banner")
        self.banner.hide()
        t.row("notional", "Notional", tooltip="Quote notional filled on the visible book "
                                              "(USDT and USDC are counted as USD)")
        t.row("size", "Size")
        t.row("avg_px", "Avg / worst price")
        t.row("levels", "Levels walked")
        t.row("unfillable", "Unfillable (not charged)",
              tooltip="The part of a market order the visible book cannot fill: reported in base "
                      "units and USD (at the last visible price), not priced and not charged a fee")

        t = group("Slippage (USD · bps)")
        self.slip_group = t
        t.row("book_slip", "Book walk now (exact)",
              tooltip="Walking the visible book now, against the chosen reference price")
        t.row("model_slip", "Model mean, after delay",
              tooltip="Online regression: expected cost once filled after the execution delay. "
                      "The headline slippage uses its delay term only by the model's weight "
                      "(Model quality: skill vs the book now)")
        t.row("quantiles", "Model q50 / q90 / q95", cols=1,
              tooltip="Online quantile regression: the cost stays below each with that probability")

        t = group("Net cost (USD · bps of notional)")
        t.row("slippage", "Slippage")
        t.row("impact", "Market impact", tooltip="Permanent impact (Almgren-Chriss gamma), carved out "
                                                 "of the book walk, not added on top")
        t.row("fees", "Fees")
        t.row("net", "Net cost")
        self.net_table = t
        t.dynamic("decomposition", 8)
        t.row("rates", "Fee rate taker / maker", cols=1)
        t.row("maker", "Maker / taker")
        t.row("limit", "Limit price / fill prob.",
              tooltip="Fill probability of the resting part within the fill horizon (logistic "
                      "fill model); — when nothing rests: the order crosses in full and fills at once")
        t.row("limit_taker", "Crossing part (taker)",
              tooltip="Share and notional of the order that crosses the opposite side up to the "
                      "limit price: it fills at once and pays the taker fee")
        t.row("limit_maker", "Expected maker part",
              tooltip="Resting part x its fill probability: expected to fill passively within the "
                      "fill horizon; pays the maker fee")
        t.row("limit_unfilled", "Expected unfilled part",
              tooltip="Resting part expected to be still resting at the end of the fill horizon: "
                      "not filled, no fee")
        self.limit_note = t.wide("limit_note")
        self.limit_note.setObjectName("limit_note")

        t = group("Latency")
        t.row("lat_est", "Receive → estimate", tooltip="p50 / p99 over the recent window (worker thread)")
        t.row("lat_frame", "Receive → frame", tooltip="p50 / p99: message receipt to the frame painted")
        t.row("paint", "Frames / paint")

        t = group("Feed")
        self.feed_state = t.wide("state", "Feed state")
        self.feed_state.setObjectName("feed_state")
        t.row("rate", "Messages")
        t.row("counts", "Received / applied")
        t.row("rejected", "Rejected / coalesced")
        t.row("sync", "Reconnects / resyncs")
        self.reasons = t.wide("reasons", "Rejected by reason")

        t = group("Model quality")
        t.row("status", "Slippage model", cols=1,
              tooltip="Status and the labels scored in the window: buy / sell")
        t.row("skill", "Skill vs book now (buy / sell)",
              tooltip="1 − squared error of the model's mean ÷ squared error of the exact book "
                      "cost at decision time (the naive answer), on the same realised labels, "
                      "scored in time order before the model learns from them, per side. "
                      "Above 0: the model beat the book now")
        t.row("weight", "Weight in headline (buy / sell)",
              tooltip="Share of the model's execution-delay term in the headline slippage: "
                      "clip(skill, 0, 1), and 0 until the side has enough labels. "
                      "0 = the headline is the exact book walk now")
        t.row("mae", "MAE model | book now (buy / sell)",
              tooltip="Mean absolute error in bps of notional over each side's window: the "
                      "model's mean | the exact book cost at decision time")
        t.row("cov_buy", "Coverage buy q50/q90/q95", cols=1,
              tooltip="Buys: share of realised costs at or below each predicted quantile "
                      "(targets 50/90/95 %)")
        t.row("cov_sell", "Coverage sell q50/q90/q95", cols=1,
              tooltip="Sells: share of realised costs at or below each predicted quantile "
                      "(targets 50/90/95 %)")
        t.row("pinball", "Pinball q50/q90/q95 (both sides)", cols=1)
        t.row("fill_q", "Fill model Brier / rate", cols=1)
        self.model_params = t.wide("model_params", "Model parameters")
        lay.addStretch(1)
        self.updates = 0
        self._min_w = self.minimum_width()

    def minimum_width(self) -> int:
        """The narrowest this panel may be with no value cut: its body's minimum and the
        vertical scroll bar (the panel scrolls vertically, never horizontally)."""
        return self.widget().minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width() + 2

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        return QSize(self._min_w, super().minimumSizeHint().height())

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 (Qt name)
        """A value wider than its column (a huge order) widens the panel instead of being cut:
        the splitter re-reads :meth:`minimumSizeHint` when the body's layout asks for room."""
        if obj is self.widget() and ev.type() == QEvent.Type.LayoutRequest:
            w = self.minimum_width()
            if w != self._min_w:
                self._min_w = w
                self.updateGeometry()
        return super().eventFilter(obj, ev)

    def cells(self, key: str) -> list[QLabel]:
        for t in self.tables.values():
            if key in t.rows:
                return t.rows[key]
        raise KeyError(key)

    def _row_widgets(self, key: str) -> list[QLabel]:
        """The name label and the value cells of one row."""
        cells = self.cells(key)
        grid = next(t.grid for t in self.tables.values() if key in t.rows)
        row = grid.getItemPosition(grid.indexOf(cells[0]))[0]
        return [grid.itemAtPosition(row, 0).widget(), *cells]

    def decomposition_text(self) -> str:
        cells = self.cells("decomposition")
        return "\n".join(" ".join(c.text() for c in cells[i:i + 3]) for i in range(0, len(cells), 3)
                         if cells[i].isVisibleTo(self))

    def text(self, key: str) -> str:
        """All the text of one row (tests and readouts)."""
        return " ".join(c.text() for c in self.cells(key))

    # --- updates -----------------------------------------------------------------------
    def show_snapshot(self, snap: Snapshot, s: Summary) -> None:
        self.updates += 1
        inst, fill, p = snap.instrument, snap.fill, snap.params
        tick = inst.tick_size
        c = self.cells
        exhausted = fill.exhausted and p.order_type == "market"
        if fill.exhausted:
            unit = "USD" if fill.unit == "usd" else inst.base
            text = (f"Book exhausted: the visible book fills only {qty(fill.filled_base, inst.base)} "
                    f"({usd(fill.filled_usd, 0)} USD); {qty(fill.unfilled, unit)} unfilled")
            if s.unfillable_fraction is not None:
                text += (f" ({pct(s.unfillable_fraction)} of the order), reported, not charged: "
                         f"fees are on the filled part only")
            _set(self.banner, text, "error")
            self.banner.show()
        else:
            self.banner.hide()
        for cell in self._row_widgets("unfillable"):
            cell.setVisible(exhausted)
        if exhausted:
            _set(c("unfillable")[0], qty(s.unfillable_base, inst.base), "error")
            _set(c("unfillable")[1], qty(s.unfillable_usd, "USD"), "error")
        _set(c("notional")[0], usd(fill.filled_usd))
        _set(c("notional")[1], "USD")
        _set(c("size")[0], qty(fill.filled_base))
        _set(c("size")[1], inst.base)
        _set(c("avg_px")[0], price(fill.avg_px, tick))
        _set(c("avg_px")[1], price(fill.worst_px, tick))
        _set(c("levels")[0], num(fill.levels, 0))
        _set(c("levels")[1], "levels")

        _pair(c("book_slip"), s.book_slippage_usd, s.book_slippage_bps)
        if s.model_slippage_bps is None:
            _pending(c("model_slip"))
        else:
            _pair(c("model_slip"), s.model_slippage_usd, s.model_slippage_bps)
        if s.quantiles:
            _set(c("quantiles")[0], " / ".join(bps(b) for _q, b, _u in s.quantiles) + " bps", "")
        else:
            _pending(c("quantiles"))
        for key, u, b in (("slippage", s.slippage_usd, s.slippage_bps), ("impact", s.impact_usd, s.impact_bps),
                          ("fees", s.fees_usd, s.fees_bps), ("net", s.net_cost_usd, s.net_cost_bps)):
            if not s.has_model:
                _pending(c(key))
            else:
                _pair(c(key), u, b)
        self.net_table.fill_dynamic("decomposition", [
            (f"· {n}", usd(u), f"{bps(b, 3)} bps") for n, u, b in s.decomposition])
        if s.taker_rate_bps is None:
            _pending(c("rates"))
        else:
            _set(c("rates")[0], f"{bps(s.taker_rate_bps)} / {bps(s.maker_rate_bps)} bps", "")
        if p.order_type == "market":
            _set(c("maker")[0], pct(0.0), "")
            _set(c("maker")[1], pct(1.0), "")
        elif s.maker_fraction is None:
            _pending(c("maker"))
        else:
            _set(c("maker")[0], pct(s.maker_fraction), "")
            _set(c("maker")[1], pct(s.taker_fraction), "")
        self._limit_order(s, p.order_type == "limit", tick)
        self.slip_group.grid.parentWidget().setTitle(
            f"Slippage vs {p.reference} (USD · bps) · delay {num(p.exec_delay_ms, 0)} ms")
        lat = snap.latency
        _set(c("lat_est")[0], micros(lat.p50_us))
        _set(c("lat_est")[1], micros(lat.p99_us))
        self._quality(s)

    def _limit_order(self, s: Summary, limit: bool, tick: float) -> None:
        """A limit order's split: crossing (taker), expected maker, expected unfilled, and the
        fill probability of the resting part ("—" with a note when nothing rests)."""
        c = self.cells
        keys = ("limit", "limit_taker", "limit_maker", "limit_unfilled")
        for key in keys:
            for cell in self._row_widgets(key):
                cell.setVisible(limit)
        for cell in self._row_widgets("maker"):  # the three parts below say it for a limit order
            cell.setVisible(not limit)
        if not limit:
            self.limit_note.setVisible(False)
            return
        if s.limit_price is None:
            for key in keys:
                _pending(c(key))
            self.limit_note.setVisible(False)
            return
        _set(c("limit")[0], price(s.limit_price, tick), "")
        rests = s.fill_probability is not None
        _set(c("limit")[1], pct(s.fill_probability) if rests else DASH, "" if rests else "muted")
        for key, frac, notional in (("limit_taker", s.taker_fraction, s.taker_usd),
                                    ("limit_maker", s.maker_fraction, s.maker_usd),
                                    ("limit_unfilled", s.unfilled_fraction, s.unfilled_usd)):
            _set(c(key)[0], pct(frac), "")
            _set(c(key)[1], f"{usd(notional, 0)} USD" if notional is not None else DASH, "")
        horizon = f"{num(s.fill_horizon_s, 0)} s" if s.fill_horizon_s is not None else "the horizon"
        if rests:
            note = (f"Fill prob. is for the resting part within {horizon}; expected maker = resting "
                    f"part x fill prob.; the rest is expected unfilled (no fee).")
        else:
            note = ("Fill prob. —: nothing rests. The limit price crosses the book for the whole "
                    "order, which fills at once as taker.")
        _set(self.limit_note, note, "muted")
        self.limit_note.setVisible(True)

    def show_frame_stats(self, p50_us: float, p99_us: float, fps: float, paint_ms: float) -> None:
        c = self.cells
        _set(c("lat_frame")[0], micros(p50_us))
        _set(c("lat_frame")[1], micros(p99_us))
        _set(c("paint")[0], f"{num(fps, 0)} fps")
        _set(c("paint")[1], f"{paint_ms:.1f} ms" if math.isfinite(paint_ms) else DASH)

    def show_feed(self, feed: dict[str, Any], counters: dict[str, Any] | None, msg_rate: float,
                  age_s: float | None) -> None:
        c = self.cells
        state = str(feed.get("state", "connecting"))
        synthetic = bool(feed.get("synthetic"))
        label = state.upper() + (" · SYNTHETIC" if synthetic else "")
        source = feed.get("source") or feed.get("url") or ""
        detail = feed.get("detail") or ""
        age = f" · last book {age_s * 1000:.0f} ms ago" if age_s is not None and age_s < 1 else (
            f" · last book {age_s:.1f} s ago" if age_s is not None else "")
        role = {"live": "ok", "stale": "error", "stopped": "muted"}.get(state, "warn")
        if synthetic and state == "live":
            role = "synthetic"
        retry = retry_note(feed)  # a failing feed says which attempt and when the next comes
        text = f"{label}{age}" + (f" · {retry}" if retry else "") + f"\n{source}" + (f"\n{detail}" if detail else "")
        _set(self.feed_state, text, role)
        _set(c("rate")[0], rate(msg_rate))
        _set(c("rate")[1], "")
        counters = counters or {}
        fc = feed.get("counters") or {}
        _set(c("counts")[0], num(counters.get("received", fc.get("received")), 0))
        _set(c("counts")[1], num(counters.get("applied"), 0))
        _set(c("rejected")[0], num(counters.get("rejected"), 0))
        _set(c("rejected")[1], num(counters.get("coalesced"), 0))
        _set(c("sync")[0], num(fc.get("reconnects"), 0))
        _set(c("sync")[1], num(feed.get("resync_requests", fc.get("resyncs")), 0))
        reasons = counters.get("rejected_by_reason") or {}
        extra = {k: v for k, v in fc.items() if k in ("stale_events", "oversized_closes", "abnormal_closes") and v}
        parts = [f"{k}: {v}" for k, v in sorted(reasons.items())] + [f"{k}: {v}" for k, v in extra.items()]
        _set(self.reasons, "rejected by reason: " + ", ".join(parts) if reasons else ", ".join(parts))
        self.reasons.setVisible(bool(parts))

    def _quality(self, s: Summary) -> None:
        q = s.quality
        c = self.cells
        if not q:
            for key in ("status", "skill", "weight", "mae", "cov_buy", "cov_sell", "pinball", "fill_q"):
                _pending(c(key))
            self.model_params.setVisible(False)
            return
        sides = q.get("sides") or {}
        # "49 / 51": labels per side (buy / sell), short enough for the narrowest panel
        counts = " / ".join(str(sides[k]["window"]) for k in ("buy", "sell") if k in sides)
        _set(c("status")[0], f"{q.get('status', '')} · {counts or q.get('window') or 0} labels", "")
        for i, side in enumerate(("buy", "sell")):
            sq = sides.get(side) or {}
            skill, weight = sq.get("skill"), sq.get("weight")
            _set(c("skill")[i], f"{skill:+.3f}" if skill is not None else DASH, "")
            _set(c("weight")[i], num(weight, 2) if weight is not None else DASH, "")
            _set(c("mae")[i], f"{bps(sq.get('mae_bps'), 3)} | {bps(sq.get('naive_mae_bps'), 3)}", "")
            cov = sq.get("coverage") or ()
            _set(c(f"cov_{side}")[0], " / ".join(pct(v, 0) for v in cov) or DASH, "")
        pin = q.get("pinball_bps") or ()
        _set(c("pinball")[0], " / ".join(bps(v, 3) for v in pin) + " bps" if pin else DASH, "")
        if q.get("fill_brier") is not None:
            _set(c("fill_q")[0], f"{num(q['fill_brier'], 3)} / {pct(q.get('fill_rate'), 0)}", "")
        else:
            _set(c("fill_q")[0], f"{q.get('fill_status', '') or 'no labels yet'}", "muted")
        mp = s.model_params
        if mp:
            names = {"eps": "ε", "k": "k", "eta": "η", "gamma": "γ", "sigma": "σ", "kappa": "κ"}
            parts = [f"{names[k]} {mp[k]:.3g}" for k in names if k in mp]
            if "vol_annual" in mp:
                parts.append(f"vol {pct(mp['vol_annual'])}")
            text = "Almgren-Chriss: " + "  ".join(parts)
            if s.notes:
                text += "\n" + "\n".join(s.notes)
            _set(self.model_params, text)
            self.model_params.setVisible(True)


def _pair(cells: list[QLabel], u: float | None, b: float | None) -> None:
    _set(cells[0], usd(u), "")
    _set(cells[1], f"{bps(b)} bps", "")


def _pending(cells: list[QLabel]) -> None:
    _set(cells[0], PENDING, "muted")
    for cell in cells[1:]:
        _set(cell, "", "muted")


