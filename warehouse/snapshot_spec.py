"""The snapshot spec: which curated rows a snapshot takes and how much general data it mixes in.

It sits in the warehouse package because the warehouse turns its filters into SQL
(`warehouse/snapshots.py`); recipes (`snapshot:`) and `distill snapshot create` build it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any


@dataclass(frozen=True)
class SnapshotSpec:
    """Which curated rows a snapshot takes, and how much general data it mixes in.

    Every filter is optional (None = no filter) and they combine with AND. Lists
    also accept a single string. Dates are ISO (`2025-01-31` or a full timestamp), in
    UTC like the warehouse; a bare `until` date includes that whole day.
    """

    name: str | None = field(default=None, metadata={"help": "snapshot name (None = <recipe>-<content hash>)"})
    domains: list[str] | None = field(default=None, metadata={"help": "curated domains to include (None = all)"})
    general: str | None = field(default=None, metadata={"help": "general data: local JSONL/Parquet or a hub id"})
    general_ratio: str = field(default="1:2", metadata={"help": "general : distilled rows, e.g. 1:2"})
    seed: int = field(default=0, metadata={"help": "seed for sampling general rows"})
    templates: list[str] | None = field(default=None, metadata={
        "help": "template names (`math`) or versioned ids (`math@1a2b...`) to include (None = all)"})
    teachers: list[str] | None = field(default=None, metadata={
        "help": "teacher ids or teacher model names to include (None = all)"})
    since: str | None = field(default=None, metadata={
        "help": "only generations created on or after this ISO date/time (UTC)"})
    until: str | None = field(default=None, metadata={
        "help": "only generations created up to this ISO date (whole day included) or date/time (UTC)"})
    min_agreement: float | None = field(default=None, metadata={
        "help": "minimum self-consistency agreement of a synthesized problem's label (problem_labels); "
                "prompts without a label (seed problems with a reference answer) count as 1.0"})
    verified_only: bool = field(default=True, metadata={
        "help": "only curated rows whose latest verification passed (curation keeps only those today)"})

    def __post_init__(self) -> None:
        self.ratio()  # raises on a malformed ratio
        for name in ("domains", "templates", "teachers"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, [value])
            elif value is not None:
                object.__setattr__(self, name, [str(v) for v in value])
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                if isinstance(value, (date, datetime)):  # YAML reads an unquoted date as a date
                    value = value.isoformat()
                object.__setattr__(self, name, str(value))
                self.date_bound(name)  # raises on a malformed date
        if self.since and self.until and self.date_bound("since") > self.date_bound("until"):
            raise ValueError(f"since ({self.since}) is after until ({self.until})")
        if self.min_agreement is not None:
            if isinstance(self.min_agreement, bool) or not 0.0 <= float(self.min_agreement) <= 1.0:
                raise ValueError(f"min_agreement must be between 0 and 1, got {self.min_agreement!r}")
            object.__setattr__(self, "min_agreement", float(self.min_agreement))
        if not isinstance(self.verified_only, bool):
            raise ValueError(f"verified_only must be true or false, got {self.verified_only!r}")

    def ratio(self) -> tuple[int, int]:
        try:
            general, distilled = (int(x) for x in str(self.general_ratio).split(":"))
        except ValueError:
            raise ValueError(f"general_ratio must look like '1:2', got {self.general_ratio!r}") from None
        if general < 0 or distilled <= 0:
            raise ValueError("general_ratio needs general >= 0 and distilled > 0")
        return general, distilled

    def date_bound(self, name: str) -> datetime | None:
        """`since` as the first instant included; `until` as the first instant excluded (naive UTC)."""
        value = getattr(self, name)
        if value is None:
            return None
        try:
            if len(value) == 10:  # a bare date
                day = datetime.combine(date.fromisoformat(value), datetime.min.time())
                return day + timedelta(days=1) if name == "until" else day
            instant = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{name} must be an ISO date like 2025-01-31 (or a date/time), got {value!r}") from None
        if instant.tzinfo is not None:
            instant = instant.astimezone(timezone.utc).replace(tzinfo=None)
        return instant + timedelta(microseconds=1) if name == "until" else instant

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
