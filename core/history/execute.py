"""Run the partitions on Dask: a local process pool by default, a ``dask.distributed``
scheduler when given one; the same code path (``Client.submit`` + ``as_completed``) either way.

Results are kept by partition index, so their order (and the output) never depends on which
worker finished first. Ctrl+C cancels what is pending and keeps what has finished.
"""
from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from typing import Callable

from core.history.evaluate import EvalSpec, PartitionResult, evaluate_partition
from core.history.partition import Partition


CONNECT_TIMEOUT_S = 20.0  # how long to wait for a --scheduler before giving up


class SchedulerUnreachable(Exception):
    """The scheduler named by --scheduler did not answer (the message says which and why)."""


@dataclass
class Execution:
    results: list[PartitionResult] = field(default_factory=list)  # finished, in index order
    workers: int = 0
    scheduler: str = "local"
    interrupted: bool = False
    failed: list[str] = field(default_factory=list)
    wall_s: float = 0.0


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def execute(parts: list[Partition], spec: EvalSpec, progress: Callable[[str], None],
            workers: int | None = None, scheduler: str | None = None) -> Execution:
    """Evaluate ``parts`` on a local process pool of ``workers`` or on ``scheduler``."""
    from dask.distributed import Client, LocalCluster

    started = time.monotonic()
    if scheduler is not None:
        _probe(scheduler)
    out = Execution(scheduler=scheduler or "local")
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1,
                               processes=True, host="127.0.0.1", dashboard_address=":0",
                               silence_logs=50)
    try:
        client = Client(cluster if cluster is not None else scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        raise SchedulerUnreachable(f"cannot reach the scheduler {scheduler or 'local'}: {exc}") from None
    try:
        out.workers = len(client.scheduler_info()["workers"])
        _gather(client, parts, spec, progress, out, started)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
        out.wall_s = time.monotonic() - started
    return out


def _probe(scheduler: str) -> None:
    """Open and close one TCP connection to ``tcp://HOST:PORT`` first: a scheduler that is not
    there is reported in one line, before a Client (and its IO thread) exists."""
    host, _, port = scheduler.removeprefix("tcp://").rpartition(":")
    if not host or not port.isdigit():
        raise SchedulerUnreachable(f"--scheduler must be tcp://HOST:PORT, not {scheduler!r}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise SchedulerUnreachable(f"cannot reach the scheduler {scheduler}: {exc.strerror or exc}") from None


def _gather(client, parts: list[Partition], spec: EvalSpec, progress: Callable[[str], None],
            out: Execution, started: float) -> None:
    from dask.distributed import as_completed

    futures = [client.submit(evaluate_partition, p, spec, key=f"slipscope-part-{p.index}", pure=False)
               for p in parts]
    done: dict[int, PartitionResult] = {}
    rows = 0
    try:
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001 - one bad partition must not sink the run
                out.failed.append(f"{future.key}: {type(exc).__name__}: {exc}")
                progress(f"failed: {out.failed[-1]}")
                continue
            done[result.index] = result
            rows += result.rows
            progress(progress_line(len(done) + len(out.failed), len(parts), rows, time.monotonic() - started))
    except KeyboardInterrupt:
        out.interrupted = True
        client.cancel(futures)
        progress(f"interrupted: keeping {len(done)} finished partitions of {len(parts)}")
    out.results = [done[i] for i in sorted(done)]


def progress_line(done: int, total: int, rows: int, elapsed: float) -> str:
    rate = rows / elapsed if elapsed > 0 else 0.0
    eta = elapsed / done * (total - done) if done else float("nan")
    return f"[{done}/{total} partitions] {rows:,} rows  {rate:,.0f} rows/s  ETA {eta:.0f} s"
