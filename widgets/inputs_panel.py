"""The left panel: the order and the model knobs, validated through ``OrderParams``.

Every numeric input is a :class:`NumberField`: a line edit read by one parser
(:func:`parse_number`: "1e6", "1,000,000", "2.5k"), never a spin box (spin boxes clamp to a
range and drop characters they do not expect, silently). A typed value is priced exactly as
typed, or refused with a message next to its field that names the field and the reason (a
range limit comes from ``OrderParams.validated``, the single place for limits); the last valid
parameters stay in force, the refused text stays marked invalid until corrected or until focus
leaves, and then the field reverts visibly. A valid change is emitted at once as
``paramsChanged`` so the window can have it priced within a frame.
"""
from __future__ import annotations

import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Callable

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFocusEvent, QFontMetrics, QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup, QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLayout,
    QLineEdit, QPushButton, QSlider, QVBoxLayout, QWidget,
)

from core.instruments import Instrument
from core.params import UNITS, InvalidParams, OrderParams, contract_terms, convert_quantity
from core.venues import DEFAULT_VENUE, get_venue, instrument_for, venue_names, venue_symbols
from widgets.format import num, pct

SLIDER_STEPS = 1000
MIN_DIGITS = 9  # a number field never narrower than this many digits ("1,000,000")
COMBO_CHARS = 13  # the Exchange and Instrument selectors' width, in characters ("BTC-USDT-SWAP")
# log10 bounds of the quantity slider, per unit (contracts: derived from the contract value)
USD_DECADES = (0.0, 10.0)  # 1 USD .. 10 bn USD: past what any visible book fills
BASE_DECADES = (-4.0, 5.0)  # 0.0001 .. 100,000 base units
UNIT_NAMES = {"usd": "USD", "base": "base", "contracts": "contracts"}
#: the multipliers a typed number may end with ("2.5k", "3M", "1.2bn")
SUFFIXES = {"k": 3, "m": 6, "mm": 6, "b": 9, "bn": 9, "t": 12}
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?([eE][+-]?\d+)?$")


def parse_number(text: str) -> float:
    """The number ``text`` means, exactly (decimal parsing, one rounding to float), or a
    ValueError whose message is the reason. Accepts scientific notation ("1e6"), thousands
    separators ("1,000,000", only where they group by three: "1,5" is refused, not read as 15),
    spaces or underscores between digits, and a k/M/bn/T suffix ("2.5k")."""
    s = text.strip().replace("_", "").replace(" ", "").replace("\u2009", "").replace("\u00a0", "")
    if not s:
        raise ValueError("is empty: type a number")
    exponent = 0
    low = s.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        head = s[: -len(suffix)]
        if low.endswith(suffix) and (head[-1:].isdigit() or head.endswith(".")):
            exponent, s = SUFFIXES[suffix], head
            break
    if "," in s:
        if not _GROUPED.match(s):
            raise ValueError(f"{text.strip()!r}: ',' only separates thousands (1,000,000); "
                             f"use '.' for decimals")
        s = s.replace(",", "")
    try:
        d = Decimal(s)
    except InvalidOperation:
        raise ValueError(f"must be a number, not {text.strip()!r}") from None
    if not d.is_finite():
        raise ValueError(f"must be a finite number, not {text.strip()!r}")
    value = float(d.scaleb(exponent))
    if not math.isfinite(value) or (value == 0.0 and d != 0):
        raise ValueError(f"{text.strip()!r} is beyond what a float holds")
    return value


def format_number(value: float) -> str:
    """The shortest text that reads back as exactly ``value``, with thousands grouped."""
    text = format(value, ",")
    return text[:-2] if text.endswith(".0") else text


class NumberField(QLineEdit):
    """A line edit for one number: ``accept(value) -> bool`` decides (the panel prices it or
    refuses it out loud); refused text stays, marked invalid, until corrected or focus leaves,
    then the value in force comes back (``reverted`` says which, for the message)."""

    reverted = Signal(str)  # the text of the value in force, shown again

    def __init__(self, accept: Callable[[float], bool], refuse: Callable[[str], None],
                 placeholder: str = "", parent=None) -> None:
        super().__init__(parent)
        self._accept, self._refuse = accept, refuse
        self._valid_text = ""
        self.setPlaceholderText(placeholder)
        self.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.setProperty("invalid", False)
        self.editingFinished.connect(self.commit)
        self.textChanged.connect(self.updateGeometry)  # a longer number asks for more room

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        """About twelve digits wide (QLineEdit asks for seventeen): the panel stays narrow."""
        hint = super().sizeHint()
        hint.setWidth(max(min(hint.width(), self.fontMetrics().horizontalAdvance("0") * 12 + 12),
                          self.minimumSizeHint().width()))
        return hint

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        """Room for the whole text (at least MIN_DIGITS digits): a number cut at its left edge
        ("50,000" for 250,000) would be read as another number, so the panel widens instead."""
        hint = super().minimumSizeHint()
        fm = self.fontMetrics()
        chrome = super().sizeHint().width() - fm.horizontalAdvance("x") * 17  # frame and margins
        text = max(self.text(), "0" * MIN_DIGITS, key=fm.horizontalAdvance)
        hint.setWidth(max(hint.width(), fm.horizontalAdvance(text) + chrome))
        return hint

    def show_value(self, value: float | None) -> None:
        """Show ``value`` (in force) without emitting anything."""
        self._valid_text = "" if value is None else format_number(value)
        self.setText(self._valid_text)
        self._mark(False)

    def value(self) -> float:
        """The value in force (what the last valid text said); NaN when empty."""
        return parse_number(self._valid_text) if self._valid_text else math.nan

    def setValue(self, value: float) -> bool:  # noqa: N802 (as a spin box's)
        """Type ``value`` and commit it, as the user would; False if refused."""
        self.setText(format_number(value))
        return self.commit()

    def commit(self, force: bool = False) -> bool:
        """Parse and offer the text (again with ``force``); True when it is now in force."""
        text = self.text()
        if text == self._valid_text and not self.property("invalid") and not force:
            return True
        try:
            value = parse_number(text)
        except ValueError as exc:
            self._refuse(str(exc))
            self._mark(True)
            return False
        if not self._accept(value):
            self._mark(True)
            return False
        self.show_value(value)
        return True

    def revert(self) -> None:
        """Back to the value in force (the refusal message says what was kept)."""
        self.setText(self._valid_text)
        self._mark(False)
        self.reverted.emit(self._valid_text)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 (Qt name)
        super().focusOutEvent(event)  # emits editingFinished: a changed text is committed
        if self.text() != self._valid_text and (self.property("invalid") or not self.commit()):
            self.revert()

    def _mark(self, invalid: bool) -> None:
        if bool(self.property("invalid")) != invalid:
            self.setProperty("invalid", invalid)
            self.style().unpolish(self)
            self.style().polish(self)


class LogSlider(QSlider):
    """An integer slider that maps to a log10 scale of values. A value beyond its decades
    pins the handle at the end (property ``pinned``, tooltip) and is never changed by it."""

    valueChangedLog = Signal(float)

    def __init__(self, lo_decade: float, hi_decade: float, parent=None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setRange(0, SLIDER_STEPS)
        self.setProperty("pinned", False)
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

    def set_log_value(self, value: float, unit: str = "") -> None:
        self.blockSignals(True)
        self.setValue(self.to_position(value))
        self.blockSignals(False)
        self.show_pinned(value, unit)

    def show_pinned(self, value: float, unit: str = "") -> None:
        """Mark the handle pinned (and say why) when ``value`` lies beyond the decades."""
        beyond = value > 0 and not (self.lo <= math.log10(value) <= self.hi)
        self.setToolTip(f"{format_number(value)} {unit} is beyond the slider's "
                        f"{format_number(10.0 ** self.lo)} .. {format_number(10.0 ** self.hi)}: "
                        f"the typed value stands" if beyond else "")
        if bool(self.property("pinned")) != beyond:
            self.setProperty("pinned", beyond)
            self.style().unpolish(self)
            self.style().polish(self)


def matching_symbol(instrument: Instrument, symbols: list[str], venue: str) -> str:
    """The symbol of ``venue`` (among ``symbols``) nearest ``instrument``: the same symbol, else
    the same base and kind (OKX's BTC-USDT-SWAP -> Binance USDⓈ-M's BTCUSDT), else the same
    base, else the first."""
    if instrument.inst_id in symbols:
        return instrument.inst_id
    specs = [instrument_for(venue, s) for s in symbols]
    for same in (lambda i: i.base == instrument.base and i.kind == instrument.kind,
                 lambda i: i.base == instrument.base):
        found = [i.inst_id for i in specs if same(i)]
        if found:
            return found[0]
    return symbols[0]


def venue_label(venue: str) -> str:
    """How the window names a venue (its label, else its registry name), drawable in the
    application's font (see :func:`drawable`)."""
    return drawable(get_venue(venue).label or venue)


def drawable(text: str) -> str:
    """``text`` with each character the application's font cannot draw replaced by its plain
    compatibility form: Binance's "USDⓈ-M" reads "USDS-M" where no installed font has Ⓢ
    (a minimal Linux install), instead of an empty box."""
    if QGuiApplication.instance() is None or text.isascii():
        return text
    metrics = QFontMetrics(QGuiApplication.font())
    return "".join(ch if ch.isspace() or metrics.inFontUcs4(ord(ch)) else unicodedata.normalize("NFKC", ch)
                   for ch in text)


class InputsPanel(QWidget):
    paramsChanged = Signal(object)  # a validated OrderParams
    instrumentChanged = Signal(str)  # another instrument of the same venue, picked
    venueChanged = Signal(str, str)  # (venue, symbol): another exchange picked, and the symbol shown
    messageChanged = Signal(str)  # "" when the inputs are all valid

    def __init__(self, instruments: list[str] | None, fee_tiers: list[str] | Callable[[Instrument], list[str]],
                 venue: str = DEFAULT_VENUE,
                 check: Callable[[OrderParams, Instrument], None] | None = None, parent=None) -> None:
        """``instruments``: the symbols to list for ``venue`` (None: its data files' symbols);
        ``fee_tiers``: the tiers to offer, or a function of the instrument (each venue, spot and
        swap have their own schedule); ``check(params, instrument)`` raises ValueError for what
        the models cannot price (an unknown fee tier), so it is refused here rather than in the
        worker."""
        super().__init__(parent)
        self.setObjectName("inputs")
        self._tiers_for = fee_tiers if callable(fee_tiers) else (lambda _inst, t=list(fee_tiers): t)
        self._check = check
        self._venue = venue
        instruments = list(instruments) if instruments else venue_symbols(venue)
        self._instrument = instrument_for(venue, instruments[0])
        self._params = OrderParams(exchange=self._instrument.exchange)
        self._mid = math.nan
        self._building = True
        self.error = ""
        self.field_errors: dict[str, QLabel] = {}  # OrderParams field -> its message label
        self._labels: dict[str, str] = {}  # OrderParams field -> its visible label

        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 8)
        outer.setSpacing(8)

        market = QGroupBox("Market")
        f = _form(market)
        self.exchange = QComboBox()  # every registered venue: its label, its name as data
        for name in venue_names():
            self.exchange.addItem(venue_label(name), name)
        self.exchange.setCurrentIndex(max(self.exchange.findData(venue), 0))
        self.instrument = QComboBox()
        self.instrument.addItems(instruments)
        for box in (self.exchange, self.instrument):  # as wide on every venue: the panel never jumps
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(COMBO_CHARS)
        self.book_unit = QLabel()
        self.book_unit.setObjectName("hint")
        self._row(f, "Exchange", self.exchange, "exchange")
        self.exchange.setToolTip("The venue whose books are priced (and whose fee table applies); "
                                 "switching it switches the feed")
        self._row(f, "Instrument", self.instrument)
        self._row(f, "Book sizes", self.book_unit)
        outer.addWidget(market)

        order = QGroupBox("Order")
        f = _form(order)
        self.buy = QPushButton("Buy")
        self.sell = QPushButton("Sell")
        self.buy.setObjectName("buy")
        self.sell.setObjectName("sell")
        self.side_group = QButtonGroup(self)
        for b in (self.buy, self.sell):
            b.setCheckable(True)
            b.setAccessibleName(b.text())
            self.side_group.addButton(b)
        self.buy.setChecked(True)
        self._row(f, "Side", _hbox(self.buy, self.sell, grow=(0, 1)), "side")
        self.order_type = QComboBox()
        self.order_type.addItems(["market", "limit"])
        self._row(f, "Order type", self.order_type, "order_type")
        self.limit_offset = self._number(lambda v: self._try(limit_offset_bps=v), "limit_offset_bps",
                                         "0 = join the touch")
        sign_hint = QLabel("+ rests · − crosses")
        sign_hint.setObjectName("hint")
        offset_help = ("Distance of the limit price from the order's own-side touch, in bps: "
                       "+ is passive (a buy below the best bid rests in the book), 0 joins the "
                       "touch, − moves toward the other side and crosses (takes) once past its touch")
        self.limit_offset.setToolTip(offset_help)
        sign_hint.setToolTip(offset_help)
        self._row(f, "Limit offset (bps)", self.limit_offset, "limit_offset_bps")
        f.insertRow(f.rowCount() - 1, "", sign_hint)  # the sign convention, under its field
        self.quantity = self._number(self._on_quantity_typed, "quantity", "e.g. 1e6, 250k")
        self.quantity.setObjectName("quantity")
        self.unit = QComboBox()
        self.unit.addItems(["USD", "base", "contracts"])
        self.unit.setAccessibleName("Quantity unit")
        self._row(f, "Quantity", _hbox(self.quantity, self.unit), "quantity", field=self.quantity)
        self._labels["unit"] = "Quantity unit"
        self.field_errors["unit"] = self.field_errors["quantity"]
        self.slider = LogSlider(*USD_DECADES)
        self.slider.setObjectName("quantity_slider")
        self.slider.setAccessibleName("Quantity slider")
        f.addRow("", self.slider)
        self.quantity_hint = QLabel()
        self.quantity_hint.setObjectName("hint")
        f.addRow("", self.quantity_hint)
        self.reference = QComboBox()
        self.reference.addItems(["mid", "best"])
        self.reference.setToolTip("Slippage is measured against the mid (default) or the same-side best price")
        self._row(f, "Slippage vs", self.reference, "reference")
        outer.addWidget(order)

        model = QGroupBox("Models")
        f = _form(model)
        self.fee_tier = QComboBox()
        self.fee_tier.addItems(self._tiers_for(self._instrument))
        self._row(f, "Fee tier", self.fee_tier, "fee_tier")
        self.vol_live = QLabel("—")
        self.vol_live.setObjectName("value")
        self.vol_live.setWordWrap(True)  # "warming up (12 s): prior in use" wraps, never widens the panel
        self._row(f, "Volatility (live)", self.vol_live)
        self.vol_override_on = QCheckBox("use")
        self.vol_override_on.setAccessibleName("Use volatility override")
        self.vol_override_on.setToolTip("Use the typed volatility instead of the live estimate")
        self.vol_override = self._number(lambda v: self._try(volatility_override=v / 100.0),
                                         "volatility_override", "annual %")
        self.vol_override.setEnabled(False)
        self._row(f, "Volatility override (%)", _hbox(self.vol_override_on, self.vol_override),
                  "volatility_override", field=self.vol_override)
        self.ac_lambda = self._number(lambda v: self._try(ac_lambda=v), "ac_lambda", "e.g. 1e-6")
        self.ac_lambda.setToolTip("Almgren-Chriss risk aversion λ, per USD (e.g. 1e-6)")
        self._row(f, "AC λ (1/USD)", self.ac_lambda, "ac_lambda")
        self.ac_horizon = self._number(lambda v: self._try(ac_horizon_s=v), "ac_horizon_s", "seconds")
        self._row(f, "AC horizon (s)", self.ac_horizon, "ac_horizon_s")
        self.ac_steps = self._number(self._on_steps, "ac_steps", "1 .. 1000")
        self._row(f, "AC steps", self.ac_steps, "ac_steps")
        self.exec_delay = self._number(lambda v: self._try(exec_delay_ms=v), "exec_delay_ms", "ms")
        self.exec_delay.setToolTip("Latency between decision and fill that the slippage model predicts over")
        self._row(f, "Execution delay (ms)", self.exec_delay, "exec_delay_ms")
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

    # --- building ----------------------------------------------------------------------
    def _number(self, accept: Callable[[float], bool], field: str, placeholder: str) -> NumberField:
        box = NumberField(accept, lambda reason: self._refuse(field, reason), placeholder)
        box.reverted.connect(lambda kept: self._note_kept(field, kept))
        return box

    def _row(self, form: QFormLayout, label: str, widget: QWidget | QLayout, param: str | None = None,
             field: QWidget | None = None) -> None:
        """One form row: ``field`` (default: ``widget``) gets ``label`` as its accessible name,
        and a parameter's row gets a message line under it for refusals."""
        if isinstance(widget, QLayout):
            host = QWidget()
            host.setLayout(widget)
            widget = host
        (field if field is not None else widget).setAccessibleName(label)
        form.addRow(label, widget)
        if param is not None:
            self._labels[param] = label
            error = QLabel()
            error.setObjectName("field_error")
            error.setWordWrap(True)
            error.setAccessibleName(f"{label} message")
            error.hide()
            form.addRow("", error)
            self.field_errors[param] = error

    # --- wiring ------------------------------------------------------------------------
    def _connect(self) -> None:
        self.side_group.buttonClicked.connect(
            lambda b: self._try(side="buy" if b is self.buy else "sell"))
        self.order_type.currentTextChanged.connect(self._on_order_type)
        self.slider.valueChangedLog.connect(self._on_quantity_slider)
        self.unit.currentIndexChanged.connect(self._on_unit)
        self.reference.currentTextChanged.connect(lambda t: self._try(reference=t))
        self.fee_tier.currentTextChanged.connect(lambda t: self._try(fee_tier=t))
        self.exchange.currentIndexChanged.connect(self._on_exchange)
        self.vol_override_on.toggled.connect(self._on_vol_toggle)
        self.instrument.currentTextChanged.connect(self._on_instrument)

    # --- public ------------------------------------------------------------------------
    @property
    def params(self) -> OrderParams:
        return self._params

    @property
    def instrument_id(self) -> str:
        return self._instrument.inst_id

    @property
    def venue(self) -> str:
        """The venue (registry name) the Exchange selector shows."""
        return self._venue

    @property
    def instrument_spec(self) -> Instrument:
        """The spec of the instrument shown, on the venue shown."""
        return self._instrument

    def load(self, params: OrderParams, inst_id: str) -> None:
        """Show ``params`` (already validated) on ``inst_id`` of the panel's venue (when it lists
        it) without emitting anything; the order is put on the instrument's exchange."""
        self._building = True
        note = ""
        try:
            p = params.validated()
            if self.instrument.findText(inst_id) >= 0:
                self.instrument.setCurrentText(inst_id)
                self._instrument = self._spec(inst_id)
            self.fee_tier.clear()
            self.fee_tier.addItems(self._tiers_for(self._instrument))
            p = p.with_(exchange=self._instrument.exchange)
            refusal = self._contracts_refusal() if p.unit == "contracts" else ""
            if refusal:  # stored in contracts, opened on an instrument without them
                p = p.with_(unit="usd", quantity=OrderParams().quantity)
                note = f"{refusal}; the order is now {format_number(p.quantity)} USD"
            self._params = p
            (self.buy if p.side == "buy" else self.sell).setChecked(True)
            self.order_type.setCurrentText(p.order_type)
            self.limit_offset.show_value(p.limit_offset_bps)
            self.limit_offset.setEnabled(p.order_type == "limit")
            self.unit.setCurrentIndex(UNITS.index(p.unit))
            self._show_quantity(p.quantity)
            self.reference.setCurrentText(p.reference)
            if self.fee_tier.findText(p.fee_tier) < 0 and self.fee_tier.count():
                # a stored tier this instrument's schedule does not have: the venue's regular tier
                p = self._params = p.with_(fee_tier=self._default_tier(self._tier_names()))
            self.fee_tier.setCurrentText(p.fee_tier)
            self.vol_override_on.setChecked(p.volatility_override is not None)
            self.vol_override.setEnabled(p.volatility_override is not None)
            self.vol_override.show_value(_percent(p.volatility_override))
            self.ac_lambda.show_value(p.ac_lambda)
            self.ac_horizon.show_value(p.ac_horizon_s)
            self.ac_steps.show_value(p.ac_steps)
            self.exec_delay.show_value(p.exec_delay_ms)
            self._show_units()
            self._set_error("")
            if note:
                self._set_error(note, "unit")
        finally:
            self._building = False

    def show_market(self, venue: str, symbol: str) -> None:
        """Show ``symbol`` on ``venue`` as if picked (the venue's symbols listed, its units, its
        fee tiers) without asking for a feed: the app calls this when the feed chose the market
        (a feed switch, a replay's own venue, a switch undone). A symbol the venue's data files
        do not list (a spec inferred from a live feed) is listed too."""
        inst = instrument_for(venue, symbol)
        symbols = venue_symbols(venue)
        if symbol not in symbols:
            symbols = [*symbols, symbol]
        self._building = True
        try:
            self._venue = venue
            self.exchange.setCurrentIndex(self.exchange.findData(venue))
            if [self.instrument.itemText(i) for i in range(self.instrument.count())] != symbols:
                self.instrument.clear()
                self.instrument.addItems(symbols)
            self.instrument.setCurrentText(symbol)
        finally:
            self._building = False
        self._set_instrument(inst)

    def set_market(self, mid: float, vol_annual: float, vol_updates: int, vol_state: str = "live",
                   vol_seconds: float = math.nan) -> None:
        """Live values the inputs show or convert with (mid for USD <-> base).

        The volatility is called live only when the estimator says so (``vol_state``, see
        core.compute.volatility.LiveVolatility); until then the label says it is warming up, for how
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
        """Set the quantity as the user would type it; False if refused."""
        return self.quantity.setValue(value)

    def enter(self, field: NumberField, text: str) -> bool:
        """Type ``text`` into ``field`` and press Enter, as the user would; False if refused."""
        field.setText(text)
        return field.commit()

    # --- handlers ----------------------------------------------------------------------
    def _try(self, **changes) -> bool:
        """Validate ``changes`` on top of the parameters in force; emit them, or refuse out loud."""
        if self._building:
            return False
        field = next(iter(changes))
        try:
            new = self._params.with_(**changes)
            if new.unit == "contracts" and self._contracts_refusal():
                raise InvalidParams(self._contracts_refusal(), "unit")
            new.in_book_terms(self._instrument)
            if self._check is not None:
                self._check(new, self._instrument)
        except InvalidParams as exc:
            self._refuse(exc.field or field, str(exc))
            return False
        except (TypeError, ValueError) as exc:
            self._refuse(field, str(exc))
            return False
        self._set_error("")
        if new != self._params:
            self._params = new
            self._show_hint()
            self.paramsChanged.emit(new)
        return True

    def _refuse(self, field: str, reason: str) -> None:
        label = self._labels.get(field, field)
        self._set_error(f"{label}: {reason}", field)

    def _note_kept(self, field: str, kept: str) -> None:
        """A refused text was replaced by the value in force: the message says which."""
        if self.error:
            self._set_error(f"{self.error.split(' (kept ')[0]} (kept {kept or 'empty'})", field)

    def _set_error(self, text: str, field: str = "") -> None:
        """Show ``text`` under the field it concerns and in the panel's message; "" clears."""
        self.error = text
        target = self.field_errors.get(field)
        for label in {id(v): v for v in self.field_errors.values()}.values():
            show = bool(text) and label is target
            label.setText(text if show else "")
            label.setVisible(show)
        self.message.setText(f"Refused: {text}" if text else "")
        self.message.setVisible(bool(text))
        self.messageChanged.emit(text)

    def _on_order_type(self, text: str) -> None:
        self.limit_offset.setEnabled(text == "limit")
        self._try(order_type=text)

    def _on_steps(self, value: float) -> bool:
        steps = int(value) if value.is_integer() else value  # 2.5 is refused, naming the field
        return self._try(ac_steps=steps)

    def _on_quantity_typed(self, value: float) -> bool:
        if not self._try(quantity=value):
            return False
        self.slider.set_log_value(value, self._unit_label(self._params.unit))
        return True

    def _on_quantity_slider(self, value: float) -> None:
        value = _round_sig(value, 3)
        if self._try(quantity=value):
            self.quantity.show_value(value)
            self.slider.show_pinned(value, self._unit_label(self._params.unit))

    def _on_unit(self, index: int) -> None:
        """Convert the order to the new unit exactly (no rounding, no range), or refuse it."""
        if self._building:
            return
        unit, p = UNITS[index], self._params
        if unit == p.unit:
            return
        try:
            q = convert_quantity(p.quantity, p.unit, unit, self._mid, self._instrument)
        except InvalidParams as exc:
            self._refuse("unit", str(exc))
            ok = False
        else:
            ok = self._try(unit=unit, quantity=q)
        if ok:
            self._show_quantity(q)
        else:  # back to the unit in force, visibly: the message says why
            self.unit.blockSignals(True)
            self.unit.setCurrentIndex(UNITS.index(p.unit))
            self.unit.blockSignals(False)

    def _on_vol_toggle(self, on: bool) -> None:
        self.vol_override.setEnabled(on)
        if not on:
            self._try(volatility_override=None)
        elif self.vol_override.text().strip():
            self.vol_override.commit(force=True)  # the value shown becomes the one in force

    def _on_instrument(self, inst_id: str) -> None:
        if self._building:
            return
        self._set_instrument(self._spec(inst_id))
        self.instrumentChanged.emit(inst_id)

    def _on_exchange(self, index: int) -> None:
        """Another venue picked: its symbols, the one nearest the instrument shown; the app is
        told (``venueChanged``) so that it can switch the feed (or ask for one)."""
        venue = self.exchange.itemData(index)
        if self._building or venue is None or venue == self._venue:
            return
        symbol = matching_symbol(self._instrument, venue_symbols(venue), venue)
        self.show_market(venue, symbol)
        self.venueChanged.emit(venue, symbol)

    def _spec(self, symbol: str) -> Instrument:
        return instrument_for(self._venue, symbol)

    def _set_instrument(self, inst: Instrument) -> None:
        """Price on ``inst`` from now on: the order on its exchange's fee table (the tier kept
        where it exists there, else the venue's regular tier) and, if it was in contracts and
        ``inst`` has none, the same order in what the old contracts were worth (said out loud)."""
        old, self._instrument = self._instrument, inst
        p, note = self._params, ""
        if p.unit == "contracts" and self._contracts_refusal():
            try:
                p = p.in_book_terms(old)
            except InvalidParams:
                p = p.with_(unit="usd", quantity=OrderParams().quantity)
            note = (f"{inst.inst_id} has no contracts: the order is now "
                    f"{format_number(p.quantity)} {self._unit_label(p.unit)}")
        tiers = self._tiers_for(inst)
        tier = p.fee_tier if p.fee_tier in tiers else self._default_tier(tiers)
        p = p.with_(exchange=inst.exchange, fee_tier=tier)
        self._building = True
        try:
            self.fee_tier.clear()
            self.fee_tier.addItems(tiers)
            self.fee_tier.setCurrentText(tier)
            self.unit.setCurrentIndex(UNITS.index(p.unit))
        finally:
            self._building = False
        changed = p != self._params
        self._params = p
        self._show_quantity(p.quantity)
        self._show_units()
        if note:
            self._set_error(note, "unit")
        if changed:
            self.paramsChanged.emit(p)

    def _tier_names(self) -> list[str]:
        return [self.fee_tier.itemText(i) for i in range(self.fee_tier.count())]

    def _default_tier(self, tiers: list[str]) -> str:
        """The venue's regular tier where its schedule lists it, else the schedule's first."""
        regular = get_venue(self._venue).fee_tier
        return regular if regular in tiers or not tiers else tiers[0]

    def _contracts_refusal(self) -> str:
        """Why an order cannot be counted in contracts of the instrument shown ("" if it can):
        only a venue whose books count contracts (OKX's swaps) has them."""
        inst = self._instrument
        if inst.size_unit == "contracts":
            return ""
        if inst.contract_type == "spot":
            return f"quantity in contracts: {inst.inst_id} is spot and has no contracts; use USD or {inst.base}"
        return (f"quantity in contracts: {inst.inst_id} on {venue_label(self._venue)} counts its sizes in "
                f"{inst.base}, not contracts; use USD or {inst.base}")

    # --- display -----------------------------------------------------------------------
    def _decades(self, unit: str) -> tuple[float, float]:
        if unit == "usd":
            return USD_DECADES
        if unit == "base":
            return BASE_DECADES
        try:
            per, per_unit = contract_terms(self._instrument)
        except InvalidParams:
            return BASE_DECADES
        lo, hi = USD_DECADES if per_unit == "usd" else BASE_DECADES
        shift = math.log10(per)
        return lo - shift, hi - shift

    def _configure_slider(self, unit: str) -> None:
        self.slider.set_decades(*self._decades(unit))

    def _show_quantity(self, q: float) -> None:
        self._configure_slider(self._params.unit)
        self.quantity.show_value(q)
        self.slider.set_log_value(q, self._unit_label(self._params.unit))

    def _unit_label(self, unit: str) -> str:
        return {"usd": "USD", "base": self._instrument.base}.get(unit, unit)

    def _show_units(self) -> None:
        inst: Instrument = self._instrument
        self.unit.setItemText(1, inst.base)
        has_contracts = inst.size_unit == "contracts"
        self.unit.setItemData(2, f"one contract is {inst.contract_value:g} "
                                 f"{inst.quote if inst.inverse else inst.base}" if has_contracts else
                              self._contracts_refusal(), Qt.ItemDataRole.ToolTipRole)
        item = self.unit.model().item(2)
        if item is not None:  # offered only where the venue's books count contracts
            item.setEnabled(has_contracts)
        self.book_unit.setText(inst.unit_label + (" · spec inferred" if inst.inferred else ""))
        self.book_unit.setToolTip(f"{inst.inst_id} is not in {venue_label(self._venue)}'s data files: "
                                  "a generic linear spec (contract value 1, finest tick and lot)"
                                  if inst.inferred else "")
        self._configure_slider(self._params.unit)
        self.slider.set_log_value(self._params.quantity, self._unit_label(self._params.unit))
        self._show_hint()

    def _show_hint(self) -> None:
        """The order in the other units, at the mid the panel was last given."""
        p, inst, mid = self._params, self._instrument, self._mid
        if not (math.isfinite(mid) and mid > 0):
            self.quantity_hint.setText("")
            return
        parts = []
        for unit, decimals in (("usd", 2), ("base", 4), ("contracts", 2)):
            if unit == p.unit or (unit == "contracts" and inst.size_unit != "contracts"):
                continue
            q = convert_quantity(p.quantity, p.unit, unit, mid, inst)
            parts.append(f"{num(q, decimals)} {self._unit_label(unit)}")
        self.quantity_hint.setText("≈ " + " · ".join(parts))


def _form(box: QGroupBox) -> QFormLayout:
    f = QFormLayout(box)
    f.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
    f.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    f.setHorizontalSpacing(10)
    f.setVerticalSpacing(5)
    f.setContentsMargins(8, 14, 8, 8)
    return f


def _hbox(*widgets: QWidget, grow: tuple[int, ...] = (0,)) -> QHBoxLayout:
    """A row of widgets; those at ``grow`` share the spare width."""
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    for i, w in enumerate(widgets):
        row.addWidget(w, 1 if i in grow else 0)
    return row


def _percent(fraction: float | None) -> float | None:
    """A fraction as the percent it was typed as (0.45 -> 45, not 45.00000000000001)."""
    return None if fraction is None else float(f"{fraction * 100:.12g}")


def _round_sig(x: float, digits: int) -> float:
    """Round to ``digits`` significant digits: slider values read as 2.35k, not 2,347.81."""
    if not x > 0:
        return x
    return round(x, -int(math.floor(math.log10(x))) + digits - 1)
