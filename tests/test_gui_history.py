"""File > Open analysis: a ``slipscope analyze`` result shown in the window's History tab, and
files that are not one refused out loud (naming the file) without touching what is shown."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from core.history import outputs
from core.history.evaluate import EvalSpec
from tests.gui_support import qloop, settings_file  # noqa: F401 (fixtures)
from tests.test_analyze import ELON, UNI, rows_of
from tests.test_gui_window import app_window  # noqa: F401 (fixture)


def test_an_analysis_opens_in_the_history_tab(qtbot, app_window, tmp_path):  # noqa: F811
    w = app_window.window
    path = tmp_path / "run" / "costs.parquet"
    path.parent.mkdir()
    outputs.write_parquet(rows_of([UNI, ELON], EvalSpec((1e4, 1e5))), path)
    assert "History" not in w.plot_area.views  # no tab until an analysis is opened
    assert w.open_analysis(path)
    view = w.analysis_view
    assert w.plot_area.view_shown("History") and view.isVisible()
    assert view.title.text().startswith("History · run/costs.parquet · ") and view.title.accessibleName() == view.title.text()
    assert [view.instrument.itemText(i) for i in range(view.instrument.count())] == \
        ["UNI-USD-SWAP on okx", "ELON-USDT on okx"]
    assert view.cost.listDataItems()  # drawn
    assert "Opened" in w.message_label.text()
    tabs = [w.plot_area.tabs.tabText(i) for i in range(w.plot_area.tabs.count())]
    assert tabs.count("History") == 1
    assert w.open_analysis(path) and [w.plot_area.tabs.tabText(i) for i in range(w.plot_area.tabs.count())] == tabs


def test_a_file_that_is_not_an_analysis_is_refused_naming_it(qtbot, app_window, tmp_path):  # noqa: F811
    w = app_window.window
    junk = tmp_path / "notes.parquet"
    junk.write_text("not parquet")
    assert not w.open_analysis(junk)
    assert "notes.parquet" in w.message_label.text() and "not a parquet file" in w.message_label.text()
    assert "History" not in w.plot_area.views
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"venue": ["okx"], "price": [1.0]}), other)
    assert not w.open_analysis(other)
    assert "not a slipscope analysis" in w.message_label.text() and "symbol" in w.message_label.text()
    assert not w.open_analysis(tmp_path / "missing.parquet") and "no such file" in w.message_label.text()
    good = tmp_path / "costs.parquet"
    outputs.write_parquet(rows_of([UNI], EvalSpec((1e4,))), good)
    assert w.open_analysis(good)
    assert not w.open_analysis(junk)  # refused: the tab keeps the analysis it showed
    assert w.analysis_view.instrument.currentText() == "UNI-USD-SWAP on okx"
