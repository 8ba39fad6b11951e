"""`distill snapshot create | list | show`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from flows.errors import friendly

snapshot_app = typer.Typer(help="Immutable, named, hashed training snapshots.", no_args_is_help=True)
console = Console()
Warehouse_ = Annotated[str | None, typer.Option("--warehouse", "-w", envvar="DISTILL_WAREHOUSE")]


@snapshot_app.command("create")
@friendly
def create(name: Annotated[str, typer.Argument(help="a new, unused snapshot name")],
           general: Annotated[str | None, typer.Option(help="general data: local JSONL/Parquet or hub id")] =
           "examples/general/instructions.jsonl",
           ratio: Annotated[str, typer.Option(help="general : distilled rows")] = "1:2",
           domain: Annotated[list[str] | None, typer.Option(help="include only these domains (repeatable)")] = None,
           seed: Annotated[int, typer.Option(help="seed for sampling general rows")] = 0,
           warehouse: Warehouse_ = None) -> None:
    """Freeze the curated rows (plus a general-data mix) under a new name."""
    from flows.factory import snapshot_flow
    from training.config import SnapshotSpec

    spec = SnapshotSpec(name=name, domains=domain or None, general=general, general_ratio=ratio, seed=seed)

    snap = snapshot_flow(spec=spec.to_dict(), warehouse=warehouse)
    state = "created" if snap["created"] else "already exists with identical content"
    console.print(f"snapshot {snap['name']} {state}: {snap['n_distilled']} distilled + "
                  f"{snap['n_general']} general rows, hash {snap['content_hash'][:16]}")


@snapshot_app.command("list")
@friendly
def list_(warehouse: Warehouse_ = None) -> None:
    """All snapshots, newest first."""
    from flows.summary import print_rows
    from warehouse.db import Warehouse

    rows = Warehouse(warehouse).query(
        "SELECT name, snapshot_id, n_distilled, n_general, left(content_hash, 16) AS content_hash, created_at "
        "FROM snapshots ORDER BY created_at DESC", read_only=True)
    print_rows(console, rows)


@snapshot_app.command("show")
@friendly
def show(name: Annotated[str, typer.Argument(help="snapshot name or id")],
         rows: Annotated[int, typer.Option(help="example rows to print")] = 3,
         warehouse: Warehouse_ = None) -> None:
    """A snapshot's spec, counts, hash and composition."""
    from flows.summary import print_rows
    from warehouse.db import Warehouse
    from warehouse.snapshots import get_snapshot

    wh = Warehouse(warehouse)
    snap = get_snapshot(wh, name)
    console.print_json(data={**snap, "spec": json.loads(snap["spec"])}, default=str)
    print_rows(console, wh.query("""
        SELECT r.kind, coalesce(p.domain, 'general') AS domain, count(*) AS rows
        FROM snapshot_rows r LEFT JOIN generations g USING (generation_id) LEFT JOIN prompts p USING (prompt_id)
        WHERE r.snapshot_id = ? GROUP BY ALL ORDER BY ALL""", [snap["snapshot_id"]], read_only=True))
    print_rows(console, wh.query("SELECT row_index, kind, prompt, completion FROM snapshot_rows "
                                 "WHERE snapshot_id = ? ORDER BY row_index LIMIT ?",
                                 [snap["snapshot_id"], rows], read_only=True))
