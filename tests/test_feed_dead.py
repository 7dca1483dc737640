"""A dead feed is not opaque (issue 10, item 9): a real refused port, the client counting every
attempt and saying when it tries next, in headless's output and in the window."""
from __future__ import annotations

import asyncio
import socket
import time

import pytest

from core.feed.client import ClientConfig, FeedClient
from core.feed.pipeline import FeedStatus, retry_note
from tests.feed_support import SYMBOL, no_thread_leaks, run_async  # noqa: F401 (fixture)
from tests.gui_support import qloop, settings_file  # noqa: F401 (fixtures)
from tests.test_headless import last_json, slipscope

QUICK = ClientConfig(backoff_initial_s=0.1, backoff_max_s=0.4, jitter=0.0, open_timeout_s=2.0)


def refused_url() -> str:
    """A loopback port that was just bound and closed again: connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"ws://127.0.0.1:{port}/ws/l2-orderbook/okx/{SYMBOL}"


def test_every_refused_attempt_is_counted_and_the_next_try_is_published():
    statuses: list[tuple[float, FeedStatus]] = []

    async def main() -> FeedClient:
        client = FeedClient(refused_url(), lambda raw, ns: None, lambda st: statuses.append((time.monotonic(), st)),
                            config=QUICK)
        client.start()
        await asyncio.sleep(1.6)
        waiting = client.status()
        await client.stop()
        return client, waiting

    client, waiting = run_async(main)
    c = client.counters()
    assert c["connect_attempts"] >= 5 and c["received"] == 0 and c["connects"] == 0
    assert c["failed_connects"] in (c["connect_attempts"], c["connect_attempts"] - 1)  # the last may be cut by stop
    assert c["reconnects"] == c["connect_attempts"] - 1
    # after each failure a status goes out at once (the state stays "reconnecting"), carrying
    # the failed attempt's number and when the next begins: 0.1, 0.2, 0.4, 0.4 s later (no jitter)
    waits = [(st.attempt, st.retry_at - at) for at, st in statuses if st.retry_at is not None]
    assert [a for a, _ in waits] == list(range(1, len(waits) + 1)) and len(waits) >= 4
    assert [round(w, 1) for _, w in waits[:4]] == [0.1, 0.2, 0.4, 0.4]
    assert [st.counters["reconnects"] for _, st in statuses if st.retry_at is not None][:4] == [0, 1, 2, 3]
    assert "ConnectionRefusedError" in statuses[-1][1].detail or "refused" in statuses[-1][1].detail.lower()
    # the status between attempts says how long is left; a stopped client waits for nothing
    assert waiting.retry_at is None or 0.0 <= waiting.retry_in() <= 0.4
    assert client.status().retry_at is None and client.state == "stopped"


def test_retry_note_words():
    now = 50.0
    assert retry_note({"state": "reconnecting", "attempt": 7, "retry_at": 53.2}, now) == \
        "attempt 7 failed · next try in 3.2 s"
    assert retry_note({"state": "reconnecting", "attempt": 8, "retry_at": None}, now) == "attempt 8"
    assert retry_note({"state": "connecting", "attempt": 1, "retry_at": None}, now) == ""
    assert retry_note({"state": "live", "attempt": 0, "retry_at": None}, now) == ""
    assert retry_note(FeedStatus().as_dict(), now) == ""


def test_headless_reports_attempts_and_the_countdown_on_a_refused_port():
    out = slipscope("headless", "--url", refused_url(), "--duration", "3", "--quantity", "100")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    c = last_json(out)["feed"]["counters"]
    assert c["connect_attempts"] >= 3 and c["failed_connects"] >= c["connect_attempts"] - 1
    assert c["reconnects"] == c["connect_attempts"] - 1 and c["attempt"] >= 3
    progress = [line for line in out.stderr.splitlines() if line.startswith("[")]
    assert any("failed, next try in" in line for line in progress), out.stderr


@pytest.mark.gui
def test_window_shows_attempts_and_next_try_of_a_dead_feed(qtbot, qloop, settings_file, tmp_path):  # noqa: F811
    from app.gui.feed_source import FeedChoice, WebsocketFeed
    from tests.test_gui_window import close, open_window

    url = refused_url()
    r = open_window(qtbot, qloop, settings_file, tmp_path,
                    factory=lambda inst_id: WebsocketFeed(FeedChoice(feed="goquant", url=url), inst_id))
    w = r.window
    try:
        qtbot.waitUntil(lambda: "attempt 3 failed · next try in" in w.badge.text(), timeout=20_000)
        assert w.badge.text().startswith("RECONNECTING") and w.badge.property("role") == "warn"
        qtbot.waitUntil(lambda: "next try in" in w.outputs.feed_state.text(), timeout=5_000)
        assert w.outputs.feed_state.text().startswith("RECONNECTING · attempt")
        assert "refused" in w.outputs.feed_state.text().lower() or "Errno" in w.outputs.feed_state.text()
        qtbot.waitUntil(lambda: int(w.outputs.cells("sync")[0].text().replace(",", "")) >= 3, timeout=10_000)
        assert w.latest is None  # nothing priced: no figure pretends to be live
    finally:
        close(qtbot, r)
