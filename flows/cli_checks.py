"""Checks the CLI runs before any flow starts: misuse ends in one message with the fix (exit 2), before
Prefect's temporary server starts and before a `runs` row is written.

The flows check again (they are also run by deployments), cheaply; here the point is to answer
in a second instead of after a server start, a failed run row and two tracebacks.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from generators.seeds import InputError

DEFAULT_RECIPE = "quickstart"
DATA_SUFFIXES = {".jsonl", ".json", ".parquet"}  # what curation.snapshot.load_general reads as a local file


class Misuse(InputError):
    """A name, id or path given on the command line that cannot work; `thing` names it."""

    def __init__(self, thing: str, problem: str, fix: str):
        super().__init__(thing, None, problem, fix)


def announce_recipe(recipe: str | None) -> str:
    """The recipe to use; when none was given, say on stderr that the default runs (never silently)."""
    if recipe is not None:
        return recipe
    from flows.recipe import resolve_recipe_path

    Console(stderr=True).print(f"recipe {DEFAULT_RECIPE} ({resolve_recipe_path(DEFAULT_RECIPE)}), the default: "
                               "pass -r RECIPE for another", highlight=False, soft_wrap=True)
    return DEFAULT_RECIPE


def validate_recipe(recipe: str, teacher_calls: bool = True, evaluates: bool = False, snapshots: bool = False):
    """Load and check the recipe and its inputs (a missing API key too, when the command calls teachers; the
    general-data file too, when it makes a snapshot); returns the Recipe."""
    from flows.recipe import check_credentials, load_inputs, load_recipe

    cfg = load_recipe(recipe)
    load_inputs(cfg, evaluates)
    if teacher_calls:
        check_credentials(cfg)
    if snapshots and cfg.snapshot.general:
        check_general(cfg.snapshot.general, f"{cfg.source}: snapshot.general")
    return cfg


def check_general(source: str, where: str = "--general") -> None:
    """A general-data source that looks like a local file (a data suffix, or a path that exists) must exist;
    anything else is a Hugging Face Hub dataset id, which only the load can check."""
    path = Path(source)
    if path.suffix.lower() in DATA_SUFFIXES and not path.is_file():
        resolved = "" if path.is_absolute() else f" (resolved to {path.resolve()})"
        raise Misuse(where, f"general data file {source} does not exist{resolved}",
                     "pass an existing JSONL/Parquet file with prompt and response columns (a relative --general "
                     "is relative to the current directory; in a recipe, to the recipe's project folder), or "
                     "--ratio 0:1 for no general data")


def check_snapshot_exists(warehouse: str | None, name: str) -> None:
    """`distill train NAME`: the snapshot must exist, checked read-only (no warehouse file is created)."""
    from warehouse.db import Warehouse
    from warehouse.snapshots import SnapshotError, get_snapshot

    wh = Warehouse(warehouse)
    if not Path(wh.path).exists():
        raise Misuse(f"snapshot {name!r}", f"no warehouse at {wh.path}", "run `distill run` or pass -w WAREHOUSE")
    try:
        get_snapshot(wh, name, read_only=True)
    except SnapshotError:
        known = ", ".join(r["name"] for r in _snapshot_names(wh)[:8]) or "none yet"
        raise Misuse(f"snapshot {name!r}", f"no snapshot of that name or id in {wh.path} (known: {known})",
                     "pass a name from `distill snapshot list`, or make one with `distill snapshot create NAME`") \
            from None


def check_stored_logprobs(warehouse: str | None, name: str, students) -> None:
    """`distill train` with kd `source: stored`: count the snapshot's rows that carry the teacher's stored top-k
    and say it on stderr before training; refuse what cannot train (no ids, another vocabulary)."""
    stored = [s for s in students if s.reads_stored_logprobs]
    if not stored:
        return
    from transformers import AutoTokenizer

    from generators.local_models import resolve_model
    from training.methods.kd_stored import check_stored
    from warehouse.db import Warehouse
    from warehouse.snapshots import get_snapshot, snapshot_rows

    wh = Warehouse(warehouse)
    rows = snapshot_rows(wh, get_snapshot(wh, name, read_only=True)["snapshot_id"], with_logprobs=True,
                         read_only=True)
    for cfg in stored:
        try:
            coverage = check_stored(rows, cfg.base_model, AutoTokenizer.from_pretrained(resolve_model(cfg.base_model)),
                                    cfg.top_k, cfg.missing)
        except ValueError as exc:
            problem, _, fix = str(exc).partition("; ")
            raise Misuse(f"snapshot {name!r}", problem, fix) from None
        Console(stderr=True).print(coverage.line(), highlight=False, soft_wrap=True)


def _snapshot_names(wh) -> list[dict]:
    from warehouse.snapshots import list_snapshots

    return list_snapshots(wh)


def check_new_snapshot(warehouse: str | None, spec) -> None:
    """`distill snapshot create`: the general file exists, curated rows match, and the name is new or holds
    exactly these rows (snapshots are immutable). Builds the rows once here, read-only in effect."""
    from curation.snapshot import build_rows
    from warehouse.db import Warehouse
    from warehouse.snapshots import SnapshotError, content_hash, get_snapshot

    if spec.general and spec.ratio()[0]:
        check_general(spec.general)
    wh = Warehouse(warehouse)
    if not Path(wh.path).exists():
        raise Misuse(f"snapshot {spec.name!r}", f"no warehouse at {wh.path}: nothing is curated yet",
                     "run `distill generate -r RECIPE` and `distill curate -r RECIPE` first, or pass -w WAREHOUSE")
    try:
        existing = get_snapshot(wh, spec.name, read_only=True)
    except SnapshotError:
        existing = None
    rows = _quietly(build_rows, wh, spec)
    if not any(r["kind"] == "distilled" for r in rows):
        raise Misuse(f"snapshot {spec.name!r}", "no curated rows match its filters",
                     "run generate and curate first, or loosen --domain/--template/--teacher/--since/--until")
    if existing and existing["content_hash"] != content_hash(rows):
        raise Misuse(f"snapshot {spec.name!r}", "that name is already used by a snapshot with other content "
                     "(snapshots are immutable)", "choose a new name; `distill snapshot list` shows the used ones")


def check_training_run(warehouse: str | None, training_run_id: str) -> None:
    """`distill eval --training-run ID`: the run must be recorded, checked read-only."""
    from warehouse.db import Warehouse
    from warehouse.eval_history import training_run_exists

    wh = Warehouse(warehouse)
    if not (Path(wh.path).exists() and training_run_exists(wh, training_run_id)):
        raise Misuse(f"training run {training_run_id!r}", f"not recorded in {wh.path}",
                     "pass an id that `distill train` printed, or see `distill eval list`")


def _quietly(fn, *args):
    """Run `fn` without `datasets`' progress bars (a check's output is its one line, or nothing)."""
    from datasets.utils import logging as ds_logging

    was = ds_logging.is_progress_bar_enabled()
    ds_logging.disable_progress_bar()
    try:
        return fn(*args)
    finally:
        if was:
            ds_logging.enable_progress_bar()
