"""The window says whether the volatility it shows is live or still warming up (issue 10, item 6)."""
from __future__ import annotations

import math

import pytest

from core.params import OrderParams
from tests.gui_support import qloop, settings_file  # noqa: F401 (fixtures)
from widgets.format import pct
from widgets.inputs_panel import InputsPanel

pytestmark = pytest.mark.gui


def test_inputs_panel_labels_the_volatility_warming_up_or_live(qtbot):
    panel = InputsPanel(["BTC-USDT-SWAP"], ["Lv1"])
    qtbot.addWidget(panel)
    panel.set_market(95_000.0, math.nan, 0, "warming up", 0.0)
    assert panel.vol_live.text() == "warming up: prior in use"
    panel.set_market(95_000.0, math.nan, 42, "warming up", 4.2)
    assert panel.vol_live.text() == "warming up (4 s): prior in use"
    panel.load(OrderParams(volatility_override=0.5), "BTC-USDT-SWAP")
    panel.set_market(95_000.0, math.nan, 42, "warming up", 4.2)
    assert panel.vol_live.text() == "warming up (4 s): override in use"
    panel.set_market(95_000.0, 0.213, 150, "live", 15.0)
    assert panel.vol_live.text() == f"{pct(0.213)} ann. · live" == "21.3 % ann. · live"


def test_window_shows_the_live_figure_of_its_snapshot(qtbot, qloop, settings_file, tmp_path):  # noqa: F811
    from tests.test_gui_window import close, open_window

    r = open_window(qtbot, qloop, settings_file, tmp_path, rate=100.0)  # 10 s of market time per s
    w = r.window
    try:
        qtbot.waitUntil(lambda: w.latest is not None and w.latest.features.vol_state == "live"
                        and "live" in w.inputs.vol_live.text(), timeout=20_000)
        f = w.latest.features
        assert f.vol_seconds >= 10.0 and f.vol_updates >= 50
        shown = float(w.inputs.vol_live.text().split(" %")[0]) / 100
        assert shown == pytest.approx(f.vol_annual, rel=0.05)  # a refresh or two behind at most
    finally:
        close(qtbot, r)
