"""The History view of a costs.parquet: real Qt widgets offscreen, real rows from the analysis."""
from __future__ import annotations

import numpy as np

from core.history import outputs
from core.history.evaluate import EvalSpec
from tests.test_analyze import ELON, UNI, rows_of
from widgets.analysis_view import AnalysisView, time_unit


def _curves(plot) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {item.name(): item.getData() for item in plot.listDataItems()}


def test_the_view_draws_the_picked_instrument_and_side_from_costs_parquet(qtbot, tmp_path):
    outputs.write_parquet(rows_of([UNI, ELON], EvalSpec((1e4, 1e5))), tmp_path / "costs.parquet")
    cols = outputs.read_parquet(tmp_path / "costs.parquet")
    view = AnalysisView()
    qtbot.addWidget(view)
    view.show_analysis(cols, "Trading costs: test")
    assert [view.instrument.itemText(i) for i in range(view.instrument.count())] == \
        ["UNI-USD-SWAP on okx", "ELON-USDT on okx"]
    assert view.side.currentText() == "buy" and view.title.text() == "Trading costs: test"
    curves = _curves(view.cost)
    assert set(curves) == {f"{q:g} p{p}" for q in (1e4, 1e5) for p in (50, 90, 99)}
    sel = (cols["symbol"] == "UNI-USD-SWAP") & (cols["side"] == "buy") & (cols["quantity"] == 1e5)
    shown = cols["book_ts_ms"][(cols["symbol"] == "UNI-USD-SWAP") & (cols["side"] == "buy")]
    per, unit = time_unit(float(shown.max() - shown.min()))
    assert view.cost.getAxis("bottom").labelText == f"{unit} since the first book"
    hours = (cols["book_ts_ms"][sel] - shown.min()) / per
    x, y = outputs.binned(hours, cols["net_cost_bps"][sel], 90)
    assert np.allclose(curves["100000 p90"][1], y) and np.allclose(curves["100000 p90"][0], x)
    assert set(_curves(view.depth)) == {"10 bps", "50 bps"}
    before = curves["10000 p50"][1]
    view.side.setCurrentText("sell")
    after = _curves(view.cost)["10000 p50"][1]
    assert not np.array_equal(before, after)  # the other side of the book
    view.instrument.setCurrentIndex(1)
    assert view.selection().sum() == np.sum((cols["symbol"] == "ELON-USDT") & (cols["side"] == "sell"))


def test_every_control_is_named_as_its_label(qtbot):
    from PySide6 import QtWidgets

    view = AnalysisView()
    qtbot.addWidget(view)
    for label in view.findChildren(QtWidgets.QLabel):
        assert label.accessibleName() == label.text()
        if label.buddy() is not None:
            assert label.buddy().accessibleName() == label.text()
    view.show_analysis({k: v[:0] for k, v in rows_of([UNI], EvalSpec((1e4,))).items()}, "empty")
    assert _curves(view.cost) == {}  # no rows: nothing drawn, nothing raised


def test_the_time_axis_unit_follows_the_span():
    assert time_unit(30_000.0) == (1000.0, "seconds")
    assert time_unit(3 * 60_000.0) == (60_000.0, "minutes")
    assert time_unit(24 * 3_600_000.0) == (3_600_000.0, "hours")
