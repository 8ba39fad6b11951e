"""The warehouse file opens in the real DuckDB CLI (`duckdb-cli`, from the test extra) and in the DuckLake
extension's wheel: the README's SQL runs there as it does through the Python API. No download at run time:
the CLI binary and the extension come from installed wheels."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
T = "2026-01-01 00:00:00"


def cli() -> Path:
    exe = Path(sys.executable).parent / "duckdb"  # the console script duckdb-cli installs beside python
    if not exe.exists():
        pytest.fail(f"no DuckDB CLI at {exe}: install the test extra (`pip install -e '.[test]'` or `make install`)")
    return exe


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(cli()), *args], capture_output=True, text=True, timeout=60)


def ducklake_extension() -> Path:
    import duckdb_extension_ducklake

    path = Path(duckdb_extension_ducklake.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    files = list(path.glob("ducklake.duckdb_extension"))
    if not files:
        pytest.fail(f"no DuckLake extension for duckdb {duckdb.__version__} under {path.parent}: "
                    "pin duckdb-extension-ducklake to the duckdb version in pyproject.toml")
    return files[0]


def readme_statements() -> list[str]:
    """Every statement of every ```sql block in the README, in order, as written (a statement ends with `;` at
    the end of a line; duckdb's extract_statements would rewrite PIVOT into text the parser refuses)."""
    blocks = re.findall(r"```sql\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.S)
    chunks = [c.strip() for block in blocks for c in re.split(r";[ \t]*(?:\n|$)", block)]
    return [c for c in chunks if any(line.strip() and not line.lstrip().startswith("--") for line in c.splitlines())]


def demo_warehouse(path: Path):
    """What `make demo` leaves, in miniature: one run, seeds to evaluations with metrics, a verified, a
    rejected (decontaminated) and a code-verified generation, a failed request, and one generation of an
    iterated round's teacher (an adapter of the trained student)."""
    from warehouse.db import Warehouse

    wh = Warehouse(path, lock_timeout_s=5)
    wh.init()
    rows = {
        "runs": [{"run_id": "r1", "flow": "factory", "recipe": "quickstart", "prefect_flow_run_id": "pf-1",
                  "status": "completed", "started_at": T, "finished_at": T}],
        "seeds": [{"seed_id": f"s{i}", "domain": d, "topic": topic, "split": "train", "question": f"q{i}",
                   "reference": "5", "source_file": "examples/seeds/math.jsonl", "source_line": i,
                   "payload": {"id": f"s{i}"}, "run_id": "r1", "created_at": T}
                  for i, (d, topic) in enumerate([("math", "arithmetic"), ("math", "algebra"), ("code", "lists")])],
        "templates": [{"template_id": "math@abc", "name": "math", "domain": "math", "version": "abc",
                       "body": "{{ question }}", "source_file": "examples/templates/math.j2", "created_at": T}],
        "prompts": [{"prompt_id": f"p{i}", "seed_id": f"s{i}", "template_id": "math@abc", "domain": "math",
                     "split": "train", "text": f"q{i}", "reference": "5", "run_id": "r1", "created_at": T}
                    for i in range(3)],
        "teachers": [{"teacher_id": "t1", "backend": "openai", "model": "teacher-model",
                      "params": {"temperature": 0.7}, "created_at": T},
                     # an iterated round's teacher: the base + run tr1's student adapter
                     {"teacher_id": "t2", "backend": "transformers", "model": "student",
                      "params": {"temperature": 0.7, "adapter": "runs/tr1"}, "created_at": T}],
        "generations": [{"generation_id": f"g{i}", "prompt_id": f"p{i % 3}", "teacher_id": "t1" if i < 3 else "t2",
                         "sample_index": i // 3, "raw": "\\boxed{5}", "answer": "5", "finish_reason": "stop",
                         "prompt_tokens": 10, "completion_tokens": 20 + i, "latency_s": 0.5, "cost_usd": 0.001,
                         "run_id": "r1", "created_at": T} for i in range(4)],
        "verifications": [{"verification_id": f"v{i}", "generation_id": f"g{i}", "verifier": verifier,
                           "version": "1", "passed": passed, "reason": reason, "details": details,
                           "run_id": "r1", "created_at": T}
                          for i, (verifier, passed, reason, details) in enumerate([
                              ("math", True, "match", None), ("math", False, "mismatch", None),
                              ("code", True, "tests_passed", {"isolation": "bwrap+seccomp"})])],
        "rejections": [{"rejection_id": "x1", "stage": "curate", "generation_id": "g1", "reason": "decontaminated",
                        "details": {"eval_prompt_id": "pe", "field": "prompt", "ngram": "a b c d e f g h"},
                        "run_id": "r1", "created_at": T}],
        "curated": [{"generation_id": g, "prompt_id": p, "content_hash": g, "run_id": "r1", "created_at": T}
                    for g, p in [("g0", "p0"), ("g2", "p2")]],
        "snapshots": [{"snapshot_id": "sn1", "name": "quickstart-v1", "spec": {}, "n_distilled": 2, "n_general": 0,
                       "content_hash": "h", "run_id": "r1", "created_at": T}],
        "snapshot_rows": [{"snapshot_id": "sn1", "row_index": i, "kind": "distilled", "generation_id": g,
                           "prompt": "q", "completion": "5"} for i, g in enumerate(["g0", "g2"])],
        "training_runs": [{"training_run_id": "tr1", "snapshot_id": "sn1", "base_model": "student",
                           "config": {"method": "sft"}, "output_dir": "runs/tr1", "status": "completed",
                           "steps": 2, "train_loss": 1.5, "run_id": "r1", "started_at": T, "finished_at": T}],
        "evaluations": [{"evaluation_id": f"e-{role}", "role": role, "model": "m", "training_run_id": tr,
                         "split": "eval", "n": 2, "correct": 1, "accuracy": 0.5, "run_id": "r1", "created_at": T}
                        for role, tr in [("base", None), ("student", "tr1")]],
        "evaluation_metrics": [{"evaluation_id": f"e-{role}", "metric": metric, "value": 0.5, "created_at": T}
                               for role in ("base", "student") for metric in ("accuracy", "mean_latency_s")],
        "request_failures": [{"generation_id": "gf", "prompt_id": "p0", "teacher_id": "t1", "sample_index": 1,
                              "error_type": "rate_limited", "status_code": 429, "message": "slow down",
                              "attempts": 3, "run_id": "r1", "first_failed_at": T, "last_failed_at": T}],
    }
    for table, table_rows in rows.items():
        assert wh.insert(table, table_rows) == len(table_rows), table
    return wh


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "warehouse.duckdb"
    demo_warehouse(path)
    return path


def test_cli_is_the_pinned_duckdb_line():
    out = run_cli("--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == f"v{duckdb.__version__}", "pin duckdb-cli to the duckdb version in pyproject"


def test_cli_opens_the_warehouse_and_reads_its_storage_version(demo_db):
    out = run_cli("-readonly", "-json", str(demo_db), "-c",
                  "SELECT tags['storage_version'] AS v FROM duckdb_databases() WHERE database_name = 'warehouse'")
    assert out.returncode == 0 and not out.stderr, out.stderr
    assert json.loads(out.stdout) == [{"v": "v1.0.0+"}]


@pytest.mark.parametrize("statement", readme_statements(), ids=lambda s: " ".join(s.split())[:50])
def test_readme_query_runs_in_the_cli_as_in_python(demo_db, statement):
    out = run_cli("-readonly", "-json", str(demo_db), "-c", statement)
    assert out.returncode == 0 and not out.stderr, f"{out.stderr}\n{statement}"
    cli_rows = json.loads(out.stdout or "[]")
    with duckdb.connect(str(demo_db), read_only=True) as con:
        cur = con.execute(statement)
        columns = [d[0] for d in cur.description]
        py_rows = cur.fetchall()
    assert cli_rows, f"the demo-shaped warehouse gives this README query no row; add rows to demo_warehouse()\n" \
                     f"{statement}"
    assert [list(r) for r in cli_rows] == [columns] * len(py_rows), "the CLI and the Python API disagree"


def test_the_ducklake_extension_wheel_loads_in_python_and_in_the_cli(demo_db, tmp_path):
    """DuckLake (the planned path to many writers) copies a warehouse table into a lake with the Python API;
    the CLI loads the same extension file and reads the lake back."""
    ext, lake = ducklake_extension(), tmp_path / "lake.ducklake"
    with duckdb.connect() as con:
        con.execute(f"LOAD '{ext}'")
        con.execute(f"ATTACH '{demo_db}' AS wh (READ_ONLY)")
        con.execute(f"ATTACH 'ducklake:{lake}' AS lake (DATA_PATH '{tmp_path / 'lake-data'}')")
        con.execute("CREATE TABLE lake.rejections AS SELECT * FROM wh.rejections")
    out = run_cli("-json", "-c", f"LOAD '{ext}'; ATTACH 'ducklake:{lake}' AS lake (READ_ONLY); "
                  "SELECT reason, details->>'field' AS field FROM lake.rejections")
    assert out.returncode == 0 and not out.stderr, out.stderr
    assert json.loads(out.stdout) == [{"reason": "decontaminated", "field": "prompt"}]
