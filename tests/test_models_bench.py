"""`slipscope bench` measures the pipeline with the cost models, and without for comparison."""
from __future__ import annotations

import orjson

from tests.test_cli import slipscope


def test_bench_includes_models_by_default_and_reports_both():
    out = slipscope("bench", "--json", "--messages", "200", timeout=300)
    assert out.returncode == 0, out.stderr
    result = orjson.loads(out.stdout.strip().splitlines()[-1])
    assert result["models"] is True
    for key in ("goquant_400", "okx_delta", "goquant_400_no_models", "okx_delta_no_models"):
        assert result[key]["messages"] == 200 and result[key]["p50_us"] > 0
    assert set(result["models_overhead_p50_us"]) == {"goquant_400", "okx_delta"}
    assert result["speedup_no_models"] >= result["speedup"]  # the baseline has no models
    assert "cost models add" in out.stderr


def test_bench_without_models():
    out = slipscope("bench", "--json", "--messages", "100", "--no-models", timeout=300)
    assert out.returncode == 0, out.stderr
    result = orjson.loads(out.stdout.strip().splitlines()[-1])
    assert result["models"] is False and "goquant_400_no_models" not in result


def test_bench_reports_the_split_over_three_400_level_books():
    out = slipscope("bench", "--json", "--messages", "100", "--no-models", timeout=300)
    assert out.returncode == 0, out.stderr
    split = orjson.loads(out.stdout.strip().splitlines()[-1])["split_3x400"]
    for usd in ("1e+06", "1e+08"):
        for key in ("core_kernel", "best_execution"):
            r = split[f"{key}_{usd}_usd"]
            assert 0 < r["p50_us"] <= r["p99_us"] and r["calls"] == 100
    assert split["levels_taken_1e+08_usd"] > 100 > split["levels_taken_1e+06_usd"]
    assert "split over three 400-level books" in out.stderr
