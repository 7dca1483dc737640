"""Recording a feed to gzip JSON lines, and reading recordings back, even ones cut short.

File format (``.jsonl.gz``), one JSON object per line::

    {"format": "slipscope-recording", "version": 1, "feed": "okx", "url": "...", ...}   header
    {"t": 1764000000123456789, "m": "{\\"arg\\": ...}"}                                   text frame
    {"t": 1764000000223456789, "b": "AAEC..."}                                           binary frame (base64)

``t`` is the receive time in epoch nanoseconds (the client's monotonic stamp shifted by one
offset taken when the recording started, so spacing is exact and the clock readable). ``m`` is
the raw message text exactly as received, garbage included: a replay must reproduce what the
live client saw, rejections and all.

Crash safety: the gzip stream is flushed with ``Z_SYNC_FLUSH`` at least every ``flush_s``
seconds, which pushes every complete line so far to the file as decodable bytes. A recording
killed at any moment (Ctrl+C, SIGKILL, power is another story: no fsync) therefore holds every
line written before its last flush; :func:`read_recording` decodes up to the damage and stops
there without an error (``truncated`` tells). Rotation (``rotate_bytes``/``rotate_s``) starts
numbered parts; for OKX it asks the client for a fresh snapshot first and switches files right
before that snapshot, so every part starts with a full book (the Tardis convention).

Plain gzip JSON lines of raw frames without a header (as in ``tests/data``) are read too: the
feed is guessed from the first frame and frames are spaced 100 ms apart. Either kind may also be
uncompressed JSON lines (``rec.jsonl``, for instance a recording unpacked with ``gunzip``): the
reader tells them apart by the gzip magic bytes, not by the file name.
"""
from __future__ import annotations

import base64
import gzip
import logging
import time
import zlib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

import orjson

from core.export import app_version
from core.venues import DEFAULT_VENUE, get_venue, venue_names

log = logging.getLogger(__name__)

FORMAT = "slipscope-recording"
VERSION = 1
SUFFIX = ".jsonl.gz"
GZIP_MAGIC = b"\x1f\x8b"  # the first two bytes of every gzip member (RFC 1952)
JSON_LINE_START = b"{"  # a JSON-lines recording's first byte (after any whitespace)
RAW_SPACING_NS = 100_000_000  # frames of a header-less file are replayed 100 ms apart


class RecordingError(Exception):
    """A recording cannot be written or read (the message says which file and why)."""


@dataclass(frozen=True)
class RecordingHeader:
    """What was recorded: enough to serve or evaluate the file without any other input."""

    feed: str  # the venue's name in the registry (core.venues)
    inst_ids: tuple[str, ...]
    url: str = ""
    channel: str = "books"
    source: str = ""
    synthetic: bool = False
    started_ns: int = 0  # epoch ns when the recorder opened its first part
    part: int = 0
    app_version: str = ""
    format: str = FORMAT
    version: int = VERSION

    def to_json(self) -> bytes:
        body = asdict(self)
        return orjson.dumps({"format": body.pop("format"), "version": body.pop("version"), **body})

    @classmethod
    def from_obj(cls, obj: dict) -> "RecordingHeader":
        known = {k: obj[k] for k in cls.__dataclass_fields__ if k in obj}
        known["inst_ids"] = tuple(known.get("inst_ids", ()))
        return cls(**known)


@dataclass(frozen=True, slots=True)
class RecordedFrame:
    t_ns: int  # receive time, epoch ns
    raw: str | bytes


def part_path(path: Path, part: int) -> Path:
    """``rec.jsonl.gz`` -> ``rec.003.jsonl.gz``; parts are numbered only when rotating."""
    name = path.name
    stem = name[: -len(SUFFIX)] if name.endswith(SUFFIX) else path.stem
    return path.with_name(f"{stem}.{part:03d}{SUFFIX}")


# --- writing -------------------------------------------------------------------------------

class Recorder:
    """A feed sink that appends each frame to a gzip JSON-lines file.

    Call :meth:`write` (it has the client sink's signature) from one thread, and
    :meth:`tick` now and then so an idle feed is flushed and time-based rotation happens.
    """

    def __init__(self, path: str | Path, header: RecordingHeader, *, rotate_bytes: int | None = None,
                 rotate_s: float | None = None, flush_s: float = 0.25, compresslevel: int = 5,
                 request_snapshot: Callable[[], None] | None = None, snapshot_wait_s: float = 10.0) -> None:
        self.path = Path(path)
        self.rotating = bool(rotate_bytes or rotate_s)
        self.rotate_bytes = rotate_bytes
        self.rotate_s = rotate_s
        self.flush_s = flush_s
        self.compresslevel = compresslevel
        self.request_snapshot = request_snapshot
        self.snapshot_wait_s = snapshot_wait_s
        self.header = header if header.started_ns else _with(header, started_ns=time.time_ns(),
                                                              app_version=app_version())
        # receive stamps are perf_counter_ns: one offset turns them into epoch ns
        self._epoch_offset = time.time_ns() - time.perf_counter_ns()
        self.paths: list[Path] = []
        self.lines = 0
        self.part_lines = 0
        self._part = 0
        self._file = None
        self._gz: gzip.GzipFile | None = None
        self._opened_at = 0.0
        self._last_flush = 0.0
        self._rotate_asked_at: float | None = None
        self._open(0)

    # --- sink ------------------------------------------------------------------------
    def write(self, raw: str | bytes, recv_ns: int) -> None:
        """Append one frame (``recv_ns`` from ``time.perf_counter_ns()``)."""
        if self._gz is None:
            raise RecordingError(f"recording {self.path} is closed")
        if self._rotation_due() and self._may_rotate_before(raw):
            self._open(self._part + 1)
        t = recv_ns + self._epoch_offset
        line = orjson.dumps({"t": t, "m": raw} if isinstance(raw, str)
                            else {"t": t, "b": base64.b64encode(raw).decode()})
        self._write(line + b"\n")
        self.lines += 1
        self.part_lines += 1
        if time.monotonic() - self._last_flush >= self.flush_s:
            self.flush()

    def tick(self) -> None:
        """Flush what is pending and rotate by time even when no frames arrive."""
        if self._gz is None:
            return
        if time.monotonic() - self._last_flush >= self.flush_s:
            self.flush()
        if self._rotation_due() and self._may_rotate_before(None):
            self._open(self._part + 1)

    def flush(self) -> None:
        """Make every complete line so far decodable from the file (Z_SYNC_FLUSH)."""
        if self._gz is None:
            return
        try:
            self._gz.flush(zlib.Z_SYNC_FLUSH)
        except OSError as exc:
            raise RecordingError(f"cannot write {self.paths[-1]}: {exc.strerror or exc}") from exc
        self._last_flush = time.monotonic()

    def close(self) -> None:
        """Finish the gzip stream (trailer included) and close the file."""
        gz, fh = self._gz, self._file
        self._gz = self._file = None
        if gz is None:
            return
        try:
            gz.close()
            fh.close()
        except OSError as exc:
            raise RecordingError(f"cannot finish {self.paths[-1]}: {exc.strerror or exc}") from exc

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def bytes_written(self) -> int:
        """Compressed bytes in the current part so far (flushed or not)."""
        return self._file.tell() if self._file is not None else 0

    # --- internals -------------------------------------------------------------------
    def _open(self, part: int) -> None:
        self.close()
        path = part_path(self.path, part) if self.rotating else self.path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(path, "xb")  # never overwrite a recording
        except FileExistsError:
            raise RecordingError(f"{path} already exists; choose another --out") from None
        except OSError as exc:
            raise RecordingError(f"cannot create {path}: {exc.strerror or exc}") from exc
        self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=self._file,
                                 compresslevel=self.compresslevel, mtime=0)
        self._part = part
        self.part_lines = 0
        self.paths.append(path)
        self._opened_at = time.monotonic()
        self._rotate_asked_at = None
        self._write(_with(self.header, part=part).to_json() + b"\n")
        self.flush()
        log.info("recording to %s", path)

    def _write(self, data: bytes) -> None:
        try:
            self._gz.write(data)
        except OSError as exc:
            raise RecordingError(f"cannot write {self.paths[-1]}: {exc.strerror or exc}") from exc

    def _rotation_due(self) -> bool:
        if not self.rotating or self.part_lines == 0:
            return False
        if self.rotate_bytes and self.bytes_written >= self.rotate_bytes:
            return True
        return bool(self.rotate_s and time.monotonic() - self._opened_at >= self.rotate_s)

    def _may_rotate_before(self, raw: str | bytes | None) -> bool:
        """Whole-book feeds: any time. Others: right before a snapshot, asked for once; give up
        waiting after a while."""
        venue = get_venue(self.header.feed)
        if venue.full_snapshots:
            return True
        if raw is not None and venue.is_snapshot(raw):
            return True
        now = time.monotonic()
        if self._rotate_asked_at is None:
            self._rotate_asked_at = now
            if self.request_snapshot is not None:
                self.request_snapshot()
            return self.request_snapshot is None
        return now - self._rotate_asked_at >= self.snapshot_wait_s


def _with(header: RecordingHeader, **changes) -> RecordingHeader:
    return replace(header, **changes)


# --- reading -------------------------------------------------------------------------------

@dataclass
class Recording:
    """A recording opened for reading: its header and a one-pass frame iterator.

    ``truncated`` turns true once iteration met a cut-off or damaged tail (the frames before
    it were all delivered); ``bad_lines`` counts lines that were not valid records.
    """

    paths: list[Path]
    header: RecordingHeader
    truncated: bool = False
    bad_lines: int = 0
    frames_read: int = 0
    _raw_format: bool = field(default=False, repr=False)

    def frames(self) -> Iterator[RecordedFrame]:
        """Every frame of every part, in order (re-reads the files on each call)."""
        raw_index = 0
        for path in self.paths:
            first = True
            for line in _lines(path, self):
                if first:
                    first = False
                    if _header_obj(line) is not None:
                        continue
                frame = self._frame(line, raw_index)
                if frame is None:
                    continue
                raw_index += 1
                self.frames_read += 1
                yield frame

    def _frame(self, line: bytes, index: int) -> RecordedFrame | None:
        if self._raw_format:
            return RecordedFrame(self.header.started_ns + index * RAW_SPACING_NS, line.decode("utf-8", "replace"))
        try:
            obj = orjson.loads(line)
            t = int(obj["t"])
            raw = obj["m"] if "m" in obj else base64.b64decode(obj["b"], validate=True)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            self.bad_lines += 1
            return None
        if not isinstance(raw, (str, bytes)):
            self.bad_lines += 1
            return None
        return RecordedFrame(t, raw)


def read_recording(paths: str | Path | list[str | Path]) -> Recording:
    """Open one recording (or its rotated parts, in the order given) for reading.

    Raises :class:`RecordingError` when a file is missing, neither gzip nor plain JSON lines,
    or empty.
    """
    plist = [Path(p) for p in (paths if isinstance(paths, list) else [paths])]
    if not plist:
        raise RecordingError("no recording given")
    for p in plist:
        if not p.is_file():
            raise RecordingError(f"recording {p} does not exist")
        _check_kind(p)
    probe = Recording(plist, RecordingHeader(feed=DEFAULT_VENUE, inst_ids=()))
    first_line = next(iter(_lines(plist[0], probe)), None)
    if first_line is None:
        raise RecordingError(f"{plist[0]} holds no complete line (an empty or damaged recording)")
    obj = _header_obj(first_line)
    if obj is not None:
        return Recording(plist, RecordingHeader.from_obj(obj))
    return Recording(plist, _guess_header(first_line), _raw_format=True)


def _header_obj(line: bytes) -> dict | None:
    if not line.startswith(b'{"format"'):
        return None
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) and obj.get("format") == FORMAT else None


def _guess_header(line: bytes) -> RecordingHeader:
    """A header-less file: the first venue that recognises its first frame (each venue sniffs)."""
    text = line.decode("utf-8", "replace")
    for name in venue_names():
        sniff = get_venue(name).sniff
        found = sniff(text) if sniff is not None else None
        if found is not None:
            return RecordingHeader(feed=name, inst_ids=found[0], channel=found[1], source="raw frames")
    return RecordingHeader(feed=DEFAULT_VENUE, inst_ids=(), source="raw frames")


def _check_kind(path: Path) -> None:
    """Refuse, in one line, a file that is neither gzip nor JSON lines (its first bytes say)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        raise RecordingError(f"cannot open {path}: {exc.strerror or exc}") from exc
    if head.startswith(GZIP_MAGIC) or head.lstrip().startswith(JSON_LINE_START):
        return
    if not head.strip():
        raise RecordingError(f"{path} is empty: no recording in it")
    raise RecordingError(f"{path} is neither a gzip recording nor JSON lines "
                         f"(it starts with {head[:16]!r})")


def _lines(path: Path, rec: Recording, chunk: int = 1 << 16) -> Iterator[bytes]:
    """Complete lines of a gzip or plain file, stopping quietly at a cut-off or damaged tail."""
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise RecordingError(f"cannot open {path}: {exc.strerror or exc}") from exc
    with fh:
        if fh.read(len(GZIP_MAGIC)) != GZIP_MAGIC:
            fh.seek(0)
            yield from _plain_lines(fh, rec, chunk)
            return
        fh.seek(0)
        yield from _gzip_lines(fh, rec, chunk)


def _plain_lines(fh, rec: Recording, chunk: int) -> Iterator[bytes]:
    """Complete lines of an uncompressed file; a last line without its newline was cut short."""
    pending = b""
    while data := fh.read(chunk):
        *complete, pending = (pending + data).split(b"\n")
        yield from (line for line in complete if line.strip())
    if pending.strip():
        rec.truncated = True


def _gzip_lines(fh, rec: Recording, chunk: int) -> Iterator[bytes]:
    """Complete lines of a gzip file (all members), stopping quietly at a cut-off or damaged tail."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    member_open = False
    pending = b""
    while data := fh.read(chunk):
        while data:
            try:
                out = inflater.decompress(data)
            except zlib.error:  # damaged bytes: everything before them was delivered
                rec.truncated = True
                return
            member_open = not inflater.eof
            data = b""
            if inflater.eof:  # end of one gzip member; another may follow
                data = inflater.unused_data
                inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            if b"\n" in out:
                *complete, pending = (pending + out).split(b"\n")
                yield from (line for line in complete if line.strip())
            else:
                pending += out
    # a member without its trailer, or a last line without its newline: cut short mid-write
    if member_open or pending.strip():
        rec.truncated = True
