"""OKX books: checksum (OKX's documented examples and real recorded frames), sequence chain,
heartbeats, resync state and control frames."""
from __future__ import annotations

import numpy as np
import orjson
import pytest
from hypothesis import given, strategies as st

from core import errors
from core.book import OrderBook
from core.engine import Engine
from core.instruments import get_instrument
from core.okx import (
    OkxBookSync, OkxEvent, book_checksum, checksum_string, frame_from_levels, parse_frame,
)
from tests.conftest import okx_frames

UNI = "okx_books_UNI-USD-SWAP_2022-05-13.jsonl.gz"
ELON = "okx_books-l2-tbt_ELON-USDT_2022-02-27.jsonl.gz"


def test_checksum_matches_okx_documentation_examples():
    # OKX v5 API docs, "Checksum" of the order book channel.
    bids = [("3366.1", "7"), ("3366", "6")]
    asks = [("3366.8", "9"), ("3368", "8")]
    assert checksum_string(bids, asks) == "3366.1:7:3366.8:9:3366:6:3368:8"
    assert book_checksum(bids, asks) == -1881014294
    bids = [("3366.1", "7")]
    asks = [("3366.8", "9"), ("3368", "8"), ("3372", "8")]
    assert checksum_string(bids, asks) == "3366.1:7:3366.8:9:3368:8:3372:8"
    assert book_checksum(bids, asks) == 831078360


def test_checksum_uses_only_25_levels():
    bids = [(str(1000 - i), "1") for i in range(30)]
    asks = [(str(1001 + i), "1") for i in range(30)]
    assert checksum_string(bids, asks).count(":") == 25 * 4 - 1


@pytest.mark.parametrize("name,inst", [(UNI, "UNI-USD-SWAP"), (ELON, "ELON-USDT")])
def test_real_recordings_verify_every_checksum(name, inst):
    frames = okx_frames(name)
    engine = Engine(get_instrument(inst), "okx")
    for raw in frames:
        engine.ingest(raw)
    c = engine.counters()
    assert c["rejected"] == 0, c["last_error"]
    assert c["applied"] == len(frames)
    assert c["checksums_verified"] == len(frames)  # every 2022 frame carries a real checksum
    snap = engine.evaluate()
    assert snap.book.best_bid < snap.book.best_ask


def test_real_recording_keeps_exact_strings_for_11_decimal_prices():
    frames = okx_frames(ELON)
    book = OrderBook()
    sync = OkxBookSync("ELON-USDT", book)
    for raw in frames[:50]:
        sync.apply(parse_frame(raw))
    top_bid_text = sync._bid_text[float(book.bid_px[0])].split(":")[0]  # kept as "px:sz"
    assert top_bid_text.startswith("0.0000007") and len(top_bid_text) > 10


def _level(px: float, sz: float) -> list[str]:
    return [f"{px:g}", f"{sz:g}", "0", "1"]


def _frame(action, bids, asks, seq=None, prev=None, checksum=None, ts=1_700_000_000_000):
    bl = [_level(*b) for b in bids]
    al = [_level(*a) for a in asks]
    return frame_from_levels("books", "BTC-USDT-SWAP", action, bl, al, ts, 0 if checksum is None else checksum,
                             seq, prev)


def _synced_engine():
    engine = Engine(get_instrument("BTC-USDT-SWAP"), "okx")
    assert engine.ingest(_frame("snapshot", [(100, 1), (99, 2)], [(101, 1), (102, 2)], seq=10, prev=-1))
    return engine


def test_checksum_zero_is_not_verified_and_the_chain_guards():
    engine = _synced_engine()
    assert engine.ingest(_frame("update", [(100, 5)], [], seq=11, prev=10))
    assert engine.counters()["checksums_verified"] == 0
    assert engine.evaluate().book.bid_sz[0] == 5


def test_heartbeat_changes_nothing():
    engine = _synced_engine()
    version = engine.book.version
    assert not engine.ingest(_frame("update", [], [], seq=10, prev=10))
    assert engine.book.version == version and engine.counters()["heartbeats"] == 1
    assert engine.ingest(_frame("update", [(98, 1)], [], seq=11, prev=10))


@pytest.mark.parametrize("prev", [9, 12, 3])  # behind, ahead, restart lower after maintenance
def test_sequence_gap_needs_resync_and_blocks_deltas(prev):
    engine = _synced_engine()
    before = engine.evaluate()
    assert not engine.ingest(_frame("update", [(100, 7)], [], seq=prev + 1, prev=prev))
    assert engine.needs_resync
    assert engine.counters()["rejected_by_reason"] == {"sequence_gap": 1}
    assert not engine.ingest(_frame("update", [(100, 8)], [], seq=prev + 2, prev=prev + 1))
    assert engine.counters()["rejected_by_reason"]["out_of_sync"] == 1
    assert np.array_equal(engine.evaluate().book.bid_sz, before.book.bid_sz)
    assert engine.ingest(_frame("snapshot", [(100, 9)], [(101, 1)], seq=50, prev=-1))
    assert not engine.needs_resync
    assert engine.ingest(_frame("update", [(100, 3)], [], seq=51, prev=50))


def test_checksum_mismatch_needs_resync_and_leaves_book():
    engine = _synced_engine()
    before = engine.evaluate()
    assert not engine.ingest(_frame("update", [(100, 5)], [], seq=11, prev=10, checksum=12345))
    assert engine.needs_resync
    assert engine.counters()["rejected_by_reason"] == {"checksum_mismatch": 1}
    assert engine.evaluate().book.version == before.book.version


def test_correct_checksum_on_update_is_verified():
    engine = _synced_engine()
    expected = book_checksum([("100", "5"), ("99", "2")], [("101", "1"), ("102", "2")])
    assert engine.ingest(_frame("update", [(100, 5)], [], seq=11, prev=10, checksum=expected))
    assert engine.counters()["checksums_verified"] == 1


def test_crossing_delta_is_rejected_and_needs_resync():
    engine = _synced_engine()
    assert not engine.ingest(_frame("update", [(101.5, 1)], [], seq=11, prev=10))
    assert engine.counters()["rejected_by_reason"] == {"crossed_book": 1}
    assert engine.needs_resync


def test_delete_of_unknown_level_is_ignored():
    engine = _synced_engine()
    assert engine.ingest(_frame("update", [(97, 0)], [(105, 0)], seq=11, prev=10))
    snap = engine.evaluate()
    assert snap.book.bid_px.tolist() == [100, 99] and snap.book.ask_px.tolist() == [101, 102]


def test_update_before_any_snapshot_is_out_of_sync():
    engine = Engine(get_instrument("BTC-USDT-SWAP"), "okx")
    assert not engine.ingest(_frame("update", [(100, 1)], [], seq=2, prev=1))
    assert engine.counters()["rejected_by_reason"] == {"out_of_sync": 1}
    assert engine.evaluate() is None


def test_control_frames_are_not_rejections():
    engine = _synced_engine()
    for raw in (b"pong", b'{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT-SWAP"},"connId":"a"}',
                b'{"event":"error","code":"60012","msg":"Invalid request"}'):
        assert not engine.ingest(raw)
    c = engine.counters()
    assert c["rejected"] == 0 and c["control_frames"] == 3
    assert isinstance(parse_frame(b'{"event":"error","code":"1","msg":"x"}'), OkxEvent)


@pytest.mark.parametrize("raw,exc", [
    (b"not json", errors.MalformedJSON),
    (b'{"arg": {"channel": "books", "instId": "BTC-USDT-SWAP"}}', errors.MissingField),
    (b'{"arg": {"channel": "trades", "instId": "BTC-USDT-SWAP"}, "data": [{}]}', errors.WrongSchema),
    (b'{"arg": {"channel": "books", "instId": "ETH-USDT-SWAP"}, "action": "snapshot", "data": [{"asks": [], "bids": [], "ts": "1"}]}',
     errors.WrongInstrument),
    (b'{"arg": {"channel": "books", "instId": "BTC-USDT-SWAP"}, "action": "snapshot", "data": [{"asks": [["x", "1", "0", "1"]], "bids": [], "ts": "1"}]}',
     errors.NonNumeric),
    (b'{"arg": {"channel": "books", "instId": "BTC-USDT-SWAP"}, "action": "snapshot", "data": [{"asks": [["101", "1", "0", "1"]], "bids": [], "ts": "noon"}]}',
     errors.InvalidTimestamp),
])
def test_bad_frames_are_specific(raw, exc):
    engine = _synced_engine()
    assert not engine.ingest(raw)
    assert engine.counters()["rejected_by_reason"] == {exc.reason: 1}


def test_books5_without_action_is_a_snapshot():
    raw = orjson.dumps({"arg": {"channel": "books5", "instId": "BTC-USDT-SWAP"},
                        "data": [{"asks": [["101", "1", "0", "1"]], "bids": [["100", "2", "0", "1"]], "ts": "5"}]})
    engine = Engine(get_instrument("BTC-USDT-SWAP"), "okx")
    assert engine.ingest(raw)
    assert engine.evaluate().book.bid_sz.tolist() == [2.0]


price_ticks = st.integers(1, 300)
size_text = st.sampled_from(["0", "1", "2.5", "0.01", "13", "400.25"])


@st.composite
def okx_sessions(draw):
    """A snapshot and a sequence of updates as strings, with bid ticks below ask ticks."""
    bid = draw(st.dictionaries(price_ticks, size_text.filter(lambda s: s != "0"), max_size=40))
    ask = draw(st.dictionaries(price_ticks, size_text.filter(lambda s: s != "0"), max_size=40))
    updates = draw(st.lists(st.tuples(st.dictionaries(price_ticks, size_text, max_size=8),
                                      st.dictionaries(price_ticks, size_text, max_size=8)), max_size=15))
    return bid, ask, updates


def _px(tick: int, side: str) -> str:
    # bids live in 0.1..30.0, asks in 100.1..130.0: never crossed
    return f"{tick / 10:g}" if side == "bid" else f"{100 + tick / 10:g}"


@given(okx_sessions())
def test_okx_sync_matches_a_dict_book_with_checksums(session):
    bid, ask, updates = session
    ref = {"bid": {_px(t, "bid"): s for t, s in bid.items()}, "ask": {_px(t, "ask"): s for t, s in ask.items()}}

    def levels(side):
        keys = sorted(ref[side], key=float, reverse=side == "bid")
        return [[k, ref[side][k], "0", "1"] for k in keys]

    def checksum():
        b, a = levels("bid")[:25], levels("ask")[:25]
        return book_checksum([(x[0], x[1]) for x in b], [(x[0], x[1]) for x in a])

    engine = Engine(get_instrument("BTC-USDT-SWAP"), "okx")
    seq = 100
    raw = frame_from_levels("books", "BTC-USDT-SWAP", "snapshot", levels("bid"), levels("ask"), 1, checksum(), seq)
    engine.ingest(raw)  # an empty snapshot is a valid (if useless) book
    for b_changes, a_changes in updates:
        sent = {"bid": [], "ask": []}
        for side, changes in (("bid", b_changes), ("ask", a_changes)):
            for t, s in changes.items():
                px = _px(t, side)
                sent[side].append([px, s, "0", "1"])
                if s == "0":
                    ref[side].pop(px, None)
                else:
                    ref[side][px] = s
        raw = frame_from_levels("books", "BTC-USDT-SWAP", "update", sent["bid"], sent["ask"], 2,
                                checksum(), seq + 1, seq)
        seq += 1
        engine.ingest(raw)
    c = engine.counters()
    assert c["rejected"] == 0, c["last_error"]
    book = engine.book
    assert book.bid_px.tolist() == [float(x[0]) for x in levels("bid")]
    assert book.ask_sz.tolist() == [float(x[1]) for x in levels("ask")]


def _checksum_string_loop(bids, asks):
    """The definition, one level at a time (OKX's documentation)."""
    parts = []
    for i in range(min(25, max(len(bids), len(asks)))):
        if i < len(bids):
            parts += bids[i]
        if i < len(asks):
            parts += asks[i]
    return ":".join(parts)


@given(st.integers(0, 40), st.integers(0, 40))
def test_checksum_string_equals_the_level_by_level_definition(n_bids, n_asks):
    bids = [(f"{100 - i}.5", f"{i + 1}") for i in range(n_bids)]
    asks = [(f"{101 + i}", f"0.{i + 1}") for i in range(n_asks)]
    assert checksum_string(bids, asks) == _checksum_string_loop(bids, asks)


def test_a_rejected_delta_leaves_nothing_behind_after_the_next_snapshot():
    """Texts of a rejected push never reach a checksum: only a snapshot is accepted next."""
    sync_engine = Engine(get_instrument("BTC-USDT-SWAP"), "okx")
    bids, asks = [["100", "5", "0", "1"], ["99", "2", "0", "1"]], [["101", "1", "0", "1"], ["102", "2", "0", "1"]]
    cs = book_checksum([(b[0], b[1]) for b in bids], [(a[0], a[1]) for a in asks])
    assert sync_engine.ingest(frame_from_levels("books", "BTC-USDT-SWAP", "snapshot", bids, asks, 1, cs, 10))
    bad = frame_from_levels("books", "BTC-USDT-SWAP", "update", [["99.5", "7", "0", "1"]], [], 2, 12345, 11, 10)
    assert not sync_engine.ingest(bad)  # checksum mismatch: out of sync
    assert sync_engine.needs_resync
    good_after = frame_from_levels("books", "BTC-USDT-SWAP", "update", [], [["103", "1", "0", "1"]], 3, 0, 12, 11)
    assert not sync_engine.ingest(good_after)  # refused until a snapshot
    assert sync_engine.ingest(frame_from_levels("books", "BTC-USDT-SWAP", "snapshot", bids, asks, 4, cs, 20))
    new_asks = asks + [["103", "1", "0", "1"]]
    cs2 = book_checksum([(b[0], b[1]) for b in bids], [(a[0], a[1]) for a in new_asks])
    assert sync_engine.ingest(frame_from_levels("books", "BTC-USDT-SWAP", "update", [], [["103", "1", "0", "1"]],
                                                5, cs2, 21, 20))
    assert sync_engine.book.bid_px.tolist() == [100.0, 99.0]  # 99.5 from the rejected push is gone
    assert sync_engine.counters()["checksums_verified"] == 3
