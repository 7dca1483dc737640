"""The command line: help lists subcommands, bad arguments are one clear line, bench JSON."""
from __future__ import annotations

import os
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


def test_gui_without_a_display_says_so_in_one_line_instead_of_qt_aborting():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    out = subprocess.run([sys.executable, "-m", "app"], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 1  # not 134 (Qt's abort)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "no display" in lines[0] and "headless" in lines[0]


def test_display_problem_names_the_missing_x11_library():
    from app.gui.startup import display_problem

    x11 = {"DISPLAY": ":0"}
    assert display_problem(x11, find_library=lambda name: None).startswith("Qt's X11 plugin needs libxcb-cursor0")
    assert display_problem(x11, find_library=lambda name: f"lib{name}.so.0") is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}) is None


@pytest.mark.parametrize("args", [
    ["gui", "--rate", "inf"], ["gui", "--quit-after", "nan"], ["bench-gui", "--seconds", "inf"],
    ["headless", "--quantity", "inf", "--duration", "1"], ["serve", "--rate", "nan"],
    ["bench-gui", "--rates", "100,inf"], ["analyze", "x.jsonl", "--quantities", "1e4,nan"],
])
def test_every_subcommand_refuses_inf_and_nan_as_a_positive_number(args):
    """One shared helper (app.cli.args.positive_float, and positive_floats for lists): formerly
    `gui` took --rate inf, and `bench-gui` took --rates 100,inf."""
    out = slipscope(*args)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "must be a positive number" in lines[0]
