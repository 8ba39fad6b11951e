"""Tables the CLI prints: the factory summary, warehouse status, query results."""

from __future__ import annotations

import csv
import io
import json

from rich.console import Console
from rich.table import Table

from warehouse.db import Warehouse
from warehouse.status import warehouse_status


def print_summary(console: Console, s: dict) -> None:
    t, snap, tr = s["totals"], s["snapshot"], s["train"]
    table = Table(title=f"factory run {s['run_id']} (recipe {s['recipe']})", show_header=True)
    table.add_column("stage")
    table.add_column("figure", justify="right")
    rate = t["verified_rate"]
    rows = [
        ("prompts (train / eval)", f"{t['train_prompts']} / {t['eval_prompts']}"),
        ("prompts sent to the teacher", str(t["prompts_sent"])),
        ("generations (new this run)", f"{t['generations']} ({s['generate'].get('stored', 0)})"),
        ("failed requests (retried next run)", str(t["failed_requests"])),
        ("verified", f"{100 * rate:.1f}%" if rate is not None else "-"),
        ("kept after curation + dedup", str(t["curated"])),
        ("snapshot", f"{snap['name']}"),
        ("snapshot rows (distilled / general)", f"{snap['n_distilled']} / {snap['n_general']}"),
        ("training steps / final loss", f"{tr['steps']} / {tr['train_loss']:.4f}"),
    ]
    spent = s["generate"].get("spent") or {}
    if spent.get("cost_usd"):
        rows.insert(4, ("teacher spend this run", f"${spent['cost_usd']:.4f}"))
    if spent.get("stopped"):
        rows.insert(4, ("generation stopped", spent["stopped"]))
    for name, value in rows:
        table.add_row(name, value)
    for e in s["eval"]:
        table.add_row(f"eval accuracy: {e['role']}", f"{100 * e['accuracy']:.1f}% ({e['correct']}/{e['n']})")
    console.print(table)


def status_tables(wh: Warehouse) -> list[Table]:
    """`distill status` as three rich tables; the figures come from `warehouse.status`."""
    status = warehouse_status(wh)
    counts = Table("table", "rows", title=f"warehouse {wh.path}")
    for name, n in status["counts"].items():
        counts.add_row(name, str(n))
    outcome = Table("stage", "outcome", "rows", title="generations by stage")
    for row in status["stages"]:
        outcome.add_row(*(str(row[k]) for k in ("stage", "outcome", "rows")))
    recent = Table("flow", "status", "started", "finished", title="recent runs")
    for row in status["recent"]:
        recent.add_row(*(_cell(row[k]) for k in ("flow", "status", "started_at", "finished_at")))
    return [counts, outcome, recent]


def print_rows(console: Console, rows: list[dict], fmt: str = "table") -> None:
    if fmt == "json":
        console.print_json(data=rows, default=str)
        return
    if fmt == "csv":
        buf = io.StringIO()
        if rows:
            writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(buf.getvalue(), end="")
        return
    table = Table(*(rows[0].keys() if rows else ["(no rows)"]))
    for r in rows:
        table.add_row(*(_cell(v) for v in r.values()))
    console.print(table)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def eval_table(rows: list[dict]) -> Table:
    """Accuracy with its 95% Wilson interval per contestant; for the student, retention, speedup and the
    exact McNemar p-values against base and teacher on the same items."""
    table = Table("role", "model", "correct", "accuracy", "95% CI", "retention", "speedup", "p vs base",
                  "p vs teacher", title="evaluation (p: exact McNemar on the same items)")
    for r in rows:
        m = r.get("metrics", {})
        ci = (f"{100 * m['accuracy_ci_low']:.1f}-{100 * m['accuracy_ci_high']:.1f}%"
              if m.get("accuracy_ci_low") is not None else "")
        table.add_row(r["role"], r["model"], f"{r['correct']}/{r['n']}", f"{100 * r['accuracy']:.1f}%", ci,
                      _fmt(m.get("retention"), ".2f"), _fmt(m.get("speedup"), ".1f", "x"),
                      _fmt(m.get("p_vs_base"), ".3f"), _fmt(m.get("p_vs_teacher"), ".3f"))
    return table


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "" if value is None else f"{format(value, spec)}{suffix}"
