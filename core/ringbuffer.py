"""Bounded series of float rows in one preallocated NumPy array: the window's plots and
headless's ``timeseries.csv`` both keep theirs here, so memory never grows however long a run.

Mirrored (the default, for the plots): the 2N ring buffer trick (Friture's ``ringbuffer.py``).
Each row is written twice, at ``i`` and ``i + N``, so the newest ``n`` rows are always one
contiguous NumPy slice: a plot can take a view of the last window without copying or
re-ordering. Unmirrored (``mirror=False``, for a series only read at export time): each row is
written once, half the bytes for the same rows, and :meth:`rows` copies them out in order.
The whole array is allocated and filled at construction, so its bytes are resident from the
start and stay fixed (:attr:`nbytes`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

FLOAT_BYTES = 8  # one float64 value


class RingBuffer:
    """``capacity`` rows of ``columns`` float64 values; the newest rows kept, the oldest dropped."""

    def __init__(self, capacity: int, columns: int, *, mirror: bool = True) -> None:
        if capacity <= 0 or columns <= 0:
            raise ValueError("capacity and columns must be positive")
        self.capacity = capacity
        self.mirror = mirror
        self._copies = 2 if mirror else 1
        self._data = np.full((self._copies * capacity, columns), np.nan)
        self._next = 0  # where the next row goes, in [0, capacity)
        self._count = 0  # rows held, at most capacity
        self.total = 0  # rows ever appended

    @classmethod
    def within(cls, max_bytes: int, columns: int, *, mirror: bool = True) -> "RingBuffer":
        """As many rows as fit in ``max_bytes`` (the array's own bytes, mirror included)."""
        per_row = columns * FLOAT_BYTES * (2 if mirror else 1)
        if max_bytes < per_row:
            raise ValueError(f"{max_bytes} bytes hold no row of {columns} columns")
        return cls(max_bytes // per_row, columns, mirror=mirror)

    @property
    def nbytes(self) -> int:
        """Bytes of the preallocated array: all the memory the rows ever take."""
        return self._data.nbytes

    def __len__(self) -> int:
        return self._count

    def _write(self, i: int, row) -> None:
        self._data[i] = row
        if self.mirror:
            self._data[i + self.capacity] = row

    def append(self, row) -> None:
        i = self._next
        self._write(i, row)
        self._next = (i + 1) % self.capacity
        self._count = min(self._count + 1, self.capacity)
        self.total += 1

    def replace_last(self, row) -> None:
        """Overwrite the newest row (aggregating several samples into one bucket)."""
        if not self._count:
            self.append(row)
            return
        self._write((self._next - 1) % self.capacity, row)

    def set_value(self, row_id: int, column: int | Sequence[int], value) -> bool:
        """Write one value (or, with a list of columns, one per column) of the row appended
        as number ``row_id`` (counting from 0 with ``total``); False when that row has left
        the buffer (or never entered it)."""
        back = self.total - 1 - row_id
        if not 0 <= back < self._count:
            return False
        i = (self._next - 1 - back) % self.capacity
        self._data[i, column] = value
        if self.mirror:
            self._data[i + self.capacity, column] = value
        return True

    def last(self) -> np.ndarray:
        """The newest row (a view); NaNs when empty."""
        return self._data[(self._next - 1) % self.capacity]

    def view(self, n: int | None = None) -> np.ndarray:
        """The newest ``n`` rows (all by default), oldest first, as a read-only view (mirrored
        buffers only: unmirrored rows wrap around, see :meth:`rows`)."""
        if not self.mirror:
            raise TypeError("an unmirrored ring buffer has no contiguous view; use rows()")
        n = self._count if n is None else min(n, self._count)
        end = self._next + self.capacity
        out = self._data[end - n:end]
        out.flags.writeable = False
        return out

    def rows(self) -> np.ndarray:
        """Every row held, oldest first, as a new array (either kind of buffer)."""
        if self.mirror:
            return self.view().copy()
        start = (self._next - self._count) % self.capacity
        if start + self._count <= self.capacity:
            return self._data[start:start + self._count].copy()
        return np.concatenate((self._data[start:], self._data[:self._next]))

    def clear(self) -> None:
        self._data.fill(np.nan)
        self._next = self._count = 0
