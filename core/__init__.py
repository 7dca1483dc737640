"""slipscope core: pure numeric code (no Qt). Decoders, order book, Numba kernels, models, feeds."""
