"""The quality report as a Prefect task: log it, draw the chart, publish it as a markdown artifact.

The figures are read by `warehouse/quality.py:quality_report` (where each one is defined) and presented by
`curation/report.py` (rich tables, markdown, the matplotlib chart); this module only orchestrates.
"""

from __future__ import annotations

import logging

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError

from curation.report import markdown_report, pct, render_chart
from warehouse.db import Warehouse
from warehouse.quality import QualityRow, quality_report

ARTIFACT_KEY = "quality-report"


@task(cache_policy=NO_CACHE)
def report_task(wh: Warehouse, run_id: str, chart_path: str | None = None) -> list[QualityRow]:
    """Compute the report (and the chart, if asked); inside a flow run, publish it as a markdown artifact."""
    from prefect.context import FlowRunContext

    rows = quality_report(wh, read_only=False)
    try:
        logger = get_run_logger()
    except MissingContextError:  # called as a plain function (`report_task.fn`)
        logger = logging.getLogger(__name__)
    if chart_path:
        logger.info("quality chart: %s", render_chart(rows, chart_path))
    if FlowRunContext.get() is not None:
        from prefect.artifacts import create_markdown_artifact

        create_markdown_artifact(markdown=markdown_report(rows, f"Data quality (run {run_id})"), key=ARTIFACT_KEY,
                                 description=f"pass rate, dedup rate, decontamination and cost per template and "
                                             f"teacher, run {run_id}")
    for r in rows:
        logger.info("%s %s: %d generations, pass rate %s, dedup rate %s", r["dimension"], r["label"],
                    r["generations"], pct(r["pass_rate"]), pct(r["dedup_rate"]))
    return rows
