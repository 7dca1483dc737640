"""``slipscope headless`` as a user runs it (issue 10, item 10): spot fee tiers checked against the
spot schedule, plain .jsonl recordings replayed, a file that is neither refused in one line."""
from __future__ import annotations

import gzip
import math
import shutil
from pathlib import Path

import orjson
import pytest

from core.recording.recorder import GZIP_MAGIC
from tests.gbm_support import gbm_mids, gbm_times, write_gbm_recording
from tests.test_headless import last_json, slipscope

DATA = Path(__file__).parent / "data"


def one_line_error(out, needle: str) -> str:
    assert out.returncode == 2 and out.stdout == "" and "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], out.stderr
    return lines[0]


def test_spot_fee_tier_is_checked_against_the_spot_schedule():
    out = slipscope("headless", "--symbol", "BTC-USDT", "--fee-tier", "Lv2", "--duration", "1.5", "--quantity", "100")
    assert out.returncode == 0, out.stderr
    r = last_json(out)
    assert r["instrument"] == "BTC-USDT" and r["params"]["fee_tier"] == "Lv2"
    assert r["estimate"]["fees_usd"] == pytest.approx(100.0 * 0.00095)  # OKX spot Lv2 taker


def test_swap_tier_not_transcribed_is_refused_naming_the_field_and_the_schedule():
    out = slipscope("headless", "--symbol", "BTC-USDT-SWAP", "--fee-tier", "Lv2", "--duration", "1", "--quantity", "100")
    line = one_line_error(out, "--fee-tier")
    assert "'Lv2'" in line and "swap" in line and "Lv1" in line


def test_replay_checks_the_tier_against_the_recorded_instrument(tmp_path):
    t = gbm_times(1, 5.0, "regular")
    path = write_gbm_recording(tmp_path / "spot.jsonl.gz", t, gbm_mids(1, t, 1e-4), symbol="BTC-USDT")
    out = slipscope("headless", "--replay", str(path), "--fee-tier", "Lv2", "--quantity", "100")
    assert out.returncode == 0, out.stderr
    assert last_json(out)["estimate"]["fees_usd"] == pytest.approx(100.0 * 0.00095)
    swap = write_gbm_recording(tmp_path / "swap.jsonl.gz", t, gbm_mids(1, t, 1e-4))
    one_line_error(slipscope("headless", "--replay", str(swap), "--fee-tier", "Lv2", "--quantity", "100"), "swap")


def _same_result(a: dict, b: dict) -> None:
    for key in ("messages", "applied", "rejected", "rejected_by_reason", "evaluations", "book", "estimate"):
        assert a[key] == b[key], key


def test_plain_jsonl_recording_replays_like_its_gzip(tmp_path):
    t = gbm_times(4, 130.0, "irregular")
    mids = gbm_mids(4, t, 1e-4)
    gz = write_gbm_recording(tmp_path / "gbm.jsonl.gz", t, mids)
    plain = write_gbm_recording(tmp_path / "gbm.jsonl", t, mids, plain=True)
    assert gz.read_bytes()[:2] == GZIP_MAGIC and plain.read_bytes()[:1] == b"{"
    outs = [slipscope("headless", "--replay", str(p), "--quantity", "1000", "--export", str(tmp_path / p.name[-2:]))
            for p in (gz, plain)]
    for out in outs:
        assert out.returncode == 0, out.stderr
    a, b = (last_json(o) for o in outs)
    assert a["messages"] == len(t) and a["feed"]["truncated"] is False and b["feed"]["truncated"] is False
    _same_result(a, b)
    # the exported snapshot says the volatility is live, from how many returns over how long
    features = orjson.loads((Path(b["export"]) / "snapshot.json").read_bytes())["features"]
    assert features["vol_state"] == "live" and features["vol_updates"] == len(t) - 1
    assert features["vol_seconds"] == pytest.approx(t[-1], abs=1e-3)
    assert math.isfinite(features["vol_annual"])


def test_header_less_raw_frames_read_plain_too(tmp_path):
    src = DATA / "okx_books_UNI-USD-SWAP_2022-05-13.jsonl.gz"
    plain = tmp_path / "uni.jsonl"
    with gzip.open(src, "rb") as fh, open(plain, "wb") as out:
        shutil.copyfileobj(fh, out)
    a, b = (slipscope("headless", "--replay", str(p), "--quantity", "100") for p in (src, plain))
    assert a.returncode == 0 and b.returncode == 0, b.stderr
    _same_result(last_json(a), last_json(b))


@pytest.mark.parametrize("content,needle", [
    (b"\x89PNG\r\n\x1a\n" + bytes(range(40)), "neither a gzip recording nor JSON lines"),
    (b"timestamp,bid,ask\n1,2,3\n", "neither a gzip recording nor JSON lines"),
    (b"", "is empty"),
])
def test_a_file_that_is_no_recording_is_refused_in_one_line(tmp_path, content, needle):
    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    line = one_line_error(slipscope("headless", "--replay", str(path), "--quantity", "100"), needle)
    assert str(path) in line


def test_quantity_in_contracts_is_priced_through_the_contract_value_or_refused_on_spot():
    out = slipscope("headless", "--duration", "1.5", "--quantity", "10", "--unit", "contracts", "--no-models")
    assert out.returncode == 0, out.stderr
    r = last_json(out)
    mid = (r["book"]["best_bid"] + r["book"]["best_ask"]) / 2
    assert r["params"]["unit"] == "contracts"
    assert r["estimate"]["quantity_usd"] == pytest.approx(10 * 0.01 * mid, rel=2e-3)  # 0.01 BTC each
    line = one_line_error(slipscope("headless", "--symbol", "BTC-USDT", "--duration", "1", "--quantity", "10",
                                    "--unit", "contracts"), "--unit")
    assert "BTC-USDT is spot" in line
