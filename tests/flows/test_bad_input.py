"""Bad input stops `distill` before anything is written or any request is sent: one message with the
file, the line and the fix (exit 2); a run whose requests failed their last attempt says so (exit 3)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from flows.cli import EXIT_REQUESTS_FAILED, app
from tests.conftest import ROOT
from tests.openai_server import LoopbackServer

runner = CliRunner()
SEEDS = ROOT / "examples/math/seeds.jsonl"
TEMPLATE = ROOT / "examples/templates/math.j2"


def _recipe(tmp_path, teacher_lines: str, seeds=SEEDS, template=TEMPLATE):
    path = tmp_path / "r.yaml"
    path.write_text(f"name: bad\nseeds: [{seeds}]\ntemplates: {{math: {template}}}\nteacher:\n"
                    f"  backend: openai\n  api_key_env: null\n{teacher_lines}")
    return path


def _refused(result, where: str, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert where in result.output and "fix:" in result.output, result.output
    assert all(w in result.output for w in words), result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("line, words", [
    ("  n: 1.5", ("teacher.n", "an integer", "1.5")),
    ("  concurrency: 2.5", ("teacher.concurrency", "an integer")),
    ("  model: [a, b]", ("teacher.model", "a string")),
    ("  temperature: hot", ("teacher.temperature", "a number", "'hot'")),
    ("  timeout_s: ten", ("teacher.timeout_s", "a number")),
    ("  base_url: 127.0.0.1:18200", ("base_url", "http(s) URL", "127.0.0.1:18200")),
])
def test_a_field_of_the_wrong_type_names_its_own_line(tmp_path, line, words):
    recipe = _recipe(tmp_path, line + "\n")
    db = tmp_path / "w.duckdb"
    _refused(runner.invoke(app, ["run", str(recipe), "-w", str(db)]), f"{recipe}:7:", *words)
    assert not db.exists(), "nothing is written"


def test_non_utf8_seeds_template_and_recipe_give_file_line_and_byte_offset(tmp_path):
    seeds = tmp_path / "s.jsonl"
    seeds.write_bytes(b'{"id": "a", "domain": "math", "question": "1 + 1?", "answer": "2"}\n'
                      b'{"id": "b", "domain": "math", "question": "caf\xe9?", "answer": "2"}\n')
    _refused(runner.invoke(app, ["generate", "-r", str(_recipe(tmp_path, "", seeds=seeds))]),
             f"{seeds}:2:", "not UTF-8", "0xe9", f"offset {seeds.read_bytes().index(0xE9)}")
    template = tmp_path / "t.j2"
    template.write_bytes(b"{{ question }}\n\xff\n")
    _refused(runner.invoke(app, ["generate", "-r", str(_recipe(tmp_path, "", template=template))]),
             f"{template}:2:", "not UTF-8", "0xff")
    recipe = _recipe(tmp_path, "")
    recipe.write_bytes(recipe.read_bytes() + b"# \x80\n")
    _refused(runner.invoke(app, ["generate", "-r", str(recipe)]), f"{recipe}:7:", "not UTF-8", "0x80")


def test_a_missing_api_key_is_one_line_before_prefect_starts(tmp_path, monkeypatch):
    monkeypatch.delenv("DISTILL_TEST_NO_SUCH_KEY", raising=False)
    recipe = _recipe(tmp_path, "")
    recipe.write_text(recipe.read_text().replace("api_key_env: null", "api_key_env: DISTILL_TEST_NO_SUCH_KEY"))
    db = tmp_path / "w.duckdb"
    result = runner.invoke(app, ["run", str(recipe), "-w", str(db)])
    _refused(result, f"{recipe}:6:", "DISTILL_TEST_NO_SUCH_KEY")
    assert len(result.output.strip().splitlines()) == 2, "the error and its fix"
    assert "temporary server" not in result.output and not db.exists()


def test_failed_requests_end_with_a_warning_and_their_own_exit_code(tmp_path, prefect_api):
    (tmp_path / "seeds.jsonl").write_text("\n".join(json.dumps(
        {"id": f"s{i}", "domain": "math", "question": f"What is {i} + 1?", "answer": str(i + 1)}) for i in range(3)))
    with LoopbackServer(p500=1.0) as srv:
        recipe = _recipe(tmp_path, f"  base_url: {srv.url}\n  n: 1\n  max_attempts: 1\n", seeds=tmp_path / "seeds.jsonl")
        result = runner.invoke(app, ["generate", "-r", str(recipe), "-w", str(tmp_path / "w.duckdb")])
    assert result.exit_code == EXIT_REQUESTS_FAILED == 3, result.output
    assert "3 requests failed after their last attempt (server_error 3)" in result.output
    assert "rerun to retry" in result.output


@pytest.mark.parametrize("teacher, words", [
    ("teacher: {backend: openai, api_key_env: null, n: two}\n", ("teacher.n", "an integer", "'two'")),
    ("teacher:\n  backend: openai\n  api_key_env: null\n  few_shot: 3\n", ("teacher.few_shot", "a list")),
])
def test_a_type_error_names_its_own_line_in_block_or_flow_style(tmp_path, teacher, words):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: bad\nseeds: [{SEEDS}]\ntemplates: {{math: {TEMPLATE}}}\n{teacher}")
    line = 4 + teacher.count("\n") - 1
    _refused(runner.invoke(app, ["run", str(recipe), "-w", str(tmp_path / "w.duckdb")]), f"{recipe}:{line}:", *words)


def test_a_snapshot_filter_of_the_wrong_type_names_its_line(tmp_path):
    recipe = _recipe(tmp_path, "snapshot:\n  domains: 3\n")
    _refused(runner.invoke(app, ["run", str(recipe)]), f"{recipe}:8:", "snapshot.domains", "a list")


# --- misuse on the command line: one message, before Prefect starts and before a `runs` row --------------------

@pytest.fixture
def factory_wh(wh, tmp_path):
    """Curated rows from two teachers and three templates, and a general-data file (the snapshot tests' data)."""
    from tests.warehouse import test_snapshot_spec_diff_export as snapshot_tests

    return snapshot_tests.factory_wh.__wrapped__(wh, tmp_path)


def _misuse(wh, args: list[str], *words: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert all(w in result.output for w in words) and "fix:" in result.output, result.output
    assert "Traceback" not in result.output and "temporary server" not in result.output
    assert len(result.output.strip().splitlines()) <= 3, result.output
    assert wh.query("SELECT count(*) AS n FROM runs")[0]["n"] == 0, "no runs row for misuse"


def test_training_on_a_snapshot_that_does_not_exist(factory_wh):
    wh, _ = factory_wh
    _misuse(wh, ["train", "no-such", "-r", "quickstart", "-w", wh.path], "snapshot 'no-such'", "distill snapshot list")


def test_a_snapshot_name_already_used_with_other_content(factory_wh):
    from curation.snapshot import create_snapshot
    from warehouse.snapshot_spec import SnapshotSpec

    wh, general = factory_wh
    create_snapshot(wh, SnapshotSpec(name="taken", domains=["code"]), run_id="r")
    _misuse(wh, ["snapshot", "create", "taken", "--general", general, "-w", wh.path], "snapshot 'taken'",
            "already used", "new name")


def test_general_data_that_does_not_exist(factory_wh, tmp_path, monkeypatch):
    wh, _ = factory_wh
    monkeypatch.chdir(tmp_path)
    _misuse(wh, ["snapshot", "create", "new", "--general", "elsewhere/general.jsonl", "-w", wh.path],
            "elsewhere/general.jsonl does not exist", str(tmp_path / "elsewhere" / "general.jsonl"))


def test_a_snapshot_with_no_matching_rows_and_an_unknown_training_run(factory_wh):
    wh, general = factory_wh
    _misuse(wh, ["snapshot", "create", "none", "--domain", "physics", "--general", general, "-w", wh.path],
            "no curated rows match")
    _misuse(wh, ["eval", "--training-run", "nope", "-w", wh.path], "training run 'nope'")


def test_misuse_on_a_missing_warehouse_creates_no_file(tmp_path):
    db = tmp_path / "none.duckdb"
    for args in (["train", "s", "-r", "quickstart"], ["snapshot", "create", "s"], ["eval", "--training-run", "x"]):
        result = runner.invoke(app, [*args, "-w", str(db)])
        assert result.exit_code == 2 and "fix:" in result.output, (args, result.output)
    assert not db.exists()


def test_a_recipe_whose_general_data_is_missing_stops_run_before_anything(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: g\nseeds: [{SEEDS}]\ntemplates: {{math: {TEMPLATE}}}\nteacher: {{backend: transformers}}"
                      "\nsnapshot:\n  general: no/such/general.jsonl\n")
    db = tmp_path / "w.duckdb"
    result = runner.invoke(app, ["run", "-r", str(recipe), "-w", str(db)])
    assert result.exit_code == 2 and "snapshot.general" in result.output and "does not exist" in result.output
    assert str(tmp_path / "no/such/general.jsonl") in result.output, "resolved against the recipe's folder"
    assert not db.exists()
