"""slipscope analyze end to end: Dask local pools of 1 and 2 workers and a real
dask.distributed scheduler with two worker processes give the same costs.parquet; the four
outputs; bad arguments and bad inputs in one line."""
from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from app.cli.main import main
from tests.test_analyze import ELON, UNI, okx_recording, write_incremental, write_tardis

ROOT = Path(__file__).resolve().parents[1]
QUANTITIES = ["--quantities", "1e3,1e4,1e5"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[str]:
    d = tmp_path_factory.mktemp("inputs")
    okx_recording(d / "synthetic-okx.jsonl.gz")
    write_tardis(d / "okex-swap_book_snapshot_5.csv.gz")
    write_incremental(d / "okex-swap_incremental_book_L2.csv.gz")
    return [str(UNI), str(ELON), str(d)]


@pytest.fixture(autouse=True)
def no_thread_left():
    """Nothing of a run keeps running: only dask's process-wide offload pool (a daemon) may stay."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    while (extra := [t for t in threading.enumerate() if t not in before and t.is_alive()
                     and not t.name.startswith("Dask-Offload")]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not extra, f"threads left running: {extra}"


def analyze(out: Path, inputs: list[str], *extra: str) -> int:
    return main(["analyze", *inputs, *QUANTITIES, "--chunk", "150", "--out", str(out), *extra])


@pytest.fixture(scope="module")
def one_worker(inputs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("w1")
    assert analyze(out, inputs, "--workers", "1", "--every", "500ms") == 0
    return out


def test_outputs_of_a_local_run(one_worker, capsys):
    out = one_worker
    table = pq.read_table(out / "costs.parquet")
    for name in ("time_ns", "venue", "symbol", "side", "quantity", "mid", "spread_bps", "slippage_bps",
                 "fees_bps", "net_cost_bps", "levels", "exhausted", "depth_10bps_usd", "depth_50bps_usd"):
        assert name in table.column_names
    symbols = set(table.column("symbol").to_pylist())
    assert symbols == {"UNI-USD-SWAP", "ELON-USDT", "BTC-USDT-SWAP"}
    with open(out / "summary.csv") as fh:
        summary = list(csv.DictReader(fh))
    assert len(summary) == len(symbols) * 2 * 3
    assert all(int(r["rows"]) > 0 and float(r["net_cost_p50_bps"]) <= float(r["net_cost_p99_bps"]) for r in summary)
    run = json.loads((out / "run.json").read_text())
    assert run["workers"] == 1 and run["rows"] == table.num_rows and run["rows_per_s"] > 0
    assert len(run["partitions"]) == 6 and {"dask", "pyarrow", "numba"} <= set(run["versions"])
    report = (out / "report.html").read_text()
    assert len(re.findall(r'src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', report)) == 4
    assert "http" not in report.replace("<!doctype html>", "")  # nothing fetched: opens offline
    assert "UNI-USD-SWAP on okx" in report and "Tardis.dev okex-swap book_snapshot_5" in report
    assert "SYNTHETIC" in report and "incremental_book_L2" in report


def test_two_local_workers_give_identical_rows(one_worker, inputs, tmp_path):
    assert analyze(tmp_path, inputs, "--workers", "2", "--every", "500ms") == 0
    assert json.loads((tmp_path / "run.json").read_text())["workers"] == 2
    assert pq.read_table(tmp_path / "costs.parquet").equals(pq.read_table(one_worker / "costs.parquet"))


def test_a_distributed_scheduler_with_two_worker_processes_gives_identical_rows(one_worker, inputs, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    sched_file = tmp_path / "scheduler.json"
    common = ["--no-dashboard"]
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--scheduler-file", str(sched_file), *common],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for _ in range(2):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                 "--no-nanny", "--host", "127.0.0.1", *common],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_for_workers(address, 2, deadline)
        out = tmp_path / "out"
        assert analyze(out, inputs, "--scheduler", address, "--every", "500ms") == 0
        run = json.loads((out / "run.json").read_text())
        assert run["scheduler"] == address and run["workers"] == 2
        assert pq.read_table(out / "costs.parquet").equals(pq.read_table(one_worker / "costs.parquet"))
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    assert all(p.poll() is not None for p in procs)


def _wait_for_workers(address: str, n: int, deadline: float) -> None:
    from dask.distributed import Client

    with Client(address, timeout="20s") as client:
        client.wait_for_workers(n, timeout=max(deadline - time.monotonic(), 1))


def test_bad_inputs_are_named_and_skipped(tmp_path, capsys):
    junk = tmp_path / "junk.csv"
    junk.write_text("not,a,book\n1,2,3\n")
    out = tmp_path / "out"
    assert main(["analyze", str(junk), str(UNI), *QUANTITIES, "--workers", "1", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"skipped: {junk}" in err
    assert "UNI-USD-SWAP" in (out / "run.json").read_text()
    assert main(["analyze", str(junk), *QUANTITIES, "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == "slipscope analyze: error: no input could be read"


@pytest.mark.parametrize("args, says", [
    (["--quantities", "1e4,abc"], "not a number"),
    (["--quantities", "1e4", "--sides", "buy,hold"], "sides are buy and/or sell"),
    (["--quantities", "1e4", "--every", "soon"], "not an interval"),
    (["--quantities", "1e4", "--fee-tier", "Lv99"], "--fee-tier"),
    (["--quantities", "1e4", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not allowed with"),
    (["--quantities", "1e4", "--scheduler", "127.0.0.1"], "not tcp://HOST:PORT"),
])
def test_bad_arguments_exit_2_in_one_line(args, says, capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        code = main(["analyze", str(UNI), *args, "--out", str(tmp_path)])
        raise SystemExit(code)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0]


def test_missing_input_exits_2(capsys, tmp_path):
    assert main(["analyze", str(tmp_path / "none.jsonl.gz"), "--quantities", "1e4"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_a_recording_with_garbage_is_priced_and_its_rejections_named(tmp_path, capsys):
    from tests.test_recorder import record_live

    path, _live = record_live(tmp_path, "goquant")  # the embedded server, garbage and a crossed book
    assert main(["analyze", str(path), "--quantities", "1e4", "--workers", "1", "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if x.startswith(f"{path}: "))
    assert "frames rejected and skipped" in line and "crossed_book 1" in line
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert run["partitions"][0]["rejected_by_reason"]["crossed_book"] == 1


def test_ctrl_c_stops_and_keeps_finished_partitions(tmp_path):
    rec = okx_recording(tmp_path / "long.jsonl.gz", frames=3000, snapshot_every=150)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "app", "analyze", str(rec), "--quantities",
                             "1e2,3e2,1e3,3e3,1e4,3e4,1e5,3e5", "--chunk", "100", "--workers", "1",
                             "--out", str(out)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            if line.startswith("[1/20 partitions]"):
                proc.send_signal(signal.SIGINT)
                break
        rest = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, rest
    assert "interrupted: keeping" in rest and "Traceback" not in rest
    run = json.loads((out / "run.json").read_text())
    assert run["interrupted"] is True
    kept = [p["rows"] for p in run["partitions"] if p["rows"] is not None]
    assert 1 <= len(kept) < 20
    assert pq.read_table(out / "costs.parquet").num_rows == sum(kept) == run["rows"]


def test_a_recording_of_the_embedded_server_prices_as_its_replay(tmp_path):
    from tests.test_analyze import replay_fills, rows_of
    from tests.test_recorder import record_live

    path, _live = record_live(tmp_path, "okx")  # the real recorder on the embedded server, faults included
    rows = rows_of([path], chunk=20)
    ref = replay_fills(path)
    assert len(ref) == len(rows["time_ns"]) > 0
    assert [f.slippage_mid_bps for _, f, *_ in ref] == rows["slippage_bps"].tolist()


def test_models_add_columns_and_a_calibration_figure(inputs, tmp_path):
    """--models keeps each file whole: model columns and labels (with --every too) are the same
    with 1 and 2 workers and whatever --chunk says."""
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["analyze", str(UNI), *inputs[1:], "--quantities", "1e4", "--models", "--every", "500ms",
                 "--workers", "1", "--out", str(one)]) == 0
    table = pq.read_table(one / "costs.parquet")
    assert {"impact_bps", "predicted_q95_bps", "label_bps"} <= set(table.column_names)
    labels = table.column("label_bps").to_numpy()
    assert (labels == labels).mean() > 0.9  # --every rows are labelled; only each file's tail is not
    assert len(json.loads((one / "run.json").read_text())["partitions"]) == 5  # one per file
    report = (one / "report.html").read_text()
    assert report.count("data:image/png;base64,") == 5 and "Model calibration" in report
    assert main(["analyze", str(UNI), *inputs[1:], "--quantities", "1e4", "--models", "--every", "500ms",
                 "--workers", "2", "--chunk", "20", "--out", str(two)]) == 0
    other = pq.read_table(two / "costs.parquet")
    assert other.schema == table.schema and other.num_rows == table.num_rows
    for name in table.column_names:  # Table.equals calls NaN != NaN: labels at a file's end are NaN
        mine, theirs = table.column(name).to_numpy(), other.column(name).to_numpy()
        if mine.dtype.kind == "f":
            assert np.array_equal(mine, theirs, equal_nan=True), name
        else:
            assert mine.tolist() == theirs.tolist(), name


def test_an_unreachable_scheduler_is_one_line(tmp_path, capsys, monkeypatch):
    import socket

    from core.history import execute

    monkeypatch.setattr(execute, "CONNECT_TIMEOUT_S", 1.0)
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = main(["analyze", str(UNI), "--quantities", "1e4", "--scheduler", f"tcp://127.0.0.1:{port}",
                 "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and err[-1].startswith("slipscope analyze: error: cannot reach the scheduler tcp://127.0.0.1:")
    assert "Traceback" not in "\n".join(err)
