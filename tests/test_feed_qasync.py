"""The feed client runs unchanged on qasync's Qt event loop (as in the GUI), not only asyncio's."""
from __future__ import annotations

import asyncio
import threading

import pytest

from core.sim.server import EmbeddedServer, SyntheticSource
from tests.feed_support import SYMBOL, Harness, no_thread_leaks, settle_on_server_book  # noqa: F401

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("no_thread_leaks")]


@pytest.mark.parametrize("feed", ["goquant", "okx"])
def test_client_streams_and_resyncs_under_qasync(qapp, feed):
    from app.gui.qt_loop import QtAsyncLoop
    srv = EmbeddedServer(SyntheticSource((SYMBOL,), rate=100))
    srv.start()
    loop = QtAsyncLoop(qapp)

    async def main():
        h = await Harness(srv.urls.for_feed(feed, SYMBOL), feed).start()
        try:
            async with asyncio.timeout(30):
                await h.wait_for(lambda: h.engine.applied >= 20, what="20 books")
                if feed == "okx":
                    srv.faults.gap()
                    await h.wait_for(lambda: h.client.resyncs == 1 and h.client.state == "live", what="resync")
                    # as the GUI's drain thread would: the request crosses threads as a Qt signal
                    worker = threading.Thread(target=h.client.request_resync_threadsafe)
                    worker.start()
                    worker.join()
                    await h.wait_for(lambda: h.client.resyncs == 2 and h.client.state == "live", what="2nd resync")
                await settle_on_server_book(h, srv)
        finally:
            await h.stop()
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert not left, left

    try:
        loop.run_until_complete(main())
        loop.run_until_complete(asyncio.sleep(0.05))  # deliver queued Qt events before closing
    finally:
        loop.close()
        asyncio.set_event_loop(None)
        srv.stop()


def test_call_soon_threadsafe_runs_callbacks_on_the_loop_thread(qapp):
    """qasync's own version runs them in the calling thread (a signal to a lambda) and starts
    Qt timers there: the occasional segfault. Ours always lands on the loop's thread."""
    import concurrent.futures

    from app.gui.qt_loop import QtAsyncLoop

    loop = QtAsyncLoop(qapp)
    main_thread = threading.get_ident()
    ran_on: list[int] = []

    async def main():
        done = asyncio.Event()

        def note():
            ran_on.append(threading.get_ident())
            if len(ran_on) == 400:
                done.set()

        def hammer():
            for _ in range(100):
                loop.call_soon_threadsafe(note)

        workers = [threading.Thread(target=hammer) for _ in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        async with asyncio.timeout(10):
            await done.wait()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:  # futures complete via the same path
            results = await asyncio.gather(*(loop.run_in_executor(pool, pow, 2, k) for k in range(50)))
        return results

    try:
        results = loop.run_until_complete(main())
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    assert set(ran_on) == {main_thread} and len(ran_on) == 400
    assert results == [2 ** k for k in range(50)]
