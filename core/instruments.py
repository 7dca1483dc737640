"""Instrument specifications as data (``resources/instruments.toml``).

Exchange books count size in contracts for derivatives (BTC-USDT-SWAP: 0.01 BTC each),
so every base or USD figure must go through :meth:`Instrument.base_per_unit`.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from functools import lru_cache

from core.resources import resource_path

CONTRACT_TYPES = ("spot", "linear", "inverse")
SIZE_UNITS = ("contracts", "base")


class UnknownInstrument(KeyError):
    """The instrument id is not in the specification table."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want a plain sentence
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable instrument: what a size in its book means in base and quote currency."""

    inst_id: str
    exchange: str
    kind: str
    base: str
    quote: str
    tick_size: float
    lot_size: float
    contract_value: float
    contract_type: str
    size_unit: str
    inferred: bool = False  # not in the data files: a generic linear spec guessed from the symbol

    @property
    def inverse(self) -> bool:
        return self.contract_type == "inverse"

    @property
    def unit_label(self) -> str:
        """How the book's sizes are counted, for display: 'contracts (0.01 BTC)' or 'BTC'."""
        if self.size_unit == "base":
            return self.base
        per = f"{self.contract_value:g} {self.quote if self.inverse else self.base}"
        return f"contracts ({per})"

    @property
    def linear_multiplier(self) -> float:
        """Base units per book size unit for spot and linear instruments (inverse: see base_sizes)."""
        if self.size_unit == "base":
            return 1.0
        return self.contract_value

    def with_size_unit(self, size_unit: str) -> "Instrument":
        """Same instrument with the book's size unit overridden (a feed may count in base)."""
        if size_unit not in SIZE_UNITS:
            raise ValueError(f"size unit must be one of {', '.join(SIZE_UNITS)}, not {size_unit!r}")
        return replace(self, size_unit=size_unit)


@lru_cache(maxsize=1)
def _table() -> dict[str, Instrument]:
    with open(resource_path("instruments.toml"), "rb") as fh:
        raw = tomllib.load(fh)
    out = {}
    for inst_id, spec in raw.items():
        inst = Instrument(inst_id=inst_id, **spec)
        if inst.contract_type not in CONTRACT_TYPES or inst.size_unit not in SIZE_UNITS:
            raise ValueError(f"instruments.toml: bad contract_type/size_unit for {inst_id}")
        out[inst_id] = inst
    return out


def get_instrument(inst_id: str) -> Instrument:
    """Spec for ``inst_id``; raises :class:`UnknownInstrument` with the known ids listed."""
    table = _table()
    if inst_id not in table:
        raise UnknownInstrument(f"unknown instrument {inst_id!r}; known: {', '.join(sorted(table))}")
    return table[inst_id]


def known_instruments() -> list[str]:
    return sorted(_table())


#: quote currencies a concatenated symbol (``BTCUSDT``) may end with, longest-first where they overlap
QUOTE_CURRENCIES = ("FDUSD", "USDT", "USDC", "TUSD", "BUSD", "USDE", "EUR", "TRY", "BTC", "ETH", "BNB")
#: an inferred spec's tick and lot: finer than any venue's, so nothing is rounded away
INFERRED_STEP = 1e-8


def inferred_linear(symbol: str, exchange: str, kind: str, contract_type: str) -> Instrument:
    """A generic linear spec for a base-unit venue's symbol the data files do not list: contract
    value 1, the quote currency read from the symbol's end, tick and lot unknown (the finest
    step assumed), and ``inferred`` set so every output can say the spec was guessed."""
    quote = next((q for q in QUOTE_CURRENCIES if symbol.endswith(q) and len(symbol) > len(q)), None)
    if quote is None:
        raise UnknownInstrument(
            f"cannot tell the quote currency of {symbol!r} (known quotes: {', '.join(QUOTE_CURRENCIES)})")
    return Instrument(inst_id=symbol, exchange=exchange, kind=kind, base=symbol[: -len(quote)], quote=quote,
                      tick_size=INFERRED_STEP, lot_size=INFERRED_STEP, contract_value=1.0,
                      contract_type=contract_type, size_unit="base", inferred=True)
