"""The GUI benchmark: the real window, offscreen, fed at a fixed rate for a fixed time.

Each rate runs in a fresh subprocess (so memory figures are that run's own) through the real
code path: feed -> pipeline -> worker thread -> queued signal -> frame timer -> paint. It
reports frames painted per second, receive -> frame latency (message receipt to the depth
chart's paint finishing) p50/p99, CPU of the whole process as % of one core (and per thread),
RSS after warm-up (its maximum, sampled each second, and its growth) and the start-up peak.

``venues``: the app as ``gui --venues`` opens it (the same start-up: ``GuiOptions.venues``), the
three default venues each on its own embedded server at the same rate beside the single-venue
feed, the Venues tab in front; it adds the Venues view's frames per second (venues snapshots
drawn), its cost curves' paints per second, venues snapshot priced -> the frame's curves painted
p50/p99, and venues snapshots received per second. The book figures (fps, receive -> frame) read
nothing then: the depth chart is behind the Venues tab.
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import orjson

GOALS = {"fps_at_100": 60.0, "frame_p99_ms": 17.0, "cpu_pct_at_100": 15.0, "rss_mb": 250.0}


def rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MB, from /proc (Linux)."""
    cur = peak = float("nan")
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return cur, peak


def thread_cpu_s() -> dict[str, float]:
    """CPU seconds per thread, named by Python thread name where known (Linux /proc)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    try:
        for task in Path("/proc/self/task").iterdir():
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / tick
            name = names.get(int(task.name)) or (task / "comm").read_text().strip()
            out[name] = out.get(name, 0.0) + cpu
    except OSError:
        pass
    return out


def measure_one(rate: float, seconds: float, warmup_s: float, source_factory: Callable[[str], Any],
                opengl: bool = False, venues: bool = False) -> dict[str, Any]:
    """Run the window at ``rate`` updates/s for ``warmup_s + seconds``; the figures of the last part."""
    from PySide6.QtCore import QTimer

    from app.gui import settings as store
    from app.gui.startup import GuiOptions, close_app, open_app, run_loop, serve_window

    tmp = tempfile.TemporaryDirectory(prefix="slipscope-bench-")
    settings = store.open_settings(Path(tmp.name) / "bench.ini")
    store.save_params(settings, store.DEFAULT_PARAMS)
    # the app's own start-up (process settings, theme, pyqtgraph options, GUI-thread collector)
    specs = None
    if venues:
        from app.gui.venues import default_venues
        specs = default_venues()
    opened = open_app(GuiOptions(opengl=opengl, rate=rate, venues=specs), source_factory, settings)
    app, window = opened.app, opened.window
    use_gl, available = opened.use_gl, opened.opengl
    gl_note = available[1] if opengl else "off"
    window.resize(1600, 1000)
    marks: dict[str, Any] = {}
    rss_samples: list[float] = []

    def mark(name: str) -> None:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        marks[name] = {"t": time.perf_counter(), "cpu": ru.ru_utime + ru.ru_stime,
                       "paints": window.depth.paints, "frames": len(window.history.frame_us),
                       "frame_total": window.history.frame_us.total, "threads": thread_cpu_s(),
                       "snapshots": window.history.snapshots,
                       "received": (window.latest.counters.get("received", 0) if window.latest else 0),
                       "venues_paints": window.venues_view.curves_plot.paints,
                       "venues_frames": window.venues_frames,
                       "venues_received": window.venues_received}
        if name == "start":
            window.venues_frame_ms.clear()  # the measured part's own

    def sample_rss() -> None:
        rss_samples.append(rss_mb()[0])

    def measure() -> None:
        sampler = QTimer(window)
        sampler.timeout.connect(sample_rss)
        QTimer.singleShot(int(warmup_s * 1000), lambda: (mark("start"), sampler.start(1000)))
        QTimer.singleShot(int((warmup_s + seconds) * 1000), lambda: (mark("end"), sampler.stop(), window.close()))

    # as the app runs (gc.freeze, compiler pages released when warm), shown at the bench's size
    run_loop(app, serve_window(opened, show=window.show, started=measure))
    close_app(opened)
    s, e = marks["start"], marks["end"]
    wall = e["t"] - s["t"]
    n_new = e["frame_total"] - s["frame_total"]
    frame_ms = window.history.frame_us.view()[-n_new:, 0] / 1000.0 if n_new > 0 else np.zeros(0)
    n_est = 0
    est_us = window.history.estimate_us.view()[:, 0]
    threads = {k: round(100.0 * (e["threads"].get(k, 0.0) - s["threads"].get(k, 0.0)) / wall, 1)
               for k in e["threads"]}
    cur, peak = rss_mb()
    after_warm = rss_samples[1:] if len(rss_samples) > 2 else rss_samples
    result = {
        "rate": rate, "seconds": round(wall, 2), "opengl": use_gl, "opengl_note": gl_note,
        "platform": app.platformName(),
        "fps": round((e["paints"] - s["paints"]) / wall, 1),
        "frames_drawn": e["paints"] - s["paints"],
        "snapshots_per_s": round((e["snapshots"] - s["snapshots"]) / wall, 1),
        "messages_per_s": round((e["received"] - s["received"]) / wall, 1),
        "frame_latency_ms": _pcts(frame_ms),
        "estimate_latency_us": _pcts(est_us[-4096:]) if est_us.size else {},
        "cpu_pct_one_core": round(100.0 * (e["cpu"] - s["cpu"]) / wall, 1),
        "cpu_pct_by_thread": {k: v for k, v in sorted(threads.items(), key=lambda kv: -kv[1]) if v >= 0.1},
        "rss_mb": round(cur, 1), "peak_rss_mb": round(peak, 1),
        "rss_max_after_warmup_mb": round(max(rss_samples), 1) if rss_samples else round(cur, 1),
        "rss_growth_mb": round(after_warm[-1] - after_warm[0], 1) if len(after_warm) >= 2 else 0.0,
        "rss_samples_mb": [round(v, 1) for v in rss_samples[:: max(1, len(rss_samples) // 20)]],
    }
    del n_est
    if venues:
        v_ms = np.asarray(window.venues_frame_ms, dtype=float)
        result["venues"] = {
            "venues": [spec.name for spec in specs],
            "fps": round((e["venues_frames"] - s["venues_frames"]) / wall, 1),
            "curve_paints_per_s": round((e["venues_paints"] - s["venues_paints"]) / wall, 1),
            "snapshots_per_s": round((e["venues_received"] - s["venues_received"]) / wall, 1),
            "priced_to_frame_ms": _pcts(v_ms)}
    tmp.cleanup()
    return result


def _pcts(a: np.ndarray) -> dict[str, float]:
    a = a[np.isfinite(a)]
    if not a.size:
        return {}
    p50, p90, p99 = np.percentile(a, (50, 90, 99))
    return {"p50": round(float(p50), 3), "p90": round(float(p90), 3), "p99": round(float(p99), 3),
            "max": round(float(a.max()), 3), "n": int(a.size)}


def run(rates: list[float], seconds: float, warmup_s: float = 3.0, opengl: bool = False,
        platform: str | None = None, progress: Callable[[str], None] | None = None,
        venues: bool = False) -> dict[str, Any]:
    """Each rate in its own subprocess (``slipscope bench-gui --one RATE``); the combined result."""
    runs = []
    for rate in rates:
        if progress:
            progress(f"GUI at {rate:g} updates/s{' (and three venues)' if venues else ''} for {seconds:g} s "
                     f"(+{warmup_s:g} s warm-up)…")
        cmd = [sys.executable, "-m", "app", "bench-gui", "--one", str(rate), "--seconds", str(seconds),
               "--warmup", str(warmup_s)] + (["--opengl"] if opengl else []) + (["--venues"] if venues else [])
        env = dict(os.environ)
        if platform:
            env["QT_QPA_PLATFORM"] = platform
        else:
            env.setdefault("QT_QPA_PLATFORM", "offscreen")
        out = subprocess.run(cmd, capture_output=True, text=True, env=env,
                             timeout=seconds + warmup_s + 120)
        if out.returncode != 0:
            raise RuntimeError(f"GUI bench at {rate:g}/s failed (exit {out.returncode}): "
                               f"{out.stderr.strip().splitlines()[-1:] or ''}")
        runs.append(orjson.loads(out.stdout.strip().splitlines()[-1]))
    return {"runs": runs, "goals": GOALS, "verdict": verdict(runs)}


def verdict(runs: list[dict[str, Any]]) -> dict[str, bool]:
    at100 = next((r for r in runs if r["rate"] == 100), None)
    out: dict[str, bool] = {}
    if at100:
        fps = at100["venues"]["fps"] if "venues" in at100 else at100["fps"]
        out["fps_60_at_100"] = fps >= 0.97 * GOALS["fps_at_100"]
        out["cpu_under_15pct_at_100"] = at100["cpu_pct_one_core"] < GOALS["cpu_pct_at_100"]
    # a venues run's frame is the Venues view's (the depth chart is behind its tab)
    out["frame_p99_under_17ms"] = all(
        (r["venues"]["priced_to_frame_ms"] if "venues" in r else r["frame_latency_ms"]).get("p99", 1e9)
        < GOALS["frame_p99_ms"] for r in runs)
    # the running app's footprint (sampled each second after warm-up); the start-up peak, while
    # the compiler's pages are still resident, is reported beside it as peak_rss_mb
    out["rss_under_250mb"] = all(r["rss_max_after_warmup_mb"] < GOALS["rss_mb"] for r in runs)
    return out


def format_table(result: dict[str, Any]) -> list[str]:
    lines = [f"{'updates/s':>10} {'fps':>6} {'frame p50':>10} {'frame p99':>10} {'CPU %':>6} "
             f"{'RSS':>7} {'peak RSS':>9} {'RSS growth':>10}"]
    for r in result["runs"]:
        fl = r["frame_latency_ms"]
        lines.append(f"{r['rate']:>10g} {r['fps']:>6.1f} {fl.get('p50', float('nan')):>8.2f}ms "
                     f"{fl.get('p99', float('nan')):>8.2f}ms {r['cpu_pct_one_core']:>6.1f} "
                     f"{r['rss_max_after_warmup_mb']:>5.0f}MB {r['peak_rss_mb']:>7.0f}MB "
                     f"{r['rss_growth_mb']:>+8.1f}MB")
        top = ", ".join(f"{k} {v:.1f}%" for k, v in list(r["cpu_pct_by_thread"].items())[:4])
        lines.append(f"{'':>10} threads: {top}")
        v = r.get("venues")
        if v:
            vl = v["priced_to_frame_ms"]
            lines.append(f"{'':>10} venues ({len(v['venues'])}, tab in front): {v['fps']:.1f} fps "
                         f"({v['curve_paints_per_s']:.1f} curve paints/s), "
                         f"{v['snapshots_per_s']:.1f} snapshots/s, priced -> frame p50 "
                         f"{vl.get('p50', float('nan')):.2f} ms, p99 {vl.get('p99', float('nan')):.2f} ms")
    lines.append("goals: " + ", ".join(f"{k} {'OK' if v else 'MISSED'}" for k, v in result["verdict"].items()))
    return lines
