"""What ``slipscope analyze`` reads: slipscope recordings and Tardis.dev book snapshot CSVs.

A recording is decoded by its own venue's feed (the recording header names it), exactly as
``headless --replay`` does. A Tardis ``book_snapshot_25`` / ``book_snapshot_5`` row is a whole
book: it is applied to the Engine's :class:`~core.book.order_book.OrderBook` with
``apply_snapshot``, the call a venue's snapshot frame ends in. Nothing here parses a venue's
frames a second way.
"""
from __future__ import annotations

import csv
import glob
import gzip
import io
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from core.instruments import UnknownInstrument
from core.recording.recorder import RecordingError, read_recording
from core.venues import instrument_for

RECORDING = "recording"
TARDIS_SNAPSHOT = "tardis-book-snapshot"
TARDIS_INCREMENTAL = "tardis-incremental-l2"
INCREMENTAL_HEADER = b"exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"
GZIP_MAGIC = b"\x1f\x8b"
US_PER_MS = 1000.0
NS_PER_US = 1000
#: Tardis.dev exchange ids -> the registry's venue names (only venues the registry holds are read)
TARDIS_VENUES = {"okex": "okx", "okex-swap": "okx", "okex-futures": "okx", "okx": "okx",
                 "okx-swap": "okx", "okx-futures": "okx", "binance": "binance-spot",
                 "binance-futures": "binance-usdm", "bybit": "bybit-linear", "bybit-spot": "bybit-spot"}


class InputError(Exception):
    """One input cannot be analysed (the message names the file and the reason)."""


@dataclass(frozen=True)
class Source:
    """One input file, recognised: its kind, venue, instrument and where the data came from."""

    path: str
    kind: str  # RECORDING or TARDIS_SNAPSHOT
    venue: str  # registry name
    symbol: str
    origin: str  # "OKX public websocket", "synthetic", "Tardis.dev book_snapshot_25", ...
    synthetic: bool = False


@dataclass(frozen=True, slots=True)
class TardisBook:
    """One Tardis snapshot row as arrays (best first, empty levels dropped)."""

    t_ns: int  # local_timestamp: when the book was received
    ts_ms: float  # exchange timestamp
    bid_px: np.ndarray
    bid_sz: np.ndarray
    ask_px: np.ndarray
    ask_sz: np.ndarray


def expand(patterns: list[str]) -> list[Path]:
    """Files named by ``patterns``: files as given, folders' files sorted, globs expanded."""
    out: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise InputError(f"{pattern}: no file matches")
        for match in map(Path, matches):
            if match.is_dir():
                out += sorted(p for p in match.rglob("*") if p.is_file())
            elif match.is_file():
                out.append(match)
            else:
                raise InputError(f"{match}: no such file or folder")
    return list(dict.fromkeys(out))


def identify(path: Path) -> Source:
    """Recognise ``path`` from its first line; an InputError names the file and why not."""
    first = _first_line(path)
    if first.startswith(INCREMENTAL_HEADER):
        return _tardis_source(path, TARDIS_INCREMENTAL)
    if first.startswith(b"exchange,symbol,timestamp,local_timestamp,asks[0].price"):
        return _tardis_source(path, TARDIS_SNAPSHOT)
    if first.startswith(b"exchange,symbol,timestamp,local_timestamp,"):
        raise InputError(f"{path}: a Tardis CSV of a kind slipscope does not read (not book_snapshot_* "
                         "or incremental_book_L2)")
    try:
        rec = read_recording(path)
    except RecordingError as exc:
        raise InputError(str(exc)) from None
    header = rec.header
    if not header.inst_ids:
        raise InputError(f"{path}: not a recording slipscope reads (no instrument in its first line)")
    try:
        instrument_for(header.feed, header.inst_ids[0])
    except (ValueError, UnknownInstrument) as exc:
        raise InputError(f"{path}: {exc}") from None
    origin = f"{header.feed} {header.source or header.url or 'recording'}"
    return Source(str(path), RECORDING, header.feed, header.inst_ids[0], origin, header.synthetic)


def _first_line(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
            fh.seek(0)
            stream = gzip.GzipFile(fileobj=fh) if head == GZIP_MAGIC else fh
            return stream.readline(1 << 16)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{path}: cannot read its first line ({exc})") from None


def _tardis_source(path: Path, kind: str) -> Source:
    rows = tardis_rows(path)
    try:
        row = next(rows)
    except StopIteration:
        raise InputError(f"{path}: a Tardis CSV header with no book row") from None
    finally:
        rows.close()
    exchange, symbol = row
    venue = TARDIS_VENUES.get(exchange)
    if venue is None:
        raise InputError(f"{path}: Tardis exchange {exchange!r} is not one slipscope reads")
    try:
        instrument_for(venue, symbol)
    except (ValueError, UnknownInstrument) as exc:
        raise InputError(f"{path}: {exc}") from None
    if kind == TARDIS_INCREMENTAL:
        return Source(str(path), kind, venue, symbol, f"Tardis.dev {exchange} incremental_book_L2")
    depth = "25" if "asks[24].price" in _header(path) else "5"
    return Source(str(path), kind, venue, symbol, f"Tardis.dev {exchange} book_snapshot_{depth}")


def _open_text(path: Path) -> io.TextIOBase:
    with open(path, "rb") as fh:
        gz = fh.read(2) == GZIP_MAGIC
    return gzip.open(path, "rt", newline="") if gz else open(path, "rt", newline="")


def _header(path: Path) -> list[str]:
    with _open_text(path) as fh:
        return next(csv.reader(fh))


def tardis_rows(path: Path) -> Iterator[tuple[str, str]]:
    """(exchange, symbol) of each row (only to identify the file)."""
    with _open_text(path) as fh:
        reader = csv.reader(fh)
        next(reader)
        for row in reader:
            yield row[0], row[1]


class _CsvReader:
    """Bad rows named ``file:line: reason`` (``bad``) and how far a cut-off file was read."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.bad: list[str] = []
        self.truncated = False
        self.lines_read = 0

    @property
    def bad_rows(self) -> int:
        return len(self.bad)

    def _bad(self, line: int, reason: str) -> None:
        self.bad.append(f"{self.path}:{line}: {reason}")


class TardisReader(_CsvReader):
    """Books of a Tardis ``book_snapshot_N`` CSV, row by row; bad rows are named and skipped."""

    def books(self, start: int = 0, stop: int | None = None) -> Iterator[TardisBook]:
        """Books ``start`` .. ``stop`` (0-based over the readable rows) in file order."""
        try:
            with _open_text(self.path) as fh:
                reader = csv.reader(fh)
                levels = _levels(next(reader))
                index = 0
                for row in reader:
                    self.lines_read = reader.line_num
                    book = self._book(row, levels, reader.line_num)
                    if book is None:
                        continue
                    if stop is not None and index >= stop:
                        return
                    if index >= start:
                        yield book
                    index += 1
        except (EOFError, zlib.error, gzip.BadGzipFile, csv.Error):
            self.truncated = True  # a cut-off file: the rows before the damage were delivered

    def _book(self, row: list[str], levels: dict[str, list[tuple[int, int]]], line: int) -> TardisBook | None:
        try:
            t_ns = int(row[3]) * NS_PER_US
            ts_ms = int(row[2]) / US_PER_MS
            sides = {side: _side(row, cols) for side, cols in levels.items()}
        except ValueError as exc:
            self._bad(line, f"not a number ({exc})")
            return None
        except IndexError:
            self._bad(line, f"{len(row)} fields, fewer than the header's")
            return None
        (bid_px, bid_sz), (ask_px, ask_sz) = sides["bids"], sides["asks"]
        return TardisBook(t_ns, ts_ms, bid_px, bid_sz, ask_px, ask_sz)


def _levels(columns: list[str]) -> dict[str, list[tuple[int, int]]]:
    """Column indexes of each level's (price, amount) per side, in level order."""
    index = {name: i for i, name in enumerate(columns)}
    out: dict[str, list[tuple[int, int]]] = {}
    for side in ("bids", "asks"):
        pairs, k = [], 0
        while f"{side}[{k}].price" in index:
            pairs.append((index[f"{side}[{k}].price"], index[f"{side}[{k}].amount"]))
            k += 1
        out[side] = pairs
    return out


def _side(row: list[str], cols: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """One side's levels; an empty cell ends it (Tardis leaves missing levels empty)."""
    px, sz = [], []
    for p, a in cols:
        if not row[p]:
            break
        px.append(float(row[p]))
        sz.append(float(row[a]))
    return np.array(px, dtype=np.float64), np.array(sz, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class TardisMessage:
    """Consecutive ``incremental_book_L2`` rows of one timestamp: a whole book when
    ``snapshot`` (Tardis marks those rows ``is_snapshot``), else absolute level updates (0 deletes)."""

    t_ns: int
    ts_ms: float
    snapshot: bool
    bid_px: np.ndarray
    bid_sz: np.ndarray
    ask_px: np.ndarray
    ask_sz: np.ndarray


class TardisIncrementalReader(_CsvReader):
    """Messages of a Tardis ``incremental_book_L2`` CSV; bad rows are named and skipped."""

    def messages(self, start: int = 0, stop: int | None = None) -> Iterator[TardisMessage]:
        """Messages ``start`` .. ``stop`` (0-based) in file order."""
        for index, message in enumerate(self._all()):
            if stop is not None and index >= stop:
                return
            if index >= start:
                yield message

    def _all(self) -> Iterator[TardisMessage]:
        key, levels = None, {}
        for row_key, side, px, sz in self._rows():
            if key is not None and row_key != key:
                yield _message(key, levels)
                levels = {}
            key = row_key
            levels[(side, px)] = sz  # the last update of a price in one message wins
        if key is not None:
            yield _message(key, levels)

    def _rows(self) -> Iterator[tuple[tuple[int, int, bool], str, float, float]]:
        try:
            with _open_text(self.path) as fh:
                reader = csv.reader(fh)
                next(reader)
                for row in reader:
                    self.lines_read = reader.line_num
                    try:
                        side = {"bid": "bid", "ask": "ask"}[row[5]]
                        snap = {"true": True, "false": False}[row[4]]
                        yield (int(row[3]), int(row[2]), snap), side, float(row[6]), float(row[7])
                    except KeyError as exc:
                        self._bad(reader.line_num, f"{exc.args[0]!r} is not a side (bid/ask) or is_snapshot (true/false)")
                    except ValueError as exc:
                        self._bad(reader.line_num, f"not a number ({exc})")
                    except IndexError:
                        self._bad(reader.line_num, f"{len(row)} fields, not 8")
        except (EOFError, zlib.error, gzip.BadGzipFile, csv.Error):
            self.truncated = True


def _message(key: tuple[int, int, bool], levels: dict[tuple[str, float], float]) -> TardisMessage:
    local_us, ts_us, snap = key
    bids = sorted(((p, s) for (side, p), s in levels.items() if side == "bid"), reverse=True)
    asks = sorted((p, s) for (side, p), s in levels.items() if side == "ask")
    arr = lambda pairs, i: np.array([x[i] for x in pairs], dtype=np.float64)  # noqa: E731
    return TardisMessage(local_us * NS_PER_US, ts_us / US_PER_MS, snap, arr(bids, 0), arr(bids, 1),
                         arr(asks, 0), arr(asks, 1))
