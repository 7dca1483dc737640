"""``slipscope record``: record a feed to compressed JSON lines (receive time + raw message).

Any feed the client reads (default: the embedded synthetic server). Runs for ``--duration``
seconds or until Ctrl+C; ``--rotate-mb``/``--rotate-s`` start numbered parts. The file is
flushed every 0.25 s, so even a killed recorder leaves every line up to then readable.
Prints the written file(s) on stdout.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path

from app.cli.args import UsageError, positive_float, progress, setup_logging
from app.cli.feed_args import add_feed_arguments, feed_spec


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "record", help="record a feed to a .jsonl.gz file (replay with serve/headless --replay)",
        description="Record every frame of a feed (default: the embedded synthetic server) with its "
                    "receive time to gzip JSON lines. Stop with --duration or Ctrl+C.")
    add_feed_arguments(p)
    p.add_argument("--out", type=Path, help="output file (default recordings/<SYMBOL>-<feed>-<UTC time>.jsonl.gz)")
    p.add_argument("--duration", type=positive_float, help="seconds to record (default: until Ctrl+C)")
    p.add_argument("--rotate-mb", type=positive_float, help="start a new part after this many MB")
    p.add_argument("--rotate-s", type=positive_float, help="start a new part after this many seconds")
    p.set_defaults(func=run)


def default_path(symbol: str, feed: str) -> Path:
    return Path("recordings") / f"{symbol}-{feed}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.jsonl.gz"


def run(args: argparse.Namespace) -> int:
    setup_logging(args.verbose)
    spec = feed_spec(args)
    out = args.out or default_path(spec.symbol, spec.feed)
    if out.exists():
        raise UsageError(f"{out} already exists; choose another --out")
    return asyncio.run(_record(args, spec, out))


async def _record(args: argparse.Namespace, spec, out: Path) -> int:
    from core.feed.client import ClientConfig, FeedClient
    from core.recording.recorder import Recorder, RecordingError, RecordingHeader
    from core.feed.session import open_endpoint

    endpoint = open_endpoint(spec)
    header = RecordingHeader(feed=spec.feed, inst_ids=(spec.symbol,), url=endpoint.url,
                             channel=spec.channel, source=endpoint.source, synthetic=endpoint.synthetic)
    client: FeedClient | None = None
    failure: list[str] = []
    try:
        recorder = Recorder(out, header, rotate_bytes=int(args.rotate_mb * 1e6) if args.rotate_mb else None,
                            rotate_s=args.rotate_s)
    except RecordingError as exc:
        endpoint.close()
        raise UsageError(str(exc)) from None

    stop = asyncio.Event()

    def sink(raw, recv_ns: int) -> None:
        try:
            recorder.write(raw, recv_ns)
        except RecordingError as exc:  # disk full: stop, keep what was written
            failure.append(str(exc))
            stop.set()

    client = FeedClient(endpoint.url, sink, feed=spec.feed, inst_ids=(spec.symbol,), channel=spec.channel,
                        config=ClientConfig(stale_after_s=args.stale_after), source=endpoint.source,
                        synthetic=endpoint.synthetic, rest_url=endpoint.rest_url)
    recorder.request_snapshot = client.request_resync
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    progress(f"recording {endpoint.source} ({spec.feed}) from {endpoint.url} to {out}")
    started = time.monotonic()
    deadline = started + args.duration if args.duration else float("inf")
    last_report = started
    client.start()
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                await asyncio.wait_for(stop.wait(), min(0.25, max(deadline - time.monotonic(), 0.0)))
            except asyncio.TimeoutError:
                pass
            try:
                recorder.tick()
            except RecordingError as exc:
                failure.append(str(exc))
                break
            if time.monotonic() - last_report >= 2.0:
                last_report = time.monotonic()
                progress(f"[{last_report - started:6.1f}s] {client.state:<12} frames {recorder.lines}"
                         f"  {recorder.bytes_written / 1e6:.2f} MB in {recorder.paths[-1].name}")
    finally:
        await client.stop()
        endpoint.close()
        with contextlib.suppress(RecordingError):
            recorder.close()
    for path in recorder.paths:
        print(path, flush=True)
    progress(f"recorded {recorder.lines} frames in {len(recorder.paths)} file(s)")
    if failure:
        print(f"slipscope record: error: {failure[0]}", file=sys.stderr)
        return 1
    if recorder.lines == 0:
        print(f"slipscope record: error: nothing arrived from {endpoint.url} ({client.detail or client.state})",
              file=sys.stderr)
        return 1
    return 0
