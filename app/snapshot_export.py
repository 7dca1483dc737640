"""Export a snapshot folder: PNGs of the window and each plot, CSVs and ``snapshot.json``.

Two halves, so the GUI thread never waits on the disk:
- :func:`collect` runs in the GUI thread: it renders the images (Qt paints only there) and
  takes the immutable snapshot plus a copy of the buffered time series. Fast.
- :meth:`ExportJob.write` runs on any thread: it writes everything into ``<name>.partial`` and
  renames it when complete, so a failed write (no space, no permission) leaves no half folder
  behind and nothing the app holds is touched. It raises ``OSError`` for the caller to report.

The CSV/JSON half is one call (:func:`write_data_files`) with the same layout as
``slipscope headless --export``.
"""
from __future__ import annotations

import csv
import dataclasses
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from PySide6.QtGui import QImage

from app import __version__
from core.snapshot import Snapshot
from widgets.estimate_view import summarise
from widgets.history import COLUMNS

TIMESERIES_HEADER = ("time_unix_s", "mid", "spread_bps", "best_bid", "best_ask",
                     "realised_slippage_bps", "predicted_slippage_bps", "predicted_lo_bps",
                     "predicted_hi_bps", "net_cost_bps", "exec_delay_s")
assert len(TIMESERIES_HEADER) == len(COLUMNS)


@dataclass
class ExportJob:
    snapshot: Snapshot
    timeseries: np.ndarray  # rows as widgets.history.COLUMNS (a copy)
    images: dict[str, QImage] = field(default_factory=dict)  # file stem -> image
    extra: dict[str, Any] = field(default_factory=dict)  # GUI-side figures for snapshot.json
    created: float = field(default_factory=time.time)

    def folder_name(self) -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self.created))
        return f"slipscope-{stamp}-{int(self.created * 1000) % 1000:03d}"

    def write(self, root: Path) -> Path:
        """Write the whole folder under ``root``; returns its path. Raises OSError."""
        root = Path(root)
        final = root / self.folder_name()
        partial = final.with_name(final.name + ".partial")
        root.mkdir(parents=True, exist_ok=True)
        partial.mkdir(parents=False, exist_ok=False)
        try:
            for stem, image in self.images.items():
                target = partial / f"{stem}.png"
                if not image.save(str(target), "PNG"):
                    raise OSError(f"could not write {target}")
            write_data_files(partial, self.snapshot, self.timeseries, self.extra)
            partial.rename(final)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        return final


def write_data_files(folder: Path, snap: Snapshot, timeseries: np.ndarray | None,
                     extra: dict[str, Any] | None = None) -> None:
    """book.csv, cost_curve.csv, timeseries.csv and snapshot.json for one snapshot."""
    _write_book(folder / "book.csv", snap)
    _write_curve(folder / "cost_curve.csv", snap)
    _write_timeseries(folder / "timeseries.csv", timeseries)
    (folder / "snapshot.json").write_bytes(
        orjson.dumps(snapshot_document(snap, extra or {}),
                     option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))


def _write_book(path: Path, snap: Snapshot) -> None:
    b = snap.book
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(("side", "level", "price", "size", "size_base", "cum_size_base", "notional_usd"))
        for side, px, sz, q in (("bid", b.bid_px, b.bid_sz, b.bid_qty), ("ask", b.ask_px, b.ask_sz, b.ask_qty)):
            cum = np.cumsum(q)
            for i in range(px.shape[0]):
                w.writerow((side, i + 1, repr(float(px[i])), repr(float(sz[i])), repr(float(q[i])),
                            repr(float(cum[i])), repr(float(px[i] * q[i]))))


def _write_curve(path: Path, snap: Snapshot) -> None:
    c = snap.curve
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow((f"quantity_{c.unit}", "filled_base", "filled_usd", "avg_px", "slippage_mid_bps",
                    "slippage_best_bps", "levels", "exhausted"))
        for i in range(c.quantities.shape[0]):
            w.writerow((_num(c.quantities[i]), _num(c.filled_base[i]), _num(c.filled_usd[i]),
                        _num(c.avg_px[i]), _num(c.slippage_mid_bps[i]), _num(c.slippage_best_bps[i]),
                        int(c.levels[i]), int(c.quantities[i] > c.max_fill)))


def _write_timeseries(path: Path, rows: np.ndarray | None) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(TIMESERIES_HEADER)
        if rows is None:
            return
        for row in rows:
            w.writerow([_num(v) for v in row])


def _num(v: float) -> str:
    v = float(v)
    return "" if not math.isfinite(v) else repr(v)


def _jsonable(obj: Any) -> Any:
    """Dataclasses, numpy values and NaN (-> null) as plain JSON values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    return obj


def snapshot_document(snap: Snapshot, extra: dict[str, Any]) -> dict[str, Any]:
    """Inputs, every output, model parameters, counters and version, as one JSON object."""
    s = summarise(snap)
    b = snap.book
    return {
        "slipscope_version": __version__,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "instrument": _jsonable(snap.instrument),
        "inputs": _jsonable(snap.params),
        "book": {"best_bid": _jsonable(b.best_bid), "best_ask": _jsonable(b.best_ask),
                 "bid_levels": int(b.bid_px.size), "ask_levels": int(b.ask_px.size),
                 "version": b.version, "ts_ms": b.ts_ms},
        "features": _jsonable(snap.features),
        "fill": _jsonable(snap.fill) | {"exhausted": snap.fill.exhausted},
        "cost_curve": {"unit": snap.curve.unit, "max_fill": _jsonable(snap.curve.max_fill),
                       "points": int(snap.curve.quantities.size)},
        "estimate": {
            "quantity_usd": s.quantity_usd, "slippage_bps": s.model_slippage_bps,
            "slippage_usd": s.model_slippage_usd, "fees_usd": s.fees_usd, "impact_usd": s.impact_usd,
            "net_cost_usd": s.net_cost_usd, "net_cost_bps": s.net_cost_bps,
            "maker_fraction": s.maker_fraction,
            "book_slippage_bps": s.book_slippage_bps, "book_slippage_usd": s.book_slippage_usd,
            "band": _jsonable(s.band), "decomposition": _jsonable(s.decomposition),
        },
        "model_parameters": _jsonable(s.model_params),
        "model_quality": _jsonable(s.quality),
        "model_raw": _jsonable(snap.estimate) if dataclasses.is_dataclass(snap.estimate) else None,
        "latency_us": _jsonable(snap.latency),
        "counters": _jsonable(snap.counters),
        "feed": _jsonable(snap.feed),
        "gui": _jsonable(extra),
    }
