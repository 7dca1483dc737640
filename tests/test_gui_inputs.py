"""Inputs priced as typed or refused out loud; freeze freezes the book, not the inputs.

Real widgets offscreen (pytest-qt), real Engine and cost models, the real embedded websocket
server for the end-to-end "book exhausted" check.
"""
from __future__ import annotations

import math

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFocusEvent
from PySide6.QtWidgets import (
    QAbstractButton, QApplication, QComboBox, QFormLayout, QLabel, QLineEdit, QSlider, QWidget,
)

from app.gui.feed_source import FeedChoice, WebsocketFeed
from core.engine import Engine
from core.instruments import get_instrument
from core.models.suite import CostModels
from core.params import InvalidParams, OrderParams, convert_quantity
from core.sim.market import SyntheticMarket
from tests.gui_support import qloop, settings_file  # noqa: F401 (fixtures)
from tests.test_gui_window import close, open_window
from widgets.inputs_panel import SLIDER_STEPS, InputsPanel, format_number, parse_number
from widgets.format import usd

pytestmark = pytest.mark.gui

MID = 100_000.0


def panel_for(qtbot, instruments=("BTC-USDT-SWAP", "BTC-USDT")) -> tuple[InputsPanel, list]:
    panel = InputsPanel(list(instruments), ["Lv1", "VIP1"])
    qtbot.addWidget(panel)
    panel.resize(320, 900)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_market(MID, 0.5, 10)
    emitted: list[OrderParams] = []
    panel.paramsChanged.connect(emitted.append)
    return panel, emitted


def type_into(qtbot, field: QLineEdit, text: str) -> None:
    """Select all, type ``text`` key by key and press Enter, as a user would."""
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, text)
    qtbot.keyClick(field, Qt.Key.Key_Return)


def leave(field: QLineEdit) -> None:
    """Focus leaves ``field`` (Tab): the event the platform delivers (offscreen windows are
    never active, so moving the focus itself sends nothing)."""
    QApplication.sendEvent(field, QFocusEvent(QEvent.Type.FocusOut, Qt.FocusReason.TabFocusReason))


# --- the parser -------------------------------------------------------------------------------
@pytest.mark.parametrize("text, value", [
    ("1e6", 1e6), ("1,000,000", 1e6), ("1e12", 1e12), ("1,000,000,000,000", 1e12),
    ("2.5k", 2500.0), ("1.1k", 1100.0), ("3M", 3e6), ("1.2bn", 1.2e9), (" 250 000 ", 250_000.0),
    ("0.000123456789", 0.000123456789), ("-5000", -5000.0), ("1,234.5", 1234.5),
])
def test_numbers_parse_as_typed(text, value):
    assert parse_number(text) == value  # exactly: decimal parsing, one rounding to float
    assert parse_number(format_number(value)) == value  # what a field shows reads back exactly


@pytest.mark.parametrize("text, reason", [
    ("abc", "must be a number"), ("", "empty"), ("1,5", "only separates thousands"),
    ("nan", "finite"), ("inf", "finite"), ("1e400", "beyond what a float holds"),
    ("1e", "must be a number"),
])
def test_numbers_that_mean_nothing_are_refused_with_the_reason(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_number(text)


# --- typed values -----------------------------------------------------------------------------
def test_quantity_is_priced_exactly_as_typed(qtbot):
    panel, emitted = panel_for(qtbot)
    for text, value in (("1e6", 1e6), ("1,000,000", 1e6), ("2.5k", 2500.0), ("1e12", 1e12)):
        type_into(qtbot, panel.quantity, text)
        assert panel.params.quantity == value and emitted[-1].quantity == value, text
        assert panel.quantity.text() == format_number(value) and not panel.error
    # 1e12 USD is beyond the slider's decades: the handle pins at its end, the value stands
    assert panel.slider.value() == SLIDER_STEPS and panel.slider.property("pinned") is True
    assert "typed value stands" in panel.slider.toolTip()
    assert panel.params.quantity == 1e12
    type_into(qtbot, panel.quantity, "250k")
    assert panel.slider.property("pinned") is False
    assert panel.slider.value() == panel.slider.to_position(250_000.0)
    # the slider still sets the quantity (3 significant digits)
    panel.slider.setValue(panel.slider.to_position(1e6))
    assert emitted[-1].quantity == pytest.approx(1e6, rel=1e-2)


@pytest.mark.parametrize("text, reason", [
    ("-5000", "quantity must be positive"), ("0", "quantity must be positive"),
    ("abc", "must be a number"), ("1e16", "at most 1e+15"),
])
def test_a_refused_quantity_says_why_next_to_its_field_and_keeps_the_order(qtbot, text, reason):
    panel, emitted = panel_for(qtbot)
    type_into(qtbot, panel.quantity, "1e6")
    before, n = panel.params, len(emitted)
    type_into(qtbot, panel.quantity, text)
    assert panel.params == before and len(emitted) == n  # the last valid inputs stay in force
    note = panel.field_errors["quantity"]
    assert note.isVisible() and note.text().startswith("Quantity:") and reason in note.text()
    assert panel.message.isVisible() and "Quantity" in panel.message.text()
    # the refused text stays, marked invalid, until corrected or focus leaves ...
    assert panel.quantity.text() == text and panel.quantity.property("invalid") is True
    leave(panel.quantity)
    # ... then the field reverts visibly and the message says what was kept
    assert panel.quantity.text() == "1,000,000" and panel.quantity.property("invalid") is False
    assert "kept 1,000,000" in note.text()
    type_into(qtbot, panel.quantity, "2e6")  # a valid value clears the message
    assert panel.params.quantity == 2e6 and not note.isVisible() and not panel.message.isVisible()


def test_model_inputs_are_taken_as_typed_and_limits_are_stated(qtbot):
    panel, _ = panel_for(qtbot)
    type_into(qtbot, panel.ac_horizon, "100000")  # a spin box made this 10000
    assert panel.params.ac_horizon_s == 100_000.0
    type_into(qtbot, panel.ac_lambda, "2.5e-7")
    assert panel.params.ac_lambda == 2.5e-7
    type_into(qtbot, panel.exec_delay, "1,500")
    assert panel.params.exec_delay_ms == 1500.0
    type_into(qtbot, panel.ac_steps, "1e2")
    assert panel.params.ac_steps == 100 and isinstance(panel.params.ac_steps, int)
    panel.order_type.setCurrentText("limit")
    type_into(qtbot, panel.limit_offset, "-2.5")
    assert panel.params.limit_offset_bps == -2.5
    before = panel.params
    for field, text, words in ((panel.ac_steps, "2.5", ("AC steps", "whole number", "1..1000")),
                               (panel.ac_steps, "1001", ("AC steps", "1..1000")),
                               (panel.exec_delay, "70000", ("Execution delay", "60000 ms")),
                               (panel.limit_offset, "2e4", ("Limit offset", "10000 bps")),
                               (panel.ac_horizon, "-1", ("AC horizon", "must be positive")),
                               (panel.ac_lambda, "-1", ("AC λ", ">= 0"))):
        type_into(qtbot, field, text)
        assert panel.params == before, text
        assert all(w in panel.error for w in words), (text, panel.error)
    panel.vol_override_on.setChecked(True)
    type_into(qtbot, panel.vol_override, "45")
    assert panel.params.volatility_override == pytest.approx(0.45)


def test_unit_switch_converts_exactly_without_clamping(qtbot):
    panel, emitted = panel_for(qtbot)
    panel.unit.setCurrentIndex(1)  # BTC
    type_into(qtbot, panel.quantity, "9,999")
    assert (panel.params.unit, panel.params.quantity) == ("base", 9999.0)
    panel.unit.setCurrentIndex(0)  # USD: a spin box clamped this to 100 M
    assert (emitted[-1].unit, emitted[-1].quantity) == ("usd", 9999.0 * MID)
    assert panel.quantity.text() == "999,900,000"
    type_into(qtbot, panel.quantity, "1e12")
    panel.unit.setCurrentIndex(1)
    assert (panel.params.unit, panel.params.quantity) == ("base", 1e12 / MID)


def test_quantity_in_contracts(qtbot):
    panel, emitted = panel_for(qtbot)
    type_into(qtbot, panel.quantity, "1e6")
    panel.unit.setCurrentText("contracts")  # BTC-USDT-SWAP: 0.01 BTC each
    assert (emitted[-1].unit, emitted[-1].quantity) == ("contracts", pytest.approx(1000.0))
    assert "10.0000 BTC" in panel.quantity_hint.text() and "USD" in panel.quantity_hint.text()
    type_into(qtbot, panel.quantity, "250")
    assert panel.params.in_book_terms(get_instrument("BTC-USDT-SWAP")) == \
        panel.params.with_(unit="base", quantity=2.5)
    # a spot instrument has no contracts: the order moves to what they were worth, out loud
    panel.instrument.setCurrentText("BTC-USDT")
    assert (panel.params.unit, panel.params.quantity) == ("base", 2.5)
    assert panel.unit.currentText() == "BTC" and "no contracts" in panel.error
    before = panel.params
    panel.unit.setCurrentText("contracts")
    assert panel.params == before and panel.unit.currentText() == "BTC"  # reverted visibly
    note = panel.field_errors["unit"]
    assert note.isVisible() and "BTC-USDT is spot and has no contracts" in note.text()


def test_contracts_are_priced_as_their_base_units_by_the_engine():
    inst = get_instrument("BTC-USDT-SWAP")
    market = SyntheticMarket(seed=3)
    engine = Engine(inst, params=OrderParams(quantity=25.0, unit="base"), models=CostModels(inst))
    engine.ingest(market.goquant_message(market.step()))
    base = engine.evaluate()
    contracts = engine.evaluate(OrderParams(quantity=2500.0, unit="contracts"))
    assert contracts.params.unit == "contracts" and contracts.params.quantity == 2500.0
    assert contracts.fill.unit == "base" and contracts.fill.quantity == 25.0
    assert contracts.fill.filled_base == base.fill.filled_base
    assert contracts.fill.filled_usd == base.fill.filled_usd
    assert contracts.estimate.net_cost_usd == pytest.approx(base.estimate.net_cost_usd)
    spot = Engine(get_instrument("BTC-USDT"))
    with pytest.raises(InvalidParams, match="no contracts"):
        spot.set_params(OrderParams(quantity=1.0, unit="contracts"))
    inverse = get_instrument("UNI-USD-SWAP")  # contracts of 10 USD
    assert OrderParams(quantity=3.0, unit="contracts").in_book_terms(inverse) == \
        OrderParams(quantity=30.0, unit="usd")
    assert convert_quantity(30.0, "usd", "contracts", 5.0, inverse) == 3.0


def test_every_input_has_an_accessible_name_equal_to_its_label(qtbot):
    panel, _ = panel_for(qtbot)
    rows = 0
    for form in panel.findChildren(QFormLayout):
        for i in range(form.rowCount()):
            label = form.itemAt(i, QFormLayout.ItemRole.LabelRole)
            field = form.itemAt(i, QFormLayout.ItemRole.FieldRole)
            if label is None or field is None or not label.widget().text():
                continue
            text, host = label.widget().text(), field.widget()
            named = [host] + host.findChildren(QWidget)
            assert any(w.accessibleName() == text for w in named), text
            rows += 1
    assert rows >= 14
    inputs = [w for w in panel.findChildren(QWidget)
              if isinstance(w, (QLineEdit, QComboBox, QAbstractButton, QSlider))]
    assert all(w.accessibleName() for w in inputs), [type(w).__name__ for w in inputs if not w.accessibleName()]
    names = {w.accessibleName() for w in inputs}
    for label in ("Quantity", "Quantity unit", "Order type", "Limit offset (bps)", "AC horizon (s)",
                  "AC steps", "AC λ (1/USD)", "Execution delay (ms)", "Volatility override (%)",
                  "Fee tier", "Instrument", "Exchange", "Slippage vs"):
        assert label in names
    assert panel.quantity.accessibleName() == "Quantity"
    side = [w for w in panel.findChildren(QWidget) if w.accessibleName() == "Side"]
    assert side and side[0].isAncestorOf(panel.buy)


def test_the_limit_offset_field_shows_its_sign_convention(qtbot):
    panel, _ = panel_for(qtbot)
    hints = [w.text() for w in panel.findChildren(QLabel)]
    assert "+ rests · − crosses" in hints
    assert "+ is passive" in panel.limit_offset.toolTip() and "crosses" in panel.limit_offset.toolTip()


# --- in the window ----------------------------------------------------------------------------
def test_one_trillion_usd_exhausts_the_embedded_synthetic_book(qtbot, qloop, settings_file, tmp_path):  # noqa: F811
    r = open_window(qtbot, qloop, settings_file, tmp_path,
                    factory=lambda inst_id: WebsocketFeed(FeedChoice(rate=20.0), inst_id))
    w = r.window
    try:
        qtbot.waitUntil(lambda: w.latest is not None and w.frames_drawn > 2, timeout=30_000)
        type_into(qtbot, w.inputs.quantity, "1e12")
        assert w.inputs.params.quantity == 1e12 and w.inputs.params.unit == "usd"
        qtbot.waitUntil(lambda: w.latest.params.quantity == 1e12, timeout=3000)
        snap = w.latest
        assert snap.fill.quantity == 1e12 and snap.fill.exhausted and snap.fill.unfilled > 0
        assert snap.fill.filled_usd < 1e10  # what the visible book holds, not the order
        qtbot.waitUntil(lambda: w.outputs.banner.isVisible(), timeout=2000)
        assert "Book exhausted" in w.outputs.banner.text()
    finally:
        close(qtbot, r)


def test_an_input_changed_while_frozen_is_priced_on_the_frozen_book(qtbot, qloop, settings_file, tmp_path):  # noqa: F811
    r = open_window(qtbot, qloop, settings_file, tmp_path, rate=50.0)
    w = r.window
    try:
        qtbot.waitUntil(lambda: w.latest is not None and w._drawn is not None and w.frames_drawn > 3,
                        timeout=15_000)
        w.freeze_action.trigger()
        assert w.frozen and w.frozen_badge.isVisible() and "FROZEN since" in w.frozen_badge.text()
        frozen = w._drawn
        type_into(qtbot, w.inputs.quantity, "1,500,000")
        # priced at once on the frozen book: the snapshot's book version stays the frozen one
        qtbot.waitUntil(lambda: w._drawn.params.quantity == 1_500_000.0, timeout=2000)
        shown = w._drawn
        assert shown.book.version == frozen.book.version and shown.book is frozen.book
        assert shown.features.mid == frozen.features.mid and shown.estimate is not None
        assert w.cost.marker_x == 1_500_000.0
        assert w.cost.mark.x == pytest.approx(math.log10(1_500_000.0))
        qtbot.waitUntil(lambda: w.outputs.cells("notional")[0].text() == usd(shown.fill.filled_usd),
                        timeout=1000)
        # meanwhile live books keep coming (and are priced with the new inputs too)
        qtbot.waitUntil(lambda: w.latest.book.version > frozen.book.version + 3
                        and w.latest.params.quantity == 1_500_000.0, timeout=3000)
        assert w._drawn.book.version == frozen.book.version
        w.live_action.trigger()  # going live resumes the newest book
        assert not w.frozen and not w.frozen_badge.isVisible()
        qtbot.waitUntil(lambda: w._drawn.book.version > frozen.book.version, timeout=2000)
    finally:
        close(qtbot, r)


def test_reprice_never_teaches_the_models_twice():
    inst = get_instrument("BTC-USDT-SWAP")
    market = SyntheticMarket(seed=4)
    models = CostModels(inst)
    engine = Engine(inst, params=OrderParams(quantity=250_000.0), models=models)
    engine.ingest(market.goquant_message(market.step()))
    frozen = engine.evaluate()
    observed = models.observed
    for q in (1e5, 1e6, 1e7):
        snap = engine.reprice(frozen, OrderParams(quantity=q))
        assert snap.book is frozen.book and snap.params.quantity == q and snap.estimate is not None
    assert models.observed == observed  # the frozen book was learnt from once, when it was new
    assert engine.params.quantity == 250_000.0  # the live inputs are the worker's to set
    engine.ingest(market.goquant_message(market.step()))
    assert engine.evaluate().book.version > frozen.book.version
    assert models.observed == observed + 1
