"""``slipscope analyze``: price recorded books (recordings, Tardis.dev CSVs) over time, on Dask.

Writes ``costs.parquet``, ``summary.csv``, ``run.json`` and ``report.html`` into ``--out``.
Bad inputs are named in one line each and skipped; exit 2 for a bad argument or when no input
could be read, 1 when nothing could be priced, 130 after Ctrl+C (finished partitions written).
"""
from __future__ import annotations

import argparse
import platform
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from app.cli.args import UsageError, positive_floats, positive_int, progress

EVERY = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*(ms|s|m|h)?\s*$", re.IGNORECASE)
NS_PER = {"ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "analyze", help="price recorded books over time (recordings, Tardis CSVs) on Dask",
        description="Evaluate every book (or the book as of each --every tick) of the inputs for "
                    "each side and quantity with the live engine; write costs.parquet, summary.csv, "
                    "run.json and report.html into --out. Runs on a local process pool, or on a "
                    "dask.distributed scheduler with --scheduler.")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="recordings (.jsonl.gz, .jsonl), Tardis book_snapshot_* CSVs, folders or globs")
    p.add_argument("--quantities", required=True, type=positive_floats, help="order sizes, comma-separated (1e4,1e5)")
    p.add_argument("--unit", choices=("usd", "base"), default="usd", help="unit of --quantities (default usd)")
    p.add_argument("--sides", type=sides, default=("buy", "sell"), help="buy,sell (default both)")
    p.add_argument("--every", type=every, default=0, help="price the book as of each tick (1s, 500ms, 1m)")
    p.add_argument("--fee-tier", default="Lv1", help="fee tier of each instrument's schedule (default Lv1)")
    p.add_argument("--models", action="store_true",
                   help="also run the cost models: impact and predicted slippage columns")
    p.add_argument("--out", type=Path, help="output folder (default analysis-<UTC time>/)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, help="local worker processes (default: one per core)")
    where.add_argument("--scheduler", type=scheduler_address, help="a dask.distributed scheduler, tcp://HOST:PORT")
    p.add_argument("--chunk", type=positive_int, default=50_000,
                   help="frames per partition (cut at the next full book; default 50000; "
                        "with --models each file is one partition)")
    p.set_defaults(func=run)


def sides(text: str) -> tuple[str, ...]:
    out = tuple(s.strip() for s in text.split(","))
    bad = [s for s in out if s not in ("buy", "sell")]
    if bad or not out:
        raise argparse.ArgumentTypeError(f"sides are buy and/or sell, not {', '.join(bad) or text!r}")
    return tuple(dict.fromkeys(out))


def scheduler_address(text: str) -> str:
    host, _, port = text.removeprefix("tcp://").rpartition(":")
    if not text.startswith("tcp://") or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"not tcp://HOST:PORT: {text!r}")
    return text


def every(text: str) -> int:
    m = EVERY.match(text)
    if not m or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"not an interval: {text!r} (e.g. 1s, 500ms, 1m)")
    ns = int(round(float(m.group(1)) * NS_PER[(m.group(2) or "s").lower()]))
    if ns < 1_000_000:
        raise argparse.ArgumentTypeError(f"interval below 1 ms: {text!r}")
    return ns


def run(args: argparse.Namespace) -> int:
    from core.history.evaluate import EvalSpec
    from core.history.execute import SchedulerUnreachable, execute
    from core.history.inputs import InputError, expand, identify
    from core.history.partition import plan

    try:
        paths = expand(args.inputs)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    sources, skipped = [], []
    for path in paths:
        try:
            sources.append(identify(path))
        except InputError as exc:
            progress(f"skipped: {exc}")
            skipped.append(str(exc))
    if not sources:
        raise UsageError("no input could be read")
    _check_fee_tier(sources, args.fee_tier)
    spec = EvalSpec(args.quantities, args.unit, args.sides, args.every, args.fee_tier, args.models)
    out_dir = args.out or Path(f"analysis-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}")
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    the_plan = plan(sources, None if args.models else args.chunk)  # models: whole files (partition.py)
    for note in the_plan.notes:
        progress(note)
    progress(f"{len(sources)} inputs, {len(the_plan.partitions)} partitions")
    try:
        ex = execute(the_plan.partitions, spec, progress, args.workers, args.scheduler)
    except SchedulerUnreachable as exc:
        progress(f"slipscope analyze: error: {exc}")
        return 1
    for line in _rejections(the_plan, ex):
        progress(line)
    rows = _write(out_dir, sources, skipped, the_plan, ex, spec, time.monotonic() - started)
    progress(f"{rows:,} rows -> {out_dir}")
    if ex.interrupted:
        return 130
    return 0 if rows else 1


def _check_fee_tier(sources, tier: str) -> None:
    from core.instruments import get_instrument
    from core.models.fees import UnknownFeeSchedule, fee_rate

    for source in sources:
        inst = get_instrument(source.symbol)
        try:
            fee_rate(inst.exchange, inst.kind, tier)
        except UnknownFeeSchedule as exc:
            raise UsageError(f"--fee-tier: {exc}") from None


def _write(out_dir: Path, sources, skipped, the_plan, ex, spec, wall_s: float) -> int:
    from core.history import outputs

    cols = outputs.concat(ex.results)
    rows = len(cols["time_ns"]) if cols else 0
    if rows:
        outputs.write_parquet(cols, out_dir / "costs.parquet")
        outputs.write_summary(cols, out_dir / "summary.csv")
        title, origin = _title(cols, sources)
        outputs.write_report(cols, title, origin, out_dir / "report.html")
    frames = sum(r.frames for r in ex.results)
    outputs.write_run(_run_info(sources, skipped, the_plan, ex, spec, wall_s, rows, frames), out_dir / "run.json")
    return rows


def _title(cols, sources) -> tuple[str, str]:
    import numpy as np

    ts = cols["book_ts_ms"]
    fmt = "%Y-%m-%d %H:%M:%S"
    period = (f"{datetime.fromtimestamp(np.nanmin(ts) / 1e3, timezone.utc):{fmt}} to "
              f"{datetime.fromtimestamp(np.nanmax(ts) / 1e3, timezone.utc):{fmt}} UTC")
    instruments = ", ".join(dict.fromkeys(f"{s.symbol} on {s.venue}" for s in sources))
    origins = "; ".join(dict.fromkeys(s.origin + (" (SYNTHETIC)" if s.synthetic else "") for s in sources))
    return f"Trading costs: {instruments}, {period}", origins


def _run_info(sources, skipped, the_plan, ex, spec, wall_s: float, rows: int, frames: int) -> dict[str, Any]:
    by_index = {r.index: r for r in ex.results}
    return {
        "inputs": [vars(s) for s in sources],
        "skipped": skipped,
        "notes": the_plan.notes,
        "spec": {"quantities": spec.quantities, "unit": spec.unit, "sides": spec.sides,
                 "every_ns": spec.every_ns, "fee_tier": spec.fee_tier, "models": spec.models},
        "versions": _versions(),
        "partitions": [_partition_info(p, by_index.get(p.index)) for p in the_plan.partitions],
        "workers": ex.workers,
        "scheduler": ex.scheduler,
        "interrupted": ex.interrupted,
        "failed": ex.failed,
        "rows": rows,
        "frames": frames,
        "wall_s": round(wall_s, 3),
        "evaluate_s": round(ex.wall_s, 3),
        "rows_per_s": round(rows / wall_s, 1) if wall_s > 0 else None,
        "frames_per_s": round(frames / wall_s, 1) if wall_s > 0 else None,
    }


def _rejections(the_plan, ex) -> list[str]:
    """One line per input whose frames the decoder or the book refused: how many, by reason."""
    by_file: dict[str, dict[str, int]] = {}
    parts = {p.index: p for p in the_plan.partitions}
    for result in ex.results:
        counts = by_file.setdefault(parts[result.index].source.path, {})
        for reason, n in result.rejected_by_reason.items():
            counts[reason] = counts.get(reason, 0) + n
    return [f"{path}: {sum(c.values())} frames rejected and skipped ("
            + ", ".join(f"{reason} {n}" for reason, n in sorted(c.items())) + ")"
            for path, c in by_file.items() if c]


def _partition_info(part, result) -> dict[str, Any]:
    """Where a partition lies and what it gave (None where it did not finish)."""
    done = result is not None
    return {"index": part.index, "path": part.source.path, "start": part.start, "stop": part.stop,
            "rows": result.rows if done else None, "frames": result.frames if done else None,
            "books": result.books if done else None,
            "rejected_by_reason": result.rejected_by_reason if done else None}


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("slipscope", "numpy", "numba", "dask", "distributed", "pyarrow", "matplotlib"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "unknown"
    return out
