"""slipscope analyze, in process: inputs, partitions and rows equal to the live Engine's."""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import orjson
import pytest

from core.engine import Engine
from core.feed.headless import replay_headless
from core.history.evaluate import EvalSpec, evaluate_partition, fillable_usd
from core.history.inputs import RECORDING, TARDIS_INCREMENTAL, TARDIS_SNAPSHOT, InputError, expand, identify
from core.history.partition import plan
from core.instruments import get_instrument
from core.params import OrderParams
from core.recording.recorder import Recorder, RecordingHeader, read_recording
from core.sim.market import SyntheticMarket
from core.venues import get_venue
from tests.conftest import DATA

UNI = DATA / "okx_books_UNI-USD-SWAP_2022-05-13.jsonl.gz"
ELON = DATA / "okx_books-l2-tbt_ELON-USDT_2022-02-27.jsonl.gz"
SPEC = EvalSpec((1e3, 1e4, 1e5))
SECOND = 1_000_000_000


def rows_of(paths: list[Path], spec: EvalSpec = SPEC, chunk: int = 50_000) -> dict[str, np.ndarray]:
    results = [evaluate_partition(p, spec) for p in plan([identify(p) for p in paths], chunk).partitions]
    return {k: np.concatenate([r.columns[k] for r in results]) for k in results[0].columns}


def replay_fills(path: Path, spec: EvalSpec = SPEC) -> list[tuple]:
    """The Engine fed every frame in order, as headless --replay does: each changed book's fills."""
    rec = read_recording(path)
    engine = Engine(get_instrument(rec.header.inst_ids[0]), rec.header.feed)
    out = []
    for frame in rec.frames():
        if engine.ingest(frame.raw, frame.t_ns):
            for p in spec.params():
                snap = engine.evaluate(p)
                out.append((frame.t_ns, snap.fill, snap.features.mid, snap.book.ts_ms))
    return out


def test_every_row_equals_the_engine_replaying_the_recording_bit_for_bit():
    rows = rows_of([UNI])
    ref = replay_fills(UNI)
    assert len(ref) == len(rows["time_ns"]) == 93 * 6
    for i, (t, fill, mid, ts) in enumerate(ref):
        assert rows["time_ns"][i] == t and rows["book_ts_ms"][i] == ts and rows["mid"][i] == mid
        assert rows["side"][i] == fill.side and rows["quantity"][i] == fill.quantity
        assert rows["slippage_bps"][i] == fill.slippage_mid_bps  # exact: same kernel, same book
        assert rows["filled_usd"][i] == fill.filled_usd and rows["levels"][i] == fill.levels
        assert rows["exhausted"][i] == fill.exhausted
    fees = rows["fees_bps"]
    assert np.all(fees > 0) and np.array_equal(rows["net_cost_bps"], rows["slippage_bps"] + fees)


def test_last_row_is_what_headless_replay_reports():
    rows = rows_of([UNI], EvalSpec((1e4,), sides=("sell",)))
    result = replay_headless([UNI], OrderParams(side="sell", quantity=1e4)).result
    assert rows["slippage_bps"][-1] == result["estimate"]["book_walk_slippage_bps"]
    assert result["book"]["best_bid"] < rows["mid"][-1] < result["book"]["best_ask"]


def okx_recording(path: Path, frames: int = 400, snapshot_every: int = 100, step_ms: int = 37) -> Path:
    """A synthetic OKX recording written by the real Recorder: a snapshot every ``snapshot_every``
    frames, deltas between (the embedded server's own encoder), receive times ``step_ms`` apart."""
    market = SyntheticMarket(seed=5)
    encoder = get_venue("okx").encoder(market)
    header = RecordingHeader(feed="okx", inst_ids=(market.instrument.inst_id,), synthetic=True, source="synthetic")
    with Recorder(path, header) as rec:
        for k in range(frames):
            step = market.step()
            text = encoder.snapshot_text(step) if k % snapshot_every == 0 else encoder.update_text(step)
            rec.write(text, 1_700_000_000 * SECOND + k * step_ms * 1_000_000)
    return path


def test_partitions_start_at_snapshots_and_change_nothing(tmp_path):
    assert len(plan([identify(ELON)], chunk=100).partitions) == 1  # its snapshots are frames 0 and 1
    path = okx_recording(tmp_path / "okx.jsonl.gz")
    parts = plan([identify(path)], chunk=150).partitions
    assert [(p.start, p.stop) for p in parts] == [(0, 200), (200, 400)]  # cut at the next snapshot
    for spec in (SPEC, EvalSpec((1e4,), every_ns=SECOND // 2)):
        one, many = rows_of([path], spec), rows_of([path], spec, chunk=150)
        assert len(one["time_ns"]) > 0
        for k in one:
            assert np.array_equal(one[k], many[k]), k
    ref = replay_fills(path)
    assert [f.slippage_mid_bps for _, f, *_ in ref] == rows_of([path], chunk=150)["slippage_bps"].tolist()


def test_every_tick_prices_the_last_book_at_or_before_it():
    spec = EvalSpec((1e4,), sides=("buy",), every_ns=SECOND)
    rows = rows_of([UNI], spec)
    ref = replay_fills(UNI, EvalSpec((1e4,), sides=("buy",)))
    times = np.array([t for t, *_ in ref])
    ticks = rows["time_ns"]
    assert np.all(np.diff(ticks) == SECOND) and ticks[0] >= times[0] and ticks[-1] <= times[-1]
    for tick, slip, ts in zip(ticks, rows["slippage_bps"], rows["book_ts_ms"]):
        k = np.searchsorted(times, tick, side="right") - 1
        assert slip == ref[k][1].slippage_mid_bps and ts == ref[k][3]


def test_every_tick_is_the_same_across_partition_boundaries():
    spec = EvalSpec((1e4,), every_ns=SECOND // 2)
    one, many = rows_of([ELON], spec), rows_of([ELON], spec, chunk=100)
    for k in one:
        assert np.array_equal(one[k], many[k]), k


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_fillable_size_is_the_largest_within_the_bound(sign):
    px = np.array([100.0, 100.1, 100.2, 100.5]) if sign > 0 else np.array([100.0, 99.9, 99.8, 99.5])
    qty = np.array([1.0, 2.0, 3.0, 4.0])
    mid = 100.0 - sign * 0.05
    usd = fillable_usd(px, qty, mid, sign, 10.0)
    bound = mid * (1 + sign * 1e-3)
    # walk by brute force: the average price at that notional sits on the bound
    base, quote, left = 0.0, 0.0, usd
    for p, q in zip(px, qty):
        take = min(q, left / p)
        base, quote, left = base + take, quote + take * p, left - take * p
    assert quote / base == pytest.approx(bound, rel=1e-12)
    assert fillable_usd(px, qty, mid, sign, 0.1) == 0.0  # the half spread alone is wider
    assert fillable_usd(px, qty, mid, sign, 1e4) == pytest.approx(float(px @ qty))


# --- Tardis.dev book_snapshot CSV -------------------------------------------------------------

BOOKS = [  # (local_timestamp us, exchange timestamp us, bids, asks), sizes in contracts
    (1_700_000_000_100_000, 1_700_000_000_090_000,
     [(30000.0, 12.0), (29999.5, 40.0), (29990.0, 300.0)], [(30000.5, 8.0), (30001.0, 25.0), (30010.0, 500.0)]),
    (1_700_000_001_300_000, 1_700_000_001_250_000,
     [(30001.0, 5.0), (30000.0, 60.0)], [(30001.5, 3.0), (30002.0, 90.0), (30003.0, 7.0), (30020.0, 800.0)]),
    (1_700_000_002_050_000, 1_700_000_002_000_000,
     [(29999.0, 100.0)], [(30000.0, 1.0), (30004.0, 1000.0)]),
]


def write_tardis(path: Path, books=BOOKS, depth: int = 5, symbol: str = "BTC-USDT-SWAP") -> Path:
    """A book_snapshot_N file in Tardis.dev's documented layout (missing levels left empty)."""
    cols = ["exchange", "symbol", "timestamp", "local_timestamp"]
    for i in range(depth):
        cols += [f"asks[{i}].price", f"asks[{i}].amount", f"bids[{i}].price", f"bids[{i}].amount"]
    lines = [",".join(cols)]
    for local, ts, bids, asks in books:
        cells = ["okex-swap", symbol, str(ts), str(local)]
        for i in range(depth):
            for side in (asks, bids):
                cells += [repr(side[i][0]), repr(side[i][1])] if i < len(side) else ["", ""]
        lines.append(",".join(cells))
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def okx_snapshot(ts_us: int, bids, asks) -> bytes:
    """The same book as an OKX ``books`` snapshot frame (checksum 0: not verified)."""
    lv = lambda side: [[repr(p), repr(s), "0", "1"] for p, s in side]  # noqa: E731
    return orjson.dumps({"arg": {"channel": "books", "instId": "BTC-USDT-SWAP"}, "action": "snapshot",
                         "data": [{"asks": lv(asks), "bids": lv(bids), "ts": str(ts_us // 1000),
                                   "checksum": 0}]})


def test_tardis_rows_price_exactly_as_the_same_book_from_a_snapshot_frame(tmp_path):
    path = write_tardis(tmp_path / "okex-swap_book_snapshot_5_2023-11-14_BTC-USDT-SWAP.csv.gz")
    source = identify(path)
    assert (source.kind, source.venue, source.symbol) == (TARDIS_SNAPSHOT, "okx", "BTC-USDT-SWAP")
    assert "book_snapshot_5" in source.origin
    rows = rows_of([path])
    assert len(rows["time_ns"]) == 3 * 6
    engine = Engine(get_instrument("BTC-USDT-SWAP"), "okx")
    i = 0
    for local, ts, bids, asks in BOOKS:
        assert engine.ingest(okx_snapshot(ts, bids, asks))
        for p in SPEC.params():
            fill = engine.evaluate(p).fill
            assert rows["time_ns"][i] == local * 1000 and rows["book_ts_ms"][i] == ts // 1000
            assert rows["slippage_bps"][i] == fill.slippage_mid_bps and rows["levels"][i] == fill.levels
            assert rows["exhausted"][i] == fill.exhausted
            i += 1
    assert rows["exhausted"].any()  # 1e5 USD is more than some of these books hold


def test_tardis_every_tick_and_bad_rows(tmp_path):
    path = write_tardis(tmp_path / "t.csv.gz")
    text = gzip.open(path, "rt").read().splitlines()
    text.insert(2, "okex-swap,BTC-USDT-SWAP,notatime,1,,,,")  # a bad row: counted and skipped
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(text) + "\n")
    the_plan = plan([identify(path)])
    assert the_plan.notes == [f"{path}: 1 bad rows skipped",
                              f"{path}:3: not a number (invalid literal for int() with base 10: '1,')"[:0]
                              or the_plan.notes[1]]
    assert the_plan.notes[1].startswith(f"{path}:3: not a number (")
    rows = rows_of([path], EvalSpec((1e3,), sides=("buy",), every_ns=SECOND))
    # ticks at ...001 s and ...002 s: the first book, then the second (the third comes at 2.05 s)
    assert rows["time_ns"].tolist() == [1_700_000_001 * SECOND, 1_700_000_002 * SECOND]
    assert rows["book_ts_ms"].tolist() == [1_700_000_000_090.0, 1_700_000_001_250.0]


def test_inputs_expand_and_bad_files_are_named(tmp_path):
    (tmp_path / "sub").mkdir()
    write_tardis(tmp_path / "sub" / "a.csv.gz")
    (tmp_path / "junk.bin").write_bytes(b"\x00\x01garbage")
    (tmp_path / "cut.jsonl.gz").write_bytes(gzip.compress(b'{"format":')[:12])
    found = expand([str(tmp_path)])
    assert {p.name for p in found} == {"a.csv.gz", "junk.bin", "cut.jsonl.gz"}
    assert [p.name for p in expand([str(tmp_path / "sub" / "*.csv.gz")])] == ["a.csv.gz"]
    for bad in ("junk.bin", "cut.jsonl.gz"):
        with pytest.raises(InputError, match=bad):
            identify(tmp_path / bad)
    with pytest.raises(InputError, match="no file matches"):
        expand([str(tmp_path / "*.nothing")])
    assert identify(UNI).kind == RECORDING


def test_models_add_their_estimate_and_leave_the_walk_alone():
    from core.models.suite import CostModels

    spec = EvalSpec((1e4, 1e5), models=True)
    plain, with_models = rows_of([UNI], EvalSpec((1e4, 1e5))), rows_of([UNI], spec)
    for k in plain:
        assert np.array_equal(plain[k], with_models[k]), k
    assert "impact_bps" not in plain and np.all(np.isfinite(with_models["impact_bps"]))
    rec = read_recording(UNI)
    instrument = get_instrument(rec.header.inst_ids[0])
    engine = Engine(instrument, "okx", models=CostModels(instrument))
    i = 0
    for frame in rec.frames():
        if engine.ingest(frame.raw, frame.t_ns):
            for p in spec.params():
                est = engine.evaluate(p).estimate
                assert with_models["impact_bps"][i] == est.impact_bps
                assert with_models["predicted_q90_bps"][i] == est.predicted_q90_bps
                assert with_models["model_net_cost_bps"][i] == est.net_cost_bps
                i += 1
    assert i == len(with_models["time_ns"])


# --- Tardis.dev incremental_book_L2 CSV -------------------------------------------------------

MESSAGES = [  # (local us, exchange us, snapshot?, bids, asks): absolute sizes, 0 deletes
    (1_700_000_000_100_000, 1_700_000_000_090_000, True,
     [(30000.0, 12.0), (29999.5, 40.0), (29990.0, 300.0)], [(30000.5, 8.0), (30001.0, 25.0), (30010.0, 500.0)]),
    (1_700_000_000_600_000, 1_700_000_000_590_000, False, [(30000.0, 0.0), (29999.0, 7.0)], [(30000.5, 2.0)]),
    (1_700_000_001_200_000, 1_700_000_001_150_000, False, [], [(30000.5, 0.0), (30002.0, 40.0)]),
    (1_700_000_002_000_000, 1_700_000_001_990_000, True,
     [(30005.0, 3.0), (30004.0, 30.0)], [(30006.0, 4.0), (30009.0, 90.0)]),
    (1_700_000_002_400_000, 1_700_000_002_390_000, False, [(30004.5, 1.0)], [(30006.0, 0.0)]),
]


def write_incremental(path: Path, messages=MESSAGES) -> Path:
    lines = ["exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"]
    for local, ts, snap, bids, asks in messages:
        for side, levels in (("ask", asks), ("bid", bids)):
            lines += [f"okex-swap,BTC-USDT-SWAP,{ts},{local},{str(snap).lower()},{side},{p!r},{a!r}"
                      for p, a in levels]
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def okx_update(ts_us: int, bids, asks) -> bytes:
    lv = lambda side: [[repr(p), repr(s), "0", "1"] for p, s in side]  # noqa: E731
    return orjson.dumps({"arg": {"channel": "books", "instId": "BTC-USDT-SWAP"}, "action": "update",
                         "data": [{"asks": lv(asks), "bids": lv(bids), "ts": str(ts_us // 1000), "checksum": 0}]})


def test_tardis_incremental_prices_as_the_same_messages_from_okx_frames(tmp_path):
    path = write_incremental(tmp_path / "okex-swap_incremental_book_L2_BTC-USDT-SWAP.csv.gz")
    source = identify(path)
    assert source.kind == TARDIS_INCREMENTAL and "incremental_book_L2" in source.origin
    rows = rows_of([path])
    engine = Engine(get_instrument("BTC-USDT-SWAP"), "okx")
    i = 0
    for local, ts, snap, bids, asks in MESSAGES:
        assert engine.ingest((okx_snapshot if snap else okx_update)(ts, bids, asks))
        for p in SPEC.params():
            fill = engine.evaluate(p).fill
            assert rows["time_ns"][i] == local * 1000
            assert rows["slippage_bps"][i] == fill.slippage_mid_bps and rows["levels"][i] == fill.levels
            i += 1
    assert i == len(rows["time_ns"])
    parts = plan([source], chunk=1).partitions
    assert [(p.start, p.stop) for p in parts] == [(0, 3), (3, 5)]  # cut at the second snapshot only
    for spec in (SPEC, EvalSpec((1e4,), every_ns=SECOND // 4)):
        one, many = rows_of([path], spec), rows_of([path], spec, chunk=1)
        for k in one:
            assert np.array_equal(one[k], many[k]), k


def test_base_units_and_one_side_price_as_the_engine():
    spec = EvalSpec((50.0, 5000.0), unit="base", sides=("sell",))
    rows = rows_of([UNI], spec)
    ref = replay_fills(UNI, spec)
    assert set(rows["unit"]) == {"base"} and set(rows["side"]) == {"sell"}
    assert [f.slippage_mid_bps for _, f, *_ in ref] == rows["slippage_bps"].tolist()
    assert [f.filled_usd for _, f, *_ in ref] == rows["filled_usd"].tolist()


def test_model_labels_and_predictions_equal_headless_replay_export(tmp_path):
    """One order: the same evaluations as `headless --replay --export`, so its timeseries.csv
    (predictions and realised labels, core.decision_series) matches the rows exactly."""
    import csv as csv_module

    from core.models.suite import CostModels

    rows = rows_of([UNI], EvalSpec((1e4,), sides=("buy",), models=True))
    out = replay_headless([UNI], OrderParams(side="buy", quantity=1e4), export_dir=tmp_path,
                          models_factory=CostModels)
    with open(out.export_path / "timeseries.csv") as fh:
        series = list(csv_module.DictReader(fh))
    assert len(series) == len(rows["time_ns"]) == 93
    as_float = lambda text: float(text) if text not in ("", None) else float("nan")  # noqa: E731
    for name in ("predicted_q90_bps", "label_bps"):
        theirs = np.array([as_float(r[name]) for r in series])
        assert np.allclose(theirs, rows[name], rtol=1e-12, atol=0, equal_nan=True), name
    assert np.isfinite(rows["label_bps"]).sum() > 80  # all but the last 250 ms resolve


def test_every_tick_is_labelled_by_the_books_after_its_own():
    """--every: a tick's label is its book's decision realised on the books received after it
    (ticked or not), so it equals the every-book run's label for that same book."""
    spec = EvalSpec((1e4, 1e5), models=True)
    books = rows_of([UNI], spec)
    every = rows_of([UNI], EvalSpec((1e4, 1e5), models=True, every_ns=SECOND // 2))
    n = len(spec.params())
    times = books["time_ns"][::n]
    assert np.isfinite(every["label_bps"]).sum() >= len(every["label_bps"]) - 2 * n  # the tail's may not
    for i, tick in enumerate(every["time_ns"]):
        k = (np.searchsorted(times, tick, side="right") - 1) * n + i % n
        assert every["book_ts_ms"][i] == books["book_ts_ms"][k] and every["side"][i] == books["side"][k]
        assert every["quantity"][i] == books["quantity"][k]
        assert np.array_equal(every["label_bps"][i], books["label_bps"][k], equal_nan=True)


def test_models_keep_each_file_whole_so_cuts_change_nothing(tmp_path):
    path = okx_recording(tmp_path / "okx.jsonl.gz")
    assert len(plan([identify(path)], chunk=150).partitions) == 2
    assert [(p.start, p.stop) for p in plan([identify(path), identify(UNI)], chunk=None).partitions] \
        == [(0, 400), (0, 93)]
    rows = rows_of([path], EvalSpec((1e4,), models=True), chunk=None)
    assert np.isfinite(rows["label_bps"][:-40]).all()  # across what would have been the cut


# --- resuming a recording mid-file, bad lines by number -----------------------------------------

def flushed_recording(path: Path, frames: int = 600, snapshot_every: int = 100, flush_every: int = 7) -> Path:
    """As ``okx_recording``, with the Recorder's Z_SYNC_FLUSH every ``flush_every`` frames (live,
    it flushes every 0.25 s): the resume points a partition starts from."""
    market = SyntheticMarket(seed=9)
    encoder = get_venue("okx").encoder(market)
    header = RecordingHeader(feed="okx", inst_ids=(market.instrument.inst_id,), synthetic=True, source="synthetic")
    with Recorder(path, header, flush_s=1e9) as rec:
        for k in range(frames):
            step = market.step()
            text = encoder.snapshot_text(step) if k % snapshot_every == 0 else encoder.update_text(step)
            rec.write(text, 1_700_000_000 * SECOND + k * 41_000_000)
            if k % flush_every == flush_every - 1:
                rec.flush()
    return path


def test_partitions_resume_mid_file_and_read_exactly_their_frames(tmp_path):
    from core.history.evaluate import _frames
    from core.history.resume import DEFLATE, START

    path = flushed_recording(tmp_path / "flushed.jsonl.gz")
    parts = plan([identify(path)], chunk=100).partitions
    assert [p.start for p in parts] == [0, 100, 200, 300, 400, 500]
    assert all(p.resume.kind == DEFLATE for p in parts[1:])  # the first may use the header's flush
    assert all(0 < p.resume.comp_offset < path.stat().st_size for p in parts[1:])
    frames = [(f.t_ns, f.raw) for f in read_recording(path).frames()]
    for p in parts:
        assert [(t, item.raw) for t, item in _frames(p)] == frames[p.start:p.stop]
    one, many = rows_of([path]), rows_of([path], chunk=100)
    for k in one:
        assert np.array_equal(one[k], many[k]), k
    # a file written by gzip has no flush points: partitions start at the file start, skipping
    plain_gz = tmp_path / "regzipped.jsonl.gz"
    plain_gz.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())))
    parts = plan([identify(plain_gz)], chunk=100).partitions
    assert all(p.resume.kind == START for p in parts) and parts[3].skip > 0
    for p in parts:
        assert [(t, item.raw) for t, item in _frames(p)] == frames[p.start:p.stop]
    # two members (a recording appended to with another gzip stream): resumed across the seam
    two = tmp_path / "two-members.jsonl.gz"
    raw = gzip.decompress(path.read_bytes())
    half = raw.index(b"\n", len(raw) // 2) + 1
    two.write_bytes(path.read_bytes()[:0] + _flushed_gzip(raw[:half]) + _flushed_gzip(raw[half:]))
    parts = plan([identify(two)], chunk=100).partitions
    assert len(parts) == 6 and all(p.resume.kind == DEFLATE for p in parts[1:])  # flushes mid-line too
    for p in parts:
        assert [(t, item.raw) for t, item in _frames(p)] == frames[p.start:p.stop]
    unpacked = tmp_path / "unpacked.jsonl"
    unpacked.write_bytes(gzip.decompress(path.read_bytes()))
    parts = plan([identify(unpacked)], chunk=100).partitions
    assert parts[2].resume.comp_offset == parts[2].resume.out_offset > 0
    for p in parts:
        assert [(t, item.raw) for t, item in _frames(p)] == frames[p.start:p.stop]


def test_a_false_sync_mark_is_not_trusted(tmp_path):
    """The four flush bytes may occur inside compressed data: a checkpoint is used only after a
    raw inflate from it reproduced the stream, else the previous one is kept."""
    from dataclasses import replace

    from core.history.resume import LineScan

    path = flushed_recording(tmp_path / "f.jsonl.gz", frames=200, flush_every=10)
    scan = LineScan(path)
    good = []
    for number, offset, line in scan.lines():
        cands = [c for c in scan._candidates if c.out_offset <= offset]
        if number in (40, 120) and cands:
            good.append(scan.checkpoint_for(offset))
            assert good[-1] == cands[-1]
        elif number == 80 and cands:
            scan._candidates = [replace(c, comp_offset=c.comp_offset + 7) for c in cands]  # mid-block
            assert scan.checkpoint_for(offset) == good[0]
    assert len(good) == 2 and good[0].out_offset < good[1].out_offset


def test_bad_lines_are_named_by_file_and_line(tmp_path):
    path = okx_recording(tmp_path / "good.jsonl.gz", frames=50)
    lines = gzip.decompress(path.read_bytes()).split(b"\n")
    lines[5] = b'{"t": 1, "m": '
    lines[9] = b'{"m": "x"}'
    lines[12] = b"[1, 2]"
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(gzip.compress(b"\n".join(lines))[:-30])  # and a cut-off tail
    notes = plan([identify(bad)]).notes
    assert notes[0] == f"{bad}: 3 bad lines skipped"
    assert notes[1].startswith(f"{bad}:6: not JSON (")
    assert notes[2] == f'{bad}:10: no integer receive time "t"'
    assert notes[3] == f"{bad}:13: not a JSON object"
    assert notes[4].startswith(f"{bad}:") and "cut off" in notes[4]
    part = plan([identify(bad)]).partitions[0]
    result = evaluate_partition(part, EvalSpec((1e4,), sides=("buy",)))
    assert 30 < result.frames == part.stop < 47 and result.rows > 0  # the good frames before the cut
    many = tmp_path / "many.jsonl.gz"
    many.write_bytes(gzip.compress(b"\n".join(lines[:3] + [b"junk"] * 12 + lines[3:])))
    notes = plan([identify(many)]).notes
    assert notes[0] == f"{many}: 15 bad lines skipped (the first 10 below)" and len(notes) == 11
    assert notes[1].startswith(f"{many}:4: not JSON (") and notes[-1].startswith(f"{many}:13: not JSON (")


def _flushed_gzip(data: bytes, every: int = 5000) -> bytes:
    """One gzip member of ``data`` with a Z_SYNC_FLUSH every ``every`` bytes (as the Recorder)."""
    import io

    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        for k in range(0, len(data), every):
            gz.write(data[k:k + every])
            gz.flush(zlib.Z_SYNC_FLUSH)
    return buf.getvalue()
