"""The right panel: every number about the chosen order, with its unit, in aligned columns.

Values are right-aligned in a fixed-width font, one unit per column, and refreshed at a
readable rate by the window (a few times a second, or at once after an input changed). Labels
are only re-set when their text changed. Missing model outputs say "model pending".
"""
from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame, QGridLayout, QGroupBox, QLabel, QScrollArea, QVBoxLayout, QWidget,
)

from core.snapshot import Snapshot
from widgets import theme
from widgets.estimate_view import Summary
from widgets.format import DASH, bps, micros, num, pct, price, qty, rate, usd

PENDING = "model pending"


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
        r = self.grid.rowCount()
        label = QLabel(name)
        label.setObjectName("name")
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
            self.grid.addWidget(cell, r, 1 + c)
            cells.append(cell)
        self.rows[key] = cells
        return cells

    def wide(self, key: str) -> QLabel:
        """A full-width note row (banners, per-reason counters)."""
        r = self.grid.rowCount()
        cell = QLabel("")
        cell.setObjectName("note")
        cell.setWordWrap(True)
        self.grid.addWidget(cell, r, 0, 1, 3)
        self.rows[key] = [cell]
        return cell


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
        self.banner = t.wide("banner")
        self.banner.setObjectName("banner")
        self.banner.hide()
        t.row("notional", "Notional", tooltip="Quote notional filled on the visible book "
                                              "(USDT and USDC are counted as USD)")
        t.row("size", "Size")
        t.row("avg_px", "Avg / worst price")
        t.row("levels", "Levels walked")

        t = group("Cost (USD · bps of notional)")
        t.row("book_slip", "Slippage, book (exact)",
              tooltip="Walking the visible book now, against the chosen reference price")
        t.row("model_slip", "Slippage, model",
              tooltip="Online regression prediction over the execution delay")
        t.row("band", "  predicted band")
        t.row("fees", "Fees")
        t.row("impact", "Market impact")
        t.row("net", "Net cost")
        self.net_items = t.wide("decomposition")
        t.row("maker", "Maker / taker")

        t = group("Latency")
        t.row("lat_est", "Receive → estimate", tooltip="p50 / p99 over the recent window (worker thread)")
        t.row("lat_frame", "Receive → frame", tooltip="p50 / p99: message receipt to the frame painted")
        t.row("paint", "Frames / paint")

        t = group("Feed")
        self.feed_state = t.wide("state")
        self.feed_state.setObjectName("feed_state")
        t.row("rate", "Messages")
        t.row("counts", "Received / applied")
        t.row("rejected", "Rejected / coalesced")
        t.row("sync", "Reconnects / resyncs")
        self.reasons = t.wide("reasons")

        t = group("Model quality")
        t.row("mae", "Rolling MAE")
        t.row("pinball", "Pinball loss")
        t.row("coverage", "Coverage")
        self.model_params = t.wide("model_params")
        lay.addStretch(1)
        self.updates = 0

    def cells(self, key: str) -> list[QLabel]:
        for t in self.tables.values():
            if key in t.rows:
                return t.rows[key]
        raise KeyError(key)

    def text(self, key: str) -> str:
        """All the text of one row (tests and readouts)."""
        return " ".join(c.text() for c in self.cells(key))

    # --- updates -----------------------------------------------------------------------
    def show_snapshot(self, snap: Snapshot, s: Summary) -> None:
        self.updates += 1
        inst, fill, p = snap.instrument, snap.fill, snap.params
        tick = inst.tick_size
        c = self.cells
        if fill.exhausted:
            unit = "USD" if p.unit == "usd" else inst.base
            _set(self.banner, f"Book exhausted: the visible book fills only "
                              f"{qty(fill.filled_base, inst.base)} ({usd(fill.filled_usd, 0)} USD); "
                              f"{qty(fill.unfilled, unit)} unfilled", "error")
            self.banner.show()
        else:
            self.banner.hide()
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
        if s.band is None:
            _pending(c("band"))
        else:
            _set(c("band")[0], f"q{s.band.lo_q * 100:g}–q{s.band.hi_q * 100:g}")
            _set(c("band")[1], f"{bps(s.band.lo_bps)} – {bps(s.band.hi_bps)}")
        for key, u, b in (("fees", s.fees_usd, s.fees_bps), ("impact", s.impact_usd, s.impact_bps),
                          ("net", s.net_cost_usd, s.net_cost_bps)):
            if u is None:
                _pending(c(key))
            else:
                _pair(c(key), u, b)
        if s.decomposition:
            total = sum(u for _n, u, _b in s.decomposition)
            lines = [f"{n:<16}{usd(u):>12} {bps(b):>8}" for n, u, b in s.decomposition]
            lines.append(f"{'= net':<16}{usd(total):>12} {bps(s.net_cost_bps):>8}")
            _set(self.net_items, "\n".join(lines))
            self.net_items.setFont(theme.mono_font())
            self.net_items.show()
        else:
            self.net_items.hide()
        if p.order_type == "market":
            _set(c("maker")[0], pct(0.0))
            _set(c("maker")[1], pct(1.0))
        elif s.maker_fraction is None:
            _pending(c("maker"))
        else:
            _set(c("maker")[0], pct(s.maker_fraction))
            _set(c("maker")[1], pct(1.0 - s.maker_fraction))
        lat = snap.latency
        _set(c("lat_est")[0], micros(lat.p50_us))
        _set(c("lat_est")[1], micros(lat.p99_us))
        self._quality(s)

    def show_frame_stats(self, p50_us: float, p99_us: float, fps: float, paint_ms: float) -> None:
        c = self.cells
        _set(c("lat_frame")[0], micros(p50_us))
        _set(c("lat_frame")[1], micros(p99_us))
        _set(c("paint")[0], f"{fps:.0f} fps")
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
        text = f"{label}{age}\n{source}" + (f"\n{detail}" if detail else "")
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
        extra = {k: v for k, v in fc.items() if k in ("stale_events", "oversized", "malformed")}
        parts = [f"{k}: {v}" for k, v in sorted(reasons.items())] + [f"{k}: {v}" for k, v in extra.items()]
        _set(self.reasons, "rejected by reason: " + ", ".join(parts) if reasons else ", ".join(parts))
        self.reasons.setVisible(bool(parts))

    def _quality(self, s: Summary) -> None:
        q = s.quality
        c = self.cells
        if not q:
            for key in ("mae", "pinball", "coverage"):
                _pending(c(key))
            self.model_params.setVisible(False)
            return
        mae = _first(q, "mae_bps", "mae", "rolling_mae_bps")
        _set(c("mae")[0], bps(mae))
        _set(c("mae")[1], "bps")
        pin = {k: v for k, v in q.items() if "pinball" in k}
        cov = {k: v for k, v in q.items() if "coverage" in k}
        _set(c("pinball")[0], " ".join(bps(v, 3) for v in pin.values()) or DASH)
        _set(c("pinball")[1], " / ".join(_short(k) for k in pin) or "")
        _set(c("coverage")[0], " ".join(pct(v, 0) for v in cov.values()) or DASH)
        _set(c("coverage")[1], " / ".join(_short(k) for k in cov) or "")
        if s.model_params:
            text = "  ".join(f"{k} {v:.3g}" for k, v in list(s.model_params.items())[:8])
            _set(self.model_params, text)
            self.model_params.setVisible(True)


def _pair(cells: list[QLabel], u: float | None, b: float | None) -> None:
    _set(cells[0], usd(u), "")
    _set(cells[1], f"{bps(b)} bps", "")


def _pending(cells: list[QLabel]) -> None:
    _set(cells[0], PENDING, "muted")
    _set(cells[1], "", "muted")


def _first(d: dict[str, float], *names: str) -> float | None:
    for n in names:
        if n in d:
            return d[n]
    return None


def _short(key: str) -> str:
    return key.replace("coverage", "").replace("pinball", "").strip(" _") or key
