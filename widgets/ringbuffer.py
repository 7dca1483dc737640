"""Bounded time series for the plots: the 2N ring buffer trick (Friture's ``ringbuffer.py``).

Each row is written twice, at ``i`` and ``i + N``, so the newest ``n`` rows are always one
contiguous NumPy slice: a plot can take a view of the last window without copying or
re-ordering, and memory never grows however long the app runs.
"""
from __future__ import annotations

import numpy as np


class RingBuffer:
    """``capacity`` rows of ``columns`` float64 values; the newest rows as a contiguous view."""

    def __init__(self, capacity: int, columns: int) -> None:
        if capacity <= 0 or columns <= 0:
            raise ValueError("capacity and columns must be positive")
        self.capacity = capacity
        self._data = np.full((2 * capacity, columns), np.nan)
        self._next = 0  # where the next row goes, in [0, capacity)
        self._count = 0  # rows held, at most capacity
        self.total = 0  # rows ever appended

    def __len__(self) -> int:
        return self._count

    def append(self, row) -> None:
        i = self._next
        self._data[i] = row
        self._data[i + self.capacity] = row
        self._next = (i + 1) % self.capacity
        self._count = min(self._count + 1, self.capacity)
        self.total += 1

    def replace_last(self, row) -> None:
        """Overwrite the newest row (aggregating several samples into one bucket)."""
        if not self._count:
            self.append(row)
            return
        i = (self._next - 1) % self.capacity
        self._data[i] = row
        self._data[i + self.capacity] = row

    def set_value(self, row_id: int, column: int, value: float) -> bool:
        """Write one value of the row appended as number ``row_id`` (counting from 0 with
        ``total``); False when that row has left the buffer (or never entered it)."""
        back = self.total - 1 - row_id
        if not 0 <= back < self._count:
            return False
        i = (self._next - 1 - back) % self.capacity
        self._data[i, column] = value
        self._data[i + self.capacity, column] = value
        return True

    def last(self) -> np.ndarray:
        """The newest row (a view); NaNs when empty."""
        return self._data[(self._next - 1) % self.capacity]

    def view(self, n: int | None = None) -> np.ndarray:
        """The newest ``n`` rows (all by default), oldest first, as a read-only view."""
        n = self._count if n is None else min(n, self._count)
        end = self._next + self.capacity
        out = self._data[end - n:end]
        out.flags.writeable = False
        return out

    def clear(self) -> None:
        self._data.fill(np.nan)
        self._next = self._count = 0
