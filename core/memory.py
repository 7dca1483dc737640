"""Give back memory the process no longer needs once its kernels are loaded.

Numba loads the cached kernels through LLVM at start-up, which faults in 80-100 MB of
``libllvmlite.so``'s code: about a third of the desktop app's resident set. Those pages are
clean and file-backed, and after warm-up nothing runs them until a kernel must be compiled
anew, when they fault back in from the page cache. ``MADV_PAGEOUT`` (Linux >= 5.4) asks the
kernel to reclaim them now instead of under memory pressure. Dirty pages are left alone.
"""
from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

MADV_PAGEOUT = 21
LIBRARIES = ("libllvmlite",)


def read_only_mappings(names: tuple[str, ...] = LIBRARIES, maps: str | None = None) -> list[tuple[int, int]]:
    """(start, length) of every mapping of a file whose name contains one of ``names`` and that
    the process cannot write (code and read-only data: never a page the process changed)."""
    if maps is None:
        try:
            maps = Path("/proc/self/maps").read_text()
        except OSError:
            return []
    out = []
    for line in maps.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) < 6 or "w" in fields[1]:
            continue
        if any(name in os.path.basename(fields[5]) for name in names):
            start, end = (int(v, 16) for v in fields[0].split("-"))
            out.append((start, end - start))
    return out


def release_compiler_pages(names: tuple[str, ...] = LIBRARIES) -> int:
    """Advise the kernel to page out the named libraries' read-only mappings; the bytes advised
    (0 where the platform or kernel does not support it)."""
    if not sys.platform.startswith("linux"):
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    madvise = libc.madvise
    madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    madvise.restype = ctypes.c_int
    advised = 0
    for start, length in read_only_mappings(names):
        if madvise(start, length, MADV_PAGEOUT) == 0:
            advised += length
    return advised


def resident_mb(names: tuple[str, ...] = LIBRARIES, field: str = "Rss") -> float:
    """Resident MB of the named libraries' mappings (from /proc/self/smaps; NaN elsewhere).

    ``field`` picks another smaps counter: ``Private_Clean`` is what ``MADV_PAGEOUT`` can
    reclaim, since the kernel keeps a page that another process also maps."""
    try:
        text = Path("/proc/self/smaps").read_text()
    except OSError:
        return float("nan")
    total_kb, inside = 0, False
    for line in text.splitlines():
        first = line.split(maxsplit=1)[0]
        if "-" in first and not first.endswith(":"):
            inside = any(name in line for name in names)
        elif inside and first == f"{field}:":
            total_kb += int(line.split()[1])
    return total_kb / 1024
