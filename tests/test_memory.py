"""Giving LLVM's code pages back after warm-up (core.memory): only read-only mappings, and
the resident set really shrinks where the kernel supports MADV_PAGEOUT."""
from __future__ import annotations

import gc
import sys

import pytest

from core import memory
from core.feed.headless import warm_up

MAPS = """\
7f00000000-7f00001000 r--p 00000000 fd:01 123 /venv/llvmlite/binding/libllvmlite.so
7f00001000-7f00005000 r-xp 00001000 fd:01 123 /venv/llvmlite/binding/libllvmlite.so
7f00005000-7f00006000 rw-p 00005000 fd:01 123 /venv/llvmlite/binding/libllvmlite.so
7f00006000-7f00007000 r-xp 00000000 fd:01 456 /usr/lib/libc.so.6
7f00008000-7f00009000 rw-p 00000000 00:00 0
"""


def test_only_read_only_mappings_of_the_named_library_are_chosen():
    assert memory.read_only_mappings(("libllvmlite",), MAPS) == [(0x7F00000000, 0x1000), (0x7F00001000, 0x4000)]
    assert memory.read_only_mappings(("nothing",), MAPS) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="MADV_PAGEOUT is Linux-only")
def test_release_shrinks_the_resident_llvm_pages_and_kernels_still_run():
    warm_up("goquant")  # kernels loaded: LLVM's code is resident
    assert memory.resident_mb() > 5.0
    before = memory.resident_mb(field="Private_Clean")  # what pageout may take: pages only we map
    if before < 5.0:
        pytest.skip("LLVM's pages are shared with another Python process: the kernel keeps them")
    if memory.release_compiler_pages() == 0:
        pytest.skip("kernel without MADV_PAGEOUT")
    assert memory.resident_mb(field="Private_Clean") < before / 2
    warm_up("goquant")  # cached kernels need no compiler: they still run
    gc.unfreeze()  # warm_up freezes for the app's sake
