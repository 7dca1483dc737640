"""The app's feed: the websocket client on the qasync loop, and the embedded server it may own.

With no URL, ``core.feed.session.open_endpoint`` starts the embedded synthetic server on its own
thread and hands back its loopback URL: the demo takes the same code path as a remote feed
(socket, decoder, resync), and the window says "synthetic". A replay file is served the same
way (the embedded server's replay source, looping), so a recording also takes the live path.
The client pushes every frame into the pipeline (``pipeline.push``) and reports its state
through ``pipeline.set_status``.

:func:`choice_from_form` turns what the feed dialog holds into a :class:`FeedChoice`, or
refuses it with a :class:`FeedFormError` that names the field (a URL that is not ws:// or
wss://, a REST URL that is not http(s):// or given to a venue that takes no REST snapshot, a
replay file that is missing or not a recording, an instrument the venue does not list).

Starting and stopping the server block for a moment (thread start, join); they run on a
short-lived thread polled from the loop so the GUI thread keeps painting meanwhile.
"""
from __future__ import annotations

import asyncio
import math
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from core.feed.pipeline import FeedPipeline
from core.instruments import Instrument, UnknownInstrument
from core.venues import DEFAULT_VENUE, Venue, get_venue, instrument_for, venue_names, venue_symbols


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


SOURCES = ("synthetic", "url", "replay")


@dataclass(frozen=True)
class FeedChoice:
    """Where the window's frames come from: the command line's or the feed dialog's choice."""

    feed: str = DEFAULT_VENUE  # a venue's name (a replay: the recording's own venue)
    url: str | None = None  # None: the embedded server (synthetic market, or the replay)
    seed: int = 7
    rate: float = 10.0  # embedded server: updates per second
    instrument: str | None = None  # None: the window's current instrument
    replay: str | None = None  # a recording to serve instead of the synthetic market
    speed: float = 1.0  # replay pace (1 = as recorded)
    replay_synthetic: bool = False  # the recording's header says it recorded a synthetic market
    rest_url: str | None = None  # a URL feed's REST base (venues with a REST snapshot; None: the public one)

    @property
    def source(self) -> str:
        return "replay" if self.replay else "url" if self.url else "synthetic"

    @property
    def synthetic(self) -> bool:
        return self.replay_synthetic if self.replay else self.url is None

    def to_form(self) -> dict[str, Any]:
        """What the feed dialog shows for this choice (and what the settings remember)."""
        form = asdict(self)
        form["source"] = self.source
        form.pop("replay_synthetic")
        form["url"] = self.url or ""
        form["rest_url"] = self.rest_url or ""
        form["replay"] = self.replay or ""
        form["instrument"] = self.instrument or ""
        return form


class FeedFormError(ValueError):
    """A feed the dialog cannot use; ``field`` is the field's visible label."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def choice_from_form(form: dict[str, Any]) -> FeedChoice:
    """The FeedChoice the dialog's fields mean, or FeedFormError naming the first bad field."""
    source = str(form.get("source") or "synthetic")
    if source not in SOURCES:
        raise FeedFormError("Source", f"must be one of {', '.join(SOURCES)}, not {source!r}")
    if source == "replay":
        return _replay_choice(form)
    feed = str(form.get("feed") or DEFAULT_VENUE).lower()
    if feed not in venue_names():
        labels = [get_venue(name).label or name for name in venue_names()]
        raise FeedFormError("Venue", f"must be {', '.join(labels[:-1])} or {labels[-1]}, not {feed!r}")
    venue = get_venue(feed)
    inst = str(form.get("instrument") or "").strip()
    if source == "synthetic":
        _instrument(venue, inst, infer=False)  # the embedded server serves the data files' symbols
        rate = _number(form.get("rate", 10.0), "Rate")
        if not 0 < rate <= 5000:
            raise FeedFormError("Rate", f"must be between 0 and 5000 updates/s, not {rate:g}")
        seed = _number(form.get("seed", 7), "Seed")
        if seed != int(seed):
            raise FeedFormError("Seed", f"must be a whole number, not {seed:g}")
        return FeedChoice(feed=feed, seed=int(seed), rate=rate, instrument=inst)
    _instrument(venue, inst, infer=True)
    url = _url(form.get("url"), "URL", ("ws", "wss"))
    named = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]  # a URL that names an instrument must name this one
    if named in venue_symbols(venue) and named != inst:
        raise FeedFormError("Instrument", f"the URL serves {named}, not {inst}")
    rest_url = str(form.get("rest_url") or "").strip() or None
    if rest_url is not None:
        if venue.rest_snapshot_url is None:
            raise FeedFormError("REST URL", f"{venue.label or feed} takes no REST snapshot: leave it empty")
        rest_url = _url(rest_url, "REST URL", ("http", "https"))
    return FeedChoice(feed=feed, url=url, instrument=inst, rest_url=rest_url)


def _instrument(venue: Venue, symbol: str, infer: bool) -> Instrument:
    """The spec of ``symbol`` on ``venue`` (a generic one where ``infer`` and the venue can),
    else FeedFormError naming the Instrument field and what the venue lists."""
    try:
        return instrument_for(venue, symbol, infer=infer)
    except UnknownInstrument:
        listed = ", ".join(venue_symbols(venue))
        raise FeedFormError("Instrument", f"{venue.label or venue.name} lists no instrument {symbol!r} "
                                          f"(it lists {listed})") from None


def _url(value: Any, field: str, schemes: tuple[str, ...]) -> str:
    url = str(value or "").strip()
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError:
        raise FeedFormError(field, f"has an invalid port: {url!r}") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise FeedFormError(field, f"must be a {' or '.join(s + '://' for s in schemes)} URL, not {url!r}")
    return url


def _replay_choice(form: dict[str, Any]) -> FeedChoice:
    from core.recording.recorder import RecordingError, read_recording

    path = str(form.get("replay") or "").strip()
    if not path:
        raise FeedFormError("Replay file", "choose a recording (.jsonl.gz)")
    file = Path(path).expanduser()
    if not file.is_file():
        raise FeedFormError("Replay file", f"{file} does not exist")
    try:
        header = read_recording([file]).header
    except (RecordingError, OSError, ValueError) as exc:
        raise FeedFormError("Replay file", f"{file.name} is not a recording: {exc}") from None
    if not header.inst_ids:
        raise FeedFormError("Replay file", f"{file.name} names no instrument")
    inst = header.inst_ids[0]
    if header.feed not in venue_names():
        raise FeedFormError("Replay file", f"{file.name} is a {header.feed!r} recording")
    try:
        instrument_for(header.feed, inst)
    except UnknownInstrument:
        raise FeedFormError("Replay file", f"{file.name} records {inst}, which is not a known instrument") from None
    speed = _number(form.get("speed", 1.0), "Speed")
    if not 0 < speed <= 1000:
        raise FeedFormError("Speed", f"must be between 0 and 1000 (1 = as recorded), not {speed:g}")
    return FeedChoice(feed=header.feed, instrument=inst, replay=str(file.resolve()), speed=speed,
                      replay_synthetic=header.synthetic)


def _number(value: Any, field: str) -> float:
    try:
        x = float(str(value).replace(",", "").strip())
    except ValueError:
        raise FeedFormError(field, f"not a number: {value!r}") from None
    if not math.isfinite(x):
        raise FeedFormError(field, f"must be finite, not {value!r}")
    return x


class WebsocketFeed:
    """A :class:`app.gui.FeedSource`: FeedClient (+ EmbeddedServer when no URL was given)."""

    def __init__(self, choice: FeedChoice, inst_id: str) -> None:
        self.choice = choice
        self.inst_id = inst_id
        self.feed_format = choice.feed
        self.synthetic = choice.synthetic
        if choice.replay:
            self.label = f"replay of {Path(choice.replay).name} (embedded server, {choice.speed:g}x)"
        elif choice.url is None:
            self.label = f"synthetic market (embedded server, seed {choice.seed}, {choice.rate:g} updates/s)"
        else:
            from widgets.inputs_panel import venue_label
            self.label = f"{venue_label(choice.feed)} {choice.url}"
        self.endpoint = None
        self.client = None

    async def start(self, pipeline: FeedPipeline, instrument: Instrument) -> None:
        from core.feed.client import FeedClient
        from core.feed.session import FeedSpec, open_endpoint

        if self.choice.replay:
            self.endpoint = await in_thread(open_replay, self.choice, instrument.inst_id)
        else:
            spec = FeedSpec(feed=self.choice.feed, url=stream_url(self.choice, instrument.inst_id),
                            symbol=instrument.inst_id, seed=self.choice.seed, rate=self.choice.rate,
                            rest_url=self.choice.rest_url)
            self.endpoint = await in_thread(open_endpoint, spec)
        if self.endpoint.server is not None:
            self.label = f"{self.endpoint.source} at {self.endpoint.url}"
        self.client = FeedClient(self.endpoint.url, pipeline.push, pipeline.set_status,
                                 feed=self.choice.feed, inst_ids=(instrument.inst_id,),
                                 source=self.label, synthetic=self.synthetic, rest_url=self.endpoint.rest_url,
                                 on_connect=pipeline.connection_opened)
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


def stream_url(choice: FeedChoice, inst_id: str) -> str | None:
    """Where a URL feed connects for ``inst_id``: the URL as given, or, when it is a host alone
    (``wss://fstream.binance.com``, ``ws://127.0.0.1:8765``) or the venue's stream of the
    choice's instrument on a host (``.../ws/btcusdt@depth@100ms``, GoQuant's
    ``.../ws/l2-orderbook/okx/BTC-USDT-SWAP``), the venue's path for ``inst_id`` on that host,
    so that another instrument picked in the window gets its own stream."""
    if choice.url is None:
        return None
    venue, parts = get_venue(choice.feed), urlsplit(choice.url)
    host = f"{parts.scheme}://{parts.netloc}"
    if parts.path in ("", "/") or (choice.instrument and choice.url == venue.url_at(host, (choice.instrument,))):
        return venue.url_at(host, (inst_id,))
    return choice.url


def open_replay(choice: FeedChoice, inst_id: str):
    """Serve ``choice.replay`` from the embedded server (looping, at ``choice.speed``); its URL."""
    from core.sim.server import EmbeddedServer, ReplaySource
    from core.feed.session import Endpoint

    source = ReplaySource([Path(choice.replay)], choice.speed, loop=True)
    if inst_id not in source.inst_ids:
        raise ValueError(f"the recording holds {', '.join(source.inst_ids)}, not {inst_id}")
    server = EmbeddedServer(source)
    urls = server.start()
    return Endpoint(urls.for_feed(choice.feed, inst_id), server, f"{source.label}, embedded",
                    choice.synthetic, urls.rest)
