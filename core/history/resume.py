"""Read a recording from the middle without decompressing it from the start.

A gzip file cannot be entered at an arbitrary byte: deflate blocks start at bit offsets and
refer back up to 32 KiB into the output. ``slipscope record`` flushes its stream with
``Z_SYNC_FLUSH`` every ``flush_s`` (0.25 s): each flush ends with an empty stored block
(``00 00 FF FF``) after which the next block starts on a byte boundary. There, a raw inflate
primed with the last 32 KiB of output as its dictionary continues the stream exactly.

:class:`LineScan` is the planner's one pass over a file: every line with its number and
decompressed offset, and the latest such resume point (:class:`Checkpoint`) met on the way,
verified against the stream itself before it is handed out (the four bytes may also occur
inside compressed data by chance). :func:`lines_from` is a worker's read of one partition: from
its checkpoint, skipping the bytes up to its first line. A gzip file without flush points
(written by ``gzip``) has only the file start: its partitions then skip the head by
decompressing it without parsing it. Plain (uncompressed) files resume at the line's byte.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

GZIP_MAGIC = b"\x1f\x8b"  # the first two bytes of every gzip member (RFC 1952)
SYNC_MARK = b"\x00\x00\xff\xff"  # the empty stored block a Z_SYNC_FLUSH ends with (RFC 1951 3.2.4)
WINDOW = 32 * 1024  # deflate's back-reference distance: the dictionary a resumed inflate needs
READ = 1 << 16  # compressed bytes read at a time
VERIFY = 4096  # decompressed bytes compared before a checkpoint is trusted
MAX_UNVERIFIED = 1 << 20  # a checkpoint this far behind is dropped (its check would cost more)
GZIP_TRAILER = 8  # CRC32 and size after each member's deflate data
GZIP_WBITS = 16 + zlib.MAX_WBITS
RAW_WBITS = -zlib.MAX_WBITS

START, DEFLATE, PLAIN = "start", "deflate", "plain"


@dataclass(frozen=True)
class Checkpoint:
    """Where a read may begin: ``kind`` START (the file's first byte), DEFLATE (a raw inflate at
    ``comp_offset`` primed with ``window``) or PLAIN (an uncompressed file's byte)."""

    kind: str
    comp_offset: int  # file byte the read starts at
    out_offset: int  # decompressed bytes before it
    window: bytes = b""


FILE_START = Checkpoint(START, 0, 0)


class LineScan:
    """One pass over a file's complete lines: ``(number, offset, line)``, number 1-based,
    offset in the decompressed stream; :meth:`checkpoint_for` gives a verified resume point
    at or before a line. ``truncated`` turns true at a cut-off or damaged tail."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.truncated = False
        self._candidates: list[Checkpoint] = []  # the newest few, oldest first
        self._since = bytearray()  # output since the oldest candidate: what verifies them
        self._good = FILE_START  # the latest checkpoint handed out

    def lines(self) -> Iterator[tuple[int, int, bytes]]:
        with open(self.path, "rb") as fh:
            gz = fh.read(len(GZIP_MAGIC)) == GZIP_MAGIC
            fh.seek(0)
            chunks = self._inflated(fh) if gz else self._plain(fh)
            number, offset, pending = 0, 0, b""
            for out in chunks:
                *complete, pending = (pending + out).split(b"\n")
                for line in complete:
                    number += 1
                    if line.strip():
                        yield number, offset, line
                    offset += len(line) + 1
                self._prune(offset)
            if pending.strip():
                self.truncated = True

    def checkpoint_for(self, offset: int) -> Checkpoint:
        """The newest verified resume point at or before decompressed ``offset`` (a line being
        read now: flushes may fall inside it, so the last one before it is kept too)."""
        if self._good.kind == START and self._plain_file:
            return Checkpoint(PLAIN, offset, offset)
        usable = [c for c in self._candidates if c.out_offset <= offset]
        for cand in reversed(usable):
            if self._verified(cand):
                self._good = cand
                break
        if usable:
            self._drop(len(usable))
        return self._good

    def _prune(self, line_start: int) -> None:
        """Keep the newest candidate at or before the line being read (``line_start``) and those
        after it: the next partition starts at or after that line."""
        before = sum(1 for c in self._candidates if c.out_offset <= line_start)
        if before > 1:
            self._drop(before - 1)

    def _drop(self, n: int) -> None:
        """Forget the ``n`` oldest candidates (and the output only they needed)."""
        self._candidates = self._candidates[n:]
        if not self._candidates:
            self._since = bytearray()
        else:
            start = self._candidates[0].out_offset
            del self._since[:len(self._since) - (self._out_total - start)]

    _plain_file = False
    _out_total = 0  # decompressed bytes so far

    def _plain(self, fh) -> Iterator[bytes]:
        self._plain_file = True
        while data := fh.read(READ):
            yield data

    def _inflated(self, fh) -> Iterator[bytes]:
        """Decompressed output of every member, cut after each sync mark to note a candidate."""
        inflater = zlib.decompressobj(GZIP_WBITS)
        comp, out_total, tail, carry = 0, 0, b"", b""
        member_open = False
        while data := fh.read(READ):
            for piece, marked in _split_after_marks(carry, data):
                while piece:
                    try:
                        out = inflater.decompress(piece)
                    except zlib.error:
                        self.truncated = True
                        return
                    used = len(piece) - len(inflater.unused_data)
                    comp += used
                    piece = b""
                    member_open = not inflater.eof
                    if inflater.eof:  # another member may follow
                        piece = inflater.unused_data
                        inflater = zlib.decompressobj(GZIP_WBITS)
                    out_total += len(out)
                    self._out_total = out_total
                    tail = (tail + out)[-WINDOW:]
                    self._note(out)
                    yield out
                if marked and member_open:
                    self._candidates.append(Checkpoint(DEFLATE, comp, out_total, tail))
            carry = data[-(len(SYNC_MARK) - 1):]
        if member_open:
            self.truncated = True

    def _note(self, out: bytes) -> None:
        if not self._candidates:
            return
        self._since += out
        if len(self._since) > MAX_UNVERIFIED:  # too far behind to be worth checking
            self._drop(len(self._candidates))

    def _verified(self, cand: Checkpoint) -> bool:
        """Does a raw inflate from ``cand`` reproduce the stream after it?"""
        at = len(self._since) - (self._out_total - cand.out_offset)
        want = bytes(self._since[at:at + VERIFY])
        if not want:
            return False
        with open(self.path, "rb") as fh:
            fh.seek(cand.comp_offset)
            try:
                got = b"".join(_take(_deflate_from(fh, cand.window), len(want)))
            except zlib.error:  # not a block boundary after all
                return False
        return got[:len(want)] == want


def _split_after_marks(carry: bytes, data: bytes) -> Iterator[tuple[bytes, bool]]:
    """``data`` cut right after each sync mark (one may have begun in ``carry``, the previous
    read's last bytes): (piece, ends at a mark)."""
    buf = carry + data
    start, at = 0, buf.find(SYNC_MARK)
    while at >= 0:
        end = at + len(SYNC_MARK) - len(carry)
        if end > start:
            yield data[start:end], True
            start = end
        at = buf.find(SYNC_MARK, at + 1)
    if start < len(data):
        yield data[start:], False


def _take(chunks: Iterator[bytes], n: int) -> Iterator[bytes]:
    got = 0
    for out in chunks:
        yield out
        got += len(out)
        if got >= n:
            return


def _deflate_from(fh, window: bytes) -> Iterator[bytes]:
    """Output of a raw inflate primed with ``window``, then of any members after this one."""
    inflater = zlib.decompressobj(RAW_WBITS, zdict=window) if window else zlib.decompressobj(RAW_WBITS)
    rest = b""
    while data := fh.read(READ):
        out = inflater.decompress(data)
        if out:
            yield out
        if inflater.eof:
            rest = inflater.unused_data
            while len(rest) < GZIP_TRAILER and (more := fh.read(READ)):
                rest += more
            rest = rest[GZIP_TRAILER:]  # this member's CRC32 and size, then the next member
            break
    else:
        return
    yield from _gzip_from(fh, rest)


def _gzip_from(fh, first: bytes = b"") -> Iterator[bytes]:
    """Output of every gzip member from ``first`` + the rest of ``fh``."""
    inflater = zlib.decompressobj(GZIP_WBITS)
    data = first
    while True:
        while data:
            out = inflater.decompress(data)
            data = b""
            if inflater.eof:
                data = inflater.unused_data
                inflater = zlib.decompressobj(GZIP_WBITS)
            if out:
                yield out
        data = fh.read(READ)
        if not data:
            return


def lines_from(path: str | Path, cp: Checkpoint, skip: int) -> Iterator[bytes]:
    """Complete non-blank lines from decompressed offset ``cp.out_offset + skip`` on (the start
    of a line); a damaged or cut-off tail ends them quietly (the planner has reported it)."""
    with open(path, "rb") as fh:
        fh.seek(cp.comp_offset)
        if cp.kind == DEFLATE:
            chunks = _deflate_from(fh, cp.window)
        elif cp.kind == PLAIN or fh.read(len(GZIP_MAGIC)) != GZIP_MAGIC:
            fh.seek(cp.comp_offset)
            chunks = iter(lambda: fh.read(READ), b"")
        else:
            fh.seek(0)
            chunks = _gzip_from(fh)
        pending = b""
        try:
            for out in chunks:
                if skip:
                    cut = min(skip, len(out))
                    out, skip = out[cut:], skip - cut
                    if not out:
                        continue
                *complete, pending = (pending + out).split(b"\n")
                yield from (line for line in complete if line.strip())
        except zlib.error:
            return
