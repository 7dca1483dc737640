"""What the user asks about: one order and the model settings, validated in one place."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

SIDES = ("buy", "sell")
UNITS = ("usd", "base")  # usd = quote-currency notional (USDT counts as USD)
ORDER_TYPES = ("market", "limit")
REFERENCES = ("mid", "best")


class InvalidParams(ValueError):
    """An input the user cannot mean (negative size, unknown side...); the message says which."""


@dataclass(frozen=True, slots=True)
class OrderParams:
    """One order and the knobs of the models that price it. Immutable: replace() to change."""

    side: str = "buy"
    quantity: float = 100.0
    unit: str = "usd"
    order_type: str = "market"
    #: limit orders: distance from the same-side touch in bps; 0 joins the touch, negative crosses
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
        _one_of("order type", self.order_type, ORDER_TYPES)
        _one_of("reference", self.reference, REFERENCES)
        _positive("quantity", self.quantity)
        _finite("limit offset", self.limit_offset_bps)
        if abs(self.limit_offset_bps) > 10_000:
            raise InvalidParams("limit offset must be within +/-10000 bps")
        if self.volatility_override is not None:
            _positive("volatility override", self.volatility_override)
        if not (math.isfinite(self.ac_lambda) and self.ac_lambda >= 0):
            raise InvalidParams(f"risk aversion lambda must be >= 0, not {self.ac_lambda!r}")
        _positive("horizon", self.ac_horizon_s)
        if not (isinstance(self.ac_steps, int) and 1 <= self.ac_steps <= 1000):
            raise InvalidParams(f"schedule steps must be an integer in 1..1000, not {self.ac_steps!r}")
        if not (math.isfinite(self.exec_delay_ms) and 0 <= self.exec_delay_ms <= 60_000):
            raise InvalidParams("execution delay must be between 0 and 60000 ms")
        if not self.fee_tier or not self.exchange:
            raise InvalidParams("exchange and fee tier must be named")
        return self

    def with_(self, **changes) -> "OrderParams":
        """A validated copy with ``changes`` applied."""
        return replace(self, **changes).validated()

    def to_dict(self) -> dict:
        return asdict(self)


def _one_of(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InvalidParams(f"{name} must be one of {', '.join(allowed)}, not {value!r}")


def _finite(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidParams(f"{name} must be a finite number, not {value!r}")


def _positive(name: str, value: float) -> None:
    _finite(name, value)
    if value <= 0:
        raise InvalidParams(f"{name} must be positive, not {value!r}")
