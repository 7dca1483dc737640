"""Number formatting: "—" for what is not known, and never a negative zero."""
from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from widgets.format import DASH, bps, compact, micros, num, pct, qty, rate, unsigned_zero, usd
from widgets.plot_base import tick_text


@pytest.mark.parametrize("text", [
    num(-0.0), num(-0.004), usd(-0.001), bps(-0.0049), num(-0.4, 0), qty(-0.0000001), qty(-0.0),
    pct(-0.00001), rate(-0.01), micros(-0.2), compact(-0.0), tick_text(-1.1e-17, 0.5), tick_text(-0.0, 1.0),
])
def test_a_value_that_rounds_to_zero_prints_unsigned(text):
    assert not text.startswith("-"), text
    assert "-0" not in text.replace(" ", "")


def test_signed_numbers_keep_their_sign_and_signed_zero_reads_plus():
    assert num(-0.006) == "-0.01" and num(-1234.5, 1) == "-1,234.5"
    assert num(-0.001, sign=True) == "+0.00" and num(0.5, 0, sign=True) == "+0"
    assert bps(-0.021, 3) == "-0.021" and pct(-0.0125) == "-1.2 %"


def test_what_is_not_known_is_a_dash_not_nan():
    for f in (num, usd, bps, qty, pct, micros, rate, compact):
        assert f(math.nan) == DASH and f(None) == DASH


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
       st.integers(min_value=0, max_value=6))
def test_no_negative_zero_at_any_precision(x, decimals):
    text = num(x, decimals)
    assert float(text.replace(",", "")) == pytest.approx(round(x, decimals), abs=10.0 ** -decimals)
    if float(text.replace(",", "")) == 0.0:
        assert not text.startswith("-")
    assert unsigned_zero(x, decimals) == x or round(x, decimals) == 0.0
