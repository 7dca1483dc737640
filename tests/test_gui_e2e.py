"""End to end: the real window against the embedded websocket server on 127.0.0.1.

In-process tests drive the window with qtbot while the qasync loop runs the real FeedClient;
subprocess tests run ``slipscope gui`` as a user would and check how it exits.
"""
from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time

import orjson
import pytest

from app.gui.feed_source import FeedChoice, WebsocketFeed
from tests.gui_support import qloop, settings_file  # noqa: F401 (fixtures)
from tests.test_gui_window import Running, close, open_window  # noqa: F401
from widgets.format import usd

pytestmark = pytest.mark.gui


def open_live(qtbot, loop, settings_path, tmp_path, choice: FeedChoice) -> Running:
    return open_window(qtbot, loop, settings_path, tmp_path,
                       factory=lambda inst_id: WebsocketFeed(choice, inst_id))


def feed_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("slipscope")]


def test_window_on_the_embedded_server_end_to_end(qtbot, qloop, settings_file, tmp_path):  # noqa: F811
    r = open_live(qtbot, qloop, settings_file, tmp_path, FeedChoice(rate=50.0))
    w = r.window
    try:
        # live data over the socket, and the window says it is synthetic
        qtbot.waitUntil(lambda: w.latest is not None and w.latest.feed.get("state") == "live"
                        and w.frames_drawn > 5, timeout=30_000)
        snap = w.latest
        assert snap.feed["synthetic"] is True and "synthetic" in snap.feed["source"]
        assert snap.feed["url"].startswith("ws://127.0.0.1:")
        assert snap.counters["applied"] > 0 and snap.estimate is not None
        qtbot.waitUntil(lambda: "SYNTHETIC" in w.badge.text(), timeout=3000)
        assert "SYNTHETIC" in w.source_label.text() and "embedded" in w.source_label.text()

        # the quantity moves: priced on the newest book and drawn within one frame
        w.inputs.set_quantity(3_000_000.0)
        qtbot.waitUntil(lambda: w.latest.params.quantity == 3_000_000.0, timeout=3000)
        frames = w.frames_drawn
        qtbot.waitUntil(lambda: w.cost.marker_x == 3_000_000.0, timeout=1000)
        assert w.frames_drawn <= frames + 1
        assert w.cost.mark.x == pytest.approx(math.log10(3_000_000.0))
        assert w.outputs.cells("notional")[0].text() == usd(w._drawn.fill.filled_usd)

        # freeze: the view holds while data keeps coming; go live: it catches up
        w.freeze_action.trigger()
        qtbot.wait(50)
        held = w._drawn
        received = w.latest.counters["received"]
        qtbot.waitUntil(lambda: w.latest.counters["received"] > received + 5, timeout=5000)
        assert w._drawn is held
        w.live_action.trigger()
        qtbot.waitUntil(lambda: w._drawn is not held, timeout=2000)

        # export: every file, with this snapshot's content
        w.freeze_action.trigger()
        qtbot.wait(50)
        shown = w._drawn
        assert w.export_snapshot()
        qtbot.waitUntil(lambda: w.last_export is not None or bool(w.last_export_error), timeout=15_000)
        folder = w.last_export
        assert folder is not None, w.last_export_error
        doc = orjson.loads((folder / "snapshot.json").read_bytes())
        assert doc["inputs"]["quantity"] == 3_000_000.0
        assert doc["feed"]["url"] == shown.feed["url"] and doc["seq"] == shown.seq
        assert (folder / "window.png").stat().st_size > 10_000
        assert {p.name for p in folder.iterdir()} >= {"book.csv", "cost_curve.csv", "timeseries.csv"}
    finally:
        close(qtbot, r)
    # closed in order; nothing of ours is left running
    qtbot.waitUntil(lambda: not feed_threads(), timeout=10_000)
    assert r.feeds[-1].client.state == "stopped"


def test_window_on_the_okx_protocol_verifies_checksums(qtbot, qloop, settings_file, tmp_path):  # noqa: F811
    r = open_live(qtbot, qloop, settings_file, tmp_path, FeedChoice(feed="okx", rate=50.0))
    try:
        qtbot.waitUntil(lambda: r.window.latest is not None
                        and r.window.latest.counters["checksums_verified"] > 10, timeout=30_000)
        snap = r.window.latest
        assert snap.feed["url"].endswith("/ws/v5/public") and snap.counters["rejected"] == 0
    finally:
        close(qtbot, r)


# --- as a user runs it -------------------------------------------------------------------------
def slipscope(args: list[str], settings, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SLIPSCOPE_SETTINGS=str(settings))
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, **kw)


def test_gui_paints_live_for_seconds_and_exits_0(tmp_path):
    # a few seconds of live repaint at 50 updates/s: a Qt/PySide build that crashes while
    # painting pyqtgraph (as 6.12.0 did) fails here, and so does a teardown crash
    out = slipscope(["gui", "--rate", "50", "--quit-after", "4"], tmp_path / "s.ini")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Traceback" not in out.stderr and "Fatal" not in out.stderr
    assert "did not stop" not in out.stderr  # the worker and the server stopped in time
    assert (tmp_path / "s.ini").exists()  # settings were saved on close


def _sigterm_gui(tmp_path, ready) -> tuple[int, str]:
    """``slipscope gui`` in a subprocess, sent SIGTERM once ``ready(proc)`` is true; its exit
    status and stderr."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SLIPSCOPE_SETTINGS=str(tmp_path / "s.ini"))
    proc = subprocess.Popen([sys.executable, "-m", "app", "gui", "--rate", "20"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not ready(proc) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.005)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err


def test_gui_closes_cleanly_on_sigterm(tmp_path):
    started = time.monotonic()
    code, err = _sigterm_gui(tmp_path, lambda _proc: time.monotonic() - started >= 4.0)
    assert code == 0, err[-2000:]
    assert "Traceback" not in err


def _catches_sigterm(pid: int) -> bool:
    """The process has a handler for SIGTERM (Linux: bit 15 - 1 of SigCgt in /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as f:
        mask = next(int(line.split()[1], 16) for line in f if line.startswith("SigCgt:"))
    return bool(mask >> (signal.SIGTERM - 1) & 1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_during_start_up_still_closes_in_order(tmp_path):
    """A SIGTERM as soon as the command line runs (before Qt, the window and the kernels are
    up) is remembered and honoured once the window exists: exit 0, not death by signal."""
    code, err = _sigterm_gui(tmp_path, lambda proc: _catches_sigterm(proc.pid))
    assert code == 0, err[-2000:]
    assert "Traceback" not in err


@pytest.mark.parametrize("args", [["gui", "--symbol", "NOPE-USDT"], ["gui", "--url", "http://example.com"],
                                  ["gui", "--rate", "-1"], ["bench-gui", "--rates", "a,b"]])
def test_bad_gui_arguments_are_one_line(tmp_path, args):
    out = slipscope(args, tmp_path / "s.ini", timeout=60)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0], out.stderr


def test_unreachable_feed_says_so_and_closes_cleanly(qtbot, qloop, settings_file, tmp_path):  # noqa: F811
    import socket
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    choice = FeedChoice(url=f"ws://127.0.0.1:{port}/ws/l2-orderbook/okx/BTC-USDT-SWAP")
    r = open_live(qtbot, qloop, settings_file, tmp_path, choice)
    w = r.window
    try:
        qtbot.waitUntil(lambda: w.status is not None and w.status.state == "reconnecting", timeout=15_000)
        assert w.latest is None and "RECONNECTING" in w.badge.text()
        assert w.badge.property("role") == "warn" and "SYNTHETIC" not in w.badge.text()
        assert not w.export_snapshot() and "Nothing to export" in w.message_label.text()
    finally:
        close(qtbot, r)
    assert r.feeds[-1].client.state == "stopped"


def test_gui_benchmark_reports_frames_latency_cpu_and_memory(tmp_path):
    """A short bench-gui run through the real window and embedded server: its JSON figures."""
    out = slipscope(["bench-gui", "--rates", "100", "--seconds", "2", "--json"], tmp_path / "s.ini", timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    result = orjson.loads(out.stdout.strip().splitlines()[-1])
    run = result["runs"][0]
    assert run["rate"] == 100 and run["frames_drawn"] > 20 and run["messages_per_s"] > 50
    assert 0 < run["frame_latency_ms"]["p50"] <= run["frame_latency_ms"]["p99"] < 1000
    assert run["cpu_pct_one_core"] > 0 and "MainThread" in run["cpu_pct_by_thread"]
    assert 50 < run["rss_max_after_warmup_mb"] <= run["peak_rss_mb"]
    assert set(result["verdict"]) == {"fps_60_at_100", "cpu_under_15pct_at_100", "frame_p99_under_17ms",
                                      "rss_under_250mb"}
