"""Flows with the `openai` backend against the loopback server: failures kept and retried, budgets,
keys kept out of the warehouse, bad recipes stopped before any request, routing, synthesis, kill -9 resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generators.seeds import InputError
from tests.openai_server import LoopbackServer, default_answer, spawn_server
from warehouse.db import Warehouse

ROOT = Path(__file__).resolve().parents[2]


def _seeds(n: int, domain: str = "math", prefix: str = "s") -> list[dict]:
    # the loopback server answers with the sum of the numbers in the prompt: right for these
    return [{"id": f"{prefix}{i}", "domain": domain, "question": f"What is {i} + {i + 3}?",
             "answer": str(2 * i + 3)} for i in range(n)]


def _project(tmp_path: Path, url: str, seeds: list[dict], teacher: str = "", extra: str = "",
             templates: dict | None = None) -> tuple[Path, Path]:
    (tmp_path / "seeds.jsonl").write_text("\n".join(json.dumps(s) for s in seeds))
    (tmp_path / "q.j2").write_text("{{ question }}")
    templates = templates or {"math": tmp_path / "q.j2"}
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"""name: api-test
seeds: [{tmp_path / 'seeds.jsonl'}]
templates: {json.dumps({k: str(v) for k, v in templates.items()})}
teacher:
  backend: openai
  model: loopback-teacher
  base_url: {url}
  api_key_env: null
  n: 2
  concurrency: 4
  max_attempts: 2
  timeout_s: 5
{teacher}
{extra}
""")
    return recipe, tmp_path / "w.duckdb"


def test_failed_requests_are_kept_then_retried_by_the_next_run(tmp_path, prefect_api):
    from flows.factory import generate_flow

    with LoopbackServer(p500=1.0) as srv:
        recipe, db = _project(tmp_path, srv.url, _seeds(4))
        first = generate_flow(str(recipe), str(db))
        wh = Warehouse(db)
        assert first["generate"]["failed"] == 8 and first["generate"]["stored"] == 0
        failures = wh.query("SELECT * FROM request_failures ORDER BY generation_id")
        assert len(failures) == 8
        assert {(f["error_type"], f["status_code"], f["attempts"]) for f in failures} == {("server_error", 500, 2)}
        assert all(f["resolved_at"] is None for f in failures)

        srv.control(p500=0.0)
        second = generate_flow(str(recipe), str(db))
        assert second["generate"]["requested"] == 8 and second["generate"]["stored"] == 8
        assert wh.scalar("SELECT count(*) FROM request_failures WHERE resolved_at IS NULL") == 0
        assert wh.scalar("SELECT count(*) FROM generations") == 8
        assert second["verify"]["passed"] == 8
        keys = srv.stats()["keys"]
        assert all(k["successes"] == 1 for k in keys.values()), "nothing answered twice"


def test_samples_asked_together_are_stored_apart_and_a_rerun_asks_only_the_missing(tmp_path, prefect_api):
    from flows.factory import generate_flow

    with LoopbackServer() as srv:
        recipe, db = _project(tmp_path, srv.url, _seeds(3), teacher="  samples_per_request: 4")
        first = generate_flow(str(recipe), str(db))
        assert first["generate"]["stored"] == 6 and srv.stats()["total"] == 3, "n=2 per prompt in one call"
        wh = Warehouse(db)
        rows = wh.query("SELECT prompt_id, sample_index FROM generations ORDER BY ALL")
        assert [(r["prompt_id"], r["sample_index"]) for r in rows] == [
            (p, i) for p in sorted({r["prompt_id"] for r in rows}) for i in range(2)]
        recipe.write_text(recipe.read_text().replace("  n: 2", "  n: 5"))  # 3 more samples per prompt
        srv.reset()
        second = generate_flow(str(recipe), str(db))
        assert second["generate"]["requested"] == 9 and second["generate"]["stored"] == 9
        assert sorted(srv.stats()["keys"]) == sorted(
            f"{r['generation_id']}+3" for r in wh.query("SELECT generation_id FROM generations WHERE sample_index = 2"))
        assert wh.scalar("SELECT count(DISTINCT generation_id) FROM generations") == 15


def test_budget_stops_the_run_and_the_next_run_continues(tmp_path, prefect_api):
    from flows.factory import generate_flow

    with LoopbackServer() as srv:
        recipe, db = _project(tmp_path, srv.url, _seeds(5), extra="budget: {max_requests: 3}")
        first = generate_flow(str(recipe), str(db))
        assert first["generate"]["stored"] == 3
        assert "max_requests = 3 reached" in first["generate"]["spent"]["stopped"]
        second = generate_flow(str(recipe), str(db))
        assert second["generate"]["requested"] == 7 and second["generate"]["stored"] == 3
        assert srv.stats(summary=True)["answered_twice"] == 0


def test_api_key_is_used_but_never_stored_or_logged(tmp_path, prefect_api, monkeypatch, caplog, capsys):
    from flows.factory import generate_flow

    secret = "sk-distillery-test-5ecret"
    monkeypatch.setenv("DISTILL_TEST_KEY", secret)
    with LoopbackServer(reasoning="field") as srv:
        recipe, db = _project(tmp_path, srv.url, _seeds(2))
        recipe.write_text(recipe.read_text().replace("api_key_env: null", "api_key_env: DISTILL_TEST_KEY"))
        out = generate_flow(str(recipe), str(db))
    assert out["generate"]["stored"] == 4
    rows = Warehouse(db).query("SELECT reasoning, answer FROM generations")
    assert all(r["reasoning"] == "Let me think about it." and r["answer"].startswith("The answer is") for r in rows)
    stored = db.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert secret.encode() not in stored
    assert secret not in caplog.text + capsys.readouterr().out


BAD_RECIPES = {
    "unknown backend": ("backend: anthropic-native", "unknown teacher backend"),
    "missing key": ("api_key_env: DISTILL_UNSET_KEY", "DISTILL_UNSET_KEY is not set"),
    "malformed price table": ("prices: {loopback-teacher: {input: 1}}", "malformed price table"),
    "cost cap without a price": ("budget: {max_cost_usd: 1.0}", "needs a price for model 'loopback-teacher'"),
    "key in the recipe": ("api_key: sk-oops", "must not contain an API key"),
    "route to an unknown domain": ("teachers: {code: {model: x}}", "routes a domain with no template"),
}


@pytest.mark.parametrize("name", list(BAD_RECIPES))
def test_bad_recipes_fail_before_any_request(tmp_path, prefect_api, monkeypatch, name):
    from flows.factory import generate_flow

    change, message = BAD_RECIPES[name]
    monkeypatch.delenv("DISTILL_UNSET_KEY", raising=False)
    with LoopbackServer() as srv:
        recipe, db = _project(tmp_path, srv.url, _seeds(2))
        text = recipe.read_text()
        if change.startswith(("backend", "api_key")):
            key = change.split(":")[0]
            text = "\n".join(line for line in text.splitlines() if not line.strip().startswith(f"{key}:"))
            text = text.replace("teacher:\n", f"teacher:\n  {change}\n")
        else:
            text += f"\n{change}\n"
        recipe.write_text(text)
        with pytest.raises(InputError, match=message) as err:
            generate_flow(str(recipe), str(db))
        assert srv.stats()["total"] == 0
    assert err.value.file == str(recipe)
    assert not db.exists() or Warehouse(db).scalar("SELECT count(*) FROM generations") == 0


def test_each_domain_goes_to_its_routed_teacher(tmp_path, prefect_api):
    from flows.factory import generate_flow

    with LoopbackServer() as srv:
        (tmp_path / "a.j2").write_text("Algebra: {{ question }}")
        recipe, db = _project(tmp_path, srv.url, _seeds(2) + _seeds(2, domain="algebra", prefix="a"),
                              extra="teachers:\n  algebra: {model: algebra-teacher, n: 1}",
                              templates={"math": tmp_path / "q.j2", "algebra": tmp_path / "a.j2"})
        generate_flow(str(recipe), str(db))
    rows = Warehouse(db).query("""
        SELECT p.domain, t.model, count(*) AS n FROM generations g JOIN prompts p USING (prompt_id)
        JOIN teachers t USING (teacher_id) GROUP BY ALL ORDER BY 1""")
    assert rows == [{"domain": "algebra", "model": "algebra-teacher", "n": 2},
                    {"domain": "math", "model": "loopback-teacher", "n": 4}]


def _synth_responder(request: dict, choice: int) -> str:
    """Writer prompts get a problem chosen by the request's seed (= sample index); others are solved."""
    text = request["messages"][-1]["content"]
    if text.startswith("Write a problem about"):
        topic, index = text.split(":", 1)[1].strip(), request["seed"]
        return {("sums", 0): "Problem: Ann has 12 apples and buys 30 more. How many apples does she have?",
                ("sums", 1): "Problem: What is 0 + 3?",  # near-copy of seed s0 "What is 0 + 3?"
                ("hard", 0): "Problem: A shop sells 7 pens and then 9 more pens. How many pens were sold?",
                ("hard", 1): "I cannot think of one."}[(topic, index)]
    if "pens" in text:  # the solver disagrees with itself: 16, 16, 17, 18 -> agreement 0.5
        return f"The answer is \\boxed{{{[16, 16, 17, 18][request['seed']]}}}."
    return default_answer(request, choice)


def test_synthesis_writes_dedups_solves_and_labels_by_self_consistency(tmp_path, prefect_api):
    from flows.factory import generate_flow

    (tmp_path / "knowledge.yaml").write_text(
        "- {id: k-sums, domain: math, topic: sums}\n- {id: k-hard, domain: math, topic: hard}\n")
    (tmp_path / "writer.j2").write_text("Write a problem about: {{ topic }}")
    with LoopbackServer(responder=_synth_responder) as srv:
        recipe, db = _project(tmp_path, srv.url, _seeds(2), extra=f"""synthesis:
  knowledge: {tmp_path / 'knowledge.yaml'}
  template: {tmp_path / 'writer.j2'}
  problems_per_item: 2
  solutions: 4
  min_agreement: 0.75
""")
        out = generate_flow(str(recipe), str(db))
        again = generate_flow(str(recipe), str(db))
    assert out["synthesis"] == {"requested": 4, "accepted": 2, "near_copy": 1, "unparseable": 1}
    wh = Warehouse(db)
    problems = {r["question"]: r for r in wh.query("SELECT * FROM synth_problems")}
    assert problems["What is 0 + 3?"]["status"] == "near_copy"
    assert problems["What is 0 + 3?"]["similarity"] == 1.0
    labels = {r["label"]: r for r in wh.query("SELECT * FROM problem_labels")}
    assert labels["42"]["agreement"] == 1.0 and labels["42"]["accepted"]
    pens = wh.query("SELECT l.* FROM problem_labels l JOIN prompts p USING (prompt_id) WHERE p.text LIKE '%pens%'")
    assert pens[0]["agreement"] == 0.5 and not pens[0]["accepted"]
    passed = wh.query("""SELECT p.text, count(*) AS n FROM verifications v JOIN generations g USING (generation_id)
                         JOIN prompts p USING (prompt_id) JOIN synth_problems s USING (prompt_id)
                         WHERE v.passed GROUP BY ALL""")
    assert [(r["text"], r["n"]) for r in passed] == [
        ("Ann has 12 apples and buys 30 more. How many apples does she have?", 4)]
    lineage = wh.query("""SELECT sd.seed_id, sd.payload->>'knowledge_id' AS knowledge FROM synth_problems s
                          JOIN seeds sd USING (seed_id) WHERE s.status = 'accepted' ORDER BY 2""")
    assert [r["knowledge"] for r in lineage] == ["k-hard", "k-sums"]
    assert again["synthesis"]["requested"] == 0 and again["generate"]["requested"] == 0


def test_kill_9_midway_then_rerun_requests_exactly_the_missing_generations(tmp_path, prefect_api):
    """500 requests; the server hangs after 250 answers, the client is killed with SIGKILL, the rerun
    asks for exactly the other 250: none twice, none lost, no duplicate rows."""
    from prefect.settings import PREFECT_API_URL

    with spawn_server(hold_after=250, latency_s=0.01) as srv:
        recipe, db = _project(tmp_path, srv.url, _seeds(250))
        recipe.write_text(recipe.read_text().replace("concurrency: 4", "concurrency: 16"))
        env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "flows.cli", "generate", "--recipe", str(recipe), "--warehouse", str(db)]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 240
            while srv.stats(summary=True)["held"] < 16:  # 250 answered, every slot now waits on the server
                assert proc.poll() is None, "the run ended before it could be killed"
                assert time.monotonic() < deadline, "the run never reached the hold"
                time.sleep(0.2)
            time.sleep(0.5)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        first = srv.stats()
        answered_first = {k for k, v in first["keys"].items() if v["successes"]}
        assert len(answered_first) == 250
        srv.control(hold_after=None)  # the held requests are answered to closed sockets (undelivered)
        while srv.stats(summary=True)["inflight"]:
            time.sleep(0.05)
        srv.reset()

        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        second = srv.stats()
    asked_second = set(second["keys"])
    assert len(asked_second) == 250 and not asked_second & answered_first, "exactly the missing ones"
    assert all(v["attempts"] == 1 for v in second["keys"].values())
    wh = Warehouse(db)
    assert wh.scalar("SELECT count(*) FROM generations") == 500
    assert wh.scalar("SELECT count(DISTINCT generation_id) FROM generations") == 500
    assert set(r["generation_id"] for r in wh.query("SELECT generation_id FROM generations")) == \
        answered_first | asked_second
    runs = wh.query("SELECT status, pid FROM runs ORDER BY started_at")
    assert [r["status"] for r in runs] == ["crashed", "completed"], "the killed run is marked, not left running"
    assert runs[0]["pid"] == proc.pid
