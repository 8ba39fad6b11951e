"""`minhash_signatures`: the persisted MinHash signatures of kept rows (curation/near_dedup.py computes them)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from warehouse.db import Warehouse

TABLE = "minhash_signatures"


def load_signatures(wh: Warehouse, scope: str, config_id: str) -> pa.Table:
    """item_id, signature (BLOB), numbers_hash of one scope and near-dedup config, oldest first."""
    with wh.connect() as con:
        return con.sql(f"SELECT item_id, signature, numbers_hash FROM {TABLE} WHERE scope = ? AND config_id = ? "
                       "ORDER BY created_at, item_id", params=[scope, config_id]).to_arrow_table()


def save_signatures(wh: Warehouse, rows: list[dict], con: Any = None) -> int:
    """Insert signature rows (one Arrow batch; existing keys are left as they are); return rows written."""
    return wh.insert(TABLE, rows, con=con)
