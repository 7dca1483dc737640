"""The left panel: the order and the model knobs, validated through ``OrderParams``.

Every edit builds a candidate with ``OrderParams.with_`` (which validates); an impossible value
is refused with a visible message next to the inputs and the current parameters stay as they
were. A valid change is emitted at once as ``paramsChanged`` so the window can have it priced
on the newest book within a frame.
"""
from __future__ import annotations

import math
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout,
    QLabel, QLineEdit, QPushButton, QSlider, QSpinBox, QVBoxLayout, QWidget,
)

from core.instruments import Instrument, get_instrument
from core.params import InvalidParams, OrderParams
from widgets.format import num, pct

SLIDER_STEPS = 1000
# log10 bounds of the quantity slider, per unit
USD_DECADES = (0.0, 8.0)  # 1 USD .. 100 M USD
BASE_DECADES = (-4.0, 4.0)  # 0.0001 .. 10,000 base units


class LogSlider(QSlider):
    """An integer slider that maps to a log10 scale of values."""

    valueChangedLog = Signal(float)

    def __init__(self, lo_decade: float, hi_decade: float, parent=None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setRange(0, SLIDER_STEPS)
        self.set_decades(lo_decade, hi_decade)
        self.valueChanged.connect(lambda v: self.valueChangedLog.emit(self.to_value(v)))

    def set_decades(self, lo: float, hi: float) -> None:
        self.lo, self.hi = lo, hi

    def to_value(self, position: int) -> float:
        return 10.0 ** (self.lo + (self.hi - self.lo) * position / SLIDER_STEPS)

    def to_position(self, value: float) -> int:
        if not value > 0:
            return 0
        frac = (math.log10(value) - self.lo) / (self.hi - self.lo)
        return int(round(min(max(frac, 0.0), 1.0) * SLIDER_STEPS))

    def set_log_value(self, value: float) -> None:
        self.blockSignals(True)
        self.setValue(self.to_position(value))
        self.blockSignals(False)


class InputsPanel(QWidget):
    paramsChanged = Signal(object)  # a validated OrderParams
    instrumentChanged = Signal(str)
    messageChanged = Signal(str)  # "" when the inputs are all valid

    def __init__(self, instruments: list[str], fee_tiers: list[str] | Callable[[Instrument], list[str]],
                 exchanges: list[str] | None = None,
                 check: Callable[[OrderParams, Instrument], None] | None = None, parent=None) -> None:
        """``fee_tiers``: the tiers to offer, or a function of the instrument (spot and swap
        schedules differ); ``check(params, instrument)`` raises ValueError for what the models
        cannot price (an unknown fee tier), so it is refused here rather than in the worker."""
        super().__init__(parent)
        self.setObjectName("inputs")
        self._tiers_for = fee_tiers if callable(fee_tiers) else (lambda _inst, t=list(fee_tiers): t)
        self._check = check
        self._params = OrderParams()
        self._instrument = get_instrument(instruments[0])
        self._mid = math.nan
        self._building = True
        self.error = ""

        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 8)
        outer.setSpacing(8)

        market = QGroupBox("Market")
        f = _form(market)
        self.exchange = QComboBox()
        self.exchange.addItems(exchanges or ["OKX"])
        self.instrument = QComboBox()
        self.instrument.addItems(instruments)
        self.book_unit = QLabel()
        self.book_unit.setObjectName("hint")
        f.addRow("Exchange", self.exchange)
        f.addRow("Instrument", self.instrument)
        f.addRow("Book sizes", self.book_unit)
        outer.addWidget(market)

        order = QGroupBox("Order")
        f = _form(order)
        side_row = QHBoxLayout()
        self.buy = QPushButton("Buy")
        self.sell = QPushButton("Sell")
        self.buy.setObjectName("buy")
        self.sell.setObjectName("sell")
        self.side_group = QButtonGroup(self)
        for b in (self.buy, self.sell):
            b.setCheckable(True)
            self.side_group.addButton(b)
            side_row.addWidget(b)
        self.buy.setChecked(True)
        f.addRow("Side", side_row)
        self.order_type = QComboBox()
        self.order_type.addItems(["market", "limit"])
        self.limit_offset = QDoubleSpinBox()
        self.limit_offset.setRange(-1000.0, 1000.0)
        self.limit_offset.setDecimals(1)
        self.limit_offset.setSingleStep(0.5)
        self.limit_offset.setSuffix(" bps")
        self.limit_offset.setToolTip("Distance of the limit price from the same-side touch: "
                                     "0 joins the touch, negative crosses the spread")
        f.addRow("Type", self.order_type)
        f.addRow("Limit offset", self.limit_offset)
        self.quantity = QDoubleSpinBox()
        self.quantity.setKeyboardTracking(False)
        self.quantity.setGroupSeparatorShown(True)
        self.quantity.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.unit = QComboBox()
        self.unit.addItems(["USD", "base"])
        q_row = QHBoxLayout()
        q_row.addWidget(self.quantity, 1)
        q_row.addWidget(self.unit)
        f.addRow("Quantity", q_row)
        self.slider = LogSlider(*USD_DECADES)
        self.slider.setObjectName("quantity_slider")
        f.addRow("", self.slider)
        self.quantity_hint = QLabel()
        self.quantity_hint.setObjectName("hint")
        f.addRow("", self.quantity_hint)
        self.reference = QComboBox()
        self.reference.addItems(["mid", "best"])
        self.reference.setToolTip("Slippage is measured against the mid (default) or the same-side best price")
        f.addRow("Slippage vs", self.reference)
        outer.addWidget(order)

        model = QGroupBox("Models")
        f = _form(model)
        self.fee_tier = QComboBox()
        self.fee_tier.addItems(self._tiers_for(self._instrument))
        f.addRow("Fee tier", self.fee_tier)
        self.vol_live = QLabel("—")
        self.vol_live.setObjectName("value")
        f.addRow("Volatility (live)", self.vol_live)
        vol_row = QHBoxLayout()
        self.vol_override_on = QCheckBox("override")
        self.vol_override = QLineEdit()
        self.vol_override.setPlaceholderText("annual %")
        self.vol_override.setEnabled(False)
        vol_row.addWidget(self.vol_override_on)
        vol_row.addWidget(self.vol_override, 1)
        f.addRow("", vol_row)
        self.ac_lambda = QLineEdit()
        self.ac_lambda.setToolTip("Almgren-Chriss risk aversion λ, per USD (e.g. 1e-6)")
        f.addRow("AC λ (1/USD)", self.ac_lambda)
        self.ac_horizon = QDoubleSpinBox()
        self.ac_horizon.setRange(1.0, 86_400.0)
        self.ac_horizon.setDecimals(0)
        self.ac_horizon.setSuffix(" s")
        self.ac_horizon.setKeyboardTracking(False)
        f.addRow("AC horizon", self.ac_horizon)
        self.ac_steps = QSpinBox()
        self.ac_steps.setRange(1, 1000)
        self.ac_steps.setKeyboardTracking(False)
        f.addRow("AC steps", self.ac_steps)
        self.exec_delay = QDoubleSpinBox()
        self.exec_delay.setRange(0.0, 60_000.0)
        self.exec_delay.setDecimals(0)
        self.exec_delay.setSingleStep(50.0)
        self.exec_delay.setSuffix(" ms")
        self.exec_delay.setKeyboardTracking(False)
        self.exec_delay.setToolTip("Latency between decision and fill that the slippage model predicts over")
        f.addRow("Execution delay", self.exec_delay)
        outer.addWidget(model)

        self.message = QLabel()
        self.message.setObjectName("error")
        self.message.setWordWrap(True)
        self.message.hide()
        outer.addWidget(self.message)
        outer.addStretch(1)
        keys = QLabel("<b>Keys</b>  F freeze · L go live · R reset view · Ctrl+S export<br>"
                      "<b>Plots</b>  drag to pan, wheel to zoom, right-click for the plot menu; "
                      "hover for readouts")
        keys.setObjectName("hint")
        keys.setWordWrap(True)
        outer.addWidget(keys)

        self._connect()
        self._building = False
        self.load(self._params, self._instrument.inst_id)

    # --- wiring ------------------------------------------------------------------------
    def _connect(self) -> None:
        self.side_group.buttonClicked.connect(
            lambda b: self._try(side="buy" if b is self.buy else "sell"))
        self.order_type.currentTextChanged.connect(self._on_order_type)
        self.limit_offset.valueChanged.connect(lambda v: self._try(limit_offset_bps=float(v)))
        self.quantity.valueChanged.connect(self._on_quantity_spin)
        self.slider.valueChangedLog.connect(self._on_quantity_slider)
        self.unit.currentIndexChanged.connect(self._on_unit)
        self.reference.currentTextChanged.connect(lambda t: self._try(reference=t))
        self.fee_tier.currentTextChanged.connect(lambda t: self._try(fee_tier=t))
        self.exchange.currentTextChanged.connect(lambda t: self._try(exchange=t))
        self.vol_override_on.toggled.connect(self._on_vol_toggle)
        self.vol_override.editingFinished.connect(self._on_vol_text)
        self.ac_lambda.editingFinished.connect(self._on_lambda_text)
        self.ac_horizon.valueChanged.connect(lambda v: self._try(ac_horizon_s=float(v)))
        self.ac_steps.valueChanged.connect(lambda v: self._try(ac_steps=int(v)))
        self.exec_delay.valueChanged.connect(lambda v: self._try(exec_delay_ms=float(v)))
        self.instrument.currentTextChanged.connect(self._on_instrument)

    # --- public ------------------------------------------------------------------------
    @property
    def params(self) -> OrderParams:
        return self._params

    @property
    def instrument_id(self) -> str:
        return self._instrument.inst_id

    def load(self, params: OrderParams, inst_id: str) -> None:
        """Show ``params`` (already validated) without emitting anything."""
        self._building = True
        try:
            self._params = params.validated()
            if self.instrument.findText(inst_id) >= 0:
                self.instrument.setCurrentText(inst_id)
                self._instrument = get_instrument(inst_id)
                self.fee_tier.clear()
                self.fee_tier.addItems(self._tiers_for(self._instrument))
            p = self._params
            (self.buy if p.side == "buy" else self.sell).setChecked(True)
            self.order_type.setCurrentText(p.order_type)
            self.limit_offset.setValue(p.limit_offset_bps)
            self.limit_offset.setEnabled(p.order_type == "limit")
            self.unit.setCurrentIndex(0 if p.unit == "usd" else 1)
            self._configure_quantity(p.unit)
            self._show_quantity(p.quantity)
            self.reference.setCurrentText(p.reference)
            if self.fee_tier.findText(p.fee_tier) < 0 and self.fee_tier.count():
                # a stored tier this instrument's schedule does not have: its first tier
                p = self._params = p.with_(fee_tier=self.fee_tier.itemText(0))
            self.fee_tier.setCurrentText(p.fee_tier)
            if self.exchange.findText(p.exchange) < 0:
                self.exchange.addItem(p.exchange)
            self.exchange.setCurrentText(p.exchange)
            self.vol_override_on.setChecked(p.volatility_override is not None)
            self.vol_override.setEnabled(p.volatility_override is not None)
            self.vol_override.setText("" if p.volatility_override is None else f"{p.volatility_override * 100:g}")
            self.ac_lambda.setText(f"{p.ac_lambda:g}")
            self.ac_horizon.setValue(p.ac_horizon_s)
            self.ac_steps.setValue(p.ac_steps)
            self.exec_delay.setValue(p.exec_delay_ms)
            self._show_units()
            self._set_error("")
        finally:
            self._building = False

    def set_market(self, mid: float, vol_annual: float, vol_updates: int, vol_state: str = "live",
                   vol_seconds: float = math.nan) -> None:
        """Live values the inputs show or convert with (mid for USD <-> base).

        The volatility is called live only when the estimator says so (``vol_state``, see
        core.volatility.LiveVolatility); until then the label says it is warming up, for how
        long so far, and what the models use meanwhile (the override, else the prior).
        """
        self._mid = mid
        if vol_state == "live" and math.isfinite(vol_annual):
            text = f"{pct(vol_annual)} ann. · live"
        else:
            covered = f" ({vol_seconds:.0f} s)" if math.isfinite(vol_seconds) and vol_updates > 0 else ""
            used = "override" if self._params.volatility_override is not None else "prior"
            text = f"warming up{covered}: {used} in use"
        self.vol_live.setText(text)
        self._show_hint()

    def set_quantity(self, value: float) -> bool:
        """Set the quantity as the user would (spin box); False if refused."""
        self.quantity.setValue(value)
        return math.isclose(self._params.quantity, value, rel_tol=1e-9)

    # --- handlers ----------------------------------------------------------------------
    def _try(self, **changes) -> bool:
        if self._building:
            return False
        try:
            new = self._params.with_(**changes)
            if self._check is not None:
                self._check(new, self._instrument)
        except InvalidParams as exc:
            self._set_error(str(exc))
            return False
        except (TypeError, ValueError) as exc:
            self._set_error(f"invalid input: {exc}")
            return False
        self._set_error("")
        if new != self._params:
            self._params = new
            self._show_hint()
            self.paramsChanged.emit(new)
        return True

    def _set_error(self, text: str) -> None:
        self.error = text
        self.message.setText(f"Refused: {text}" if text else "")
        self.message.setVisible(bool(text))
        self.messageChanged.emit(text)

    def _on_order_type(self, text: str) -> None:
        self.limit_offset.setEnabled(text == "limit")
        self._try(order_type=text)

    def _on_quantity_spin(self, value: float) -> None:
        if self._try(quantity=float(value)):
            self.slider.set_log_value(value)

    def _on_quantity_slider(self, value: float) -> None:
        value = _round_sig(value, 3)
        self.quantity.blockSignals(True)
        self.quantity.setValue(value)
        self.quantity.blockSignals(False)
        self._try(quantity=float(self.quantity.value()))

    def _on_unit(self, index: int) -> None:
        if self._building:
            return
        unit = "usd" if index == 0 else "base"
        q = self._params.quantity
        if math.isfinite(self._mid) and self._mid > 0 and unit != self._params.unit:
            q = q / self._mid if unit == "base" else q * self._mid
        self._building = True
        self._configure_quantity(unit)
        self._show_quantity(q)
        self._building = False
        self._try(unit=unit, quantity=float(self.quantity.value()))

    def _on_vol_toggle(self, on: bool) -> None:
        self.vol_override.setEnabled(on)
        if not on:
            self._try(volatility_override=None)
        elif self.vol_override.text().strip():
            self._on_vol_text()

    def _on_vol_text(self) -> None:
        if not self.vol_override_on.isChecked():
            return
        value = _parse("volatility override", self.vol_override.text())
        if isinstance(value, str):
            self._set_error(value)
            return
        self._try(volatility_override=value / 100.0)

    def _on_lambda_text(self) -> None:
        value = _parse("risk aversion lambda", self.ac_lambda.text())
        if isinstance(value, str):
            self._set_error(value)
            return
        self._try(ac_lambda=value)

    def _on_instrument(self, inst_id: str) -> None:
        if self._building:
            return
        self._instrument = get_instrument(inst_id)
        self._show_units()
        self._fill_tiers()
        self.instrumentChanged.emit(inst_id)

    def _fill_tiers(self) -> None:
        """Offer the new instrument's fee tiers; keep the current one if it exists there."""
        tiers = self._tiers_for(self._instrument)
        current = self._params.fee_tier
        self._building = True
        self.fee_tier.clear()
        self.fee_tier.addItems(tiers)
        keep = current if current in tiers else (tiers[0] if tiers else current)
        self.fee_tier.setCurrentText(keep)
        self._building = False
        if keep != current:
            self._try(fee_tier=keep)

    # --- display -----------------------------------------------------------------------
    def _configure_quantity(self, unit: str) -> None:
        lo, hi = USD_DECADES if unit == "usd" else BASE_DECADES
        self.slider.set_decades(lo, hi)
        self.quantity.blockSignals(True)
        self.quantity.setDecimals(2 if unit == "usd" else 6)
        self.quantity.setRange(10.0 ** lo, 10.0 ** hi)
        self.quantity.setSingleStep(100.0 if unit == "usd" else 0.01)
        self.quantity.blockSignals(False)

    def _show_quantity(self, q: float) -> None:
        self.quantity.blockSignals(True)
        self.quantity.setValue(q)
        self.quantity.blockSignals(False)
        self.slider.set_log_value(q)

    def _show_units(self) -> None:
        inst: Instrument = self._instrument
        self.unit.setItemText(1, inst.base)
        self.book_unit.setText(inst.unit_label)
        self._show_hint()

    def _show_hint(self) -> None:
        p, inst, mid = self._params, self._instrument, self._mid
        if not (math.isfinite(mid) and mid > 0):
            self.quantity_hint.setText("")
            return
        if p.unit == "usd":
            base = p.quantity / mid
            text = f"≈ {num(base, 4)} {inst.base}"
        else:
            base = p.quantity
            text = f"≈ {num(p.quantity * mid, 2)} USD"
        if inst.size_unit == "contracts" and not inst.inverse:
            text += f" · {num(base / inst.contract_value, 2)} contracts"
        self.quantity_hint.setText(text)


def _form(box: QGroupBox) -> QFormLayout:
    f = QFormLayout(box)
    f.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
    f.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    f.setHorizontalSpacing(10)
    f.setVerticalSpacing(5)
    f.setContentsMargins(8, 14, 8, 8)
    return f


def _parse(name: str, text: str) -> float | str:
    """A float, or an error message naming the field."""
    try:
        value = float(text.strip().replace(",", ""))
    except ValueError:
        return f"{name} must be a number, not {text.strip()!r}"
    if not math.isfinite(value):
        return f"{name} must be a finite number, not {text.strip()!r}"
    return value


def _round_sig(x: float, digits: int) -> float:
    """Round to ``digits`` significant digits: slider values read as 2.35k, not 2,347.81."""
    if not x > 0:
        return x
    return round(x, -int(math.floor(math.log10(x))) + digits - 1)
