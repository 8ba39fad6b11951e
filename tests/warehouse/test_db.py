import subprocess
import sys
import time

import pytest

from warehouse.db import Warehouse, WarehouseLocked
from warehouse.ids import now, stable_id


def _teacher(tid: str) -> dict:
    return {"teacher_id": tid, "backend": "transformers", "model": "m", "params": {"t": 1}, "created_at": now()}


def test_insert_is_batched_and_ignores_existing_keys(wh):
    assert wh.insert("teachers", [_teacher("a"), _teacher("b")]) == 2
    assert wh.insert("teachers", [_teacher("b"), _teacher("c")]) == 1
    assert [r["teacher_id"] for r in wh.query("SELECT teacher_id FROM teachers ORDER BY 1")] == ["a", "b", "c"]


def test_json_columns_round_trip(wh):
    wh.insert("teachers", [_teacher("a")])
    assert wh.scalar("SELECT params->>'t' FROM teachers") == "1"


def test_stable_id_is_content_derived():
    assert stable_id("p", "t", 0) == stable_id("p", "t", 0)
    assert stable_id("p", "t", 0) != stable_id("p", "t", 1)
    assert stable_id({"a": 1, "b": 2}) == stable_id({"b": 2, "a": 1})


HOLD = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold_lock(path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_locked_file_gives_a_clear_error_after_retrying(wh):
    holder = _hold_lock(wh.path, 30)
    try:
        short = Warehouse(wh.path, lock_timeout_s=1.0)
        began = time.monotonic()
        with pytest.raises(WarehouseLocked, match="locked by another process"):
            short.query("SELECT 1", read_only=True)
        assert time.monotonic() - began >= 1.0, "it must retry before giving up"
    finally:
        holder.kill()
        holder.wait()


def test_a_reader_waits_out_a_brief_writer(wh):
    wh.insert("teachers", [_teacher("a")])
    holder = _hold_lock(wh.path, 1.5)
    try:
        rows = Warehouse(wh.path, lock_timeout_s=20).query("SELECT count(*) AS n FROM teachers", read_only=True)
        assert rows == [{"n": 1}]
    finally:
        holder.wait()


def test_transaction_commits_on_success_and_rolls_back_on_error(wh):
    stamp = now()
    with wh.transaction() as con:
        wh.insert("runs", [{"run_id": "a", "flow": "f", "status": "completed", "started_at": stamp}], con=con)
    with pytest.raises(RuntimeError):
        with wh.transaction() as con:
            wh.insert("runs", [{"run_id": "b", "flow": "f", "status": "completed", "started_at": stamp}], con=con)
            raise RuntimeError("midway")
    assert [r["run_id"] for r in wh.query("SELECT run_id FROM runs ORDER BY run_id")] == ["a"]
