"""headless's ``timeseries.csv`` rows: a ring buffer bounded in bytes, the same columns as before."""
from __future__ import annotations

import math

import numpy as np
import pytest

from core.decision_series import COL, COLUMNS, DecisionRows, until
from core.engine import Engine
from core.feed.headless import LABEL_COLUMNS, _Series
from core.models import CostModels
from core.params import OrderParams
from core.ringbuffer import FLOAT_BYTES, RingBuffer
from core.sim.market import SyntheticMarket
from core.venues import get_venue

ROW_BYTES = len(COLUMNS) * FLOAT_BYTES


def _snapshots(n: int, delay_ms: float = 250.0):
    """``n`` snapshots of one order priced with the models on the synthetic market (10 books/s:
    a 250 ms delay resolves each label three books later)."""
    market = SyntheticMarket(seed=3)
    engine = Engine(market.instrument, "goquant", OrderParams(quantity=50_000, exec_delay_ms=delay_ms),
                    models=CostModels(market.instrument))
    encoder = get_venue("goquant").encoder(market)
    out = []
    for _ in range(n):
        engine.ingest(encoder.update_text(market.step()))
        snap = engine.evaluate()
        if snap is not None:
            out.append(snap)
    return out


class _ListSeries:
    """The series as it was kept before the ring buffer: one array per row in a list, for
    comparing the export's content."""

    def __init__(self) -> None:
        self.decisions = DecisionRows()
        self.rows: list[np.ndarray] = []

    def add(self, snap, wall_s: float) -> None:
        self._labels(snap)
        row, pending = self.decisions.row(snap, wall_s)
        self.rows.append(np.array(row))
        self.decisions.schedule(len(self.rows) - 1, pending)
        if pending is not None and pending.due_ms <= snap.book.ts_ms:
            self._labels(snap)

    def _labels(self, snap) -> None:
        for label in self.decisions.resolve(snap):
            self.rows[label.row_id][LABEL_COLUMNS] = (label.label_bps, label.time_ms, label.seq)

    def arrays(self, seq: int):
        rows = np.array(self.rows) if self.rows else np.empty((0, len(COLUMNS)))
        return self.decisions.columns(until(rows, seq))


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b, equal_nan=True)
    return list(a) == list(b)


@pytest.fixture(scope="module")
def snaps():
    return _snapshots(120)


@pytest.fixture
def fixed_clock(monkeypatch):
    """The rows' wall clock, the same for both series."""
    ticks = iter(range(10**9))
    monkeypatch.setattr("core.feed.headless.time.time", lambda: 1.7e9 + next(ticks) * 0.1)


@pytest.mark.parametrize("delay_ms", [250.0, 0.0])
def test_ring_series_exports_the_same_columns_as_the_list_it_replaces(fixed_clock, delay_ms):
    snaps = _snapshots(60, delay_ms)
    ring, plain = _Series(), _ListSeries()
    for k, snap in enumerate(snaps):
        ring.add(snap)
        plain.add(snap, 1.7e9 + k * 0.1)
    labelled = plain.arrays(snaps[-1].seq)["label_bps"]
    assert np.isfinite(labelled).sum() >= 40  # labels resolved: the comparison covers them
    for seq in (snaps[-1].seq, snaps[30].seq):  # the export of the last snapshot and of an earlier one
        got, want = ring.arrays(seq), plain.arrays(seq)
        assert list(got) == list(want) == list(COLUMNS)
        for name in COLUMNS:
            assert _same(got[name], want[name]), name


def test_series_memory_is_bounded_in_bytes_and_keeps_the_newest_rows(snaps, fixed_clock):
    budget = 40 * ROW_BYTES + ROW_BYTES // 2  # room for 40 rows
    ring, plain = _Series(max_bytes=budget), _ListSeries()
    before = ring.rows.nbytes
    for k, snap in enumerate(snaps):
        ring.add(snap)
        plain.add(snap, 1.7e9 + k * 0.1)
    assert before == ring.rows.nbytes <= budget  # allocated once, never grown
    assert len(ring.rows) == 40 and ring.rows.total == len(snaps)
    got, want = ring.arrays(snaps[-1].seq), plain.arrays(snaps[-1].seq)
    for name in COLUMNS:
        assert _same(got[name], want[name][-40:]), name  # the newest 40, labels included
    assert np.isfinite(got["label_bps"]).sum() >= 35


def test_default_series_budget_is_64_mib():
    series = _Series()
    assert series.rows.nbytes <= 64 * 1024 * 1024 < series.rows.nbytes + ROW_BYTES
    assert series.rows.capacity == 64 * 1024 * 1024 // ROW_BYTES


def test_unmirrored_ring_rows_come_out_oldest_first_across_the_wrap():
    rb = RingBuffer(4, 2, mirror=False)
    assert rb.nbytes == 4 * 2 * FLOAT_BYTES and rb.rows().shape == (0, 2)
    for i in range(3):
        rb.append((i, -i))
    assert rb.rows()[:, 0].tolist() == [0, 1, 2]
    for i in range(3, 10):
        rb.append((i, -i))
    assert rb.rows()[:, 0].tolist() == [6, 7, 8, 9] and rb.total == 10
    assert rb.set_value(7, [0, 1], (70, 71)) and not rb.set_value(5, 0, 1.0)  # row 5 has left
    assert rb.rows().tolist() == [[6, -6], [70, 71], [8, -8], [9, -9]]
    with pytest.raises(TypeError):
        rb.view()


def test_ring_within_a_byte_budget():
    mirrored = RingBuffer.within(1000, 3)
    assert mirrored.capacity == 1000 // (2 * 3 * FLOAT_BYTES) and mirrored.nbytes <= 1000
    assert RingBuffer.within(1000, 3, mirror=False).capacity == 1000 // (3 * FLOAT_BYTES)
    with pytest.raises(ValueError):
        RingBuffer.within(10, 3)
    assert math.isnan(mirrored.last()[0])
