"""OKX v5 public order books (``books`` and its siblings): one adapter, everything OKX-specific.

- ``protocol``: frame parsing (a Numba scanner for pushes, orjson for the rest), the CRC32
  checksum, and :class:`~core.venues.okx.protocol.OkxBookSync` (the seqId chain);
- ``feed``: the engine side (:class:`~core.venues.okx.feed.OkxFeed`);
- ``session``: subscribe / resync / ping texts and cheap tests on a frame's head;
- ``encoder``: the embedded server's rendering of the synthetic market.

Example frames, as OKX sends them::

    {"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT-SWAP"},"connId":"a4d3ae55"}
    {"arg":{"channel":"books","instId":"BTC-USDT-SWAP"},"action":"snapshot","data":[{
      "asks":[["8476.98","415","0","13"]],"bids":[["8476.5","256","0","12"]],
      "ts":"1597026383085","checksum":-855196043,"prevSeqId":-1,"seqId":123}]}
    {"arg":{"channel":"books","instId":"BTC-USDT-SWAP"},"action":"update","data":[{
      "asks":[["8476.98","0","0","0"]],"bids":[],"ts":"1597026383185","checksum":0,
      "prevSeqId":123,"seqId":124}]}
    pong

Sizes count contracts (``ctVal`` of the instrument). The live ``books`` channel sends
``checksum: 0``: the CRC32 is verified only when non-zero.

Importing this package is light (``session`` and ``encoder``: no Numba): ``session.make_feed``
imports the compiled decoder when an Engine asks for a feed, so listing venues compiles nothing.
"""
from __future__ import annotations

from core.venues.base import venue_from
from core.venues.okx import session
from core.venues.okx.encoder import OkxEncoder

VENUE = venue_from(
    session, name="okx", label="OKX", default_url=session.PUBLIC_URL, url_marker="/ws/v5/", size_unit="contracts",
    resync=session.resubscribe, symbol_of=session.inst_id, app_ping=(session.PING_S, "ping"), pong="pong",
    channels=session.BOOK_CHANNELS, encoder=OkxEncoder,
)
