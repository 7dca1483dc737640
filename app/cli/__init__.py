"""The command line: one module per subcommand, shared argument helpers in ``args``.

``main`` here is the ``slipscope`` entry point (``app.cli:main``, as before the split): it
imports ``app.cli.main`` when called, so importing ``app.cli.args`` stays light and circle-free.
"""
from __future__ import annotations

from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from app.cli.main import main as run

    return run(argv)
