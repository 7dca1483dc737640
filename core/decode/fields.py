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


def load_json_object(raw: bytes | str) -> dict:
    """A frame as a JSON object, or MalformedJSON saying why not."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise errors.MalformedJSON(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise errors.MalformedJSON(f"expected a JSON object, got {type(obj).__name__}")
    return obj
