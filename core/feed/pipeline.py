"""The hand-over between a feed client and the Engine, across threads.

The client (on the asyncio loop, in the GUI thread under qasync) calls :meth:`push` for every
frame: an O(1), thread-safe append with its receive time, never a task or a callback per
message. The consumer (a worker thread in the GUI, the loop itself headless) calls
:meth:`drain`, which ingests everything that has arrived and evaluates once: a full-snapshot
feed that outruns the consumer is coalesced to its newest book, and deltas are all applied.
When the book falls out of sync (OKX gap or checksum mismatch) ``drain`` asks the client,
through ``request_resync``, for a fresh snapshot at once. Only an unanswered request is
rate-limited: while no snapshot has restored sync since the last request, it is repeated at
most once per ``resync_retry_s``; once a snapshot restored sync, the next fault asks again at
once (a second fault a second after the first costs no more than the first).
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from core.engine import Engine
from core.params import OrderParams
from core.snapshot import Snapshot

NEW_CONNECTION = object()  # inbox marker: the client opened a connection; later frames are its
FEED_STATES = ("connecting", "live", "stale", "reconnecting", "resyncing", "stopped")
RESYNC_RETRY_S = 3.0  # an unanswered resync request is repeated this often


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """What the client says about the connection; copied into every snapshot's ``feed``."""

    state: str = "connecting"
    source: str = ""  # human-readable: "synthetic market (embedded, seed 7)", a URL, a file
    synthetic: bool = False
    url: str = ""
    counters: dict[str, Any] = field(default_factory=dict)  # received, reconnects, stale_events...
    detail: str = ""  # last error or note, one line
    #: connect attempts since the last connection that delivered data (1 = the first try)
    attempt: int = 0
    #: when the next connect attempt starts (``time.monotonic()`` seconds), None when none waits
    retry_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """``dataclasses.asdict`` without its recursive deep copy (35 us a call, once per
        evaluation on the live path): the fields in order, the counters dict copied."""
        return {"state": self.state, "source": self.source, "synthetic": self.synthetic, "url": self.url,
                "counters": dict(self.counters), "detail": self.detail, "attempt": self.attempt,
                "retry_at": self.retry_at}

    def retry_in(self, now: float | None = None) -> float | None:
        """Seconds until the next connect attempt (0 once due), None when none is scheduled."""
        if self.retry_at is None:
            return None
        return max(self.retry_at - (time.monotonic() if now is None else now), 0.0)


def retry_note(feed: Mapping[str, Any], now: float | None = None) -> str:
    """What a dead or failing feed is doing, for a badge: "attempt 7 failed · next try in 3.2 s"
    while waiting to retry, "attempt 8" while a retry connects, "" otherwise. ``feed`` is a
    :class:`FeedStatus` as a dict (a snapshot's ``feed``)."""
    attempt = int(feed.get("attempt") or 0)
    retry_at = feed.get("retry_at")
    if retry_at is not None:
        wait = max(float(retry_at) - (time.monotonic() if now is None else now), 0.0)
        return f"attempt {attempt} failed · next try in {wait:.1f} s"
    if attempt > 1 and feed.get("state") in ("connecting", "reconnecting"):
        return f"attempt {attempt}"
    return ""


class FeedPipeline:
    """Inbox (any thread) -> Engine (one consumer thread)."""

    def __init__(self, engine: Engine, request_resync: Callable[[], None] | None = None,
                 resync_retry_s: float = RESYNC_RETRY_S) -> None:
        self.engine = engine
        self.request_resync = request_resync
        self.resync_retry_s = resync_retry_s
        self._inbox: deque[tuple[bytes | str, int]] = deque()
        self._wake = threading.Event()
        self._status = FeedStatus()
        self._resync_asked_at = -1e18
        self._resync_unanswered = False  # asked, and no snapshot has restored sync since
        self.resync_requests = 0

    # --- producer side (any thread) --------------------------------------------------
    def push(self, raw: bytes | str, recv_ns: int | None = None) -> None:
        self._inbox.append((raw, time.perf_counter_ns() if recv_ns is None else recv_ns))
        self._wake.set()

    def append(self, raw: bytes | str, recv_ns: int) -> None:
        """:meth:`push` for a consumer on the producer's own thread, which never :meth:`wait` s:
        the frame without the wake-up (a lock and a notify per frame)."""
        self._inbox.append((raw, recv_ns))

    def set_status(self, status: FeedStatus) -> None:
        self._status = status
        self._wake.set()

    def poke(self) -> None:
        """Wake the consumer without a message (inputs changed: re-evaluate now)."""
        self._wake.set()

    # --- consumer side (one thread) --------------------------------------------------
    @property
    def status(self) -> FeedStatus:
        return self._status

    def pending(self) -> int:
        return len(self._inbox)

    def wait(self, timeout: float) -> bool:
        """Block until pushed to or poked (True) or ``timeout`` seconds pass (False)."""
        woke = self._wake.wait(timeout)
        self._wake.clear()
        return woke

    def connection_opened(self) -> None:
        """The client's ``on_connect``: mark, in frame order, where a new connection begins."""
        self._inbox.append((NEW_CONNECTION, 0))  # type: ignore[arg-type]
        self._wake.set()

    def drain(self, params: OrderParams | None = None) -> Snapshot | None:
        """Ingest all pending frames, evaluate once; None until a valid book exists."""
        inbox = self._inbox
        if self._resync_unanswered:
            self._ingest_until_synced()
        while inbox:
            self._ingest(*inbox.popleft())
        self._maybe_request_resync()
        return self.engine.evaluate(params, feed=self._feed_info())

    def _ingest_until_synced(self) -> None:
        """While a resync is asked for, check after each frame whether a snapshot answered it
        (a fault later in the same batch must not hide that the answer came)."""
        inbox, engine = self._inbox, self.engine
        if not engine.needs_resync:
            self._resync_unanswered = False
            return
        while inbox:
            self._ingest(*inbox.popleft())
            if not engine.needs_resync:
                self._resync_unanswered = False
                return

    def _ingest(self, raw: bytes | str, recv_ns: int) -> None:
        if raw is NEW_CONNECTION:
            self.engine.connection_opened()
        else:
            self.engine.ingest(raw, recv_ns)

    def _maybe_request_resync(self) -> None:
        if not self.engine.needs_resync or self.request_resync is None:
            return
        now = time.monotonic()
        if self._resync_unanswered and now - self._resync_asked_at < self.resync_retry_s:
            return  # the snapshot asked for is on its way; ask again only if it never comes
        self._resync_asked_at = now
        self._resync_unanswered = True
        self.resync_requests += 1
        self.request_resync()

    def _feed_info(self) -> dict[str, Any]:
        info = self._status.as_dict()
        info["resync_requests"] = self.resync_requests
        info["needs_resync"] = self.engine.needs_resync
        info["pending"] = len(self._inbox)
        return info
