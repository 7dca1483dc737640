"""Cut inputs into partitions that each start from a full book.

A partition is a run of frames (recordings) or rows (Tardis snapshots) of one file. It starts
at a frame that restores the whole book on its own: for snapshot-only formats (GoQuant,
Tardis ``book_snapshot_*``) every frame does; for OKX deltas only the venue's snapshot frames
(``Venue.is_snapshot``) do, so a long delta file is cut only there (a file with one snapshot is
one partition). The cut depends on the input and ``chunk`` alone, never on the workers, so the
rows are the same whatever runs them. ``chunk=None`` keeps each file whole: the cost models
learn online from every book in order and the realised labels need the books after each
decision, so with ``--models`` a cut would restart the models and leave labels unresolved at
the cut; whole files make model columns and labels depend on the file alone. ``end_t_ns`` is
the receive time of the next partition's first frame: ``--every`` ticks before it are still
priced on this partition's last book. A recording's partition carries where to start reading
it (:mod:`core.history.resume`), so a worker does not decompress the file from its start.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from core.history.inputs import RECORDING, TARDIS_INCREMENTAL, TARDIS_SNAPSHOT, Source, TardisIncrementalReader, TardisReader
from core.history.resume import Checkpoint, LineScan
from core.recording.recorder import _header_obj, read_recording
from core.venues import get_venue

DEFAULT_CHUNK = 50_000  # frames per partition (at least; cut at the next full book after that)
MAX_LISTED = 10  # bad lines named one by one per input (the rest are counted)
WHOLE_FILE = 1 << 62  # a chunk no file reaches: one partition per file


@dataclass(frozen=True)
class Partition:
    index: int  # position in the run: results are assembled in this order
    source: Source
    start: int  # first frame (or row) index, inclusive
    stop: int  # last index, exclusive
    start_t_ns: int  # receive time of the first frame: the first --every tick is at or after it
    end_t_ns: int  # receive time the partition's ticks end before (exclusive)
    resume: Checkpoint | None = None  # recordings: where reading starts (core.history.resume)
    skip: int = 0  # decompressed bytes from ``resume`` to the first frame's line


@dataclass(frozen=True)
class Plan:
    partitions: list[Partition]
    notes: list[str]  # per input: bad lines (file:line: reason, the first MAX_LISTED), cut-off tails


def plan(sources: list[Source], chunk: int | None = DEFAULT_CHUNK) -> Plan:
    """Partitions of ``sources`` in order; ``chunk=None``: one per file (see the module doc)."""
    parts: list[Partition] = []
    notes: list[str] = []
    for source in sources:
        cut = CUTS[source.kind](source, chunk if chunk is not None else WHOLE_FILE)
        notes += cut.notes
        for k, (start, stop) in enumerate(cut.ranges):
            times = cut.times
            end_t = times[stop] if stop < len(times) else times[-1] + 1
            resume, skip = cut.resumes[k] if cut.resumes else (None, 0)
            parts.append(Partition(len(parts), source, start, stop, times[start], end_t, resume, skip))
    return Plan(parts, notes)


@dataclass
class _Cut:
    ranges: list[tuple[int, int]]
    times: list[int]
    notes: list[str]
    resumes: list[tuple[Checkpoint, int]] | None = None  # per range: where its first line is


def _recording_cuts(source: Source, chunk: int) -> _Cut:
    """Frame ranges starting at full-book frames, at least ``chunk`` frames long, each with the
    resume point nearest before its first line; bad lines named by number."""
    rec = read_recording(Path(source.path))
    venue = get_venue(rec.header.feed)
    scan = LineScan(source.path)
    times: list[int] = []
    starts: list[int] = [0]
    resumes: list[tuple[Checkpoint, int]] = []
    bad: list[str] = []
    last = 0
    for number, offset, line in scan.lines():
        first, last = last == 0, number
        if first and is_header(line):
            continue
        frame = rec._frame(line, len(times))  # noqa: SLF001 - the reader's own parse of one line
        if frame is None:
            bad.append(f"{source.path}:{number}: {bad_line_reason(line)}")
            continue
        i = len(times)
        cut = i - starts[-1] >= chunk and (venue.full_snapshots or venue.is_snapshot(frame.raw))
        if i == 0 or cut:
            if cut:
                starts.append(i)
            cp = scan.checkpoint_for(offset)
            resumes.append((cp, offset - cp.out_offset))
        times.append(frame.t_ns)
    tail = f"{source.path}:{last + 1}: cut off mid-line or damaged; the rest of the file is ignored"
    return _Cut(_ranges(starts, len(times)), times, _notes(source, bad, "lines", tail if scan.truncated else ""),
                resumes)


def bad_line_reason(line: bytes) -> str:
    """Why a recording line is not a frame record (``{"t": ns, "m": text}`` or ``"b": base64``)."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return f"not JSON ({exc})"
    if not isinstance(obj, dict):
        return "not a JSON object"
    if not isinstance(obj.get("t"), int):
        return 'no integer receive time "t"'
    if "m" not in obj and "b" not in obj:
        return 'no frame ("m" text or "b" base64)'
    return '"m" is not text or "b" is not base64'


def _tardis_cuts(source: Source, chunk: int) -> _Cut:
    """Every Tardis snapshot row is a full book: cut every ``chunk`` rows."""
    reader = TardisReader(source.path)
    times = [book.t_ns for book in reader.books()]  # one row = one index (bad rows keep no time)
    starts = list(range(0, len(times), chunk)) or [0]
    return _Cut(_ranges(starts, len(times)), times, _notes(source, reader.bad, "rows", _tail(source, reader)))


def _incremental_cuts(source: Source, chunk: int) -> _Cut:
    """Tardis incremental messages, cut only at snapshot messages."""
    reader = TardisIncrementalReader(source.path)
    times: list[int] = []
    starts = [0]
    for i, message in enumerate(reader.messages()):
        times.append(message.t_ns)
        if i - starts[-1] >= chunk and message.snapshot:
            starts.append(i)
    return _Cut(_ranges(starts, len(times)), times, _notes(source, reader.bad, "rows", _tail(source, reader)))


def _ranges(starts: list[int], n: int) -> list[tuple[int, int]]:
    if n == 0:
        return []
    return [(a, b) for a, b in zip(starts, starts[1:] + [n])]


def _tail(source: Source, reader) -> str:
    return f"{source.path}: cut off or damaged after line {reader.lines_read}; the rest is ignored" \
        if reader.truncated else ""


def _notes(source: Source, bad: list[str], what: str, tail: str) -> list[str]:
    """A count of the bad lines, then the first MAX_LISTED as ``file:line: reason``, then the tail."""
    out = []
    if bad:
        more = f" (the first {MAX_LISTED} below)" if len(bad) > MAX_LISTED else ""
        out.append(f"{source.path}: {len(bad)} bad {what} skipped{more}")
        out += bad[:MAX_LISTED]
    if tail:
        out.append(tail)
    return out


CUTS = {RECORDING: _recording_cuts, TARDIS_SNAPSHOT: _tardis_cuts, TARDIS_INCREMENTAL: _incremental_cuts}


def is_header(line: bytes) -> bool:
    """A recording's header line (``{"format": "slipscope-recording", ...}``), not a frame."""
    return _header_obj(line) is not None
