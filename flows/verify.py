"""Stage 3: verify every generation that has no verdict from the current verifier version.

The reference is the seed's answer, or for a synthesized problem its accepted
self-consistency label (`problem_labels`); generations with neither wait.

Verdicts are computed per domain in batches (the math verifier checks in
killable worker processes) and written as each batch completes.
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.progress import progress_bar
from verifiers import verifier_for
from warehouse.db import Warehouse
from warehouse.ids import now, stable_id

BATCH = 64

_PENDING = """
    SELECT g.generation_id, g.raw, coalesce(p.reference, l.label) AS reference
    FROM generations g JOIN prompts p USING (prompt_id)
    LEFT JOIN problem_labels l ON l.prompt_id = p.prompt_id AND l.accepted
    WHERE p.domain = ? AND coalesce(p.reference, l.label) IS NOT NULL
      AND g.generation_id NOT IN (SELECT generation_id FROM verifications WHERE verifier = ? AND version = ?)
    ORDER BY g.generation_id
"""


@task(cache_policy=NO_CACHE)
def verify(wh: Warehouse, run_id: str) -> dict:
    domains = [r["domain"] for r in wh.query("SELECT DISTINCT domain FROM prompts ORDER BY domain")]
    stats = {"verified": 0, "passed": 0}
    for domain in domains:
        try:
            verifier = verifier_for(domain)
        except ValueError as exc:
            get_run_logger().warning("verify: %s; its generations stay unverified", exc)
            continue
        pending = wh.query(_PENDING, [domain, verifier.name, verifier.version])
        if not pending:
            continue
        with progress_bar(f"verify {domain}", total=len(pending)) as advance:
            for start in range(0, len(pending), BATCH):
                chunk = pending[start:start + BATCH]
                verdicts = verifier.verify_batch([(r["raw"], r["reference"]) for r in chunk])
                rows = [_row(r["generation_id"], v, run_id) for r, v in zip(chunk, verdicts)]
                wh.insert("verifications", rows)
                stats["verified"] += len(rows)
                stats["passed"] += sum(v.passed for v in verdicts)
                advance(len(chunk))
    get_run_logger().info("verify: %(verified)d verdicts, %(passed)d passed", stats)
    return stats


def _row(generation_id: str, v, run_id: str) -> dict:
    return {"verification_id": stable_id(generation_id, v.verifier, v.version), "generation_id": generation_id,
            "verifier": v.verifier, "version": v.version, "passed": v.passed, "reason": v.reason,
            "extracted": v.extracted, "details": v.details, "duration_s": v.duration_s, "run_id": run_id,
            "created_at": now()}
