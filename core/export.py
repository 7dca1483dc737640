"""Export one snapshot as files a person can open: a time-stamped folder of JSON and CSV.

``export_snapshot(snapshot, root_dir)`` creates ``root_dir/slipscope-<INST>-<UTC time>/`` with

- ``snapshot.json``: inputs (order parameters), instrument, every output (fill, features, cost
  curve summary, the models' estimate and parameters when present), counters, feed status,
  latency, app version;
- ``book.csv``: every level, bids then asks, best first: side, price, size in the book's unit,
  size in base units, cumulative base, cumulative USD (quote), and the book version and
  snapshot sequence number it comes from;
- ``cost_curve.csv``: the walk-the-book curve: quantity (in the order's unit), filled base/USD,
  average price, slippage vs mid and vs best (bps), levels touched, book version, sequence;
- ``timeseries.csv`` when the caller passes columns (name -> equal-length arrays);
- any ``extra_files`` the caller adds (the GUI's PNGs): bytes, or a function that writes a path;
- ``manifest.json``: which snapshot (sequence number, book version, book time, receive stamp)
  every file of the folder comes from; one export is one snapshot.

Nothing half-written is ever visible: the folder is assembled under a hidden temporary name
and renamed into place in one step, and files added later with :func:`write_file_atomic` go
through a temporary file and ``os.replace``. Any failure (no space, no permission, a writer
that raises) removes the temporary pieces, leaves every existing file as it was, and raises
:class:`ExportError` naming the path and the reason.
"""
from __future__ import annotations

import csv
import io
import math
import os
import shutil
import tempfile
import time
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import orjson

from core.snapshot import Snapshot

SNAPSHOT_JSON = "snapshot.json"
BOOK_CSV = "book.csv"
CURVE_CSV = "cost_curve.csv"
TIMESERIES_CSV = "timeseries.csv"
MANIFEST_JSON = "manifest.json"
BOOK_COLUMNS = ("side", "price", "size", "size_base", "cum_base", "cum_usd", "book_version", "seq")
CURVE_COLUMNS = ("quantity", "filled_base", "filled_usd", "avg_px", "slippage_mid_bps",
                 "slippage_best_bps", "levels", "book_version", "seq")

FileContent = bytes | Callable[[Path], None]


class ExportError(Exception):
    """An export could not be written; nothing already on disk was changed."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


def export_snapshot(snapshot: Snapshot, root_dir: str | Path,
                    timeseries: Mapping[str, np.ndarray | list] | None = None, *,
                    extra_files: Mapping[str, FileContent] | None = None,
                    version: str | None = None,
                    notes: Mapping[str, Mapping[str, Any]] | None = None) -> Path:
    """Write the export folder for ``snapshot`` under ``root_dir``; returns the folder's path.

    ``notes``: per file name, what ``manifest.json`` should add about it (a PNG's pixel size)."""
    root = Path(root_dir)
    files: dict[str, FileContent] = {
        SNAPSHOT_JSON: snapshot_json(snapshot, version),
        BOOK_CSV: book_csv(snapshot),
        CURVE_CSV: curve_csv(snapshot),
    }
    if timeseries:
        files[TIMESERIES_CSV] = timeseries_csv(timeseries)
    for name, content in (extra_files or {}).items():
        if Path(name).name != name or name.startswith(".") or name == MANIFEST_JSON:
            raise ExportError(f"export file name {name!r} must be a plain file name")
        files[name] = content
    files[MANIFEST_JSON] = manifest_json(snapshot, list(files), notes or {}, timeseries)
    return write_folder(root, folder_name(snapshot), files)


def write_folder(root_dir: str | Path, name: str, files: Mapping[str, FileContent]) -> Path:
    """Write ``files`` (relative paths, subfolders allowed: ``venues/okx_BTC/book.csv``) into a
    new folder ``name`` under ``root_dir``, all at once or not at all; returns its path."""
    root = Path(root_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".slipscope-export-", dir=root))
    except OSError as exc:
        raise ExportError(f"cannot export to {root}: {exc.strerror or exc}", root) from exc
    try:
        for rel, content in files.items():
            path = staging / rel
            if path.parent != staging:
                path.parent.mkdir(parents=True, exist_ok=True)
            _write(path, content)
        os.chmod(staging, 0o755)  # mkdtemp makes it private; an export is an ordinary folder
        return _publish(staging, root, name)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, ExportError):
            raise
        if isinstance(exc, OSError):
            raise ExportError(f"cannot export to {root}: {exc.strerror or exc}", root) from exc
        if isinstance(exc, Exception):
            raise ExportError(f"cannot export to {root}: {type(exc).__name__}: {exc}", root) from exc
        raise


def write_file_atomic(folder: str | Path, name: str, content: FileContent) -> Path:
    """Add (or replace) one file in an export folder atomically; e.g. a PNG after the export."""
    path = Path(folder) / name
    if not Path(folder).is_dir():
        raise ExportError(f"export folder {folder} does not exist", Path(folder))
    try:
        _write(path, content)
    except ExportError:
        raise
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}", path) from exc
    except Exception as exc:
        raise ExportError(f"cannot write {path}: {type(exc).__name__}: {exc}", path) from exc
    return path


def folder_name(snapshot: Snapshot, now_ns: int | None = None) -> str:
    """``slipscope-BTC-USDT-SWAP-20251124-160000-123`` (UTC, milliseconds)."""
    return stamped_name(snapshot.instrument.inst_id, now_ns)


def stamped_name(label: str, now_ns: int | None = None) -> str:
    """``slipscope-<label>-20251124-160000-123`` (UTC, milliseconds)."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    secs, rest = divmod(now_ns, 1_000_000_000)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(secs)) + f"-{rest // 1_000_000:03d}"
    return f"slipscope-{label}-{stamp}"


# --- contents ------------------------------------------------------------------------------

def identity(snapshot: Snapshot) -> dict[str, Any]:
    """What names one snapshot in every file of its export."""
    s = snapshot
    return {"instrument": s.instrument.inst_id, "seq": s.seq, "book_version": s.book.version,
            "book_ts_ms": s.book.ts_ms, "book_time_utc": utc_text(s.book.ts_ms),
            "recv_ns": s.recv_ns, "synthetic": bool((s.feed or {}).get("synthetic", False))}


def utc_text(ts_ms: float) -> str:
    """``2026-12-08 00:22:10.123 UTC`` for an epoch time in milliseconds ("" when not one)."""
    if not (isinstance(ts_ms, (int, float)) and math.isfinite(ts_ms) and ts_ms > 0):
        return ""
    secs, ms = divmod(int(round(ts_ms)), 1000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(secs)) + f".{ms:03d} UTC"


def manifest_json(snapshot: Snapshot, names: list[str], notes: Mapping[str, Mapping[str, Any]],
                  timeseries: Mapping[str, Any] | None = None) -> bytes:
    """Every file of the folder and the snapshot it comes from (all of them: this one)."""
    ident = identity(snapshot)
    which = {"seq": ident["seq"], "book_version": ident["book_version"]}
    files: dict[str, Any] = {}
    for name in names:
        entry: dict[str, Any] = dict(which)
        if name == TIMESERIES_CSV and timeseries:
            n = len(next(iter(timeseries.values())))
            entry = {"rows": n, "rows_up_to_seq": ident["seq"]}
        entry.update(notes.get(name, {}))
        files[name] = entry
    doc = {"snapshot": ident, "files": files}
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"


def snapshot_json(snapshot: Snapshot, version: str | None = None) -> bytes:
    s = snapshot
    inst = s.instrument
    estimate = s.estimate
    model_parameters = s.extras.get("model_parameters") if s.extras else None
    if model_parameters is None and estimate is not None:
        model_parameters = getattr(estimate, "model_parameters", None)
    doc = {
        "app": {"name": "slipscope", "version": version or app_version()},
        "exported_at": _iso_now(),
        "instrument": {**asdict(inst), "unit_label": inst.unit_label},
        "inputs": s.params.to_dict(),
        "book": {
            "version": s.book.version, "ts_ms": s.book.ts_ms, "best_bid": s.book.best_bid,
            "best_ask": s.book.best_ask, "bid_levels": int(s.book.bid_px.size),
            "ask_levels": int(s.book.ask_px.size), "size_unit": inst.unit_label,
        },
        "fill": {**asdict(s.fill), "exhausted": s.fill.exhausted},
        "features": asdict(s.features),
        "curve": curve_summary(s),
        "estimate": jsonable(estimate),
        "model_parameters": jsonable(model_parameters),
        "latency_us": asdict(s.latency),
        "counters": jsonable(s.counters),
        "feed": jsonable(s.feed),
        "seq": s.seq, "recv_ns": s.recv_ns, "ready_ns": s.ready_ns,
        "snapshot": identity(s),
        "extras": jsonable({k: v for k, v in (s.extras or {}).items() if k != "model_parameters"}),
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY) + b"\n"


def curve_summary(snapshot: Snapshot) -> dict[str, Any]:
    c = snapshot.curve
    n = int(c.quantities.size)
    return {
        "unit": c.unit, "points": n, "max_fill": c.max_fill,
        "quantity_min": float(c.quantities[0]) if n else None,
        "quantity_max": float(c.quantities[-1]) if n else None,
        "slippage_mid_bps_at_max": float(c.slippage_mid_bps[-1]) if n else None,
        "file": CURVE_CSV,
    }


def book_csv(snapshot: Snapshot) -> bytes:
    """Every level: bids best first, then asks best first, with cumulative base and USD."""
    b = snapshot.book
    ident = (b.version, snapshot.seq)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(BOOK_COLUMNS)
    for side, px, sz, qty in (("bid", b.bid_px, b.bid_sz, b.bid_qty), ("ask", b.ask_px, b.ask_sz, b.ask_qty)):
        cum_base = np.cumsum(qty)
        cum_usd = np.cumsum(px * qty)
        for row in zip(px.tolist(), sz.tolist(), qty.tolist(), cum_base.tolist(), cum_usd.tolist()):
            w.writerow((side, *map(_num, row), *ident))
    return out.getvalue().encode()


def curve_csv(snapshot: Snapshot) -> bytes:
    c = snapshot.curve
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CURVE_COLUMNS)
    cols = (c.quantities, c.filled_base, c.filled_usd, c.avg_px, c.slippage_mid_bps, c.slippage_best_bps)
    ident = (snapshot.book.version, snapshot.seq)
    for *values, levels in zip(*(col.tolist() for col in cols), c.levels.tolist()):
        w.writerow((*map(_num, values), int(levels), *ident))
    return out.getvalue().encode()


def timeseries_csv(columns: Mapping[str, np.ndarray | list]) -> bytes:
    arrays = {name: np.asarray(col).ravel() for name, col in columns.items()}
    lengths = {name: a.size for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ExportError(f"time series columns differ in length: {lengths}")
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(arrays)
    for row in zip(*(a.tolist() for a in arrays.values())):
        w.writerow([_num(v) if isinstance(v, float) else v for v in row])
    return out.getvalue().encode()


def jsonable(obj: Any, depth: int = 0) -> Any:
    """Dataclasses, mappings, sequences, NumPy values -> plain JSON types (NaN -> null)."""
    if depth > 8:
        return repr(obj)
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, np.generic):
        return jsonable(obj.item(), depth + 1)
    if isinstance(obj, np.ndarray):
        return [jsonable(v, depth + 1) for v in obj.tolist()]
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name), depth + 1) for f in fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [jsonable(v, depth + 1) for v in obj]
    for method in ("to_dict", "_asdict"):
        if callable(getattr(obj, method, None)):
            return jsonable(getattr(obj, method)(), depth + 1)
    if hasattr(obj, "__dict__"):
        return {k: jsonable(v, depth + 1) for k, v in vars(obj).items() if not k.startswith("_")}
    return repr(obj)


# --- writing -------------------------------------------------------------------------------

def _write(path: Path, content: FileContent) -> None:
    """Temporary file in the same folder, fsync, rename: the file appears whole or not at all."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        if callable(content):
            os.close(fd)
            fd = -1
            content(tmp)
        else:
            with os.fdopen(fd, "wb") as fh:
                fd = -1
                fh.write(content)
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        tmp.unlink(missing_ok=True)
        raise


def _publish(staging: Path, root: Path, name: str) -> Path:
    """Rename the finished folder into place, never over an existing one."""
    for attempt in range(100):
        target = root / (name if attempt == 0 else f"{name}-{attempt}")
        try:
            os.rename(staging, target)  # fails on an existing non-empty folder: try the next name
            return target
        except OSError:
            if not target.exists():
                raise
    raise ExportError(f"cannot find a free export folder name under {root}", root)


def _num(value: float) -> str:
    return repr(value) if math.isfinite(value) else ""


def _iso_now() -> str:
    ns = time.time_ns()
    secs, rest = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{rest // 1_000_000:03d}Z"


def app_version() -> str:
    try:
        from importlib.metadata import version
        return version("slipscope")
    except Exception:
        return "unknown"
