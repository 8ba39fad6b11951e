"""Data quality per template and per teacher: a table, a JSON list, an SVG chart, a Prefect artifact.

For each template id and each teacher (one teacher id = one backend/model/sampling config):

    generations          teacher samples stored
    verified / passed    samples with a verdict (the latest per sample) / whose verdict passed
    pass_rate            passed / verified
    decided              samples curation has decided on: curated (kept) + rejected
    deduped / dedup_rate rejected as exact_duplicate or near_duplicate / over decided
    decontaminated       rejected as decontaminated (a shared n-gram with an eval prompt)
    tokens_per_verified  all completion tokens of the group / passed: what one verified sample
    cost_per_verified    all teacher dollars of the group / passed   costs, failed attempts included

Rates and per-sample figures are None where their denominator is 0.

The chart is a hand-written, self-contained SVG (matplotlib is not a dependency): per row, a bar
for the pass rate and one for the dedup rate. A `.png` path is honoured only when matplotlib
happens to be installed; otherwise the SVG is written beside it with the `.svg` suffix.
"""

from __future__ import annotations

import logging
from pathlib import Path
from xml.sax.saxutils import escape

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError
from rich.table import Table

from warehouse.db import Warehouse

DEDUP_REASONS = ("exact_duplicate", "near_duplicate")
DECONTAM_REASON = "decontaminated"
DIMENSIONS = ("template", "teacher")
ARTIFACT_KEY = "quality-report"

_SQL = """
WITH v AS (
    SELECT generation_id, passed FROM verifications
    QUALIFY row_number() OVER (PARTITION BY generation_id ORDER BY created_at DESC) = 1
), rej AS (
    SELECT generation_id, bool_or(reason IN (?, ?)) AS dedup, bool_or(reason = ?) AS decontam
    FROM rejections GROUP BY generation_id
), s AS (
    SELECT g.generation_id, coalesce(p.template_id, '?') AS template_id, g.teacher_id,
           coalesce(te.model, g.teacher_id) AS teacher_model, g.completion_tokens, g.cost_usd, v.passed,
           c.generation_id IS NOT NULL AS curated, rej.generation_id IS NOT NULL AS rejected,
           coalesce(rej.dedup, FALSE) AS dedup, coalesce(rej.decontam, FALSE) AS decontam
    FROM generations g
    LEFT JOIN prompts p ON p.prompt_id = g.prompt_id
    LEFT JOIN teachers te ON te.teacher_id = g.teacher_id
    LEFT JOIN v ON v.generation_id = g.generation_id
    LEFT JOIN curated c ON c.generation_id = g.generation_id
    LEFT JOIN rej ON rej.generation_id = g.generation_id
)
SELECT dimension, key, label, count(*) AS generations, count(passed) AS verified,
       count(*) FILTER (WHERE passed) AS passed,
       count(*) FILTER (WHERE curated OR rejected) AS decided,
       count(*) FILTER (WHERE dedup) AS deduped, count(*) FILTER (WHERE decontam) AS decontaminated,
       coalesce(sum(completion_tokens), 0) AS completion_tokens, coalesce(sum(cost_usd), 0.0) AS cost_usd
FROM (SELECT 'template' AS dimension, template_id AS key, template_id AS label, * FROM s
      UNION ALL
      SELECT 'teacher', teacher_id, teacher_model, * FROM s)
GROUP BY dimension, key, label
ORDER BY dimension DESC, key
"""


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def quality_report(wh: Warehouse, read_only: bool = True) -> list[dict]:
    """One row per template id and per teacher id (template rows first), with the figures above."""
    rows = wh.query(_SQL, [*DEDUP_REASONS, DECONTAM_REASON], read_only=read_only)
    out = []
    for r in rows:
        out.append({
            "dimension": r["dimension"], "key": r["key"], "label": r["label"],
            "generations": r["generations"], "verified": r["verified"], "passed": r["passed"],
            "pass_rate": _ratio(r["passed"], r["verified"]),
            "decided": r["decided"], "deduped": r["deduped"], "dedup_rate": _ratio(r["deduped"], r["decided"]),
            "decontaminated": r["decontaminated"],
            "completion_tokens": int(r["completion_tokens"]), "cost_usd": float(r["cost_usd"]),
            "tokens_per_verified": _ratio(r["completion_tokens"], r["passed"]),
            "cost_per_verified": _ratio(r["cost_usd"], r["passed"]),
        })
    # two teacher configs of one model: tell them apart by id
    models = [r["label"] for r in out if r["dimension"] == "teacher"]
    for r in out:
        if r["dimension"] == "teacher" and models.count(r["label"]) > 1:
            r["label"] = f"{r['label']} ({r['key'][:8]})"
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


_COLUMNS = ("generations", "verified", "pass rate", "dedup rate", "decontam.", "tokens / verified",
            "$ / verified")


def _cells(r: dict) -> list[str]:
    return [str(r["generations"]), f"{r['passed']}/{r['verified']}", _pct(r["pass_rate"]),
            f"{_pct(r['dedup_rate'])} ({r['deduped']}/{r['decided']})", str(r["decontaminated"]),
            _num(r["tokens_per_verified"], ".1f"), _num(r["cost_per_verified"], ".6f")]


def report_tables(rows: list[dict]) -> list[Table]:
    """One rich table per dimension."""
    tables = []
    for dim in DIMENSIONS:
        table = Table(dim, *_COLUMNS, title=f"data quality per {dim}")
        for r in rows:
            if r["dimension"] == dim:
                table.add_row(r["label"], *_cells(r))
        tables.append(table)
    return tables


def markdown_report(rows: list[dict], title: str = "Data quality") -> str:
    lines = [f"# {title}", ""]
    for dim in DIMENSIONS:
        lines += [f"## Per {dim}", "", "| " + " | ".join((dim, *_COLUMNS)) + " |",
                  "|" + "---|" * (len(_COLUMNS) + 1)]
        lines += ["| " + " | ".join([r["label"].replace("|", "\\|"), *_cells(r)]) + " |"
                  for r in rows if r["dimension"] == dim]
        lines.append("")
    return "\n".join(lines)


# --- chart ----------------------------------------------------------------------------------------------------

_PASS, _DEDUP = "#2b6cb0", "#dd6b20"


def render_chart(rows: list[dict], path: str | Path) -> Path:
    """Write the pass-rate / dedup-rate bar chart; returns the path actually written (see module doc)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".png":
        try:
            return _render_png(rows, path)
        except ImportError:
            path = path.with_suffix(".svg")
    path.write_text(_svg(rows), encoding="utf-8")
    return path


def _svg(rows: list[dict]) -> str:
    label_w, bar_w, value_w, pad = 260, 420, 70, 16
    bar_h, gap, head_h = 11, 12, 26
    width = pad * 2 + label_w + bar_w + value_w
    out: list[str] = []
    y = pad
    out.append(f'<text x="{pad}" y="{y + 14}" font-size="16" font-weight="bold">Data quality: pass rate and '
               f'dedup rate</text>')
    y += 28
    for i, (name, color) in enumerate((("pass rate (passed / verified)", _PASS),
                                       ("dedup rate (duplicates / curated + rejected)", _DEDUP))):
        x = pad + i * 300
        out.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{color}"/>')
        out.append(f'<text x="{x + 18}" y="{y + 11}" font-size="12">{escape(name)}</text>')
    y += 24
    x0 = pad + label_w
    for dim in DIMENSIONS:
        group = [r for r in rows if r["dimension"] == dim]
        out.append(f'<text x="{pad}" y="{y + 17}" font-size="13" font-weight="bold">per {dim}</text>')
        y += head_h
        if not group:
            out.append(f'<text x="{x0}" y="{y + 10}" font-size="11" fill="#666">no data</text>')
            y += bar_h * 2 + gap
        for r in group:
            label = r["label"] if len(r["label"]) <= 38 else r["label"][:35] + "..."
            out.append(f'<text x="{x0 - 8}" y="{y + bar_h + 4}" font-size="11" text-anchor="end">'
                       f'{escape(label)}<title>{escape(r["label"])}</title></text>')
            for j, (value, color) in enumerate(((r["pass_rate"], _PASS), (r["dedup_rate"], _DEDUP))):
                by = y + j * bar_h
                w = 0 if value is None else round(bar_w * value, 1)
                out.append(f'<rect x="{x0}" y="{by}" width="{w}" height="{bar_h - 1}" fill="{color}"/>')
                out.append(f'<text x="{x0 + w + 4}" y="{by + bar_h - 2}" font-size="10">{_pct(value)}</text>')
            y += bar_h * 2 + gap
        y += 6
    axis_top = pad + 52
    for frac in (0, 0.5, 1):
        x = x0 + bar_w * frac
        out.insert(0, f'<line x1="{x}" y1="{axis_top}" x2="{x}" y2="{y}" stroke="#ddd"/>')
        out.append(f'<text x="{x}" y="{y + 14}" font-size="10" text-anchor="middle">{int(frac * 100)}%</text>')
    height = y + 14 + pad
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif">\n'
            f'<rect width="100%" height="100%" fill="white"/>\n' + "\n".join(out) + "\n</svg>\n")


def _render_png(rows: list[dict], path: Path) -> Path:  # pragma: no cover - matplotlib is not installed here
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['dimension']}: {r['label']}" for r in rows]
    ys = range(len(rows))
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(rows) + 1.5))
    ax.barh([y - 0.2 for y in ys], [r["pass_rate"] or 0 for r in rows], 0.4, color=_PASS, label="pass rate")
    ax.barh([y + 0.2 for y in ys], [r["dedup_rate"] or 0 for r in rows], 0.4, color=_DEDUP, label="dedup rate")
    ax.set_yticks(list(ys), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


# --- Prefect --------------------------------------------------------------------------------------------------

@task(cache_policy=NO_CACHE)
def report_task(wh: Warehouse, run_id: str, chart_path: str | None = None) -> list[dict]:
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
                    r["generations"], _pct(r["pass_rate"]), _pct(r["dedup_rate"]))
    return rows
