"""Nothing paid twice, nothing lost: answers go to the journal the moment they arrive, so a writer that
waits for the warehouse lock (a reader holding the file) loses nothing to a kill -9 or to a lock timeout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.flows.test_api_teacher_flows import ROOT, _project, _seeds
from tests.openai_server import LoopbackServer, spawn_server
from warehouse.db import Warehouse, WarehouseLocked

HOLD = """
import duckdb, sys, time
while True:
    try:
        con = duckdb.connect(sys.argv[1])
        break
    except duckdb.IOException:
        time.sleep(0.01)
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _hold(path, seconds: float) -> subprocess.Popen:
    """A process that takes the warehouse's lock (as an open DuckDB CLI would) and keeps it."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def _wait_for(srv, successes: int, proc: subprocess.Popen | None = None, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while srv.stats(summary=True)["successes"] < successes:
        assert proc is None or proc.poll() is None, "the run ended too early"
        assert time.monotonic() < deadline, f"never reached {successes} answers"
        time.sleep(0.05)


@pytest.mark.parametrize("phase", ["before", "during", "after"])
def test_kill_9_before_during_or_after_a_lock_wait_loses_nothing_and_pays_only_in_flight_twice(
        tmp_path, prefect_api, phase):
    """A reader takes the warehouse at 40 answers (not at all `before`) and lets go at 200 (`after`) or
    never (`during`); the run is killed with -9 at 300 of 400 answers."""
    from prefect.settings import PREFECT_API_URL

    with spawn_server(latency_s=0.05) as srv:
        recipe, db = _project(tmp_path, srv.url, _seeds(200))
        env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PYTHONPATH": str(ROOT),
               "DISTILL_LOCK_TIMEOUT_S": "600"}
        cmd = [sys.executable, "-m", "flows.cli", "generate", "--recipe", str(recipe), "--warehouse", str(db)]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        holder = None
        try:
            if phase != "before":
                _wait_for(srv, 40, proc)
                holder = _hold(db, 600)  # the writer now waits; answers keep arriving
            if phase == "after":
                _wait_for(srv, 200, proc)
                holder.kill()  # the reader lets go: the writer catches up
                holder.wait()
            _wait_for(srv, 300, proc)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            if holder is not None:
                holder.kill()
                holder.wait()
        answered = {k for k, v in srv.stats()["keys"].items() if v["successes"]}
        srv.reset()
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        paid_twice = {k for k, v in srv.stats()["keys"].items() if v["successes"]} & answered
    wh = Warehouse(db)
    assert wh.scalar("SELECT count(DISTINCT generation_id) FROM generations") == 400
    assert wh.scalar("SELECT count(*) FROM generations") == 400
    assert len(paid_twice) <= 4, f"only the requests in flight at the kill (concurrency 4), not {len(paid_twice)}"


def test_a_lock_that_never_comes_ends_the_run_cleanly_and_the_next_run_imports_the_journal(
        tmp_path, prefect_api, monkeypatch):
    from flows.factory import generate_flow

    monkeypatch.setenv("DISTILL_LOCK_TIMEOUT_S", "2")
    with LoopbackServer(latency_s=0.05) as srv:
        recipe, db = _project(tmp_path, srv.url, _seeds(40))
        holders: list[subprocess.Popen] = []

        def reader_arrives() -> None:  # a reader opens the file in the middle of generation, for 8 s
            _wait_for(srv, 10)
            holders.append(_hold(db, 8))

        thread = threading.Thread(target=reader_arrives)
        thread.start()
        try:
            generate_flow(str(recipe), str(db))
            raise AssertionError("the run cannot store anything while the reader holds the file")
        except WarehouseLocked as exc:
            assert "safe in the journal" in str(exc) and "the next run imports them" in str(exc)
        finally:
            thread.join()
            for h in holders:
                h.wait()
        assert srv.stats(summary=True)["successes"] == 80
        second = generate_flow(str(recipe), str(db))
        assert second["recovered"]["generations"] >= 1 and second["generate"]["requested"] == 0
        assert all(v["successes"] == 1 for v in srv.stats()["keys"].values()), "nothing asked twice"
    assert Warehouse(db).scalar("SELECT count(*) FROM generations") == 80


def test_a_second_run_of_a_recipe_refuses_naming_the_holder_and_asks_nothing(tmp_path, prefect_api):
    from flows.factory import generate_flow
    from warehouse.lease import LeaseHeld

    with LoopbackServer() as srv:
        recipe, db = _project(tmp_path, srv.url, _seeds(3))
        script = (f"import sys, time; sys.path.insert(0, {str(ROOT)!r})\n"
                  "from warehouse.db import Warehouse\nfrom warehouse.lease import lease\n"
                  f"with lease(Warehouse({str(db)!r}), 'api-test', run_id='first'):\n"
                  "    print('held', flush=True)\n    time.sleep(60)\n")
        first = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        try:
            assert first.stdout.readline().strip() == "held"  # the first run, still going
            try:
                generate_flow(str(recipe), str(db))
                raise AssertionError("a second run must not start")
            except LeaseHeld as exc:
                assert f"pid {first.pid}" in str(exc) and "already running" in str(exc)
            result = CliRunner().invoke(app, ["generate", "-r", str(recipe), "-w", str(db)])
            assert result.exit_code == 2 and "already running" in result.output, result.output
        finally:
            first.kill()
            first.wait()
        assert srv.stats(summary=True)["total"] == 0, "nothing was asked"
        assert generate_flow(str(recipe), str(db))["generate"]["stored"] == 6, "free again once released"


def test_the_lease_of_a_killed_run_is_taken_over_and_reported(tmp_path):
    from warehouse.lease import lease

    wh = Warehouse(tmp_path / "w.duckdb")
    script = (f"import os, sys; sys.path.insert(0, {str(ROOT)!r})\n"
              "from warehouse.db import Warehouse\nfrom warehouse.lease import lease\n"
              f"with lease(Warehouse({wh.path!r}), 'r', run_id='dead'):\n    os._exit(9)\n")
    dead = subprocess.run([sys.executable, "-c", script])
    with lease(wh, "r", run_id="new") as stale:
        assert stale["run_id"] == "dead" and stale["pid"] != os.getpid() and dead.returncode == 9
    with lease(wh, "r") as clean:
        assert clean is None, "a lease released cleanly leaves nothing to take over"


def test_two_runs_started_together_ask_for_each_answer_once(tmp_path, prefect_api):
    from prefect.settings import PREFECT_API_URL

    with spawn_server(latency_s=0.02) as srv:
        recipe, db = _project(tmp_path, srv.url, _seeds(50))
        env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "flows.cli", "generate", "--recipe", str(recipe), "--warehouse", str(db)]
        runs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                for _ in range(2)]
        outputs = [(p.wait(timeout=300), p.stdout.read()) for p in runs]
        keys = srv.stats()["keys"]
    assert sorted(code for code, _ in outputs) == [0, 2], outputs
    refused = next(out for code, out in outputs if code == 2)
    assert "already running" in refused and "Traceback" not in refused
    assert len(keys) == 100 and all(k["attempts"] == 1 for k in keys.values()), "each answer asked for once"
    assert Warehouse(db).scalar("SELECT count(*) FROM generations") == 100


def test_kill_9_of_distill_leaves_no_prefect_server_behind(tmp_path):
    from flows.watchdog import descendants

    with spawn_server(hold_after=0) as srv:  # every request waits: the run stays in generation
        recipe, db = _project(tmp_path, srv.url, _seeds(2))
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}  # its own temporary server
        env["PYTHONPATH"] = str(ROOT)
        proc = subprocess.Popen([sys.executable, "-m", "flows.cli", "generate", "-r", str(recipe), "-w", str(db)],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 180
        while srv.stats(summary=True)["held"] < 1:
            assert proc.poll() is None and time.monotonic() < deadline, "the run never reached the teacher"
            time.sleep(0.2)
        started = descendants(proc.pid)
        assert started, "Prefect's temporary server (and the watchdog)"
        os.kill(proc.pid, signal.SIGKILL)  # the CLI alone, as `kill -9 PID` does
        proc.wait()
        deadline = time.monotonic() + 20
        while any(Path(f"/proc/{pid}").exists() for pid in started) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [pid for pid in started if Path(f"/proc/{pid}").exists()]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    assert not left, f"orphans left behind: {left}"


def test_abandoned_attempts_are_recorded_with_the_request(tmp_path, prefect_api):
    from flows.factory import generate_flow

    with LoopbackServer(latency_s=1.0) as srv:  # every answer comes after the client's timeout
        recipe, db = _project(tmp_path, srv.url, _seeds(2), teacher="  timeout_s: 0.2\n  n: 1")
        recipe.write_text(recipe.read_text().replace("  n: 2\n", "").replace("  timeout_s: 5\n", ""))
        out = generate_flow(str(recipe), str(db))
    assert out["generate"]["failed"] == 2 and out["generate"]["failed_types"] == {"timeout": 2}
    rows = Warehouse(db).query("SELECT attempts, abandoned FROM request_failures")
    assert rows == [{"attempts": 2, "abandoned": 2}] * 2, "both attempts of each were given up on"
