"""The accuracy chart of `distill eval chart`: every evaluation as a point with its 95% interval.

One panel per split (accuracies on different item sets are not comparable), one row per
evaluation labelled by role, model, method and snapshot, coloured by what was scored (the
base model, the teacher, or a student by its training method). Drawn on matplotlib's Agg
canvas without pyplot (no display, no global state); PNG for a `.png` path, SVG otherwise,
and the SVG is byte-stable for the same points (fixed hash salt, no date).
"""

from __future__ import annotations

from pathlib import Path

TITLE = "accuracy with its 95% Wilson interval, per model and method"
COLOURS = {"base": "#7f7f7f", "teacher": "#ff7f0e", "sft": "#1f77b4", "kd": "#2ca02c"}
OTHER_COLOURS = ("#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#d62728")


def render_accuracy_chart(points: list[dict], path: str | Path) -> Path:
    """Write the chart of `points` (each: label, split, kind, accuracy, ci_low, ci_high, all accuracies as
    shares in [0, 1]; kind is `base`, `teacher` or a training method) to `path`; returns the path."""
    from matplotlib import rc_context

    if not points:
        raise ValueError("no evaluations to chart: run `distill eval -r RECIPE` first")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    png = path.suffix.lower() == ".png"
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "distillery-eval-chart"}):
        fig = _figure(points)
        fig.savefig(path, format="png" if png else "svg", dpi=120, metadata=None if png else {"Date": None})
    return path


def colour_of(kind: str, kinds: list[str]) -> str:
    """A fixed colour for base, teacher, sft and kd; other methods take the next free colour in order."""
    if kind in COLOURS:
        return COLOURS[kind]
    others = [k for k in kinds if k not in COLOURS]
    return OTHER_COLOURS[others.index(kind) % len(OTHER_COLOURS)]


def _figure(points: list[dict]):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    splits = list(dict.fromkeys(p["split"] for p in points))
    groups = [[p for p in points if p["split"] == s] for s in splits]
    kinds = list(dict.fromkeys(p["kind"] for p in points))
    fig = Figure(figsize=(10, 1.6 + 0.45 * len(points) + 0.6 * len(groups)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(groups), 1, sharex=True, squeeze=False, height_ratios=[len(g) for g in groups])[:, 0]
    for ax, split, group in zip(axes, splits, groups):
        _panel(ax, split, group, kinds)
    axes[-1].set_xlabel("accuracy (%)")
    fig.suptitle(TITLE, fontweight="bold")
    fig.legend(handles=[Line2D([], [], color=colour_of(k, kinds), marker="o", linestyle="", label=k) for k in kinds],
               loc="outside lower center", ncols=len(kinds), frameon=False)
    return fig


def _panel(ax, split: str, group: list[dict], kinds: list[str]) -> None:
    ys = list(range(len(group)))[::-1]  # the first point on top
    for y, p in zip(ys, group):
        acc, low, high = (100 * p[k] for k in ("accuracy", "ci_low", "ci_high"))
        ax.errorbar(acc, y, xerr=[[acc - low], [high - acc]], fmt="o", color=colour_of(p["kind"], kinds), capsize=4)
        ax.annotate(f"{acc:.1f}%", (high, y), xytext=(6, 0), textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(ys, [p["label"] for p in group], fontsize=8)
    ax.set_ylim(-0.7, len(group) - 0.3)
    ax.set_xlim(0, 100)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"split {split} (n = {', '.join(sorted({str(p['n']) for p in group}))})", fontsize=9, loc="left")
