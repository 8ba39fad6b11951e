"""The report as a Prefect task: log it, draw the chart, publish it as a markdown artifact.

The figures are read by `warehouse/quality.py:report` (where each one is defined), completed here with the
Wilson interval of an evaluation that has none stored (`evaluation/` may not be imported below flows/), and
presented by `curation/report.py` (rich tables, markdown, the matplotlib chart); this module only orchestrates.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError

from curation.report import markdown_report, pct, render_chart
from evaluation.metrics.interval import wilson
from warehouse.db import Warehouse
from warehouse.quality import QualityRow, Report
from warehouse.quality import report as read_report

ARTIFACT_KEY = "quality-report"  # the prefix; each warehouse has its own key (artifact_key)


def artifact_key(prefix: str, warehouse_path: str | Path) -> str:
    """A Prefect artifact key (lowercase letters, digits, dashes) for one warehouse file: the prefix, the file's
    name and a hash of its absolute path, so runs on different warehouses keep separate artifact histories."""
    path = Path(warehouse_path).expanduser().resolve()
    name = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")[:40] or "warehouse"
    return f"{prefix}-{name}-{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"


def report_data(wh: Warehouse, read_only: bool = True) -> Report:
    """Every section of the report; an evaluation stored without its interval gets the Wilson interval of its
    n and correct (as `distill eval list` shows it)."""
    data = read_report(wh, read_only=read_only)
    for r in data["evaluation"]:
        if (r["ci_low"] is None or r["ci_high"] is None) and r["n"]:
            r["ci_low"], r["ci_high"] = wilson(r["correct"], r["n"])
    return data


@task(cache_policy=NO_CACHE)
def report_task(wh: Warehouse, run_id: str, chart_path: str | None = None) -> list[QualityRow]:
    """Compute the report (and the chart, if asked); inside a flow run, publish it as a markdown artifact.
    Returns the quality rows (per topic, template and teacher)."""
    from prefect.context import FlowRunContext

    data = report_data(wh, read_only=False)
    rows = data["quality"]
    try:
        logger = get_run_logger()
    except MissingContextError:  # called as a plain function (`report_task.fn`)
        logger = logging.getLogger(__name__)
    if chart_path:
        logger.info("quality chart: %s", render_chart(data, chart_path))
    if FlowRunContext.get() is not None:
        from prefect.artifacts import create_markdown_artifact

        where = Path(wh.path).resolve()
        create_markdown_artifact(
            markdown=markdown_report(data, f"Data quality of the whole warehouse {where} (after run {run_id})"),
            key=artifact_key(ARTIFACT_KEY, where),
            description=f"every generation in {where}, not only run {run_id}: pass rate, dedup rate, "
                        f"decontamination and cost per topic, template and teacher; rejections by stage and "
                        f"reason; the trend across runs; the latest evaluation")
    for r in rows:
        logger.info("%s %s: %d generations, pass rate %s, dedup rate %s", r["dimension"], r["label"],
                    r["generations"], pct(r["pass_rate"]), pct(r["dedup_rate"]))
    return rows


def publish_evaluation_table(wh: Warehouse, rows: list[dict], run_id: str) -> str | None:
    """The evaluation rows (base, students, teacher) as a table artifact keyed by the warehouse, one row per player
    with its accuracy and every metric; returns the key (None outside a flow run). flows/evaluate.py calls it."""
    from prefect.context import FlowRunContext

    if not rows or FlowRunContext.get() is None:
        return None
    from prefect.artifacts import create_table_artifact

    where = Path(wh.path).resolve()
    key = artifact_key("evaluation", where)
    table = [{"role": r["role"], "model": r.get("model"), "training_run_id": r.get("training_run_id"), "n": r["n"],
              "correct": r["correct"], "accuracy": r["accuracy"], **(r.get("metrics") or {})} for r in rows]
    create_table_artifact(table=table, key=key, description=f"Evaluation of run {run_id} in {where}: "
                          + ", ".join(f"{r['role']} {100 * r['accuracy']:.1f}%" for r in rows))
    return key
