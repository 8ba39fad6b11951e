"""The data-quality report as people read it: rich tables, markdown (the Prefect artifact) and a chart.

The figures come from `warehouse/quality.py:quality_report` (its docstring defines each one); this
module only presents them. The chart is drawn with matplotlib on the Agg canvas (no display needed,
no global pyplot state): per dimension a panel, per row a bar for the pass rate and one for the
dedup rate, each bar carrying a `gid` (`pass-rate-<dimension>-<i>`, `dedup-rate-<dimension>-<i>`)
so the SVG can be checked and styled. A `.png` path gets a PNG; any other path gets an SVG whose
text stays text (`svg.fonttype = none`), so labels are searchable and the file is small.
"""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from warehouse.quality import DIMENSIONS, QualityRow

COLUMNS = ("generations", "verified", "pass rate", "dedup rate", "decontam.", "tokens / verified", "$ / verified")
TITLE = "Data quality: pass rate and dedup rate"
BARS = (("pass_rate", "pass rate (passed / verified)", "#2b6cb0"),
        ("dedup_rate", "dedup rate (duplicates / curated + rejected)", "#dd6b20"))
_LABEL_CHARS = 38


def pct(x: float | None) -> str:
    """A rate as `80.0%`, or `-` where it has no denominator."""
    return "-" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def _cells(r: QualityRow) -> list[str]:
    return [str(r["generations"]), f"{r['passed']}/{r['verified']}", pct(r["pass_rate"]),
            f"{pct(r['dedup_rate'])} ({r['deduped']}/{r['decided']})", str(r["decontaminated"]),
            _num(r["tokens_per_verified"], ".1f"), _num(r["cost_per_verified"], ".6f")]


def report_tables(rows: list[QualityRow]) -> list[Table]:
    """One rich table per dimension."""
    tables = []
    for dim in DIMENSIONS:
        table = Table(dim, *COLUMNS, title=f"data quality per {dim}")
        for r in rows:
            if r["dimension"] == dim:
                table.add_row(r["label"], *_cells(r))
        tables.append(table)
    return tables


def markdown_report(rows: list[QualityRow], title: str = "Data quality") -> str:
    """The same tables in markdown, for the Prefect artifact (a `|` in a label is escaped)."""
    lines = [f"# {title}", ""]
    for dim in DIMENSIONS:
        lines += [f"## Per {dim}", "", "| " + " | ".join((dim, *COLUMNS)) + " |",
                  "|" + "---|" * (len(COLUMNS) + 1)]
        lines += ["| " + " | ".join([r["label"].replace("|", "\\|"), *_cells(r)]) + " |"
                  for r in rows if r["dimension"] == dim]
        lines.append("")
    return "\n".join(lines)


# --- chart ----------------------------------------------------------------------------------------------------

def render_chart(rows: list[QualityRow], path: str | Path) -> Path:
    """Write the pass-rate / dedup-rate bar chart (PNG for `.png`, SVG otherwise); returns the path written."""
    from matplotlib import rc_context

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    png = path.suffix.lower() == ".png"
    # a fixed hash salt and no date: the same rows give the same SVG bytes on every run
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "distillery-quality-report"}):
        fig = _figure(rows)
        fig.savefig(path, format="png" if png else "svg", dpi=120, metadata=None if png else {"Date": None})
    return path


def _figure(rows: list[QualityRow]):
    """One panel per dimension, stacked, sharing the 0-100% axis; panel heights follow their row counts."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    groups = [[r for r in rows if r["dimension"] == dim] for dim in DIMENSIONS]
    heights = [max(len(g), 1) for g in groups]
    fig = Figure(figsize=(10, 1.8 + 0.6 * sum(heights) + 0.5 * len(groups)), layout="constrained")
    FigureCanvasAgg(fig)  # the Agg canvas: renders without a display and without pyplot's global state
    axes = fig.subplots(len(groups), 1, sharex=True, squeeze=False, height_ratios=heights)[:, 0]
    for ax, dim, group in zip(axes, DIMENSIONS, groups):
        _panel(ax, dim, group)
    fig.suptitle(TITLE, fontweight="bold")
    fig.legend(handles=[Patch(color=color, label=label) for _, label, color in BARS], loc="outside lower center",
               ncols=len(BARS), frameon=False)
    return fig


def _panel(ax, dim: str, group: list[QualityRow]) -> None:
    """Two bars per row (pass rate above dedup rate), each with its percentage written after it."""
    from matplotlib.ticker import PercentFormatter

    ax.set_title(f"per {dim}", loc="left", fontweight="bold", fontsize=11)
    ax.set_xlim(0, 1.12)  # room after a 100% bar for its value
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1])
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.grid(axis="x", color="#ddd")
    ax.set_axisbelow(True)
    if not group:
        ax.set_yticks([])
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="#666")
        return
    height = 0.4
    for j, (field, _, color) in enumerate(BARS):
        ys = [i + (j - 0.5) * height for i in range(len(group))]
        values = [r[field] for r in group]
        bars = ax.barh(ys, [v or 0 for v in values], height * 0.95, color=color)
        for i, (bar, value) in enumerate(zip(bars, values)):
            bar.set_gid(f"{field.replace('_', '-')}-{dim}-{i}")
            ax.text(bar.get_width() + 0.01, ys[i], pct(value), va="center", fontsize=8)
    ax.set_yticks(range(len(group)), [_short(r["label"]) for r in group])
    ax.set_ylim(len(group) - 0.5, -0.5)  # first row on top


def _short(label: str) -> str:
    return label if len(label) <= _LABEL_CHARS else label[:_LABEL_CHARS - 3] + "..."
