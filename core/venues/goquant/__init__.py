"""GoQuant's L2 proxy of OKX: one adapter. Every message is a whole top-of-book snapshot.

- ``decoder``: the Numba scanner straight into float arrays, with an exact reference path;
- ``feed``: the engine side (:class:`~core.venues.goquant.feed.GoQuantFeed`);
- ``session``: the URL (``/ws/l2-orderbook/okx/<SYMBOL>`` subscribes; nothing is sent);
- ``encoder``: the embedded server's rendering of the synthetic market.

Example frame::

    {"timestamp":"2025-05-04T10:39:13Z","exchange":"OKX","symbol":"BTC-USDT-SWAP",
     "asks":[["95445.5","9.06"],["95448","2.05"]],"bids":[["95445.4","1104.23"],["95445.3","0.02"]]}

No sequence, no checksum: a missed message only makes the book older, and the next one is whole.
Importing this package is light (no Numba): ``session.make_feed`` imports the decoder on use.
"""
from __future__ import annotations

from core.venues.base import venue_from
from core.venues.goquant import session
from core.venues.goquant.encoder import GoQuantEncoder

VENUE = venue_from(session, name="goquant", label="GoQuant", default_url=session.PUBLIC_URL, size_unit="contracts",
                   full_snapshots=True, encoder=GoQuantEncoder)
