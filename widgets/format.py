"""Number formatting for the views: one place so units and precision stay consistent.

Every function takes a float that may be NaN/None (a value the book or the models cannot give
yet) and returns a string that says so ("—") instead of "nan". Thousands are grouped; the
decimals are fixed per kind of number so columns of values line up in a monospace font. A value
that rounds to zero prints as zero, never "-0.00": a sign the reader cannot see the size of
would only mislead.
"""
from __future__ import annotations

import math

DASH = "—"


def _ok(x: float | None) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def unsigned_zero(x: float, decimals: int) -> float:
    """``x``, or +0.0 where it would print as zero with ``decimals`` (-0.001 -> 0.0, -0.0 -> 0.0)."""
    return 0.0 if round(x, decimals) == 0.0 else x


def num(x: float | None, decimals: int = 2, sign: bool = False) -> str:
    """Grouped fixed-point number: 12,345.68 (or +12,345.68 with ``sign``)."""
    if not _ok(x):
        return DASH
    x = unsigned_zero(x, decimals)
    return f"{x:+,.{decimals}f}" if sign else f"{x:,.{decimals}f}"


def usd(x: float | None, decimals: int = 2) -> str:
    """Quote-currency amount; USDT counts as USD (the UI says so once, in the legend)."""
    return num(x, decimals)


def bps(x: float | None, decimals: int = 2) -> str:
    return num(x, decimals)


def price(x: float | None, tick: float = 0.1) -> str:
    """A price with as many decimals as the instrument's tick size needs."""
    return num(x, tick_decimals(tick))


def tick_decimals(tick: float) -> int:
    text = f"{tick:.12f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def qty(x: float | None, unit: str = "") -> str:
    """A size: few decimals for large sizes, more for small ones (0.0042 BTC, 1,250 USD)."""
    if not _ok(x):
        return DASH
    a = abs(x)
    decimals = 0 if a >= 1000 else 2 if a >= 10 else 4 if a >= 0.01 else 6
    text = f"{unsigned_zero(x, decimals):,.{decimals}f}"
    return f"{text} {unit}" if unit else text


def pct(x: float | None, decimals: int = 1) -> str:
    """A fraction (0.25) as a percentage (25.0 %)."""
    return DASH if not _ok(x) else f"{unsigned_zero(100.0 * x, decimals):.{decimals}f} %"


def micros(us: float | None) -> str:
    """A latency given in microseconds: "502 µs", "4.66 ms", "18.4 ms" (few digits, right unit)."""
    if not _ok(us):
        return DASH
    if us >= 10_000:
        return f"{us / 1000:,.1f} ms"
    if us >= 1000:
        return f"{us / 1000:.2f} ms"
    return f"{unsigned_zero(us, 0):,.0f} µs"


def rate(x: float | None) -> str:
    return DASH if not _ok(x) else f"{unsigned_zero(x, 1):,.1f} /s"


def compact(x: float | None) -> str:
    """Axis-style compact number: 1.2k, 3.4M."""
    if not _ok(x):
        return DASH
    a = abs(x)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{x / div:.3g}{suffix}"
    return f"{x + 0.0:.3g}"  # -0.0 + 0.0 is +0.0


def seconds_ago(s: float | None) -> str:
    if not _ok(s):
        return DASH
    return f"{s * 1000:.0f} ms ago" if s < 1 else f"{s:.1f} s ago"
