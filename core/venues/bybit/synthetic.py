"""The embedded server's Bybit side: frames rendered from the synthetic market, and the
answers a Bybit client expects to its requests.

Update ids belong to steps, as OKX's seqIds do (core/sim/market.py): step ``k`` has
``u = step.seq`` (plus an offset after a simulated restart), its delta chains from ``u - 1``
and a snapshot of it carries the same ``u``. So a late subscriber's snapshot never disturbs
the chain others follow, and a withheld delta leaves a real gap. ``seq`` (Bybit's cross
sequence) grows by a stride per step: increasing, never contiguous, like Bybit's.

The market must be built with ``levels`` equal to the topic's depth (tests/bybit_support.py ``synthetic_market``):
then each step's changes are exactly what Bybit's ``orderbook.<depth>`` delta carries (changes
inside the window, levels entering it, and levels leaving it as size "0").
"""
from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from typing import TYPE_CHECKING

from core.venues.bybit.venue import TOPIC_PREFIX

if TYPE_CHECKING:  # the adapter renders a market; it never builds one (core/sim sits above venues)
    from core.sim.market import MarketStep, SyntheticMarket

SEQ_BASE = 9_685_000_000  # cross sequences are large numbers on Bybit
SEQ_STRIDE = 37  # ...and skip values between one symbol's updates
CTS_LAG_MS = 2  # matching engine time a little before the push time, as on Bybit


class BybitEncoder:
    """Renders one market's steps as Bybit ``orderbook`` pushes (bytes, compact JSON)."""

    def __init__(self, market: SyntheticMarket, category: str = "linear") -> None:
        self.market = market
        self.category = category
        self.symbol = market.instrument.inst_id
        self.depth = market.config.levels
        self.topic = f"{TOPIC_PREFIX}{self.depth}.{self.symbol}"
        self._u_offset = 0
        self._head = b'{"topic":' + orjson.dumps(self.topic) + b',"type":"'
        self._symbol_json = orjson.dumps(self.symbol)

    def u_of(self, step: MarketStep) -> int:
        return step.seq + self._u_offset

    def snapshot_text(self, step: MarketStep) -> bytes:
        """The whole window after ``step``, carrying the step's ``u``."""
        m = self.market
        return self._frame(b"snapshot", step, m.levels_json(step.bids), m.levels_json(step.asks))

    def update_text(self, step: MarketStep) -> bytes:
        """The step's changes as one delta (bids best first, asks best first; "0" deletes)."""
        m = self.market
        bids = m.levels_json(sorted(step.bid_changes.items(), reverse=True))
        asks = m.levels_json(sorted(step.ask_changes.items()))
        return self._frame(b"delta", step, bids, asks)

    def restart_text(self, step: MarketStep) -> bytes:
        """Bybit's service restarted: a full book with ``u == 1``; later deltas chain from it."""
        self._u_offset = 1 - step.seq
        return self.snapshot_text(step)

    def _frame(self, kind: bytes, step: MarketStep, bids: bytes, asks: bytes) -> bytes:
        seq = SEQ_BASE + step.seq * SEQ_STRIDE
        return b"".join((
            self._head, kind, b'","ts":', str(step.ts_ms).encode(), b',"data":{"s":', self._symbol_json,
            b',"b":', bids, b',"a":', asks, b',"u":', str(self.u_of(step)).encode(),
            b',"seq":', str(seq).encode(), b'},"cts":', str(step.ts_ms - CTS_LAG_MS).encode(), b"}"))


# --- what a Bybit client sees from the server -----------------------------------------------

@dataclass
class ServerAnswer:
    """What to send after one client text: ``replies`` first (acks, pongs, errors), then a
    snapshot of each symbol in ``subscribed`` (deltas follow from the next step)."""

    replies: list[bytes] = field(default_factory=list)
    subscribed: list[str] = field(default_factory=list)
    unsubscribed: list[str] = field(default_factory=list)


class BybitServerSession:
    """One client connection's request handling, as Bybit's public endpoint answers it."""

    def __init__(self, category: str, symbols: tuple[str, ...] | list[str], depth: int = 50,
                 conn_id: str = "synthetic-0") -> None:
        self.category = category
        self.symbols = tuple(symbols)
        self.depth = depth
        self.conn_id = conn_id
        self.topics: set[str] = set()

    def answer(self, text: str | bytes, now_ms: int = 0) -> ServerAnswer:
        out = ServerAnswer()
        try:
            request = orjson.loads(text)
            op = request["op"]
            req_id = str(request.get("req_id", ""))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            out.replies.append(self._reply("", False, "error:request not supported", ""))
            return out
        if op == "ping":
            out.replies.append(self._pong(req_id, now_ms))
            return out
        args = request.get("args")
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list) or not args:
            out.replies.append(self._reply(str(op), False, f"error:op {str(op)[:40]} not supported", req_id))
            return out
        bad = [a for a in args if not self._valid(a, op)]
        if bad:  # Bybit refuses the request as a whole, naming the topic
            out.replies.append(self._reply(op, False, _refusal(bad[0], op, self._valid_topic(bad[0])), req_id))
            return out
        out.replies.append(self._reply(op, True, "subscribe" if self.category == "spot" and op == "subscribe" else "",
                                       req_id))
        for topic in args:
            symbol = topic.rsplit(".", 1)[1]
            if op == "subscribe":
                self.topics.add(topic)
                out.subscribed.append(symbol)
            else:
                self.topics.discard(topic)
                out.unsubscribed.append(symbol)
        return out

    def _valid_topic(self, topic: object) -> bool:
        return topic in {f"{TOPIC_PREFIX}{self.depth}.{s}" for s in self.symbols}

    def _valid(self, topic: object, op: str) -> bool:
        if not self._valid_topic(topic):
            return False
        return (topic not in self.topics) if op == "subscribe" else (topic in self.topics)

    def _reply(self, op: str, success: bool, message: str, req_id: str) -> bytes:
        return orjson.dumps({"success": success, "ret_msg": message, "conn_id": self.conn_id,
                             "req_id": req_id, "op": op})

    def _pong(self, req_id: str, now_ms: int) -> bytes:
        if self.category == "spot":
            return orjson.dumps({"req_id": req_id, "op": "pong", "args": [str(now_ms)], "conn_id": self.conn_id})
        return self._reply("ping", True, "pong", req_id)


def _refusal(topic: object, op: str, known: bool) -> str:
    if not known:
        return f"error:handler not found,topic:{str(topic)[:80]}"
    return f"error:{'already subscribed' if op == 'subscribe' else 'not subscribed'},topic:{topic}"
