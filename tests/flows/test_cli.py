"""The CLI boundary: messages instead of tracebacks, read-only SQL, status."""

import json

from typer.testing import CliRunner

from flows.cli import app
from tests.warehouse.test_db import _hold_lock, _teacher

runner = CliRunner()


def test_sql_prints_rows_as_json(wh):
    wh.insert("teachers", [_teacher("a"), _teacher("b")])
    result = runner.invoke(app, ["sql", "SELECT teacher_id FROM teachers ORDER BY 1", "-w", wh.path,
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [{"teacher_id": "a"}, {"teacher_id": "b"}]


def test_sql_is_read_only(wh):
    result = runner.invoke(app, ["sql", "DELETE FROM teachers", "-w", wh.path])
    assert result.exit_code == 2
    assert "read-only" in result.output.lower()
    assert "Traceback" not in result.output


def test_sql_waits_for_a_writer_to_release_the_file(wh):
    wh.insert("teachers", [_teacher("a")])
    holder = _hold_lock(wh.path, 1.5)
    try:
        result = runner.invoke(app, ["sql", "SELECT count(*) AS n FROM teachers", "-w", wh.path, "--format", "csv"])
    finally:
        holder.wait()
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["n", "1"]


def test_sql_on_a_missing_warehouse_says_what_to_do(tmp_path):
    result = runner.invoke(app, ["sql", "SELECT 1", "-w", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2
    assert "distill init" in result.output


def test_status_counts_every_table(wh):
    wh.insert("teachers", [_teacher("a")])
    result = runner.invoke(app, ["status", "-w", wh.path])
    assert result.exit_code == 0, result.output
    assert "teachers" in result.output and "evaluation_items" in result.output


def test_bad_recipe_is_one_message_naming_file_line_and_fix(tmp_path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("name: bad\nseeds: [x.jsonl]\ntemplates: {math: t.j2}\nteacher:\n  backend: transformers\n"
                      "  temprature: 0.5\n")
    db = tmp_path / "w.duckdb"
    result = runner.invoke(app, ["run", str(recipe), "-w", str(db)])
    assert result.exit_code == 2
    assert f"{recipe}:6: unknown key `teacher.temprature`" in result.output
    assert "fix:" in result.output and "temperature" in result.output
    assert not db.exists()


def test_unknown_backend_is_rejected_before_any_work(tmp_path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("seeds: [x.jsonl]\ntemplates: {math: t.j2}\nteacher:\n  backend: telepathy\n")
    result = runner.invoke(app, ["generate", "-r", str(recipe), "-w", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 2
    assert "unknown teacher backend 'telepathy'" in result.output


def test_train_refuses_an_unknown_method_before_anything_runs(tmp_path):
    db = tmp_path / "w.duckdb"
    result = runner.invoke(app, ["train", "some-snapshot", "--method", "telepathy", "-w", str(db)])
    assert result.exit_code == 2 and "unknown method 'telepathy'" in result.output and "kd" in result.output
    assert not db.exists()
