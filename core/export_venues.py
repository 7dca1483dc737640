"""Export one :class:`VenuesSnapshot` (several venues and the split) as one folder.

``export_venues(snap, root_dir)`` creates ``root_dir/slipscope-venues-<UTC time>/`` with

- ``venues/<venue>_<symbol>/book.csv``: that venue's book, bids then asks, best first: side,
  price, size in the venue's unit, size in base units, cumulative base, cumulative USD, and
  the book version and snapshot sequence number (``core.export.book_csv``);
- ``venues/<venue>_<symbol>/snapshot.json``: its state, fee rates (``taker_rate``,
  ``maker_rate``), ``contract_value``, lot, the venue's estimate for the whole order alone,
  its feed status and the snapshot it comes from;
- ``best_execution.json``: ``BestExecution.to_dict(full=True)`` and the snapshot's note;
- ``split.csv``: one row per level the split takes: venue, symbol, side, price, base, fee_rate;
- ``manifest.json``: which snapshot of which venue every file comes from.

Every file comes from the same VenuesSnapshot: the split was priced on exactly the books in
the book.csv files (the same arrays), so a reader can re-price it from them alone. Writing is
``core.export.write_folder``'s: the folder appears whole or not at all.
"""
from __future__ import annotations

import csv
import io
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

from core.compute.best_execution import split_rows
from core.export import (
    BOOK_COLUMNS, BOOK_CSV, MANIFEST_JSON, SNAPSHOT_JSON, FileContent, _iso_now, _num, app_version, book_csv,
    identity, jsonable, stamped_name, utc_text, write_folder,
)
from core.feed.venue_set import VenuesSnapshot

BEST_EXECUTION_JSON = "best_execution.json"
SPLIT_CSV = "split.csv"
SPLIT_COLUMNS = ("venue", "symbol", "side", "price", "base", "fee_rate")
JSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY


def venue_folder(venue: str, symbol: str) -> str:
    return f"venues/{venue}_{symbol}"


def export_venues(snap: VenuesSnapshot, root_dir: str | Path, version: str | None = None) -> Path:
    """Write the export folder for ``snap`` under ``root_dir``; returns its path (ExportError)."""
    files: dict[str, FileContent] = {}
    notes: dict[str, dict[str, Any]] = {}
    estimates = {(e.venue, e.symbol): e for e in snap.result.venues} if snap.result is not None else {}
    for i, book in enumerate(snap.books):
        folder = venue_folder(book.venue, book.symbol)
        engine_snap = snap.snapshots[i] if i < len(snap.snapshots) else None
        which = {"venue": book.venue, "symbol": book.symbol, "state": book.state,
                 **(_which(engine_snap) if engine_snap is not None else {"seq": None, "book_version": None})}
        files[f"{folder}/{BOOK_CSV}"] = book_csv(engine_snap) if engine_snap is not None else _header(BOOK_COLUMNS)
        files[f"{folder}/{SNAPSHOT_JSON}"] = _venue_json(snap, i, estimates.get(book.key), version)
        notes[f"{folder}/{BOOK_CSV}"] = notes[f"{folder}/{SNAPSHOT_JSON}"] = which
    files[BEST_EXECUTION_JSON] = _best_execution_json(snap)
    files[SPLIT_CSV] = split_csv(snap)
    files[MANIFEST_JSON] = _manifest(snap, list(files), notes)
    return write_folder(root_dir, stamped_name("venues"), files)


def split_csv(snap: VenuesSnapshot) -> bytes:
    """``split.csv``: one row per level the rounded legs take (``best_execution.split_rows``)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(SPLIT_COLUMNS)
    if snap.result is not None:
        rows = iter(split_rows(snap.books, snap.result))  # leg by leg, ``leg.levels`` rows each
        for leg in snap.result.legs:
            for _ in range(leg.levels):
                venue, side, price, base, fee = next(rows)
                w.writerow((venue, leg.symbol, side, _num(price), _num(base), repr(fee)))
    return out.getvalue().encode()


def _which(engine_snap) -> dict[str, Any]:
    return {"seq": engine_snap.seq, "book_version": engine_snap.book.version}


def _header(columns: tuple[str, ...]) -> bytes:
    return (",".join(columns) + "\n").encode()


def _venue_json(snap: VenuesSnapshot, i: int, estimate, version: str | None) -> bytes:
    book = snap.books[i]
    spec = snap.specs[i] if i < len(snap.specs) else {}
    engine_snap = snap.snapshots[i] if i < len(snap.snapshots) else None
    doc = {
        "app": {"name": "slipscope", "version": version or app_version()},
        "exported_at": _iso_now(),
        "venue": book.venue, "symbol": book.symbol, "state": book.state,
        **{k: v for k, v in spec.items() if k not in ("venue", "symbol")},
        "book": {"best_bid": book.best_bid, "best_ask": book.best_ask, "mid": book.mid,
                 "bid_levels": int(book.bid_px.shape[0]), "ask_levels": int(book.ask_px.shape[0]),
                 "size_unit": spec.get("unit_label"), "file": BOOK_CSV},
        "estimate": estimate.to_dict() if estimate is not None else None,
        "feed": snap.feeds[i] if i < len(snap.feeds) else None,
        "snapshot": identity(engine_snap) if engine_snap is not None else None,
    }
    return orjson.dumps(jsonable(doc), option=JSON_OPTIONS) + b"\n"


def _best_execution_json(snap: VenuesSnapshot) -> bytes:
    doc = {"order": asdict(snap.order), "note": snap.note, "time_ns": snap.time_ns,
           "best_execution": snap.result.to_dict(full=True) if snap.result is not None else None}
    return orjson.dumps(jsonable(doc), option=JSON_OPTIONS) + b"\n"


def _manifest(snap: VenuesSnapshot, names: list[str], notes: dict[str, dict[str, Any]]) -> bytes:
    """Every file of the folder and the venue snapshot it comes from (all: this VenuesSnapshot)."""
    venues = []
    for i, book in enumerate(snap.books):
        engine_snap = snap.snapshots[i] if i < len(snap.snapshots) else None
        venues.append({"venue": book.venue, "symbol": book.symbol, "state": book.state,
                       **(identity(engine_snap) if engine_snap is not None else {})})
    moment = {"time_ns": snap.time_ns, "time_utc": utc_text(snap.time_ns / 1e6)}
    files = {name: notes.get(name, moment) for name in names}
    doc = {"snapshot": {**moment, "order": asdict(snap.order), "venues": venues}, "files": files}
    return orjson.dumps(jsonable(doc), option=JSON_OPTIONS) + b"\n"

