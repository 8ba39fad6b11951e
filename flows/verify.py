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
from warehouse import verifications
from warehouse.db import Warehouse

BATCH = 64


@task(cache_policy=NO_CACHE)
def verify(wh: Warehouse, run_id: str, options: dict[str, dict] | None = None) -> dict:
    """Verdicts for every generation without one from its domain's verifier (built with the recipe's options)."""
    stats = {"verified": 0, "passed": 0}
    for domain in verifications.domains(wh):
        try:
            verifier = verifier_for(domain, **(options or {}).get(domain, {}))
        except ValueError as exc:
            get_run_logger().warning("verify: %s; its generations stay unverified", exc)
            continue
        pending = verifications.pending(wh, domain, verifier.name, verifier.version)
        if not pending:
            continue
        with progress_bar(f"verify {domain}", total=len(pending)) as advance:
            for start in range(0, len(pending), BATCH):
                chunk = pending[start:start + BATCH]
                verdicts = verifier.verify_batch([(r["raw"], r["reference"]) for r in chunk])
                verifications.store(wh, [r["generation_id"] for r in chunk], verdicts, run_id)
                stats["verified"] += len(chunk)
                stats["passed"] += sum(v.passed for v in verdicts)
                advance(len(chunk))
    get_run_logger().info("verify: %(verified)d verdicts, %(passed)d passed", stats)
    return stats

