"""The CLI boundary: messages instead of tracebacks, read-only SQL, status."""

import json
from pathlib import Path

import pytest
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


# --- output formats: nothing cut, headers kept, several statements ----------------------------------------------

LONG = "x" * 150


def _sql(wh, query, *args):
    return runner.invoke(app, ["sql", query, "-w", wh.path, *args])


def test_sql_table_is_not_cut_when_piped(wh):
    result = _sql(wh, f"SELECT '{LONG}' AS long_text, 'stu' || 'dent' AS role, 0.123456 AS value")
    assert result.exit_code == 0, result.output
    assert LONG in result.stdout and "student" in result.stdout and "0.123456" in result.stdout
    assert "…" not in result.stdout


@pytest.mark.parametrize("fmt, expected", [
    ("vertical", "-[ RECORD 1 ]----\na | 1\nb | two\n  | lines\n-[ RECORD 2 ]----\na | 2\nb | x|y\n"),
    ("markdown", "| a | b |\n|---|---|\n| 1 | two<br>lines |\n| 2 | x\\|y |\n"),
    ("csv", 'a,b\n1,"two\nlines"\n2,x|y\n'),
])
def test_sql_formats(wh, fmt, expected):
    result = _sql(wh, "SELECT * FROM (VALUES (1, 'two' || chr(10) || 'lines'), (2, 'x|y')) t(a, b) ORDER BY a",
                  "--format", fmt)
    assert result.exit_code == 0, result.output
    assert result.stdout.replace("\r\n", "\n") == expected


@pytest.mark.parametrize("fmt", ["table", "vertical", "markdown", "csv"])
def test_an_empty_result_keeps_its_column_headers(wh, fmt):
    result = _sql(wh, "SELECT teacher_id, model FROM teachers WHERE false", "--format", fmt)
    assert result.exit_code == 0, result.output
    assert "teacher_id" in result.stdout and "model" in result.stdout


def test_several_statements_each_show_their_result_and_csv_takes_one(wh):
    result = _sql(wh, "SELECT 1 AS first_col; SELECT 2 AS second_col WHERE false", "--format", "markdown")
    assert result.exit_code == 0, result.output
    assert result.stdout == ("-- result 1 of 2\n| first_col |\n|---|\n| 1 |\n\n-- result 2 of 2\n"
                             "| second_col |\n|---|\n")
    result = _sql(wh, "SELECT 1; SELECT 2", "--format", "csv")
    assert result.exit_code == 2 and "2 statements" in result.output and "fix:" in result.output
    result = _sql(wh, "SELECT 1; DELETE FROM teachers")
    assert result.exit_code == 2 and "read-only" in result.output.lower()
    assert _sql(wh, " ; ").exit_code == 2


def test_snapshot_list_formats_keep_headers_when_empty(wh):
    result = runner.invoke(app, ["snapshot", "list", "-w", wh.path, "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "name,snapshot_id,n_distilled,n_general,content_hash,created_at\n"
    assert runner.invoke(app, ["snapshot", "list", "-w", wh.path, "--format", "yaml"]).exit_code == 2


# --- one convention: -r everywhere, the default announced; paths resolved ---------------------------------------

def test_run_takes_the_recipe_as_an_argument_or_with_r_but_not_two(tmp_path):
    result = runner.invoke(app, ["run", "quickstart", "-r", "kd", "-w", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 2 and "two recipes given" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("seeds: [x.jsonl]\ntemplates: {math: t.j2}\nteacher:\n  backend: telepathy\n")
    for args in (["run", str(bad)], ["run", "-r", str(bad)], ["run", "--recipe", str(bad)]):
        result = runner.invoke(app, [*args, "-w", str(tmp_path / "w.duckdb")])
        assert result.exit_code == 2 and "unknown teacher backend 'telepathy'" in result.output, args


def test_a_defaulted_recipe_is_announced(wh):
    result = runner.invoke(app, ["eval", "--training-run", "no-such-run", "-w", wh.path])
    assert result.exit_code == 2
    assert "recipe quickstart" in result.output and "pass -r RECIPE" in result.output


def test_report_png_is_png_and_relative_paths_are_said(wh, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["report", "-w", wh.path, "--out", "sub/r.png"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "sub" / "r.png").read_bytes()[:4] == b"\x89PNG"
    assert str(tmp_path / "sub" / "r.png") in result.output, "the absolute path it wrote"
    result = runner.invoke(app, ["report", "-w", wh.path])
    assert result.exit_code == 0, result.output
    beside = Path(wh.path).with_suffix(".report.svg")
    assert beside.read_bytes().startswith(b"<?xml"), "the default chart sits beside the warehouse"
    assert "relative to the current directory" in runner.invoke(app, ["report", "--help"],
                                                                env={"COLUMNS": "200"}).stdout


def test_snapshot_create_takes_the_recipes_mix_with_r_and_options_override_it(tmp_path, monkeypatch):
    from flows.cli_snapshot import snapshot_spec
    from tests.conftest import ROOT

    monkeypatch.chdir(tmp_path)
    spec = snapshot_spec("s", "kd", {"general_ratio": None, "seed": None})
    assert (spec.general_ratio, spec.general) == ("1:4", str(ROOT / "examples/general/instructions.jsonl"))
    assert snapshot_spec("s", "kd", {"general_ratio": "1:1"}).general_ratio == "1:1"
    plain = snapshot_spec("s", None, {"general": "mine.jsonl"})
    assert (plain.general_ratio, plain.general) == ("1:2", str(tmp_path / "mine.jsonl")), \
        "a --general given on the command line is relative to the current directory"
    assert snapshot_spec("s", None, {}).general == str(ROOT / "examples/general/instructions.jsonl")


def test_snapshot_export_is_a_chat_dataset_folder_that_datasets_and_trl_load(wh, tmp_path, tiny_model):
    from datasets import load_dataset
    from trl import SFTConfig, SFTTrainer
    from trl.data_utils import is_conversational

    from curation.snapshot import create_snapshot
    from tests.warehouse import test_snapshot_spec_diff_export as snapshot_tests
    from warehouse.snapshot_spec import SnapshotSpec
    from warehouse.snapshots import snapshot_rows

    _, general = snapshot_tests.factory_wh.__wrapped__(wh, tmp_path)
    snap = create_snapshot(wh, SnapshotSpec(name="chat", general=general, general_ratio="1:2", seed=1), run_id="r")
    result = runner.invoke(app, ["snapshot", "export", "chat", "--out", str(tmp_path / "out"), "-w", wh.path])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / "chat"
    assert {p.suffix for p in folder.rglob("*") if p.is_file()} == {".parquet", ".md"}, "one data format"
    dataset = load_dataset(str(folder), name=None, streaming=False)["train"]  # what `trl sft --dataset_name` runs
    stored = snapshot_rows(wh, snap["snapshot_id"])
    assert dataset["messages"] == [[{"role": "user", "content": r["prompt"]},
                                    {"role": "assistant", "content": r["completion"]}] for r in stored]
    assert [(p[0]["content"], c[0]["content"]) for p, c in zip(dataset["prompt"], dataset["completion"])] == \
        [(r["prompt"], r["completion"]) for r in stored], "prompt/completion kept, as chat turns"
    assert all(is_conversational({key: row[key]}) for row in dataset for key in ("messages", "prompt", "completion"))
    trainer = SFTTrainer(model=tiny_model, train_dataset=dataset, args=SFTConfig(
        output_dir=str(tmp_path / "trl"), max_steps=1, per_device_train_batch_size=2, report_to=[], use_cpu=True,
        save_strategy="no", max_length=64))
    labels = trainer.train_dataset[0]["labels"]
    assert labels[0] == -100 and labels[-1] != -100, "TRL took it as prompt-completion: the prompt is masked"
    assert trainer.train().training_loss > 0


def test_on_an_80_column_terminal_long_cells_fold_instead_of_being_cut():
    import io

    from rich.console import Console

    from flows.summary import print_rows

    buf = io.StringIO()
    value = "student-" + "0123456789" * 12
    print_rows(Console(file=buf, force_terminal=True, width=80, color_system=None),
               [{"role": value, "accuracy": 0.123456789, "id": "011" * 30}], "table")
    lines = buf.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    columns = ["", "", ""]
    for line in (line for line in lines if line.startswith("│")):  # body lines: a folded cell continues below
        columns = [c + part.strip() for c, part in zip(columns, line.split("│")[1:-1])]
    assert columns == [value, "0.123456789", "011" * 30] and "…" not in buf.getvalue()
