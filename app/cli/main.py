"""The ``slipscope`` command: one subcommand per job, one-line errors, never a traceback.

Each subcommand lives in its own ``app/cli/<name>.py`` module exposing ``register(subparsers)``
(adds its parser and sets ``func``) so this file only lists them; the helpers they share
(number types, :class:`~app.cli.args.UsageError`) are in ``app.cli.args``. The subcommand
modules import the window and the core lazily, inside ``run``, so ``--help`` stays fast.
"""
from __future__ import annotations

import argparse
import sys
from typing import NoReturn, Sequence

from app import __version__
from app.cli import analyze, bench, bench_gui, gui, headless, record, serve
from app.cli.args import UsageError

SUBCOMMANDS = (gui, bench, bench_gui, serve, record, headless, analyze)
DEFAULT_SUBCOMMAND = "gui"  # `slipscope` with no argument opens the app


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line (no usage dump) and exits 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="slipscope",
        description="Live transaction-cost estimator for crypto order books.",
    )
    parser.add_argument("--version", action="version", version=f"slipscope {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for module in SUBCOMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if DEFAULT_SUBCOMMAND and (not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"))):
        argv = [DEFAULT_SUBCOMMAND, *argv]  # `slipscope --opengl` is `slipscope gui --opengl`
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        sys.stderr.write(f"slipscope {args.command}: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("slipscope: interrupted\n")
        return 130
