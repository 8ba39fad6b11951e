"""Content-derived ids and timestamps: the bottom of the import graph, imported by every stage.

An id is a hash of what decides a row (a generation's id is the hash of its prompt,
teacher config and sample index), so the same work gets the same id on every machine
and a rerun finds what is already done instead of doing it twice.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any


def stable_id(*parts: Any, length: int = 16) -> str:
    """A content-derived id: the same parts give the same id on every machine."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def now() -> datetime:
    """The warehouse's timestamps: naive UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
