"""Snapshot export: the files and their contents, atomic writes, one error type on failure."""
from __future__ import annotations

import csv
import errno
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import orjson
import pytest

from core.engine import Engine
from core.export import ExportError, export_snapshot, write_file_atomic
from core.instruments import get_instrument
from core.params import OrderParams
from core.sim.market import SyntheticMarket


@pytest.fixture(scope="module")
def snapshot():
    market = SyntheticMarket(seed=5)
    engine = Engine(get_instrument("BTC-USDT-SWAP"), params=OrderParams(quantity=250_000, side="sell"))
    for _ in range(3):
        engine.ingest(market.goquant_message(market.step()))
    return engine.evaluate(feed={"state": "live", "synthetic": True, "source": "test"})


def rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_export_writes_every_file_with_every_level(tmp_path, snapshot):
    folder = export_snapshot(snapshot, tmp_path, {"t_s": np.arange(4.0), "mid": [1.0, math.nan, 3.0, 4.0]})
    assert folder.parent == tmp_path and folder.name.startswith("slipscope-BTC-USDT-SWAP-")
    assert sorted(p.name for p in folder.iterdir()) == ["book.csv", "cost_curve.csv", "manifest.json",
                                                        "snapshot.json", "timeseries.csv"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left

    book = rows(folder / "book.csv")
    b = snapshot.book
    assert len(book) == b.bid_px.size + b.ask_px.size
    bids = [r for r in book if r["side"] == "bid"]
    asks = [r for r in book if r["side"] == "ask"]
    assert [float(r["price"]) for r in bids] == b.bid_px.tolist()
    assert [float(r["size"]) for r in asks] == b.ask_sz.tolist()
    assert [float(r["size_base"]) for r in asks] == b.ask_qty.tolist()
    assert float(bids[-1]["cum_base"]) == pytest.approx(b.bid_qty.sum())
    assert float(asks[-1]["cum_usd"]) == pytest.approx((b.ask_px * b.ask_qty).sum())

    curve = rows(folder / "cost_curve.csv")
    assert len(curve) == snapshot.curve.quantities.size
    assert [float(r["quantity"]) for r in curve] == snapshot.curve.quantities.tolist()
    assert [int(r["levels"]) for r in curve] == snapshot.curve.levels.tolist()

    doc = orjson.loads((folder / "snapshot.json").read_bytes())
    assert doc["inputs"]["quantity"] == 250_000 and doc["inputs"]["side"] == "sell"
    assert doc["instrument"]["inst_id"] == "BTC-USDT-SWAP" and doc["instrument"]["unit_label"].startswith("contracts")
    assert doc["fill"]["avg_px"] == pytest.approx(snapshot.fill.avg_px)
    assert doc["book"]["bid_levels"] == 400 and doc["curve"]["points"] == len(curve)
    assert doc["feed"]["synthetic"] is True and doc["counters"]["applied"] == 3
    assert doc["estimate"] is None and doc["app"]["version"]
    assert set(doc) >= {"features", "latency_us", "model_parameters", "exported_at"}

    series = rows(folder / "timeseries.csv")
    assert [r["mid"] for r in series] == ["1.0", "", "3.0", "4.0"]  # NaN is an empty cell

    # one snapshot behind every file: the manifest names it, each file carries it
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    ident = manifest["snapshot"]
    assert ident["seq"] == snapshot.seq and ident["book_version"] == snapshot.book.version
    assert ident["recv_ns"] == snapshot.recv_ns and ident["synthetic"] is True
    assert set(manifest["files"]) == {"book.csv", "cost_curve.csv", "snapshot.json", "timeseries.csv"}
    assert doc["snapshot"] == ident
    for r in book + curve:
        assert (int(r["book_version"]), int(r["seq"])) == (snapshot.book.version, snapshot.seq)


def test_estimate_and_model_parameters_are_exported(tmp_path, snapshot):
    @dataclass(frozen=True)
    class Estimate:
        quantity_usd: float
        net_cost_usd: float
        maker_fraction: float
        model_parameters: dict

    snap = replace(snapshot, estimate=Estimate(250_000.0, 12.5, math.nan, {"eta": np.float64(1e-6)}))
    doc = orjson.loads((export_snapshot(snap, tmp_path) / "snapshot.json").read_bytes())
    assert doc["estimate"]["net_cost_usd"] == 12.5 and doc["estimate"]["maker_fraction"] is None
    assert doc["model_parameters"] == {"eta": 1e-6}


def test_two_exports_in_the_same_millisecond_get_two_folders(tmp_path, snapshot):
    a = export_snapshot(snapshot, tmp_path)
    b = export_snapshot(snapshot, tmp_path)
    assert a != b and a.is_dir() and b.is_dir()


def test_a_failing_export_leaves_nothing_behind_and_changes_nothing(tmp_path, snapshot):
    first = export_snapshot(snapshot, tmp_path)
    before = {p: p.read_bytes() for p in first.iterdir()}

    def disk_full(path: Path) -> None:
        path.write_bytes(b"half a PNG")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(ExportError, match="No space left on device"):
        export_snapshot(snapshot, tmp_path, extra_files={"chart.png": disk_full})
    assert list(tmp_path.iterdir()) == [first]  # no second folder, no staging folder
    assert {p: p.read_bytes() for p in first.iterdir()} == before


def test_export_into_a_file_path_is_an_export_error(tmp_path, snapshot):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(ExportError) as info:
        export_snapshot(snapshot, blocker)
    assert info.value.path == blocker


def test_files_added_later_are_atomic(tmp_path, snapshot):
    folder = export_snapshot(snapshot, tmp_path, extra_files={"depth.png": b"\x89PNG first"})
    assert (folder / "depth.png").read_bytes() == b"\x89PNG first"
    write_file_atomic(folder, "depth.png", b"\x89PNG second")
    assert (folder / "depth.png").read_bytes() == b"\x89PNG second"

    def broken(path: Path) -> None:
        path.write_bytes(b"partial")
        raise RuntimeError("renderer crashed")

    with pytest.raises(ExportError, match="renderer crashed"):
        write_file_atomic(folder, "depth.png", broken)
    assert (folder / "depth.png").read_bytes() == b"\x89PNG second"  # the old file, whole
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]
    with pytest.raises(ExportError):
        write_file_atomic(tmp_path / "missing", "x.png", b"")


def test_bad_inputs_are_export_errors(tmp_path, snapshot):
    with pytest.raises(ExportError, match="differ in length"):
        export_snapshot(snapshot, tmp_path, {"a": [1.0, 2.0], "b": [1.0]})
    with pytest.raises(ExportError, match="plain file name"):
        export_snapshot(snapshot, tmp_path, extra_files={"../escape.png": b""})
    assert list(tmp_path.iterdir()) == []
