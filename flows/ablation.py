"""The mixing ablation: the same curated rows at several general:distilled ratios, one student each.

Forgetting is the cost general data is mixed in against: this flow measures it. It takes the recipe's
`snapshot:` spec with only `general_ratio` changed (ratio "0" = no general rows), snapshots each mix, trains
the recipe's `train:` settings on each, and evaluates every student in one `evaluate` call with the
forgetting probes forced on, so all the paired tests and deltas are against the same base, on the same items.

It generates nothing: it runs on rows `distill run` (or generate + curate) already curated. A mix whose
content equals an existing snapshot is that snapshot (content-hash names), and a student already trained on
it with the same settings is reused by id: after `distill run`, the recipe's own ratio costs no training.

The ratios are a flow parameter (`distill ablate --ratios`), not a recipe key: an ablation is a question
asked of a recipe, not part of what the recipe makes, and every existing recipe can be asked it unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from prefect import flow, get_run_logger
from rich.table import Table

from flows.evaluate import evaluate
from flows.generate import register_inputs
from flows.recipe import Recipe, load_inputs, load_recipe
from flows.runs import tracked_run
from flows.snapshot import snapshot
from flows.train import train
from generators.seeds import InputError
from warehouse.db import Warehouse
from warehouse.snapshot_spec import SnapshotSpec
from warehouse.snapshots import distilled_rows

DEFAULT_RATIOS = ("0", "1:4", "1:1")
METRIC_COLUMNS = ("accuracy", "accuracy_ci_low", "accuracy_ci_high", "p_vs_base", "retention", "general_nll",
                  "general_nll_delta", "truthfulqa_delta", "hellaswag_delta", "flips_lost", "flips_gained")


def parse_ratios(ratios: str | Sequence[str] | None) -> list[str]:
    """'0,1:4,1:1' or a list -> the ratio labels, each checked like `snapshot.general_ratio` ("0" = 0:1)."""
    if ratios is None:
        return list(DEFAULT_RATIOS)
    labels = [r.strip() for r in (ratios.split(",") if isinstance(ratios, str) else map(str, ratios))]
    if not labels or not all(labels):
        raise InputError("--ratios", None, f"empty ratio in {ratios!r}", "pass ratios like 0,1:4,1:1")
    seen: dict[Fraction, str] = {}
    for label in labels:
        try:
            general, distilled = SnapshotSpec(general_ratio=general_ratio(label)).ratio()
        except ValueError as exc:
            raise InputError("--ratios", None, f"ratio {label!r}: {exc}",
                             "pass general:distilled ratios like 0,1:4,1:1 (0 = no general rows)") from None
        share = Fraction(general, distilled)
        if share in seen:
            raise InputError("--ratios", None, f"ratios {seen[share]!r} and {label!r} are the same mix",
                             "pass each ratio once")
        seen[share] = label
    return labels


def general_ratio(label: str) -> str:
    """A ratio label as `SnapshotSpec.general_ratio`: "0" means no general rows, i.e. 0:1."""
    return "0:1" if label == "0" else label


def mix_spec(spec: SnapshotSpec, label: str) -> SnapshotSpec:
    """The recipe's spec with the ratio replaced. A named spec keeps its name only at its own ratio (the
    factory's snapshot, reused); other mixes are named by content hash, since a name holds one content."""
    mixed = replace(spec, general_ratio=general_ratio(label))
    same = Fraction(*mixed.ratio()) == Fraction(*spec.ratio())
    return mixed if same else replace(mixed, name=None)


def check_ablation(cfg: Recipe, warehouse: str | None) -> None:
    """What the ablation needs before it starts: general data to vary, a warehouse and curated rows."""
    if not cfg.snapshot.general:
        raise InputError(cfg.source, None, "the recipe's snapshot has no `general:` data, so every ratio would "
                         "give the same snapshot", "set snapshot.general to a JSONL of prompt/response rows "
                         "(e.g. examples/general/instructions.jsonl)")
    wh = Warehouse(warehouse)
    if not Path(wh.path).exists():
        raise InputError(wh.path, None, "no warehouse: the ablation trains on curated rows and generates none",
                         f"run `distill run -r {cfg.name}` (or generate and curate) first, or pass -w WAREHOUSE")
    if not distilled_rows(wh, cfg.snapshot):
        raise InputError(wh.path, None, f"no curated rows match recipe {cfg.name}'s snapshot filters",
                         f"run `distill run -r {cfg.name}` (or `distill generate` and `distill curate`) first")


@flow(name="ablation")
def ablation(recipe: str = "quickstart", warehouse: str | None = None,
             ratios: list[str] | None = None) -> list[dict]:
    """One snapshot, student and evaluation row per general:distilled ratio (default 0, 1:4, 1:1)."""
    cfg = load_recipe(recipe)
    labels = parse_ratios(ratios)
    inputs = load_inputs(cfg, evaluates=True)
    check_ablation(cfg, warehouse)  # before a `runs` row is written
    wh = Warehouse(warehouse)
    wh.init()
    record = {"source": cfg.source, **cfg.raw, "ablation": {"general_ratios": labels}}
    with tracked_run(wh, "ablation", cfg.name, record) as run_id:
        register_inputs(wh, inputs, run_id)  # eval prompts a data-only run did not register
        snaps = [snapshot(wh, mix_spec(cfg.snapshot, label), run_id, cfg.name) for label in labels]
        _warn_short_pool(labels, snaps)
        trained = [train(wh, s["name"], cfg.train, run_id) for s in snaps]
        ids = list(dict.fromkeys(t["training_run_id"] for t in trained))  # equal mixes share one student
        rows = evaluate(wh, replace(cfg.eval, forgetting=True), cfg.train.base_model, ids, cfg.teacher, run_id,
                        cfg.verify)
    by_run = {r["training_run_id"]: r for r in rows if r.get("training_run_id")}
    base = next(r for r in rows if r["role"] == "base")
    return [ablation_row(label, s, t, by_run[t["training_run_id"]], base)
            for label, s, t in zip(labels, snaps, trained, strict=True)]


def _warn_short_pool(labels: list[str], snaps: list[dict]) -> None:
    """A mix the general pool is too small for holds fewer general rows than its ratio: say so (the table
    shows the counts actually trained on)."""
    for label, snap in zip(labels, snaps, strict=True):
        general, distilled = SnapshotSpec(general_ratio=general_ratio(label)).ratio()
        if snap["n_general"] < snap["n_distilled"] * general // distilled:
            get_run_logger().warning("ratio %s: only %d general rows for %d distilled (the general pool is "
                                     "smaller than the ratio asks)", label, snap["n_general"], snap["n_distilled"])


def ablation_row(label: str, snap: dict, trained: dict, evaluation: dict, base: dict) -> dict:
    metrics = evaluation["metrics"]
    return {"ratio": label, "snapshot": snap["name"], "n_distilled": snap["n_distilled"],
            "n_general": snap["n_general"], "training_run_id": trained["training_run_id"],
            "reused": trained["reused"], "role": evaluation["role"], "n": evaluation["n"],
            "base_accuracy": base["accuracy"], "base_general_nll": base["metrics"].get("general_nll"),
            **{name: metrics.get(name) for name in METRIC_COLUMNS}}


def ablation_table(rows: list[dict], recipe: str) -> Table:
    """The CLI's table: one line per ratio; deltas are student - base (NLL: lower is better)."""
    first = rows[0]
    table = Table(title=f"mixing ablation, recipe {recipe}: base accuracy {_pct(first['base_accuracy'])} on "
                        f"{first['n']} items, base general NLL {_num(first['base_general_nll'], '.3f')}")
    for name, justify in [("general:distilled", "left"), ("snapshot", "left"), ("rows (distilled + general)", "right"),
                          ("accuracy [95% CI]", "right"), ("p vs base", "right"), ("flips lost / gained", "right"),
                          ("general NLL Δ", "right"), ("TruthfulQA Δ", "right"), ("HellaSwag Δ", "right")]:
        table.add_column(name, justify=justify)
    for r in rows:
        table.add_row(
            r["ratio"], r["snapshot"] + (" (reused)" if r["reused"] else ""),
            f"{r['n_distilled']} + {r['n_general']}",
            f"{_pct(r['accuracy'])} [{_pct(r['accuracy_ci_low'])}, {_pct(r['accuracy_ci_high'])}]",
            _num(r["p_vs_base"], ".3f"), f"{_num(r['flips_lost'], '.0f')} / {_num(r['flips_gained'], '.0f')}",
            _num(r["general_nll_delta"], "+.3f"), _points(r["truthfulqa_delta"]), _points(r["hellaswag_delta"]))
    return table


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _points(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.1f} pts"


def _num(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)
