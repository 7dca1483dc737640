"""OKX books: checksum (OKX's documented examples and real recorded frames), sequence chain,
heartbeats, resync state and control frames."""
from __future__ import annotations

import numpy as np
import orjson
import pytest
from hypothesis import given, strategies as st

from core import errors
from core.book.order_book import OrderBook
from core.engine import Engine
from core.instruments import get_instrument
from core.venues.okx.protocol import (
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


# --- the compiled fast path (PushScanner) against the general path (parse_frame) -----------

def _sync_outcome(apply, sync: OkxBookSync):
    """What applying one frame did: the error, or the change and the whole sync state."""
    try:
        changed = apply()
    except errors.FeedError as exc:
        return type(exc), str(exc), sync.synced
    b = sync.book
    return (changed, b.bid_px.tolist(), b.bid_sz.tolist(), b.ask_px.tolist(), b.ask_sz.tolist(), b.ts_ms,
            b.version, sync.last_seq, sync.checksums_verified, sorted(sync._bid_text.items()),
            sorted(sync._ask_text.items()), sync.synced)


def _both_ways(frames: list[bytes]) -> None:
    """Feed the same frames to two syncs, one through the scanner where it accepts."""
    from core.venues.okx.protocol import PushScanner

    general, fast = OkxBookSync("BTC-USDT-SWAP", OrderBook(50)), OkxBookSync("BTC-USDT-SWAP", OrderBook(50))
    scanner = PushScanner(50)
    for raw in frames:
        def via_general():
            frame = parse_frame(raw)
            return None if isinstance(frame, OkxEvent) else general.apply(frame)

        def via_fast():
            push = scanner.scan(raw)
            if push is None:
                frame = parse_frame(raw)
                return None if isinstance(frame, OkxEvent) else fast.apply(frame)
            return fast.apply_scanned(push)

        assert _sync_outcome(via_fast, fast) == _sync_outcome(via_general, general), raw


@st.composite
def okx_frame_texts(draw):
    """Pushes written the way OKX does and, half the time, in other legal or broken ways: key
    order, spacing, numbers as JSON numbers, optional, null or odd fields, other actions."""
    odd = draw(st.booleans())

    def pick(usual, unusual):
        return draw(st.sampled_from(usual + unusual if odd else usual))

    def levels(low):
        ticks = draw(st.lists(st.integers(0, 60), max_size=6, unique=True))
        out = []
        for t in ticks:
            px = pick([f"{low + t / 10:g}", f"{low + t / 10:.2f}", f"{low + t}.0"], [low + t, "-5", "1.2.3"])
            sz = pick(["0", "1", "2.50", "0.001", "123456.78"], [3, "-1", "1e2", "", "x", "12345678901234567890"])
            out.append([px, sz] + pick([["0", "1"], ["0", "3"], []], [["0"], [0, {"a": [1]}]]))
        return out

    data = {"asks": levels(100), "bids": levels(90)}
    data["ts"] = pick(["1597026383085", "0001"], [1597026383085, "15970a", "", "1" * 20])
    for key in ("checksum", "seqId", "prevSeqId"):
        choice = pick(["absent", "int", "neg"], ["str", "float", "null", "bool", "huge"])
        value = {"int": draw(st.integers(0, 10**6)), "neg": -draw(st.integers(1, 10**6)), "str": "12",
                 "float": 1.5, "null": None, "bool": True, "huge": 10**19}.get(choice)
        if choice != "absent":
            data[key] = value
    if draw(st.booleans()):
        data["extra"] = {"k": [1, 2, None]}
    items = list(data.items())
    order = draw(st.permutations(range(len(items))))
    data = dict(items[i] for i in order)
    obj = {"arg": {"channel": pick(["books", "books5", "bbo-tbt"], ["trades"]),
                   "instId": pick(["BTC-USDT-SWAP"], ["ETH-USDT-SWAP"])},
           "data": [data]}
    action = pick(["snapshot", "update", "update", None], ["partial"])
    if action is not None:
        obj["action"] = action
    if draw(st.booleans()):
        obj = {"data": obj["data"], **{k: v for k, v in obj.items() if k != "data"}}
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2 if draw(st.booleans()) else 0)


@given(st.lists(okx_frame_texts(), min_size=1, max_size=6))
def test_scanned_pushes_do_exactly_what_parsed_pushes_do(frames):
    _both_ways(frames)


BASE_PUSH = frame_from_levels("books", "BTC-USDT-SWAP", "snapshot", [["100.5", "2", "0", "1"], ["100", "1", "0", "2"]],
                              [["101", "0.5", "0", "1"]], 1597026383085, 0, 7)


@given(st.lists(st.tuples(st.integers(0, len(BASE_PUSH) - 1), st.binary(min_size=0, max_size=3)),
                min_size=1, max_size=4))
def test_scanner_agrees_with_the_general_path_on_mutated_pushes(edits):
    raw = bytearray(BASE_PUSH)
    for pos, insert in edits:
        raw[pos:pos + 1] = insert
    _both_ways([bytes(raw)])


def test_scanner_takes_the_pushes_the_feeds_send():
    from core.venues.okx.protocol import PushScanner
    from core.sim.market import SyntheticMarket

    market = SyntheticMarket(seed=4)
    scanner = PushScanner()
    frames = [market.okx_snapshot(market.step())] + [market.okx_update(market.step()) for _ in range(20)]
    assert all(scanner.scan(raw) is not None for raw in frames)
    assert all(scanner.scan(raw.decode()) is not None for raw in frames[:3])  # text frames too
    assert all(scanner.scan(raw) is not None for raw in okx_frames(UNI)[:50])  # 2022 recordings
    _both_ways(frames)
    assert scanner.scan(b"pong") is None and scanner.scan(b'{"event":"subscribe","arg":{}}') is None
