"""Snapshots: named, immutable, hashed selections of curated rows plus a general-data mix.

A snapshot records its spec, its row counts and a content hash over its rows in
order. The same spec over the same data gives the same hash. A name is never
overwritten: asking again for an existing name with the same content returns
the existing snapshot; with different content it is an error.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from generators.parsing import training_target
from warehouse.curation import response_text
from training.config import SnapshotSpec
from warehouse.db import Warehouse, now, stable_id


class SnapshotError(ValueError):
    pass


_DISTILLED = """
    SELECT c.generation_id, p.text AS prompt, p.domain, g.reasoning, g.answer, v.extracted
    FROM curated c
    JOIN generations g USING (generation_id)
    JOIN prompts p ON p.prompt_id = g.prompt_id
    JOIN (SELECT * FROM verifications
          QUALIFY row_number() OVER (PARTITION BY generation_id ORDER BY created_at DESC) = 1) v
      ON v.generation_id = c.generation_id
    WHERE v.passed AND p.split = 'train'
    ORDER BY c.generation_id
"""


def load_general(source: str) -> list[dict]:
    """Rows with `prompt` and `response` from any source `datasets` can load.

    A local .jsonl/.json/.parquet file is read as such; anything else is taken as
    a hub dataset id (needs network).
    """
    from datasets import load_dataset

    path = Path(source)
    if path.exists():
        kind = "parquet" if path.suffix == ".parquet" else "json"
        ds = load_dataset(kind, data_files=str(path), split="train")
    else:
        ds = load_dataset(source, split="train")
    missing = {"prompt", "response"} - set(ds.column_names)
    if missing:
        raise SnapshotError(f"general data {source} lacks column(s) {sorted(missing)}; it needs prompt and response")
    return [{"id": str(r.get("id", i)), "prompt": r["prompt"], "response": r["response"]} for i, r in enumerate(ds)]


def build_rows(wh: Warehouse, spec: SnapshotSpec) -> list[dict]:
    distilled = [
        {"kind": "distilled", "generation_id": r["generation_id"], "general_id": None, "prompt": r["prompt"],
         "completion": training_target(r["reasoning"] or "", r["extracted"], r["domain"], response_text(r))}
        for r in wh.query(_DISTILLED) if spec.domains is None or r["domain"] in spec.domains
    ]
    general_part, distilled_part = spec.ratio()
    general = []
    if spec.general and general_part:
        pool = load_general(spec.general)
        want = min(len(pool), len(distilled) * general_part // distilled_part)
        general = [{"kind": "general", "generation_id": None, "general_id": r["id"], "prompt": r["prompt"],
                    "completion": r["response"]} for r in random.Random(spec.seed).sample(pool, want)]
    rows = distilled + general
    random.Random(spec.seed).shuffle(rows)
    return rows


def content_hash(rows: list[dict]) -> str:
    digest = hashlib.sha256()
    for r in rows:
        digest.update(json.dumps([r["kind"], r["prompt"], r["completion"]]).encode())
    return digest.hexdigest()


def create_snapshot(wh: Warehouse, spec: SnapshotSpec, run_id: str, default_name: str = "snapshot") -> dict:
    """Create (or return the identical existing) snapshot; returns its `snapshots` row plus `created`."""
    rows = build_rows(wh, spec)
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
    with wh.connect() as con:
        con.execute("BEGIN")
        wh.insert("snapshot_rows", [{"snapshot_id": snapshot_id, "row_index": i, **r} for i, r in enumerate(rows)],
                  con=con)
        wh.insert("snapshots", [record], con=con)
        con.execute("COMMIT")
    return {**record, "created": True}


def get_snapshot(wh: Warehouse, name_or_id: str) -> dict:
    rows = wh.query("SELECT * FROM snapshots WHERE name = ? OR snapshot_id = ?", [name_or_id, name_or_id])
    if not rows:
        raise SnapshotError(f"no snapshot named {name_or_id!r}: see `distill snapshot list`")
    return rows[0]


def snapshot_rows(wh: Warehouse, snapshot_id: str) -> list[dict]:
    return wh.query("SELECT * FROM snapshot_rows WHERE snapshot_id = ? ORDER BY row_index", [snapshot_id])
