"""Several venues at once (issue 12): a VenueSet on real embedded servers over 127.0.0.1, one
Engine per (venue, symbol), correlated synthetic markets, a stopped server left out."""
from __future__ import annotations

import asyncio
import math
import time

import numpy as np
import pytest

from core.compute.best_execution import LIVE, STALE, Order
from core.feed.venue_set import VenueSet, VenueSpec, lot_base, parse_venues, venue_state
from core.instruments import get_instrument
from core.sim.market import VENUE_PROFILES, MarketConfig, MidPath, SyntheticMarket
from tests.feed_support import no_thread_leaks, run_async  # noqa: F401 - fixture

THREE = "okx:BTC-USDT-SWAP,binance-usdm:BTCUSDT,bybit-linear:BTCUSDT"


async def until(predicate, timeout: float = 15.0, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(every)
    raise AssertionError("condition not met in time")


def all_live(vs: VenueSet) -> bool:
    return all(state == LIVE for state in vs.states().values())


# --- pure parts ------------------------------------------------------------------------------

def test_parse_venues_keeps_the_listed_pairs():
    specs = parse_venues(" okx:BTC-USDT-SWAP , binance-usdm:BTCUSDT")
    assert specs == [VenueSpec("okx", "BTC-USDT-SWAP"), VenueSpec("binance-usdm", "BTCUSDT")]


@pytest.mark.parametrize("text, needle", [
    ("", "VENUE:SYMBOL"), ("okx", "'okx' is not VENUE:SYMBOL"), ("okx:", "'okx:' is not VENUE:SYMBOL"),
    ("nowhere:BTCUSDT", "unknown venue 'nowhere'"), ("okx:NOPE-SWAP", "'okx:NOPE-SWAP'"),
    ("okx:BTC-USDT-SWAP,,bybit-linear:BTCUSDT", "VENUE:SYMBOL"),
    ("okx:BTC-USDT-SWAP,okx:BTC-USDT-SWAP", "listed twice"),
])
def test_parse_venues_names_the_bad_item(text, needle):
    with pytest.raises(ValueError, match=None) as info:
        parse_venues(text)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_a_set_refuses_venues_of_different_base_assets_and_unknown_tiers():
    with pytest.raises(ValueError, match="same base asset"):
        VenueSet(parse_venues("okx:ETH-USDT-SWAP,binance-usdm:BTCUSDT"))
    with pytest.raises(ValueError, match="okx:BTC-USDT-SWAP.*VIP99"):
        VenueSet(parse_venues("okx:BTC-USDT-SWAP"), fee_tiers={"okx": "VIP99"})
    with pytest.raises(ValueError, match="bybit-linear"):
        VenueSet(parse_venues("okx:BTC-USDT-SWAP"), fee_tiers={"bybit-linear": "VIP1"})


def test_state_comes_from_the_feed_status_and_the_engine_sync():
    assert venue_state("live", False, True) == LIVE
    assert venue_state("live", True, True) == "resyncing"
    assert venue_state("resyncing", False, True) == "resyncing"
    assert venue_state("live", False, False) == STALE  # no book yet
    for state in ("connecting", "reconnecting", "stale", "stopped"):
        assert venue_state(state, False, True) == STALE


def test_lots_in_base_units_through_the_contract_value():
    assert lot_base(get_instrument("BTC-USDT-SWAP"), 95_000.0) == pytest.approx(0.01 * 0.01)  # 0.01 contract of 0.01 BTC


def test_the_common_mid_path_is_the_same_for_the_same_seed():
    a, b, c = MidPath(7, 10.0), MidPath(7, 10.0), MidPath(8, 10.0)
    assert [a.at(k) for k in (0, 5, 300)] == [b.at(k) for k in (0, 5, 300)]
    assert a.at(300) != c.at(300)


def test_markets_on_one_path_stay_together_and_differ_in_depth():
    """Venues' mids stay within their basis and noise of each other over 1,000 steps (the
    independent walks of two seeds drift apart by far more); their depth profiles differ."""
    inst = get_instrument("BTC-USDT-SWAP")
    markets = [SyntheticMarket(1 + i, p.config(inst), inst, MidPath(7, 10.0), p)
               for i, p in enumerate(VENUE_PROFILES[:3])]
    free = [SyntheticMarket(s, MarketConfig.for_spec(inst), inst) for s in (1, 2)]
    gap, free_gap, top, total = [], [], np.zeros(3), np.zeros(3)
    for _ in range(1000):
        steps = [m.step() for m in markets]
        top += [sum(n for _, n in s.asks[:10]) for s in steps]
        total += [sum(n for _, n in s.asks) for s in steps]
        mids = [(s.bids[0][0] + s.asks[0][0]) / 2 for s in steps]
        gap.append((max(mids) - min(mids)) / mids[0] * 1e4)
        f = [m.step() for m in free]
        free_mids = [(s.bids[0][0] + s.asks[0][0]) / 2 for s in f]
        free_gap.append(abs(free_mids[0] - free_mids[1]) / free_mids[0] * 1e4)
    assert max(gap) < 3.0 and max(free_gap) > 10.0
    assert top[1] > 1.15 * top[0] and total[1] < 0.85 * total[0]  # deeper at the touch, flatter
    assert total[2] > 2.0 * total[0]  # deepening fast away from the touch


# --- live, on real sockets -------------------------------------------------------------------

@pytest.fixture(scope="module")
def warm():
    """The decoders' and the split's kernels compiled (or loaded) before any clock runs."""
    from core.compute.best_execution import best_execution, synthetic_books
    from core.feed.headless import warm_up

    for venue in ("okx", "binance-usdm", "bybit-linear"):
        warm_up(venue)
    best_execution(synthetic_books(8), Order("buy", 1.0))


def test_three_venues_live_priced_together_in_base_units(warm, no_thread_leaks):
    async def main():
        vs = VenueSet(parse_venues(THREE), seed=5, rate=20.0)
        await vs.start()
        try:
            await until(lambda: all_live(vs))
            assert vs.wait(5.0)  # a worker thread would be woken
            snap = vs.evaluate(Order("buy", 1_000_000.0))
            okx = vs.feed("okx", "BTC-USDT-SWAP").last
            return snap, okx, [f.server is not None for f in vs.feeds]
        finally:
            await vs.stop()

    snap, okx_snap, embedded = run_async(main, timeout=60)
    assert all(embedded)
    assert [b.key for b in snap.books] == sorted(b.key for b in snap.books)
    assert [b.state for b in snap.books] == [LIVE] * 3 and snap.result is not None and snap.note == ""
    mids = [b.mid for b in snap.books]
    assert (max(mids) - min(mids)) / min(mids) * 1e4 < 5.0  # one mid path
    okx = next(b for b in snap.books if b.venue == "okx")
    if okx_snap.seq == snap.snapshots[2].seq:
        np.testing.assert_allclose(okx.ask_base, np.asarray(okx_snap.book.ask_sz) * 0.01)
    assert okx.lot_base == pytest.approx(1e-4) and okx.taker_rate == 0.0005
    rates = {s["venue"]: (s["taker_rate"], s["contract_value"]) for s in snap.specs}
    assert rates == {"okx": (0.0005, 0.01), "binance-usdm": (0.0005, 1.0), "bybit-linear": (0.00055, 1.0)}
    r = snap.result
    assert r.best_single is not None and r.net_cost_usd <= r.best_single.net_cost_usd + 1e-6
    assert r.quantity_usd == 1_000_000.0 and math.isclose(math.fsum(leg.base for leg in r.legs), r.filled_base)
    assert [f["state"] for f in snap.feeds] == ["live"] * 3


def test_a_venue_whose_server_stopped_is_left_out_and_marked_stale(warm, no_thread_leaks):
    async def main():
        vs = VenueSet(parse_venues(THREE), seed=3, rate=20.0)
        await vs.start()
        try:
            await until(lambda: all_live(vs))
            before = vs.evaluate(Order("sell", 2_000_000.0))
            await asyncio.get_running_loop().run_in_executor(None, vs.feed("okx", "BTC-USDT-SWAP").server.stop)
            await until(lambda: vs.states()[("okx", "BTC-USDT-SWAP")] == STALE)
            return before, vs.evaluate(Order("sell", 2_000_000.0))
        finally:
            await vs.stop()

    before, after = run_async(main, timeout=60)
    assert before.result is not None and len(before.result.excluded) == 0
    okx = next(b for b in after.books if b.venue == "okx")
    assert okx.state == STALE and okx.ask_px.size > 0  # its last book is kept, marked
    r = after.result
    assert r is not None and ("okx", "BTC-USDT-SWAP", STALE) in r.excluded
    assert all(leg.venue != "okx" for leg in r.legs) and r.filled_base > 0
    estimate = next(e for e in r.venues if e.venue == "okx")
    assert estimate.state == STALE and math.isnan(estimate.net_cost_usd)  # no stale figure
    assert "okx:BTC-USDT-SWAP stale" in after.note
    assert next(f for f in after.feeds if f["venue"] == "okx")["state"] in ("reconnecting", "connecting", "stale")


def test_the_same_seed_gives_the_same_markets_whatever_the_listed_order():
    """Each venue's embedded market depends on the seed and its place in (venue, symbol)
    order, not on the order --venues lists it in; another seed gives other markets."""
    def markets(text: str, seed: int):
        vs = VenueSet(parse_venues(text), seed=seed)
        out = {}
        for i, feed in enumerate(vs.feeds):
            source = vs._source(i, feed.spec)
            market = source.markets[feed.spec.symbol]
            steps = [market.step() for _ in range(50)]
            out[feed.key] = [(s.bids[:5], s.asks[:5]) for s in steps]
        return out

    a = markets("okx:BTC-USDT-SWAP,bybit-linear:BTCUSDT,binance-usdm:BTCUSDT", 9)
    assert a == markets("binance-usdm:BTCUSDT,bybit-linear:BTCUSDT,okx:BTC-USDT-SWAP", 9)
    assert a != markets("binance-usdm:BTCUSDT,bybit-linear:BTCUSDT,okx:BTC-USDT-SWAP", 10)


def test_a_worker_thread_prices_what_drain_threads_decode(warm, no_thread_leaks):
    """As the window will use it: decoding on each venue's drain thread, a compute worker
    woken by ``wait`` calling ``evaluate`` while the loop runs the clients."""
    import threading

    snaps, done = [], threading.Event()

    def worker(vs: VenueSet) -> None:
        while not done.is_set():
            if vs.wait(0.25):
                snaps.append((threading.get_ident(), vs.evaluate(Order("sell", 500_000.0))))

    async def main():
        vs = VenueSet(parse_venues(THREE), seed=2, rate=20.0, drain="thread")
        thread = threading.Thread(target=worker, args=(vs,))
        await vs.start()
        thread.start()
        try:
            await until(lambda: all_live(vs) and len(snaps) > 10 and snaps[-1][1].result is not None)
        finally:
            done.set()
            await vs.stop()
            thread.join(5.0)
        return thread.ident

    ident = run_async(main, timeout=60)
    assert all(t == ident for t, _ in snaps)
    last = next(s for _, s in reversed(snaps) if s.result is not None and all(b.state == LIVE for b in s.books))
    assert last.result.side == "sell" and last.result.paid_usd < 0


def test_a_venue_out_of_sync_is_resyncing_and_left_out_until_its_snapshot_comes(warm, no_thread_leaks):
    """A wrong OKX checksum: from the drain that finds it until the fresh snapshot, the venue
    is ``resyncing``, shown as such and given nothing; then it is live and priced again."""
    seen = []

    async def main():
        vs = VenueSet(parse_venues(THREE), seed=6, rate=20.0)

        def on_change() -> None:
            if vs.states()[("okx", "BTC-USDT-SWAP")] == "resyncing" and not seen:
                seen.append(vs.evaluate(Order("buy", 1_000_000.0)))
        vs.on_change = on_change
        await vs.start()
        try:
            await until(lambda: all_live(vs))
            vs.feed("okx", "BTC-USDT-SWAP").server.faults.bad_checksum(1)
            await until(lambda: seen)
            await until(lambda: all_live(vs))
            return vs.evaluate(Order("buy", 1_000_000.0))
        finally:
            await vs.stop()

    after = run_async(main, timeout=60)
    during = seen[0]
    okx = next(b for b in during.books if b.venue == "okx")
    assert okx.state == "resyncing" and ("okx", "BTC-USDT-SWAP", "resyncing") in during.result.excluded
    assert all(leg.venue != "okx" for leg in during.result.legs)
    assert next(f for f in during.feeds if f["venue"] == "okx")["needs_resync"] is True
    assert after.result.excluded == () and [b.state for b in after.books] == [LIVE] * 3
