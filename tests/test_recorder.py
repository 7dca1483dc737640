"""Recording and replay: the same book sequence, exactly; files cut short stay readable."""
from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core.engine import Engine
from core.recording.recorder import Recorder, RecordingHeader, read_recording
from core.venues.okx.session import is_snapshot as is_okx_snapshot
from core.sim.server import EmbeddedServer, ReplaySource, SyntheticSource
from core.instruments import get_instrument
from tests.feed_support import SYMBOL, Harness, no_thread_leaks, run_async  # noqa: F401

pytestmark = pytest.mark.usefixtures("no_thread_leaks")


class BookTape:
    """Every book version an Engine publishes, with its arrays (fresh per version: no copies)."""

    def __init__(self, engine: Engine, limit: int | None = None) -> None:
        self.engine = engine
        self.books: list[tuple] = []
        self.limit = limit

    def ingest(self, raw, recv_ns: int | None = None) -> None:
        if self.limit is not None and len(self.books) >= self.limit:
            return  # a replay client may come back for a second pass: ignore it
        if self.engine.ingest(raw, recv_ns):
            b = self.engine.book
            self.books.append((b.version, b.ts_ms, b.bid_px, b.bid_sz, b.ask_px, b.ask_sz))


def assert_same_tape(a: BookTape, b: BookTape) -> None:
    assert len(a.books) == len(b.books) > 0
    for x, y in zip(a.books, b.books):
        assert x[:2] == y[:2]
        for u, v in zip(x[2:], y[2:]):
            assert np.array_equal(u, v)
    assert dict(a.engine.rejections) == dict(b.engine.rejections)


def record_live(tmp_path: Path, feed: str, faults: bool = True) -> tuple[Path, BookTape]:
    """Record the embedded server while a live Engine follows the same frames; inject faults."""
    path = tmp_path / f"live-{feed}.jsonl.gz"
    srv = EmbeddedServer(SyntheticSource((SYMBOL,), seed=3, rate=200))
    srv.start()
    live = BookTape(Engine(get_instrument(SYMBOL), feed))
    header = RecordingHeader(feed=feed, inst_ids=(SYMBOL,), url=srv.urls.for_feed(feed, SYMBOL), synthetic=True)

    async def main():
        with Recorder(path, header) as recorder:
            h = Harness(srv.urls.for_feed(feed, SYMBOL), feed,
                        on_frame=lambda raw, t: (recorder.write(raw, t), live.ingest(raw, t)))
            await h.start()
            try:
                await h.wait_for(lambda: h.engine.applied >= 30, what="30 books")
                if faults:
                    srv.faults.garbage(2)
                    srv.faults.crossed_book()
                    if feed == "okx":
                        # one fault at a time: a gap arriving while the crossed book's resync is
                        # still pending would be counted as out_of_sync, not sequence_gap
                        await h.wait_for(lambda: h.client.resyncs >= 1 and h.client.state == "live"
                                         and not h.engine.needs_resync, what="resync after the crossed book")
                        srv.faults.gap()
                        await h.wait_for(lambda: h.client.resyncs >= 2 and h.client.state == "live"
                                         and not h.engine.needs_resync, what="resync after the gap")
                applied = h.engine.applied
                await h.wait_for(lambda: h.engine.applied >= applied + 30, what="30 more books")
            finally:
                await h.stop()
    try:
        run_async(main)
    finally:
        srv.stop()
    return path, live


@pytest.mark.parametrize("feed", ["goquant", "okx"])
def test_record_then_replay_through_the_engine_reproduces_every_book(tmp_path, feed):
    path, live = record_live(tmp_path, feed)
    recording = read_recording(path)
    assert recording.header.feed == feed and recording.header.synthetic
    replay = BookTape(Engine(get_instrument(SYMBOL), feed))
    for frame in recording.frames():
        replay.ingest(frame.raw, 0)
    assert not recording.truncated and recording.bad_lines == 0
    assert_same_tape(live, replay)
    assert live.engine.rejections["malformed_json"] == 2  # garbage is recorded and replayed too
    if feed == "okx":
        assert live.engine.rejections["sequence_gap"] == 1


@pytest.mark.parametrize("feed", ["goquant", "okx"])
def test_replay_server_serves_the_recorded_sequence_over_a_socket(tmp_path, feed):
    path, live = record_live(tmp_path, feed, faults=(feed == "goquant"))
    srv = EmbeddedServer(ReplaySource(path, speed=None))
    srv.start()
    tape = BookTape(Engine(get_instrument(SYMBOL), feed), limit=len(live.books))

    async def main():
        h = Harness(srv.urls.for_feed(feed, SYMBOL), feed, on_frame=lambda raw, t: tape.ingest(raw, t))
        await h.start()
        try:
            await h.wait_for(lambda: len(tape.books) >= len(live.books), what="the whole recording")
        finally:
            await h.stop()
        assert h.client.source.startswith("replay of synthetic recording") and h.client.synthetic
    try:
        run_async(main)
    finally:
        srv.stop()
    assert_same_tape(live, tape)


def test_replay_paces_by_recorded_time(tmp_path):
    path = tmp_path / "paced.jsonl.gz"
    with Recorder(path, RecordingHeader(feed="goquant", inst_ids=(SYMBOL,))) as rec:
        from core.sim.market import SyntheticMarket
        market = SyntheticMarket(seed=1)
        t0 = time.perf_counter_ns()
        for i in range(6):
            rec.write(market.goquant_message(market.step()).decode(), t0 + i * 100_000_000)  # 10/s
    srv = EmbeddedServer(ReplaySource(path, speed=5.0))  # 0.5 s of recording in 0.1 s
    srv.start()
    arrivals: list[int] = []

    async def main():
        h = Harness(srv.urls.goquant[SYMBOL], on_frame=lambda raw, t: arrivals.append(t))
        await h.start()
        try:
            await h.wait_for(lambda: len(arrivals) >= 6, what="six frames")
        finally:
            await h.stop()
    try:
        run_async(main)
    finally:
        srv.stop()
    span_s = (arrivals[5] - arrivals[0]) / 1e9
    assert 0.07 < span_s < 0.5  # 0.1 s nominal; never as fast as possible (< 0.01) nor 1x (0.5)


def test_file_cut_short_keeps_every_complete_line(tmp_path):
    path = tmp_path / "cut.jsonl.gz"
    with Recorder(path, RecordingHeader(feed="goquant", inst_ids=(SYMBOL,))) as rec:
        for i in range(2000):
            rec.write(f'{{"n": {i}, "pad": "{"x" * (i % 50)}"}}', time.perf_counter_ns())
    data = path.read_bytes()
    full = [f.raw for f in read_recording(path).frames()]
    assert len(full) == 2000
    for cut in (len(data) // 3, len(data) // 2, len(data) - 9):
        short = tmp_path / f"cut-{cut}.jsonl.gz"
        short.write_bytes(data[:cut])
        rec = read_recording(short)
        frames = [f.raw for f in rec.frames()]
        assert rec.truncated and 0 < len(frames) <= 2000
        assert frames == full[: len(frames)]  # a prefix, in order, every line whole


def test_binary_frames_round_trip(tmp_path):
    path = tmp_path / "bin.jsonl.gz"
    with Recorder(path, RecordingHeader(feed="okx", inst_ids=(SYMBOL,))) as rec:
        rec.write(b"\x00\xff\x10 not text", 1)
        rec.write("text", 2)
    assert [f.raw for f in read_recording(path).frames()] == [b"\x00\xff\x10 not text", "text"]


def test_okx_rotation_starts_every_part_with_a_snapshot(tmp_path):
    srv = EmbeddedServer(SyntheticSource((SYMBOL,), seed=5, rate=200))
    srv.start()
    path = tmp_path / "rot.jsonl.gz"
    recorder_box: list[Recorder] = []

    async def main():
        h = Harness(srv.urls.okx, "okx", on_frame=lambda raw, t: recorder_box[0].write(raw, t))
        recorder_box.append(Recorder(path, RecordingHeader(feed="okx", inst_ids=(SYMBOL,)),
                                     rotate_bytes=30_000, request_snapshot=h.client.request_resync))
        await h.start()
        try:
            await h.wait_for(lambda: len(recorder_box[0].paths) >= 3, what="three parts")
        finally:
            await h.stop()
            recorder_box[0].close()
    try:
        run_async(main)
    finally:
        srv.stop()
    paths = recorder_box[0].paths
    assert [p.name for p in paths[:3]] == ["rot.000.jsonl.gz", "rot.001.jsonl.gz", "rot.002.jsonl.gz"]
    for i, p in enumerate(paths):
        rec = read_recording(p)
        assert rec.header.part == i
        data = [f.raw for f in rec.frames() if '"event"' not in f.raw[:24]]
        assert data and is_okx_snapshot(data[0]), p.name  # every part replays on its own
    # the parts together replay into one clean book sequence
    engine = Engine(get_instrument(SYMBOL), "okx")
    for frame in read_recording(paths).frames():
        engine.ingest(frame.raw)
    assert set(engine.rejections) <= {"out_of_sync"} and engine.applied > 0


def test_goquant_rotation_by_time(tmp_path):
    path = tmp_path / "t.jsonl.gz"
    rec = Recorder(path, RecordingHeader(feed="goquant", inst_ids=(SYMBOL,)), rotate_s=0.05)
    rec.write("a", 1)
    time.sleep(0.06)
    rec.tick()
    rec.write("b", 2)
    rec.close()
    assert len(rec.paths) == 2
    assert [f.raw for f in read_recording(rec.paths).frames()] == ["a", "b"]


def test_refuses_to_overwrite_and_reads_header_less_files(tmp_path):
    path = tmp_path / "x.jsonl.gz"
    Recorder(path, RecordingHeader(feed="goquant", inst_ids=(SYMBOL,))).close()
    from core.recording.recorder import RecordingError
    with pytest.raises(RecordingError, match="already exists"):
        Recorder(path, RecordingHeader(feed="goquant", inst_ids=(SYMBOL,)))
    with pytest.raises(RecordingError, match="does not exist"):
        read_recording(tmp_path / "missing.jsonl.gz")
    raw = tmp_path / "raw.jsonl.gz"
    raw.write_bytes((Path(__file__).parent / "data" / "okx_books_UNI-USD-SWAP_2022-05-13.jsonl.gz").read_bytes())
    rec = read_recording(raw)
    assert rec.header.feed == "okx" and rec.header.inst_ids == ("UNI-USD-SWAP",)
    engine = Engine(get_instrument("UNI-USD-SWAP"), "okx")
    for frame in rec.frames():
        engine.ingest(frame.raw)
    assert engine.applied == 93 and engine.counters()["rejected"] == 0


def _slipscope(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "app", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kw)


def _wait_for_lines(path: Path, n: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if path.exists():
            try:
                count = sum(1 for _ in read_recording(path).frames())
            except Exception:
                count = 0
            if count >= n:
                return
        time.sleep(0.1)
    raise AssertionError(f"{path} never held {n} frames")


def test_killed_recorder_leaves_every_complete_line_readable(tmp_path):
    path = tmp_path / "killed.jsonl.gz"
    proc = _slipscope("record", "--rate", "100", "--duration", "60", "--out", str(path))
    try:
        _wait_for_lines(path, 30, proc)
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    rec = read_recording(path)
    frames = list(rec.frames())
    assert rec.truncated and rec.bad_lines == 0 and len(frames) >= 30
    engine = Engine(get_instrument(SYMBOL), "goquant")
    for frame in frames:
        engine.ingest(frame.raw)
    assert engine.applied == len(frames) and engine.counters()["rejected"] == 0
    with pytest.raises(EOFError):  # plain gzip agrees the file was cut short...
        with gzip.open(path, "rb") as fh:
            fh.read()


def test_ctrl_c_ends_a_recording_cleanly(tmp_path):
    path = tmp_path / "sigint.jsonl.gz"
    proc = _slipscope("record", "--rate", "50", "--out", str(path), "--feed", "okx")
    try:
        _wait_for_lines(path, 10, proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out.strip().splitlines() == [str(path)]
    rec = read_recording(path)
    frames = list(rec.frames())
    assert not rec.truncated and len(frames) >= 10
    with gzip.open(path, "rb") as fh:  # a complete gzip file
        assert fh.read().count(b"\n") == len(frames) + 1
