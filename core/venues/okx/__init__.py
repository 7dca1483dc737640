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

from core.venues.base import Venue
from core.venues.okx import session
from core.venues.okx.encoder import OkxEncoder

VENUE = Venue(
    name="okx",
    default_url=session.PUBLIC_URL,
    default_rest_url=None,
    size_unit="contracts",
    make_feed=session.make_feed,
    stream_url=session.stream_url,
    subscribe=session.subscribe,
    resync=session.resubscribe,
    rest_snapshot_url=None,
    app_ping=(session.PING_S, "ping"),
    is_snapshot=session.is_snapshot,
    reconnect_every_s=None,
    encoder=OkxEncoder,
    label="OKX",
    channels=session.BOOK_CHANNELS,
    pong="pong",
    is_event=session.is_event,
    describe_event=session.describe_event,
    sniff=session.sniff,
    symbol_of=session.inst_id,
    url_marker="/ws/v5/",
)
