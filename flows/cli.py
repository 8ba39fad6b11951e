"""`distill`: the command line. Domain errors become one-line messages here, and only here."""

from __future__ import annotations

import os
import sys
from typing import Annotated

# Prefect's ephemeral API can take 10-30 s to come up on a loaded 2-core machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
# No network here (and no need to phone home): telemetry only logs errors.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

import typer
from rich.console import Console

from flows.cli_checks import announce_recipe, check_snapshot_exists, check_stored_logprobs, validate_recipe
from flows.cli_eval import eval_app
from flows.cli_recipe import recipe_app
from flows.cli_runs import runs_app, teachers
from flows.cli_snapshot import snapshot_app
from flows.errors import friendly
from flows.summary import check_format, print_summary

# Exit codes: 0 done; 2 bad input or an expected error (one line on stderr, nothing spent); 3 the run completed
# but some teacher requests failed their last attempt (they stay pending: rerun to retry).
EXIT_REQUESTS_FAILED = 3

app = typer.Typer(help="Distillery: seeds -> teacher -> verified CoT data -> snapshots -> distilled students.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(snapshot_app, name="snapshot")
app.add_typer(eval_app, name="eval")
app.add_typer(recipe_app, name="recipe")
app.add_typer(runs_app, name="runs")
app.command("teachers")(friendly(teachers))
console = Console()

Warehouse_ = Annotated[str | None, typer.Option("--warehouse", "-w", envvar="DISTILL_WAREHOUSE",
                                                help="DuckDB file (default ./warehouse.duckdb)")]
Recipe_ = Annotated[str | None, typer.Option("--recipe", "-r", help="recipe name in recipes/ or a YAML path "
                                             "(default: quickstart, announced on stderr)")]
DryRun_ = Annotated[bool, typer.Option("--dry-run", help=(
    "print what would be sent (prompts and samples per teacher, domain and template; tokens and spend from the "
    "recipe's prices) and exit: no teacher call, no write, no Prefect"))]


@app.command()
@friendly
def init(warehouse: Warehouse_ = None,
         model: Annotated[bool, typer.Option(help="also materialise the embedded model")] = True) -> None:
    """Create the warehouse (applying migrations) and the local model cache."""
    from warehouse.db import Warehouse

    wh = Warehouse(warehouse)
    applied = wh.init()
    console.print(f"warehouse {wh.path}: {len(applied)} migration(s) applied")
    if model:
        from generators.local_models import DEFAULT_MODEL, resolve_model

        console.print(f"model {DEFAULT_MODEL}: {resolve_model(DEFAULT_MODEL)}")


@app.command()
@friendly
def run(recipe_arg: Annotated[str | None, typer.Argument(
            metavar="RECIPE", help="the recipe, as with -r (kept for `distill run quickstart`)")] = None,
        recipe: Recipe_ = None, warehouse: Warehouse_ = None, dry_run: DryRun_ = False) -> None:
    """Run the whole factory from a recipe and print the summary."""
    if recipe_arg and recipe and recipe_arg != recipe:
        raise typer.BadParameter(f"two recipes given ({recipe_arg!r} and -r {recipe!r}): pass one")
    recipe = announce_recipe(recipe or recipe_arg)
    validate_recipe(recipe, evaluates=True, snapshots=True, teacher_calls=not dry_run)
    if dry_run:
        return _print_dry_run(recipe, warehouse, evaluates=True)
    from flows.factory import factory

    with _recipe_lease(recipe, warehouse):
        summary = factory(recipe=recipe, warehouse=warehouse)
    print_summary(console, summary)
    _exit_if_requests_failed(summary["generate"], *(r["generate"] for r in (summary.get("rounds") or [])[1:]))


@app.command()
@friendly
def generate(recipe: Recipe_ = None, warehouse: Warehouse_ = None, dry_run: DryRun_ = False) -> None:
    """Register seeds and prompts, generate what is missing, verify it."""
    recipe = announce_recipe(recipe)
    validate_recipe(recipe, teacher_calls=not dry_run)
    if dry_run:
        return _print_dry_run(recipe, warehouse)
    from flows.factory import generate_flow

    with _recipe_lease(recipe, warehouse):
        out = generate_flow(recipe=recipe, warehouse=warehouse)
    console.print_json(data=out)
    _exit_if_requests_failed(out["generate"])


@app.command()
@friendly
def curate(recipe: Recipe_ = None, warehouse: Warehouse_ = None) -> None:
    """Verify pending generations, then curate: filters and exact dedup, every drop recorded."""
    recipe = announce_recipe(recipe)
    validate_recipe(recipe, teacher_calls=False)
    from flows.factory import curate_flow

    console.print_json(data=curate_flow(recipe=recipe, warehouse=warehouse))


@app.command()
@friendly
def train(snapshot: Annotated[str, typer.Argument(help="snapshot name or id")], recipe: Recipe_ = None,
          method: Annotated[str | None, typer.Option(
              help="train only this method (sft, kd, gkd, ...: `distill recipe explain --section train`); "
                   "default: the recipe's train.method and its students")] = None,
          warehouse: Warehouse_ = None) -> None:
    """Fine-tune the student on a snapshot with the recipe's `train:` settings.

    Outputs go to the recipe's `train.output_root` (default runs/, relative to the recipe's project folder)."""
    from training.methods import METHODS

    if method is not None and method not in METHODS:
        raise typer.BadParameter(f"unknown method {method!r}; use one of: {', '.join(sorted(METHODS))}")
    check_snapshot_exists(warehouse, snapshot)  # the cheapest check first
    recipe = announce_recipe(recipe)
    from flows.recipe import student_configs

    check_stored_logprobs(warehouse, snapshot, student_configs(validate_recipe(recipe, teacher_calls=False), method))
    from flows.factory import train_flow

    result = _without_log_history(train_flow(snapshot_name=snapshot, recipe=recipe, warehouse=warehouse,
                                             method=method))
    if "students" in result:
        result["students"] = [_without_log_history(s) for s in result["students"]]
    console.print_json(data=result, default=str)


@app.command()
@friendly
def ablate(recipe: Recipe_ = None, ratios: Annotated[str, typer.Option(
               help="general:distilled ratios, comma-separated (0 = no general rows)")] = "0,1:4,1:1",
           warehouse: Warehouse_ = None) -> None:
    """Mixing ablation: the recipe's curated rows at each general:distilled ratio, one student each, evaluated
    together with the forgetting probes on. Generates nothing: run `distill run` (or generate + curate) first."""
    from flows.ablation import ablation, ablation_table, check_ablation, parse_ratios

    labels = parse_ratios(ratios)
    recipe = announce_recipe(recipe)
    cfg = validate_recipe(recipe, evaluates=True, snapshots=True)  # the teacher may answer the eval
    check_ablation(cfg, warehouse)
    from flows.summary import print_wide

    print_wide(console, ablation_table(ablation(recipe=recipe, warehouse=warehouse, ratios=labels), cfg.name))


def _without_log_history(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "log_history"}


@app.command()
@friendly
def status(warehouse: Warehouse_ = None) -> None:
    """Row counts per table, and generations per stage outcome."""
    from flows.summary import status_tables
    from warehouse.db import Warehouse

    for table in status_tables(Warehouse(warehouse)):
        console.print(table)


@app.command()
@friendly
def sql(query: Annotated[str, typer.Argument(help="SQL, run read-only; several statements (`;`) each show "
                                                 "their result")],
        warehouse: Warehouse_ = None,
        fmt: Annotated[str, typer.Option("--format", help="table | vertical | markdown | csv | json (csv and json: "
                                         "one statement)")] = "table") -> None:
    """Run a read-only query; retries while a flow holds the write lock.

    Nothing is cut: piped output is as wide as its rows, and `--format vertical` prints one `column | value` line
    per field."""
    from flows.cli_checks import Misuse
    from flows.summary import print_rows
    from warehouse.db import Warehouse

    check_format(fmt)
    results = Warehouse(warehouse).query_each(query, read_only=True)
    if not results:
        raise Misuse("query", "no SQL statement in it", "pass one statement, e.g. `distill sql 'SHOW TABLES'`")
    if len(results) > 1 and fmt in ("csv", "json"):
        raise Misuse("query", f"{len(results)} statements, but --format {fmt} holds one result",
                     "run one statement per call, or use --format table, vertical or markdown to see each")
    for i, (columns, rows) in enumerate(results, start=1):
        if len(results) > 1:
            print(f"{'' if i == 1 else chr(10)}-- result {i} of {len(results)}")
        print_rows(console, [dict(zip(columns, r)) for r in rows], fmt, columns=columns)


@app.command()
@friendly
def report(out: Annotated[str | None, typer.Option("--out", "-o", help=(
               "chart file: .png writes PNG, anything else SVG; a relative path is relative to the current "
               "directory; default: beside the warehouse, WAREHOUSE.report.svg"))] = None,
           fmt: Annotated[str, typer.Option("--format", help=(
               "table | json (an object: quality, rejections, trend, evaluation)"))] = "table",
           warehouse: Warehouse_ = None) -> None:
    """Data quality per topic, template and teacher (pass rate with counts, dedup, decontamination, tokens and
    cost per verified sample), rejections by stage and reason, the trend across runs and the latest evaluation."""
    from pathlib import Path

    from curation.report import render_chart, report_tables
    from flows.report import report_data
    from warehouse.db import Warehouse

    if fmt not in ("table", "json"):
        raise typer.BadParameter("--format must be table or json")
    wh = Warehouse(warehouse)
    out = str(Path(out).resolve() if out else Path(wh.path).resolve().with_suffix(".report.svg"))
    data = report_data(wh)
    if fmt == "json":
        console.print_json(data=data, default=str)
    else:
        for table in report_tables(data):
            console.print(table)
    Console(stderr=True).print(f"chart: {render_chart(data, out)}", highlight=False)


@app.command()
@friendly
def serve(file: Annotated[str, typer.Option(help="deployment file")] = "prefect.yaml") -> None:
    """Serve the deployments in prefect.yaml (the scheduled refresh) until interrupted."""
    from flows.deployments import serve_deployments

    serve_deployments(file)


def _print_dry_run(recipe: str, warehouse: str | None, evaluates: bool = False) -> None:
    from flows.cli_runs import dry_run_plan, print_plan

    print_plan(dry_run_plan(recipe, warehouse, evaluates))


def _recipe_lease(recipe: str, warehouse: str | None):
    """The recipe's lease on the warehouse, taken before Prefect starts: a second run refuses in one line."""
    from flows.recipe import load_recipe
    from warehouse.db import Warehouse
    from warehouse.lease import lease

    return lease(Warehouse(warehouse), load_recipe(recipe).name)


def _exit_if_requests_failed(*generated: dict) -> None:
    """Completed, but some requests failed their last attempt (in any round): say so and exit
    EXIT_REQUESTS_FAILED."""
    from flows.generate import failure_warning

    failed = [g for g in generated if g.get("failed")]
    for g in failed:
        Console(stderr=True).print(f"[bold yellow]warning:[/] {failure_warning(g)}", highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(EXIT_REQUESTS_FAILED)


# commands that start Prefect (and with it a temporary API server): they get a watchdog (flows/watchdog.py)
FLOW_COMMANDS = {"run", "generate", "curate", "train", "eval", "serve", "snapshot", "ablate"}
READ_ONLY_SUBCOMMANDS = {"eval": {"list", "compare", "chart"}, "snapshot": {"list", "show", "diff", "export"}}


def starts_prefect(argv: list[str]) -> bool:
    """Whether `distill ARGV` may start Prefect: the flow commands, less their read-only subcommands and dry runs."""
    if not argv or argv[0] not in FLOW_COMMANDS or "--dry-run" in argv:
        return False
    return not (len(argv) > 1 and argv[1] in READ_ONLY_SUBCOMMANDS.get(argv[0], ()))


def main() -> None:
    if starts_prefect(sys.argv[1:]):
        from flows import watchdog

        watchdog.start()
    app()


if __name__ == "__main__":
    sys.exit(main())
