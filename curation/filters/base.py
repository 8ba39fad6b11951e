"""The one interface every curation filter implements.

A filter answers one question about one candidate row: `check(row)` returns None
to pass it on, or `Reject(reason, evidence)` to drop it (datatrove style). The
runner (curation/curate.py) applies the filters in registry order, records the
first rejection with its evidence in `rejections`, and tells every filter about
each row it keeps (`keep`), which is how the dedup filters remember what was
kept. `save` writes a filter's state in the same transaction as the outcomes.

A candidate row is a dict: the columns of `warehouse.curated.candidates` plus
`response` (reasoning and answer as written), `target` (the training target)
and `content_hash` (curation/target.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from warehouse.db import Warehouse

if TYPE_CHECKING:
    from curation.config import CurationConfig


@dataclass(frozen=True)
class Reject:
    reason: str  # machine-readable, stored in rejections.reason
    evidence: dict[str, Any] = field(default_factory=dict)  # stored in rejections.details


class Filter:
    """Subclass, set `name`, implement `check`; override `keep`/`save` only for filters with state."""

    name: str = ""

    @classmethod
    def build(cls, cfg: CurationConfig, wh: Warehouse) -> Filter | None:
        """The filter a recipe's `curate:` section asks for, or None when it turns the filter off."""
        return cls()

    def check(self, row: dict) -> Reject | None:
        raise NotImplementedError

    def keep(self, row: dict) -> None:
        """`row` was kept (after every filter passed it)."""

    def save(self, wh: Warehouse, con: Any) -> None:
        """Persist state with the run's outcomes (`con` is inside their transaction)."""
