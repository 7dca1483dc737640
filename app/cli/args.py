"""Argument helpers every subcommand shares: number types, the one-line usage error, logging.

One copy of each: a bad number is refused the same way by every subcommand (``inf`` and ``nan``
are not positive numbers anywhere), in one line, never with a traceback.
"""
from __future__ import annotations

import argparse
import logging
import math
import sys


class UsageError(Exception):
    """A bad argument: reported as one line and exit status 2."""


def positive_float(text: str) -> float:
    """A finite number above zero (``inf`` and ``nan`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number: {text}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value}")
    return value


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
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
