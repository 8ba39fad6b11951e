"""`distill snapshot create | list | show | diff | export`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from flows.errors import friendly

snapshot_app = typer.Typer(help="Immutable, named, hashed training snapshots.", no_args_is_help=True)
console = Console()
Warehouse_ = Annotated[str | None, typer.Option("--warehouse", "-w", envvar="DISTILL_WAREHOUSE")]
DEFAULT_GENERAL = "examples/general/instructions.jsonl"
SNAPSHOT_COLUMNS = ["name", "snapshot_id", "n_distilled", "n_general", "content_hash", "created_at"]


@snapshot_app.command("create")
@friendly
def create(name: Annotated[str, typer.Argument(help="a new, unused snapshot name")],
           recipe: Annotated[str | None, typer.Option("--recipe", "-r", help=(
               "take the recipe's `snapshot:` settings (mix, filters, general data) as the defaults of the options "
               "below"))] = None,
           general: Annotated[str | None, typer.Option(help=(
               "general data: local JSONL/Parquet (relative to the current directory) or a hub id; default: the "
               f"recipe's, else {DEFAULT_GENERAL} in the project folder"))] = None,
           ratio: Annotated[str | None, typer.Option(help="general : distilled rows (default: the recipe's, else 1:2)")]
           = None,
           domain: Annotated[list[str] | None, typer.Option(help="include only these domains (repeatable)")] = None,
           template: Annotated[list[str] | None, typer.Option(
               help="include only these templates: name or name@version id (repeatable)")] = None,
           teacher: Annotated[list[str] | None, typer.Option(
               help="include only these teachers: teacher id or model name (repeatable)")] = None,
           since: Annotated[str | None, typer.Option(help="generations created on/after this ISO date (UTC)")] = None,
           until: Annotated[str | None, typer.Option(
               help="generations created up to this ISO date, that day included (UTC)")] = None,
           min_agreement: Annotated[float | None, typer.Option(
               help="min self-consistency agreement of synthesized problems (unlabelled seed problems = 1.0)")]
           = None,
           verified_only: Annotated[bool | None, typer.Option(
               "--verified-only/--no-verified-only", help="only rows whose latest verification passed "
               "[default: the recipe's, else verified-only]", show_default=False)] = None,
           seed: Annotated[int | None, typer.Option(help="seed for sampling general rows (default: the recipe's, "
                                                         "else 0)")] = None,
           warehouse: Warehouse_ = None) -> None:
    """Freeze the curated rows matching the filters (plus a general-data mix) under a new name.

    Checked first (general file, matching rows, a name already used with other content): misuse ends in one
    line, exit 2, before Prefect starts."""
    from flows.cli_checks import check_new_snapshot

    spec = snapshot_spec(name, recipe, {"general": general, "general_ratio": ratio, "seed": seed,
                                        "domains": domain or None, "templates": template or None,
                                        "teachers": teacher or None, "since": since, "until": until,
                                        "min_agreement": min_agreement, "verified_only": verified_only})
    check_new_snapshot(warehouse, spec)
    from flows.factory import snapshot_flow  # Prefect: imported only once the checks passed

    snap = snapshot_flow(spec=spec.to_dict(), warehouse=warehouse)
    state = "created" if snap["created"] else "already exists with identical content"
    console.print(f"snapshot {snap['name']} {state}: {snap['n_distilled']} distilled + "
                  f"{snap['n_general']} general rows, hash {snap['content_hash'][:16]}")


def snapshot_spec(name: str, recipe: str | None, given: dict):
    """The spec: the options given, else the recipe's `snapshot:` settings (with -r), else the defaults (the
    shipped general instructions at 1:2). A relative --general is taken relative to the current directory."""
    from flows.recipe import PROJECT_ROOT, load_recipe
    from warehouse.snapshot_spec import SnapshotSpec

    base = load_recipe(recipe).snapshot.to_dict() if recipe else {
        **SnapshotSpec().to_dict(), "general": str(PROJECT_ROOT / DEFAULT_GENERAL)}
    chosen = {k: v for k, v in given.items() if v is not None}
    if chosen.get("general"):
        chosen["general"] = _local_or_hub(chosen["general"])
    try:
        return SnapshotSpec(**{**base, **chosen, "name": name})
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _local_or_hub(source: str) -> str:
    """An absolute path for a local file (the flow may run elsewhere); a hub id as it is."""
    from flows.cli_checks import DATA_SUFFIXES

    path = Path(source)
    return str(path.resolve()) if path.exists() or path.suffix.lower() in DATA_SUFFIXES else source


@snapshot_app.command("list")
@friendly
def list_(fmt: Annotated[str, typer.Option("--format", help="table | vertical | markdown | csv | json")] = "table",
          warehouse: Warehouse_ = None) -> None:
    """All snapshots, newest first (json: whole hashes)."""
    from flows.summary import check_format, print_rows
    from warehouse.db import Warehouse
    from warehouse.snapshots import list_snapshots

    check_format(fmt)
    rows = list_snapshots(Warehouse(warehouse))
    if fmt != "json":
        rows = [{**r, "content_hash": r["content_hash"][:16]} for r in rows]
    print_rows(console, rows, fmt, columns=SNAPSHOT_COLUMNS)


@snapshot_app.command("show")
@friendly
def show(name: Annotated[str, typer.Argument(help="snapshot name or id")],
         rows: Annotated[int, typer.Option(help="example rows to print")] = 3,
         warehouse: Warehouse_ = None) -> None:
    """A snapshot's spec, counts, hash, composition (per kind, domain, template, teacher) and first rows."""
    from rich.table import Table

    from flows.summary import print_rows
    from warehouse.db import Warehouse
    from warehouse.snapshots import composition, get_snapshot, snapshot_lineage

    wh = Warehouse(warehouse)
    snap = get_snapshot(wh, name)
    console.print_json(data={**snap, "spec": json.loads(snap["spec"])}, default=str)
    lineage = snapshot_lineage(wh, snap["snapshot_id"], read_only=True)
    table = Table("per", "value", "rows", title="composition")
    for dim, counts in composition(lineage).items():
        for i, (value, n) in enumerate(counts.items()):
            table.add_row(dim if i == 0 else "", value, str(n), end_section=i == len(counts) - 1)
    console.print(table)
    print_rows(console, [{k: r[k] for k in ("row_index", "kind", "prompt", "completion")} for r in lineage[:rows]])


@snapshot_app.command("diff")
@friendly
def diff(a: Annotated[str, typer.Argument(help="the older snapshot (name or id)")],
         b: Annotated[str, typer.Argument(help="the newer snapshot (name or id)")],
         rows: Annotated[int, typer.Option(help="added/removed rows to list in table format")] = 10,
         fmt: Annotated[str, typer.Option("--format", help="table | json")] = "table",
         warehouse: Warehouse_ = None) -> None:
    """Rows added and removed from A to B (by generation_id / general_id), and the change in composition."""
    from rich.table import Table

    from warehouse.db import Warehouse
    from warehouse.snapshots import COMPOSITION, diff_snapshots

    if fmt not in ("table", "json"):
        raise typer.BadParameter("--format must be table or json")
    d = diff_snapshots(Warehouse(warehouse), a, b, read_only=True)
    if fmt == "json":
        console.print_json(data=d, default=str)
        return
    same = "identical content" if d["same_content"] else "different content"
    console.print(f"{d['a']['name']} ({d['a']['content_hash'][:12]}) -> {d['b']['name']} "
                  f"({d['b']['content_hash'][:12]}): {same}; {len(d['added'])} added, {len(d['removed'])} removed, "
                  f"{len(d['changed'])} changed, {d['unchanged']} unchanged", highlight=False, soft_wrap=True)
    for what in ("added", "removed", "changed"):
        if d[what]:
            table = Table("kind", "key", "domain", "prompt", title=f"rows {what} ({len(d[what])})")
            for r in d[what][:rows]:
                table.add_row(r["kind"], r["key"] or "", r["domain"], r["prompt"][:60])
            if len(d[what]) > rows:
                table.caption = f"{len(d[what]) - rows} more: --rows N or --format json"
            console.print(table)
    for dim in COMPOSITION:
        table = Table(dim, d["a"]["name"], d["b"]["name"], "change", title=f"composition per {dim}")
        for c in d["composition"][dim]:
            table.add_row(c["value"], str(c["a"]), str(c["b"]), f"{c['change']:+d}")
        console.print(table)


@snapshot_app.command("export")
@friendly
def export(name: Annotated[str, typer.Argument(help="snapshot name or id")],
           out: Annotated[str, typer.Option("--out", "-o", help=(
               "directory for NAME/ (the dataset folder: Parquet + README card; give it to load_dataset or "
               "`trl sft --dataset_name`) and NAME.json (the manifest); relative to the current directory"))],
           push_to_hub: Annotated[str | None, typer.Option(
               help="also push the dataset to this Hugging Face Hub repo id (needs network and a token)")] = None,
           warehouse: Warehouse_ = None) -> None:
    """Write a snapshot as a chat dataset folder (`messages`, and `prompt`/`completion` as chat turns, with lineage
    columns) that `datasets.load_dataset` and TRL load directly, and a JSON manifest beside it."""
    from warehouse.db import Warehouse
    from warehouse.snapshots import export_snapshot

    m = export_snapshot(Warehouse(warehouse), name, out, push_to_hub=push_to_hub)
    console.print(f"snapshot {m['name']}: {m['n_rows']} rows ({m['n_distilled']} distilled + {m['n_general']} "
                  f"general), hash {m['content_hash'][:16]}", highlight=False, soft_wrap=True)
    for what, path in m["files"].items():
        console.print(f"  {what}: {path}", highlight=False, soft_wrap=True)
    if m["pushed_to"]:
        console.print(f"  pushed to the Hub: {m['pushed_to']}", highlight=False)
