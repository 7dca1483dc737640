"""Fee schedules as data: lookups, tier spelling, clear errors listing what exists."""
from __future__ import annotations

import pytest

from core.instruments import get_instrument, known_instruments
from core.models import fees
from core.models.fees import UnknownExchange, UnknownFeeSchedule, UnknownFeeTier, UnknownMarket


def test_okx_published_rates():
    swap, spot = fees.fee_rate("OKX", "swap", "Lv1"), fees.fee_rate("OKX", "spot", "Lv1")
    assert (swap.maker, swap.taker) == (0.0002, 0.0005)
    assert (spot.maker, spot.taker) == (0.0008, 0.0010)
    vip8 = fees.fee_rate("OKX", "spot", "VIP8")
    assert vip8.maker < 0 < vip8.taker  # a maker rebate is a negative cost


def test_every_tier_carries_its_source_and_taker_is_at_least_maker():
    for exchange in fees.known_exchanges():
        for market in ("spot", "swap"):
            for tier in fees.known_tiers(exchange, market):
                rate = fees.fee_rate(exchange, market, tier)
                # URL and a date: OKX's own page; the others cite their published pages (https)
                assert ("okx.com/fees" if exchange == "OKX" else "https://") in rate.source and "20" in rate.source
                assert rate.taker >= rate.maker


@pytest.mark.parametrize("spelling", ["VIP1", "vip1", "VIP 1", " Vip 1 "])
def test_tier_names_are_matched_loosely(spelling):
    assert fees.fee_rate("okx", "spot", spelling).tier == "VIP1"


def test_tiers_are_listed_in_published_order():
    tiers = fees.known_tiers("OKX", "spot")
    assert tiers[:2] == ["Lv1", "Lv2"] and tiers[-1] == "VIP8" and len(tiers) == 13


def test_expected_fee_is_taker_part_plus_expected_maker_part():
    rate = fees.fee_rate("OKX", "swap", "Lv1")
    assert rate.expected_fee(60_000.0, 40_000.0 * 0.5) == pytest.approx(60_000 * 0.0005 + 20_000 * 0.0002)


def test_unknown_exchange_lists_the_known_ones():
    with pytest.raises(UnknownExchange, match="known: .*OKX") as info:
        fees.fee_rate("Kraken", "spot", "Lv1")
    assert isinstance(info.value, ValueError) and isinstance(info.value, UnknownFeeSchedule)


def test_unknown_tier_lists_the_known_tiers():
    with pytest.raises(UnknownFeeTier, match="Lv1, VIP1"):
        fees.fee_rate("OKX", "swap", "VIP9")


def test_unknown_market_is_a_clear_error():
    with pytest.raises(UnknownMarket, match="spot, swap"):
        fees.fee_rate("OKX", "options", "Lv1")


def test_every_instrument_kind_has_a_schedule():
    for inst_id in known_instruments():
        inst = get_instrument(inst_id)
        assert fees.fee_rate(inst.exchange, inst.kind, "Lv1").market == inst.kind
