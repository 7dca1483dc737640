"""What ``slipscope analyze`` writes: ``costs.parquet``, ``summary.csv``, ``run.json``, ``report.html``.

The report is one self-contained HTML file: matplotlib (Agg) PNGs embedded as base64, no
script, no link, so it opens offline. Time axes use the books' exchange time (``book_ts_ms``),
which every input carries, also header-less recordings whose receive times are made up.
"""
from __future__ import annotations

import base64
import csv
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from core.history.evaluate import FILLABLE_BPS, PartitionResult

SUMMARY_COLUMNS = ("venue", "symbol", "side", "quantity", "unit", "rows", "net_cost_p50_bps",
                   "net_cost_p90_bps", "net_cost_p99_bps", "exhausted_share",
                   *(f"fillable_{b:g}bps_usd_{s}" for b in FILLABLE_BPS for s in ("p50", "p10")))


def concat(results: list[PartitionResult]) -> dict[str, np.ndarray]:
    """The partitions' columns end to end, in partition order."""
    if not results:
        return {}
    return {name: np.concatenate([r.columns[name] for r in results]) for name in results[0].columns}


def write_parquet(columns: dict[str, np.ndarray], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({name: pa.array(columns[name].tolist() if columns[name].dtype == object else columns[name])
                      for name in columns})
    pq.write_table(table, path)


def read_parquet(path: Path) -> dict[str, np.ndarray]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}


def groups(columns: dict[str, np.ndarray]) -> list[tuple[tuple, np.ndarray]]:
    """(venue, symbol, side, quantity, unit) -> row indexes, in first-seen order."""
    keys = list(zip(columns["venue"], columns["symbol"], columns["side"], columns["quantity"], columns["unit"]))
    index: dict[tuple, list[int]] = {}
    for i, key in enumerate(keys):
        index.setdefault(key, []).append(i)
    return [(key, np.array(rows)) for key, rows in index.items()]


def summary_rows(columns: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    out = []
    for (venue, symbol, side, qty, unit), rows in groups(columns):
        net = columns["net_cost_bps"][rows]
        net = net[np.isfinite(net)]
        p50, p90, p99 = np.percentile(net, (50, 90, 99)) if net.size else (np.nan,) * 3
        row = {"venue": venue, "symbol": symbol, "side": side, "quantity": qty, "unit": unit,
               "rows": int(rows.size), "net_cost_p50_bps": p50, "net_cost_p90_bps": p90,
               "net_cost_p99_bps": p99, "exhausted_share": float(columns["exhausted"][rows].mean())}
        for b in FILLABLE_BPS:
            size = columns[f"fillable_{b:g}bps_usd"][rows]
            row[f"fillable_{b:g}bps_usd_p50"] = float(np.percentile(size, 50))
            row[f"fillable_{b:g}bps_usd_p10"] = float(np.percentile(size, 10))
        out.append(row)
    return out


def write_summary(columns: dict[str, np.ndarray], path: Path) -> list[dict[str, Any]]:
    rows = summary_rows(columns)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, SUMMARY_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def write_run(info: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(info, indent=2, default=str) + "\n")


# --- report ---------------------------------------------------------------------------------

def write_report(columns: dict[str, np.ndarray], title: str, sources: str, path: Path) -> None:
    """report.html: the figures below as embedded PNGs, titled with instrument, venue, period, source."""
    import matplotlib

    matplotlib.use("Agg")
    figures = [("Net cost percentiles over time, per size", _cost_over_time(columns)),
               ("Median net cost by size and hour of day (UTC)", _heatmap(columns)),
               ("Depth within 10 and 50 bps of the mid over time", _depth_over_time(columns)),
               ("Size fillable within 10 bps of the mid, per venue", _fillable(columns))]
    if "label_bps" in columns and np.isfinite(columns["label_bps"]).any():
        figures.append(("Model calibration: quantile coverage and predicted vs realised slippage",
                        _calibration(columns)))
    body = "\n".join(f"<h2>{html.escape(name)}</h2>\n<img alt=\"{html.escape(name)}\" "
                     f"src=\"data:image/png;base64,{png}\">" for name, png in figures)
    path.write_text(f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
                    "<style>body{font-family:sans-serif;margin:2em}img{max-width:100%}</style></head>\n"
                    f"<body><h1>{html.escape(title)}</h1>\n<p>Source: {html.escape(sources)}</p>\n{body}\n"
                    "</body></html>\n")


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


MAX_INSTRUMENTS = 8  # plotted one row each; more are in costs.parquet and summary.csv


def _instruments(columns: dict[str, np.ndarray]) -> list[tuple[str, np.ndarray]]:
    """(``symbol on venue``, row mask) per instrument, first seen first: plots never pool them."""
    keys = dict.fromkeys(zip(columns["venue"], columns["symbol"]))
    return [(f"{symbol} on {venue}", (columns["venue"] == venue) & (columns["symbol"] == symbol))
            for venue, symbol in list(keys)[:MAX_INSTRUMENTS]]


def _grid(rows: int, cols: int, width: float, height: float):
    import matplotlib.pyplot as plt

    return plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)


TIME_UNITS = ((2 * 86_400_000, 86_400_000, "days"), (2 * 3_600_000, 3_600_000, "hours"),
              (2 * 60_000, 60_000, "minutes"), (0, 1000, "seconds"))


def _elapsed(ts_ms: np.ndarray) -> tuple[np.ndarray, str]:
    """Book time since the instrument's first book, in the largest unit that spans two or more."""
    since = ts_ms - np.nanmin(ts_ms)
    span = float(np.nanmax(since)) if since.size else 0.0
    for at_least, per, name in TIME_UNITS:
        if span >= at_least:
            return since / per, f"{name} since first book"
    return since / 1000, "seconds since first book"


def _cost_scale(ax, values: np.ndarray) -> None:
    """Log scale where the costs span more than a factor of 20, else linear (readable ticks)."""
    v = values[np.isfinite(values) & (values > 0)]
    if v.size and v.max() / v.min() > 20:
        ax.set_yscale("log")


def binned(x: np.ndarray, y: np.ndarray, q: float, bins: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """The ``q`` percentile of ``y`` in equal bins of ``x`` (empty bins left out)."""
    edges = np.linspace(np.nanmin(x), np.nanmax(x) + 1e-12, bins + 1)
    which = np.digitize(x, edges) - 1
    centres, values = [], []
    for b in range(bins):
        sel = y[(which == b) & np.isfinite(y)]
        if sel.size:
            centres.append(0.5 * (edges[b] + edges[b + 1]))
            values.append(np.percentile(sel, q))
    return np.array(centres), np.array(values)


def _cost_over_time(columns: dict[str, np.ndarray]) -> str:
    sides = list(dict.fromkeys(columns["side"]))
    insts = _instruments(columns)
    fig, axes = _grid(len(insts), len(sides), 6, 3.4)
    for row, (label, inst) in zip(axes, insts):
        hours, xlabel = _elapsed(columns["book_ts_ms"][inst])
        for ax, side in zip(row, sides):
            for k, qty in enumerate(sorted(set(columns["quantity"][inst]))):
                sel = (columns["side"][inst] == side) & (columns["quantity"][inst] == qty)
                for q, style in ((50, "o-"), (90, "s--"), (99, "^:")):
                    x, y = binned(hours[sel], columns["net_cost_bps"][inst][sel], q)
                    ax.plot(x, y, style, color=f"C{k}", markersize=3, label=f"{qty:g} p{q}")
            ax.set(title=f"{label}, {side}", xlabel=xlabel, ylabel="net cost (bps)")
            _cost_scale(ax, columns["net_cost_bps"][inst])
            ax.legend(fontsize=6, ncol=3)
    fig.tight_layout()
    return _png(fig)


def _heatmap(columns: dict[str, np.ndarray]) -> str:
    sides = list(dict.fromkeys(columns["side"]))
    insts = _instruments(columns)
    qtys = sorted(set(columns["quantity"]))
    fig, axes = _grid(len(insts), len(sides), 6, 0.45 * len(qtys) + 2)
    hour = ((columns["book_ts_ms"] // 3.6e6) % 24).astype(int)
    for row, (label, inst) in zip(axes, insts):
        for ax, side in zip(row, sides):
            grid = np.full((len(qtys), 24), np.nan)
            for i, qty in enumerate(qtys):
                for h in range(24):
                    vals = columns["net_cost_bps"][inst & (columns["side"] == side)
                                                   & (columns["quantity"] == qty) & (hour == h)]
                    vals = vals[np.isfinite(vals)]
                    if vals.size:
                        grid[i, h] = np.median(vals)
            im = ax.imshow(grid, aspect="auto", origin="lower", cmap="viridis", extent=(-0.5, 23.5, -0.5, len(qtys) - 0.5))
            ax.set(title=f"{label}, {side}", xlabel="hour of day (UTC)", yticks=range(len(qtys)),
                   yticklabels=[f"{q:g}" for q in qtys])
            fig.colorbar(im, ax=ax, label="median net cost (bps)")
    fig.tight_layout()
    return _png(fig)


def _depth_over_time(columns: dict[str, np.ndarray]) -> str:
    insts = _instruments(columns)
    fig, axes = _grid(len(insts), 1, 10, 3.2)
    first_qty = columns["quantity"] == columns["quantity"][0]
    for (ax,), (label, inst) in zip(axes, insts):
        hours, xlabel = _elapsed(columns["book_ts_ms"][inst])
        for k, side in enumerate(dict.fromkeys(columns["side"])):
            sel = (first_qty & (columns["side"] == side))[inst]
            book_side = "asks" if side == "buy" else "bids"
            for band, style in (("10", "o-"), ("50", "s--")):
                x, y = binned(hours[sel], columns[f"depth_{band}bps_usd"][inst][sel], 50)
                ax.plot(x, y, style, color=f"C{k}", markersize=3, label=f"{book_side} within {band} bps")
        ax.set(title=label, xlabel=xlabel, ylabel="median depth (USD)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def _fillable(columns: dict[str, np.ndarray]) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.6))
    labels, p50, p10 = [], [], []
    first_qty = columns["quantity"] == columns["quantity"][0]
    keys = dict.fromkeys(zip(columns["venue"], columns["symbol"], columns["side"]))
    for venue, symbol, side in keys:
        sel = first_qty & (columns["venue"] == venue) & (columns["symbol"] == symbol) & (columns["side"] == side)
        size = columns["fillable_10bps_usd"][sel]
        labels.append(f"{venue}\n{symbol}\n{side}")
        p50.append(np.percentile(size, 50))
        p10.append(np.percentile(size, 10))
    x = np.arange(len(labels))
    ax.bar(x - 0.2, p50, 0.4, label="median")
    ax.bar(x + 0.2, p10, 0.4, label="10th percentile")
    ax.set(xticks=x, xticklabels=labels, ylabel="USD fillable within 10 bps")
    ax.tick_params(axis="x", labelsize=7)
    ax.legend(fontsize=7)
    return _png(fig)


def _calibration(columns: dict[str, np.ndarray]) -> str:
    """Coverage of q50/q90/q95 (share of realised labels at or below them) and the predicted
    mean against the realised label (means over deciles of the prediction), per side."""
    import matplotlib.pyplot as plt

    fig, (cov, scatter) = plt.subplots(1, 2, figsize=(12, 3.8))
    label = columns["label_bps"]
    sides = list(dict.fromkeys(columns["side"]))
    for k, side in enumerate(sides):
        sel = (columns["side"] == side) & np.isfinite(label)
        shares = [float(np.mean(label[sel] <= columns[f"predicted_q{q}_bps"][sel])) for q in (50, 90, 95)]
        cov.bar(np.arange(3) + (k - 0.5) * 0.35, shares, 0.35, color=f"C{k}", label=f"{side} ({sel.sum()} labels)")
        pred, real = columns["predicted_mean_bps"][sel], label[sel]
        edges = np.unique(np.percentile(pred, np.linspace(0, 100, 11)))
        which = np.clip(np.digitize(pred, edges) - 1, 0, max(len(edges) - 2, 0))
        xs = [pred[which == b].mean() for b in np.unique(which)]
        ys = [real[which == b].mean() for b in np.unique(which)]
        scatter.plot(xs, ys, "o-", color=f"C{k}", label=side)
    cov.plot([-0.5, 0.5, 1.5, 2.5], [0.5, 0.5, 0.9, 0.95], drawstyle="steps-mid", color="k", label="nominal")
    cov.set(xticks=range(3), xticklabels=["q50", "q90", "q95"], ylim=(0, 1), ylabel="share of labels at or below")
    cov.legend(fontsize=7)
    lo, hi = scatter.get_xlim()
    scatter.plot([lo, hi], [lo, hi], "k:", label="predicted = realised")
    scatter.set(xlabel="predicted mean slippage (bps)", ylabel="realised label (bps), mean per decile")
    scatter.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)
