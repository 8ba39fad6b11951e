"""The report as people read it: rich tables, markdown (the Prefect artifact) and a matplotlib chart.

The figures come from `warehouse/quality.py:report` (its docstring defines each one): pass rate with counts per
topic, template and teacher; rejections by stage and reason; cost per verified sample; the trend across runs;
the latest evaluation. This module only presents them; every function takes that `Report` mapping (a missing
section reads as empty).

The chart is drawn with matplotlib on the Agg canvas (no display needed, no global pyplot state). Left column:
pass rate per topic, per template and per teacher, each bar labelled `80.0% (4/5) of 6` (passed / verified of
the generations). Right column: rejections by stage and reason, cost per verified sample per teacher (`n/a` for
a teacher without a price: a local model records $0), the trend across runs (kept rows as bars, pass rate as a
line), and the latest evaluation (accuracy per contestant with its 95% Wilson interval). Each bar has a `gid`
(`pass-rate-<dimension>-<i>`, `rejection-<i>`, `cost-per-verified-<i>`, `trend-kept-<i>`, `accuracy-<i>`) so
the SVG can be checked and styled. A `.png` path gets a PNG; any other path gets an SVG whose text stays text
(`svg.fonttype = none`). The same report gives the same bytes: no date is written and SVG ids use a fixed salt.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from rich.table import Table

from warehouse.quality import DIMENSIONS, EvaluationRow, QualityRow, TrendRow

COLUMNS = ("generations", "verified", "pass rate", "dedup rate", "decontam.", "tokens / verified", "$ / verified")
REJECTION_COLUMNS = ("stage", "reason", "generations")
TREND_COLUMNS = ("#", "run", "flow", "started", "generations", "verified", "pass rate", "kept", "rejected")
EVAL_COLUMNS = ("contestant", "model", "correct", "accuracy", "95% CI", "evaluated in")
TITLE = "Distillery report"
NO_PRICE = "n/a"  # the cost of a teacher that records no dollars (a local model, or no entry under `prices`)
PASS_COLOR, KEPT_COLOR, ACCURACY_COLOR, COST_COLOR = "#2b6cb0", "#2f855a", "#6b46c1", "#b7791f"
STAGE_COLORS = {"verify": "#c53030", "curate": "#dd6b20"}
_LABEL_CHARS = 38
_TREND_LABELS = 12  # at most this many run labels under the trend; the points stay


def pct(x: float | None) -> str:
    """A rate as `80.0%`, or `-` where it has no denominator."""
    return "-" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def cost_cell(r: QualityRow, fmt: str = ".6f") -> str:
    """Dollars per verified sample: `n/a` without a price, `-` without a verified sample."""
    return NO_PRICE if not r["priced"] else _num(r["cost_per_verified"], fmt)


def money(x: float) -> str:
    return f"${x:.4f}" if x >= 0.01 else f"${x:.3g}"


def _cells(r: QualityRow) -> list[str]:
    return [str(r["generations"]), f"{r['passed']}/{r['verified']}", pct(r["pass_rate"]),
            f"{pct(r['dedup_rate'])} ({r['deduped']}/{r['decided']})", str(r["decontaminated"]),
            _num(r["tokens_per_verified"], ".1f"), cost_cell(r)]


def contestant(r: EvaluationRow, rows: list[EvaluationRow]) -> str:
    """`base`, `teacher`, or `student <method>`, with the snapshot (then the training run) where that is ambiguous."""
    if r["role"] != "student":
        return r["role"]
    name = f"student {r['method'] or 'sft'}"
    twins = [o for o in rows if o["role"] == "student" and (o["method"] or "sft") == (r["method"] or "sft")]
    if len(twins) > 1:
        snapshots = [o["snapshot"] for o in twins]
        tag = r["snapshot"] if r["snapshot"] and snapshots.count(r["snapshot"]) == 1 else \
            (r["training_run_id"] or r["evaluation_id"])[:8]
        name += f" ({tag})"
    return name


def _ci(r: EvaluationRow) -> str:
    return "-" if r["ci_low"] is None or r["ci_high"] is None else f"{pct(r['ci_low'])}-{pct(r['ci_high'])}"


def _trend_cells(i: int, r: TrendRow) -> list[str]:
    return [str(i + 1), r["run_id"][:12], r["flow"] or "-", str(r["started_at"])[:16], str(r["generations"]),
            f"{r['passed']}/{r['verified']}", pct(r["pass_rate"]), str(r["kept"]), str(r["rejected"])]


def _eval_cells(r: EvaluationRow, rows: list[EvaluationRow]) -> list[str]:
    return [contestant(r, rows), r["model"], f"{r['correct']}/{r['n']}", pct(r["accuracy"]), _ci(r),
            f"{r['run_id'][:12]}{' (reused)' if r['reused'] else ''}"]


def _sections(report: Mapping) -> tuple[list, list, list, list]:
    return (list(report.get("quality") or []), list(report.get("rejections") or []),
            list(report.get("trend") or []), list(report.get("evaluation") or []))


def report_tables(report: Mapping) -> list[Table]:
    """One rich table per dimension, then rejections, the trend and the latest evaluation."""
    quality, rejections, trend, evaluation = _sections(report)
    tables = []
    for dim in DIMENSIONS:
        table = Table(dim, *COLUMNS, title=f"data quality per {dim}")
        for r in quality:
            if r["dimension"] == dim:
                table.add_row(r["label"], *_cells(r))
        tables.append(table)
    table = Table(*REJECTION_COLUMNS, title="rejections by stage and reason")
    for r in rejections:
        table.add_row(r["stage"], r["reason"], str(r["count"]))
    tables.append(table)
    table = Table(*TREND_COLUMNS, title="trend across runs (what each run wrote)")
    for i, r in enumerate(trend):
        table.add_row(*_trend_cells(i, r))
    tables.append(table)
    table = Table(*EVAL_COLUMNS, title="latest evaluation")
    for r in evaluation:
        table.add_row(*_eval_cells(r, evaluation))
    tables.append(table)
    return tables


def _md_table(header: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    return (["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            + ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows] + [""])


def markdown_report(report: Mapping, title: str = "Data quality") -> str:
    """The same tables in markdown, for the Prefect artifact (a `|` in a cell is escaped)."""
    quality, rejections, trend, evaluation = _sections(report)
    lines = [f"# {title}", ""]
    for dim in DIMENSIONS:
        lines += [f"## Per {dim}", ""]
        lines += _md_table((dim, *COLUMNS), [[r["label"], *_cells(r)] for r in quality if r["dimension"] == dim])
    lines += ["## Rejections by stage and reason", ""]
    lines += _md_table(REJECTION_COLUMNS, [[r["stage"], r["reason"], str(r["count"])] for r in rejections])
    lines += ["## Trend across runs", ""]
    lines += _md_table(TREND_COLUMNS, [_trend_cells(i, r) for i, r in enumerate(trend)])
    lines += ["## Latest evaluation", ""]
    lines += _md_table(EVAL_COLUMNS, [_eval_cells(r, evaluation) for r in evaluation])
    return "\n".join(lines)


# --- chart ----------------------------------------------------------------------------------------------------

PANEL_TITLES = {**{dim: f"pass rate per {dim}" for dim in DIMENSIONS},
                "rejections": "rejections by stage and reason (generations)",
                "cost": "cost per verified sample, per teacher",
                "trend": "trend across runs: kept rows (bars), pass rate (line)",
                "evaluation": "latest evaluation: accuracy, 95% Wilson interval"}


def render_chart(report: Mapping, path: str | Path) -> Path:
    """Write the report's chart (PNG for `.png`, SVG otherwise); returns the path written."""
    from matplotlib import rc_context

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    png = path.suffix.lower() == ".png"
    # a fixed hash salt and no date: the same report gives the same bytes on every run
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "distillery-quality-report"}):
        fig = report_figure(report)
        fig.savefig(path, format="png" if png else "svg", dpi=110,
                    metadata={"Software": None} if png else {"Date": None})
    return path


def _inches(rows: int) -> float:
    return 0.75 + 0.3 * max(rows, 1)


def report_figure(report: Mapping):
    """The chart as a matplotlib Figure (Agg canvas): pass-rate panels on the left, the rest on the right."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    quality, rejections, trend, evaluation = _sections(report)
    groups = [[r for r in quality if r["dimension"] == dim] for dim in DIMENSIONS]
    teachers = groups[DIMENSIONS.index("teacher")]
    left = [_inches(len(g)) for g in groups]
    right = [_inches(len(rejections)), _inches(len(teachers)), 2.8, _inches(len(evaluation))]
    fig = Figure(figsize=(15, 0.8 + max(sum(left), sum(right))), layout="constrained")
    FigureCanvasAgg(fig)  # the Agg canvas: renders without a display and without pyplot's global state
    sub_left, sub_right = fig.subfigures(1, 2, wspace=0.04)
    axes = sub_left.subplots(len(groups), 1, sharex=True, squeeze=False, height_ratios=left)[:, 0]
    for ax, dim, group in zip(axes, DIMENSIONS, groups):
        _pass_rate_panel(ax, dim, group)
    ax_rej, ax_cost, ax_trend, ax_eval = sub_right.subplots(4, 1, height_ratios=right)
    _rejections_panel(ax_rej, rejections)
    _cost_panel(ax_cost, teachers)
    _trend_panel(ax_trend, trend)
    _evaluation_panel(ax_eval, evaluation)
    verified = sum(r["verified"] for r in groups[DIMENSIONS.index("teacher")])
    passed = sum(r["passed"] for r in groups[DIMENSIONS.index("teacher")])
    kept = sum(r["kept"] for r in trend)
    fig.suptitle(f"{TITLE}: {sum(r['generations'] for r in teachers)} generations, {passed}/{verified} passed "
                 f"verification, {kept} kept, {len(trend)} runs", fontweight="bold")
    return fig


def _title(ax, key: str) -> None:
    ax.set_title(PANEL_TITLES[key], loc="left", fontweight="bold", fontsize=11)


def _empty(ax) -> bool:
    ax.set_yticks([])
    ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="#666")
    return True


def _rows_axis(ax, labels: list[str]) -> None:
    ax.set_yticks(range(len(labels)), [_short(label) for label in labels], fontsize=9)
    ax.set_ylim(len(labels) - 0.5, -0.5)  # first row on top


def _percent_axis(ax, right: float) -> None:
    from matplotlib.ticker import PercentFormatter

    ax.set_xlim(0, right)  # room after a 100% bar for its value
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1])
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.grid(axis="x", color="#ddd")
    ax.set_axisbelow(True)


def _pass_rate_panel(ax, dim: str, group: list[QualityRow]) -> None:
    """A bar per row for its pass rate, followed by `80.0% (4/5) of 6`: passed / verified of the generations."""
    _title(ax, dim)
    _percent_axis(ax, 1.4)
    if not group:
        _empty(ax)
        return
    bars = ax.barh(range(len(group)), [r["pass_rate"] or 0 for r in group], 0.7, color=PASS_COLOR)
    for i, (bar, r) in enumerate(zip(bars, group)):
        bar.set_gid(f"pass-rate-{dim}-{i}")
        ax.text(bar.get_width() + 0.01, i, f"{pct(r['pass_rate'])} ({r['passed']}/{r['verified']}) "
                f"of {r['generations']}", va="center", fontsize=8, parse_math=False)
    _rows_axis(ax, [r["label"] for r in group])


def _rejections_panel(ax, rows: list) -> None:
    from matplotlib.ticker import MaxNLocator

    _title(ax, "rejections")
    ax.grid(axis="x", color="#ddd")
    ax.set_axisbelow(True)
    if not rows:
        _empty(ax)
        return
    top = max(r["count"] for r in rows)
    bars = ax.barh(range(len(rows)), [r["count"] for r in rows], 0.7,
                   color=[STAGE_COLORS.get(r["stage"], "#718096") for r in rows])
    for i, (bar, r) in enumerate(zip(bars, rows)):
        bar.set_gid(f"rejection-{i}")
        ax.text(bar.get_width() + 0.01 * top, i, str(r["count"]), va="center", fontsize=8, parse_math=False)
    ax.set_xlim(0, top * 1.15)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _rows_axis(ax, [f"{r['stage']}: {r['reason']}" for r in rows])


def _cost_panel(ax, teachers: list[QualityRow]) -> None:
    """Dollars per verified sample (failed attempts included); `n/a (no price)` where no dollars were recorded."""
    from matplotlib.ticker import FuncFormatter

    _title(ax, "cost")
    ax.grid(axis="x", color="#ddd")
    ax.set_axisbelow(True)
    if not teachers:
        _empty(ax)
        return
    values = [r["cost_per_verified"] if r["priced"] else None for r in teachers]
    top = max((v for v in values if v is not None), default=0.0) or 1.0
    bars = ax.barh(range(len(teachers)), [v or 0 for v in values], 0.7, color=COST_COLOR)
    for i, (bar, r, v) in enumerate(zip(bars, teachers, values)):
        bar.set_gid(f"cost-per-verified-{i}")
        text = f"{NO_PRICE} (no price)" if not r["priced"] else "-" if v is None else \
            f"{money(v)} ({money(r['cost_usd'])} / {r['passed']})"
        ax.text(bar.get_width() + 0.01 * top, i, text, va="center", fontsize=8, parse_math=False)
    ax.set_xlim(0, top * 1.5)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: money(x) if x else "$0"))  # one `$`: no mathtext
    _rows_axis(ax, [r["label"] for r in teachers])


def _trend_panel(ax, rows: list[TrendRow]) -> None:
    """Kept rows per run as bars (left axis), the pass rate of the run's verdicts as a line (right axis)."""
    import math

    from matplotlib.ticker import MaxNLocator, PercentFormatter

    _title(ax, "trend")
    if not rows:
        ax.set_xticks([])
        _empty(ax)
        return
    xs = range(len(rows))
    bars = ax.bar(xs, [r["kept"] for r in rows], 0.6, color=KEPT_COLOR, label="kept rows")
    for i, bar in enumerate(bars):
        bar.set_gid(f"trend-kept-{i}")
    ax.set_ylabel("kept rows", fontsize=9)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(-0.5, len(rows) - 0.5)
    ax.set_ylim(0, max(max(r["kept"] for r in rows), 1) * 1.3)  # room above the bars for the legend
    step = math.ceil(len(rows) / _TREND_LABELS)
    ax.set_xticks(list(xs)[::step], [f"{i + 1}. {r['flow'] or r['run_id'][:8]}\n{str(r['started_at'])[5:16]}"
                                     for i, r in list(enumerate(rows))[::step]], fontsize=8)
    rate = ax.twinx()
    (line,) = rate.plot(xs, [math.nan if r["pass_rate"] is None else r["pass_rate"] for r in rows], "o-",
                        color=PASS_COLOR, label="pass rate")
    line.set_gid("trend-pass-rate")
    rate.set_ylim(0, 1.3)
    rate.set_yticks([0, 0.25, 0.5, 0.75, 1])
    rate.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    rate.set_ylabel("pass rate", fontsize=9)
    ax.legend(handles=[bars, line], loc="upper left", fontsize=8, frameon=False, ncols=2)


def _evaluation_panel(ax, rows: list[EvaluationRow]) -> None:
    """Accuracy per contestant with its 95% Wilson interval as an error bar, and `45.0% [30.1-60.2%] 9/20`."""
    _title(ax, "evaluation")
    _percent_axis(ax, 1.45)
    if not rows:
        _empty(ax)
        return
    bars = ax.barh(range(len(rows)), [r["accuracy"] for r in rows], 0.7, color=ACCURACY_COLOR)
    with_ci = [(i, r) for i, r in enumerate(rows) if r["ci_low"] is not None and r["ci_high"] is not None]
    if with_ci:
        err = ax.errorbar([r["accuracy"] for _, r in with_ci], [i for i, _ in with_ci],
                          xerr=[[r["accuracy"] - r["ci_low"] for _, r in with_ci],
                                [r["ci_high"] - r["accuracy"] for _, r in with_ci]],
                          fmt="none", ecolor="#1a202c", capsize=3, lw=1)
        err.lines[2][0].set_gid("accuracy-ci")
    for i, (bar, r) in enumerate(zip(bars, rows)):
        bar.set_gid(f"accuracy-{i}")
        right = max(bar.get_width(), r["ci_high"] or 0)
        ci = "" if r["ci_low"] is None or r["ci_high"] is None else f" [{_ci(r)}]"
        ax.text(right + 0.015, i, f"{pct(r['accuracy'])}{ci} {r['correct']}/{r['n']}", va="center", fontsize=8, parse_math=False)
    _rows_axis(ax, [f"{contestant(r, rows)}: {r['model']}" + (" (reused)" if r["reused"] else "") for r in rows])
    split = {r["split"] for r in rows}
    if len(split) == 1:
        run = next((r["run_id"] for r in rows if not r["reused"]), rows[0]["run_id"])
        ax.set_xlabel(f"split {split.pop()}, evaluation run {run[:12]}", fontsize=8)


def _short(label: str) -> str:
    return label if len(label) <= _LABEL_CHARS else label[:_LABEL_CHARS - 3] + "..."
