"""Cut inputs into partitions that each start from a full book.

A partition is a run of frames (recordings) or rows (Tardis snapshots) of one file. It starts
at a frame that restores the whole book on its own: for snapshot-only formats (GoQuant,
Tardis ``book_snapshot_*``) every frame does; for OKX deltas only the venue's snapshot frames
(``Venue.is_snapshot``) do, so a long delta file is cut only there (a file with one snapshot is
one partition). The cut depends on the input and ``chunk`` alone, never on the workers, so the
rows are the same whatever runs them. ``chunk=None`` keeps each file whole: the cost models
learn online from every book in order and the realised labels need the books after each
decision, so with ``--models`` a cut would restart the models and leave labels unresolved at
the cut; whole files make model columns and labels depend on the file alone. ``end_t_ns`` is the receive time of the next partition's
first frame: ``--every`` ticks before it are still priced on this partition's last book.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.history.inputs import RECORDING, TARDIS_INCREMENTAL, TARDIS_SNAPSHOT, Source, TardisIncrementalReader, TardisReader
from core.recording.recorder import read_recording
from core.venues import get_venue

DEFAULT_CHUNK = 50_000  # frames per partition (at least; cut at the next full book after that)
WHOLE_FILE = 1 << 62  # a chunk no file reaches: one partition per file


@dataclass(frozen=True)
class Partition:
    index: int  # position in the run: results are assembled in this order
    source: Source
    start: int  # first frame (or row) index, inclusive
    stop: int  # last index, exclusive
    start_t_ns: int  # receive time of the first frame: the first --every tick is at or after it
    end_t_ns: int  # receive time the partition's ticks end before (exclusive)


@dataclass(frozen=True)
class Plan:
    partitions: list[Partition]
    notes: list[str]  # per input: bad lines, cut-off tails


def plan(sources: list[Source], chunk: int | None = DEFAULT_CHUNK) -> Plan:
    """Partitions of ``sources`` in order; ``chunk=None``: one per file (see the module doc)."""
    parts: list[Partition] = []
    notes: list[str] = []
    for source in sources:
        cuts, times, note = CUTS[source.kind](source, chunk if chunk is not None else WHOLE_FILE)
        if note:
            notes.append(note)
        for start, stop in cuts:
            end_t = times[stop] if stop < len(times) else times[-1] + 1
            parts.append(Partition(len(parts), source, start, stop, times[start], end_t))
    return Plan(parts, notes)


def _recording_cuts(source: Source, chunk: int) -> tuple[list[tuple[int, int]], list[int], str]:
    """Frame ranges starting at full-book frames, at least ``chunk`` frames long."""
    rec = read_recording(Path(source.path))
    venue = get_venue(rec.header.feed)
    times: list[int] = []
    starts: list[int] = [0]
    for i, frame in enumerate(rec.frames()):
        times.append(frame.t_ns)
        if i - starts[-1] >= chunk and (venue.full_snapshots or venue.is_snapshot(frame.raw)):
            starts.append(i)
    note = _note(source, rec.bad_lines, rec.truncated, "lines")
    return _ranges(starts, len(times)), times, note


def _tardis_cuts(source: Source, chunk: int) -> tuple[list[tuple[int, int]], list[int], str]:
    """Every Tardis snapshot row is a full book: cut every ``chunk`` rows."""
    reader = TardisReader(source.path)
    times = [book.t_ns for book in reader.books()]  # one row = one index (bad rows keep no time)
    starts = list(range(0, len(times), chunk)) or [0]
    return _ranges(starts, len(times)), times, _note(source, reader.bad_rows, reader.truncated, "rows")


def _incremental_cuts(source: Source, chunk: int) -> tuple[list[tuple[int, int]], list[int], str]:
    """Tardis incremental messages, cut only at snapshot messages."""
    reader = TardisIncrementalReader(source.path)
    times: list[int] = []
    starts = [0]
    for i, message in enumerate(reader.messages()):
        times.append(message.t_ns)
        if i - starts[-1] >= chunk and message.snapshot:
            starts.append(i)
    return _ranges(starts, len(times)), times, _note(source, reader.bad_rows, reader.truncated, "rows")


def _ranges(starts: list[int], n: int) -> list[tuple[int, int]]:
    if n == 0:
        return []
    return [(a, b) for a, b in zip(starts, starts[1:] + [n])]


def _note(source: Source, bad: int, truncated: bool, what: str) -> str:
    parts = [f"{bad} bad {what} skipped"] if bad else []
    if truncated:
        parts.append("cut-off tail ignored")
    return f"{source.path}: {', '.join(parts)}" if parts else ""


CUTS = {RECORDING: _recording_cuts, TARDIS_SNAPSHOT: _tardis_cuts, TARDIS_INCREMENTAL: _incremental_cuts}
