"""slipscope core: pure numeric code (no Qt). Decoders, order book, Numba kernels, models, feeds.

Numba's on-disk cache (``cache=True``) is invalidated per function by its own source file
only: a cached kernel that calls a kernel in another module keeps a stale copy of the callee
after that module changes (a ``git pull``, an edit). So the cache lives in a directory keyed
by a hash of every core source file: any change to core starts a fresh cache. A user's own
``NUMBA_CACHE_DIR`` is respected.
"""
from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path


def _configure_numba_cache() -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    here = Path(__file__).parent
    digest = hashlib.sha1()
    for path in sorted(here.rglob("*.py")):
        digest.update(path.relative_to(here).as_posix().encode())
        digest.update(path.read_bytes())
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "slipscope" / "numba"
    os.environ["NUMBA_CACHE_DIR"] = str(base / digest.hexdigest()[:16])
    # numba reads the variable once, on import: if it is already imported, tell it directly
    # too; if not, leave it unimported (``import core`` must not cost numba's ~0.4 s: the
    # command line's --help and the venue registry import core without compiling anything)
    config = sys.modules.get("numba.core.config")
    if config is not None:
        config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]


_configure_numba_cache()
