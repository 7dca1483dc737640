"""What the user asks about: one order and the model settings, validated in one place.

:meth:`OrderParams.validated` is the single place for limits: a value outside them is refused
with an :class:`InvalidParams` that names the field and states the limit, never clamped.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.instruments import Instrument

SIDES = ("buy", "sell")
#: usd = quote-currency notional (USDT counts as USD); base = base currency (BTC);
#: contracts = the exchange's contracts (see :meth:`OrderParams.in_book_terms`)
UNITS = ("usd", "base", "contracts")
ORDER_TYPES = ("market", "limit")
REFERENCES = ("mid", "best")
#: the largest order size in any unit: beyond it the models' squared sizes overflow a float
MAX_QUANTITY = 1e15
MAX_LIMIT_OFFSET_BPS = 10_000.0
MAX_AC_STEPS = 1000
MAX_EXEC_DELAY_MS = 60_000.0


class InvalidParams(ValueError):
    """An input the user cannot mean (negative size, unknown side...); the message says which.

    ``field`` is the :class:`OrderParams` field refused, so a view can show it next to its input."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class OrderParams:
    """One order and the knobs of the models that price it. Immutable: replace() to change."""

    side: str = "buy"
    quantity: float = 100.0
    unit: str = "usd"
    order_type: str = "market"
    #: limit orders: distance from the same-side touch in bps. Positive is passive (a buy
    #: below the best bid: it rests), 0 joins the touch, negative moves toward the other side
    #: and crosses (takes) once past its touch
    limit_offset_bps: float = 0.0
    exchange: str = "OKX"
    fee_tier: str = "Lv1"
    #: annualised volatility to use instead of the live estimate (None = live)
    volatility_override: float | None = None
    #: Almgren-Chriss risk aversion (1/USD) and horizon for the scheduled-execution view
    ac_lambda: float = 1e-6
    ac_horizon_s: float = 300.0
    ac_steps: int = 10
    #: latency between decision and fill the slippage model predicts over
    exec_delay_ms: float = 250.0
    #: slippage reference price: mid (default, as Kaiko/Coin Metrics) or same-side best
    reference: str = "mid"

    def validated(self) -> "OrderParams":
        """Return self, or raise InvalidParams naming the first impossible value."""
        _one_of("side", self.side, SIDES)
        _one_of("unit", self.unit, UNITS)
        _one_of("order_type", self.order_type, ORDER_TYPES, "order type")
        _one_of("reference", self.reference, REFERENCES)
        _positive("quantity", self.quantity)
        if self.quantity > MAX_QUANTITY:
            raise InvalidParams(f"quantity must be at most {MAX_QUANTITY:g}, not {self.quantity:g}", "quantity")
        _finite("limit_offset_bps", self.limit_offset_bps, "limit offset")
        if abs(self.limit_offset_bps) > MAX_LIMIT_OFFSET_BPS:
            raise InvalidParams(f"limit offset must be within +/-{MAX_LIMIT_OFFSET_BPS:.0f} bps, "
                                f"not {self.limit_offset_bps:g}", "limit_offset_bps")
        if self.volatility_override is not None:
            _positive("volatility_override", self.volatility_override, "volatility override")
        if not (_is_number(self.ac_lambda) and math.isfinite(self.ac_lambda) and self.ac_lambda >= 0):
            raise InvalidParams(f"risk aversion lambda must be >= 0, not {self.ac_lambda!r}", "ac_lambda")
        _positive("ac_horizon_s", self.ac_horizon_s, "horizon")
        if not (isinstance(self.ac_steps, int) and not isinstance(self.ac_steps, bool)
                and 1 <= self.ac_steps <= MAX_AC_STEPS):
            raise InvalidParams(f"schedule steps must be a whole number in 1..{MAX_AC_STEPS}, "
                                f"not {self.ac_steps!r}", "ac_steps")
        if not (_is_number(self.exec_delay_ms) and math.isfinite(self.exec_delay_ms)
                and 0 <= self.exec_delay_ms <= MAX_EXEC_DELAY_MS):
            raise InvalidParams(f"execution delay must be between 0 and {MAX_EXEC_DELAY_MS:.0f} ms, "
                                f"not {self.exec_delay_ms!r}", "exec_delay_ms")
        if not self.fee_tier or not self.exchange:
            raise InvalidParams("exchange and fee tier must be named", "fee_tier")
        return self

    def with_(self, **changes) -> "OrderParams":
        """A validated copy with ``changes`` applied."""
        return replace(self, **changes).validated()

    def to_dict(self) -> dict:
        return asdict(self)

    def in_book_terms(self, instrument: "Instrument") -> "OrderParams":
        """The same order with its size in USD or base units, as the kernels and models take it.

        This is the one place a size in contracts becomes base (linear contracts: n x contract
        value in base) or USD (inverse: n x contract value in quote). An instrument without
        contracts (spot) refuses the unit, naming the instrument."""
        if self.unit != "contracts":
            return self
        per, unit = contract_terms(instrument)
        return replace(self, quantity=self.quantity * per, unit=unit).validated()


def contract_terms(instrument: "Instrument") -> tuple[float, str]:
    """What one contract of ``instrument`` is worth: (amount, "base" | "usd")."""
    if instrument.contract_type == "spot":
        raise InvalidParams(f"quantity in contracts: {instrument.inst_id} is spot and has no "
                            f"contracts; use USD or {instrument.base}", "unit")
    return instrument.contract_value, ("usd" if instrument.inverse else "base")


def convert_quantity(quantity: float, unit: str, to_unit: str, mid: float,
                     instrument: "Instrument") -> float:
    """``quantity`` in ``unit`` expressed in ``to_unit`` at price ``mid`` (no rounding, no limit)."""
    if unit == to_unit:
        return quantity
    if unit == "contracts":
        per, unit = contract_terms(instrument)
        quantity *= per
    if to_unit == "contracts":
        per, per_unit = contract_terms(instrument)
        return convert_quantity(quantity, unit, per_unit, mid, instrument) / per
    if unit == to_unit:
        return quantity
    if not (math.isfinite(mid) and mid > 0):
        raise InvalidParams("no price yet to convert between USD and base units", "unit")
    return quantity * mid if to_unit == "usd" else quantity / mid


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _one_of(field: str, value: object, allowed: tuple[str, ...], name: str | None = None) -> None:
    if value not in allowed:
        raise InvalidParams(f"{name or field} must be one of {', '.join(allowed)}, not {value!r}", field)


def _finite(field: str, value: float, name: str | None = None) -> None:
    if not _is_number(value) or not math.isfinite(value):
        raise InvalidParams(f"{name or field} must be a finite number, not {value!r}", field)


def _positive(field: str, value: float, name: str | None = None) -> None:
    _finite(field, value, name)
    if value <= 0:
        raise InvalidParams(f"{name or field} must be positive, not {value:g}", field)
