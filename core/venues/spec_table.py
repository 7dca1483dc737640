"""Instrument specs as data for venues whose files hold one table per group of symbols.

``resources/instruments_binance.toml`` has a table per venue (``binance-usdm``, ``binance-spot``)
and ``resources/instruments_bybit.toml`` one per category (``linear``, ``spot``): the same
symbol has different ticks and lots in each, so a spec is keyed by (group, symbol). One
reader for both: each file is loaded once, every spec checked, and a lookup that misses
lists the symbols the group knows.
"""
from __future__ import annotations

import tomllib
from functools import cached_property

from core.instruments import CONTRACT_TYPES, SIZE_UNITS, Instrument, UnknownInstrument
from core.resources import resource_path


class SpecTable:
    """The specs of one file: ``instrument(group, symbol)``, ``known_symbols(group)``."""

    def __init__(self, spec_file: str, label: str = "", groups: tuple[str, ...] | None = None) -> None:
        self.spec_file = spec_file
        self.label = label  # before the group in messages: "Bybit " -> "unknown Bybit linear symbol"
        self.groups = groups  # the groups the file may hold (None: any)

    @cached_property
    def table(self) -> dict[str, dict[str, Instrument]]:
        with open(resource_path(self.spec_file), "rb") as fh:
            raw = tomllib.load(fh)
        out: dict[str, dict[str, Instrument]] = {}
        for group, symbols in raw.items():
            if self.groups is not None and group not in self.groups:
                raise ValueError(f"{self.spec_file}: unknown group {group!r} (one of {', '.join(self.groups)})")
            out[group] = {}
            for symbol, spec in symbols.items():
                inst = Instrument(inst_id=symbol, **spec)
                if inst.contract_type not in CONTRACT_TYPES or inst.size_unit not in SIZE_UNITS:
                    raise ValueError(f"{self.spec_file}: bad contract_type/size_unit for {group}.{symbol}")
                out[group][symbol] = inst
        return out

    def instrument(self, group: str, symbol: str) -> Instrument:
        """The spec of ``symbol`` in ``group``; UnknownInstrument listing the known ones."""
        known = self.table.get(group, {})
        if symbol not in known:
            raise UnknownInstrument(
                f"unknown {self.label}{group} symbol {symbol!r}; known: {', '.join(sorted(known))}")
        return known[symbol]

    def known_symbols(self, group: str) -> list[str]:
        return sorted(self.table.get(group, {}))
