"""`distill eval` (score base, student and teacher) and its history: `eval list | compare | chart`.

Scoring runs when no subcommand is given, so `distill eval -r RECIPE [--training-run ID]` works as it
always did; the subcommands only read the warehouse (no Prefect, nothing written).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from flows.errors import friendly

eval_app = typer.Typer(help="Score base student, trained student and teacher (no subcommand), or read the "
                            "evaluation history: list, compare, chart.")
console = Console()
Warehouse_ = Annotated[str | None, typer.Option("--warehouse", "-w", envvar="DISTILL_WAREHOUSE",
                                                help="DuckDB file (default ./warehouse.duckdb)")]
Split_ = Annotated[str | None, typer.Option(help="only evaluations on this split (e.g. eval, gsm8k)")]
CI_METRICS = ("accuracy", "accuracy_ci_low", "accuracy_ci_high")  # shown as accuracy and its interval


def _lookup_error(key: str, problem: str, fix: str):
    from flows.cli_checks import Misuse

    return Misuse(key, problem, fix)


@eval_app.callback(invoke_without_command=True)
@friendly
def score(ctx: typer.Context,
          training_run: Annotated[str | None, typer.Option(help="training run id to score as the student")] = None,
          recipe: Annotated[str | None, typer.Option("--recipe", "-r", help="recipe name in recipes/ or a YAML "
                                                     "path (default: quickstart, announced)")] = None,
          warehouse: Warehouse_ = None) -> None:
    """Score base student, trained student and teacher on the held-out prompts (no subcommand)."""
    if ctx.invoked_subcommand is not None:
        return
    from flows.cli_checks import announce_recipe, check_training_run, validate_recipe
    from flows.factory import eval_flow
    from flows.summary import eval_table, print_wide, topic_table

    recipe = announce_recipe(recipe)
    validate_recipe(recipe, teacher_calls=False, evaluates=True)
    if training_run is not None:
        check_training_run(warehouse, training_run)
    rows = eval_flow(training_run_id=training_run, recipe=recipe, warehouse=warehouse)
    for shown in (eval_table(rows), topic_table(rows)):
        if shown is not None:
            print_wide(console, shown)


@eval_app.command("list")
@friendly
def list_(split: Split_ = None,
          fmt: Annotated[str, typer.Option("--format", help="table | vertical | markdown | csv | json")] = "table",
          warehouse: Warehouse_ = None) -> None:
    """Every recorded evaluation with its accuracy, 95% Wilson interval and stored metrics.

    Oldest first: when, role, model, method, snapshot, split, n, correct, accuracy, interval, and one column per
    other metric stored for any evaluation (empty where it does not apply)."""
    from flows.summary import check_format, print_rows
    from warehouse.db import Warehouse

    check_format(fmt)
    rows = history(Warehouse(warehouse), split)
    if fmt == "json":
        console.print_json(data=rows, default=str)
        return
    names = sorted({m for r in rows for m in r["metrics"]} - set(CI_METRICS))
    print_rows(console, [_flat(r, names) for r in rows], fmt, columns=_columns(names))


def history(wh, split: str | None = None) -> list[dict]:
    """Evaluations with their interval (stored, or computed from n and correct) and their stored metrics."""
    from evaluation.metrics.interval import wilson
    from warehouse.eval_history import list_evaluations, metric_table

    metrics = metric_table(wh)
    out = []
    for e in list_evaluations(wh, split):
        m = metrics.get(e["evaluation_id"], {})
        low, high = wilson(e["correct"], e["n"]) if e["n"] else (None, None)
        out.append({**e, "ci_low": m.get("accuracy_ci_low", low), "ci_high": m.get("accuracy_ci_high", high),
                    "metrics": m})
    return out


def _columns(names: list[str]) -> list[str]:
    return ["when", "evaluation", "role", "model", "method", "snapshot", "split", "n", "correct", "accuracy",
            "95% CI", *names]


def _flat(r: dict, names: list[str]) -> dict:
    return {"when": str(r["created_at"])[:16], "evaluation": r["evaluation_id"][:12], "role": r["role"],
            "model": r["model"], "method": r["method"], "snapshot": r["snapshot"], "split": r["split"], "n": r["n"],
            "correct": r["correct"], "accuracy": _pct(r["accuracy"]), "95% CI": _ci(r),
            **{k: _num(r["metrics"].get(k)) for k in names}}


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f}%"


def _ci(r: dict) -> str:
    return "" if r["ci_low"] is None else f"{100 * r['ci_low']:.1f}-{100 * r['ci_high']:.1f}%"


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:.4g}"


@eval_app.command("compare")
@friendly
def compare(a: Annotated[str, typer.Argument(help="evaluation id or training run id (a unique prefix is enough)")],
            b: Annotated[str, typer.Argument(help="evaluation id or training run id (a unique prefix is enough)")],
            fmt: Annotated[str, typer.Option("--format", help="table | json")] = "table",
            warehouse: Warehouse_ = None) -> None:
    """Two evaluations side by side, paired by exact McNemar on the prompts both answered.

    Accuracy with its 95% interval each; on the shared prompts, the items that flip each way and the exact
    McNemar p-value. A training run id stands for its newest evaluation on a split the other side was also
    scored on."""
    from warehouse.db import Warehouse

    if fmt not in ("table", "json"):
        raise typer.BadParameter("--format must be table or json")
    wh = Warehouse(warehouse)
    result = paired_comparison(wh, *pick_pair(wh, a, b))
    if fmt == "json":
        console.print_json(data=result, default=str)
        return
    _print_comparison(result)


def resolve(wh, key: str) -> list[dict]:
    """The evaluations `key` may stand for, newest first: the one whose id starts with it, else those of the one
    training run whose id starts with it."""
    from warehouse.eval_history import evaluations_matching

    rows = evaluations_matching(wh, key)
    by_id = [r for r in rows if r["evaluation_id"].startswith(key)]
    if len(by_id) > 1:
        raise _lookup_error(f"evaluation {key!r}", f"the prefix matches {len(by_id)} evaluations",
                            "give more of the id (`distill eval list --format json` shows them whole)")
    if by_id:
        return by_id
    runs = {r["training_run_id"] for r in rows}
    if len(runs) > 1:
        raise _lookup_error(f"training run {key!r}", f"the prefix matches {len(runs)} training runs",
                            "give more of the id")
    if not rows:
        raise _lookup_error(f"evaluation {key!r}", "no evaluation, and no evaluated training run, has an id "
                            "starting with it", "pick an id from `distill eval list`")
    return rows


def pick_pair(wh, a: str, b: str) -> tuple[dict, dict]:
    """The newest pair on a shared split (else the newest of each: then nothing is paired)."""
    ra, rb = resolve(wh, a), resolve(wh, b)
    shared = [(x, y) for x in ra for y in rb if x["split"] == y["split"]]
    return shared[0] if shared else (ra[0], rb[0])


def paired_comparison(wh, a: dict, b: dict) -> dict:
    """Accuracy and interval of each; on the shared prompt ids, the 2x2 counts, the flipped prompt ids and the
    exact two-sided McNemar p-value (None when nothing is shared)."""
    from evaluation.metrics.compare import mcnemar_exact
    from evaluation.metrics.interval import wilson
    from warehouse.eval_history import item_outcomes

    ia, ib = item_outcomes(wh, a["evaluation_id"]), item_outcomes(wh, b["evaluation_id"])
    shared = sorted(set(ia) & set(ib))
    right_to_wrong = [p for p in shared if ia[p] and not ib[p]]
    wrong_to_right = [p for p in shared if ib[p] and not ia[p]]

    def side(e: dict) -> dict:
        low, high = wilson(e["correct"], e["n"]) if e["n"] else (None, None)
        keep = ("evaluation_id", "role", "model", "method", "snapshot", "training_run_id", "split", "n", "correct",
                "accuracy", "created_at")
        return {**{k: e[k] for k in keep}, "ci_low": low, "ci_high": high}

    return {"a": side(a), "b": side(b), "shared": len(shared),
            "both_right": sum(ia[p] and ib[p] for p in shared),
            "both_wrong": sum(not ia[p] and not ib[p] for p in shared),
            "right_to_wrong": right_to_wrong, "wrong_to_right": wrong_to_right,
            "mcnemar_p": mcnemar_exact(len(right_to_wrong), len(wrong_to_right)) if shared else None}


def _print_comparison(r: dict) -> None:
    from flows.summary import print_rows

    print_rows(console, [{"": name.upper(), "evaluation": e["evaluation_id"][:12], "role": e["role"],
                          "model": e["model"], "method": e["method"], "snapshot": e["snapshot"], "split": e["split"],
                          "correct": f"{e['correct']}/{e['n']}", "accuracy": _pct(e["accuracy"]), "95% CI": _ci(e)}
                         for name, e in (("a", r["a"]), ("b", r["b"]))])
    if not r["shared"]:
        console.print("no prompt answered by both: nothing to pair (different splits?)", highlight=False)
        return
    console.print(f"paired on {r['shared']} shared prompts: {r['both_right']} right in both, {r['both_wrong']} wrong "
                  f"in both; {len(r['right_to_wrong'])} flip right -> wrong from A to B, {len(r['wrong_to_right'])} "
                  f"flip wrong -> right; exact McNemar p = {r['mcnemar_p']:.4g} (--format json lists the flipped "
                  "prompt ids)", highlight=False, soft_wrap=True)


@eval_app.command("chart")
@friendly
def chart(out: Annotated[str, typer.Option("--out", "-o", help="chart file: .png writes PNG, anything else SVG; "
                                           "a relative path is relative to the current directory")],
          split: Split_ = None, warehouse: Warehouse_ = None) -> None:
    """A chart of every evaluation's accuracy with its 95% Wilson interval, per model and method."""
    from pathlib import Path

    from evaluation.chart import render_accuracy_chart
    from warehouse.db import Warehouse

    points = chart_points(history(Warehouse(warehouse), split))
    if not points:
        raise _lookup_error(f"warehouse {Warehouse(warehouse).path}", "no evaluations recorded" +
                            (f" on split {split!r}" if split else ""), "run `distill eval -r RECIPE` first")
    path = render_accuracy_chart(points, Path(out).resolve())
    console.print(f"chart: {path} ({len(points)} evaluations)", highlight=False, soft_wrap=True)


def chart_points(rows: list[dict]) -> list[dict]:
    """One point per evaluation, labelled `role · model · method @ snapshot`; an id is added where a label
    repeats on a split (the same model scored under two eval configs)."""
    def kind(r: dict) -> str:
        role = r["role"].split(":")[0]
        return role if role in ("base", "teacher") else r["method"] or role

    points = []
    for r in rows:
        label = " · ".join(x for x in (r["role"], r["model"], r["method"]) if x)
        label += f" @ {r['snapshot']}" if r["snapshot"] else ""
        points.append({"label": label, "split": r["split"], "kind": kind(r), "n": r["n"], "accuracy": r["accuracy"],
                       "ci_low": r["ci_low"], "ci_high": r["ci_high"], "id": r["evaluation_id"]})
    seen: dict[tuple[str, str], int] = {}
    for p in points:
        seen[(p["split"], p["label"])] = seen.get((p["split"], p["label"]), 0) + 1
    for p in points:
        if seen[(p["split"], p["label"])] > 1:
            p["label"] += f" [{p['id'][:8]}]"
    return points
