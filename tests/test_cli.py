"""The command line: help lists subcommands, bad arguments are one clear line, bench JSON."""
from __future__ import annotations

import subprocess
import sys

import orjson
import pytest


def slipscope(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_help_lists_subcommands():
    out = slipscope("--help")
    assert out.returncode == 0
    assert "bench" in out.stdout


@pytest.mark.parametrize("args", [["--frobnicate"], ["bench", "--messages", "-3"], ["nonsense"]])
def test_bad_argument_is_one_line_without_traceback(args):
    out = slipscope(*args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0]
    assert "Traceback" not in out.stderr


def test_bench_json_last_line():
    out = slipscope("bench", "--json", "--messages", "300", timeout=300)
    assert out.returncode == 0, out.stderr
    result = orjson.loads(out.stdout.strip().splitlines()[-1])
    for key in ("goquant_400", "okx_delta", "baseline_goquant_400"):
        assert set(result[key]) >= {"p50_us", "p99_us", "max_us", "msgs_per_s"}
        assert result[key]["p50_us"] > 0
    assert result["speedup"] == pytest.approx(
        result["baseline_goquant_400"]["p50_us"] / result["goquant_400"]["p50_us"], rel=0.02)
