"""Shipped warm-start coefficients, loaded per instrument.

The online models start from ``resources/models/warm_start.json`` so that predictions exist
from the first book; live labels take over from there (RLS forgetting, SGD steps). The
features are in bps and relative sizes, so coefficients learnt on the synthetic
BTC-USDT-SWAP transfer as a starting point to any instrument; each instrument's suite then
learns on its own. The generator is a tool (``python -m core.tools.warm_start``): it runs the
engine and the suite, which load from here.
"""
from __future__ import annotations

import copy
from functools import lru_cache

import orjson

from core.resources import resource_path

WARM_START_FILE = ("models", "warm_start.json")


@lru_cache(maxsize=1)
def _load_shipped() -> dict | None:
    path = resource_path(*WARM_START_FILE)
    if not path.exists():
        return None
    return orjson.loads(path.read_bytes())


def load_warm_start() -> dict | None:
    """The shipped coefficients (a fresh copy: callers own what they get), or None."""
    data = _load_shipped()
    return copy.deepcopy(data) if data is not None else None
