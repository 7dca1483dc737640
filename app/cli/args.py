"""Argument helpers every subcommand shares: number types, the one-line usage error, logging.

One copy of each: a bad number is refused the same way by every subcommand (``inf`` and ``nan``
are not positive numbers anywhere), in one line, never with a traceback.
"""
from __future__ import annotations

import argparse
import logging
import math
import sys
from typing import Any, Callable


class UsageError(Exception):
    """A bad argument: reported as one line and exit status 2."""


def _number(text: str, convert: Callable[[str], Any], what: str) -> Any:
    """``convert(text)``, or an ArgumentTypeError saying ``text`` is not ``what``."""
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None


def positive_float(text: str) -> float:
    """A finite number above zero (``inf`` and ``nan`` are refused)."""
    value = _number(text, float, "a number")
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number: {text}")
    return value


def positive_floats(text: str) -> tuple[float, ...]:
    """Comma-separated positive numbers (``1e4,1e5``), each refused as :func:`positive_float`
    refuses it; an empty item (``1e4,,1e5``) is refused too."""
    parts = text.split(",")
    if not all(part.strip() for part in parts):
        raise argparse.ArgumentTypeError(f"empty item in {text!r}")
    return tuple(positive_float(part) for part in parts)


def positive_int(text: str) -> int:
    value = _number(text, int, "an integer")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value}")
    return value


def port(text: str) -> int:
    value = _number(text, int, "a port number")
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be in 0..65535, not {value}")
    return value


def setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="slipscope: %(message)s")
    if verbose < 2:
        logging.getLogger("websockets").setLevel(logging.WARNING)


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def emit_result(out: Any, command: str = "headless") -> int:
    """End a run that prints a JSON result (``out.result``, ``out.ok``, ``out.error``,
    ``out.export_path``): the JSON as the last stdout line, a failure in one stderr line (exit
    status 1), else where the export went; the exit status."""
    import orjson

    print(orjson.dumps(out.result).decode(), flush=True)
    if not out.ok:
        print(f"slipscope {command}: error: {out.error}", file=sys.stderr, flush=True)
        return 1
    if out.export_path is not None:
        progress(f"exported to {out.export_path}")
    return 0
