"""The app's feed: the websocket client on the qasync loop, and the embedded server it may own.

With no URL, ``core.feed.session.open_endpoint`` starts the embedded synthetic server on its own
thread and hands back its loopback URL: the demo takes the same code path as a remote feed
(socket, decoder, resync), and the window says "synthetic". The client pushes every frame into
the pipeline (``pipeline.push``) and reports its state through ``pipeline.set_status``.

Starting and stopping the server block for a moment (thread start, join); they run on a
short-lived thread polled from the loop so the GUI thread keeps painting meanwhile.
"""
from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from core.feed.pipeline import FeedPipeline
from core.instruments import Instrument


async def in_thread(fn: Callable[..., Any], *args: Any, timeout: float = 15.0) -> Any:
    """Run a blocking call on a plain thread and await it by polling (no executor left behind)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the loop
            box["error"] = exc

    thread = threading.Thread(target=run, name=f"slipscope-{getattr(fn, '__name__', 'call')}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while thread.is_alive():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{getattr(fn, '__name__', fn)} did not finish within {timeout:g} s")
        await asyncio.sleep(0.01)
    if "error" in box:
        raise box["error"]
    return box.get("value")


@dataclass
class FeedChoice:
    """What the user asked for on the command line."""

    feed: str = "goquant"  # "goquant" | "okx"
    url: str | None = None  # None: the embedded synthetic server
    seed: int = 7
    rate: float = 10.0  # embedded server: updates per second

    @property
    def synthetic(self) -> bool:
        return self.url is None


class WebsocketFeed:
    """A :class:`app.gui.FeedSource`: FeedClient (+ EmbeddedServer when no URL was given)."""

    def __init__(self, choice: FeedChoice, inst_id: str) -> None:
        self.choice = choice
        self.inst_id = inst_id
        self.feed_format = choice.feed
        self.synthetic = choice.synthetic
        self.label = (f"synthetic market (embedded server, seed {choice.seed}, {choice.rate:g} updates/s)"
                      if choice.synthetic else f"{choice.feed} {choice.url}")
        self.endpoint = None
        self.client = None

    async def start(self, pipeline: FeedPipeline, instrument: Instrument) -> None:
        from core.feed.client import FeedClient
        from core.feed.session import FeedSpec, open_endpoint

        spec = FeedSpec(feed=self.choice.feed, url=self.choice.url, symbol=instrument.inst_id,
                        seed=self.choice.seed, rate=self.choice.rate)
        self.endpoint = await in_thread(open_endpoint, spec)
        if self.synthetic:
            self.label = f"{self.endpoint.source} at {self.endpoint.url}"
        self.client = FeedClient(self.endpoint.url, pipeline.push, pipeline.set_status,
                                 feed=self.choice.feed, inst_ids=(instrument.inst_id,),
                                 source=self.label, synthetic=self.synthetic)
        self.client.start()

    def request_resync(self) -> None:
        if self.client is not None:
            self.client.request_resync()

    async def stop_client(self) -> None:
        if self.client is not None:
            await self.client.stop()

    async def stop_server(self) -> None:
        if self.endpoint is not None:
            endpoint, self.endpoint = self.endpoint, None
            await in_thread(endpoint.close)
