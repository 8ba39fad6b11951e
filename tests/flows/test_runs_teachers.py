"""`distill runs list | show`, `distill teachers` and `--dry-run`: real warehouses, the real CLI."""

import json
from datetime import timedelta

from typer.testing import CliRunner

from flows.cli import app, starts_prefect
from flows.cli_runs import dry_run_plan
from flows.recipe import load_inputs, load_recipe
from generators.teachers import generation_id
from warehouse.ids import now

runner = CliRunner()
ROOT_SEEDS = "examples/math/seeds.jsonl"


def _run(wh, run_id, flow="factory", status="completed", minutes_ago=10, took_s=90):
    started = now() - timedelta(minutes=minutes_ago)
    wh.insert("runs", [{"run_id": run_id, "flow": flow, "recipe": "quickstart", "status": status,
                        "started_at": started, "finished_at": started + timedelta(seconds=took_s),
                        "recipe_json": {"name": "quickstart"}}])


def _generation(gid, run_id, teacher="t1", completion_tokens=10, cost=0.5, prompt_id="p1"):
    return {"generation_id": gid, "prompt_id": prompt_id, "teacher_id": teacher, "sample_index": 0, "raw": "x",
            "prompt_tokens": 100, "completion_tokens": completion_tokens, "cost_usd": cost, "run_id": run_id,
            "created_at": now()}


def _verdict(gid, passed, run_id="r2"):
    return {"verification_id": f"v-{gid}", "generation_id": gid, "verifier": "math", "version": "1",
            "passed": passed, "reason": "ok" if passed else "wrong", "run_id": run_id, "created_at": now()}


def test_runs_list_shows_the_latest_first_with_durations(wh):
    _run(wh, "old-run", minutes_ago=60, took_s=30)
    _run(wh, "new-run", flow="generate", status="failed", minutes_ago=5, took_s=12)
    result = runner.invoke(app, ["runs", "list", "-w", wh.path, "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["run_id"] for r in rows] == ["new-run", "old-run"]
    assert (rows[0]["flow"], rows[0]["status"], rows[0]["duration_s"]) == ("generate", "failed", 12.0)
    assert rows[1]["duration_s"] == 30.0


def test_runs_show_counts_what_the_run_produced_and_its_failures(wh):
    _run(wh, "r1-aaaa")
    _run(wh, "r2-bbbb", minutes_ago=3)
    wh.insert("generations", [_generation("g1", "r1-aaaa"), _generation("g2", "r2-bbbb"),
                              _generation("g3", "r2-bbbb")])
    wh.insert("verifications", [_verdict("g2", True, "r2-bbbb")])
    wh.insert("request_failures", [{"generation_id": "g9", "prompt_id": "p1", "teacher_id": "t1", "sample_index": 1,
                                    "error_type": "timeout", "message": "read timed out", "attempts": 6,
                                    "run_id": "r2-bbbb", "first_failed_at": now(), "last_failed_at": now()}])
    result = runner.invoke(app, ["runs", "show", "r2", "-w", wh.path, "--format", "json"])  # a unique prefix
    assert result.exit_code == 0, result.output
    detail = json.loads(result.output)
    assert detail["run"]["run_id"] == "r2-bbbb"
    assert detail["produced"]["generations"] == 2 and detail["produced"]["verifications"] == 1
    assert detail["produced"]["curated"] == 0
    assert detail["failures"] == [{"error_type": "timeout", "requests": 1, "attempts": 6, "pending": 1,
                                   "example": "read timed out"}]
    table = runner.invoke(app, ["runs", "show", "r2-bbbb", "-w", wh.path])
    assert table.exit_code == 0 and "generations" in table.output and "timeout" in table.output


def test_runs_show_an_unknown_or_ambiguous_id_is_one_line(wh):
    _run(wh, "r1-aaaa")
    _run(wh, "r2-bbbb")
    unknown = runner.invoke(app, ["runs", "show", "zz", "-w", wh.path])
    assert unknown.exit_code == 2 and "no run with an id starting 'zz'" in unknown.output
    assert "distill runs list" in unknown.output and "Traceback" not in unknown.output
    several = runner.invoke(app, ["runs", "show", "r", "-w", wh.path])
    assert several.exit_code == 2 and "several runs" in several.output and "r1-aaaa" in several.output


def test_teachers_report_generations_verified_rate_tokens_and_cost(wh):
    wh.insert("teachers", [{"teacher_id": "t1", "backend": "openai", "model": "deepseek", "params": {"temperature": 0.6},
                            "created_at": now()},
                           {"teacher_id": "t2", "backend": "transformers", "model": "smol", "params": {},
                            "created_at": now()}])
    wh.insert("generations", [_generation(f"g{i}", "r1", completion_tokens=10 * i, cost=0.25) for i in range(1, 5)])
    wh.insert("verifications", [_verdict("g1", True), _verdict("g2", True), _verdict("g3", False)])  # g4: unverified
    lists = {"tokens": ["a"], "logprobs": [-0.1], "top_tokens": [["a"]], "top_logprobs": [[-0.1]]}
    wh.insert("generation_logprobs", [{"generation_id": "g1", "top_k": 1, **lists, "token_ids": [5], "top_ids": [[5]]},
                                      {"generation_id": "g2", "top_k": 1, **lists}])  # g2: token strings only
    result = runner.invoke(app, ["teachers", "-w", wh.path, "--format", "json"])
    assert result.exit_code == 0, result.output
    by_id = {r["teacher_id"]: r for r in json.loads(result.output)}
    t1 = by_id["t1"]
    assert (t1["backend"], t1["model"], json.loads(t1["params"])) == ("openai", "deepseek", {"temperature": 0.6})
    assert t1["generations"] == 4 and t1["verified_rate"] == round(2 / 3, 3)
    assert (t1["prompt_tokens"], t1["completion_tokens"], t1["cost_usd"]) == (400, 100, 1.0)
    assert t1["with_topk_ids"] == 1, "only g1 stored ids (kd source stored needs them)"
    assert by_id["t2"]["generations"] == 0, "a teacher with no generations is listed too"


def test_the_teachers_table_shows_few_shot_turns_as_a_count():
    from flows.cli_runs import compact_params

    params = {"temperature": 0.5, "few_shot": [["q", "a"]] * 5, "system_prompt": None, "max_tokens": 64}
    assert compact_params(json.dumps(params)) == "few_shot=5 max_tokens=64 temperature=0.5"


# --- --dry-run ---

PRICED = """name: priced
seeds: [{seeds}]
templates: {{math: {template}}}
max_prompts: 5
prices:
  m-api: {{input_per_mtok: 2.0, output_per_mtok: 10.0}}
teacher:
  backend: openai
  model: m-api
  api_key_env: DISTILL_TEST_KEY_THAT_IS_NOT_SET
  system_prompt: Think step by step.
  n: 2
  max_tokens: 50
"""


def _priced_recipe(tmp_path):
    from tests.conftest import ROOT

    path = tmp_path / "priced.yaml"
    path.write_text(PRICED.format(seeds=ROOT / ROOT_SEEDS, template=ROOT / "examples/templates/math.j2"))
    return str(path)


def _expected_prompts(recipe):
    """The 5 train prompts the plan takes (first by id), and each one's chat token estimate, computed here as
    ~3 characters per token + 4 per message over the system and user turns."""
    cfg = load_recipe(recipe)
    prompts = sorted(load_inputs(cfg).split("train"), key=lambda p: p.prompt_id)[:5]
    est = {p.prompt_id: len("Think step by step.") // 3 + 4 + len(p.text) // 3 + 4 for p in prompts}
    return cfg.teacher, est


def test_dry_run_without_a_warehouse_plans_everything_and_prices_it(tmp_path):
    recipe = _priced_recipe(tmp_path)
    db = tmp_path / "none.duckdb"
    plan = dry_run_plan(recipe, str(db))
    teacher, est = _expected_prompts(recipe)
    [line] = plan["teachers"]
    assert (line["prompts"], line["samples"]) == (5, 10)
    assert line["prompt_tokens"] == 2 * sum(est.values())
    assert line["completion_tokens_max"] == 10 * 50
    assert line["cost_usd_max"] == round((line["prompt_tokens"] * 2.0 + 500 * 10.0) / 1e6, 6)
    assert line["cost_usd_expected"] == line["cost_usd_max"], "no history: expect max_tokens"
    assert plan["by_template"] == [{"stage": "generate", "domain": "math", "template": "math", "prompts": 5,
                                    "samples": 10}]
    assert not db.exists(), "a dry run creates no warehouse"


def test_dry_run_against_a_warehouse_plans_only_what_is_missing(tmp_path, wh):
    recipe = _priced_recipe(tmp_path)
    teacher, est = _expected_prompts(recipe)
    first = sorted(est)[0]
    stored = [_generation(generation_id(first, teacher.teacher_id, i), "r0", teacher=teacher.teacher_id,
                          completion_tokens=20, prompt_id=first) for i in range(2)]
    wh.insert("generations", stored)
    plan = dry_run_plan(recipe, wh.path)
    [line] = plan["teachers"]
    assert (line["prompts"], line["samples"]) == (4, 8)
    assert line["completion_tokens_expected"] == 8 * 20, "the teacher's stored answers set the expected length"
    assert line["cost_usd_expected"] < line["cost_usd_max"]


def test_the_runs_dry_run_adds_the_teachers_greedy_answers_to_the_held_out_prompts(tmp_path):
    recipe = _priced_recipe(tmp_path)
    cfg = load_recipe(recipe)
    held_out = [p for p in load_inputs(cfg).split(cfg.eval.split) if p.seed.reference is not None]
    expected = min(len(held_out), cfg.eval.limit or len(held_out)) * (1 + cfg.eval.samples)
    generate_only = dry_run_plan(recipe, str(tmp_path / "none.duckdb"))
    plan = dry_run_plan(recipe, str(tmp_path / "none.duckdb"), evaluates=True)
    assert plan["teachers"][0] == generate_only["teachers"][0]
    ev = plan["teachers"][1]
    assert ev["stage"].startswith("evaluate teacher") and ev["samples"] == expected > 0
    assert ev["completion_tokens_max"] == expected * cfg.eval.max_tokens
    assert ev["cost_usd_max"] > 0, "the API teacher's eval answers are priced too"


def test_generate_and_run_dry_run_print_the_plan_and_write_nothing(tmp_path, wh):
    recipe = _priced_recipe(tmp_path)  # its API key is not set: a dry run needs none
    for argv, shows in ((["generate", "-r", recipe], "10 samples of 5 prompts"), (["run", recipe], "evaluate teacher")):
        result = runner.invoke(app, [*argv, "--dry-run", "-w", wh.path])
        assert result.exit_code == 0, result.output
        assert "nothing is sent or written" in result.output and shows in result.output
        assert starts_prefect([*argv, "--dry-run"]) is False
    assert wh.query("SELECT count(*) AS n FROM runs")[0]["n"] == 0
    assert wh.query("SELECT count(*) AS n FROM prompts")[0]["n"] == 0
    missing = tmp_path / "absent.duckdb"
    result = runner.invoke(app, ["generate", "-r", recipe, "--dry-run", "-w", str(missing)])
    assert result.exit_code == 0 and "all missing" in result.output and not missing.exists()
