"""What a snapshot holds: curated rows as training targets, mixed with general data.

The warehouse selects the curated rows a spec asks for and stores, hashes and
never overwrites the result (warehouse/snapshots.py); this module decides their
content: each distilled row's completion is its training target
(curation/target.py), and general rows are sampled at the spec's
general:distilled ratio, then everything is shuffled with the spec's seed.
"""

from __future__ import annotations

import random
from pathlib import Path

from curation.target import response_text, training_target
from warehouse.db import Warehouse
from warehouse.snapshot_spec import SnapshotSpec
from warehouse.snapshots import SnapshotError, distilled_rows, save_snapshot


def create_snapshot(wh: Warehouse, spec: SnapshotSpec, run_id: str, default_name: str = "snapshot") -> dict:
    """Create (or return the identical existing) snapshot; returns its `snapshots` row plus `created`."""
    return save_snapshot(wh, spec, build_rows(wh, spec), run_id, default_name)


def build_rows(wh: Warehouse, spec: SnapshotSpec) -> list[dict]:
    distilled = [
        {"kind": "distilled", "generation_id": r["generation_id"], "general_id": None, "prompt": r["prompt"],
         "completion": training_target(r["reasoning"] or "", r["extracted"], r["domain"], response_text(r))}
        for r in distilled_rows(wh, spec)
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
