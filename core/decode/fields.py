"""Reference conversions of message fields, each failing with its specific error:
a frame to a JSON object, a price or size to a float."""
from __future__ import annotations

import math
import re

import orjson

from core import errors

# What the feeds send: an optional minus, digits with an optional point, an optional exponent.
# The Numba fast path (jsonscan) accepts exactly this grammar too.
DECIMAL_RE = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_UNSIGNED_CHARS = "0123456789."


def parse_decimal(value: object, what: str) -> float:
    """``value`` (a decimal string or a JSON number) as a finite float, or a specific error.

    Hot for OKX frames (two calls a level), so plain unsigned decimals skip the regex.
    """
    if type(value) is str and value and not value.strip(_UNSIGNED_CHARS):
        try:
            x = float(value)  # digits and dots only: float() accepts exactly the grammar's subset
        except ValueError:
            raise errors.NonNumeric(f"{what} {value[:40]!r} is not a decimal number") from None
    elif isinstance(value, str):
        if DECIMAL_RE.fullmatch(value) is None:
            if value.strip().lower().lstrip("+-") in ("nan", "inf", "infinity"):
                raise errors.NonFinite(f"{what} {value!r} is not finite")
            raise errors.NonNumeric(f"{what} {value[:40]!r} is not a decimal number")
        x = float(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            x = float(value)
        except OverflowError:
            raise errors.NonFinite(f"{what} {value!r} overflows a float") from None
    else:
        raise errors.NonNumeric(f"{what} {value!r} is not a number")
    if not math.isfinite(x):
        raise errors.NonFinite(f"{what} {value!r} is not finite")
    return x


def parse_levels_into(levels: list, name: str, px_out, sz_out, pairs_only: bool = False) -> None:
    """Each level's price and size into ``px_out``/``sz_out``, one at a time, naming the first
    bad one (``bids[3]: size 'x' is not a decimal number``): the checked path every venue's
    decoder falls back to when its fast scan declines a side. ``pairs_only``: exactly
    ``[price, size]`` (Bybit); otherwise extra per-level fields may follow (OKX, Binance, GoQuant)."""
    i = 0
    try:
        for i, level in enumerate(levels):
            if type(level) is not list or (len(level) != 2 if pairs_only else len(level) < 2):
                raise errors.WrongSchema("must be [price, size]" if pairs_only else "must be [price, size, ...]")
            px_out[i] = parse_decimal(level[0], "price")
            sz_out[i] = parse_decimal(level[1], "size")
    except errors.FeedError as exc:
        raise type(exc)(f"{name}[{i}]: {exc}") from None


def load_json_object(raw: bytes | str) -> dict:
    """A frame as a JSON object, or MalformedJSON saying why not."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise errors.MalformedJSON(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise errors.MalformedJSON(f"expected a JSON object, got {type(obj).__name__}")
    return obj
