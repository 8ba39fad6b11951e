"""Snapshots: named, immutable, hashed selections of curated rows plus a general-data mix.

A snapshot records its spec, its row counts and a content hash over its rows in
order. The same spec over the same data gives the same hash. A name is never
overwritten: saving again under an existing name with the same content returns
the existing snapshot; with different content it is an error.

The spec (`warehouse/snapshot_spec.py`) filters curated train rows by domain,
template (name or versioned id), teacher (id or model name), generation date,
self-consistency agreement of synthesized problems (seed problems, which have no
label but a reference answer, count as agreement 1.0) and verification
(`distilled_rows`); curation/snapshot.py turns them into training targets and
mixes in general rows. `diff_snapshots` compares two snapshots by row key;
`export_snapshot` writes a dataset folder (Parquet in chat format + a dataset card) that
`datasets.load_dataset` and TRL load directly, and a manifest, and optionally pushes to the Hub.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from warehouse.db import Warehouse
from warehouse.ids import now, stable_id
from warehouse.snapshot_spec import SnapshotSpec
from warehouse.verifications import LATEST_VERIFICATION


class SnapshotError(ValueError):
    pass


def _distilled_query(spec: SnapshotSpec) -> tuple[str, list]:
    """Curated train rows matching the spec's filters, in generation_id order, and the query's parameters."""
    where, params = ["p.split = 'train'"], []
    if spec.verified_only:
        where.append("v.passed")

    def any_of(values: list[str], *columns: str) -> None:
        if not values:
            where.append("FALSE")  # an empty list selects nothing
            return
        marks = ", ".join("?" for _ in values)
        where.append("(" + " OR ".join(f"{c} IN ({marks})" for c in columns) + ")")
        params.extend(v for _ in columns for v in values)

    if spec.domains is not None:
        any_of(spec.domains, "p.domain")
    if spec.templates is not None:  # a name matches every version of it; an id only that version
        any_of(spec.templates, "p.template_id", "t.name", "split_part(p.template_id, '@', 1)")
    if spec.teachers is not None:
        any_of(spec.teachers, "g.teacher_id", "te.model")
    if spec.since is not None:
        where.append("g.created_at >= ?")
        params.append(spec.date_bound("since"))
    if spec.until is not None:
        where.append("g.created_at < ?")
        params.append(spec.date_bound("until"))
    if spec.min_agreement is not None:
        # Synthesized problems carry a self-consistency label; seed problems have a reference answer
        # instead and no label, so they count as full agreement.
        where.append("coalesce(pl.agreement, 1.0) >= ?")
        params.append(spec.min_agreement)
    sql = f"""
        SELECT c.generation_id, p.text AS prompt, p.domain, g.reasoning, g.answer, v.extracted
        FROM curated c
        JOIN generations g USING (generation_id)
        JOIN prompts p ON p.prompt_id = g.prompt_id
        LEFT JOIN templates t ON t.template_id = p.template_id
        LEFT JOIN teachers te ON te.teacher_id = g.teacher_id
        LEFT JOIN problem_labels pl ON pl.prompt_id = p.prompt_id
        {"" if spec.verified_only else "LEFT "}JOIN {LATEST_VERIFICATION} v ON v.generation_id = c.generation_id
        WHERE {" AND ".join(where)}
        ORDER BY c.generation_id
    """
    return sql, params


def distilled_rows(wh: Warehouse, spec: SnapshotSpec) -> list[dict]:
    """Curated train rows matching the spec: generation_id, prompt, domain, reasoning, answer, extracted."""
    return wh.query(*_distilled_query(spec))


def content_hash(rows: list[dict]) -> str:
    digest = hashlib.sha256()
    for r in rows:
        digest.update(json.dumps([r["kind"], r["prompt"], r["completion"]]).encode())
    return digest.hexdigest()


def save_snapshot(wh: Warehouse, spec: SnapshotSpec, rows: list[dict], run_id: str,
                  default_name: str = "snapshot") -> dict:
    """Store `rows` as a snapshot (or return the identical existing one); its `snapshots` row plus `created`."""
    n_distilled = sum(r["kind"] == "distilled" for r in rows)
    if not n_distilled:
        raise SnapshotError("no curated rows match the spec: run generate, verify and curate first")
    digest = content_hash(rows)
    name = spec.name or f"{default_name}-{digest[:8]}"
    existing = wh.query("SELECT * FROM snapshots WHERE name = ?", [name])
    if existing:
        if existing[0]["content_hash"] != digest:
            raise SnapshotError(f"snapshot {name!r} already exists with different content; snapshots are "
                                f"immutable: choose a new name")
        return {**existing[0], "created": False}
    snapshot_id = stable_id(name, digest)
    record = {"snapshot_id": snapshot_id, "name": name, "spec": spec.to_dict(), "n_distilled": n_distilled,
              "n_general": len(rows) - n_distilled, "content_hash": digest, "run_id": run_id, "created_at": now()}
    with wh.transaction() as con:
        wh.insert("snapshot_rows", [{"snapshot_id": snapshot_id, "row_index": i, **r} for i, r in enumerate(rows)],
                  con=con)
        wh.insert("snapshots", [record], con=con)
    return {**record, "created": True}


def get_snapshot(wh: Warehouse, name_or_id: str, read_only: bool = False) -> dict:
    rows = wh.query("SELECT * FROM snapshots WHERE name = ? OR snapshot_id = ?", [name_or_id, name_or_id],
                    read_only=read_only)
    if not rows:
        raise SnapshotError(f"no snapshot named {name_or_id!r}: see `distill snapshot list`")
    return rows[0]


def snapshot_rows(wh: Warehouse, snapshot_id: str, with_logprobs: bool = False, read_only: bool = False) -> list[dict]:
    """A snapshot's rows in order; `with_logprobs`: each with its generation's stored teacher top-k (the ids,
    logprobs and vocabulary of `generation_logprobs`; NULL where none was stored, and for general rows)."""
    if not with_logprobs:
        return wh.query("SELECT * FROM snapshot_rows WHERE snapshot_id = ? ORDER BY row_index", [snapshot_id],
                        read_only=read_only)
    return wh.query("""
        SELECT r.*, l.token_ids, l.top_ids, l.top_logprobs, l.vocab_size, l.vocab_hash
        FROM snapshot_rows r LEFT JOIN generation_logprobs l ON l.generation_id = r.generation_id
        WHERE r.snapshot_id = ? ORDER BY r.row_index""", [snapshot_id], read_only=read_only)


# --- lineage, diff and export -------------------------------------------------------------------------------

_LINEAGE = """
    SELECT r.row_index, r.kind, r.prompt, r.completion, r.generation_id, r.general_id,
           g.prompt_id, p.seed_id, CASE WHEN r.kind = 'general' THEN 'general' ELSE p.domain END AS domain,
           p.template_id, g.teacher_id, te.model AS teacher_model
    FROM snapshot_rows r
    LEFT JOIN generations g ON g.generation_id = r.generation_id
    LEFT JOIN prompts p ON p.prompt_id = g.prompt_id
    LEFT JOIN teachers te ON te.teacher_id = g.teacher_id
    WHERE r.snapshot_id = ?
    ORDER BY r.row_index
"""

EXPORT_COLUMNS = ("row_index", "kind", "prompt", "completion", "generation_id", "general_id", "prompt_id", "seed_id",
                  "domain", "template_id", "teacher_id")
COMPOSITION = ("kind", "domain", "template", "teacher")


def snapshot_lineage(wh: Warehouse, snapshot_id: str, read_only: bool = False) -> list[dict]:
    """A snapshot's rows in order, with where each distilled row came from (None where unknown)."""
    return wh.query(_LINEAGE, [snapshot_id], read_only=read_only)


def row_key(row: dict) -> tuple[str, str]:
    """A row's identity across snapshots: its generation_id (distilled) or general_id (general)."""
    return row["kind"], row["generation_id"] if row["kind"] == "distilled" else row["general_id"]


def _facet(row: dict, dim: str) -> str:
    if dim == "kind":
        return row["kind"]
    if row["kind"] == "general":
        return "general"
    if dim == "domain":
        return row["domain"] or "?"
    if dim == "template":
        return row["template_id"] or "?"
    return row["teacher_model"] or row["teacher_id"] or "?"  # teacher: its model name


def composition(rows: list[dict]) -> dict[str, dict[str, int]]:
    """Rows per kind, domain, template id and teacher model (general rows count as `general`)."""
    out: dict[str, dict[str, int]] = {}
    for dim in COMPOSITION:
        counts: dict[str, int] = {}
        for r in rows:
            counts[_facet(r, dim)] = counts.get(_facet(r, dim), 0) + 1
        out[dim] = dict(sorted(counts.items()))
    return out


def _summary(snap: dict) -> dict:
    return {k: snap[k] for k in ("name", "snapshot_id", "content_hash", "n_distilled", "n_general", "created_at")}


def diff_snapshots(wh: Warehouse, a: str, b: str, read_only: bool = False) -> dict:
    """What changed from snapshot `a` to snapshot `b`.

    `added` / `removed`: rows (kind, key, prompt) in one and not the other, keyed by generation_id
    (distilled) or general_id (general), in snapshot order; `changed`: keys in both whose prompt or
    completion differ; `composition`: per kind, domain, template and teacher model, the count in a,
    in b and the change.
    """
    sa, sb = get_snapshot(wh, a, read_only=read_only), get_snapshot(wh, b, read_only=read_only)
    ra = snapshot_lineage(wh, sa["snapshot_id"], read_only=read_only)
    rb = snapshot_lineage(wh, sb["snapshot_id"], read_only=read_only)
    by_a, by_b = {row_key(r): r for r in ra}, {row_key(r): r for r in rb}

    def brief(r: dict) -> dict:
        return {"kind": r["kind"], "key": row_key(r)[1], "domain": _facet(r, "domain"), "prompt": r["prompt"]}

    changed = [brief(r) for k, r in by_b.items() if k in by_a and
               (by_a[k]["prompt"], by_a[k]["completion"]) != (r["prompt"], r["completion"])]
    ca, cb = composition(ra), composition(rb)
    return {
        "a": _summary(sa), "b": _summary(sb), "same_content": sa["content_hash"] == sb["content_hash"],
        "added": [brief(r) for r in rb if row_key(r) not in by_a],
        "removed": [brief(r) for r in ra if row_key(r) not in by_b],
        "changed": changed,
        "unchanged": sum(k in by_a for k in by_b) - len(changed),
        "composition": {dim: [{"value": v, "a": ca[dim].get(v, 0), "b": cb[dim].get(v, 0),
                               "change": cb[dim].get(v, 0) - ca[dim].get(v, 0)}
                              for v in sorted(set(ca[dim]) | set(cb[dim]))] for dim in COMPOSITION},
    }


DATA_FILE = "data/train-00000-of-00001.parquet"


def export_snapshot(wh: Warehouse, name: str, out_dir: str | Path, push_to_hub: str | None = None,
                    token: str | None = None) -> dict:
    """Write the dataset folder `DIR/NAME/` (`data/train-00000-of-00001.parquet` and a README.md dataset card)
    and a manifest `DIR/NAME.json` beside it.

    The folder holds one data format and a card whose `configs:` names the data file, so
    `datasets.load_dataset("DIR/NAME")` and `trl sft --dataset_name DIR/NAME` load it as it is. Each row has the
    chat `messages` (user prompt, assistant completion) and the same turns as conversational `prompt` and
    `completion` (TRL's prompt-completion format: loss on the completion only, as `distill train` does), plus
    the lineage columns; rows keep the snapshot's order. With `push_to_hub`, the dataset is then pushed to that
    hub repo; a failure (no network, no token) is a SnapshotError after the local export is complete.
    """
    import pyarrow.parquet as pq

    snap = get_snapshot(wh, name, read_only=True)
    stem = snap["name"]
    if "/" in stem or "\\" in stem or stem in {"", ".", ".."}:
        raise SnapshotError(f"snapshot name {stem!r} is not usable as a file name")
    rows = snapshot_lineage(wh, snap["snapshot_id"], read_only=True)
    if content_hash(rows) != snap["content_hash"]:
        raise SnapshotError(f"snapshot {stem!r}: its rows no longer match its content hash; refusing to export")
    table = export_table(rows)
    out = Path(out_dir)
    folder, manifest_path = out / stem, out / f"{stem}.json"
    (folder / DATA_FILE).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / DATA_FILE)
    manifest = {
        **_summary(snap), "created_at": str(snap["created_at"]), "n_rows": len(rows),
        "spec": json.loads(snap["spec"]) if isinstance(snap["spec"], str) else snap["spec"],
        "composition": composition(rows), "columns": table.column_names,
        "files": {"dataset": str(folder), "data": str(folder / DATA_FILE), "card": str(folder / "README.md")},
        "pushed_to": None,
    }
    (folder / "README.md").write_text(dataset_card(manifest), encoding="utf-8")
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if push_to_hub:
        from datasets import Dataset

        try:
            Dataset(table).push_to_hub(push_to_hub, token=token)
        except Exception as exc:  # noqa: BLE001 - any hub failure becomes one message
            raise SnapshotError(_push_error(stem, push_to_hub, out, exc)) from None
        manifest["pushed_to"] = push_to_hub
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def export_table(rows: list[dict]):
    """The exported rows as an Arrow table: messages, prompt and completion as chat turns, then lineage."""
    import pyarrow as pa

    turns = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    schema = pa.schema([("messages", turns), ("prompt", turns), ("completion", turns), ("row_index", pa.int32()),
                        *((c, pa.string()) for c in EXPORT_COLUMNS[1:] if c not in ("prompt", "completion"))])
    user = [[{"role": "user", "content": r["prompt"]}] for r in rows]
    assistant = [[{"role": "assistant", "content": r["completion"]}] for r in rows]
    return pa.Table.from_pylist([{"messages": u + a, "prompt": u, "completion": a,
                                  **{c: r[c] for c in EXPORT_COLUMNS if c not in ("prompt", "completion")}}
                                 for r, u, a in zip(rows, user, assistant)], schema=schema)


def dataset_card(manifest: dict) -> str:
    """README.md of the dataset folder: the `configs:` that point `load_dataset` at the data file, then what the
    snapshot is (name, hash, counts, spec) in prose."""
    counts = ", ".join(f"{k} {v}" for k, v in manifest["composition"]["kind"].items())
    return (f"---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: {DATA_FILE}\n"
            f"---\n\n# Distillery snapshot `{manifest['name']}`\n\n"
            f"{manifest['n_rows']} rows ({counts}), content hash `{manifest['content_hash']}`, created "
            f"{manifest['created_at']}.\n\nColumns: `messages` (user prompt, assistant completion), the same turns as "
            "conversational `prompt` / `completion` (TRL's prompt-completion format), and lineage: "
            f"{', '.join(c for c in manifest['columns'] if c not in ('messages', 'prompt', 'completion'))}.\n\n"
            "```python\nfrom datasets import load_dataset\nds = load_dataset(\"PATH/TO/THIS/FOLDER\", split=\"train\")\n"
            f"```\n\nSpec:\n\n```json\n{json.dumps(manifest['spec'], indent=2, sort_keys=True)}\n```\n")


def _push_error(name: str, repo: str, out: Path, exc: Exception) -> str:
    names = {c.__name__ for c in type(exc).__mro__}
    detail = (str(exc).strip().splitlines() or [""])[0][:200]
    if names & {"ConnectError", "ConnectionError", "NetworkError", "TimeoutException", "Timeout",
                "OfflineModeIsEnabled", "gaierror"}:
        why = "the Hugging Face Hub is unreachable (no network?)"
    elif "401" in detail or names & {"LocalTokenNotFoundError"}:
        why = "not authorised (run `hf auth login` or set HF_TOKEN)"
    else:
        why = "the Hub refused the push"
    return (f"could not push snapshot {name!r} to the Hub as {repo!r}: {why} [{type(exc).__name__}: {detail}]; "
            f"the local export in {out} is complete, push it again when online")


# --- listing ------------------------------------------------------------------------------------------------

def list_snapshots(wh: Warehouse, read_only: bool = True) -> list[dict]:
    """Every snapshot, newest first: name, snapshot_id, n_distilled, n_general, content_hash, created_at."""
    return wh.query("SELECT name, snapshot_id, n_distilled, n_general, content_hash, created_at "
                    "FROM snapshots ORDER BY created_at DESC", read_only=read_only)
