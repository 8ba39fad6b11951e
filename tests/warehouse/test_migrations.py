import duckdb

from warehouse import migrations
from warehouse.db import Warehouse


def test_migrations_apply_in_order_and_are_recorded(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    applied = wh.init()
    assert applied == [name for name, _ in migrations.MIGRATIONS]
    assert applied == sorted(applied), "migration names must sort in application order"
    recorded = [r["name"] for r in wh.query("SELECT name FROM schema_migrations ORDER BY applied_at, name")]
    assert recorded == applied


def test_reapplying_is_a_no_op(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.init()
    assert wh.init() == []


def test_lineage_columns_and_types():
    con = duckdb.connect(":memory:")
    migrations.apply(con)
    cols = {(t, c): ty for t, c, ty in con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns").fetchall()}
    assert cols[("generations", "generation_id")] == "VARCHAR"
    assert cols[("generations", "sample_index")] == "INTEGER"
    assert cols[("generations", "latency_s")] == "DOUBLE"
    assert cols[("verifications", "passed")] == "BOOLEAN"
    assert cols[("evaluations", "accuracy")] == "DOUBLE"
    assert cols[("runs", "recipe_json")] == "JSON"
    for table, link in [("evaluations", "training_run_id"), ("training_runs", "snapshot_id"),
                        ("snapshot_rows", "generation_id"), ("generations", "prompt_id"),
                        ("generations", "teacher_id"), ("prompts", "seed_id"), ("prompts", "template_id"),
                        ("generations", "run_id")]:
        assert (table, link) in cols, f"{table}.{link} links the lineage"
