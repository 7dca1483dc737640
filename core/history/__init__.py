"""History at scale: ``slipscope analyze`` prices recorded books with the live Engine.

- ``inputs``: what a file is (a slipscope recording, a Tardis.dev book snapshot CSV) and its books;
- ``partition``: files cut into chunks that each start from a full book;
- ``evaluate``: one chunk through the Engine, one row per (time, side, quantity);
- ``execute``: the chunks on Dask (a local process pool, or a ``dask.distributed`` scheduler);
- ``outputs``: ``costs.parquet``, ``summary.csv``, ``run.json`` and ``report.html``.
"""
