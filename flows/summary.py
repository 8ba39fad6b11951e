"""Tables the CLI prints: the factory summary, warehouse status, query results."""

from __future__ import annotations

import csv
import io
import json

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from warehouse.db import Warehouse
from warehouse.status import warehouse_status


def print_summary(console: Console, s: dict) -> None:
    t, snap = s["totals"], s["snapshot"]
    table = Table(title=f"factory run {s['run_id']} (recipe {s['recipe']})", show_header=True)
    table.add_column("stage")
    table.add_column("figure", justify="right")
    rate = t["verified_rate"]
    rows = [
        ("prompts (train / eval)", f"{t['train_prompts']} / {t['eval_prompts']}"),
        ("prompts sent to the teacher", str(t["prompts_sent"])),
        ("generations (new this run)", f"{t['generations']} ({s['generate'].get('stored', 0)})"),
        ("failed requests (retried next run)", str(t["failed_requests"])),
        ("verified", f"{100 * rate:.1f}%" if rate is not None else "-"),
        ("kept after curation + dedup", str(t["curated"])),
        ("snapshot", f"{snap['name']}"),
        ("snapshot rows (distilled / general)", f"{snap['n_distilled']} / {snap['n_general']}"),
    ]
    for tr in s.get("trained") or [s["train"]]:
        config = tr["config"] if isinstance(tr["config"], dict) else json.loads(tr["config"])
        rows.append((f"train {config.get('method', 'sft')}: steps / loss / time / tokens/s", _train_figures(tr)))
    spent = s["generate"].get("spent") or {}
    if spent.get("cost_usd"):
        rows.insert(4, ("teacher spend this run", f"${spent['cost_usd']:.4f}"))
    if spent.get("stopped"):
        rows.insert(4, ("generation stopped", spent["stopped"]))
    if s.get("rounds"):  # iterated distillation: the figures above are round 1's, except what curation kept
        rows = [(f"{k} (all rounds)" if k.startswith("kept after") else k, v) for k, v in rows]
        rows += round_rows(s["rounds"][1:])
    for name, value in rows:
        table.add_row(name, value)
    evaluated = by_round(s["eval"], s.get("rounds") or [])
    for shown in (table, eval_table(evaluated), topic_table(evaluated)):
        if shown is not None:
            print_wide(console, shown)


def round_rows(rounds: list[dict]) -> list[tuple[str, str]]:
    """The summary's lines for rounds 2..R of iterated distillation: teacher, data, snapshot, student."""
    rows = []
    for r in rounds:
        f, snap, n = r["figures"], r["snapshot"], r["round"]
        rate = f["verified_rate"]
        rows += [
            (f"round {n} teacher", f"{r['teacher_id']} (base + student of run {r['teacher_run_id'][:8]})"),
            (f"round {n} generations (new) / verified / kept",
             f"{f['generations']} ({r['generate'].get('stored', 0)}) / "
             f"{'-' if rate is None else f'{100 * rate:.1f}%'} / {f['kept']}"),
            (f"round {n} snapshot (distilled / general)", f"{snap['name']} ({snap['n_distilled']} / {snap['n_general']})"),
            (f"round {n} train: steps / loss / time / tokens/s", _train_figures(r["train"])),
        ]
    return rows


def by_round(rows: list[dict], rounds: list[dict]) -> list[dict]:
    """Evaluation rows with the students of iterated rounds named by round (`student:sft (round 2)`) instead of
    by a run id prefix; round 1's keep their method names."""
    if not rounds:
        return rows
    number = {r["train"]["training_run_id"]: r["round"] for r in rounds}

    def named(row: dict) -> dict:
        run, role = row.get("training_run_id"), row["role"]
        if not run or not role.startswith("student"):
            return row
        method = role.split(":")[1] if ":" in role else "sft"
        later = number.get(run, 1) > 1
        return {**row, "role": f"student:{method}" + (f" (round {number[run]})" if later else "")}

    return [named(r) for r in rows]


def topic_table(rows: list[dict]) -> Table | None:
    """Accuracy per seed topic for every contestant, with each student's retention there (None: no topics)."""
    topics = sorted({k.split(":", 1)[1] for r in rows for k in r.get("metrics", {}) if k.startswith("accuracy_by_topic:")})
    if not topics:
        return None
    table = Table("topic", *(r["role"] for r in rows), title="accuracy by topic (retention: student / teacher)")
    for topic in topics:
        cells = []
        for r in rows:
            m = r.get("metrics", {})
            acc, ret = m.get(f"accuracy_by_topic:{topic}"), m.get(f"retention_by_topic:{topic}")
            cells.append(_fmt(acc and 100 * acc, ".1f", "%") + (f" ({ret:.2f})" if ret is not None else ""))
        table.add_row(topic, *cells)
    return table


def _train_figures(tr: dict) -> str:
    seconds, rate = tr.get("train_seconds"), tr.get("tokens_per_second")
    reused = " (reused)" if tr.get("reused") else ""
    return (f"{tr['steps']} / {tr['train_loss']:.4f} / {_fmt(seconds, '.0f', ' s') or '-'} / "
            f"{_fmt(rate, '.0f') or '-'}{reused}")


def status_tables(wh: Warehouse) -> list[Table]:
    """`distill status` as three rich tables; the figures come from `warehouse.status`."""
    status = warehouse_status(wh)
    counts = Table("table", "rows", title=f"warehouse {wh.path}")
    for name, n in status["counts"].items():
        counts.add_row(name, str(n))
    outcome = Table("stage", "outcome", "rows", title="generations by stage")
    for row in status["stages"]:
        outcome.add_row(*(str(row[k]) for k in ("stage", "outcome", "rows")))
    recent = Table("flow", "status", "started", "finished", title="recent runs")
    for row in status["recent"]:
        recent.add_row(*(_cell(row[k]) for k in ("flow", "status", "started_at", "finished_at")))
    return [counts, outcome, recent]


FORMATS = ("table", "vertical", "markdown", "csv", "json")


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {' | '.join(FORMATS)}, got {fmt!r}")


def print_rows(console: Console, rows: list[dict], fmt: str = "table", columns: list[str] | None = None) -> None:
    """Rows in one of FORMATS. `columns` keeps the headers of an empty result (default: the first row's keys).

    Nothing is cut: a table on a terminal folds long cells onto more lines; a table written to a pipe or file
    is as wide as its widest row; `vertical` prints one `column | value` line per field (for wide rows and long
    text), `markdown` a GitHub table, `csv` and `json` the values."""
    columns = list(columns if columns is not None else rows[0] if rows else [])
    if fmt == "json":
        console.print_json(data=[{c: r.get(c) for c in columns} for r in rows], default=str)
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")  # a Unix pipe: no \r to strip from the last field
        writer.writerow(columns)
        writer.writerows([_csv_cell(r.get(c)) for c in columns] for r in rows)
        print(buf.getvalue(), end="")
    elif fmt == "vertical":
        print(vertical(rows, columns), end="")
    elif fmt == "markdown":
        print(markdown(rows, columns), end="")
    else:
        _print_table(console, rows, columns)


def _print_table(console: Console, rows: list[dict], columns: list[str]) -> None:
    table = Table(caption="no rows" if not rows else None)
    for c in columns or ["(no columns)"]:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*(Text(_cell(r.get(c))) for c in columns))
    print_wide(console, table)


def print_wide(console: Console, table: Table) -> None:
    """On a terminal, fit its width; otherwise (a pipe, a log file, `make demo`) print the table at its natural
    width instead of folding or cutting cells."""
    if console.is_terminal:
        console.print(table)
        return
    wide = Console(file=console.file, width=100_000, no_color=True, highlight=False)
    width = Measurement.get(wide, wide.options, table).maximum
    Console(file=console.file, width=max(width, 20), no_color=True, highlight=False).print(table)


def vertical(rows: list[dict], columns: list[str]) -> str:
    """psql's expanded display: a `-[ RECORD n ]-` line, then `column | value` per field; a multi-line value
    continues under its first line."""
    pad = max((len(c) for c in columns), default=0)
    out = []
    for n, r in enumerate(rows, start=1):
        out.append(f"-[ RECORD {n} ]" + "-" * max(4, pad - 8))
        for c in columns:
            first, *more = _cell(r.get(c)).split("\n") or [""]
            out.append(f"{c.ljust(pad)} | {first}")
            out.extend(f"{' ' * pad} | {line}" for line in more)
    return "\n".join(out) + "\n" if out else f"(no rows; columns: {', '.join(columns)})\n"


def markdown(rows: list[dict], columns: list[str]) -> str:
    """A GitHub-flavoured Markdown table: `|` escaped, line breaks as <br>."""
    def esc(v) -> str:
        return _cell(v).replace("|", "\\|").replace("\r\n", "<br>").replace("\n", "<br>")

    lines = ["| " + " | ".join(esc(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(esc(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _csv_cell(value):
    return json.dumps(value) if isinstance(value, (dict, list)) else value


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def eval_table(rows: list[dict]) -> Table:
    """One row per contestant: accuracy with its 95% Wilson interval; for each student the exact McNemar
    p-values against base and teacher on the same items, retention (student / teacher accuracy), speedup
    (teacher / student latency) and the items it lost / gained against base; where the forgetting probes ran,
    the change against base of the held-out general NLL and of the TruthfulQA / HellaSwag accuracies."""
    metrics = [r.get("metrics", {}) for r in rows]
    probes = any(m.get("general_nll") is not None for m in metrics)
    columns = ["contestant", "correct", "accuracy [95% CI]", "p vs base", "p vs teacher", "retention",
               "speedup (tok/s)", "lost / gained"]
    if probes:
        columns += ["general NLL (Δ)", "TruthfulQA (Δ)", "HellaSwag (Δ)"]
    table = Table(*columns, title="evaluation (p: exact McNemar on the same items; Δ: against base)")
    for r, m in zip(rows, metrics):
        ci = (f" [{100 * m['accuracy_ci_low']:.1f}-{100 * m['accuracy_ci_high']:.1f}]"
              if m.get("accuracy_ci_low") is not None else "")
        flips = (f"{m['flips_lost']:.0f} / {m['flips_gained']:.0f}"
                 if m.get("flips_lost") is not None and m.get("flips_gained") is not None else "")
        cells = [r["role"], f"{r['correct']}/{r['n']}", f"{100 * r['accuracy']:.1f}%{ci}",
                 _fmt(m.get("p_vs_base"), ".3f"), _fmt(m.get("p_vs_teacher"), ".3f"),
                 _fmt(m.get("retention"), ".2f"), _speed(m), flips]
        if probes:
            cells += [_with_delta(m, "general_nll", ".3f", 1), _with_delta(m, "truthfulqa", ".0f", 100, "%"),
                      _with_delta(m, "hellaswag", ".0f", 100, "%")]
        table.add_row(*cells)
    return table


def _speed(m: dict) -> str:
    speed, rate = _fmt(m.get("speedup"), ".2f", "x"), _fmt(m.get("tokens_per_s"), ".0f")
    return f"{speed} ({rate})" if speed and rate else speed or (f"({rate})" if rate else "")


def _with_delta(m: dict, name: str, spec: str, scale: float, suffix: str = "") -> str:
    value, delta = m.get(name), m.get(f"{name}_delta")
    if value is None:
        return ""
    text = f"{format(scale * value, spec)}{suffix}"
    return text + (f" ({format(scale * delta, '+' + spec)})" if delta is not None else "")


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "" if value is None else f"{format(value, spec)}{suffix}"
