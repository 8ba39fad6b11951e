"""`missing`: which candidate generation ids the warehouse lacks, computed in DuckDB."""

from __future__ import annotations

from warehouse.generations import missing
from warehouse.ids import now


def _generation(gid: str) -> dict:
    return {"generation_id": gid, "prompt_id": "p", "teacher_id": "t", "sample_index": 0, "raw": "r",
            "finish_reason": "stop", "run_id": "r", "created_at": now()}


def test_missing_returns_the_candidates_not_stored(wh):
    wh.insert("generations", [_generation("g1"), _generation("g2")])
    assert missing(wh, ["g1", "g3", "g2", "g4", "g3"]) == {"g3", "g4"}
    assert missing(wh, ["g1", "g2"]) == set()


def test_missing_of_nothing_is_nothing(wh):
    assert missing(wh, []) == set()
    assert missing(wh, ["g1"]) == {"g1"}
