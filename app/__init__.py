"""slipscope application layer: entry points, wiring, threads."""

__version__ = "0.1.0"
