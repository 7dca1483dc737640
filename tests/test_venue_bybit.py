"""Bybit v5 adapter: decoding, the u chain, resets, bad input, control frames, the synthetic
server's side, the venue entries, the spec and fee data, and real recorded frames."""
from __future__ import annotations

import gzip
from decimal import Decimal

import numpy as np
import orjson
import pytest
from hypothesis import given, strategies as st

from core import errors
from core.book.order_book import OrderBook
from core.engine import EngineConfig
from core.models.fees import fee_rate
from core.venues.bybit.frames import BybitBookMessage, BybitControl, parse_frame
from core.venues.bybit.scan import BybitScanner
from core.venues.bybit.specs import bybit_instrument, known_symbols
from core.venues.bybit.sync import BybitFeed
from core.venues.bybit.synthetic import BybitEncoder, BybitServerSession
from tests.bybit_support import conformance_case, expected_levels, session_frames, synthetic_market
from core.venues.bybit.venue import (
    BYBIT_LINEAR, BYBIT_SPOT, CHANNELS, by_name, describe_event, is_event, is_snapshot, make_venue, sniff, symbol_of,
)
from tests.conftest import DATA

SYMBOL = "BTCUSDT"
TOPIC = f"orderbook.50.{SYMBOL}"
REAL_FILES = sorted((DATA / "bybit").glob("*.jsonl.gz"))


def push(kind: str, u: int, bids, asks, symbol: str = SYMBOL, ts: int = 1_700_000_000_000, **extra) -> bytes:
    """A Bybit orderbook push from level lists (strings kept as given)."""
    frame = {"topic": f"orderbook.50.{symbol}", "type": kind, "ts": ts,
             "data": {"s": symbol, "b": bids, "a": asks, "u": u, "seq": 7_000_000 + 13 * u}, "cts": 1_699_999_999_998}
    frame.update(extra)
    return orjson.dumps(frame)


SNAPSHOT = push("snapshot", 100, [["100.0", "1"], ["99.5", "2"], ["99.0", "3"]],
                [["100.5", "1"], ["101.0", "2"], ["102.0", "4"]])


def levels(book: OrderBook) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    return (list(zip(book.bid_px.tolist(), book.bid_sz.tolist())),
            list(zip(book.ask_px.tolist(), book.ask_sz.tolist())))


def synced_feed() -> tuple[BybitFeed, OrderBook]:
    book = OrderBook()
    feed = BybitFeed(SYMBOL, book)
    assert feed.apply(SNAPSHOT)
    return feed, book


# --- snapshot, deltas, deletes ---------------------------------------------------------------

def test_snapshot_replaces_the_book_and_drops_zero_sizes():
    book = OrderBook()
    feed = BybitFeed(SYMBOL, book)
    assert not feed.needs_resync  # nothing arrived yet: waiting for the first snapshot is normal
    assert feed.apply(push("snapshot", 5, [["10", "1"], ["9", "0"], ["8", "2"]], [["11", "3"]]))
    assert levels(book) == ([(10.0, 1.0), (8.0, 2.0)], [(11.0, 3.0)])
    assert book.ts_ms == 1_700_000_000_000.0
    assert feed.sync.last_u == 5 and feed.sync.snapshots == 1 and not feed.needs_resync


def test_deltas_update_insert_and_delete_in_order():
    feed, book = synced_feed()
    assert feed.apply(push("delta", 101, [["100.0", "5"], ["99.8", "1.5"]], [["101.0", "0"]]))
    assert feed.apply(push("delta", 102, [["99.5", "0"], ["42", "0"]], [["100.6", "0.25"]]))  # 42: not held
    assert levels(book) == ([(100.0, 5.0), (99.8, 1.5), (99.0, 3.0)], [(100.5, 1.0), (100.6, 0.25), (102.0, 4.0)])
    assert feed.sync.last_u == 102 and feed.heartbeats == 0


def test_an_empty_delta_is_a_heartbeat_that_moves_the_chain():
    feed, book = synced_feed()
    version = book.version
    assert not feed.apply(push("delta", 101, [], []))
    assert feed.heartbeats == 1 and book.version == version and feed.sync.last_u == 101
    assert feed.apply(push("delta", 102, [["100.0", "2"]], []))


# --- gaps and resets -------------------------------------------------------------------------

def test_a_gap_asks_for_a_resync_and_no_delta_applies_until_a_snapshot():
    feed, book = synced_feed()
    before = levels(book)
    with pytest.raises(errors.SequenceGap) as exc:
        feed.apply(push("delta", 102, [["100.0", "9"]], []))
    assert exc.value.reason == "sequence_gap" and "u=102" in str(exc.value) and "u=100" in str(exc.value)
    assert feed.needs_resync and feed.sync.gaps == 1 and levels(book) == before
    with pytest.raises(errors.OutOfSync):  # the chain is broken: even the "next" one is refused
        feed.apply(push("delta", 103, [["100.0", "9"]], []))
    assert levels(book) == before
    assert feed.apply(push("snapshot", 500, [["98", "1"]], [["99", "1"]]))
    assert not feed.needs_resync and levels(book) == ([(98.0, 1.0)], [(99.0, 1.0)])
    assert feed.apply(push("delta", 501, [["98", "2"]], []))


@pytest.mark.parametrize("u", [100, 99, 1_000])
def test_repeated_old_or_future_u_is_a_gap(u):
    feed, book = synced_feed()
    before = levels(book)
    with pytest.raises(errors.SequenceGap):
        feed.apply(push("delta", u, [["100.0", "9"]], []))
    assert levels(book) == before and feed.needs_resync


def test_a_delta_before_any_snapshot_is_out_of_sync():
    book = OrderBook()
    feed = BybitFeed(SYMBOL, book)
    with pytest.raises(errors.OutOfSync):
        feed.apply(push("delta", 7, [["1", "1"]], []))
    assert feed.needs_resync and book.version == 0


@pytest.mark.parametrize("kind", ["snapshot", "delta"])
def test_u_equal_1_is_a_service_restart_that_overwrites_the_book(kind):
    feed, book = synced_feed()
    assert feed.apply(push(kind, 1, [["50", "1"]], [["51", "2"]]))
    assert levels(book) == ([(50.0, 1.0)], [(51.0, 2.0)])
    assert feed.sync.restarts == 1 and feed.sync.last_u == 1 and not feed.needs_resync
    assert feed.apply(push("delta", 2, [["49", "1"]], []))
    assert levels(book)[0] == [(50.0, 1.0), (49.0, 1.0)]


def test_u_equal_1_also_recovers_a_broken_chain():
    feed, book = synced_feed()
    with pytest.raises(errors.SequenceGap):
        feed.apply(push("delta", 150, [], []))
    assert feed.apply(push("delta", 1, [["50", "1"]], [["51", "2"]]))
    assert not feed.needs_resync and levels(book) == ([(50.0, 1.0)], [(51.0, 2.0)])


def test_a_snapshot_resent_mid_stream_replaces_the_book_and_restarts_the_chain():
    feed, book = synced_feed()
    assert feed.apply(push("delta", 101, [["99.9", "1"]], []))
    assert feed.apply(push("snapshot", 90, [["100.0", "7"]], [["100.5", "8"]]))  # even a lower u
    assert levels(book) == ([(100.0, 7.0)], [(100.5, 8.0)])
    assert feed.sync.snapshots == 2 and feed.sync.last_u == 90
    assert feed.apply(push("delta", 91, [["99.0", "1"]], []))
    with pytest.raises(errors.SequenceGap):
        feed.apply(push("delta", 102, [], []))


# --- bad input: rejected by reason, book unchanged ----------------------------------------------

def _without(key: str) -> bytes:
    frame = orjson.loads(push("delta", 101, [["100.0", "5"]], []))
    if key in frame:
        del frame[key]
    else:
        del frame["data"][key]
    return orjson.dumps(frame)


BAD_DELTAS = [
    (b"{not json", "malformed_json"),
    (b"[1, 2]", "malformed_json"),
    (b'{"hello": 1}', "missing_field"),
    (b'{"type":"delta","data":{}}', "missing_field"),
    (_without("type"), "missing_field"),
    (_without("ts"), "missing_field"),
    (_without("data"), "missing_field"),
    (_without("s"), "missing_field"),
    (_without("u"), "missing_field"),
    (_without("b"), "missing_field"),
    (_without("a"), "missing_field"),
    (push("delta", 101, [], [], topic="tickers.BTCUSDT"), "wrong_schema"),
    (push("delta", 101, [], [], topic="orderbook.x.BTCUSDT"), "wrong_schema"),
    (push("delta", 101, [], [], topic=5), "wrong_schema"),
    (push("update", 101, [], []), "wrong_schema"),
    (push("delta", 101, [], [], ts="1700000000000"), "invalid_timestamp"),
    (push("delta", 101, [], [], ts=-5), "invalid_timestamp"),
    (push("delta", 101, [], [], data=[1]), "wrong_schema"),
    (push("delta", 101, [], [], symbol="ETHUSDT"), "wrong_instrument"),
    (push("delta", 101, [], [], topic=TOPIC, data={"s": "ETHUSDT", "b": [], "a": [], "u": 101}), "wrong_instrument"),
    (push("delta", 101, [], [], data={"s": SYMBOL, "b": [], "a": [], "u": "101"}), "wrong_schema"),
    (push("delta", 101, [], [], data={"s": SYMBOL, "b": [], "a": [], "u": True}), "wrong_schema"),
    (push("delta", 101, [], [], data={"s": SYMBOL, "b": [], "a": [], "u": 0}), "wrong_schema"),
    (push("delta", 101, [], [], data={"s": SYMBOL, "b": [], "a": [], "u": 101, "seq": 1.5}), "wrong_schema"),
    (push("delta", 101, {"100": "1"}, []), "wrong_schema"),
    (push("delta", 101, [["100.0"]], []), "wrong_schema"),
    (push("delta", 101, [["100.0", "1", "2"]], []), "wrong_schema"),
    (push("delta", 101, ["100.0"], []), "wrong_schema"),
    (push("delta", 101, [["abc", "1"]], []), "non_numeric"),
    (push("delta", 101, [["100.0", ""]], []), "non_numeric"),
    (push("delta", 101, [["100.0", None]], []), "non_numeric"),
    (push("delta", 101, [["NaN", "1"]], []), "non_finite"),
    (push("delta", 101, [["100.0", "inf"]], []), "non_finite"),
    (push("delta", 101, [["0", "1"]], []), "non_positive_price"),
    (push("delta", 101, [["-100.0", "1"]], []), "non_positive_price"),
    (push("delta", 101, [["100.0", "-1"]], []), "negative_size"),
    (push("delta", 101, [["99.7", "1"], ["99.7", "2"]], []), "duplicate_level"),
    (push("delta", 101, [["100.5", "1"]], []), "crossed_book"),
    (push("delta", 101, [], [["100.0", "1"]]), "crossed_book"),
    (push("delta", 101, [], [["100.5", "0"], ["101.0", "0"], ["102.0", "0"], ["99.9", "1"]]), "crossed_book"),
]


@pytest.mark.parametrize("raw, reason", BAD_DELTAS)
def test_bad_input_is_rejected_by_reason_and_changes_nothing(raw, reason):
    feed, book = synced_feed()
    before, version = levels(book), book.version
    with pytest.raises(errors.FeedError) as exc:
        feed.apply(raw)
    assert exc.value.reason == reason, str(exc.value)
    assert str(exc.value)  # a sentence naming what is wrong
    assert levels(book) == before and book.version == version
    assert feed.sync.last_u == 100  # the rejected frame's u is not taken...
    if reason not in ("wrong_instrument",):
        with pytest.raises(errors.SequenceGap):  # ...so the next delta shows the gap and resyncs
            feed.apply(push("delta", 102, [["100.0", "5"]], []))
        assert feed.needs_resync and levels(book) == before


BAD_SNAPSHOTS = [
    (push("snapshot", 100, [["99", "1"], ["100", "1"]], [["101", "1"]]), "unsorted_levels"),
    (push("snapshot", 100, [["100", "1"]], [["102", "1"], ["101", "1"]]), "unsorted_levels"),
    (push("snapshot", 100, [["100", "1"], ["100", "2"]], [["101", "1"]]), "duplicate_level"),
    (push("snapshot", 100, [["101", "1"]], [["101", "1"]]), "crossed_book"),
    (push("snapshot", 100, [["100", "-1"]], [["101", "1"]]), "negative_size"),
]


@pytest.mark.parametrize("raw, reason", BAD_SNAPSHOTS)
def test_a_bad_snapshot_is_rejected_and_changes_nothing(raw, reason):
    feed, book = synced_feed()
    before, version = levels(book), book.version
    with pytest.raises(errors.FeedError) as exc:
        feed.apply(raw)
    assert exc.value.reason == reason and levels(book) == before and book.version == version


def test_a_frame_over_the_byte_limit_is_refused_before_parsing():
    book = OrderBook()
    feed = BybitFeed(SYMBOL, book, max_bytes=100)
    with pytest.raises(errors.OversizedMessage):
        feed.apply(SNAPSHOT)
    assert book.version == 0


def test_more_levels_than_the_book_holds_is_oversized():
    book = OrderBook(capacity=2)
    feed = BybitFeed(SYMBOL, book)
    with pytest.raises(errors.OversizedMessage):
        feed.apply(SNAPSHOT)
    assert book.version == 0


# --- control frames ------------------------------------------------------------------------------

CONTROL_FRAMES = [
    b'{"success":true,"ret_msg":"","conn_id":"d6ki1eae0cl5msgggj7g-1uoz2","req_id":"","op":"subscribe"}',
    b'{"success":true,"ret_msg":"subscribe","conn_id":"cfcb0ae9","op":"subscribe"}',
    b'{"success":true,"ret_msg":"pong","conn_id":"c9b3","req_id":"","op":"ping"}',
    b'{"req_id":"","op":"pong","args":["1675418560633"],"conn_id":"cfcb0ae9"}',
    b'{"success":false,"ret_msg":"error:handler not found,topic:orderbook:BTCUSDT","conn_id":"x","req_id":"","op":"subscribe"}',
]


def test_control_frames_are_counted_and_never_touch_the_book():
    feed, book = synced_feed()
    version = book.version
    for raw in CONTROL_FRAMES:
        assert isinstance(parse_frame(raw), BybitControl)
        assert not feed.apply(raw)
    assert feed.control == len(CONTROL_FRAMES) and feed.heartbeats == 0 and book.version == version
    assert feed.failed_requests == ["subscribe: error:handler not found,topic:orderbook:BTCUSDT"]
    assert feed.apply(push("delta", 101, [["100.0", "2"]], []))  # the chain is untouched


# --- against a plain-Python reference book ---------------------------------------------------------

def _text(units: int, scale: int) -> str:
    return str(Decimal(units).scaleb(-scale))


@st.composite
def delta_chains(draw):
    """A snapshot and a chain of deltas on disjoint bid (< 1000 ticks) and ask (> 1000 ticks)
    ranges, with deletes of held and unheld prices, empty deltas and resent snapshots."""
    side = st.dictionaries(st.integers(1, 60), st.integers(0, 5000), max_size=25)
    frames, u = [], draw(st.integers(2, 10**9))
    bids, asks = draw(side), draw(side)
    frames.append(("snapshot", u, bids, asks))
    for _ in range(draw(st.integers(0, 30))):
        if draw(st.integers(0, 9)) == 0:
            u = draw(st.integers(2, 10**9))
            frames.append(("snapshot", u, draw(side), draw(side)))
        else:
            u += 1
            frames.append(("delta", u, draw(side), draw(side)))
    return frames


def _render(kind, u, bids, asks) -> bytes:
    b = [[_text(1000 - d, 1), _text(n, 3)] for d, n in sorted(bids.items())]  # best first
    a = [[_text(1000 + d, 1), _text(n, 3)] for d, n in sorted(asks.items())]
    return push(kind, u, b, a)


@given(delta_chains())
def test_random_delta_chains_match_a_plain_python_book(frames):
    book = OrderBook()
    feed = BybitFeed(SYMBOL, book)
    ref_bids: dict[int, int] = {}
    ref_asks: dict[int, int] = {}
    for kind, u, bids, asks in frames:
        feed.apply(_render(kind, u, bids, asks))
        if kind == "snapshot":
            ref_bids, ref_asks = {}, {}
        for ref, changes in ((ref_bids, bids), (ref_asks, asks)):
            for d, n in changes.items():
                if n:
                    ref[d] = n
                else:
                    ref.pop(d, None)
    want_bids = [(float(_text(1000 - d, 1)), float(_text(n, 3))) for d, n in sorted(ref_bids.items())]
    want_asks = [(float(_text(1000 + d, 1)), float(_text(n, 3))) for d, n in sorted(ref_asks.items())]
    assert levels(book) == (want_bids, want_asks)
    assert not feed.needs_resync


DECIMALS = st.one_of(
    st.decimals(min_value=0, max_value=10**7, places=4, allow_nan=False).map(str),
    st.sampled_from(["0", "1e5", "1E-3", "-1", "-0.5", ".5", "5.", "", " 1", "1,2", "0x10", "nan", "--1", "1.2.3"]),
    st.text(alphabet="0123456789.-e,", max_size=8),
)


@given(st.lists(st.tuples(DECIMALS, DECIMALS), max_size=8), st.booleans())
def test_the_joined_scan_never_disagrees_with_the_checked_path(pairs, pairs_only):
    """core.decode.levels: the general path's one joined scan (every venue's) against the
    level-by-level checked conversion."""
    from core.decode.fields import parse_levels_into
    from core.decode.levels import _decimal_texts

    raw_levels = [list(p) for p in pairs]
    fast = _decimal_texts(raw_levels, pairs_only)
    px, sz = np.empty(len(raw_levels)), np.empty(len(raw_levels))
    try:
        parse_levels_into(raw_levels, "b", px, sz, pairs_only)
    except errors.FeedError:
        assert fast is None  # the fast path never accepts what the checked path refuses
        return
    if fast is not None:
        assert fast[0].tolist() == px.tolist() and fast[1].tolist() == sz.tolist()


# --- the synthetic server side ---------------------------------------------------------------------

@pytest.mark.parametrize("category, symbol", [("linear", "BTCUSDT"), ("linear", "ETHUSDT"),
                                              ("spot", "BTCUSDT"), ("spot", "ETHUSDT")])
def test_encoder_frames_replay_to_the_synthetic_markets_exact_book(category, symbol):
    frames, want_bids, want_asks = session_frames(category, symbol, steps=300, seed=11)
    book = OrderBook()
    feed = BybitFeed(symbol, book)
    for raw in frames:
        feed.apply(raw)
    assert levels(book) == (want_bids, want_asks)
    assert len(want_bids) == 50 == len(want_asks)
    assert feed.control == 2 and not feed.needs_resync  # the subscribe answer and one pong


def test_a_late_subscriber_and_a_withheld_delta():
    market = synthetic_market("linear", SYMBOL, seed=3)
    enc = BybitEncoder(market, "linear")
    steps = [market.step() for _ in range(40)]
    book = OrderBook()
    feed = BybitFeed(SYMBOL, book)
    feed.apply(enc.snapshot_text(steps[10]))  # joined at step 10: deltas of later steps chain from it
    for step in steps[11:25]:
        feed.apply(enc.update_text(step))
    assert levels(book) == (expected_levels(market, steps[24].bids), expected_levels(market, steps[24].asks))
    with pytest.raises(errors.SequenceGap):  # step 25's delta withheld
        feed.apply(enc.update_text(steps[26]))
    assert feed.needs_resync
    feed.apply(enc.snapshot_text(steps[30]))
    for step in steps[31:]:
        feed.apply(enc.update_text(step))
    assert levels(book) == (expected_levels(market, steps[-1].bids), expected_levels(market, steps[-1].asks))


def test_a_simulated_restart_sends_u_1_and_the_chain_goes_on_from_it():
    market = synthetic_market("spot", "ETHUSDT", seed=5)
    enc = BybitEncoder(market, "spot")
    book = OrderBook()
    feed = BybitFeed("ETHUSDT", book)
    feed.apply(enc.snapshot_text(market.step()))
    feed.apply(enc.update_text(market.step()))
    step = market.step()
    restart = enc.restart_text(step)
    assert orjson.loads(restart)["data"]["u"] == 1
    feed.apply(restart)
    for _ in range(20):
        step = market.step()
        feed.apply(enc.update_text(step))
    assert feed.sync.restarts == 1 and feed.sync.last_u == 21
    assert levels(book) == (expected_levels(market, step.bids), expected_levels(market, step.asks))


def test_encoder_frames_are_bybits_shape_with_a_growing_cross_sequence():
    market = synthetic_market("linear", SYMBOL)
    enc = BybitEncoder(market, "linear")
    first, second = market.step(), market.step()
    snap, delta = orjson.loads(enc.snapshot_text(first)), orjson.loads(enc.update_text(second))
    assert list(snap) == ["topic", "type", "ts", "data", "cts"] and snap["topic"] == TOPIC
    assert list(snap["data"]) == ["s", "b", "a", "u", "seq"] and snap["cts"] < snap["ts"]
    assert delta["type"] == "delta" and delta["data"]["u"] == snap["data"]["u"] + 1
    assert delta["data"]["seq"] - snap["data"]["seq"] > 1  # increasing, never contiguous
    assert is_snapshot(enc.snapshot_text(first)) and not is_snapshot(enc.update_text(second))


def test_server_session_answers_like_bybit():
    linear = BybitServerSession("linear", (SYMBOL,), 50, conn_id="c1")
    ans = linear.answer(b'{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}')
    assert ans.subscribed == [SYMBOL] and orjson.loads(ans.replies[0]) == {
        "success": True, "ret_msg": "", "conn_id": "c1", "req_id": "", "op": "subscribe"}
    again = linear.answer(b'{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}')
    assert not again.subscribed and "already subscribed" in orjson.loads(again.replies[0])["ret_msg"]
    unknown = linear.answer(b'{"op":"subscribe","args":["orderbook.50.DOGEUSDT"],"req_id":"r7"}')
    reply = orjson.loads(unknown.replies[0])
    assert reply["success"] is False and reply["req_id"] == "r7" and "handler not found" in reply["ret_msg"]
    assert orjson.loads(linear.answer(b'{"op":"ping"}').replies[0])["ret_msg"] == "pong"
    assert orjson.loads(linear.answer(b"ping?").replies[0])["success"] is False
    off = linear.answer(b'{"op":"unsubscribe","args":["orderbook.50.BTCUSDT"]}')
    assert off.unsubscribed == [SYMBOL] and not linear.topics
    spot = BybitServerSession("spot", (SYMBOL,), 50)
    assert orjson.loads(spot.answer(b'{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}').replies[0])["ret_msg"] \
        == "subscribe"
    pong = orjson.loads(spot.answer(b'{"op":"ping"}', now_ms=1675418560633).replies[0])
    assert pong["op"] == "pong" and pong["args"] == ["1675418560633"]
    feed, _ = synced_feed()
    for raw in ans.replies + unknown.replies + spot.answer(b'{"op":"ping"}').replies:
        assert not feed.apply(raw)
    assert feed.control == 3


def test_conformance_case_yields_frames_and_the_book_they_end_on():
    for name in ("bybit-linear", "bybit-spot"):
        venue, frames, want_bids, want_asks = conformance_case(name, steps=50)
        assert venue == name
        book = OrderBook()
        feed = by_name(name).make_feed(bybit_instrument(name.removeprefix("bybit-"), SYMBOL), book, EngineConfig())
        for raw in frames:
            feed.apply(raw)
        assert levels(book) == (want_bids, want_asks)


# --- venue entries, specs, fees --------------------------------------------------------------------

def test_venue_entries_follow_the_contract():
    assert BYBIT_LINEAR.default_url == "wss://stream.bybit.com/v5/public/linear"
    assert BYBIT_SPOT.default_url == "wss://stream.bybit.com/v5/public/spot"
    for venue in (BYBIT_LINEAR, BYBIT_SPOT):
        assert venue.size_unit == "base" and venue.default_rest_url is None and venue.rest_snapshot_url is None
        assert venue.app_ping == (20.0, '{"op":"ping"}') and venue.reconnect_every_s is None
        assert venue.stream_url(venue.default_url, (SYMBOL,)) == venue.default_url
        assert venue.subscribe((SYMBOL,)) == ['{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}']
        assert venue.resync((SYMBOL,)) == ['{"op":"unsubscribe","args":["orderbook.50.BTCUSDT"]}',
                                           '{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}']
    many = tuple(f"S{i}USDT" for i in range(12))
    assert [len(orjson.loads(t)["args"]) for t in BYBIT_SPOT.subscribe(many)] == [10, 2]
    assert BYBIT_SPOT.subscribe((SYMBOL,), channel="orderbook.200") == [
        '{"op":"subscribe","args":["orderbook.200.BTCUSDT"]}']
    assert BYBIT_LINEAR.channels == CHANNELS and CHANNELS[0] == "orderbook.50"
    with pytest.raises(ValueError, match="no channel"):
        BYBIT_LINEAR.subscribe((SYMBOL,), channel="orderbook.25")
    with pytest.raises(ValueError, match="category"):
        make_venue("inverse")
    with pytest.raises(ValueError, match="bybit-linear, bybit-spot"):
        by_name("bybit-options")
    assert by_name("bybit-spot") is BYBIT_SPOT and BYBIT_SPOT.url_marker == "/v5/public/spot"
    assert is_snapshot(SNAPSHOT) and is_snapshot(SNAPSHOT.decode())
    assert is_snapshot(b'{"topic": "orderbook.1.BTCUSDT", "ts": 1, "type": "snapshot", "data": {}}')
    assert not is_snapshot(push("delta", 1, [], [])) and not is_snapshot(CONTROL_FRAMES[0])


def test_frame_heads_are_read_without_parsing():
    for raw in CONTROL_FRAMES:
        assert is_event(raw) and is_event(raw.decode()) and symbol_of(raw) is None
    for raw in (SNAPSHOT, push("delta", 3, [], [], symbol="ETHUSDT")):
        assert not is_event(raw)
    assert symbol_of(SNAPSHOT) == SYMBOL and symbol_of(push("delta", 3, [], [], symbol="ETHUSDT")) == "ETHUSDT"
    assert sniff(SNAPSHOT.decode()) == ((SYMBOL,), "orderbook.50")
    assert sniff(CONTROL_FRAMES[0].decode()) is None
    assert describe_event(CONTROL_FRAMES[-1].decode()) == (
        "error", "Bybit refused subscribe: error:handler not found,topic:orderbook:BTCUSDT")
    assert describe_event(CONTROL_FRAMES[0].decode()) is None and describe_event("{nope") is None


def test_the_venue_encoder_renders_its_category_from_a_market():
    market = synthetic_market("spot", SYMBOL)
    enc = BYBIT_SPOT.encoder(market)
    assert isinstance(enc, BybitEncoder) and enc.category == "spot" and enc.topic == TOPIC
    assert is_snapshot(enc.snapshot_text(market.step()))


def test_the_venues_are_the_registrys():
    from core.venues import get_venue
    from core.venues.base import Venue
    assert get_venue("bybit-linear") is BYBIT_LINEAR and get_venue("bybit-spot") is BYBIT_SPOT
    assert isinstance(BYBIT_LINEAR, Venue) and list(Venue.__dataclass_fields__)[:13] == [  # the required fields first, then the optional ones
        "name", "default_url", "default_rest_url", "size_unit", "make_feed", "stream_url", "subscribe", "resync",
        "rest_snapshot_url", "app_ping", "is_snapshot", "reconnect_every_s", "encoder"]


def test_instrument_specs_and_fee_tables_load():
    assert known_symbols("linear") == ["BTCUSDT", "ETHUSDT"] == known_symbols("spot")
    perp, spot = bybit_instrument("linear", SYMBOL), bybit_instrument("spot", SYMBOL)
    assert (perp.tick_size, perp.lot_size, perp.kind, perp.size_unit, perp.contract_value) == (0.1, 0.001, "swap", "base", 1.0)
    assert (spot.tick_size, spot.lot_size, spot.kind, spot.quote) == (0.01, 0.000001, "spot", "USDT")
    assert perp.unit_label == "BTC" and perp.linear_multiplier == 1.0
    with pytest.raises(KeyError, match="known: BTCUSDT, ETHUSDT"):
        bybit_instrument("linear", "DOGEUSDT")
    swap_fee, spot_fee = fee_rate(perp.exchange, perp.kind, "non-vip"), fee_rate(spot.exchange, spot.kind, "Non-VIP")
    assert (swap_fee.maker, swap_fee.taker) == (0.0002, 0.00055) and (spot_fee.maker, spot_fee.taker) == (0.001, 0.001)
    assert "bybit.com" in swap_fee.source and "2026" in swap_fee.source


# --- real recorded frames ----------------------------------------------------------------------------

def _real_frames(path) -> list[bytes]:
    with gzip.open(path, "rb") as fh:
        return [line.rstrip(b"\n") for line in fh if line.strip()]


def _reference_replay(frames: list[bytes]):
    """Plain Python: dicts of exact decimal strings, snapshot replaces, "0" deletes."""
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    for raw in frames:
        obj = orjson.loads(raw)
        if "topic" not in obj:
            continue
        if obj["type"] == "snapshot":
            bids, asks = {}, {}
        for side, key in ((bids, "b"), (asks, "a")):
            for p, s in obj["data"][key]:
                if Decimal(s):
                    side[Decimal(p)] = Decimal(s)
                else:
                    side.pop(Decimal(p), None)
    return ([(float(p), float(bids[p])) for p in sorted(bids, reverse=True)],
            [(float(p), float(asks[p])) for p in sorted(asks)])


@pytest.mark.skipif(not REAL_FILES, reason="no real Bybit v5 orderbook capture with an MIT-compatible licence was found (the one found is PolyForm Noncommercial)")
@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.name)
def test_real_recorded_frames_replay_to_a_consistent_exact_book(path):
    frames = _real_frames(path)
    book = OrderBook()
    feed = BybitFeed(SYMBOL, book)
    first = parse_frame(frames[0])
    assert isinstance(first, BybitBookMessage) and is_snapshot(frames[0])
    depth = first.depth
    for raw in frames:
        feed.apply(raw)  # raises on any rejection
        assert len(book.bid_px) <= depth and len(book.ask_px) <= depth  # exits from the window were deleted
        assert book.best_bid < book.best_ask
    assert feed.control == 1 and feed.heartbeats == 0 and not feed.needs_resync
    assert feed.sync.gaps == 0 and feed.sync.last_u - first.u == sum(1 for f in frames if b'"delta"' in f)
    assert levels(book) == _reference_replay(frames)
    assert len(book.bid_px) == depth == len(book.ask_px)
    assert np.all(np.diff(book.bid_px) < 0) and np.all(np.diff(book.ask_px) > 0)


# --- the compiled fast path ------------------------------------------------------------------------

def _same(a: BybitBookMessage, b: BybitBookMessage) -> bool:
    return ((a.depth, a.symbol, a.kind, a.ts_ms, a.u, a.seq) == (b.depth, b.symbol, b.kind, b.ts_ms, b.u, b.seq)
            and a.bids.px.tolist() == b.bids.px.tolist() and a.bids.sz.tolist() == b.bids.sz.tolist()
            and a.asks.px.tolist() == b.asks.px.tolist() and a.asks.sz.tolist() == b.asks.sz.tolist())


FAST_BASES = [
    push("delta", 101, [["100.0", "5"], ["99.8", "1.5"]], [["101.0", "0"]]),
    SNAPSHOT,
    b'{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1787954747169,"data":{"s":"BTCUSDT",'
    b'"b":[["77359.30","0.001"],["77356.10","0.987"],["77355.00","0"]],"a":[["77373.50","0.002"]],'
    b'"u":101054917,"seq":800573227356},"cts":1787954747167}',
]


def test_the_fast_path_reads_what_the_general_path_reads_and_takes_bybits_frames():
    scanner = BybitScanner()
    frames = FAST_BASES + session_frames(steps=100)[0]
    frames += [line for path in REAL_FILES for line in _real_frames(path)]
    for raw in frames:
        fast = scanner.scan(raw)
        general = parse_frame(raw)
        if isinstance(general, BybitControl):
            assert fast is None
        else:
            assert fast is not None and _same(fast, general)
    feed = BybitFeed(SYMBOL, OrderBook())
    for raw in frames[3:]:
        feed.apply(raw)
    assert feed.fast_path_misses == 0


DECLINED = [  # valid frames the fast path leaves to the general path (which must then agree)
    push("delta", 101, [[100.0, 5]], []),  # numbers as JSON numbers
    push("delta", 101, [["1e2", "5"]], []),  # an exponent
    push("delta", 101, [["100.0", "5"]], [], topic="orderbook.50.BTC\\u0055SDT"),
    b'{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"ts":2,"data":{"s":"BTCUSDT","b":[],"a":[],"u":101}}',
]


@pytest.mark.parametrize("raw", DECLINED)
def test_unusual_but_valid_frames_take_the_general_path_and_still_apply(raw):
    assert BybitScanner().scan(raw) is None
    feed, _ = synced_feed()
    try:
        feed.apply(raw)
    except errors.FeedError:
        pass  # (the escaped topic names no symbol we sync)
    assert feed.fast_path_misses == (0 if b"\\u0055" in raw else 1)


JSON_BYTES = st.sampled_from(list(b'{}[]",:. 0123456789-eE\\tuabsnfl') + [0x80, 0xFF])


@st.composite
def mutated_frames(draw):
    raw = bytearray(draw(st.sampled_from(FAST_BASES)))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(raw)))
        op = draw(st.integers(0, 2))
        if op == 0 and at < len(raw):
            raw[at] = draw(JSON_BYTES)
        elif op == 1:
            raw[at:at] = bytes([draw(JSON_BYTES)])
        elif at < len(raw):
            del raw[at]
    return bytes(raw)


@given(mutated_frames())
def test_the_fast_path_never_accepts_what_the_general_path_rejects(raw):
    fast = BybitScanner().scan(raw)
    if fast is None:
        return
    general = parse_frame(raw)  # must not raise
    assert isinstance(general, BybitBookMessage) and _same(fast, general)
