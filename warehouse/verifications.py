"""`verifications`: one verdict per generation and verifier version."""

from __future__ import annotations

from typing import Any

from warehouse.db import Warehouse
from warehouse.ids import now, stable_id

# A generation's latest verdict (a newer verifier version re-judges it), as a subquery to join on.
LATEST_VERIFICATION = """(SELECT * FROM verifications
          QUALIFY row_number() OVER (PARTITION BY generation_id ORDER BY created_at DESC) = 1)"""

_PENDING = """
    SELECT g.generation_id, g.raw, coalesce(p.reference, l.label) AS reference
    FROM generations g JOIN prompts p USING (prompt_id)
    LEFT JOIN problem_labels l ON l.prompt_id = p.prompt_id AND l.accepted
    WHERE p.domain = ? AND coalesce(p.reference, l.label) IS NOT NULL
      AND g.generation_id NOT IN (SELECT generation_id FROM verifications WHERE verifier = ? AND version = ?)
    ORDER BY g.generation_id
"""


def domains(wh: Warehouse) -> list[str]:
    """Every domain with prompts."""
    return [r["domain"] for r in wh.query("SELECT DISTINCT domain FROM prompts ORDER BY domain")]


def pending(wh: Warehouse, domain: str, verifier: str, version: str) -> list[dict]:
    """Generations of `domain` with a reference (the seed's, or an accepted self-consistency label) and no
    verdict from this verifier version: generation_id, raw, reference."""
    return wh.query(_PENDING, [domain, verifier, version])


def store(wh: Warehouse, generation_ids: list[str], verdicts: list[Any], run_id: str) -> int:
    """One row per (generation, verdict); a verdict is a `verifiers.base.Verdict`. Returns rows written."""
    stamp = now()
    return wh.insert("verifications", [
        {"verification_id": stable_id(gid, v.verifier, v.version), "generation_id": gid, "verifier": v.verifier,
         "version": v.version, "passed": v.passed, "reason": v.reason, "extracted": v.extracted,
         "details": v.details, "duration_s": v.duration_s, "run_id": run_id, "created_at": stamp}
        for gid, v in zip(generation_ids, verdicts)])
